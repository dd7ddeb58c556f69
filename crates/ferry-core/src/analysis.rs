//! Analysis: the alarms guarding a deployment in, a verdict out.

use serde::{Deserialize, Serialize};

use crate::plan::Plan;
use crate::ports::{AlarmState, AlarmStatus};

/// What an alarm in `INSUFFICIENT_DATA` means for a deployment (`rollback.onInsufficientData`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum OnInsufficientData {
    /// Too little data is not a verdict: go on, and say so in the log. CloudWatch's own
    /// default for a new alarm, and what a low-traffic service needs.
    #[default]
    Pass,
    /// Treat it as ALARM: a guard that cannot see is no guard.
    Rollback,
}

/// One alarm that fired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Breach {
    pub alarm: String,
    pub reason: String,
}

/// The verdict on a bake.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "camelCase")]
pub enum Analysis {
    /// Every alarm is OK.
    Successful,
    /// At least one alarm is in ALARM.
    Failed { breaches: Vec<Breach> },
    /// Alarms that should exist do not: the guard itself is broken.
    Error { missing: Vec<String> },
    /// No alarm fired, but some have too little data to say (treated as passing, and said).
    Inconclusive { insufficient: Vec<String> },
}

impl Analysis {
    /// Whether the deployment may go on.
    pub fn passes(&self) -> bool {
        matches!(self, Analysis::Successful | Analysis::Inconclusive { .. })
    }
}

impl Analysis {
    /// Why the deployment must roll back, if it must: an alarm fired, or (with
    /// `onInsufficientData: rollback`) an alarm cannot say. `None` when it may go on; a
    /// missing alarm is the caller's to report, as it is a broken guard, not a verdict.
    pub fn rollback_cause(&self, on_insufficient: OnInsufficientData) -> Option<String> {
        match self {
            Analysis::Failed { breaches } => Some(describe_breaches(breaches)),
            Analysis::Inconclusive { insufficient }
                if on_insufficient == OnInsufficientData::Rollback =>
            {
                Some(format!(
                    "alarm {} in INSUFFICIENT_DATA (rollback.onInsufficientData is rollback)",
                    insufficient.join(", ")
                ))
            }
            _ => None,
        }
    }
}

/// The alarms that need longer to fire than a bake lasts: a breach during that bake would be
/// seen only after the next step moved more traffic. One line per alarm, for the plan's
/// warnings. An alarm's reaction time is its period times its evaluation periods.
pub fn slow_alarms(plan: &Plan, statuses: &[AlarmStatus]) -> Vec<String> {
    let Some((step, shortest)) = plan
        .steps
        .iter()
        .enumerate()
        .filter(|(_, step)| step.bake_seconds > 0)
        .map(|(index, step)| (index + 1, step.bake_seconds))
        .min_by_key(|(_, seconds)| *seconds)
    else {
        return Vec::new();
    };
    let mut slow: Vec<&AlarmStatus> = statuses
        .iter()
        .filter(|status| {
            status
                .reaction_seconds
                .is_some_and(|reaction| reaction > shortest)
        })
        .collect();
    slow.sort_by(|a, b| a.name.cmp(&b.name));
    slow.iter()
        .map(|status| {
            format!(
                "alarm {} needs {}s of data to fire (period x evaluation periods) but step {step} bakes {shortest}s: \
                 a breach would show only after traffic moved on; bake longer or shorten the alarm's period",
                status.name,
                status.reaction_seconds.unwrap_or_default(),
            )
        })
        .collect()
}

/// `alarm web-5xx: Threshold Crossed ...; web-p99: ...`, the message of an `AlarmBreached`.
pub fn describe_breaches(breaches: &[Breach]) -> String {
    let named: Vec<String> = breaches
        .iter()
        .map(|breach| format!("{}: {}", breach.alarm, breach.reason))
        .collect();
    format!("alarm {}", named.join("; "))
}

