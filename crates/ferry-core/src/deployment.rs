//! The deployment record and its lifecycle.
//!
//! ```text
//! Pending -> Provisioning -> [AwaitingApproval(i)] -> Shifting(i) -> Baking(i) -> ... -> Finalizing -> CleaningUp -> Succeeded
//!                                                                  \-> Holding (preset below 100)
//! any state before CleaningUp -> RollingBack -> RolledBack | Failed
//! CleaningUp only rolls forward: -> Succeeded | Failed (green serves; blue's removal is retried)
//! ```
//!
//! Every change of traffic or task sets is *fenced*: the handler first writes its intent
//! ([`Fence`]) with a conditional write on the record, and only then calls ECS or the load
//! balancer. A rollback that starts meanwhile sees the fence and waits for it to settle before it
//! removes green, so a late write can never leave traffic on a task set that is gone.
//!
//! Progress is an index into the plan stored with the record, so a handler that runs twice
//! lands in the same place. `version` is bumped on every write; stores use it for optimistic
//! concurrency so two writers can never silently overwrite each other.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::analysis::OnInsufficientData;
use crate::control::Answered;
use crate::convergence::OnNewerPush;
pub use crate::lifecycle::{Event, HistoryEntry};
use crate::plan::Plan;

/// Where a deployment is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "camelCase")]
pub enum DeploymentStatus {
    /// Recorded and locked, nothing created yet.
    Pending,
    /// Green task set being created and stabilising.
    Provisioning,
    /// Waiting for a person before applying step `step`.
    AwaitingApproval {
        step: usize,
    },
    /// Traffic being moved for step `step`.
    Shifting {
        step: usize,
    },
    /// Step `step` applied and verified; alarms are watched.
    Baking {
        step: usize,
    },
    /// A preset below 100 reached: waiting for promote or rollback.
    Holding {
        step: usize,
    },
    /// Green is primary and serves all traffic; blue is kept warm (a rollback only moves
    /// traffic back).
    Finalizing,
    /// Blue's removal has begun: from here the deployment only rolls forward.
    CleaningUp,
    Succeeded,
    RollingBack,
    /// Traffic is back on blue and green is gone.
    RolledBack,
    /// Ended without a clean rollback; a person should look.
    Failed,
}

impl DeploymentStatus {
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            DeploymentStatus::Succeeded | DeploymentStatus::RolledBack | DeploymentStatus::Failed
        )
    }

    /// A short lowercase name, used in indexes, logs and the CLI.
    pub fn name(self) -> &'static str {
        match self {
            DeploymentStatus::Pending => "pending",
            DeploymentStatus::Provisioning => "provisioning",
            DeploymentStatus::AwaitingApproval { .. } => "awaiting-approval",
            DeploymentStatus::Shifting { .. } => "shifting",
            DeploymentStatus::Baking { .. } => "baking",
            DeploymentStatus::Holding { .. } => "holding",
            DeploymentStatus::Finalizing => "finalizing",
            DeploymentStatus::CleaningUp => "cleaning-up",
            DeploymentStatus::Succeeded => "succeeded",
            DeploymentStatus::RollingBack => "rolling-back",
            DeploymentStatus::RolledBack => "rolled-back",
            DeploymentStatus::Failed => "failed",
        }
    }

    /// Handlers that move the deployment forward (approval, bake, shift, create the task set,
    /// promote) act only on a deployment in one of these states; a rollback or an end wins.
    pub fn moves_forward(self) -> bool {
        !self.is_terminal()
            && !matches!(
                self,
                DeploymentStatus::RollingBack | DeploymentStatus::CleaningUp
            )
    }
}

/// The ECS and ELB identities a deployment works on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrafficTarget {
    /// Production listener.
    pub listener_arn: String,
    /// When set, this listener rule is shifted instead of the listener's default action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_listener_arn: Option<String>,
}

/// One side of a blue/green deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Side {
    Blue,
    Green,
}

/// A task set as the deployment knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskSetRef {
    pub id: String,
    pub arn: String,
    pub task_definition_arn: String,
    pub target_group_arn: String,
}

/// What a handler is about to change outside the record, written before it calls AWS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum FenceAction {
    /// Creating the green task set.
    CreateTaskSet,
    /// Moving green's production weight to `green_weight`.
    Traffic { green_weight: u8 },
    /// Sending the test listener's traffic to green.
    TestTraffic,
}

/// An in-flight change to ECS or the load balancer. Cleared when the change is confirmed.
/// A rollback finding one waits until `since` + the fence lease before it removes green: by
/// then the writer has finished or died, and a last read shows what it left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fence {
    pub action: FenceAction,
    #[serde(with = "time::serde::rfc3339")]
    pub since: OffsetDateTime,
}

