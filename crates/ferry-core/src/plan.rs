//! The step plan: the deterministic schedule of green weights a deployment walks through.
//!
//! A plan is derived from the manifest's `strategy` and `approval`. For every progressive
//! strategy the weights strictly increase and the last step sends 100 percent to green. A
//! `preset` is a traffic position instead: one step to that weight, after which the deployment
//! holds until it is promoted or rolled back.

use serde::{Deserialize, Serialize};

/// How traffic moves to green, exactly one kind per manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Strategy {
    /// Everything to green in one step.
    AllAtOnce,
    /// `weight` percent to green, bake, then the rest.
    Canary { weight: u8, bake_seconds: u64 },
    /// `step` percent more every `interval_seconds` until 100.
    Linear { step: u8, interval_seconds: u64 },
    /// An explicit list of steps.
    Steps(Vec<StepSpec>),
    /// Move to a fixed traffic position and hold there.
    Preset(Preset),
}

/// One custom step as written in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StepSpec {
    pub weight: u8,
    pub bake_seconds: u64,
    pub approve: bool,
}

/// Named traffic positions, by the share green receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    Blue,
    #[serde(rename = "blue-80")]
    Blue80,
    Split,
    #[serde(rename = "green-80")]
    Green80,
    Green,
}

impl Preset {
    pub const ALL: [Preset; 5] = [
        Preset::Blue,
        Preset::Blue80,
        Preset::Split,
        Preset::Green80,
        Preset::Green,
    ];

    /// Percent of traffic green receives in this position.
    pub fn green_weight(self) -> u8 {
        match self {
            Preset::Blue => 0,
            Preset::Blue80 => 20,
            Preset::Split => 50,
            Preset::Green80 => 80,
            Preset::Green => 100,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Preset::Blue => "blue",
            Preset::Blue80 => "blue-80",
            Preset::Split => "split",
            Preset::Green80 => "green-80",
            Preset::Green => "green",
        }
    }

    pub fn from_name(name: &str) -> Option<Preset> {
        Preset::ALL.into_iter().find(|preset| preset.name() == name)
    }
}

#[cfg(test)]
#[test]
fn presets_are_written_as_their_names() {
    for preset in Preset::ALL {
        let written = serde_json::to_value(preset).unwrap();
        assert_eq!(written, preset.name());
        assert_eq!(serde_json::from_value::<Preset>(written).unwrap(), preset);
    }
}

/// One step of a plan: shift green to `weight`, then bake `bake_seconds` while alarms are watched.
/// With `approve`, the deployment waits for a person before this step's weight is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    pub weight: u8,
    pub bake_seconds: u64,
    pub approve: bool,
}

/// The schedule of a deployment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub steps: Vec<Step>,
    /// Set for a `preset` below 100: the weight the deployment stays at until promoted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holds_at: Option<u8>,
}

impl Plan {
    /// Builds the plan for a strategy. `approve_before_traffic` gates the first step.
    pub fn new(strategy: &Strategy, approve_before_traffic: bool) -> Plan {
        let mut steps: Vec<Step> = match strategy {
            Strategy::AllAtOnce => vec![step(100, 0)],
            Strategy::Canary {
                weight,
                bake_seconds,
            } => vec![step(*weight, *bake_seconds), step(100, 0)],
            Strategy::Linear {
                step: increment,
                interval_seconds,
            } => {
                let increment = (*increment).max(1);
                let mut weights = Vec::new();
                let mut weight = increment;
                while weight < 100 {
                    weights.push(step(weight, *interval_seconds));
                    weight = weight.saturating_add(increment);
                }
                weights.push(step(100, 0));
                weights
            }
            Strategy::Steps(specs) => specs
                .iter()
                .map(|spec| Step {
                    weight: spec.weight,
                    bake_seconds: spec.bake_seconds,
                    approve: spec.approve,
                })
                .collect(),
            Strategy::Preset(preset) => vec![step(preset.green_weight(), 0)],
        };
        if approve_before_traffic && let Some(first) = steps.first_mut() {
            first.approve = true;
        }
        let holds_at = match strategy {
            Strategy::Preset(preset) if preset.green_weight() < 100 => Some(preset.green_weight()),
            _ => None,
        };
        Plan { steps, holds_at }
    }