/// Judges `statuses` (what CloudWatch returned) against the alarm names a manifest lists.
/// An alarm in ALARM wins over everything else: a missing alarm must not hide a firing one.
pub fn analyze(expected: &[String], statuses: &[AlarmStatus]) -> Analysis {
    let find = |name: &str| statuses.iter().find(|status| status.name == name);
    let breaches: Vec<Breach> = expected
        .iter()
        .filter_map(|name| find(name))
        .filter(|status| status.state == AlarmState::Alarm)
        .map(|status| Breach {
            alarm: status.name.clone(),
            reason: status.reason.clone(),
        })
        .collect();
    if !breaches.is_empty() {
        return Analysis::Failed { breaches };
    }
    let missing: Vec<String> = expected
        .iter()
        .filter(|name| find(name).is_none())
        .cloned()
        .collect();
    if !missing.is_empty() {
        return Analysis::Error { missing };
    }
    let insufficient: Vec<String> = expected
        .iter()
        .filter(|name| {
            find(name).is_some_and(|status| status.state == AlarmState::InsufficientData)
        })
        .cloned()
        .collect();
    if !insufficient.is_empty() {
        return Analysis::Inconclusive { insufficient };
    }
    Analysis::Successful
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(name: &str, state: AlarmState) -> AlarmStatus {
        AlarmStatus {
            name: name.into(),
            state,
            reason: format!("{name} is {state:?}"),
            updated_at: None,
            reaction_seconds: None,
        }
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|name| name.to_string()).collect()
    }

    #[test]
    fn all_ok_is_successful_and_no_alarms_is_successful() {
        let statuses = [status("a", AlarmState::Ok), status("b", AlarmState::Ok)];
        assert_eq!(
            analyze(&names(&["a", "b"]), &statuses),
            Analysis::Successful
        );
        assert_eq!(analyze(&[], &[]), Analysis::Successful);
    }

    #[test]
    fn a_firing_alarm_fails_even_when_another_is_missing() {
        let statuses = [status("a", AlarmState::Alarm)];
        let verdict = analyze(&names(&["a", "gone"]), &statuses);
        assert_eq!(
            verdict,
            Analysis::Failed {
                breaches: vec![Breach {
                    alarm: "a".into(),
                    reason: "a is Alarm".into()
                }]
            }
        );
        assert!(!verdict.passes());
    }

    #[test]
    fn a_missing_alarm_is_an_error_and_insufficient_data_is_inconclusive() {
        assert_eq!(
            analyze(&names(&["gone"]), &[]),
            Analysis::Error {
                missing: names(&["gone"])
            }
        );
        let verdict = analyze(&names(&["a"]), &[status("a", AlarmState::InsufficientData)]);
        assert!(verdict.passes());
        assert!(matches!(verdict, Analysis::Inconclusive { .. }));
    }

    #[test]
    fn insufficient_data_rolls_back_only_when_the_manifest_says_so() {
        let verdict = analyze(&names(&["a"]), &[status("a", AlarmState::InsufficientData)]);
        assert_eq!(verdict.rollback_cause(OnInsufficientData::Pass), None);
        let cause = verdict
            .rollback_cause(OnInsufficientData::Rollback)
            .unwrap();
        assert!(cause.contains("alarm a in INSUFFICIENT_DATA"), "{cause}");
        let fired = analyze(&names(&["a"]), &[status("a", AlarmState::Alarm)]);
        assert_eq!(
            fired.rollback_cause(OnInsufficientData::Pass).as_deref(),
            Some("alarm a: a is Alarm")
        );
        assert_eq!(
            analyze(&names(&["a"]), &[status("a", AlarmState::Ok)])
                .rollback_cause(OnInsufficientData::Rollback),
            None
        );
    }

    #[test]
    fn an_alarm_slower_than_the_shortest_bake_is_named() {
        use crate::plan::Step;
        let plan = Plan {
            steps: vec![
                Step {
                    weight: 10,
                    bake_seconds: 300,
                    approve: false,
                },
                Step {
                    weight: 50,
                    bake_seconds: 60,
                    approve: false,
                },
                Step {
                    weight: 100,
                    bake_seconds: 0,
                    approve: false,
                },
            ],
            holds_at: None,
        };
        let mut fast = status("fast", AlarmState::Ok);
        fast.reaction_seconds = Some(60);
        let mut slow = status("slow", AlarmState::Ok);
        slow.reaction_seconds = Some(180);
        let composite = status("composite", AlarmState::Ok);
        let warnings = slow_alarms(&plan, &[slow, fast, composite]);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].starts_with("alarm slow needs 180s of data to fire"),
            "{}",
            warnings[0]
        );
        assert!(warnings[0].contains("step 2 bakes 60s"), "{}", warnings[0]);
        let unbaked = Plan {
            steps: vec![Step {
                weight: 100,
                bake_seconds: 0,
                approve: false,
            }],
            holds_at: None,
        };
        let mut slow = status("slow", AlarmState::Ok);
        slow.reaction_seconds = Some(180);
        assert!(slow_alarms(&unbaked, &[slow]).is_empty());
    }
}