/// Where the change came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Source {
    /// `owner/name` on GitHub, or a local path.
    pub repository: String,
    pub commit: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// The first line of the commit's message, when the repository could be asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Path of the manifest inside the repository, e.g. `.ferry/web.yaml`.
    pub manifest_path: String,
}

/// What to do when an approval is not given in time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum OnTimeout {
    /// Go on as if approved (CodeDeploy's "wait N minutes, then reroute").
    Continue,
    #[default]
    Rollback,
}

/// The policies a running deployment needs from its manifest, frozen at plan time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Policy {
    pub alarms: Vec<String>,
    pub rollback_on_alarm: bool,
    /// Records planned before this setting existed read as `pass`, the behaviour they had.
    #[serde(default)]
    pub on_insufficient_data: OnInsufficientData,
    pub keep_old_for_seconds: u64,
    pub approvers: Vec<String>,
    /// `approval.selfApproval`: whether the commit's author may approve it.
    #[serde(default = "yes")]
    pub self_approval: bool,
    /// `approval.rollbackBy: approvers`: only approvers may roll back. Records planned before
    /// this setting existed read as anyone may.
    #[serde(default)]
    pub rollback_by_approvers: bool,
    pub approval_timeout_seconds: u64,
    pub on_approval_timeout: OnTimeout,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack_channel: Option<String>,
    /// `notify.slack.verbosity`: which events get a reply in the Slack thread.
    #[serde(default)]
    pub slack_verbosity: crate::lifecycle::Verbosity,
    /// `onNewerPush`: what a newer push of the service does to this deployment. Records
    /// planned before this setting existed read as `wait`.
    #[serde(default)]
    pub on_newer_push: OnNewerPush,
    /// `hooks:`: the checks run at fixed stages, in the manifest's order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hooks: Vec<crate::hooks::Hook>,
}

/// What a waiting Step Functions task waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TokenKind {
    /// A person's approval before a step.
    Approval,
    /// A step's bake; an alarm ends it early.
    Bake,
    /// Blue kept warm after green became primary; an alarm ends it with a rollback.
    KeepWarm,
}

impl TokenKind {
    pub fn name(self) -> &'static str {
        match self {
            TokenKind::Approval => "approval",
            TokenKind::Bake => "bake",
            TokenKind::KeepWarm => "keep-warm",
        }
    }
}

/// A waiting Step Functions task, so that an alarm or a person can end it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingToken {
    pub kind: TokenKind,
    pub step: usize,
    /// The Step Functions task token: a credential to end the wait. Never shown (see `Debug`
    /// and [`Deployment::redacted`]).
    pub token: String,
    #[serde(with = "time::serde::rfc3339")]
    pub since: OffsetDateTime,
    /// The answer a person gave, claimed on the record before the token is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered: Option<Answered>,
}

impl std::fmt::Debug for PendingToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingToken")
            .field("kind", &self.kind)
            .field("step", &self.step)
            .field("token", &"<redacted>")
            .field("since", &self.since)
            .field("answered", &self.answered)
            .finish()
    }
}

/// The record of one deployment, as stored and as shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    pub id: String,
    pub service: String,
    /// Cluster name (not ARN), so that keys do not depend on how the manifest spells it.
    pub cluster: String,
    pub source: Source,
    pub status: DeploymentStatus,
    pub plan: Plan,
    pub policy: Policy,
    pub traffic: TrafficTarget,
    /// Target group serving blue (live) and the idle one green goes on.
    pub blue_target_group: String,
    pub green_target_group: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blue: Option<TaskSetRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub green: Option<TaskSetRef>,
    /// The task definition document to register (JSON, as `register-task-definition` accepts).
    pub task_definition: serde_json::Value,
    /// Where green runs, from the manifest's `network:`; without it, where blue runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placement: Option<crate::ports::Placement>,
    pub container_name: String,
    pub container_port: u16,
    /// Index of the last step whose weights were applied and verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied_step: Option<usize>,
    pub green_weight: u8,
    /// Where the test listener (`traffic.testListener`) was last set to send everything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_traffic: Option<Side>,
    /// The hooks run so far and where each stands (see [`crate::hooks::HookRun`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hook_runs: Vec<crate::hooks::HookRun>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_token: Option<PendingToken>,
    /// Set when blue's removal began: from then on the deployment only rolls forward. Kept
    /// beside the `cleaning-up` status because it outlives it: a deployment that then ends
    /// `failed` must still roll forward when `ferry rollback` finishes it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cleanup_started: bool,
    /// A change to ECS or the load balancer that may be in flight (see [`Fence`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fence: Option<Fence>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub history: Vec<HistoryEntry>,
    /// History entries dropped to keep the record small (see [`Deployment::record`]).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub history_dropped: usize,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub finished_at: Option<OffsetDateTime>,
    /// Bumped on every successful write.
    pub version: u64,
}

