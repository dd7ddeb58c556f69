//! `shift-weights`: apply one step of the plan, verified, and remember it.

use ferry_core::DeploymentStatus;
use ferry_core::deployment::FenceAction;
use serde::{Deserialize, Serialize};
use tracing::info;

use crate::record::{load, notify, save};
use crate::{Deps, HandlerError, fence, traffic};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShiftInput {
    pub deployment_id: String,
    /// The plan step to apply. Ignored when `weight` is given.
    #[serde(default)]
    pub step: usize,
    /// A manual traffic position (the traffic workflow's presets and promote), allowed only
    /// while the deployment holds (a preset below 100) or bakes its last step.
    #[serde(default)]
    pub weight: Option<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShiftOutput {
    pub deployment_id: String,
    pub step: usize,
    pub weight: u8,
    pub bake_seconds: u64,
    pub last_step: bool,
}

pub async fn handle(deps: &Deps, input: ShiftInput) -> Result<ShiftOutput, HandlerError> {
    let mut deployment = load(deps, &input.deployment_id).await?;
    let promoted = deployment.status == DeploymentStatus::Finalizing && input.weight.is_none();
    if !deployment.status.moves_forward() || promoted {
        return Err(HandlerError::non_retryable(format!(
            "deployment {} is {}; traffic is not moved any more",
            deployment.id,
            deployment.status.name()
        )));
    }
    if deployment.green.is_none() {
        return Err(HandlerError::non_retryable(format!(
            "deployment {} has no green task set to send traffic to",
            deployment.id
        )));
    }
    if let Some(weight) = input.weight {
        return move_to(deps, deployment, weight).await;
    }
    let step = *deployment.plan.steps.get(input.step).ok_or_else(|| {
        HandlerError::non_retryable(format!(
            "deployment {} has no step {}",
            deployment.id, input.step
        ))
    })?;
    let output = ShiftOutput {
        deployment_id: deployment.id.clone(),
        step: input.step,
        weight: step.weight,
        bake_seconds: step.bake_seconds,
        last_step: input.step + 1 == deployment.plan.steps.len(),
    };
    // Already applied by an earlier attempt or a later step: never move traffic backwards.
    if deployment
        .applied_step
        .is_some_and(|applied| applied >= input.step)
    {
        return Ok(output);
    }

    fence::raise(
        deps,
        &mut deployment,
        FenceAction::Traffic {
            green_weight: step.weight,
        },
    )
    .await?;
    traffic::apply(deps, &deployment, step.weight).await?;

    let event = deployment.shifted(deps.clock.now(), input.step, step.weight);
    save(deps, &mut deployment).await?;
    info!(deployment = %deployment.id, step = input.step, weight = step.weight, "shifted");
    notify(deps, &deployment, &event).await;
    Ok(output)
}

/// A manual position: only for a deployment that is holding, so it never races the plan.
async fn move_to(
    deps: &Deps,
    mut deployment: ferry_core::Deployment,
    weight: u8,
) -> Result<ShiftOutput, HandlerError> {
    // A promote retried after green was made primary finds everything done.
    if deployment.status == DeploymentStatus::Finalizing && weight == deployment.green_weight {
        let step = deployment.applied_step.unwrap_or(0);
        return Ok(ShiftOutput {
            deployment_id: deployment.id.clone(),
            step,
            weight,
            bake_seconds: 0,
            last_step: true,
        });
    }
    let DeploymentStatus::Holding { step } = deployment.status else {
        return Err(HandlerError::non_retryable(format!(
            "deployment {} is {}; traffic can be moved by hand only while it holds at a preset",
            deployment.id,
            deployment.status.name()
        )));
    };
    if weight > 100 {
        return Err(HandlerError::non_retryable(format!(
            "weight must be 0 to 100, found {weight}"
        )));
    }
    let output = ShiftOutput {
        deployment_id: deployment.id.clone(),
        step,
        weight,
        bake_seconds: 0,
        last_step: true,
    };
    if deployment.green_weight == weight {
        return Ok(output);
    }
    fence::raise(
        deps,
        &mut deployment,
        FenceAction::Traffic {
            green_weight: weight,
        },
    )
    .await?;
    traffic::apply(deps, &deployment, weight).await?;
    deployment.moved(deps.clock.now(), weight);
    save(deps, &mut deployment).await?;
    info!(deployment = %deployment.id, weight, "moved by hand");
    Ok(output)
}
