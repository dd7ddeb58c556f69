//! Verification hooks: checks a deployment runs at fixed stages, each with a timeout and a
//! failure policy (the manifest's `hooks:`).
//!
//! ```text
//! green stable -> test listener on green -> afterTestTraffic
//! each production step: beforeStep -> [approval] -> weight moved -> bake -> alarms -> afterStep
//! all production traffic on green -> afterTraffic -> green promoted
//! ```
//!
//! A hook runs over several invocations of the `run-hooks` function: each does one attempt
//! (one HTTP request, one invocation of a function, one look at a task) and records it in the
//! deployment, and the state machine waits between them. So a hook may take as long as its
//! timeout says, a lost response or a retried invocation repeats nothing that counted, and a
//! task is started once (its client token is derived from the deployment, hook and step).
//!
//! This module holds the manifest's shapes, the judges of each kind's answer, and where a run
//! stands; the handler (`ferry_handlers::run_hooks`) does the calling.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// When hooks of a stage run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum HookStage {
    /// Green is stable and the test listener (if any) sends it everything; production has not
    /// moved. Before an `approval.beforeTraffic` wait.
    AfterTestTraffic,
    /// Before each production step moves traffic (before its approval, if it has one).
    BeforeStep,
    /// After each production step's weight was applied, baked, and its alarms judged.
    AfterStep,
    /// All production traffic is on green, before green becomes the primary task set.
    AfterTraffic,
}

impl HookStage {
    pub const ALL: [HookStage; 4] = [
        HookStage::AfterTestTraffic,
        HookStage::BeforeStep,
        HookStage::AfterStep,
        HookStage::AfterTraffic,
    ];

    /// The manifest's spelling.
    pub fn name(self) -> &'static str {
        match self {
            HookStage::AfterTestTraffic => "afterTestTraffic",
            HookStage::BeforeStep => "beforeStep",
            HookStage::AfterStep => "afterStep",
            HookStage::AfterTraffic => "afterTraffic",
        }
    }

    pub fn from_name(name: &str) -> Option<HookStage> {
        HookStage::ALL
            .into_iter()
            .find(|stage| stage.name() == name)
    }

    /// Whether the stage runs once per production step (and so a run names its step).
    pub fn per_step(self) -> bool {
        matches!(self, HookStage::BeforeStep | HookStage::AfterStep)
    }

    /// Whether production traffic may be on green when it runs: a failing hook of an earlier
    /// stage means production never saw green.
    pub fn before_production_traffic(self) -> bool {
        self == HookStage::AfterTestTraffic
    }

    /// The stage of ECS's native blue/green lifecycle that matches, given to a `lambda` hook as
    /// `lifecycleStage` so a function written for ECS's hooks finds what it expects.
    pub fn ecs_lifecycle_stage(self) -> &'static str {
        match self {
            HookStage::AfterTestTraffic => "POST_TEST_TRAFFIC_SHIFT",
            HookStage::BeforeStep => "PRODUCTION_TRAFFIC_SHIFT",
            HookStage::AfterStep => "PRODUCTION_TRAFFIC_SHIFT",
            HookStage::AfterTraffic => "POST_PRODUCTION_TRAFFIC_SHIFT",
        }
    }

    /// The matching CodeDeploy lifecycle event, for a `lambda` hook carried over from an AppSpec.
    pub fn codedeploy_event(self) -> &'static str {
        match self {
            HookStage::AfterTestTraffic => "AfterAllowTestTraffic",
            HookStage::BeforeStep => "BeforeAllowTraffic",
            HookStage::AfterStep => "AfterAllowTraffic",
            HookStage::AfterTraffic => "AfterAllowTraffic",
        }
    }
}

/// What a failing hook does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum OnHookFailure {
    /// The deployment rolls back.
    #[default]
    Rollback,
    /// The failure is recorded and told; the deployment goes on.
    Continue,
}

/// `http:` requests a URL until it answers as expected or the retries run out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpHook {
    /// A URL, possibly starting with `${TEST_URL}` (the test listener's address).
    pub url: String,
    pub expect_status: u16,
    /// When set, the body must contain this text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_contains: Option<String>,
    /// Further attempts after the first fails.
    pub retries: u32,
    pub interval_seconds: u64,
}

