//! Events on Ferry's bus, routed locally as EventBridge routes them in AWS: with the same rule
//! files ([`RuleFiles`]) and the same matcher semantics ([`EventPattern`]).
//!
//! A `push` that matches `github-push.json` goes to the `push-deploy` handler, as the rule's
//! target in AWS: each service whose manifest the push touches gets the commit as its desired
//! state, deployed on the local engine now or when the service's running deployment ends
//! ([`ferry_handlers::push_deploy`], [`crate::LocalRuntime::converge`]), so a commit seen twice
//! deploys once and the latest push wins.
//!
//! GitHub names repositories `owner/name`; the local Git source reads folders, so each
//! repository is mapped to a folder (`FERRY_LOCAL_REPOSITORIES=owner/name=/path,...`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use ferry_core::ports::{BusEvent, EventPublisher, PortError, PortResult};
use ferry_engine::Execution;
use ferry_handlers::push_deploy::{self, PushInput, PushOutput};
use serde_json::{Value, json};
use tracing::{info, warn};

use crate::pattern::{EventPattern, RuleFiles};
use crate::runtime::LocalRuntime;

/// `FERRY_LOCAL_REPOSITORIES`: `owner/name=/path` pairs, comma-separated.
pub fn parse_repository_map(value: &str) -> Result<BTreeMap<String, PathBuf>, String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, path) = pair.split_once('=').ok_or_else(|| {
                format!("`{pair}` is not owner/name=/path (FERRY_LOCAL_REPOSITORIES)")
            })?;
            let name = name.trim();
            if !name.contains('/') || path.trim().is_empty() {
                return Err(format!(
                    "`{pair}` is not owner/name=/path (FERRY_LOCAL_REPOSITORIES)"
                ));
            }
            Ok((name.to_ascii_lowercase(), PathBuf::from(path.trim())))
        })
        .collect()
}

/// The EventBridge envelope of a bus event, as rules see it.
pub fn envelope(event: &BusEvent, region: &str, account: &str) -> Value {
    json!({
        "version": "0",
        "id": uuid::Uuid::new_v4().to_string(),
        "detail-type": event.detail_type,
        "source": event.source,
        "account": account,
        "time": time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        "region": region,
        "resources": [],
        "detail": event.detail,
    })
}

/// Publishes to `inner` (the emulator's bus, when there is one) and routes locally.
pub struct LocalRouter {
    runtime: Arc<LocalRuntime>,
    inner: Option<Arc<dyn EventPublisher>>,
    push_rule: EventPattern,
    pull_request_rule: EventPattern,
}

impl LocalRouter {
    /// Routes with `runtime`, whose Git source resolves GitHub names to folders
    /// (`LocalRepository::commits().with_folders(...)`).
    pub fn new(
        runtime: Arc<LocalRuntime>,
        inner: Option<Arc<dyn EventPublisher>>,
    ) -> Result<Self, crate::pattern::PatternError> {
        Ok(Self {
            runtime,
            inner,
            push_rule: EventPattern::parse(RuleFiles::GITHUB_PUSH)?,
            pull_request_rule: EventPattern::parse(RuleFiles::GITHUB_PULL_REQUEST)?,
        })
    }

    /// Deploy executions started so far (taken: each is returned once), to wait on.
    pub fn take_started(&self) -> Vec<Execution> {
        self.runtime.workflows.take_started()
    }

    /// Routes one event (without publishing it anywhere). What a push did is returned; other
    /// events give `None`.
    pub async fn route(&self, event: &BusEvent) -> PortResult<Option<PushOutput>> {
        let envelope = envelope(event, "local", "000000000000");
        if self.push_rule.matches(&envelope) {
            let push: PushInput =
                serde_json::from_value(event.detail.clone()).map_err(|error| {
                    PortError::Invalid(format!("the push event's detail is not a push: {error}"))
                })?;
            // The runtime's Git source resolves the GitHub name to its folder (and says how to
            // map an unknown one), so deployments record `owner/name` as in AWS.
            return push_deploy::handle(&self.runtime.deps, push)
                .await
                .map(Some)
                .map_err(|error| PortError::Invalid(error.message));
        }
        if self.pull_request_rule.matches(&envelope) {
            info!(
                repository = ?event.detail.get("repository"),
                number = ?event.detail.get("number"),
                "pull request event matched github-pull-request.json; the plan workflow does not run locally"
            );
        }
        Ok(None)
    }
}

#[async_trait]
impl EventPublisher for LocalRouter {
    async fn publish(&self, event: &BusEvent) -> PortResult<()> {
        if let Some(inner) = &self.inner {
            inner.publish(event).await?;
        }
        match self.route(event).await {
            Ok(Some(pushed)) => {
                info!(
                    started = pushed.started.len(),
                    already_started = pushed.already_started.len(),
                    skipped = pushed.skipped.len(),
                    "push routed to push-deploy"
                );
                Ok(())
            }
            Ok(None) => Ok(()),
            // The event is on the bus; a routing problem is the local runtime's, not GitHub's.
            Err(error) => {
                warn!(%error, "could not route the event locally");
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_maps_read_owner_name_equals_path_pairs() {
        let map = parse_repository_map("acme/shop=/tmp/shop, Acme/API = /srv/api").unwrap();
        assert_eq!(map["acme/shop"], PathBuf::from("/tmp/shop"));
        assert_eq!(map["acme/api"], PathBuf::from("/srv/api"));
        assert!(parse_repository_map("shop=/tmp/shop").is_err());
        assert!(parse_repository_map("acme/shop").is_err());
    }
}
