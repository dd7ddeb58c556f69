//! The capabilities handlers need, one small trait each. Real adapters live in `ferry-aws`
//! (AWS), `ferry-github` (Git and pull requests on GitHub) and `ferry-local` (a local Git
//! checkout, and the local engine's workflows); in-memory fakes in the
//! `ferry-testing` crate.
//!
//! Every method is safe to call again after a timeout: adapters must make repeats harmless
//! (deleting a task set that is gone is `Ok`, setting weights that are already set is `Ok`).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::convergence::{Desired, Relation};
use crate::deployment::Deployment;
use crate::lifecycle::Event;

/// What went wrong talking to the outside world, classified for retry decisions.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortError {
    /// The named thing does not exist (service, listener, alarm, file ...).
    #[error("{0} not found")]
    NotFound(String),
    /// A conditional write lost, or the resource is in a state that forbids the call.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The request itself is wrong; retrying will not help.
    #[error("invalid request: {0}")]
    Invalid(String),
    /// Throttling, a timeout, a 5xx: worth retrying with backoff.
    #[error("temporary failure: {0}")]
    Transient(String),
    /// Not allowed (credentials, IAM).
    #[error("access denied: {0}")]
    AccessDenied(String),
}

impl PortError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, PortError::Transient(_))
    }
}

pub type PortResult<T> = Result<T, PortError>;

// ---------------------------------------------------------------------------------------------
// ECS task sets

/// awsvpc network settings of a task set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkConfig {
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    pub assign_public_ip: bool,
}

/// One capacity provider entry of a task set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CapacityProviderItem {
    pub capacity_provider: String,
    pub weight: i32,
    pub base: i32,
}

/// Where and how tasks run; copied from blue to green so both run alike.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Placement {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<NetworkConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch_type: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capacity_providers: Vec<CapacityProviderItem>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_version: Option<String>,
}

/// ECS task set status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TaskSetStatus {
    Primary,
    Active,
    Draining,
}

/// A task set as ECS reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskSetInfo {
    pub id: String,
    pub arn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    pub status: TaskSetStatus,
    pub task_definition_arn: String,
    pub target_group_arns: Vec<String>,
    /// ECS reports `STEADY_STATE` or `STABILIZING`.
    pub steady: bool,
    pub scale_percent: f64,
    pub computed_desired_count: i32,
    pub running_count: i32,
    pub pending_count: i32,
    pub placement: Placement,
}

/// An ECS service as the planner needs it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceInfo {
    pub arn: String,
    pub name: String,
    pub cluster_arn: String,
    /// `ACTIVE`, `DRAINING` or `INACTIVE`.
    pub status: String,
    /// `ECS`, `CODE_DEPLOY` or `EXTERNAL`; Ferry needs `EXTERNAL`.
    pub deployment_controller: String,
    pub desired_count: i32,
    pub task_sets: Vec<TaskSetInfo>,
}

impl ServiceInfo {
    pub fn primary_task_set(&self) -> Option<&TaskSetInfo> {
        self.task_sets
            .iter()
            .find(|set| set.status == TaskSetStatus::Primary)
    }

    pub fn task_set_with_external_id(&self, external_id: &str) -> Option<&TaskSetInfo> {
        self.task_sets
            .iter()
            .find(|set| set.external_id.as_deref() == Some(external_id))
    }
}

/// What to create for green.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewTaskSet {
    pub cluster: String,
    pub service: String,
    pub task_definition_arn: String,
    /// The deployment id: lets a retry find the task set it already created.
    pub external_id: String,
    pub target_group_arn: String,
    pub container_name: String,
    pub container_port: u16,
    pub placement: Placement,
    pub scale_percent: f64,
}

/// A registered task definition, as the views show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskDefinitionInfo {
    pub arn: String,
    /// `family:revision`.
    pub name: String,
    pub containers: Vec<ContainerImage>,
}

/// A container of a task definition and the image it runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerImage {
    pub container: String,
    pub image: String,
}

