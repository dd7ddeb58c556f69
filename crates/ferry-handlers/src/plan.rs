//! `plan`: from a commit to a locked, recorded deployment.
//!
//! Reads the manifest and task definition at the commit, the live service (primary task set,
//! the target group it serves, the listener's weights) and the alarms; decides which target
//! group is blue and which green; takes the per-service lock; writes the record. Nothing in
//! ECS or the load balancer is changed here, so a refusal leaves everything as it was.

use ferry_core::analysis::slow_alarms;
use ferry_core::deployment::{
    Deployment, DeploymentStatus, Policy, Source, TaskSetRef, TrafficTarget, cluster_name,
    new_deployment_id, service_key, short_commit,
};
use ferry_core::hooks::HookStage;
use ferry_core::manifest::{self, Manifest};
use ferry_core::plan::{Plan, Strategy};
use ferry_core::ports::{
    AlarmStatus, PortError, RouteRef, ServiceInfo, ServiceLock, TargetGroupWeight, TaskSetStatus,
    weight_to,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::Duration;
use tracing::{info, warn};

use crate::error::port;
use crate::record::notify;
use crate::{Deps, ErrorKind, HandlerError};

/// What to deploy: the deploy workflow's input (`statemachines/deploy.asl.json`), published as
/// `docs/schemas/deploy-input.schema.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(title = "Ferry deploy workflow input")]
pub struct PlanInput {
    /// Set by the state machine to its execution name, so a retried `plan` finds its own
    /// record instead of making a second one. Leave it out when starting an execution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_id: Option<String>,
    /// The GitHub repository, `owner/name`, that holds the manifest.
    pub repository: String,
    /// The commit to deploy: 40 hexadecimal digits.
    #[schemars(regex(pattern = "^[0-9a-fA-F]{40}$"))]
    pub commit: String,
    /// Path of the manifest in the repository, e.g. `.ferry/web.yaml`.
    pub manifest_path: String,
    /// The branch the commit is on (`${GIT_BRANCH}` in the task definition).
    #[serde(default)]
    pub branch: Option<String>,
    /// Who made the change, as recorded and shown.
    #[serde(default)]
    pub author: Option<String>,
    /// Replaces the image of the manifest's container (`ferry deploy --image`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Set by Ferry when a push started this deployment: the generation of the service's
    /// desired state it deploys. Plan then deploys it only while it is still what the branch
    /// says (not superseded by a newer push, the branch head or the same files as it, not
    /// older than production), and at most once. Leave it out to deploy a commit on purpose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired_generation: Option<u64>,
}

impl PlanInput {
    /// The deploy workflow's input, as `ferry deploy` and push-deploy start it.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).expect("a plan input is plain JSON")
    }
}

/// What the state machine needs to drive the deployment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanOutput {
    pub deployment_id: String,
    pub service: String,
    pub cluster: String,
    pub plan: Plan,
    /// One entry per step, ready for a Map state: index, weight, bake, approve.
    pub steps: Vec<StepItem>,
    pub approval_timeout_seconds: u64,
    /// `continue` or `rollback`.
    pub on_approval_timeout: String,
    pub keep_old_for_seconds: u64,
    pub holds: bool,
    /// Which once-per-deployment hook stages have hooks, for the state machine's choices.
    pub hook_stages: HookStages,
}

/// Whether hooks run at a stage that happens once per deployment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HookStages {
    pub after_test_traffic: bool,
    pub after_traffic: bool,
}

/// A step as the state machine iterates it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StepItem {
    pub deployment_id: String,
    pub step: usize,
    pub weight: u8,
    pub bake_seconds: u64,
    pub approve: bool,
    pub approval_timeout_seconds: u64,
    /// `continue` or `rollback`.
    pub on_approval_timeout: String,
    /// Whether `beforeStep` hooks run before this step moves traffic.
    pub hooks_before: bool,
    /// Whether `afterStep` hooks run once its bake and alarms passed.
    pub hooks_after: bool,
}

