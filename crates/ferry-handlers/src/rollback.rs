//! `rollback`: all traffic back to blue (verified), green removed, lock released.
//!
//! Order matters for safety: traffic first (and proven), then blue made primary again if
//! green had been promoted, and only then green deleted.

use ferry_core::DeploymentStatus;
use ferry_core::ports::{NotificationKind, TaskSetStatus};
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use crate::error::port;
use crate::record::{load, notify, save};
use crate::{Deps, HandlerError, traffic};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RollbackInput {
    pub deployment_id: String,
    /// The error that caused the rollback, as a Step Functions Catch passes it.
    #[serde(default, alias = "Error")]
    pub error: Option<String>,
    #[serde(default, alias = "Cause")]
    pub cause: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RollbackOutput {
    pub deployment_id: String,
    pub status: String,
    pub reason: String,
}

pub async fn handle(deps: &Deps, input: RollbackInput) -> Result<RollbackOutput, HandlerError> {
    let mut deployment = load(deps, &input.deployment_id).await?;
    let reason = reason(&input);
    if deployment.status == DeploymentStatus::RolledBack {
        return Ok(RollbackOutput {
            deployment_id: deployment.id.clone(),
            status: deployment.status.name().into(),
            reason: deployment.reason.clone().unwrap_or(reason),
        });
    }
    if deployment.status == DeploymentStatus::Succeeded {
        return Err(HandlerError::non_retryable(format!(
            "deployment {} has succeeded and blue is gone; deploy the previous commit instead",
            deployment.id
        )));
    }
    let now = deps.clock.now();
    if deployment.status != DeploymentStatus::RollingBack {
        deployment.status = DeploymentStatus::RollingBack;
        deployment.pending_token = None;
        deployment.reason = Some(reason.clone());
        deployment.record(now, "rolling-back", reason.clone());
        save(deps, &mut deployment).await?;
    }

    if deployment.green.is_some()
        || deployment.green_weight > 0
        || deployment.applied_step.is_some()
    {
        traffic::apply(deps, &deployment, 0).await?;
        deployment.green_weight = 0;
    }
    if let Some(green) = deployment.green.clone() {
        let current = deps
            .ecs
            .describe_task_set(&deployment.cluster, &deployment.service, &green.id)
            .await
            .map_err(port("describing the green task set"))?;
        if current
            .as_ref()
            .is_some_and(|set| set.status == TaskSetStatus::Primary)
        {
            let blue = deployment.blue.clone().ok_or_else(|| {
                HandlerError::non_retryable("green is primary and there is no blue to return to")
            })?;
            deps.ecs
                .set_primary_task_set(&deployment.cluster, &deployment.service, &blue.id)
                .await
                .map_err(port("making blue the primary task set again"))?;
        }
        if current.is_some() {
            deps.ecs
                .delete_task_set(&deployment.cluster, &deployment.service, &green.id)
                .await
                .map_err(port("removing the green task set"))?;
        }
    }
    if deployment.green.is_none() {
        remove_unrecorded_green(deps, &deployment).await?;
    }
    deps.store
        .release_lock(&deployment.service_key(), &deployment.id)
        .await
        .map_err(port("releasing the service lock"))?;
    let now = deps.clock.now();
    let reason = deployment.reason.clone().unwrap_or(reason);
    deployment.record(now, "rolled-back", "all traffic on blue, green removed");
    deployment.finish(now, DeploymentStatus::RolledBack, Some(reason.clone()));
    if let Err(error) = save(deps, &mut deployment).await {
        warn!(deployment = %deployment.id, %error, "rolled back but the record was not updated");
        return Err(error);
    }
    info!(deployment = %deployment.id, %reason, "rolled back");
    notify(
        deps,
        &deployment,
        NotificationKind::RolledBack,
        format!("{} rolled back: {reason}", deployment.service_key()),
    )
    .await;
    Ok(RollbackOutput {
        deployment_id: deployment.id,
        status: deployment.status.name().into(),
        reason,
    })
}

/// `create-taskset` may have created green and died before recording it; the task set carries
/// the deployment id as its external id, so it can still be found and removed.
async fn remove_unrecorded_green(
    deps: &Deps,
    deployment: &ferry_core::Deployment,
) -> Result<(), HandlerError> {
    let service = match deps
        .ecs
        .describe_service(&deployment.cluster, &deployment.service)
        .await
    {
        Ok(service) => service,
        Err(ferry_core::ports::PortError::NotFound(_)) => return Ok(()),
        Err(error) => return Err(HandlerError::from_port("describing the service", error)),
    };
    if let Some(orphan) = service
        .task_set_with_external_id(&deployment.id)
        .filter(|set| set.status != TaskSetStatus::Primary)
    {
        warn!(deployment = %deployment.id, task_set = %orphan.id, "removing a green task set that was never recorded");
        deps.ecs
            .delete_task_set(&deployment.cluster, &deployment.service, &orphan.id)
            .await
            .map_err(port("removing the unrecorded green task set"))?;
    }
    Ok(())
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