impl Deployment {
    /// `cluster/service`, the key of the per-service lock and of the service's history.
    pub fn service_key(&self) -> String {
        service_key(&self.cluster, &self.service)
    }

    /// Traffic has moved to green at some point: from here to blue's removal, a guarding alarm
    /// rolls the deployment back wherever it is (bake, approval, hold, keep-warm).
    pub fn traffic_moved(&self) -> bool {
        self.applied_step.is_some() || self.green_weight > 0
    }

    /// The service's first deployment: nothing ran before it, so there is no blue to compare
    /// with or to go back to.
    pub fn is_first(&self) -> bool {
        self.blue.is_none()
    }

    /// From here a rollback finishes the deployment instead: blue's removal began, or a first
    /// deployment's green was promoted (it is all the service has; taking it away is no
    /// rollback).
    pub fn only_rolls_forward(&self) -> bool {
        self.cleanup_started || (self.is_first() && self.status == DeploymentStatus::Finalizing)
    }

    /// Whether its alarms guard the deployment now: from the first shift until blue's removal
    /// begins, whatever it is doing (baking, waiting for an approval, holding, keeping blue
    /// warm).
    pub fn guarded_by_alarms(&self) -> bool {
        self.traffic_moved() && self.status.moves_forward()
    }

    /// How many entries were ever recorded: what is kept, plus what [`Self::push_history`]
    /// dropped, minus its one marker. A reader that printed `n` entries prints the last
    /// `recorded() - n` next, however long the history grew.
    pub fn recorded(&self) -> usize {
        self.history.len() + self.history_dropped - usize::from(self.history_dropped > 0)
    }

    /// Keeps the record well under DynamoDB's 400 KB item limit however long a deployment
    /// runs (a preset held for weeks, many retries): the first entries (how it started) and the
    /// latest stay; the oldest of the rest go, counted in `history_dropped` and shown by one
    /// `history-truncated` entry in their place.
    pub(crate) fn push_history(&mut self, entry: HistoryEntry) {
        self.history.push(entry);
        if self.history.len() <= MAX_HISTORY_ENTRIES {
            return;
        }
        const KEEP_FIRST: usize = 10;
        let first_drop = self.history_dropped == 0;
        // The first time, one more goes to make room for the marker; after that the marker
        // stays at KEEP_FIRST and the entry after it goes.
        let (start, count) = if first_drop {
            (KEEP_FIRST, 2)
        } else {
            (KEEP_FIRST + 1, 1)
        };
        let last_dropped = self
            .history
            .drain(start..start + count)
            .next_back()
            .map_or(self.updated_at, |dropped| dropped.at);
        self.history_dropped += count;
        let marker = HistoryEntry {
            at: last_dropped,
            event: Event::HistoryTruncated {
                dropped: self.history_dropped,
            },
            green_weight: self.green_weight,
        };
        if first_drop {
            self.history.insert(KEEP_FIRST, marker);
        } else {
            self.history[KEEP_FIRST] = marker;
        }
    }

    /// The record as people may see it: the task token, a credential, blanked.
    pub fn redacted(&self) -> Deployment {
        let mut shown = self.clone();
        if let Some(token) = &mut shown.pending_token {
            token.token = "<redacted>".into();
        }
        shown
    }

    /// Marks the deployment ended.
    pub fn finish(&mut self, at: OffsetDateTime, status: DeploymentStatus, reason: Option<String>) {
        debug_assert!(status.is_terminal());
        self.status = status;
        if reason.is_some() {
            self.reason = reason;
        }
        self.pending_token = None;
        self.fence = None;
        self.finished_at = Some(at);
        self.updated_at = at;
    }
}

fn yes() -> bool {
    true
}

/// At most this many history entries are kept (see [`Deployment::record`]).
pub const MAX_HISTORY_ENTRIES: usize = 200;
/// The free text of a history entry (a reason, an error) is cut at this many characters.
pub const MAX_DETAIL_CHARS: usize = 1000;

fn is_zero(count: &usize) -> bool {
    *count == 0
}

/// True for a full Git commit id: 40 hexadecimal digits (SHA-1) or 64 (SHA-256).
pub fn is_commit_id(commit: &str) -> bool {
    (commit.len() == 40 || commit.len() == 64) && commit.chars().all(|c| c.is_ascii_hexdigit())
}