pub async fn handle(deps: &Deps, input: PlanInput) -> Result<PlanOutput, HandlerError> {
    check_commit(&input.commit)?;
    if let Some(id) = &input.deployment_id
        && let Some(existing) = deps
            .store
            .get(id)
            .await
            .map_err(port("reading the deployment record"))?
    {
        info!(deployment = %id, "already planned");
        return Ok(output(&existing));
    }

    let manifest = read_manifest(deps, &input).await?;
    if let Some(generation) = input.desired_generation {
        crate::converge::check_still_desired(
            deps,
            &input,
            &service_key(&manifest.cluster, &manifest.service),
            generation,
        )
        .await?;
    }
    // A live deployment of the service is the most useful thing to report: say it first.
    refuse_if_locked(
        deps,
        &service_key(&manifest.cluster, &manifest.service),
        input.deployment_id.as_deref(),
    )
    .await?;
    let service = deps
        .ecs
        .describe_service(&manifest.cluster, &manifest.service)
        .await
        .map_err(|error| match error {
            ferry_core::ports::PortError::NotFound(_) => HandlerError::non_retryable(format!(
                "service {} not found in cluster {}: create it with the EXTERNAL deployment controller first",
                manifest.service, manifest.cluster
            )),
            other => HandlerError::from_port("describing the service", other),
        })?;
    let mut colours = decide_colours(&manifest, &service)?;
    let route = RouteRef {
        listener_arn: manifest.traffic.listener.clone(),
        rule_arn: manifest.traffic.rule.clone(),
    };
    let first = colours.blue.is_none();
    let weights = check_route(
        deps,
        &route,
        &colours.blue_target_group,
        &colours.green_target_group,
        first,
    )
    .await?;
    if first {
        colours = onto_the_idle_group(colours, &weights);
    }
    let (blue_target_group, green_target_group) =
        (&colours.blue_target_group, &colours.green_target_group);
    if let Some(test_listener) = &manifest.traffic.test_listener {
        check_test_route(deps, test_listener, blue_target_group, green_target_group).await?;
    }
    let alarms = check_alarms_exist(deps, &manifest.alarms).await?;

    let now = deps.clock.now();
    let id = input
        .deployment_id
        .clone()
        .unwrap_or_else(|| new_deployment_id(&manifest.service, now, &input.commit));
    // A first deployment has nothing to compare green with: no canary, all traffic at once
    // (after the approval, if the manifest asks for one), and no blue to keep warm.
    let plan = if first {
        Plan::new(&Strategy::AllAtOnce, manifest.approval.before_traffic)
    } else {
        manifest.plan()
    };
    let key = service_key(&manifest.cluster, &manifest.service);
    let expires_at = now + lock_lease(deps, &manifest, &plan);

    let mut document = manifest.task_definition.document.clone();
    substitute(&mut document, &input.commit, &id, input.branch.as_deref());
    if let Some(image) = &input.image {
        set_image(&mut document, &manifest.container.name, image);
    }
    let message = commit_summary(deps, &input.repository, &input.commit).await;
    let mut deployment = Deployment {
        id: id.clone(),
        service: manifest.service.clone(),
        cluster: cluster_name(&manifest.cluster).to_string(),
        source: Source {
            repository: input.repository.clone(),
            commit: input.commit.clone(),
            branch: input.branch.clone(),
            author: input.author.clone(),
            message,
            manifest_path: input.manifest_path.clone(),
        },
        status: DeploymentStatus::Pending,
        plan,
        policy: Policy {
            alarms: manifest.alarms.clone(),
            rollback_on_alarm: manifest.rollback.on_alarm,
            on_insufficient_data: manifest.rollback.on_insufficient_data,
            keep_old_for_seconds: if first {
                0
            } else {
                manifest.rollback.keep_old_for_seconds
            },
            approvers: manifest.approval.approvers.clone(),
            self_approval: manifest.approval.self_approval,
            rollback_by_approvers: manifest.approval.rollback_by_approvers,
            approval_timeout_seconds: manifest.approval.timeout_seconds,
            on_approval_timeout: manifest.approval.on_timeout,
            slack_channel: manifest.slack_channel.clone(),
            slack_verbosity: manifest.slack_verbosity,
            on_newer_push: manifest.on_newer_push,
            hooks: manifest.hooks.clone(),
        },
        traffic: TrafficTarget {
            listener_arn: manifest.traffic.listener.clone(),
            rule_arn: manifest.traffic.rule.clone(),
            test_listener_arn: manifest.traffic.test_listener.clone(),
        },
        blue_target_group: colours.blue_target_group.clone(),
        green_target_group: colours.green_target_group.clone(),
        blue: colours.blue.clone(),
        green: None,
        task_definition: document,
        placement: manifest.network.clone(),
        container_name: manifest.container.name.clone(),
        container_port: manifest.container.port,
        applied_step: None,
        green_weight: 0,
        test_traffic: None,
        hook_runs: Vec::new(),
        pending_token: None,
        cleanup_started: false,
        fence: None,
        reason: None,
        history: Vec::new(),
        history_dropped: 0,
        created_at: now,
        updated_at: now,
        finished_at: None,
        version: 0,
    };
    let planned = deployment.planned(now);
    if first {
        deployment.warned(
            now,
            format!(
                "first deployment of {key}: nothing runs yet, so there is no canary (nothing to compare green with); green gets all traffic once it is stable{}, and the manifest's strategy applies from the next deployment",
                if manifest.approval.before_traffic {
                    " and approved"
                } else {
                    ""
                }
            ),
        );
    }
    for warning in slow_alarms(&deployment.plan, &alarms) {
        warn!(deployment = %id, %warning, "plan warning");
        deployment.warned(now, warning);
    }
    let lock = ServiceLock {
        service_key: key.clone(),
        deployment_id: id.clone(),
        acquired_at: now,
        expires_at,
    };
    if let Some(existing) =
        create_locked(deps, &deployment, &lock, input.desired_generation).await?
    {
        return Ok(output(&existing));
    }
    info!(deployment = %id, service = %key, steps = deployment.plan.steps.len(), "planned");
    notify(deps, &deployment, &planned).await;
    Ok(output(&deployment))
}

