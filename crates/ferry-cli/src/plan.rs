//! `ferry plan MANIFEST [--format text|json]`

use std::path::Path;
use std::process::ExitCode;

use ferry_core::duration::format_duration;
use ferry_core::hooks::{Hook, HookStage, OnHookFailure};
use ferry_core::manifest::{self, Manifest};
use ferry_core::plan::{Plan, Strategy};
use serde::Serialize;

use crate::Format;

/// The JSON shape of `ferry plan --format json`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PlanOutput<'a> {
    service: &'a str,
    cluster: &'a str,
    /// `traffic.testListener`: on green from green's start, before any step.
    #[serde(skip_serializing_if = "Option::is_none")]
    test_listener: Option<&'a str>,
    steps: Vec<StepOutput>,
    /// `hooks:`, as validated (defaults filled in).
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    hooks: &'a [Hook],
    min_duration_seconds: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StepOutput {
    weight: u8,
    bake_seconds: u64,
    approve: bool,
}

pub fn run(path: &Path, format: Format) -> anyhow::Result<ExitCode> {
    let manifest = match manifest::load(path) {
        Ok(manifest) => manifest,
        Err(problems) => {
            eprintln!("{problems}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let plan = manifest.plan();
    match format {
        Format::Json => {
            let output = PlanOutput {
                service: &manifest.service,
                cluster: &manifest.cluster,
                test_listener: manifest.traffic.test_listener.as_deref(),
                steps: plan
                    .steps
                    .iter()
                    .map(|step| StepOutput {
                        weight: step.weight,
                        bake_seconds: step.bake_seconds,
                        approve: step.approve,
                    })
                    .collect(),
                hooks: &manifest.hooks,
                min_duration_seconds: plan.min_duration_seconds(),
            };
            println!("{}", serde_json::to_string_pretty(&output)?);
        }
        Format::Text => print!("{}", render_text(&manifest, &plan)),
    }
    Ok(ExitCode::SUCCESS)
}

/// A schedule a person can check at a glance.
pub fn render_text(manifest: &Manifest, plan: &Plan) -> String {
    let mut out = String::new();
    let strategy = match &manifest.strategy {
        Strategy::AllAtOnce => "all at once".to_string(),
        Strategy::Canary {
            weight,
            bake_seconds,
        } => format!("canary {weight}% for {}", format_duration(*bake_seconds)),
        Strategy::Linear {
            step,
            interval_seconds,
        } => format!(
            "linear +{step}% every {}",
            format_duration(*interval_seconds)
        ),
        Strategy::Steps(steps) => format!("{} custom steps", steps.len()),
        Strategy::Preset(preset) => format!("preset {}", preset.name()),
    };
    out.push_str(&format!(
        "{} on {}: {} ({})\n\n",
        manifest.service, manifest.cluster, strategy, manifest.path
    ));
    out.push_str("  step  green  blue  bake    at least from start\n");
    if let Some(test_listener) = &manifest.traffic.test_listener {
        out.push_str(&format!(
            "        -- test traffic: {} sends everything to green once it is stable; production stays on blue --\n",
            short_listener(test_listener)
        ));
    }
    out.push_str(&hook_lines(manifest, HookStage::AfterTestTraffic));
    let mut elapsed = 0;
    for (index, step) in plan.steps.iter().enumerate() {
        out.push_str(&hook_lines(manifest, HookStage::BeforeStep));
        if step.approve {
            out.push_str("        -- wait for approval");
            if !manifest.approval.approvers.is_empty() {
                out.push_str(&format!(" from {}", manifest.approval.approvers.join(", ")));
            }
            out.push_str(&format!(
                " (timeout {}, then {}) --\n",
                format_duration(manifest.approval.timeout_seconds),
                match manifest.approval.on_timeout {
                    ferry_core::deployment::OnTimeout::Continue => "continue",
                    ferry_core::deployment::OnTimeout::Rollback => "roll back",
                }
            ));
        }
        out.push_str(&format!(
            "  {:>4}  {:>4}%  {:>3}%  {:<6}  {}\n",
            index + 1,
            step.weight,
            100 - step.weight,
            format_duration(step.bake_seconds),
            format_duration(elapsed)
        ));
        elapsed += step.bake_seconds;
        out.push_str(&hook_lines(manifest, HookStage::AfterStep));
    }
    if plan.holds_at.is_none() {
        out.push_str(&hook_lines(manifest, HookStage::AfterTraffic));
    }
    out.push('\n');
    match plan.holds_at {
        Some(weight) => {
            out.push_str(&format!(
                "Holds at {weight}% green until `ferry promote` or `ferry rollback`.\n"
            ));
            let on_promotion = hook_lines(manifest, HookStage::AfterTraffic);
            if !on_promotion.is_empty() {
                out.push_str(&format!(
                    "`ferry promote` sends all traffic to green, then runs:\n{on_promotion}"
                ));
            }
        }
        None => out.push_str(&format!(
            "Then green becomes primary; blue is kept warm for {} and removed.\n",
            format_duration(manifest.rollback.keep_old_for_seconds)
        )),
    }
    out.push_str(&format!(
        "Minimum duration: {} (plus provisioning{}).\n",
        format_duration(plan.min_duration_seconds()),
        if plan.approvals() > 0 {
            " and approvals"
        } else {
            ""
        }
    ));
    if let Some(placement) = &manifest.network {
        let network = placement.network.as_ref();
        out.push_str(&format!(
            "Green runs in {} ({}){}. On a service with no task set yet (its first deployment) there is nothing to compare with: no canary, green takes all traffic once stable.\n",
            network.map(|n| n.subnets.join(", ")).unwrap_or_default(),
            network.map(|n| n.security_groups.join(", ")).unwrap_or_default(),
            match (&placement.launch_type, placement.capacity_providers.is_empty()) {
                (Some(kind), _) => format!(", {kind}"),
                (None, false) => format!(
                    ", capacity providers {}",
                    placement
                        .capacity_providers
                        .iter()
                        .map(|item| item.capacity_provider.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                (None, true) => String::new(),
            }
        ));
    }
    if let Some(test_listener) = &manifest.traffic.test_listener {
        out.push_str(&format!(
            "Test listener {}: on green from green's start; at the end on what production runs (green after success, blue after a rollback).\n",
            short_listener(test_listener)
        ));
    }
    if manifest.alarms.is_empty() {
        out.push_str("Alarms: none. Nothing will roll this deployment back automatically.\n");
    } else {
        out.push_str(&format!(
            "Alarms: {}{}.\n",
            manifest.alarms.join(", "),
            if manifest.rollback.on_alarm {
                " (any in ALARM rolls back)"
            } else {
                " (watched, but rollback.onAlarm is false)"
            }
        ));
    }
    out
}

/// One line per hook of `stage`, where it runs in the schedule.
fn hook_lines(manifest: &Manifest, stage: HookStage) -> String {
    manifest
        .hooks
        .iter()
        .filter(|hook| hook.stage == stage)
        .map(|hook| {
            format!(
                "        -- hook {} ({}): {}; timeout {}, then {} --\n",
                hook.name,
                stage.name(),
                hook.kind.summary(),
                format_duration(hook.timeout_seconds),
                match hook.on_failure {
                    OnHookFailure::Rollback => "roll back",
                    OnHookFailure::Continue => "go on",
                }
            )
        })
        .collect()
}

/// `…:listener/app/LB/ID/LISTENER-ID` → `listener LB/…/LISTENER-ID`, short enough to read.
fn short_listener(arn: &str) -> String {
    match arn.split_once(":listener/app/") {
        Some((_, path)) => {
            let parts: Vec<&str> = path.split('/').collect();
            match parts.as_slice() {
                [balancer, _, listener] => format!("listener {balancer}/…/{listener}"),
                _ => format!("listener {path}"),
            }
        }
        None => arn.to_string(),
    }
}