/// Registers task definitions and manages the task sets of an EXTERNAL-controller service.
#[async_trait]
pub trait TaskSetDeployer: Send + Sync {
    /// The service and all its task sets. `NotFound` when the service or cluster does not exist.
    async fn describe_service(&self, cluster: &str, service: &str) -> PortResult<ServiceInfo>;
    /// Registers a task definition document (JSON as `register-task-definition` accepts) and
    /// returns the new revision's ARN.
    async fn register_task_definition(&self, document: &serde_json::Value) -> PortResult<String>;
    async fn create_task_set(&self, request: &NewTaskSet) -> PortResult<TaskSetInfo>;
    /// `None` when the task set does not exist (any more).
    async fn describe_task_set(
        &self,
        cluster: &str,
        service: &str,
        task_set: &str,
    ) -> PortResult<Option<TaskSetInfo>>;
    async fn set_primary_task_set(
        &self,
        cluster: &str,
        service: &str,
        task_set: &str,
    ) -> PortResult<()>;
    async fn scale_task_set(
        &self,
        cluster: &str,
        service: &str,
        task_set: &str,
        percent: f64,
    ) -> PortResult<()>;
    /// Deleting a task set that is already gone is `Ok`.
    async fn delete_task_set(&self, cluster: &str, service: &str, task_set: &str)
    -> PortResult<()>;
    /// A registered task definition's containers and images (for the views). `NotFound` when
    /// there is no such revision.
    async fn describe_task_definition(&self, arn: &str) -> PortResult<TaskDefinitionInfo>;
}

// ---------------------------------------------------------------------------------------------
// Traffic

/// A target group and its weight in a forward action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetGroupWeight {
    pub target_group_arn: String,
    pub weight: u32,
}

/// The weight `weights` give `target_group` (a target group absent counts as 0).
pub fn weight_to(weights: &[TargetGroupWeight], target_group: &str) -> u32 {
    weights
        .iter()
        .filter(|entry| entry.target_group_arn == target_group)
        .map(|entry| entry.weight)
        .sum()
}

/// Where the weights live: a listener's default action, or one of its rules.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteRef {
    pub listener_arn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_arn: Option<String>,
}

/// The split between blue and green, in percent for green.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Split {
    pub blue_target_group: String,
    pub green_target_group: String,
    pub green_weight: u8,
}

impl Split {
    /// The forward action's target groups as an ALB would hold them.
    pub fn as_weights(&self) -> Vec<TargetGroupWeight> {
        vec![
            TargetGroupWeight {
                target_group_arn: self.blue_target_group.clone(),
                weight: u32::from(100 - self.green_weight.min(100)),
            },
            TargetGroupWeight {
                target_group_arn: self.green_target_group.clone(),
                weight: u32::from(self.green_weight.min(100)),
            },
        ]
    }

    /// True when `weights` (as read back) route exactly this split. ALB weights are relative,
    /// so `20/80` and `1/4` are the same split; a target group absent counts as weight 0.
    pub fn matches(&self, weights: &[TargetGroupWeight]) -> bool {
        let weight_of = |arn: &str| u64::from(weight_to(weights, arn));
        let others: u64 = weights
            .iter()
            .filter(|entry| {
                entry.target_group_arn != self.blue_target_group
                    && entry.target_group_arn != self.green_target_group
            })
            .map(|entry| u64::from(entry.weight))
            .sum();
        let blue = weight_of(&self.blue_target_group);
        let green = weight_of(&self.green_target_group);
        let total = blue + green;
        if others != 0 || total == 0 {
            return false;
        }
        // green / total == green_weight / 100, in integers.
        green * 100 == u64::from(self.green_weight.min(100)) * total
    }
}

/// Reads and writes the weights of an ALB forward action.
#[async_trait]
pub trait TrafficRouter: Send + Sync {
    /// The forward action's target groups and weights. `Invalid` when the route does not
    /// forward (a redirect or fixed response).
    async fn read_weights(&self, route: &RouteRef) -> PortResult<Vec<TargetGroupWeight>>;
    /// Replaces the forward action with `split`, keeping the action's other settings
    /// (stickiness). Setting the weights already in place is `Ok`.
    async fn set_weights(&self, route: &RouteRef, split: &Split) -> PortResult<()>;
}