/// The state machine's view of a deployment.
pub fn output(deployment: &Deployment) -> PlanOutput {
    let policy = &deployment.policy;
    let has_hooks = |stage: HookStage| policy.hooks.iter().any(|hook| hook.stage == stage);
    let on_approval_timeout = match policy.on_approval_timeout {
        ferry_core::deployment::OnTimeout::Continue => "continue".to_string(),
        ferry_core::deployment::OnTimeout::Rollback => "rollback".to_string(),
    };
    PlanOutput {
        deployment_id: deployment.id.clone(),
        service: deployment.service.clone(),
        cluster: deployment.cluster.clone(),
        plan: deployment.plan.clone(),
        steps: deployment
            .plan
            .steps
            .iter()
            .enumerate()
            .map(|(index, step)| StepItem {
                deployment_id: deployment.id.clone(),
                step: index,
                weight: step.weight,
                bake_seconds: step.bake_seconds,
                approve: step.approve,
                approval_timeout_seconds: policy.approval_timeout_seconds,
                on_approval_timeout: on_approval_timeout.clone(),
                hooks_before: has_hooks(HookStage::BeforeStep),
                hooks_after: has_hooks(HookStage::AfterStep),
            })
            .collect(),
        approval_timeout_seconds: policy.approval_timeout_seconds,
        on_approval_timeout,
        keep_old_for_seconds: policy.keep_old_for_seconds,
        holds: deployment.plan.holds_at.is_some(),
        hook_stages: HookStages {
            after_test_traffic: has_hooks(HookStage::AfterTestTraffic),
            after_traffic: has_hooks(HookStage::AfterTraffic),
        },
    }
}

