//! Loading and saving the deployment record, shared by the handlers.

use ferry_core::Deployment;
use ferry_core::ports::{Notification, NotificationKind};
use tracing::warn;

use crate::error::port;
use crate::{Deps, HandlerError};

/// The record, or `NonRetryable` when it does not exist.
pub(crate) async fn load(deps: &Deps, deployment_id: &str) -> Result<Deployment, HandlerError> {
    deps.store
        .get(deployment_id)
        .await
        .map_err(port("reading the deployment record"))?
        .ok_or_else(|| {
            HandlerError::non_retryable(format!("deployment {deployment_id} does not exist"))
        })
}

/// Writes the record; a lost optimistic write is `Retryable` (the retry re-reads).
pub(crate) async fn save(deps: &Deps, deployment: &mut Deployment) -> Result<(), HandlerError> {
    deps.store
        .update(deployment)
        .await
        .map_err(port("saving the deployment record"))
}

/// Best effort: a notification that cannot be sent must not fail a deployment.
pub(crate) async fn notify(
    deps: &Deps,
    deployment: &Deployment,
    kind: NotificationKind,
    message: String,
) {
    let notification = Notification {
        deployment_id: deployment.id.clone(),
        service_key: deployment.service_key(),
        kind,
        message,
        channel: deployment.policy.slack_channel.clone(),
    };
    if let Err(error) = deps.notifier.notify(&notification).await {
        warn!(deployment = %deployment.id, %error, "notification not sent");
    }
}
