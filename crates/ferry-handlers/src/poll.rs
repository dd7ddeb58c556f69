//! `poller`: the pull model, for repositories that cannot send webhooks to Ferry.
//!
//! Run on a schedule, it asks where each tracked branch points with a conditional request (the
//! ETag of the last answer; GitHub answers 304 Not Modified without counting it against the rate
//! limit) and, when a branch moved, puts the same `push` event on the bus that `webhook-intake`
//! would ([`PushDetail`] plus `commit`, `seenBy: poller`). The last seen head and its ETag are
//! remembered per branch ([`PollState`](ferry_core::ports::PollState)).
//!
//! - A branch seen for the first time is only remembered: enabling the poller deploys nothing.
//! - The event is published before the new head is remembered, so a crash in between publishes
//!   it again next time rather than never; that and a webhook seeing the same commit are both
//!   harmless, because the deploy execution for a commit is named
//!   [`deployment_execution_name`](ferry_core::trigger::deployment_execution_name) whoever saw it.
//! - One branch failing (rate limited, no access) does not stop the others.

use ferry_core::ports::{BranchHead, BusEvent, PollMark};
use ferry_core::trigger::{EVENT_SOURCE, PUSH, PushDetail};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tracing::{info, warn};

use crate::{Deps, GithubDeps, HandlerError};

/// What to poll. A scheduled event's other fields are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PollInput {
    /// `owner/name@branch` entries; empty means the configured ones (`FERRY_POLL_REPOSITORIES`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tracked: Vec<String>,
}