/// `lambda:` invokes a function and reads its verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionHook {
    /// A function name, or its ARN (optionally with a version or alias).
    pub function: String,
}

/// `task:` runs a one-off ECS task where the service's tasks run and uses its exit code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskHook {
    /// A task definition (`family`, `family:revision` or ARN); without it, green's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_definition: Option<String>,
    /// The container whose exit code decides; without it, the manifest's container.
    pub container: String,
    /// Overrides the container's command when not empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
}

/// The kinds of hook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum HookKind {
    Http(HttpHook),
    Lambda(FunctionHook),
    Task(TaskHook),
}

impl HookKind {
    /// What it checks, in a few words (`GET ${TEST_URL}/healthz expects 200`).
    pub fn summary(&self) -> String {
        match self {
            HookKind::Http(http) => {
                let mut text = format!("GET {} expects {}", http.url, http.expect_status);
                if let Some(body) = &http.body_contains {
                    text.push_str(&format!(" containing \"{body}\""));
                }
                if http.retries > 0 {
                    text.push_str(&format!(
                        ", {} retr{} every {}",
                        http.retries,
                        if http.retries == 1 { "y" } else { "ies" },
                        crate::duration::format_duration(http.interval_seconds)
                    ));
                }
                text
            }
            HookKind::Lambda(function) => format!("invoke {}", function.function),
            HookKind::Task(task) => format!(
                "run {} ({}) and expect exit 0",
                task.task_definition
                    .as_deref()
                    .unwrap_or("green's task definition"),
                task.container
            ),
        }
    }
}

/// One hook of the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Hook {
    pub name: String,
    pub stage: HookStage,
    #[serde(flatten)]
    pub kind: HookKind,
    pub timeout_seconds: u64,
    #[serde(default)]
    pub on_failure: OnHookFailure,
}

/// How long a hook may take when the manifest does not say.
pub const DEFAULT_HOOK_TIMEOUT_SECONDS: u64 = 5 * 60;
/// The longest a hook may take (CodeDeploy's limit for a hook's answer).
pub const MAX_HOOK_TIMEOUT_SECONDS: u64 = 60 * 60;
/// The variable an `http` hook's URL may start with: the test listener's address.
pub const TEST_URL: &str = "${TEST_URL}";
/// How long a `lambda` hook answering `IN_PROGRESS` waits before it is invoked again when it
/// does not say (ECS's default `callBackDelay`).
pub const DEFAULT_CALLBACK_DELAY_SECONDS: u64 = 30;
/// How often a running `task` hook is looked at.
pub const TASK_POLL_SECONDS: u64 = 15;

/// `url` with `${TEST_URL}` replaced by the test listener's address; an error when the URL needs
/// it and there is none.
pub fn resolve_url(url: &str, test_url: Option<&str>) -> Result<String, String> {
    if !url.contains(TEST_URL) {
        return Ok(url.to_string());
    }
    match test_url {
        Some(address) => Ok(url.replace(TEST_URL, address.trim_end_matches('/'))),
        None => Err(format!(
            "{url} uses {TEST_URL} but the deployment has no test listener (traffic.testListener)"
        )),
    }
}

/// The idempotency token of a hook's one-off task in one deployment (and step): ECS's
/// `RunTask` returns the task it already started for a token it has seen (up to 64
/// characters, for 24 hours), so a retried start never runs a second task.
pub fn task_client_token(
    deployment_id: &str,
    hook: &str,
    stage: HookStage,
    step: Option<usize>,
) -> String {
    let mut digest = Sha256::new();
    digest.update(deployment_id.as_bytes());
    digest.update(b"\0");
    digest.update(hook.as_bytes());
    digest.update(b"\0");
    digest.update(stage.name().as_bytes());
    digest.update(b"\0");
    digest.update(
        step.map_or_else(|| "-".to_string(), |step| step.to_string())
            .as_bytes(),
    );
    let hex: String = digest
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    hex[..64].to_string()
}

/// The answer of one attempt, judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Passed(String),
    Failed(String),
    /// Not decided yet: look again after `after_seconds` (a function said `IN_PROGRESS`, a task
    /// still runs).
    Pending {
        detail: String,
        after_seconds: u64,
    },
}

