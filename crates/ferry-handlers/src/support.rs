//! Small port implementations the handlers' hosts share.

use async_trait::async_trait;
use ferry_core::ports::{GitSource, Notification, Notifier, PortError, PortResult};
use tracing::info;

/// Notifications as structured log lines (until a Slack notifier is configured).
#[derive(Debug, Clone, Copy, Default)]
pub struct LogNotifier;

#[async_trait]
impl Notifier for LogNotifier {
    async fn notify(&self, notification: &Notification) -> PortResult<()> {
        info!(
            deployment = %notification.deployment_id,
            service = %notification.service_key,
            kind = ?notification.kind,
            "{}",
            notification.message
        );
        Ok(())
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
