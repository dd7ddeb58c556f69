//! The logic of Ferry's Lambda handlers.
//!
//! Each handler is `async fn handle(deps: &Deps, input) -> Result<Output, HandlerError>` over
//! the ports of `ferry-core`, so the same code runs in Lambda (`functions/<name>`), in the local
//! engine and in tests. Every handler is idempotent: Step Functions retries, and a repeat must
//! not create a second task set, shift twice, or corrupt the record. Progress lives in the
//! deployment record (an index into the plan), so a repeat finds the work already done.
//!
//! | handler | does |
//! | --- | --- |
//! | [`plan`] | reads manifest and live service, decides blue/green, takes the lock, writes the record |
//! | [`create_taskset`] | registers the task definition, creates green on the idle target group |
//! | [`wait_stable`] | reports whether green is stable; fails after the stabilisation timeout |
//! | [`wait_token`] | stores the task token of an approval or a bake so people and alarms can end it |
//! | [`shift_weights`] | applies a step's weights, reads them back, records the step |
//! | [`check_alarms`] | judges the manifest's alarms; `AlarmBreached` when one fired |
//! | [`run_hooks`] | the verification hooks of a stage, one attempt per call; `HookFailed` when one fails |
//! | [`finalize`] | makes green primary; later removes blue, releases the lock |
//! | [`rollback`] | all traffic to blue (verified), removes green, releases the lock |
//! | [`alarm_watch`] | an alarm entered ALARM: fail the bake of every deployment it guards |
//! | [`control`] | the typed actions people take (approve, reject, promote, roll back, move) |
//! | [`pr_plan`] | a pull request's plan: one comment kept up to date, and the `ferry/plan` status |
//! | [`poll`] | the pull model: tracked branches that moved become `push` events on the bus |
//! | [`push_deploy`] | a `push` on the bus: the commit becomes each touched service's desired state, deployed now or queued |
//! | [`converge`] | a deploy execution ended: deploy each service's desired commit that waits |

use std::sync::Arc;

use ferry_core::ports::{
    AlarmReader, BranchHeads, Clock, DeploymentStore, EventPublisher, FunctionInvoker, GitSource,
    HttpProbe, ListenerAddresses, Notifier, OneOffTasks, PollState, PullRequests, TaskSetDeployer,
    TrafficRouter, WorkflowControl,
};

pub mod alarm_watch;
pub mod check_alarms;
pub mod control;
pub mod converge;
pub mod create_taskset;
mod dispatch;
mod error;
mod fence;
pub mod finalize;
pub mod plan;
pub mod poll;
pub mod pr_plan;
pub mod push_deploy;
mod record;
pub mod rollback;
pub mod run_hooks;
pub mod schemas;
pub mod shift_weights;
mod support;
mod traffic;
pub mod views;
pub mod wait_stable;
pub mod wait_token;

pub use dispatch::{
    FUNCTIONS, Function, Invoked, Needs, as_function, call, current_function, dispatch,
    event_functions, function, function_name, functions,
};
pub use error::{ErrorKind, HandlerError};
pub use support::{LogNotifier, NoGitSource, Notifiers};

/// Input of every handler that works on an existing deployment.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentRef {
    pub deployment_id: String,
}

/// Tunables shared by the handlers.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How long green may take to become stable before the deployment is rolled back.
    pub stabilization_timeout_seconds: u64,
    /// Reads after a weight change before giving up for this attempt (an ALB applies
    /// changes with a short delay).
    pub verify_attempts: u32,
    pub verify_delay: std::time::Duration,
    /// How long a fenced change (creating green, moving traffic) may stay in flight: longer
    /// than the Lambda timeout of the handlers that raise fences (create-taskset and
    /// shift-weights, 60 s; pinned in the Terraform tests), so after it the writer has finished
    /// or died.
    pub fence_lease: std::time::Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            stabilization_timeout_seconds: 15 * 60,
            verify_attempts: 10,
            verify_delay: std::time::Duration::from_millis(500),
            // shift-weights and create-taskset time out after 60 s in Lambda.
            fence_lease: std::time::Duration::from_secs(65),
        }
    }
}

/// The ports a handler may use, built once per cold start.
#[derive(Clone)]
pub struct Deps {
    pub ecs: Arc<dyn TaskSetDeployer>,
    pub traffic: Arc<dyn TrafficRouter>,
    pub alarms: Arc<dyn AlarmReader>,
    pub store: Arc<dyn DeploymentStore>,
    pub workflows: Arc<dyn WorkflowControl>,
    pub git: Arc<dyn GitSource>,
    pub notifier: Arc<dyn Notifier>,
    pub clock: Arc<dyn Clock>,
    pub settings: Settings,
    /// The GitHub ports of the functions that need them (`pr-plan`, `poller`); `None` elsewhere,
    /// so the deployment functions' cold starts and permissions stay small.
    pub github: Option<Arc<GithubDeps>>,
    /// What verification hooks call (`run-hooks`); `None` elsewhere.
    pub hooks: Option<Arc<HookPorts>>,
}

impl Deps {
    /// The GitHub ports, or a `NonRetryable` error naming what to configure.
    pub fn github(&self) -> Result<&GithubDeps, HandlerError> {
        self.github.as_deref().ok_or_else(|| {
            HandlerError::non_retryable(
                "this host has no GitHub connection (configure FERRY_GITHUB_CREDENTIALS_SECRET_ARN, or GITHUB_TOKEN locally)",
            )
        })
    }

    /// The hooks' ports, or a `NonRetryable` error: this host cannot run hooks.
    pub fn hooks(&self) -> Result<&HookPorts, HandlerError> {
        self.hooks.as_deref().ok_or_else(|| {
            HandlerError::non_retryable(
                "this host cannot run verification hooks (no HTTP, Lambda or ECS task ports)",
            )
        })
    }
}

/// The ports of the `run-hooks` function, in [`Deps::hooks`]: an HTTP client, Lambda, ECS's
/// one-off tasks, and the load balancer's addresses.
#[derive(Clone)]
pub struct HookPorts {
    pub http: Arc<dyn HttpProbe>,
    pub functions: Arc<dyn FunctionInvoker>,
    pub tasks: Arc<dyn OneOffTasks>,
    pub listeners: Arc<dyn ListenerAddresses>,
}

/// The ports of the functions that talk to GitHub (`pr-plan`, `poller`), in [`Deps::github`]:
/// only those functions build them (credentials from Secrets Manager, an API client).
#[derive(Clone)]
pub struct GithubDeps {
    pub pulls: Arc<dyn PullRequests>,
    pub branches: Arc<dyn BranchHeads>,
    pub poll_state: Arc<dyn PollState>,
    pub events: Arc<dyn EventPublisher>,
    /// `owner/name@branch` entries the poller watches when its input names none
    /// (`FERRY_POLL_REPOSITORIES`).
    pub tracked: Vec<String>,
}

#[cfg(test)]
mod first_deployment_tests;
#[cfg(test)]
mod hooks_tests;
#[cfg(test)]
mod safety_tests;
#[cfg(test)]
mod test_traffic_tests;
#[cfg(test)]
pub(crate) mod testing;
#[cfg(test)]
mod tests;