// ---------------------------------------------------------------------------------------------
// Alarms

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AlarmState {
    Ok,
    Alarm,
    InsufficientData,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlarmStatus {
    pub name: String,
    pub state: AlarmState,
    pub reason: String,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub updated_at: Option<OffsetDateTime>,
    /// How much data the alarm needs before it can fire: period x evaluation periods, in
    /// seconds. `None` for composite alarms, whose reaction depends on their children.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reaction_seconds: Option<u64>,
}

/// Reads CloudWatch alarm states (metric and composite alarms).
#[async_trait]
pub trait AlarmReader: Send + Sync {
    /// The alarms among `names` that exist, in any order; missing ones are simply absent.
    async fn describe_alarms(&self, names: &[String]) -> PortResult<Vec<AlarmStatus>>;
}

// ---------------------------------------------------------------------------------------------
// Deployment records and the per-service lock

/// The per-service lock: one active deployment per service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceLock {
    pub service_key: String,
    pub deployment_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub acquired_at: OffsetDateTime,
    /// After this instant the lock may be taken over: a crashed deployment cannot hold a
    /// service forever.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// The outcome of asking for the lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockOutcome {
    /// Taken now (or already ours: acquiring twice is harmless).
    Acquired,
    /// Held by another live deployment.
    HeldBy(ServiceLock),
}

/// Stores deployment records and the per-service lock.
#[async_trait]
pub trait DeploymentStore: Send + Sync {
    /// Takes the lock of `service_key` for `deployment_id` unless another deployment holds an
    /// unexpired one. Re-acquiring our own lock refreshes its expiry.
    async fn acquire_lock(
        &self,
        service_key: &str,
        deployment_id: &str,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> PortResult<LockOutcome>;
    /// Takes the lock from `holder` (for a holder that has ended or crashed). `Conflict` when
    /// somebody else changed the lock meanwhile.
    async fn take_over_lock(
        &self,
        service_key: &str,
        holder: &str,
        deployment_id: &str,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> PortResult<()>;
    /// Releases the lock if `deployment_id` holds it; otherwise does nothing.
    async fn release_lock(&self, service_key: &str, deployment_id: &str) -> PortResult<()>;
    async fn get_lock(&self, service_key: &str) -> PortResult<Option<ServiceLock>>;

    /// Writes a new record. `Conflict` when the id exists.
    async fn create(&self, deployment: &Deployment) -> PortResult<()>;
    /// Writes a new record *and* takes the service's lock for it, atomically: both or neither
    /// (DynamoDB `TransactWriteItems`). A lock therefore never exists without its record, and a
    /// record in flight always holds its lock. The lock is taken when it is free, expired, ours
    /// already, or held by `replacing` (a holder the caller found ended). `Conflict` when the
    /// record exists or the lock is held by someone else; read both to tell which.
    ///
    /// With `settles: Some(generation)` the same write also settles the service's desired state
    /// (see [`crate::convergence`]), on condition that `generation` is still the desired one and
    /// not settled yet: a push superseded meanwhile, or deployed by another execution, makes
    /// the whole write a `Conflict`.
    async fn create_with_lock(
        &self,
        deployment: &Deployment,
        lock: &ServiceLock,
        replacing: Option<&str>,
        settles: Option<u64>,
    ) -> PortResult<()>;
    async fn get(&self, deployment_id: &str) -> PortResult<Option<Deployment>>;
    /// Writes `deployment` if the stored version is still `deployment.version`, then bumps the
    /// version in `deployment`. `Conflict` when someone else wrote first.
    async fn update(&self, deployment: &mut Deployment) -> PortResult<()>;
    /// Latest first.
    async fn list_for_service(
        &self,
        service_key: &str,
        limit: usize,
    ) -> PortResult<Vec<Deployment>>;
    /// Every deployment not yet ended, any service.
    async fn list_in_flight(&self) -> PortResult<Vec<Deployment>>;
    /// The latest deployments of every service, latest first, ended or not.
    async fn list_recent(&self, limit: usize) -> PortResult<Vec<Deployment>>;

    /// The desired state of a service (`<cluster>/<service>`), if a push ever recorded one.
    /// Desired states live here, with the lock, because taking the lock settles them in the
    /// same write.
    async fn get_desired(&self, service_key: &str) -> PortResult<Option<Desired>>;
    /// Writes `desired` if the stored version is still `desired.version` (0: none stored yet),
    /// then bumps the version in `desired`. `Conflict` when someone else wrote first.
    async fn put_desired(&self, desired: &mut Desired) -> PortResult<()>;
    /// Desired states still waiting to be deployed, any service.
    async fn list_pending_desired(&self) -> PortResult<Vec<Desired>>;
}

// ---------------------------------------------------------------------------------------------
// Workflows

/// A started workflow execution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionRef {
    pub execution_arn: String,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// The execution of that name had already ended: nothing was started now.
    #[serde(default)]
    pub closed: bool,
}

/// Which state machine to start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Workflow {
    Deploy,
    Plan,
    Traffic,
}

