//! The pull request comment and the commit status line, as pure functions of a [`Report`], so
//! their text is pinned by snapshot tests.

use std::fmt::Write as _;

use ferry_core::deployment::short_commit;
use ferry_core::duration::format_duration;
use ferry_core::plan::{Plan, Strategy};

/// Hidden in the comment; how the next run finds the comment to update instead of adding one.
pub const MARKER: &str = "<!-- ferry-plan -->";
/// A comment stays well under GitHub's 65,536 characters, whatever the diffs.
const MAX_COMMENT_CHARS: usize = 60_000;
/// One task definition diff gets at most this many characters before it is cut.
const MAX_DIFF_CHARS: usize = 20_000;

/// Everything the comment says about one pull request.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub number: u64,
    pub head_sha: String,
    pub base_ref: String,
    pub sections: Vec<Section>,
}

/// One manifest of the pull request's head.
#[derive(Debug, Clone, PartialEq)]
pub enum Section {
    Valid(Box<ServicePlan>),
    /// Validation problems, each `file:line:column: field: message`.
    Invalid {
        path: String,
        problems: Vec<String>,
    },
}

/// What merging would do to one service.
#[derive(Debug, Clone, PartialEq)]
pub struct ServicePlan {
    pub path: String,
    pub service: String,
    pub cluster: String,
    pub strategy: Strategy,
    pub plan: Plan,
    pub alarms: Vec<String>,
    pub rollback_on_alarm: bool,
    pub approvers: Vec<String>,
    pub approval_timeout_seconds: u64,
    pub keep_old_for_seconds: u64,
    /// Whether a merge into the base branch deploys this service.
    pub deploys_on_merge: bool,
    /// The branches the manifest deploys from (empty: the default branch).
    pub branches: Vec<String>,
    pub task_definition_path: String,
    pub diff: TaskDefinitionDiff,
}

/// The task definition of the head against the base branch's.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskDefinitionDiff {
    /// The base branch has no such file (or no such manifest): a new service.
    New,
    Unchanged,
    /// A unified diff, base first.
    Changed(String),
}

