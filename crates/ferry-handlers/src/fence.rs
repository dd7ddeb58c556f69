//! Fencing changes to ECS and the load balancer against a concurrent rollback.
//!
//! A handler that is about to create green or move traffic first writes its intent on the
//! record ([`raise`]), conditionally on the record's version and only while the deployment may
//! still move forward. A rollback that began earlier makes that write fail, so the change is
//! never made; a rollback that begins later sees the fence and, before it removes green, waits
//! until the writer has certainly finished or died ([`settle`]), then looks again.

use ferry_core::Deployment;
use ferry_core::deployment::{Fence, FenceAction};
use tracing::info;

use crate::record::save;
use crate::{Deps, HandlerError};

/// Writes `action` as the deployment's fence. `NonRetryable` when the deployment no longer
/// moves forward (rolling back, ended); `Retryable` when someone else wrote first (the retry
/// re-reads and decides again).
pub(crate) async fn raise(
    deps: &Deps,
    deployment: &mut Deployment,
    action: FenceAction,
) -> Result<(), HandlerError> {
    refuse_unless_moving_forward(deployment)?;
    deployment.fence = Some(Fence {
        action,
        since: deps.clock.now(),
    });
    save(deps, deployment).await
}

/// `NonRetryable` for a deployment that is rolling back, cleaning up or has ended.
pub(crate) fn refuse_unless_moving_forward(deployment: &Deployment) -> Result<(), HandlerError> {
    if deployment.status.moves_forward() {
        return Ok(());
    }
    Err(HandlerError::non_retryable(format!(
        "deployment {} is {}; it no longer moves forward",
        deployment.id,
        deployment.status.name()
    )))
}

/// Waits until a fence another handler raised can no longer hide a change in flight: its
/// writer has finished or its Lambda has timed out (the lease outlasts the timeout of every
/// handler that raises a fence). Returns whether there was a fence to wait for.
pub(crate) async fn settle(deps: &Deps, deployment: &Deployment) -> bool {
    let Some(fence) = deployment.fence else {
        return false;
    };
    let lease = time::Duration::try_from(deps.settings.fence_lease).unwrap_or(time::Duration::ZERO);
    let remaining = (fence.since + lease) - deps.clock.now();
    if remaining.is_positive() {
        info!(deployment = %deployment.id, fence = ?fence.action, wait_ms = remaining.whole_milliseconds() as u64, "waiting for an in-flight change to settle");
        tokio::time::sleep(remaining.unsigned_abs()).await;
    }
    true
}
