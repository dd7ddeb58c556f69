//! Small port implementations the handlers' hosts share.

use async_trait::async_trait;
use ferry_core::Deployment;
use ferry_core::lifecycle::Event;
use ferry_core::ports::{GitSource, Notifier, PortError, PortResult};
use tracing::info;

/// Notifications as structured log lines (always, beside Slack and GitHub when configured).
#[derive(Debug, Clone, Copy, Default)]
pub struct LogNotifier;

#[async_trait]
impl Notifier for LogNotifier {
    async fn notify(&self, deployment: &Deployment, event: &Event) -> PortResult<()> {
        info!(
            deployment = %deployment.id,
            service = %deployment.service_key(),
            event = event.name(),
            "{}",
            event.describe(deployment)
        );
        Ok(())
    }
}

/// Tells several notifiers (the log or the terminal, Slack, GitHub) the same thing; one failing
/// does not keep the others from hearing it.
pub struct Notifiers(pub Vec<std::sync::Arc<dyn Notifier>>);

#[async_trait]
impl Notifier for Notifiers {
    async fn notify(&self, deployment: &Deployment, event: &Event) -> PortResult<()> {
        let mut failure = None;
        for notifier in &self.0 {
            if let Err(error) = notifier.notify(deployment, event).await {
                failure = Some(error);
            }
        }
        failure.map_or(Ok(()), Err)
    }
}

/// For functions that never read Git: a clear error if one ever tries.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoGitSource;

#[async_trait]
impl GitSource for NoGitSource {
    async fn read_file(
        &self,
        repository: &str,
        commit: &str,
        path: &str,
    ) -> PortResult<Option<String>> {
        Err(PortError::Invalid(format!(
            "no Git source is configured in this function; cannot read {path} of {repository} at {commit}"
        )))
    }
}