/// The comment's Markdown, [`MARKER`] first.
pub fn comment(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{MARKER}");
    let _ = writeln!(out, "### Ferry plan for #{}", report.number);
    let _ = writeln!(out);
    let valid: Vec<&ServicePlan> = report
        .sections
        .iter()
        .filter_map(|section| match section {
            Section::Valid(plan) => Some(plan.as_ref()),
            Section::Invalid { .. } => None,
        })
        .collect();
    let deploying = valid.iter().filter(|plan| plan.deploys_on_merge).count();
    let invalid = report.sections.len() - valid.len();
    let mut summary = format!(
        "Merging into `{}` deploys {}.",
        report.base_ref,
        count(deploying, "service")
    );
    if invalid > 0 {
        summary.push_str(&format!(
            " **{} invalid**: fix {} before merging, or {} service{} will not deploy.",
            count(invalid, "manifest is"),
            if invalid == 1 { "it" } else { "them" },
            if invalid == 1 { "its" } else { "their" },
            if invalid == 1 { "" } else { "s" }
        ));
    }
    let _ = writeln!(out, "{summary}");
    for section in &report.sections {
        let _ = writeln!(out);
        match section {
            Section::Valid(plan) => service(&mut out, plan, &report.base_ref),
            Section::Invalid { path, problems } => {
                let _ = writeln!(out, "#### ❌ `{path}` is invalid");
                let _ = writeln!(out);
                let _ = writeln!(out, "```text");
                for problem in problems {
                    let _ = writeln!(out, "{problem}");
                }
                let _ = writeln!(out, "```");
            }
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "<sub>Planned at {}. Task definitions are compared with `{}`; images written with `${{GIT_SHA}}` get the commit that is deployed. This comment is updated on every push.</sub>",
        short_commit(&report.head_sha),
        report.base_ref
    );
    if out.chars().count() > MAX_COMMENT_CHARS {
        let mut cut: String = out.chars().take(MAX_COMMENT_CHARS - 200).collect();
        cut.push_str("\n\n… (cut: the plan is longer than a comment can hold)\n");
        return cut;
    }
    out
}

fn service(out: &mut String, plan: &ServicePlan, base_ref: &str) {
    let mark = if plan.deploys_on_merge {
        "✅"
    } else {
        "⏸️"
    };
    let _ = writeln!(
        out,
        "#### {mark} `{}` · cluster `{}` · `{}`",
        plan.service, plan.cluster, plan.path
    );
    let _ = writeln!(out);
    if !plan.deploys_on_merge {
        let from = if plan.branches.is_empty() {
            "the default branch".to_string()
        } else {
            plan.branches
                .iter()
                .map(|branch| format!("`{branch}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(
            out,
            "Merging into `{base_ref}` does not deploy this service: it deploys from {from}."
        );
        let _ = writeln!(out);
    }
    let steps = plan.plan.steps.len();
    let _ = writeln!(
        out,
        "**{}**, {}, at least **{}** (the sum of the bakes; green's start-up and approvals add to it).",
        strategy(&plan.strategy),
        count(steps, "step"),
        format_duration(plan.plan.min_duration_seconds())
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "| step | green | bake | approval |");
    let _ = writeln!(out, "| ---: | ---: | ---: | :---: |");
    for (index, step) in plan.plan.steps.iter().enumerate() {
        let bake = if step.bake_seconds == 0 {
            "—".to_string()
        } else {
            format_duration(step.bake_seconds)
        };
        let approval = if step.approve { "required" } else { "—" };
        let _ = writeln!(
            out,
            "| {} | {} % | {bake} | {approval} |",
            index + 1,
            step.weight
        );
    }
    let _ = writeln!(out);
    if let Some(weight) = plan.plan.holds_at {
        let _ = writeln!(
            out,
            "- **Holds** at {weight} % green until promoted or rolled back"
        );
    }
    if plan.alarms.is_empty() {
        let _ = writeln!(
            out,
            "- **Alarms:** none: nothing rolls this deployment back by itself"
        );
    } else {
        let names: Vec<String> = plan.alarms.iter().map(|name| format!("`{name}`")).collect();
        let effect = if plan.rollback_on_alarm {
            "any of them in ALARM rolls back"
        } else {
            "watched, but `rollback.onAlarm` is off"
        };
        let _ = writeln!(out, "- **Alarms:** {}: {effect}", names.join(", "));
    }
    let approvals = plan.plan.approvals();
    if approvals == 0 {
        let _ = writeln!(out, "- **Approvals:** none");
    } else {
        let who = if plan.approvers.is_empty() {
            "anyone with access to Ferry's controls".to_string()
        } else {
            plan.approvers
                .iter()
                .map(|id| format!("`{id}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(
            out,
            "- **Approvals:** {} by {who}, each waiting up to {}",
            approvals,
            format_duration(plan.approval_timeout_seconds)
        );
    }
    let _ = writeln!(
        out,
        "- **Blue kept warm** for {} after promotion",
        format_duration(plan.keep_old_for_seconds)
    );
    let _ = writeln!(out);
    match &plan.diff {
        TaskDefinitionDiff::New => {
            let _ = writeln!(
                out,
                "Task definition `{}`: new (not on `{base_ref}`).",
                plan.task_definition_path
            );
        }
        TaskDefinitionDiff::Unchanged => {
            let _ = writeln!(
                out,
                "Task definition `{}`: unchanged from `{base_ref}`.",
                plan.task_definition_path
            );
        }
        TaskDefinitionDiff::Changed(diff) => {
            let _ = writeln!(
                out,
                "Task definition `{}` against `{base_ref}`:",
                plan.task_definition_path
            );
            let _ = writeln!(out);
            let mut shown: String = diff.chars().take(MAX_DIFF_CHARS).collect();
            if shown.len() < diff.len() {
                shown.push_str("\n… (diff cut)\n");
            }
            // A fence longer than any backtick run inside, so the diff cannot close it.
            let longest = longest_backtick_run(&shown);
            let fence = "`".repeat(longest.max(2) + 1);
            let _ = writeln!(out, "{fence}diff");
            let _ = write!(out, "{shown}");
            if !shown.ends_with('\n') {
                let _ = writeln!(out);
            }
            let _ = writeln!(out, "{fence}");
        }
    }
}

/// The commit status description: one line, at most 140 characters.
pub fn status_line(report: &Report) -> String {
    let invalid: Vec<&str> = report
        .sections
        .iter()
        .filter_map(|section| match section {
            Section::Invalid { path, .. } => Some(path.as_str()),
            Section::Valid(_) => None,
        })
        .collect();
    let line = if report.sections.is_empty() {
        "no Ferry manifests in .ferry/".to_string()
    } else if !invalid.is_empty() {
        format!(
            "{} of {} invalid: {}",
            invalid.len(),
            count(report.sections.len(), "manifest"),
            invalid.join(", ")
        )
    } else {
        let parts: Vec<String> = report
            .sections
            .iter()
            .filter_map(|section| match section {
                Section::Valid(plan) if plan.deploys_on_merge => Some(format!(
                    "{}: {}, ≥{}",
                    plan.service,
                    count(plan.plan.steps.len(), "step"),
                    format_duration(plan.plan.min_duration_seconds())
                )),
                _ => None,
            })
            .collect();
        if parts.is_empty() {
            format!("valid; merging into {} deploys nothing", report.base_ref)
        } else {
            format!("deploys {}", parts.join("; "))
        }
    };
    if line.chars().count() > 140 {
        let mut cut: String = line.chars().take(139).collect();
        cut.push('…');
        cut
    } else {
        line
    }
}

fn strategy(strategy: &Strategy) -> String {
    match strategy {
        Strategy::AllAtOnce => "All at once".into(),
        Strategy::Canary {
            weight,
            bake_seconds,
        } => format!("Canary {weight} % for {}", format_duration(*bake_seconds)),
        Strategy::Linear {
            step,
            interval_seconds,
        } => format!(
            "Linear +{step} % every {}",
            format_duration(*interval_seconds)
        ),
        Strategy::Steps(_) => "Custom steps".into(),
        Strategy::Preset(preset) => format!("Preset `{}`", preset.name()),
    }
}

fn count(n: usize, noun: &str) -> String {
    // "manifest is" -> "manifests are"
    if let Some(stem) = noun.strip_suffix(" is") {
        return if n == 1 {
            format!("1 {stem} is")
        } else {
            format!("{n} {stem}s are")
        };
    }
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

fn longest_backtick_run(text: &str) -> usize {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    longest
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_core::plan::{Preset, StepSpec};

    const HEAD: &str = "6dcb09b5b57875f334f61aebed695e2e4193db5e";

    fn web(diff: TaskDefinitionDiff) -> ServicePlan {
        let strategy = Strategy::Canary {
            weight: 10,
            bake_seconds: 300,
        };
        ServicePlan {
            path: ".ferry/web.yaml".into(),
            service: "web".into(),
            cluster: "shop".into(),
            plan: Plan::new(&strategy, true),
            strategy,
            alarms: vec!["web-5xx".into(), "web-p99-latency".into()],
            rollback_on_alarm: true,
            approvers: vec!["U0123ABC".into()],
            approval_timeout_seconds: 3600,
            keep_old_for_seconds: 900,
            deploys_on_merge: true,
            branches: vec![],
            task_definition_path: "ecs/web.json".into(),
            diff,
        }
    }

    fn report(sections: Vec<Section>) -> Report {
        Report {
            number: 42,
            head_sha: HEAD.into(),
            base_ref: "main".into(),
            sections,
        }
    }

    const DIFF: &str = "--- main:ecs/web.json\n+++ 6dcb09b:ecs/web.json\n@@ -3,7 +3,7 @@\n       \"name\": \"web\",\n-      \"image\": \"shop/web:${GIT_SHA}\",\n+      \"image\": \"shop/web-distroless:${GIT_SHA}\",\n-      \"memory\": 512,\n+      \"memory\": 1024,\n       \"portMappings\": [\n";

    #[test]
    fn a_canary_with_an_approval_shows_its_schedule_alarms_approvers_and_diff() {
        let text = comment(&report(vec![Section::Valid(Box::new(web(
            TaskDefinitionDiff::Changed(DIFF.into()),
        )))]));
        insta::assert_snapshot!(text);
        assert!(text.starts_with(MARKER));
    }

    #[test]
    fn validation_errors_appear_with_file_line_and_column_beside_valid_plans() {
        let linear = Strategy::Linear {
            step: 25,
            interval_seconds: 60,
        };
        let mut api = web(TaskDefinitionDiff::New);
        api.path = ".ferry/api.yaml".into();
        api.service = "api".into();
        api.plan = Plan::new(&linear, false);
        api.strategy = linear;
        api.alarms.clear();
        api.approvers.clear();
        api.task_definition_path = "ecs/api.json".into();
        let report = report(vec![
            Section::Valid(Box::new(api)),
            Section::Invalid {
                path: ".ferry/worker.yaml".into(),
                problems: vec![
                    ".ferry/worker.yaml:9:13: strategy.canary.weight: expected an integer from 1 to 99, found 150".into(),
                    ".ferry/worker.yaml:12:1: alarms: expected a list of alarm names, found a number".into(),
                ],
            },
        ]);
        insta::assert_snapshot!(comment(&report));
        assert_eq!(
            status_line(&report),
            "1 of 2 manifests invalid: .ferry/worker.yaml"
        );
    }

    #[test]
    fn a_service_that_does_not_deploy_from_the_base_branch_says_so() {
        let steps = Strategy::Steps(vec![
            StepSpec {
                weight: 5,
                bake_seconds: 120,
                approve: false,
            },
            StepSpec {
                weight: 100,
                bake_seconds: 0,
                approve: true,
            },
        ]);
        let mut plan = web(TaskDefinitionDiff::Unchanged);
        plan.plan = Plan::new(&steps, false);
        plan.strategy = steps;
        plan.deploys_on_merge = false;
        plan.branches = vec!["release".into()];
        plan.rollback_on_alarm = false;
        let mut held = web(TaskDefinitionDiff::Unchanged);
        held.service = "admin".into();
        held.path = ".ferry/admin.yaml".into();
        held.strategy = Strategy::Preset(Preset::Green80);
        held.plan = Plan::new(&held.strategy, false);
        let report = report(vec![
            Section::Valid(Box::new(plan)),
            Section::Valid(Box::new(held)),
        ]);
        insta::assert_snapshot!(comment(&report));
        assert_eq!(status_line(&report), "deploys admin: 1 step, ≥0s");
    }

    #[test]
    fn a_diff_containing_backticks_cannot_close_its_fence() {
        let text = comment(&report(vec![Section::Valid(Box::new(web(
            TaskDefinitionDiff::Changed("+  \"command\": [\"sh\", \"-c\", \"echo ```\"]\n".into()),
        )))]));
        assert!(text.contains("````diff\n"), "{text}");
    }

    #[test]
    fn the_status_line_fits_in_140_characters() {
        let many: Vec<Section> = (0..20)
            .map(|index| {
                let mut plan = web(TaskDefinitionDiff::Unchanged);
                plan.service = format!("service-number-{index}");
                Section::Valid(Box::new(plan))
            })
            .collect();
        let line = status_line(&report(many));
        assert_eq!(line.chars().count(), 140);
        assert!(line.starts_with("deploys service-number-0: 2 steps, ≥5m; "));
        assert_eq!(
            status_line(&report(vec![])),
            "no Ferry manifests in .ferry/"
        );
    }
}