/// Starts executions and completes waiting tasks (Step Functions, or the local engine).
#[async_trait]
pub trait WorkflowControl: Send + Sync {
    /// Starts `workflow` with the execution name `name` (idempotent: the same name and input
    /// give the same execution, `closed` when it has ended; another input is `Conflict`).
    async fn start(
        &self,
        workflow: Workflow,
        name: &str,
        input: &serde_json::Value,
    ) -> PortResult<ExecutionRef>;
    async fn send_task_success(&self, token: &str, output: &serde_json::Value) -> PortResult<()>;
    async fn send_task_failure(&self, token: &str, error: &str, cause: &str) -> PortResult<()>;
}

// ---------------------------------------------------------------------------------------------
// Git

/// Reads files of a repository at a commit.
#[async_trait]
pub trait GitSource: Send + Sync {
    /// The file's text, or `None` when the path does not exist at that commit.
    async fn read_file(
        &self,
        repository: &str,
        commit: &str,
        path: &str,
    ) -> PortResult<Option<String>>;

    /// Names of the files directly inside the folder `path` at that commit (sub-folders left
    /// out), sorted. Empty when the folder does not exist. A source that cannot list folders
    /// refuses with `Invalid` (the default).
    async fn list_dir(
        &self,
        repository: &str,
        commit: &str,
        path: &str,
    ) -> PortResult<Vec<String>> {
        Err(PortError::Invalid(format!(
            "this Git source cannot list folders (asked for {path} of {repository} at {commit})"
        )))
    }

    /// How `head` relates to `base` in the repository's history. A commit the source does not
    /// know is `Diverged`. A source without history refuses with `Invalid` (the default).
    async fn compare_commits(
        &self,
        repository: &str,
        base: &str,
        head: &str,
    ) -> PortResult<Relation> {
        Err(PortError::Invalid(format!(
            "this Git source cannot compare commits (asked for {base}...{head} of {repository})"
        )))
    }

    /// The commit `branch` points at now; `None` when there is no such branch. A source without
    /// branches refuses with `Invalid` (the default).
    async fn head_of_branch(&self, repository: &str, branch: &str) -> PortResult<Option<String>> {
        Err(PortError::Invalid(format!(
            "this Git source cannot read branches (asked for {branch} of {repository})"
        )))
    }

    /// The commit's message; `None` when the source does not know the commit. A source
    /// without history refuses with `Invalid` (the default).
    async fn commit_message(&self, repository: &str, commit: &str) -> PortResult<Option<String>> {
        Err(PortError::Invalid(format!(
            "this Git source cannot read commit messages (asked for {commit} of {repository})"
        )))
    }
}

// ---------------------------------------------------------------------------------------------
// Pull requests

/// The state of a commit status (`ferry/plan` on a pull request's head).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum CommitState {
    Pending,
    Success,
    Failure,
    Error,
}

impl CommitState {
    /// The name the GitHub statuses API uses.
    pub fn name(self) -> &'static str {
        match self {
            CommitState::Pending => "pending",
            CommitState::Success => "success",
            CommitState::Failure => "failure",
            CommitState::Error => "error",
        }
    }
}

/// A commit status: `context` names the check, `description` is one short line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommitStatus {
    pub context: String,
    pub state: CommitState,
    /// GitHub keeps at most 140 characters; adapters shorten longer ones.
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_url: Option<String>,
}

/// What an upsert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum CommentOutcome {
    Created,
    Updated,
    /// The comment already said exactly this: nothing was written.
    Unchanged,
}

/// The comment an upsert left on the pull request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommentRef {
    pub id: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    pub outcome: CommentOutcome,
}

/// Talks to pull requests: one comment kept up to date, and commit statuses.
#[async_trait]
pub trait PullRequests: Send + Sync {
    /// Makes `body` the text of the one comment on pull request `number` that contains
    /// `marker` (a hidden HTML comment such as `<!-- ferry-plan -->`): updates it in place when
    /// it exists, creates it otherwise. `body` must contain `marker`, so the next call finds it.
    async fn upsert_comment(
        &self,
        repository: &str,
        number: u64,
        marker: &str,
        body: &str,
    ) -> PortResult<CommentRef>;
    /// Sets the status `status.context` of `commit` (a later call replaces it).
    async fn set_status(
        &self,
        repository: &str,
        commit: &str,
        status: &CommitStatus,
    ) -> PortResult<()>;
}