/// The first line of the commit's message, cut to a line's length, for the record and the
/// views. Best effort: a repository that cannot say leaves it out, never the deployment.
async fn commit_summary(deps: &Deps, repository: &str, commit: &str) -> Option<String> {
    const MAX_SUMMARY_CHARS: usize = 200;
    match deps.git.commit_message(repository, commit).await {
        Ok(message) => message
            .as_deref()
            .and_then(|message| message.lines().map(str::trim).find(|line| !line.is_empty()))
            .map(|line| ferry_core::text::cut(line, MAX_SUMMARY_CHARS)),
        Err(error) => {
            tracing::debug!(%error, repository, commit, "commit message not read");
            None
        }
    }
}

async fn read_manifest(deps: &Deps, input: &PlanInput) -> Result<Manifest, HandlerError> {
    let read = |path: String| async move {
        deps.git
            .read_file(&input.repository, &input.commit, &path)
            .await
    };
    let text = read(input.manifest_path.clone())
        .await
        .map_err(port("reading the manifest"))?
        .ok_or_else(|| {
            HandlerError::new(
                ErrorKind::InvalidManifest,
                format!(
                    "{} does not exist in {} at {}",
                    input.manifest_path,
                    input.repository,
                    short_commit(&input.commit)
                ),
            )
        })?;
    let draft = manifest::parse_manifest(&input.manifest_path, &text)
        .map_err(|problems| HandlerError::new(ErrorKind::InvalidManifest, problems.to_string()))?;
    let task_definition = match read(draft.task_definition_path.clone()).await {
        Ok(found) => Ok(found),
        Err(error) if error.is_retryable() => {
            return Err(HandlerError::from_port(
                "reading the task definition",
                error,
            ));
        }
        Err(error) => Err(error.to_string()),
    };
    draft
        .complete(task_definition)
        .map_err(|problems| HandlerError::new(ErrorKind::InvalidManifest, problems.to_string()))
}

/// Blue is the primary task set; green goes on the other of the manifest's two target groups.
fn decide_colours(manifest: &Manifest, service: &ServiceInfo) -> Result<Colours, HandlerError> {
    let refuse = |message: String| Err(HandlerError::non_retryable(message));
    if service.status != "ACTIVE" {
        return refuse(format!(
            "service {} is {}, not ACTIVE",
            service.name, service.status
        ));
    }
    if service.deployment_controller != "EXTERNAL" {
        return refuse(format!(
            "service {} uses the {} deployment controller; Ferry needs EXTERNAL (recreate the service with deploymentController {{type: EXTERNAL}})",
            service.name, service.deployment_controller
        ));
    }
    let [first, second] = &manifest.traffic.target_groups;
    let Some(primary) = service.primary_task_set() else {
        // Nothing runs yet: the service's first deployment, on the first target group.
        if let Some(leftover) = service.task_sets.first() {
            return refuse(format!(
                "service {} has task set {} (external id {}) but none is primary; a deployment did not finish: roll it back or delete the task set",
                service.name,
                leftover.id,
                leftover.external_id.as_deref().unwrap_or("none")
            ));
        }
        if manifest.network.is_none() {
            return refuse(format!(
                "service {} has no task set yet, so there is nothing to copy where tasks run from: for its first deployment, add `network:` to the manifest (subnets, securityGroups, assignPublicIp, and launchType or capacityProviders)",
                service.name
            ));
        }
        return Ok(Colours {
            blue: None,
            blue_target_group: second.clone(),
            green_target_group: first.clone(),
        });
    };
    let blue_group = primary
        .target_group_arns
        .iter()
        .find(|arn| *arn == first || *arn == second)
        .cloned();
    let Some(blue_group) = blue_group else {
        return refuse(format!(
            "the primary task set {} is not registered with either of traffic.targetGroups (it serves {})",
            primary.id,
            primary.target_group_arns.join(", ")
        ));
    };
    let green_group = if &blue_group == first {
        second.clone()
    } else {
        first.clone()
    };
    if let Some(squatter) = service.task_sets.iter().find(|set| {
        set.status != TaskSetStatus::Primary && set.target_group_arns.contains(&green_group)
    }) {
        return refuse(format!(
            "task set {} (external id {}) is already on the idle target group {}; a previous deployment did not finish: roll it back or delete the task set",
            squatter.id,
            squatter.external_id.as_deref().unwrap_or("none"),
            green_group
        ));
    }
    Ok(Colours {
        blue: Some(TaskSetRef {
            id: primary.id.clone(),
            arn: primary.arn.clone(),
            task_definition_arn: primary.task_definition_arn.clone(),
            target_group_arn: blue_group.clone(),
        }),
        blue_target_group: blue_group,
        green_target_group: green_group,
    })
}

