//! Loading and saving the deployment record, shared by the handlers.

use ferry_core::Deployment;
use ferry_core::lifecycle::Event;
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

/// Frees the service for the next deployment (a no-op unless `deployment` holds the lock).
pub(crate) async fn release_lock(deps: &Deps, deployment: &Deployment) -> Result<(), HandlerError> {
    deps.store
        .release_lock(&deployment.service_key(), &deployment.id)
        .await
        .map_err(port("releasing the service lock"))
}

/// Best effort: a notification that cannot be sent must not fail a deployment.
pub(crate) async fn notify(deps: &Deps, deployment: &Deployment, event: &Event) {
    if let Err(error) = deps.notifier.notify(deployment, event).await {
        warn!(deployment = %deployment.id, %error, "notification not sent");
    }
}
