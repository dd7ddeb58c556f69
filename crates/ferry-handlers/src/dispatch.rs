//! Calling a handler by its function name with a JSON payload: what the local engine does for
//! a Task state and what `ferry invoke` does, with the same parsing a Lambda would do.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::{Deps, GithubDeps, HandlerError};

/// Every function Ferry deploys, by its directory name under `functions/`.
pub const FUNCTIONS: &[&str] = &[
    "plan",
    "create-taskset",
    "wait-stable",
    "approval",
    "bake",
    "shift-weights",
    "check-alarms",
    "finalize",
    "rollback",
    "alarm-watch",
    "pr-plan",
    "poller",
    "push-deploy",
];

/// The functions that also need [`GithubDeps`] (see [`dispatch_with`]).
pub const GITHUB_FUNCTIONS: &[&str] = &["pr-plan", "poller"];

/// Runs `function` with `payload`. A function name may be given as a Lambda ARN or as the
/// deployed name (`ferry-plan`); the last `:`/`-`-separated part that names a function wins.
pub async fn dispatch(deps: &Deps, function: &str, payload: Value) -> Result<Value, HandlerError> {
    dispatch_with(deps, None, function, payload).await
}

/// [`dispatch`] for a host that can also reach GitHub: `pr-plan` and `poller` need `github`, and
/// without it refuse with a `NonRetryable` error that says so.
pub async fn dispatch_with(
    deps: &Deps,
    github: Option<&GithubDeps>,
    function: &str,
    payload: Value,
) -> Result<Value, HandlerError> {
    let name = function_name(function).ok_or_else(|| {
        HandlerError::non_retryable(format!(
            "no function named {function}; Ferry's functions are {}",
            FUNCTIONS.join(", ")
        ))
    })?;
    CURRENT_FUNCTION
        .scope(name, dispatch_named(deps, github, name, payload))
        .await
}

tokio::task_local! {
    /// The function whose handler this task is running (for recording AWS calls per function).
    static CURRENT_FUNCTION: &'static str;
}

/// Runs `work` as function `name` for [`current_function`]: what a host that is not
/// [`dispatch`] (the `control` function's HTTP app) uses, so its AWS calls are recorded as
/// that function's.
pub async fn as_function<F: std::future::Future>(name: &'static str, work: F) -> F::Output {
    CURRENT_FUNCTION.scope(name, work).await
}

/// The Ferry function the current task runs, when it was started through [`dispatch`].
pub fn current_function() -> Option<&'static str> {
    CURRENT_FUNCTION.try_with(|name| *name).ok()
}

async fn dispatch_named(
    deps: &Deps,
    github: Option<&GithubDeps>,
    name: &'static str,
    payload: Value,
) -> Result<Value, HandlerError> {
    match name {
        "plan" => call(name, payload, |input| crate::plan::handle(deps, input)).await,
        "create-taskset" => {
            call(name, payload, |input| {
                crate::create_taskset::handle(deps, input)
            })
            .await
        }
        "wait-stable" => {
            call(name, payload, |input| {
                crate::wait_stable::handle(deps, input)
            })
            .await
        }
        "approval" => {
            call(name, payload, |input| {
                crate::wait_token::approval(deps, input)
            })
            .await
        }
        "bake" => call(name, payload, |input| crate::wait_token::bake(deps, input)).await,
        "shift-weights" => {
            call(name, payload, |input| {
                crate::shift_weights::handle(deps, input)
            })
            .await
        }
        "check-alarms" => {
            call(name, payload, |input| {
                crate::check_alarms::handle(deps, input)
            })
            .await
        }
        "finalize" => call(name, payload, |input| crate::finalize::handle(deps, input)).await,
        "rollback" => call(name, payload, |input| crate::rollback::handle(deps, input)).await,
        "alarm-watch" => {
            // The function receives the whole EventBridge event; the handler wants its detail.
            let detail = match payload.get("detail") {
                Some(detail) => detail.clone(),
                None => payload,
            };
            call(name, detail, |input| {
                crate::alarm_watch::handle(deps, input)
            })
            .await
        }
        "push-deploy" => {
            call(name, event_detail(payload), |input| {
                crate::push_deploy::handle(deps, input)
            })
            .await
        }
        name if GITHUB_FUNCTIONS.contains(&name) => {
            let github = github.ok_or_else(|| {
                HandlerError::non_retryable(format!(
                    "{name} talks to GitHub, and this host has no GitHub connection (configure FERRY_GITHUB_CREDENTIALS_SECRET_ARN, or GITHUB_TOKEN locally)"
                ))
            })?;
            if name == "pr-plan" {
                call(name, event_detail(payload), |input| {
                    crate::pr_plan::handle(deps, github, input)
                })
                .await
            } else {
                call(name, payload, |input| {
                    crate::poll::handle(deps, github, input)
                })
                .await
            }
        }
        _ => unreachable!("function_name only returns known names"),
    }
}