/// What happened to one branch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PollOutcome {
    /// 304: the branch did not move.
    Unchanged,
    /// First time seen: remembered, nothing published.
    FirstSeen,
    /// Moved: a push event was published.
    Moved,
    /// Answered 200 with the head already seen (only the ETag changed).
    Same,
    /// No such branch or repository.
    Missing,
    /// The host could not be asked; see `message`.
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BranchPoll {
    pub repository: String,
    pub branch: String,
    pub outcome: PollOutcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PollOutput {
    pub branches: Vec<BranchPoll>,
    pub published: usize,
}

/// `owner/name@branch` into its parts.
pub fn parse_tracked(entry: &str) -> Result<(String, String), String> {
    let entry = entry.trim();
    match entry.rsplit_once('@') {
        Some((repository, branch))
            if repository.split('/').count() == 2
                && !repository.starts_with('/')
                && !repository.ends_with('/')
                && !branch.is_empty() =>
        {
            Ok((repository.to_string(), branch.to_string()))
        }
        _ => Err(format!(
            "`{entry}` is not owner/name@branch (e.g. acme/shop@main)"
        )),
    }
}

/// `FERRY_POLL_REPOSITORIES`: comma- or whitespace-separated `owner/name@branch` entries.
pub fn parse_tracked_list(text: &str) -> Result<Vec<String>, String> {
    text.split([',', ' ', '\n', '\t'])
        .filter(|entry| !entry.trim().is_empty())
        .map(|entry| parse_tracked(entry).map(|_| entry.trim().to_string()))
        .collect()
}

pub async fn handle(
    deps: &Deps,
    github: &GithubDeps,
    input: PollInput,
) -> Result<PollOutput, HandlerError> {
    let tracked = if input.tracked.is_empty() {
        github.tracked.clone()
    } else {
        input.tracked
    };
    if tracked.is_empty() {
        return Err(HandlerError::non_retryable(
            "no branches to poll: set FERRY_POLL_REPOSITORIES to owner/name@branch entries, or pass {\"tracked\": [...]}",
        ));
    }
    let mut branches = Vec::with_capacity(tracked.len());
    let mut published = 0;
    for entry in &tracked {
        let (repository, branch) = parse_tracked(entry).map_err(HandlerError::non_retryable)?;
        let result = poll_branch(deps, github, &repository, &branch).await;
        let polled = match result {
            Ok(polled) => polled,
            Err(message) => {
                warn!(repository, branch, message, "poll failed");
                BranchPoll {
                    repository,
                    branch,
                    outcome: PollOutcome::Failed,
                    sha: None,
                    message: Some(message),
                }
            }
        };
        if polled.outcome == PollOutcome::Moved {
            published += 1;
        }
        branches.push(polled);
    }
    if branches
        .iter()
        .all(|polled| polled.outcome == PollOutcome::Failed)
    {
        let reasons: Vec<String> = branches
            .iter()
            .filter_map(|polled| polled.message.clone())
            .collect();
        return Err(HandlerError::retryable(format!(
            "no branch could be polled: {}",
            reasons.join("; ")
        )));
    }
    Ok(PollOutput {
        branches,
        published,
    })
}

async fn poll_branch(
    deps: &Deps,
    github: &GithubDeps,
    repository: &str,
    branch: &str,
) -> Result<BranchPoll, String> {
    let done = |outcome: PollOutcome, sha: Option<String>| BranchPoll {
        repository: repository.to_string(),
        branch: branch.to_string(),
        outcome,
        sha,
        message: None,
    };
    let mark = github
        .poll_state
        .get_mark(repository, branch)
        .await
        .map_err(|error| format!("reading the last seen head: {error}"))?;
    let head = github
        .branches
        .branch_head(
            repository,
            branch,
            mark.as_ref().and_then(|mark| mark.etag.as_deref()),
        )
        .await
        .map_err(|error| format!("reading the branch head: {error}"))?;
    let (sha, etag) = match head {
        BranchHead::Unchanged => return Ok(done(PollOutcome::Unchanged, None)),
        BranchHead::Missing => return Ok(done(PollOutcome::Missing, None)),
        BranchHead::At { sha, etag } => (sha, etag),
    };
    let now = deps.clock.now();
    let remember = |sha: &str| PollMark {
        sha: sha.to_string(),
        etag: etag.clone(),
        seen_at: now,
    };
    let outcome = match &mark {
        None => PollOutcome::FirstSeen,
        Some(mark) if mark.sha == sha => PollOutcome::Same,
        Some(mark) => {
            let changed_paths = match github
                .branches
                .changed_paths(repository, &mark.sha, &sha)
                .await
            {
                Ok(paths) => paths,
                Err(error) => {
                    warn!(repository, branch, %error, "cannot compare: every manifest counts as touched");
                    None
                }
            };
            let detail = push_detail(repository, branch, &mark.sha, &sha, changed_paths);
            github
                .events
                .publish(&BusEvent {
                    source: EVENT_SOURCE.into(),
                    detail_type: PUSH.into(),
                    detail,
                })
                .await
                .map_err(|error| format!("publishing the push event: {error}"))?;
            info!(repository, branch, before = %mark.sha, after = %sha, "branch moved: push published");
            PollOutcome::Moved
        }
    };
    github
        .poll_state
        .put_mark(repository, branch, &remember(&sha))
        .await
        .map_err(|error| format!("remembering the head: {error}"))?;
    Ok(done(outcome, Some(sha)))
}

/// The push event's detail, as the webhook would publish it (and `push-deploy` reads it): the
/// shared [`PushDetail`] plus `commit` and `pathsTruncated` when the changed paths are unknown.
pub fn push_detail(
    repository: &str,
    branch: &str,
    before: &str,
    after: &str,
    changed_paths: Option<Vec<String>>,
) -> Value {
    let truncated = changed_paths.is_none();
    let detail = PushDetail {
        repository: repository.to_string(),
        git_ref: format!("refs/heads/{branch}"),
        branch: branch.to_string(),
        before: before.to_string(),
        after: after.to_string(),
        changed_paths,
        pusher: None,
        seen_by: Some("poller".into()),
    };
    let mut json = serde_json::to_value(detail).unwrap_or_default();
    if let Some(object) = json.as_object_mut() {
        object.insert("commit".into(), Value::String(after.to_string()));
        object.insert("pathsTruncated".into(), Value::Bool(truncated));
    }
    json
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use ferry_core::trigger::deployment_execution_name;
    use ferry_testing::memory::{
        MemoryBranches, MemoryEvents, MemoryPollState, MemoryPullRequests,
    };

    use super::*;
    use crate::testing::World;

    const OLD: &str = "1111111111111111111111111111111111111111";
    const NEW: &str = "2222222222222222222222222222222222222222";

    struct Poller {
        world: World,
        branches: Arc<MemoryBranches>,
        events: Arc<MemoryEvents>,
        github: GithubDeps,
    }

    fn poller() -> Poller {
        let world = World::new(&crate::testing::manifest("allAtOnce: {}", ""));
        let branches = Arc::new(MemoryBranches::new());
        let events = Arc::new(MemoryEvents::new());
        let github = GithubDeps {
            pulls: Arc::new(MemoryPullRequests::new()),
            branches: branches.clone(),
            poll_state: Arc::new(MemoryPollState::new()),
            events: events.clone(),
            tracked: vec!["acme/shop@main".into()],
        };
        Poller {
            world,
            branches,
            events,
            github,
        }
    }

    async fn run(poller: &Poller) -> PollOutput {
        handle(&poller.world.deps, &poller.github, PollInput::default())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_branch_seen_for_the_first_time_is_remembered_without_an_event() {
        let poller = poller();
        poller.branches.set_head("acme/shop", "main", OLD);
        let output = run(&poller).await;
        assert_eq!(output.branches[0].outcome, PollOutcome::FirstSeen);
        assert_eq!(output.published, 0);
        assert!(poller.events.published().is_empty());
    }

    #[tokio::test]
    async fn an_unmoved_branch_is_asked_with_its_etag_and_publishes_nothing() {
        let poller = poller();
        poller.branches.set_head("acme/shop", "main", OLD);
        run(&poller).await;
        let output = run(&poller).await;
        assert_eq!(output.branches[0].outcome, PollOutcome::Unchanged);
        let requests = poller.branches.requests();
        assert_eq!(requests[0].2, None);
        assert_eq!(
            requests[1].2.as_deref(),
            Some("\"1111111111111111111111111111111111111111\"")
        );
        assert!(poller.events.published().is_empty());
    }

    #[tokio::test]
    async fn a_moved_branch_publishes_one_push_event_like_the_webhook() {
        let poller = poller();
        poller.branches.set_head("acme/shop", "main", OLD);
        run(&poller).await;
        poller.branches.set_head("acme/shop", "main", NEW);
        poller
            .branches
            .set_changes("acme/shop", OLD, NEW, &["ecs/web.json", "src/main.rs"]);
        let moved = run(&poller).await;
        assert_eq!(moved.branches[0].outcome, PollOutcome::Moved);
        assert_eq!(moved.published, 1);
        let again = run(&poller).await;
        assert_eq!(again.branches[0].outcome, PollOutcome::Unchanged);

        let events = poller.events.published();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].source, "ferry.github");
        assert_eq!(events[0].detail_type, "push");
        let detail = &events[0].detail;
        assert_eq!(detail["ref"], "refs/heads/main");
        assert_eq!(detail["before"], OLD);
        assert_eq!(detail["after"], NEW);
        assert_eq!(detail["commit"], NEW);
        assert_eq!(detail["seenBy"], "poller");
        assert_eq!(detail["changedPaths"][0], "ecs/web.json");
        let shared: PushDetail = serde_json::from_value(detail.clone()).unwrap();
        assert_eq!(shared.after, NEW);
    }

    #[tokio::test]
    async fn the_webhook_and_the_poller_name_the_deploy_execution_of_a_commit_alike() {
        // What webhook-intake publishes for a push (ferry_core::events::WebhookPushDetail).
        let webhook: PushDetail = serde_json::from_value(serde_json::json!({
            "repository": "acme/shop",
            "ref": "refs/heads/main",
            "branch": "main",
            "before": OLD,
            "after": NEW,
            "changedPaths": ["src/main.rs"],
            "pusher": "alice",
            "seenBy": "webhook",
            "cloneUrl": "https://github.com/acme/shop.git",
            "defaultBranch": "main",
            "commit": NEW
        }))
        .unwrap();
        let polled: PushDetail =
            serde_json::from_value(push_detail("acme/shop", "main", OLD, NEW, None)).unwrap();
        let name = |detail: &PushDetail| {
            deployment_execution_name(&detail.repository, &detail.after, ".ferry/web.yaml")
        };
        assert_eq!(name(&webhook), name(&polled));

        // Started under that name twice, the deploy workflow runs once.
        let world = World::new(&crate::testing::manifest("allAtOnce: {}", ""));
        for _ in 0..2 {
            world
                .deps
                .workflows
                .start(
                    ferry_core::ports::Workflow::Deploy,
                    &name(&webhook),
                    &serde_json::json!({}),
                )
                .await
                .unwrap();
        }
        assert_eq!(world.workflows.started.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_missing_branch_does_not_stop_the_others_and_bad_entries_are_refused() {
        let poller = poller();
        poller.branches.set_head("acme/shop", "main", OLD);
        let output = handle(
            &poller.world.deps,
            &poller.github,
            PollInput {
                tracked: vec!["acme/shop@gone".into(), "acme/shop@main".into()],
            },
        )
        .await
        .unwrap();
        assert_eq!(output.branches[0].outcome, PollOutcome::Missing);
        assert_eq!(output.branches[1].outcome, PollOutcome::FirstSeen);
        assert!(parse_tracked_list("acme/shop@main, acme/api@release/1").is_ok());
        assert!(parse_tracked_list("acme/shop").is_err());
        assert!(parse_tracked_list("acme@main").is_err());
    }
}