/// A first deployment goes on the target group the listener does not send traffic to: when
/// something else serves there (a service moving from CodeDeploy), a rollback gives the traffic
/// back to it.
fn onto_the_idle_group(colours: Colours, weights: &[TargetGroupWeight]) -> Colours {
    if weight_to(weights, &colours.green_target_group) > 0
        && weight_to(weights, &colours.blue_target_group) == 0
    {
        Colours {
            blue: None,
            blue_target_group: colours.green_target_group,
            green_target_group: colours.blue_target_group,
        }
    } else {
        colours
    }
}

/// Which target group serves now (blue, with its task set unless nothing runs yet) and which
/// one green goes on.
struct Colours {
    blue: Option<TaskSetRef>,
    blue_target_group: String,
    green_target_group: String,
}

/// The route must forward only to our two target groups, with all traffic on blue.
async fn check_route(
    deps: &Deps,
    route: &RouteRef,
    blue: &str,
    green: &str,
    first: bool,
) -> Result<Vec<TargetGroupWeight>, HandlerError> {
    let weights = deps
        .traffic
        .read_weights(route)
        .await
        .map_err(|error| match error {
            ferry_core::ports::PortError::NotFound(what) => HandlerError::non_retryable(format!(
                "{what} not found: check traffic.listener and traffic.rule"
            )),
            other => HandlerError::from_port("reading the listener's weights", other),
        })?;
    let where_ = route.rule_arn.as_deref().unwrap_or(&route.listener_arn);
    if let Some(other) = weights
        .iter()
        .find(|entry| entry.target_group_arn != blue && entry.target_group_arn != green)
    {
        return Err(HandlerError::non_retryable(format!(
            "{where_} forwards to {}, which is not one of traffic.targetGroups; it must forward only to the two target groups",
            other.target_group_arn
        )));
    }
    // Before the first deployment nothing serves: whatever the listener forwards to among the
    // two, the first shift points it at green.
    if first {
        return Ok(weights);
    }
    if weight_to(&weights, blue) == 0 {
        return Err(HandlerError::non_retryable(format!(
            "{where_} sends no traffic to {blue}, the target group of the primary task set"
        )));
    }
    if weight_to(&weights, green) != 0 {
        return Err(HandlerError::non_retryable(format!(
            "{where_} already sends traffic to the idle target group {green}; a previous deployment did not finish: roll it back first"
        )));
    }
    Ok(weights)
}

/// The alarms' statuses; `NonRetryable` when one does not exist.
/// The test listener is Ferry's to point at green and back: it must forward, and only to the
/// two target groups (any weights; Ferry sets them once green is stable).
async fn check_test_route(
    deps: &Deps,
    listener: &str,
    blue: &str,
    green: &str,
) -> Result<(), HandlerError> {
    let route = RouteRef {
        listener_arn: listener.to_string(),
        rule_arn: None,
    };
    let weights = deps
        .traffic
        .read_weights(&route)
        .await
        .map_err(|error| match error {
            ferry_core::ports::PortError::NotFound(what) => HandlerError::new(
                ErrorKind::InvalidManifest,
                format!("traffic.testListener: {what} not found"),
            ),
            ferry_core::ports::PortError::Invalid(why) => HandlerError::new(
                ErrorKind::InvalidManifest,
                format!("traffic.testListener: {why}"),
            ),
            other => HandlerError::from_port("reading the test listener's weights", other),
        })?;
    if let Some(other) = weights
        .iter()
        .find(|entry| entry.target_group_arn != blue && entry.target_group_arn != green)
    {
        return Err(HandlerError::new(
            ErrorKind::InvalidManifest,
            format!(
                "traffic.testListener {listener} forwards to {}, which is not one of traffic.targetGroups; it must forward only to the two target groups",
                other.target_group_arn
            ),
        ));
    }
    Ok(())
}