/// Functions started by an EventBridge rule take the event's detail (the rule's input
/// transformer), or the whole event.
fn event_detail(payload: Value) -> Value {
    match payload.get("detail") {
        Some(detail) if payload.get("detail-type").is_some() => detail.clone(),
        _ => payload,
    }
}

/// `arn:aws:lambda:eu-west-1:123:function:ferry-plan`, `ferry-plan` and `plan` all give `plan`.
pub fn function_name(function: &str) -> Option<&'static str> {
    let last = function.rsplit(':').next().unwrap_or(function);
    FUNCTIONS
        .iter()
        .copied()
        .filter(|name| last == *name || last.ends_with(&format!("-{name}")))
        .max_by_key(|name| name.len())
}

/// Decodes `payload`, runs `handler` and encodes its output, the same way in every host (Lambda,
/// the local engine, the CLI): an input that does not decode is `NonRetryable` naming the
/// field, and a panic is a `NonRetryable` error instead of a crash, so an error has one name
/// wherever the handler runs.
pub async fn call<I, O, F, Fut>(
    name: &str,
    payload: Value,
    handler: F,
) -> Result<Value, HandlerError>
where
    I: DeserializeOwned,
    O: Serialize,
    F: FnOnce(I) -> Fut,
    Fut: std::future::Future<Output = Result<O, HandlerError>>,
{
    use futures_util::FutureExt;
    let input: I = serde_json::from_value(payload).map_err(|error| {
        HandlerError::non_retryable(format!("invalid input for {name}: {error}"))
    })?;
    let output = std::panic::AssertUnwindSafe(handler(input))
        .catch_unwind()
        .await
        .map_err(|panic| {
            let message = panic
                .downcast_ref::<&str>()
                .map(|text| text.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no message".into());
            tracing::error!(function = name, %message, "handler panicked");
            HandlerError::non_retryable(format!("{name} panicked: {message}"))
        })??;
    serde_json::to_value(output).map_err(|error| {
        HandlerError::non_retryable(format!("output of {name} is not JSON: {error}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_names_resolve_from_arns_and_deployed_names() {
        assert_eq!(function_name("plan"), Some("plan"));
        assert_eq!(
            function_name("ferry-create-taskset"),
            Some("create-taskset")
        );
        assert_eq!(
            function_name("arn:aws:lambda:eu-west-1:123456789012:function:ferry-alarm-watch"),
            Some("alarm-watch")
        );
        assert_eq!(
            function_name("arn:aws:lambda:eu-west-1:123456789012:function:other"),
            None
        );
        assert_eq!(function_name("ferry-pr-plan"), Some("pr-plan"));
        assert_eq!(function_name("ferry-poller"), Some("poller"));
        assert_eq!(function_name("ferry-push-deploy"), Some("push-deploy"));
        assert!(GITHUB_FUNCTIONS.iter().all(|name| FUNCTIONS.contains(name)));
    }

    #[tokio::test]
    async fn bad_input_is_a_clear_non_retryable_error() {
        let world = crate::testing::World::new(&crate::testing::manifest("allAtOnce: {}", ""));
        let error = dispatch(&world.deps, "shift-weights", serde_json::json!({"step": 0}))
            .await
            .unwrap_err();
        assert_eq!(error.error_type(), "NonRetryable");
        assert_eq!(
            error.message,
            "invalid input for shift-weights: missing field `deploymentId`"
        );
        let unknown = dispatch(&world.deps, "deploy", serde_json::json!({}))
            .await
            .unwrap_err();
        assert!(unknown.message.starts_with("no function named deploy"));
    }
}