    /// The least time the plan can take: the sum of its bakes (approvals and provisioning add to it).
    pub fn min_duration_seconds(&self) -> u64 {
        self.steps.iter().map(|step| step.bake_seconds).sum()
    }

    /// The number of approvals a person has to give.
    pub fn approvals(&self) -> usize {
        self.steps.iter().filter(|step| step.approve).count()
    }

    /// The weight the deployment ends on before finalizing: 100, or the preset it holds at.
    pub fn final_weight(&self) -> u8 {
        self.steps.last().map_or(0, |step| step.weight)
    }

    /// The strategy in a few words, read back from the steps (the record keeps the schedule,
    /// not the manifest's spelling): `all at once`, `canary 10%`, `linear +20%`, `preset
    /// green-80`, or the weights of custom `steps`.
    pub fn strategy_label(&self) -> String {
        let weights: Vec<u8> = self.steps.iter().map(|step| step.weight).collect();
        if let Some(held) = self.holds_at {
            return match Preset::ALL
                .into_iter()
                .find(|preset| preset.green_weight() == held)
            {
                Some(preset) => format!("preset {}", preset.name()),
                None => format!("holds at {held}%"),
            };
        }
        match weights.as_slice() {
            [100] => "all at once".into(),
            [first, 100] => format!("canary {first}%"),
            [first, .., 100]
                if weights
                    .windows(2)
                    .take(weights.len() - 2)
                    .all(|pair| pair[1].checked_sub(pair[0]) == Some(*first)) =>
            {
                format!("linear +{first}%")
            }
            _ => format!(
                "steps {}",
                weights
                    .iter()
                    .map(|weight| format!("{weight}%"))
                    .collect::<Vec<_>>()
                    .join(" / ")
            ),
        }
    }
}

