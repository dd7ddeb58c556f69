//! Setting weights and proving they took effect.

use ferry_core::Deployment;
use ferry_core::deployment::Side;
use ferry_core::ports::{RouteRef, Split, TaskSetStatus};
use tracing::debug;

use crate::error::port;
use crate::record::{notify, save};
use crate::{Deps, HandlerError};

pub(crate) fn route(deployment: &Deployment) -> RouteRef {
    RouteRef {
        listener_arn: deployment.traffic.listener_arn.clone(),
        rule_arn: deployment.traffic.rule_arn.clone(),
    }
}

pub(crate) fn split(deployment: &Deployment, green_weight: u8) -> Split {
    Split {
        blue_target_group: deployment.blue_target_group.clone(),
        green_target_group: deployment.green_target_group.clone(),
        green_weight,
    }
}

/// Sets green to `green_weight` and reads the weights back until they match. An ALB applies
/// rule changes with a short delay; if they still differ after the configured reads, the
/// attempt is `Retryable` and the state machine tries again.
pub(crate) async fn apply(
    deps: &Deps,
    deployment: &Deployment,
    green_weight: u8,
) -> Result<(), HandlerError> {
    apply_on(
        deps,
        deployment,
        &route(deployment),
        green_weight,
        "listener",
    )
    .await
}

/// The test listener's route (`traffic.testListener`), when the manifest has one.
pub(crate) fn test_route(deployment: &Deployment) -> Option<RouteRef> {
    deployment
        .traffic
        .test_listener_arn
        .as_ref()
        .map(|listener| RouteRef {
            listener_arn: listener.clone(),
            rule_arn: None,
        })
}

/// Sends all of the test listener's traffic to `side`, verified like production's, and records
/// it (a `test-traffic` event, saved and told) when that changed where it points. Nothing to do
/// without a test listener.
pub(crate) async fn point_test_listener(
    deps: &Deps,
    deployment: &mut Deployment,
    side: Side,
) -> Result<(), HandlerError> {
    let Some(route) = test_route(deployment) else {
        return Ok(());
    };
    let green_weight = match side {
        Side::Green => 100,
        Side::Blue => 0,
    };
    apply_on(deps, deployment, &route, green_weight, "test listener").await?;
    if deployment.test_traffic != Some(side) {
        let event = deployment.test_traffic_to(deps.clock.now(), side);
        save(deps, deployment).await?;
        notify(deps, deployment, &event).await;
    }
    Ok(())
}

async fn apply_on(
    deps: &Deps,
    deployment: &Deployment,
    route: &RouteRef,
    green_weight: u8,
    what: &str,
) -> Result<(), HandlerError> {
    if green_weight > 0 {
        refuse_if_green_is_gone(deps, deployment).await?;
    }
    let route = route.clone();
    let wanted = split(deployment, green_weight);
    deps.traffic
        .set_weights(&route, &wanted)
        .await
        .map_err(|error| {
            HandlerError::from_port(&format!("setting the {what}'s weights"), error)
        })?;
    let mut last = Vec::new();
    for attempt in 0..deps.settings.verify_attempts.max(1) {
        if attempt > 0 {
            tokio::time::sleep(deps.settings.verify_delay).await;
        }
        last = deps.traffic.read_weights(&route).await.map_err(|error| {
            HandlerError::from_port(&format!("reading back the {what}'s weights"), error)
        })?;
        if wanted.matches(&last) {
            return Ok(());
        }
        debug!(deployment = %deployment.id, attempt, "weights not visible yet");
    }
    let seen: Vec<String> = last
        .iter()
        .map(|entry| format!("{}={}", entry.target_group_arn, entry.weight))
        .collect();
    Err(HandlerError::retryable(format!(
        "the {what}'s weights did not read back as {}% green (saw {})",
        green_weight,
        seen.join(", ")
    )))
}

/// Never send traffic to a task set that does not exist (any more): the share would be 503s.
async fn refuse_if_green_is_gone(deps: &Deps, deployment: &Deployment) -> Result<(), HandlerError> {
    let green = deployment.green.as_ref().ok_or_else(|| {
        HandlerError::non_retryable(format!(
            "deployment {} has no green task set to send traffic to",
            deployment.id
        ))
    })?;
    let found = deps
        .ecs
        .describe_task_set(&deployment.cluster, &deployment.service, &green.id)
        .await
        .map_err(port("describing the green task set"))?;
    match found {
        Some(set) if set.status != TaskSetStatus::Draining => Ok(()),
        _ => Err(HandlerError::non_retryable(format!(
            "green task set {} no longer exists; traffic was not moved to it",
            green.id
        ))),
    }
}
