//! `wait-stable`: is green stable yet? The state machine polls this in a bounded loop.

use serde::{Deserialize, Serialize};
use tracing::info;

use ferry_core::Deployment;
use ferry_core::deployment::{FenceAction, Side};

use crate::error::port;
use crate::record::{load, save};
use crate::{DeploymentRef, Deps, ErrorKind, HandlerError, fence, traffic};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WaitStableOutput {
    pub deployment_id: String,
    pub stable: bool,
    pub running: i32,
    pub desired: i32,
    /// Seconds since green was created.
    pub waited_seconds: i64,
}

pub async fn handle(deps: &Deps, input: DeploymentRef) -> Result<WaitStableOutput, HandlerError> {
    let mut deployment = load(deps, &input.deployment_id).await?;
    crate::fence::refuse_unless_moving_forward(&deployment)?;
    let green = deployment.green.clone().ok_or_else(|| {
        HandlerError::non_retryable(format!(
            "deployment {} has no green task set yet",
            deployment.id
        ))
    })?;
    let task_set = deps
        .ecs
        .describe_task_set(&deployment.cluster, &deployment.service, &green.id)
        .await
        .map_err(port("describing the green task set"))?
        .ok_or_else(|| {
            HandlerError::non_retryable(format!("green task set {} no longer exists", green.id))
        })?;

    let created_at = deployment.green_created_at();
    let now = deps.clock.now();
    let waited_seconds = (now - created_at).whole_seconds();
    // STEADY_STATE alone is not enough on a task set that has just been created: ECS may not
    // have computed its desired count yet. Running must also have caught up.
    let stable = task_set.steady && task_set.running_count >= task_set.computed_desired_count;
    if stable {
        if deployment
            .green_stable(now, task_set.running_count, task_set.computed_desired_count)
            .is_some()
        {
            save(deps, &mut deployment).await?;
        }
        info!(deployment = %deployment.id, waited_seconds, "green is stable");
        test_traffic_to_green(deps, &mut deployment).await?;
    } else if waited_seconds as u64 > deps.settings.stabilization_timeout_seconds {
        return Err(HandlerError::new(
            ErrorKind::StabilizationTimeout,
            format!(
                "green task set {} is not stable after {waited_seconds}s ({} of {} tasks running); check the service events and the tasks' stopped reasons",
                green.id, task_set.running_count, task_set.computed_desired_count
            ),
        ));
    }
    Ok(WaitStableOutput {
        deployment_id: deployment.id,
        stable,
        running: task_set.running_count,
        desired: task_set.computed_desired_count,
        waited_seconds,
    })
}

/// Once green is stable, the test listener (`traffic.testListener`) sends it everything, before
/// any production traffic moves or an approval waits: people and checks try green on the test
/// port while production stays on blue (CodeDeploy's reroute wait). Fenced like a shift, so a
/// rollback that begins meanwhile finds the test listener on blue again before green goes.
async fn test_traffic_to_green(
    deps: &Deps,
    deployment: &mut Deployment,
) -> Result<(), HandlerError> {
    if deployment.traffic.test_listener_arn.is_none()
        || deployment.test_traffic == Some(Side::Green)
    {
        return Ok(());
    }
    fence::raise(deps, deployment, FenceAction::TestTraffic).await?;
    traffic::point_test_listener(deps, deployment, Side::Green).await?;
    info!(deployment = %deployment.id, "test listener on green");
    Ok(())
}
