//! [`GithubEvidence`]: what a deployment did, where GitHub shows it, so that a commit that was
//! rolled back never looks green.
//!
//! - A **GitHub Deployment** per Ferry deployment (environment `cluster/service`, the commit as
//!   its ref), with statuses `in_progress` (planned), `success` (succeeded: GitHub marks the
//!   environment's earlier deployments `inactive`), `failure` (rolled back, or failed). The
//!   repository's *Environments* page then shows what runs where.
//! - The commit status **`ferry/deploy`**: `pending`, then `success` or `failure`.
//!
//! Stateless: the GitHub deployment is found again by the Ferry deployment id in its payload
//! (`GET /repos/{repo}/deployments?sha=…&environment=…`), so a retried handler never makes a
//! second one. Only repositories named `owner/name` are GitHub's (local folders are not).

use async_trait::async_trait;
use ferry_core::deployment::{Deployment, short_commit};
use ferry_core::lifecycle::Event;
use ferry_core::ports::{CommitState, CommitStatus, Notifier, PortResult, PullRequests};
use ferry_core::text::cut;
use http::Method;
use serde::Deserialize;
use serde_json::json;

use crate::api::{GitHub, JSON, encode, failure};
use crate::pulls::{GithubPullRequests, MAX_DESCRIPTION_CHARS};

/// The commit status context Ferry sets on deployed commits.
pub const DEPLOY_CONTEXT: &str = "ferry/deploy";

#[derive(Clone)]
pub struct GithubEvidence {
    api: GitHub,
}

#[derive(Deserialize)]
struct GithubDeployment {
    id: u64,
    #[serde(default)]
    payload: serde_json::Value,
}

/// What an event says on GitHub: the deployment status and the commit status.
fn states(event: &Event) -> Option<(&'static str, CommitState)> {
    Some(match event {
        Event::Planned { .. } => ("in_progress", CommitState::Pending),
        Event::Succeeded { .. } | Event::RolledForward { .. } => ("success", CommitState::Success),
        Event::RolledBack { .. } | Event::Failed { .. } => ("failure", CommitState::Failure),
        _ => return None,
    })
}

impl GithubEvidence {
    pub fn new(api: GitHub) -> Self {
        Self { api }
    }

    /// Whether GitHub shows `event` of `deployment`: an event that changes its status, of a
    /// repository named `owner/name` (a local folder is not GitHub's).
    pub fn shows(deployment: &Deployment, event: &Event) -> bool {
        states(event).is_some()
            && crate::api::checked_repository(&deployment.source.repository).is_ok()
    }

    /// The GitHub deployment of `deployment`, made when it has none yet.
    async fn github_deployment(&self, deployment: &Deployment) -> PortResult<u64> {
        let repository = &deployment.source.repository;
        let environment = deployment.service_key();
        let list = format!(
            "/repos/{repository}/deployments?sha={}&environment={}&per_page=100",
            encode(&deployment.source.commit, false),
            encode(&environment, false)
        );
        let subject = format!("deployments of {repository} to {environment}");
        let reply = self
            .api
            .send(Method::GET, repository, &list, JSON, None, None)
            .await?;
        if !reply.status.is_success() {
            return Err(failure(&reply, &subject));
        }
        let existing: Vec<GithubDeployment> = reply.json(&subject)?;
        if let Some(found) = existing
            .iter()
            .find(|found| found.payload["ferryDeploymentId"] == deployment.id.as_str())
        {
            return Ok(found.id);
        }
        let body = json!({
            "ref": deployment.source.commit,
            "environment": environment,
            "description": format!("Ferry {}", deployment.id),
            "auto_merge": false,
            // Ferry deploys what was pushed; the commit's checks are not its gate.
            "required_contexts": [],
            "payload": {"ferryDeploymentId": deployment.id},
            "production_environment": true,
        });
        let create = format!("/repos/{repository}/deployments");
        let reply = self
            .api
            .send(Method::POST, repository, &create, JSON, None, Some(&body))
            .await?;
        if !reply.status.is_success() {
            return Err(failure(&reply, &subject));
        }
        let created: GithubDeployment = reply.json(&subject)?;
        Ok(created.id)
    }
}

#[async_trait]
impl Notifier for GithubEvidence {
    async fn notify(&self, deployment: &Deployment, event: &Event) -> PortResult<()> {
        let Some((state, commit_state)) = states(event).filter(|_| Self::shows(deployment, event))
        else {
            return Ok(());
        };
        let repository = &deployment.source.repository;
        let description = match event {
            Event::RolledBack { reason } | Event::Failed { error: reason } => {
                format!("{}: {reason}", event.name())
            }
            _ => format!("{} {}", event.name(), deployment.service_key()),
        };
        let id = self.github_deployment(deployment).await?;
        let status = format!("/repos/{repository}/deployments/{id}/statuses");
        let body = json!({
            "state": state,
            "description": cut(&description, MAX_DESCRIPTION_CHARS),
            "environment": deployment.service_key(),
            "auto_inactive": true,
        });
        let reply = self
            .api
            .send(Method::POST, repository, &status, JSON, None, Some(&body))
            .await?;
        if !reply.status.is_success() {
            return Err(failure(&reply, &format!("status of deployment {id}")));
        }
        GithubPullRequests::new(self.api.clone())
            .set_status(
                repository,
                &deployment.source.commit,
                &CommitStatus {
                    context: DEPLOY_CONTEXT.into(),
                    state: commit_state,
                    description: format!(
                        "{} {} of {}",
                        short_commit(&deployment.source.commit),
                        event.name(),
                        deployment.service_key()
                    ),
                    target_url: None,
                },
            )
            .await
    }
}