/// An `http` hook's answer: passed when the status is the expected one and the body contains
/// what it must.
pub fn judge_http(hook: &HttpHook, status: u16, body: &str) -> Verdict {
    let shown = first_line(body, 120);
    if status != hook.expect_status {
        return Verdict::Failed(if shown.is_empty() {
            format!("HTTP {status}, expected {}", hook.expect_status)
        } else {
            format!("HTTP {status}, expected {}: {shown}", hook.expect_status)
        });
    }
    match &hook.body_contains {
        Some(needle) if !body.contains(needle.as_str()) => Verdict::Failed(format!(
            "HTTP {status} without \"{needle}\" in the body: {shown}"
        )),
        _ => Verdict::Passed(format!("HTTP {status}")),
    }
}

/// A function's answer to one invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionAnswer {
    /// The payload it returned (JSON, or whatever text it was).
    pub payload: String,
    /// Lambda's `FunctionError` (`Unhandled`): the function raised instead of answering.
    pub function_error: Option<String>,
}

/// A `lambda` hook's answer. Accepted, so that functions written for the others work:
/// - ECS's native hooks: `{"hookStatus": "SUCCEEDED" | "FAILED" | "IN_PROGRESS", "callBackDelay": N}`;
/// - CodeDeploy's statuses, returned instead of sent with `PutLifecycleEventHookExecutionStatus`:
///   `{"status": "Succeeded" | "Failed"}`.
///
/// A function that raises, or answers neither, has failed, as with ECS.
pub fn judge_function(answer: &FunctionAnswer) -> Verdict {
    if let Some(error) = &answer.function_error {
        return Verdict::Failed(format!(
            "the function failed ({error}): {}",
            first_line(&answer.payload, 200)
        ));
    }
    let value: serde_json::Value = serde_json::from_str(&answer.payload).unwrap_or_default();
    let text = |key: &str| {
        value
            .get(key)
            .and_then(serde_json::Value::as_str)
            .map(str::to_ascii_uppercase)
    };
    let reason = value
        .get("reason")
        .or_else(|| value.get("message"))
        .and_then(serde_json::Value::as_str)
        .map(|reason| format!(": {}", first_line(reason, 200)))
        .unwrap_or_default();
    match text("hookStatus").or_else(|| text("status")).as_deref() {
        Some("SUCCEEDED") => Verdict::Passed(format!("SUCCEEDED{reason}")),
        Some("FAILED") => Verdict::Failed(format!("FAILED{reason}")),
        Some("IN_PROGRESS") => Verdict::Pending {
            detail: format!("IN_PROGRESS{reason}"),
            after_seconds: value
                .get("callBackDelay")
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(DEFAULT_CALLBACK_DELAY_SECONDS)
                .clamp(1, 15 * 60),
        },
        _ => Verdict::Failed(format!(
            "expected {{\"hookStatus\": \"SUCCEEDED\" | \"FAILED\" | \"IN_PROGRESS\"}}, found {}",
            first_line(&answer.payload, 200)
        )),
    }
}

/// A one-off task as ECS reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskState {
    pub arn: String,
    /// ECS's `lastStatus`: `PROVISIONING` ... `RUNNING` ... `STOPPED`.
    pub last_status: String,
    /// The exit code of the hook's container, once it stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// Why the task or the container stopped, when ECS says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_reason: Option<String>,
}

/// A `task` hook's task: passed when its container exited 0.
pub fn judge_task(task: &TaskState) -> Verdict {
    if task.last_status != "STOPPED" {
        return Verdict::Pending {
            detail: format!("task {} is {}", short_task(&task.arn), task.last_status),
            after_seconds: TASK_POLL_SECONDS,
        };
    }
    let reason = task
        .stopped_reason
        .as_deref()
        .map(|reason| format!(" ({reason})"))
        .unwrap_or_default();
    match task.exit_code {
        Some(0) => Verdict::Passed(format!("task {} exited 0", short_task(&task.arn))),
        Some(code) => Verdict::Failed(format!(
            "task {} exited {code}{reason}",
            short_task(&task.arn)
        )),
        None => Verdict::Failed(format!(
            "task {} stopped without an exit code{reason}",
            short_task(&task.arn)
        )),
    }
}