// ---------------------------------------------------------------------------------------------
// Polling branches

/// The answer to "where is this branch now?".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum BranchHead {
    /// The host answered 304 Not Modified to the ETag: the branch did not move.
    Unchanged,
    /// The branch's head commit, with the ETag to send next time.
    At {
        sha: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        etag: Option<String>,
    },
    /// No such branch (or repository).
    Missing,
}

/// Reads where branches point, cheaply enough to ask every minute.
#[async_trait]
pub trait BranchHeads: Send + Sync {
    /// The head of `branch`. With the `etag` of a previous answer the host may answer
    /// [`BranchHead::Unchanged`], which on GitHub costs no rate limit.
    async fn branch_head(
        &self,
        repository: &str,
        branch: &str,
        etag: Option<&str>,
    ) -> PortResult<BranchHead>;
    /// Paths changed from `base` to `head`, as a push would list them. `None` when the host
    /// cannot tell (history rewritten, or too many files): treat every path as changed.
    async fn changed_paths(
        &self,
        repository: &str,
        base: &str,
        head: &str,
    ) -> PortResult<Option<Vec<String>>>;
}

/// What the poller remembers about a branch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PollMark {
    /// The last head commit seen.
    pub sha: String,
    /// The ETag of the answer that reported it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub seen_at: OffsetDateTime,
}

/// The poller's memory, one mark per repository and branch.
#[async_trait]
pub trait PollState: Send + Sync {
    async fn get_mark(&self, repository: &str, branch: &str) -> PortResult<Option<PollMark>>;
    async fn put_mark(&self, repository: &str, branch: &str, mark: &PollMark) -> PortResult<()>;
}

// ---------------------------------------------------------------------------------------------
// Events

/// An event for Ferry's bus (EventBridge in AWS): rules match `source` and `detail_type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BusEvent {
    pub source: String,
    pub detail_type: String,
    pub detail: serde_json::Value,
}

/// Puts events on Ferry's bus.
#[async_trait]
pub trait EventPublisher: Send + Sync {
    async fn publish(&self, event: &BusEvent) -> PortResult<()>;
}

// ---------------------------------------------------------------------------------------------
// Webhook intake

/// Remembers webhook deliveries (`X-GitHub-Delivery`) so a redelivery is recognised and emits
/// nothing. Entries expire on their own (a TTL), long after GitHub stops redelivering.
#[async_trait]
pub trait DeliveryLog: Send + Sync {
    /// Records `delivery_id` if it is not recorded yet, in one conditional write. `true` when
    /// this call recorded it, `false` when it was there already (a duplicate).
    async fn record_first(
        &self,
        delivery_id: &str,
        event: &str,
        expires_at: OffsetDateTime,
    ) -> PortResult<bool>;
    /// Forgets a delivery whose event could not be published, so GitHub's redelivery is
    /// processed instead of being taken for a duplicate. Forgetting an unknown id is `Ok`.
    async fn forget(&self, delivery_id: &str) -> PortResult<()>;
}

/// Keeps whole webhook payloads that are too big to travel in an event (S3 in AWS).
#[async_trait]
pub trait PayloadArchive: Send + Sync {
    /// Stores `body` (JSON) under `key`, replacing what was there; returns where it is, as a
    /// URL (`s3://bucket/key`) that readers of the event can follow.
    async fn store(&self, key: &str, body: &[u8]) -> PortResult<String>;
}

/// Reads secret values (Secrets Manager in AWS).
#[async_trait]
pub trait SecretReader: Send + Sync {
    /// The current value of the secret `id` (a name or an ARN), as text.
    async fn read_secret(&self, id: &str) -> PortResult<String>;
}

// ---------------------------------------------------------------------------------------------
// Notifications

/// Tells people what happened to a deployment: the event and the deployment it happened to,
/// for the notifier to word (a Slack thread, a log line, the terminal). Handlers notify the
/// events people act on: planned, awaiting approval, shifted, succeeded, rolled back, failed.
#[async_trait]
pub trait Notifier: Send + Sync {
    async fn notify(&self, deployment: &Deployment, event: &Event) -> PortResult<()>;
}

/// Where a deployment's notifications live in a chat: the channel and the parent message every
/// update edits and every reply threads under (Slack's `ts`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThreadRef {
    pub channel: String,
    pub ts: String,
}

