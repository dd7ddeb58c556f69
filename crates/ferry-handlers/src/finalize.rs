//! `finalize`: green becomes primary; blue is kept warm for `keepOldFor`, then removed.
//!
//! Two phases, called by the state machine with a Wait between them so that a rollback in the
//! keep-warm window only has to move traffic back:
//! `promote` (green primary, status Finalizing) and `cleanup` (blue removed, lock released,
//! status Succeeded).

use ferry_core::DeploymentStatus;
use ferry_core::deployment::{Deployment, Side};
use ferry_core::ports::TaskSetStatus;
use serde::{Deserialize, Serialize};
use tracing::info;

use crate::error::port;
use crate::record::{load, notify, release_lock, save};
use crate::{Deps, HandlerError, traffic};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Phase {
    Promote,
    Cleanup,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FinalizeInput {
    pub deployment_id: String,
    pub phase: Phase,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FinalizeOutput {
    pub deployment_id: String,
    pub status: String,
    pub keep_old_for_seconds: u64,
}

pub async fn handle(deps: &Deps, input: FinalizeInput) -> Result<FinalizeOutput, HandlerError> {
    let mut deployment = load(deps, &input.deployment_id).await?;
    let output = |deployment: &ferry_core::Deployment| FinalizeOutput {
        deployment_id: deployment.id.clone(),
        status: deployment.status.name().to_string(),
        keep_old_for_seconds: deployment.policy.keep_old_for_seconds,
    };
    if deployment.status == DeploymentStatus::Succeeded {
        return Ok(output(&deployment));
    }
    let allowed = match input.phase {
        Phase::Promote => deployment.status.moves_forward() && !deployment.cleanup_started,
        Phase::Cleanup => matches!(
            deployment.status,
            DeploymentStatus::Finalizing | DeploymentStatus::CleaningUp
        ),
    };
    if !allowed {
        return Err(HandlerError::non_retryable(format!(
            "deployment {} is {}; it cannot be finalized ({:?})",
            deployment.id,
            deployment.status.name(),
            input.phase
        )));
    }
    let green = deployment.green.clone().ok_or_else(|| {
        HandlerError::non_retryable(format!(
            "deployment {} has no green task set",
            deployment.id
        ))
    })?;
    if deployment.green_weight != 100 {
        return Err(HandlerError::non_retryable(format!(
            "deployment {} sends {}% to green; only a deployment at 100% can be finalized",
            deployment.id, deployment.green_weight
        )));
    }
    let now = deps.clock.now();
    match input.phase {
        Phase::Promote => {
            let current = deps
                .ecs
                .describe_task_set(&deployment.cluster, &deployment.service, &green.id)
                .await
                .map_err(port("describing the green task set"))?;
            if current.as_ref().map(|set| set.status) != Some(TaskSetStatus::Primary) {
                deps.ecs
                    .set_primary_task_set(&deployment.cluster, &deployment.service, &green.id)
                    .await
                    .map_err(port("making green the primary task set"))?;
            }
            if deployment.status != DeploymentStatus::Finalizing {
                deployment.promoted(now);
                save(deps, &mut deployment).await?;
            }
            info!(deployment = %deployment.id, "green is primary");
        }
        Phase::Cleanup => {
            // From here on the deployment only rolls forward: a failure below must never send
            // traffic back to a blue that may be half gone.
            if !deployment.cleanup_started {
                deployment.cleanup_started(now);
                save(deps, &mut deployment).await?;
            }
            finish_blue_removal(deps, &mut deployment).await?;
        }
    }
    Ok(output(&deployment))
}

/// Removes blue (again: deleting a task set that is gone is fine), releases the lock and
/// records success. The end of `cleanup`, and of a rollback that found blue's removal begun.
pub(crate) async fn finish_blue_removal(
    deps: &Deps,
    deployment: &mut Deployment,
) -> Result<(), HandlerError> {
    // The test listener follows production to green before blue goes.
    traffic::point_test_listener(deps, deployment, Side::Green).await?;
    if let Some(blue) = &deployment.blue {
        deps.ecs
            .delete_task_set(&deployment.cluster, &deployment.service, &blue.id)
            .await
            .map_err(port("removing the blue task set"))?;
    }
    release_lock(deps, deployment).await?;
    let event = deployment.succeeded(deps.clock.now());
    save(deps, deployment).await?;
    info!(deployment = %deployment.id, "succeeded");
    notify(deps, deployment, &event).await;
    Ok(())
}
