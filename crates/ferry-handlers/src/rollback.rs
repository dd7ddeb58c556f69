//! `rollback`: end a deployment safely, whatever state it is in.
//!
//! - Before blue's removal began: all traffic back to blue (verified), blue primary again if
//!   green had been promoted, every task set carrying the deployment's id removed, lock
//!   released, record `rolled-back`. Order matters: traffic first (and proven), and green is only
//!   removed once no in-flight change can still send it traffic (see [`crate::fence`]).
//!   Traffic only ever goes back to a blue that exists and runs its desired count; otherwise
//!   nothing is moved and the rollback fails with the reason, leaving traffic where it is.
//! - Once blue's removal began (cleanup): blue may be half gone, so the deployment only rolls
//!   forward: blue's removal is finished and the deployment ends `succeeded`.
//! - With `giveUp` (the state machines' last resort after the above failed): nothing is
//!   changed in AWS; the record ends `failed` with the error, the lock is released so the
//!   service is never blocked, and people are told how to recover (`ferry rollback ID`, which
//!   runs this handler again).

use ferry_core::DeploymentStatus;
use ferry_core::deployment::{Deployment, Side};
use ferry_core::ports::{PortError, ServiceInfo, TaskSetStatus};
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use crate::error::port;
use crate::record::{load, notify, release_lock, save};
use crate::{Deps, HandlerError, fence, finalize, traffic};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RollbackInput {
    pub deployment_id: String,
    /// The error that caused the rollback, as a Step Functions Catch passes it.
    #[serde(default, alias = "Error")]
    pub error: Option<String>,
    #[serde(default, alias = "Cause")]
    pub cause: Option<String>,
    /// Record the deployment as failed without touching AWS: the rollback itself could not
    /// finish.
    #[serde(default)]
    pub give_up: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RollbackOutput {
    pub deployment_id: String,
    pub status: String,
    pub reason: String,
}

fn output(deployment: &Deployment, reason: String) -> RollbackOutput {
    RollbackOutput {
        deployment_id: deployment.id.clone(),
        status: deployment.status.name().into(),
        reason: deployment.reason.clone().unwrap_or(reason),
    }
}

pub async fn handle(deps: &Deps, input: RollbackInput) -> Result<RollbackOutput, HandlerError> {
    let mut deployment = load(deps, &input.deployment_id).await?;
    let reason = reason(&input);
    if input.give_up {
        return give_up(deps, deployment, reason).await;
    }
    match deployment.status {
        DeploymentStatus::RolledBack => return Ok(output(&deployment, reason)),
        DeploymentStatus::Succeeded => {
            return Err(HandlerError::non_retryable(format!(
                "deployment {} has succeeded and blue is gone; deploy the previous commit instead",
                deployment.id
            )));
        }
        _ => {}
    }
    if deployment.only_rolls_forward() {
        return roll_forward(deps, deployment, reason).await;
    }

    if deployment.status != DeploymentStatus::RollingBack {
        deployment.rolling_back(deps.clock.now(), &reason);
        save(deps, &mut deployment).await?;
    }
    let Some(blue) = deployment.blue.clone() else {
        return roll_back_first(deps, deployment, reason).await;
    };

    // Traffic goes back only to a blue that can take it.
    let mut service = describe_service(deps, &deployment).await?;
    refuse_unless_blue_serves(&deployment, service.as_ref(), &blue.id)?;
    traffic::apply(deps, &deployment, 0).await?;
    deployment.green_weight = 0;
    // A shift or a CreateTaskSet may still be in flight: wait until it cannot be, then look
    // again (its late write is undone here, while blue and green both still exist).
    if fence::settle(deps, &deployment).await {
        traffic::apply(deps, &deployment, 0).await?;
        service = describe_service(deps, &deployment).await?;
    }
    // The test listener goes back to blue, like production, before green goes.
    traffic::point_test_listener(deps, &mut deployment, Side::Blue).await?;
    if let Some(service) = service {
        remove_green(deps, &deployment, &service, &blue.id).await?;
    }
    release_lock(deps, &deployment).await?;
    let reason = deployment.reason.clone().unwrap_or(reason);
    let event = deployment.rolled_back(deps.clock.now(), &reason);
    if let Err(error) = save(deps, &mut deployment).await {
        warn!(deployment = %deployment.id, %error, "rolled back but the record was not updated");
        return Err(error);
    }
    info!(deployment = %deployment.id, %reason, "rolled back");
    notify(deps, &deployment, &event).await;
    Ok(output(&deployment, reason))
}

/// The service and its task sets; `None` when the service is gone.
async fn describe_service(
    deps: &Deps,
    deployment: &Deployment,
) -> Result<Option<ServiceInfo>, HandlerError> {
    match deps
        .ecs
        .describe_service(&deployment.cluster, &deployment.service)
        .await
    {
        Ok(service) => Ok(Some(service)),
        Err(PortError::NotFound(_)) => Ok(None),
        Err(error) => Err(HandlerError::from_port("describing the service", error)),
    }
}

/// Blue must exist and run its desired count before traffic goes back to it: a rollback to a
/// task set that is gone or not running turns a partial problem into a full outage.
fn refuse_unless_blue_serves(
    deployment: &Deployment,
    service: Option<&ServiceInfo>,
    blue: &str,
) -> Result<(), HandlerError> {
    let found = service.and_then(|service| service.task_sets.iter().find(|set| set.id == blue));
    let problem = match found {
        None => "no longer exists".to_string(),
        Some(set) if set.status == TaskSetStatus::Draining => "is draining".to_string(),
        Some(set) if set.running_count < set.computed_desired_count => format!(
            "runs {} of its {} tasks",
            set.running_count, set.computed_desired_count
        ),
        Some(_) => return Ok(()),
    };
    Err(HandlerError::non_retryable(format!(
        "blue task set {blue} {problem}; traffic was left where it is ({}% on green). Fix blue, then run `ferry rollback {}` again",
        deployment.green_weight, deployment.id
    )))
}

/// Blue primary again, then every task set of this deployment removed.
async fn remove_green(
    deps: &Deps,
    deployment: &Deployment,
    service: &ServiceInfo,
    blue: &str,
) -> Result<(), HandlerError> {
    if service.primary_task_set().map(|set| set.id.as_str()) != Some(blue) {
        deps.ecs
            .set_primary_task_set(&deployment.cluster, &deployment.service, blue)
            .await
            .map_err(port("making blue the primary task set again"))?;
    }
    remove_task_sets_of(deps, deployment, service, Some(blue)).await
}

/// Removes every task set of this deployment but `keep`: the recorded green, and any that a
/// lost answer or an interrupted attempt left unrecorded (they carry the deployment's id).
async fn remove_task_sets_of(
    deps: &Deps,
    deployment: &Deployment,
    service: &ServiceInfo,
    keep: Option<&str>,
) -> Result<(), HandlerError> {
    let recorded = deployment.green.as_ref().map(|green| green.id.as_str());
    for set in service.task_sets.iter().filter(|set| {
        Some(set.id.as_str()) != keep
            && (Some(set.id.as_str()) == recorded
                || set.external_id.as_deref() == Some(deployment.id.as_str()))
    }) {
        if Some(set.id.as_str()) != recorded {
            warn!(deployment = %deployment.id, task_set = %set.id, "removing a green task set that was never recorded");
        }
        deps.ecs
            .delete_task_set(&deployment.cluster, &deployment.service, &set.id)
            .await
            .map_err(port("removing the green task set"))?;
    }
    Ok(())
}

/// A first deployment before its promotion: the service goes back to running nothing, and the
/// listeners back to the other target group (green went on the one they did not use: when
/// something else serves there, a service moving from CodeDeploy, it serves again). Then green
/// is removed, once a change in flight has settled.
async fn roll_back_first(
    deps: &Deps,
    mut deployment: Deployment,
    reason: String,
) -> Result<RollbackOutput, HandlerError> {
    traffic::apply(deps, &deployment, 0).await?;
    if fence::settle(deps, &deployment).await {
        traffic::apply(deps, &deployment, 0).await?;
    }
    traffic::point_test_listener(deps, &mut deployment, Side::Blue).await?;
    if let Some(service) = describe_service(deps, &deployment).await? {
        remove_task_sets_of(deps, &deployment, &service, None).await?;
    }
    deployment.green_weight = 0;
    release_lock(deps, &deployment).await?;
    let reason = deployment.reason.clone().unwrap_or(reason);
    let event = deployment.rolled_back(deps.clock.now(), &reason);
    save(deps, &mut deployment).await?;
    info!(deployment = %deployment.id, %reason, "first deployment rolled back: the service runs nothing, as before");
    notify(deps, &deployment, &event).await;
    Ok(output(&deployment, reason))
}

/// Blue's removal began: finish it. Green is primary and serves all traffic.
async fn roll_forward(
    deps: &Deps,
    mut deployment: Deployment,
    reason: String,
) -> Result<RollbackOutput, HandlerError> {
    deployment.rolled_forward(deps.clock.now(), &reason);
    finalize::finish_blue_removal(deps, &mut deployment).await?;
    info!(deployment = %deployment.id, "rolled forward");
    Ok(output(&deployment, reason))
}

/// The last resort: record the failure truthfully, free the service, say how to recover.
async fn give_up(
    deps: &Deps,
    mut deployment: Deployment,
    reason: String,
) -> Result<RollbackOutput, HandlerError> {
    if deployment.status.is_terminal() {
        return Ok(output(&deployment, reason));
    }
    let now = deps.clock.now();
    let message = format!(
        "{reason}. Traffic: {}% on green. Recover with `ferry rollback {}`",
        deployment.green_weight, deployment.id
    );
    let event = deployment.failed(now, &message);
    save(deps, &mut deployment).await?;
    release_lock(deps, &deployment).await?;
    warn!(deployment = %deployment.id, %message, "deployment failed");
    notify(deps, &deployment, &event).await;
    Ok(output(&deployment, message))
}

/// A readable reason from a Step Functions error: Lambda errors carry their message in a JSON
/// cause (`{"errorMessage": ..., "errorType": ...}`).
fn reason(input: &RollbackInput) -> String {
    let cause = input.cause.as_deref().unwrap_or("");
    let message = serde_json::from_str::<serde_json::Value>(cause)
        .ok()
        .and_then(|value| {
            value
                .get("errorMessage")
                .and_then(|m| m.as_str())
                .map(str::to_string)
        })
        .unwrap_or_else(|| cause.to_string());
    match (input.error.as_deref(), message.is_empty()) {
        (Some(error), false) => format!("{error}: {message}"),
        (Some(error), true) => error.to_string(),
        (None, false) => message,
        (None, true) => "rollback requested".to_string(),
    }
}