/// Remembers each deployment's thread, apart from its record: a notification never writes the
/// record, so it can never make a handler's conditional write of the record fail.
#[async_trait]
pub trait ThreadStore: Send + Sync {
    async fn get_thread(&self, deployment_id: &str) -> PortResult<Option<ThreadRef>>;
    /// Records `thread` unless the deployment has one: `Ok(false)` when another was first.
    async fn put_thread(&self, deployment_id: &str, thread: &ThreadRef) -> PortResult<bool>;
}

// ---------------------------------------------------------------------------------------------
// Verification hooks

/// An HTTP response, as an `http` hook judges it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpAnswer {
    pub status: u16,
    /// The body, cut to the first 64 KB.
    pub body: String,
}

/// What an `http` hook requests with.
#[async_trait]
pub trait HttpProbe: Send + Sync {
    /// One GET of `url`, ended after `timeout`. An error is an attempt that failed (no
    /// connection, a timeout, a bad certificate), with why.
    async fn get(&self, url: &str, timeout: std::time::Duration) -> PortResult<HttpAnswer>;
}

/// What a `lambda` hook invokes with.
#[async_trait]
pub trait FunctionInvoker: Send + Sync {
    /// Invokes `function` synchronously with `payload` and returns what it answered, including
    /// an answer that is the function's own error.
    async fn invoke(
        &self,
        function: &str,
        payload: &serde_json::Value,
    ) -> PortResult<crate::hooks::FunctionAnswer>;
}

/// A one-off task to run for a `task` hook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OneOffTask {
    pub cluster: String,
    pub task_definition: String,
    /// Where it runs: the service's network, launch type or capacity providers.
    pub placement: Placement,
    pub container: String,
    /// Overrides the container's command when not empty.
    pub command: Vec<String>,
    /// ECS's idempotency token: a repeat with the same token returns the task already started.
    pub client_token: String,
    /// Shown in ECS as who started the task.
    pub started_by: String,
}

/// What a `task` hook runs its task with.
#[async_trait]
pub trait OneOffTasks: Send + Sync {
    /// Starts the task (or finds the one its client token already started); its ARN.
    async fn run_task(&self, task: &OneOffTask) -> PortResult<String>;
    /// Where the task stands; the exit code of `container` once it stopped.
    async fn describe_task(
        &self,
        cluster: &str,
        task_arn: &str,
        container: &str,
    ) -> PortResult<crate::hooks::TaskState>;
    /// Stops a task that overran its hook's timeout. Stopping a stopped task is `Ok`.
    async fn stop_task(&self, cluster: &str, task_arn: &str, reason: &str) -> PortResult<()>;
}

/// Where a listener answers, for `${TEST_URL}`.
#[async_trait]
pub trait ListenerAddresses: Send + Sync {
    /// `http://DNS:PORT` (or `https://`) of the listener's load balancer.
    async fn listener_url(&self, listener_arn: &str) -> PortResult<String>;
}

// ---------------------------------------------------------------------------------------------
// Time

/// The clock, so tests can control expiry and timestamps.
pub trait Clock: Send + Sync {
    fn now(&self) -> OffsetDateTime;
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(green: u8) -> Split {
        Split {
            blue_target_group: "blue".into(),
            green_target_group: "green".into(),
            green_weight: green,
        }
    }

    fn weights(blue: u32, green: u32) -> Vec<TargetGroupWeight> {
        vec![
            TargetGroupWeight {
                target_group_arn: "blue".into(),
                weight: blue,
            },
            TargetGroupWeight {
                target_group_arn: "green".into(),
                weight: green,
            },
        ]
    }

    #[test]
    fn a_split_matches_equivalent_relative_weights() {
        assert!(split(20).matches(&weights(80, 20)));
        assert!(split(20).matches(&weights(4, 1)));
        assert!(split(0).matches(&weights(1, 0)));
        assert!(split(100).matches(&[TargetGroupWeight {
            target_group_arn: "green".into(),
            weight: 1
        }]));
    }

    #[test]
    fn a_split_does_not_match_other_weights_or_extra_target_groups() {
        assert!(!split(20).matches(&weights(70, 30)));
        assert!(!split(0).matches(&weights(0, 0)));
        let mut extra = weights(80, 20);
        extra.push(TargetGroupWeight {
            target_group_arn: "other".into(),
            weight: 1,
        });
        assert!(!split(20).matches(&extra));
    }
}