async fn check_alarms_exist(
    deps: &Deps,
    alarms: &[String],
) -> Result<Vec<AlarmStatus>, HandlerError> {
    if alarms.is_empty() {
        return Ok(Vec::new());
    }
    let found = deps
        .alarms
        .describe_alarms(alarms)
        .await
        .map_err(port("describing the alarms"))?;
    let missing: Vec<&str> = alarms
        .iter()
        .filter(|name| !found.iter().any(|status| &status.name == *name))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return Err(HandlerError::non_retryable(format!(
            "alarm{} {} do{} not exist: create {} or remove {} from alarms",
            if missing.len() == 1 { "" } else { "s" },
            missing.join(", "),
            if missing.len() == 1 { "es" } else { "" },
            if missing.len() == 1 { "it" } else { "them" },
            if missing.len() == 1 { "it" } else { "them" },
        )));
    }
    Ok(found)
}

/// How long the lock lives: everything the deployment may legitimately take, plus an hour.
/// After that a crashed deployment's lock can be taken over.
fn lock_lease(deps: &Deps, manifest: &Manifest, plan: &Plan) -> Duration {
    let approvals = plan.approvals() as u64 * manifest.approval.timeout_seconds;
    // A hook may take its whole timeout, once per step when it runs per step.
    let hooks: u64 = manifest
        .hooks
        .iter()
        .map(|hook| {
            let runs = if hook.stage.per_step() {
                plan.steps.len() as u64
            } else {
                1
            };
            runs * hook.timeout_seconds
        })
        .sum();
    let seconds = deps.settings.stabilization_timeout_seconds
        + plan.min_duration_seconds()
        + approvals
        + hooks
        + manifest.rollback.keep_old_for_seconds
        + 3600;
    Duration::seconds(seconds as i64)
}

/// `LockHeld` when another live deployment holds the service, without writing anything.
async fn refuse_if_locked(deps: &Deps, key: &str, me: Option<&str>) -> Result<(), HandlerError> {
    let Some(lock) = deps
        .store
        .get_lock(key)
        .await
        .map_err(port("reading the service lock"))?
    else {
        return Ok(());
    };
    if Some(lock.deployment_id.as_str()) == me || lock.expires_at <= deps.clock.now() {
        return Ok(());
    }
    let holder = deps
        .store
        .get(&lock.deployment_id)
        .await
        .map_err(port("reading the lock holder"))?;
    match holder {
        Some(holder) if holder.status.is_terminal() => Ok(()),
        Some(holder) => Err(lock_held(key, &lock, holder.status.name())),
        // Lock and record are written together: a lock without a record is a plan in flight.
        None => Err(lock_held(key, &lock, "planning")),
    }
}

fn lock_held(key: &str, lock: &ferry_core::ports::ServiceLock, status: &str) -> HandlerError {
    HandlerError::new(
        ErrorKind::LockHeld,
        format!(
            "{key} is being deployed by {} ({status}, since {}); wait for it, or roll it back with `ferry rollback {}`",
            lock.deployment_id, lock.acquired_at, lock.deployment_id
        ),
    )
}

