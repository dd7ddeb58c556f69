//! Calling a handler by its function name with a JSON payload: what the local engine does for
//! a Task state and what `ferry invoke` does, with the same parsing a Lambda would do.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::{Deps, HandlerError};

/// What a function's host builds for it at cold start, beyond the AWS ports every function has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// The AWS ports only.
    Aws,
    /// Git read from GitHub (`Deps::git`).
    Git,
    /// GitHub's pull requests, branches, and the poller's memory and bus (`Deps::github`).
    GitHub,
    /// What verification hooks call: HTTP, Lambda, ECS's one-off tasks (`Deps::hooks`).
    Hooks,
}

/// How a function is invoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invoked {
    /// With a JSON event, by Step Functions or EventBridge: [`dispatch`] runs it, here and in
    /// Lambda alike.
    Event,
    /// Through a Lambda function URL: the function serves `ferry-http`'s router
    /// (`control`, `slack-callback`, `webhook-intake`); [`dispatch`] does not run it.
    Http,
}

type Run = for<'a> fn(
    &'a Deps,
    Value,
) -> std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<Value, HandlerError>> + Send + 'a>,
>;

/// One of Ferry's Lambda functions: its name (the directory under `functions/`, the key in
/// Terraform's `local.functions`), what it needs, and how to run it.
pub struct Function {
    pub name: &'static str,
    pub needs: Needs,
    pub invoked: Invoked,
    run: Option<Run>,
}

impl std::fmt::Debug for Function {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Function")
            .field("name", &self.name)
            .field("needs", &self.needs)
            .field("invoked", &self.invoked)
            .finish()
    }
}

/// A function [`dispatch`] runs: its event decoded into the handler's input by [`call`].
macro_rules! event_function {
    ($name:literal, $needs:expr, |$deps:ident, $input:ident| $body:expr) => {
        Function {
            name: $name,
            needs: $needs,
            invoked: Invoked::Event,
            run: Some(|$deps, payload| {
                Box::pin(async move { call($name, payload, |$input| async move { $body }).await })
            }),
        }
    };
    ($name:literal, $needs:expr, detail, |$deps:ident, $input:ident| $body:expr) => {
        Function {
            name: $name,
            needs: $needs,
            invoked: Invoked::Event,
            run: Some(|$deps, payload| {
                Box::pin(async move {
                    call($name, event_detail(payload), |$input| async move { $body }).await
                })
            }),
        }
    };
}

/// Each function on its own: a Lambda binary names its own (`functions::PLAN`), so the linker
/// keeps only that handler in it.
pub mod functions {
    use super::*;

    pub static PLAN: Function =
        event_function!("plan", Needs::Git, |deps, input| crate::plan::handle(
            deps, input
        )
        .await);
    pub static CREATE_TASKSET: Function =
        event_function!("create-taskset", Needs::Aws, |deps, input| {
            crate::create_taskset::handle(deps, input).await
        });
    pub static WAIT_STABLE: Function = event_function!("wait-stable", Needs::Aws, |deps, input| {
        crate::wait_stable::handle(deps, input).await
    });
    pub static APPROVAL: Function = event_function!("approval", Needs::Aws, |deps, input| {
        crate::wait_token::approval(deps, input).await
    });
    pub static BAKE: Function =
        event_function!("bake", Needs::Aws, |deps, input| crate::wait_token::bake(
            deps, input
        )
        .await);
    pub static SHIFT_WEIGHTS: Function =
        event_function!("shift-weights", Needs::Aws, |deps, input| {
            crate::shift_weights::handle(deps, input).await
        });
    pub static CHECK_ALARMS: Function =
        event_function!("check-alarms", Needs::Aws, |deps, input| {
            crate::check_alarms::handle(deps, input).await
        });
    pub static RUN_HOOKS: Function = event_function!("run-hooks", Needs::Hooks, |deps, input| {
        crate::run_hooks::handle(deps, input).await
    });
    pub static FINALIZE: Function = event_function!("finalize", Needs::Aws, |deps, input| {
        crate::finalize::handle(deps, input).await
    });
    pub static ROLLBACK: Function = event_function!("rollback", Needs::Aws, |deps, input| {
        crate::rollback::handle(deps, input).await
    });
    /// The whole EventBridge event arrives; the handler wants its detail.
    pub static ALARM_WATCH: Function =
        event_function!("alarm-watch", Needs::Aws, detail, |deps, input| {
            crate::alarm_watch::handle(deps, input).await
        });
    pub static PR_PLAN: Function =
        event_function!("pr-plan", Needs::GitHub, detail, |deps, input| {
            crate::pr_plan::handle(deps, deps.github()?, input).await
        });
    pub static POLLER: Function = event_function!("poller", Needs::GitHub, |deps, input| {
        crate::poll::handle(deps, deps.github()?, input).await
    });
    pub static PUSH_DEPLOY: Function =
        event_function!("push-deploy", Needs::Git, detail, |deps, input| {
            crate::push_deploy::handle(deps, input).await
        });
    /// EventBridge delivers the end of a deploy execution; every waiting service is
    /// reconciled, so the detail only needs to be an object.
    pub static CONVERGE: Function =
        event_function!("converge", Needs::Aws, detail, |deps, input| {
            crate::converge::handle(deps, input).await
        });
    pub static CONTROL: Function = Function {
        name: "control",
        needs: Needs::Aws,
        invoked: Invoked::Http,
        run: None,
    };
    pub static SLACK_CALLBACK: Function = Function {
        name: "slack-callback",
        needs: Needs::Aws,
        invoked: Invoked::Http,
        run: None,
    };
    pub static WEBHOOK_INTAKE: Function = Function {
        name: "webhook-intake",
        needs: Needs::Aws,
        invoked: Invoked::Http,
        run: None,
    };
}