fn short_task(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// The first line of `text`, at most `limit` characters.
fn first_line(text: &str, limit: usize) -> String {
    let line = text.trim().lines().next().unwrap_or_default();
    if line.chars().count() > limit {
        format!("{}...", line.chars().take(limit).collect::<String>())
    } else {
        line.to_string()
    }
}

/// Where one hook's run stands in one stage (and step) of a deployment; kept in the record so a
/// retried invocation continues it instead of starting again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HookRun {
    pub hook: String,
    pub stage: HookStage,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<usize>,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// Attempts whose answer counted (a request answered, a function's verdict, a look at the
    /// task).
    pub attempts: u32,
    /// Not before this is the next attempt made (a retry's interval, a callback delay).
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub next_at: Option<OffsetDateTime>,
    /// The one-off task of a `task` hook, once started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_arn: Option<String>,
    /// What a `lambda` hook asked to be given back on its next invocation (`hookDetails`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hook_details: Option<serde_json::Value>,
    /// The last answer, for people watching.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_detail: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<HookOutcome>,
}

impl HookRun {
    pub fn new(hook: &Hook, step: Option<usize>, now: OffsetDateTime) -> HookRun {
        HookRun {
            hook: hook.name.clone(),
            stage: hook.stage,
            step,
            started_at: now,
            attempts: 0,
            next_at: None,
            task_arn: None,
            hook_details: None,
            last_detail: None,
            outcome: None,
        }
    }

    /// Whether this is the run of `hook` in `stage` and `step`.
    pub fn is_of(&self, hook: &str, stage: HookStage, step: Option<usize>) -> bool {
        self.hook == hook && self.stage == stage && self.step == step
    }

    /// When the hook's timeout ends.
    pub fn deadline(&self, timeout_seconds: u64) -> OffsetDateTime {
        self.started_at + crate::duration::seconds(timeout_seconds)
    }
}