/// Writes the record and takes the lock in one transaction (see
/// [`DeploymentStore::create_with_lock`](ferry_core::ports::DeploymentStore::create_with_lock)).
/// `Some(record)` when a retry finds that an earlier attempt of this plan already wrote it.
/// With `settles`, the same write settles that generation of the service's desired state.
async fn create_locked(
    deps: &Deps,
    deployment: &Deployment,
    lock: &ServiceLock,
    settles: Option<u64>,
) -> Result<Option<Deployment>, HandlerError> {
    let mut replacing: Option<String> = None;
    // Twice at most: once as things are, once replacing a holder found to have ended.
    for _ in 0..2 {
        let error = match deps
            .store
            .create_with_lock(deployment, lock, replacing.as_deref(), settles)
            .await
        {
            Ok(()) => return Ok(None),
            Err(PortError::Conflict(message)) => message,
            Err(other) => {
                return Err(HandlerError::from_port(
                    "recording the deployment and taking the service lock",
                    other,
                ));
            }
        };
        // A retry after the transaction landed (its answer lost): the record is ours.
        if let Some(existing) = deps
            .store
            .get(&deployment.id)
            .await
            .map_err(port("reading the deployment record"))?
        {
            return Ok(Some(existing));
        }
        if let Some(generation) = settles {
            crate::converge::refuse_if_settled(deps, &lock.service_key, generation).await?;
        }
        let Some(held) = deps
            .store
            .get_lock(&lock.service_key)
            .await
            .map_err(port("reading the service lock"))?
        else {
            // Released meanwhile: try again as things are now.
            replacing = None;
            continue;
        };
        let holder = deps
            .store
            .get(&held.deployment_id)
            .await
            .map_err(port("reading the lock holder"))?;
        // Only a holder that has *ended* gives its lock up before the lease runs out. A holder
        // without a record is a plan whose write is in flight (lock and record are written
        // together, so it cannot be a crash): never take over from it.
        match holder {
            Some(holder) if holder.status.is_terminal() => {
                info!(service = %lock.service_key, holder = %held.deployment_id, "taking over the lock of an ended deployment");
                replacing = Some(held.deployment_id.clone());
            }
            Some(holder) => return Err(lock_held(&lock.service_key, &held, holder.status.name())),
            None => return Err(lock_held(&lock.service_key, &held, "planning")),
        }
        tracing::debug!(%error, "lock or record write refused; retrying once");
    }
    Err(HandlerError::retryable(format!(
        "the lock of {} keeps changing hands; try again",
        lock.service_key
    )))
}

/// `${GIT_SHA}`, `${GIT_SHORT_SHA}`, `${FERRY_DEPLOYMENT_ID}` and, when the branch is known,
/// `${GIT_BRANCH}` in any string of the document.
fn substitute(value: &mut Value, commit: &str, deployment_id: &str, branch: Option<&str>) {
    match value {
        Value::String(text) if text.contains("${") => {
            let mut replaced = text
                .replace("${GIT_SHA}", commit)
                .replace("${GIT_SHORT_SHA}", short_commit(commit))
                .replace("${FERRY_DEPLOYMENT_ID}", deployment_id);
            if let Some(branch) = branch {
                replaced = replaced.replace("${GIT_BRANCH}", branch);
            }
            *text = replaced;
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|item| substitute(item, commit, deployment_id, branch)),
        Value::Object(map) => map
            .values_mut()
            .for_each(|item| substitute(item, commit, deployment_id, branch)),
        _ => {}
    }
}

fn set_image(document: &mut Value, container: &str, image: &str) {
    if let Some(containers) = document
        .get_mut("containerDefinitions")
        .and_then(Value::as_array_mut)
    {
        for definition in containers {
            if definition.get("name").and_then(Value::as_str) == Some(container) {
                definition["image"] = Value::String(image.to_string());
            }
        }
    }
}

/// A commit names a revision: a Git id, or a local checkout's label; never empty or free text
/// (it ends up in ids, tags and messages).
fn check_commit(commit: &str) -> Result<(), HandlerError> {
    let valid = !commit.is_empty()
        && commit.len() <= 64
        && commit
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
    if valid {
        return Ok(());
    }
    Err(HandlerError::non_retryable(format!(
        "commit {commit:?} is not a commit id: pass the full id (40 hexadecimal digits)"
    )))
}