/// Every function Ferry deploys. A new function is a static in [`functions`] and an entry here,
/// a module with its handler, a one-line `functions/<name>/src/main.rs` and an entry in
/// Terraform's `local.functions`.
pub static FUNCTIONS: &[&Function] = &[
    &functions::PLAN,
    &functions::CREATE_TASKSET,
    &functions::WAIT_STABLE,
    &functions::APPROVAL,
    &functions::BAKE,
    &functions::SHIFT_WEIGHTS,
    &functions::CHECK_ALARMS,
    &functions::RUN_HOOKS,
    &functions::FINALIZE,
    &functions::ROLLBACK,
    &functions::ALARM_WATCH,
    &functions::PR_PLAN,
    &functions::POLLER,
    &functions::PUSH_DEPLOY,
    &functions::CONVERGE,
    &functions::CONTROL,
    &functions::SLACK_CALLBACK,
    &functions::WEBHOOK_INTAKE,
];

/// The function named `name` (a Lambda ARN, a deployed name like `ferry-plan`, or `plan`).
pub fn function(name: &str) -> Option<&'static Function> {
    let name = function_name(name)?;
    FUNCTIONS
        .iter()
        .copied()
        .find(|function| function.name == name)
}

/// The names of the functions [`dispatch`] runs.
pub fn event_functions() -> impl Iterator<Item = &'static str> {
    FUNCTIONS
        .iter()
        .filter(|function| function.invoked == Invoked::Event)
        .map(|function| function.name)
}

/// Runs `function` with `payload`. A function name may be given as a Lambda ARN or as the
/// deployed name (`ferry-plan`); the last `:`/`-`-separated part that names a function wins.
/// A function that talks to GitHub refuses, `NonRetryable`, on a host whose `deps` have no
/// GitHub ports.
pub async fn dispatch(deps: &Deps, function: &str, payload: Value) -> Result<Value, HandlerError> {
    match self::function(function).filter(|found| found.run.is_some()) {
        Some(found) => found.invoke(deps, payload).await,
        None => Err(HandlerError::non_retryable(format!(
            "no function named {function}; Ferry's functions are {}",
            event_functions().collect::<Vec<_>>().join(", ")
        ))),
    }
}

impl Function {
    /// Runs this function's handler on `payload`, decoded as [`call`] does.
    pub async fn invoke(&'static self, deps: &Deps, payload: Value) -> Result<Value, HandlerError> {
        let Some(run) = self.run else {
            return Err(HandlerError::non_retryable(format!(
                "{} is served over HTTP (ferry-http), not invoked with an event",
                self.name
            )));
        };
        CURRENT_FUNCTION.scope(self.name, run(deps, payload)).await
    }
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
        .map(|function| function.name)
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
        assert_eq!(function("ferry-control").unwrap().invoked, Invoked::Http);
        assert_eq!(function("pr-plan").unwrap().needs, Needs::GitHub);
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
        let served_over_http = dispatch(&world.deps, "control", serde_json::json!({}))
            .await
            .unwrap_err();
        assert!(
            served_over_http
                .message
                .starts_with("no function named control")
        );
        let no_github = dispatch(&world.deps, "poller", serde_json::json!({}))
            .await
            .unwrap_err();
        assert_eq!(no_github.error_type(), "NonRetryable");
        assert!(
            no_github.message.contains("no GitHub connection"),
            "{}",
            no_github.message
        );
    }
}