/// How a hook's run ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HookOutcome {
    pub passed: bool,
    /// The response, the function's verdict or the task's exit code, or why it timed out.
    pub detail: String,
    pub seconds: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub finished_at: OffsetDateTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(expect: u16, body: Option<&str>) -> HttpHook {
        HttpHook {
            url: "${TEST_URL}/healthz".into(),
            expect_status: expect,
            body_contains: body.map(str::to_string),
            retries: 3,
            interval_seconds: 5,
        }
    }

    fn answer(payload: &str) -> FunctionAnswer {
        FunctionAnswer {
            payload: payload.into(),
            function_error: None,
        }
    }

    #[test]
    fn stages_round_trip_by_name_and_in_json() {
        for stage in HookStage::ALL {
            assert_eq!(HookStage::from_name(stage.name()), Some(stage));
            assert_eq!(
                serde_json::to_value(stage).unwrap(),
                serde_json::json!(stage.name())
            );
        }
        assert_eq!(HookStage::from_name("afterAllowTraffic"), None);
    }

    #[test]
    fn the_test_url_is_the_test_listeners_address_and_literal_urls_stay() {
        assert_eq!(
            resolve_url("${TEST_URL}/healthz", Some("http://alb.example:8080/")).unwrap(),
            "http://alb.example:8080/healthz"
        );
        assert_eq!(
            resolve_url("https://status.example.com/ok", None).unwrap(),
            "https://status.example.com/ok"
        );
        let error = resolve_url("${TEST_URL}/healthz", None).unwrap_err();
        assert!(error.contains("traffic.testListener"), "{error}");
    }

    #[test]
    fn an_http_answer_passes_only_with_the_expected_status_and_body() {
        assert_eq!(
            judge_http(&http(200, None), 200, "ok"),
            Verdict::Passed("HTTP 200".into())
        );
        assert_eq!(
            judge_http(&http(200, None), 500, "boom\nstack"),
            Verdict::Failed("HTTP 500, expected 200: boom".into())
        );
        assert_eq!(
            judge_http(&http(200, Some("\"ok\":true")), 200, "{\"ok\":false}"),
            Verdict::Failed("HTTP 200 without \"\"ok\":true\" in the body: {\"ok\":false}".into())
        );
        assert!(matches!(
            judge_http(&http(204, Some("")), 204, ""),
            Verdict::Passed(_)
        ));
    }

    #[test]
    fn a_function_answers_the_way_ecs_or_codedeploy_hooks_do() {
        assert!(matches!(
            judge_function(&answer(r#"{"hookStatus":"SUCCEEDED"}"#)),
            Verdict::Passed(_)
        ));
        assert!(matches!(
            judge_function(&answer(r#"{"hookStatus":"FAILED","reason":"p99 too high"}"#)),
            Verdict::Failed(detail) if detail == "FAILED: p99 too high"
        ));
        assert_eq!(
            judge_function(&answer(
                r#"{"hookStatus":"IN_PROGRESS","callBackDelay":60}"#
            )),
            Verdict::Pending {
                detail: "IN_PROGRESS".into(),
                after_seconds: 60
            }
        );
        assert!(matches!(
            judge_function(&answer(r#"{"hookStatus":"IN_PROGRESS"}"#)),
            Verdict::Pending {
                after_seconds: 30,
                ..
            }
        ));
        // CodeDeploy's vocabulary, returned instead of reported.
        assert!(matches!(
            judge_function(&answer(r#"{"status":"Succeeded"}"#)),
            Verdict::Passed(_)
        ));
        assert!(matches!(
            judge_function(&answer(r#"{"status":"Failed"}"#)),
            Verdict::Failed(_)
        ));
        // No verdict is a failure, as with ECS; so is a function that raised.
        assert!(matches!(
            judge_function(&answer("null")),
            Verdict::Failed(_)
        ));
        assert!(matches!(
            judge_function(&answer(r#""done""#)),
            Verdict::Failed(_)
        ));
        let raised = FunctionAnswer {
            payload: r#"{"errorMessage":"boom","errorType":"Error"}"#.into(),
            function_error: Some("Unhandled".into()),
        };
        assert!(
            matches!(judge_function(&raised), Verdict::Failed(detail) if detail.contains("Unhandled"))
        );
    }

    #[test]
    fn a_task_passes_when_its_container_exits_zero() {
        let task = |status: &str, exit: Option<i32>| TaskState {
            arn: "arn:aws:ecs:eu-west-1:1:task/shop/abc123".into(),
            last_status: status.into(),
            exit_code: exit,
            stopped_reason: Some("Essential container in task exited".into()),
        };
        assert!(matches!(
            judge_task(&task("RUNNING", None)),
            Verdict::Pending {
                after_seconds: TASK_POLL_SECONDS,
                ..
            }
        ));
        assert_eq!(
            judge_task(&task("STOPPED", Some(0))),
            Verdict::Passed("task abc123 exited 0".into())
        );
        assert_eq!(
            judge_task(&task("STOPPED", Some(3))),
            Verdict::Failed("task abc123 exited 3 (Essential container in task exited)".into())
        );
        assert!(matches!(
            judge_task(&task("STOPPED", None)),
            Verdict::Failed(_)
        ));
    }

    #[test]
    fn a_task_token_is_stable_per_hook_and_step_and_fits_ecs() {
        let long_id = "a".repeat(80);
        let token = task_client_token(&long_id, "migrate", HookStage::AfterTestTraffic, None);
        assert_eq!(token.len(), 64);
        assert!(token.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(
            token,
            task_client_token(&long_id, "migrate", HookStage::AfterTestTraffic, None)
        );
        assert_ne!(
            token,
            task_client_token(&long_id, "migrate", HookStage::AfterStep, Some(0))
        );
        assert_ne!(
            task_client_token(&long_id, "migrate", HookStage::AfterStep, Some(0)),
            task_client_token(&long_id, "migrate", HookStage::AfterStep, Some(1))
        );
    }

    #[test]
    fn a_hook_reads_and_writes_the_records_json() {
        let hook = Hook {
            name: "smoke".into(),
            stage: HookStage::AfterTestTraffic,
            kind: HookKind::Http(http(200, None)),
            timeout_seconds: 120,
            on_failure: OnHookFailure::Rollback,
        };
        let json = serde_json::to_value(&hook).unwrap();
        assert_eq!(json["kind"], "http");
        assert_eq!(json["url"], "${TEST_URL}/healthz");
        assert_eq!(serde_json::from_value::<Hook>(json).unwrap(), hook);
    }
}