/// The first seven characters of a commit id, for people (never splits a character).
pub fn short_commit(commit: &str) -> &str {
    match commit.char_indices().nth(7) {
        Some((cut, _)) => &commit[..cut],
        None => commit,
    }
}

/// The lock and history key of a service. A cluster given as an ARN is reduced to its name.
pub fn service_key(cluster: &str, service: &str) -> String {
    format!("{}/{}", cluster_name(cluster), service)
}

/// `arn:aws:ecs:eu-west-1:123:cluster/prod` and `prod` both give `prod`.
pub fn cluster_name(cluster: &str) -> &str {
    if cluster.starts_with("arn:") {
        cluster.rsplit('/').next().unwrap_or(cluster)
    } else {
        cluster
    }
}

/// A new deployment id: sortable by time, unique per service, safe as a Step Functions execution
/// name (at most 80 characters of `[A-Za-z0-9-_]`) and as an ECS task set external id.
pub fn new_deployment_id(service: &str, at: OffsetDateTime, commit: &str) -> String {
    let stamp = format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    );
    let short: String = commit
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(7)
        .collect();
    let service: String = service
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(40)
        .collect();
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    format!("{service}-{stamp}-{short}-{}", &nonce[..6])
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn statuses_serialize_as_tagged_objects() {
        let json = serde_json::to_value(DeploymentStatus::Baking { step: 2 }).unwrap();
        assert_eq!(json, serde_json::json!({"state": "baking", "step": 2}));
        let back: DeploymentStatus = serde_json::from_value(json).unwrap();
        assert_eq!(back, DeploymentStatus::Baking { step: 2 });
        assert_eq!(
            serde_json::to_value(DeploymentStatus::RolledBack).unwrap(),
            serde_json::json!({"state": "rolledBack"})
        );
    }

    #[test]
    fn a_long_history_keeps_its_start_and_its_latest_entries_and_counts_the_rest() {
        let mut deployment: Deployment = serde_json::from_value(serde_json::json!({
            "id": "d1", "service": "web", "cluster": "shop",
            "source": {"repository": "acme/shop", "commit": "abc", "manifestPath": ".ferry/web.yaml"},
            "status": {"state": "pending"},
            "plan": {"steps": []},
            "policy": {"alarms": [], "rollbackOnAlarm": true, "keepOldForSeconds": 0, "approvers": [], "approvalTimeoutSeconds": 3600, "onApprovalTimeout": "rollback"},
            "traffic": {"listenerArn": "l"}, "blueTargetGroup": "b", "greenTargetGroup": "g",
            "taskDefinition": {}, "containerName": "web", "containerPort": 80, "greenWeight": 0,
            "history": [], "createdAt": "2026-11-22T10:00:00Z", "updatedAt": "2026-11-22T10:00:00Z",
            "version": 0
        }))
        .unwrap();
        let at = datetime!(2026-11-22 10:00:00 UTC);
        let moved = |n: usize| Event::Moved {
            weight: (n % 100) as u8,
        };
        for n in 0..(MAX_HISTORY_ENTRIES + 50) {
            deployment.record(at, moved(n));
        }
        assert_eq!(deployment.history.len(), MAX_HISTORY_ENTRIES);
        // 250 recorded, 200 kept of which one is the marker.
        assert_eq!(deployment.history_dropped, 51);
        assert_eq!(deployment.history[9].event, moved(9));
        assert_eq!(
            deployment.history[10].event,
            Event::HistoryTruncated { dropped: 51 }
        );
        assert_eq!(deployment.history[11].event, moved(61));
        assert_eq!(
            deployment.history.last().unwrap().event,
            moved(MAX_HISTORY_ENTRIES + 49)
        );
        deployment.warned(at, "x".repeat(5000));
        let Event::Warning { message } = &deployment.history.last().unwrap().event else {
            panic!("a warning");
        };
        assert_eq!(message.chars().count(), MAX_DETAIL_CHARS + 1);
    }

    #[test]
    fn service_keys_ignore_how_the_cluster_is_spelled() {
        assert_eq!(service_key("prod", "web"), "prod/web");
        assert_eq!(
            service_key("arn:aws:ecs:eu-west-1:123456789012:cluster/prod", "web"),
            "prod/web"
        );
    }

    #[test]
    fn deployment_ids_are_valid_execution_names() {
        let id = new_deployment_id("web.api", datetime!(2026-11-22 02:15:00 UTC), "a1b2c3d4e5");
        assert!(id.starts_with("web-api-20261122T021500Z-a1b2c3d-"), "{id}");
        assert!(id.len() <= 80);
        assert!(
            id.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
    }
}
