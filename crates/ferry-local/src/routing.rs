//! Events on Ferry's bus, routed locally as EventBridge routes them in AWS: with the same rule
//! files ([`RuleFiles`]) and the same matcher semantics ([`EventPattern`]).
//!
//! A `push` that matches `github-push.json` starts the deploy workflow on the local engine once
//! for every manifest the push touches. That is the exact half of the relevance decision (the
//! webhook made the cheap half): a manifest `.ferry/<name>.yaml` at the pushed commit is
//! touched when the push changed the manifest itself or its task definition, or when the push's
//! paths are unknown; a manifest that does not parse counts as touched, so its deployment fails
//! with the located error instead of being skipped in silence. Executions are named with
//! [`deployment_execution_name`], as in AWS, so a commit seen twice (webhook and poller, or a
//! redelivery) deploys once.
//!
//! GitHub names repositories `owner/name`; the local Git source reads folders, so each
//! repository is mapped to a folder (`FERRY_LOCAL_REPOSITORIES=owner/name=/path,...`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use ferry_core::manifest;
use ferry_core::ports::{BusEvent, EventPublisher, PortError, PortResult};
use ferry_core::trigger::{PushDetail, deployment_execution_name};
use ferry_engine::{EngineError, Execution};
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

/// What routing one event did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Routed {
    /// Execution names started.
    pub started: Vec<String>,
    /// Execution names that already existed (the commit was deployed before).
    pub already_started: Vec<String>,
    /// Manifests left alone because the push did not touch them.
    pub untouched: Vec<String>,
}

/// Publishes to `inner` (the emulator's bus, when there is one) and routes locally.
pub struct LocalRouter {
    runtime: Arc<LocalRuntime>,
    repositories: BTreeMap<String, PathBuf>,
    inner: Option<Arc<dyn EventPublisher>>,
    push_rule: EventPattern,
    pull_request_rule: EventPattern,
    executions: Mutex<Vec<Execution>>,
}

impl LocalRouter {
    /// Routes with `runtime`, whose Git source must resolve the names of `repositories`
    /// (`LocalRepository::commits().with_folders(repositories.clone())`).
    pub fn new(
        runtime: Arc<LocalRuntime>,
        repositories: BTreeMap<String, PathBuf>,
        inner: Option<Arc<dyn EventPublisher>>,
    ) -> Result<Self, crate::pattern::PatternError> {
        Ok(Self {
            runtime,
            repositories,
            inner,
            push_rule: EventPattern::parse(RuleFiles::GITHUB_PUSH)?,
            pull_request_rule: EventPattern::parse(RuleFiles::GITHUB_PULL_REQUEST)?,
            executions: Mutex::new(Vec::new()),
        })
    }

    /// Deploy executions started so far (taken: each is returned once), to wait on.
    pub fn take_started(&self) -> Vec<Execution> {
        std::mem::take(&mut *self.executions.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Routes one event (without publishing it anywhere).
    pub async fn route(&self, event: &BusEvent) -> PortResult<Routed> {
        let envelope = envelope(event, "local", "000000000000");
        if self.push_rule.matches(&envelope) {
            let push: PushDetail =
                serde_json::from_value(event.detail.clone()).map_err(|error| {
                    PortError::Invalid(format!("the push event's detail is not a push: {error}"))
                })?;
            let author = event
                .detail
                .get("author")
                .and_then(Value::as_str)
                .map(str::to_string)
                .or_else(|| push.pusher.clone());
            return self.deploy_touched(&push, author).await;
        }
        if self.pull_request_rule.matches(&envelope) {
            info!(
                repository = ?event.detail.get("repository"),
                number = ?event.detail.get("number"),
                "pull request event matched github-pull-request.json; the plan workflow does not run locally"
            );
        }
        Ok(Routed::default())
    }

    async fn deploy_touched(
        &self,
        push: &PushDetail,
        author: Option<String>,
    ) -> PortResult<Routed> {
        if !self
            .repositories
            .contains_key(&push.repository.to_ascii_lowercase())
        {
            return Err(PortError::NotFound(format!(
                "a local folder for {} (map it with FERRY_LOCAL_REPOSITORIES={}=/path/to/checkout)",
                push.repository, push.repository
            )));
        }
        // The runtime's Git source resolves the GitHub name to its folder
        // (`LocalRepository::with_folders`), so deployments record `owner/name` as in AWS.
        let repository = push.repository.as_str();
        let git = &self.runtime.deps.git;
        let mut routed = Routed::default();
        let names = git.list_dir(repository, &push.after, ".ferry").await?;
        for name in names
            .iter()
            .filter(|name| name.ends_with(".yaml") || name.ends_with(".yml"))
        {
            let manifest_path = format!(".ferry/{name}");
            let touched = match &push.changed_paths {
                None => true,
                Some(paths) if paths.contains(&manifest_path) => true,
                Some(paths) => {
                    match git
                        .read_file(repository, &push.after, &manifest_path)
                        .await?
                    {
                        Some(text) => match manifest::parse_manifest(&manifest_path, &text) {
                            Ok(draft) => paths.contains(&draft.task_definition_path),
                            Err(_) => true,
                        },
                        None => false,
                    }
                }
            };
            if !touched {
                routed.untouched.push(manifest_path);
                continue;
            }
            let execution_name =
                deployment_execution_name(&push.repository, &push.after, &manifest_path);
            let input = json!({
                "repository": repository,
                "commit": push.after,
                "manifestPath": manifest_path,
                "branch": push.branch,
                "author": author,
            });
            match self.runtime.start_deploy(&execution_name, input) {
                Ok(execution) => {
                    info!(execution = %execution_name, manifest = %manifest_path, commit = %push.after, "push starts a deployment");
                    self.executions
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(execution);
                    routed.started.push(execution_name);
                }
                Err(EngineError::ExecutionAlreadyExists { .. }) => {
                    info!(execution = %execution_name, "already started for this commit");
                    routed.already_started.push(execution_name);
                }
                Err(error) => return Err(PortError::Invalid(error.to_string())),
            }
        }
        Ok(routed)
    }
}

#[async_trait]
impl EventPublisher for LocalRouter {
    async fn publish(&self, event: &BusEvent) -> PortResult<()> {
        if let Some(inner) = &self.inner {
            inner.publish(event).await?;
        }
        match self.route(event).await {
            Ok(routed) => {
                info!(
                    started = routed.started.len(),
                    untouched = routed.untouched.len(),
                    "routed"
                );
                Ok(())
            }
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