fn step(weight: u8, bake_seconds: u64) -> Step {
    Step {
        weight,
        bake_seconds,
        approve: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::{Just, any, prop_assert, prop_assert_eq, prop_oneof, proptest};
    use proptest::strategy::Strategy as _;

    fn weights(plan: &Plan) -> Vec<u8> {
        plan.steps.iter().map(|step| step.weight).collect()
    }

    #[test]
    fn a_plan_names_its_strategy() {
        let label = |strategy: Strategy| Plan::new(&strategy, false).strategy_label();
        assert_eq!(label(Strategy::AllAtOnce), "all at once");
        assert_eq!(
            label(Strategy::Canary {
                weight: 10,
                bake_seconds: 300
            }),
            "canary 10%"
        );
        assert_eq!(
            label(Strategy::Linear {
                step: 20,
                interval_seconds: 60
            }),
            "linear +20%"
        );
        // 30, 60, 90, then 100: still linear, the last step completes it.
        assert_eq!(
            label(Strategy::Linear {
                step: 30,
                interval_seconds: 60
            }),
            "linear +30%"
        );
        assert_eq!(label(Strategy::Preset(Preset::Green80)), "preset green-80");
        assert_eq!(label(Strategy::Preset(Preset::Green)), "all at once");
        let custom = Plan {
            steps: vec![step(5, 60), step(50, 60), step(100, 0)],
            holds_at: None,
        };
        assert_eq!(custom.strategy_label(), "steps 5% / 50% / 100%");
    }

    #[test]
    fn canary_shifts_its_weight_then_everything() {
        let plan = Plan::new(
            &Strategy::Canary {
                weight: 10,
                bake_seconds: 300,
            },
            false,
        );
        assert_eq!(weights(&plan), [10, 100]);
        assert_eq!(plan.steps[0].bake_seconds, 300);
        assert_eq!(plan.steps[1].bake_seconds, 0);
        assert_eq!(plan.min_duration_seconds(), 300);
    }

    #[test]
    fn linear_steps_up_by_its_increment_and_ends_at_100() {
        let plan = Plan::new(
            &Strategy::Linear {
                step: 20,
                interval_seconds: 60,
            },
            false,
        );
        assert_eq!(weights(&plan), [20, 40, 60, 80, 100]);
        assert_eq!(plan.min_duration_seconds(), 240);
        let uneven = Plan::new(
            &Strategy::Linear {
                step: 30,
                interval_seconds: 60,
            },
            false,
        );
        assert_eq!(weights(&uneven), [30, 60, 90, 100]);
    }

    #[test]
    fn approval_before_traffic_gates_the_first_step() {
        let plan = Plan::new(&Strategy::AllAtOnce, true);
        assert_eq!(
            plan.steps,
            [Step {
                weight: 100,
                bake_seconds: 0,
                approve: true
            }]
        );
        assert_eq!(plan.approvals(), 1);
    }

    #[test]
    fn a_preset_below_100_holds_there() {
        let plan = Plan::new(&Strategy::Preset(Preset::Green80), false);
        assert_eq!(weights(&plan), [80]);
        assert_eq!(plan.holds_at, Some(80));
        assert_eq!(
            Plan::new(&Strategy::Preset(Preset::Green), false).holds_at,
            None
        );
    }

    fn progressive_strategy() -> impl proptest::strategy::Strategy<Value = super::Strategy> {
        prop_oneof![
            Just(Strategy::AllAtOnce),
            (1u8..=99, 0u64..=86_400).prop_map(|(weight, bake_seconds)| Strategy::Canary {
                weight,
                bake_seconds
            }),
            (1u8..=99, 0u64..=86_400).prop_map(|(step, interval_seconds)| Strategy::Linear {
                step,
                interval_seconds
            }),
            proptest::collection::btree_set(1u8..=99, 0..8).prop_flat_map(|weights| {
                let count = weights.len() + 1;
                (
                    Just(weights),
                    proptest::collection::vec((0u64..=3600, any::<bool>()), count),
                )
                    .prop_map(|(weights, extras)| {
                        let mut all: Vec<u8> = weights.into_iter().collect();
                        all.push(100);
                        Strategy::Steps(
                            all.into_iter()
                                .zip(extras)
                                .map(|(weight, (bake_seconds, approve))| StepSpec {
                                    weight,
                                    bake_seconds,
                                    approve,
                                })
                                .collect(),
                        )
                    })
            }),
        ]
    }

    proptest! {
        #[test]
        fn progressive_plans_strictly_increase_and_end_at_100(
            strategy in progressive_strategy(),
            gate in any::<bool>(),
        ) {
            let plan = Plan::new(&strategy, gate);
            prop_assert!(!plan.steps.is_empty());
            prop_assert!(plan.steps.windows(2).all(|pair| pair[0].weight < pair[1].weight));
            prop_assert_eq!(plan.final_weight(), 100);
            prop_assert!(plan.steps.iter().all(|step| (1..=100).contains(&step.weight)));
            prop_assert_eq!(plan.holds_at, None);
            if gate {
                prop_assert!(plan.steps[0].approve);
            }
        }

        #[test]
        fn min_duration_is_the_sum_of_bakes(strategy in progressive_strategy()) {
            let plan = Plan::new(&strategy, false);
            let total: u64 = plan.steps.iter().map(|step| step.bake_seconds).sum();
            prop_assert_eq!(plan.min_duration_seconds(), total);
        }

        #[test]
        fn plans_are_deterministic(strategy in progressive_strategy(), gate in any::<bool>()) {
            prop_assert_eq!(Plan::new(&strategy, gate), Plan::new(&strategy, gate));
        }

        #[test]
        fn linear_plans_never_skip_more_than_one_increment(step in 1u8..=99, interval in 0u64..=600) {
            let plan = Plan::new(&Strategy::Linear { step, interval_seconds: interval }, false);
            let mut previous = 0u8;
            for planned in &plan.steps {
                prop_assert!(planned.weight - previous <= step);
                previous = planned.weight;
            }
        }
    }
}
