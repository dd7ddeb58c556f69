//! In-memory fakes of every port, for unit tests and examples. They follow the documented
//! behaviour of the real services closely enough that handler logic tested against them holds
//! against AWS: conditional writes conflict, deletes are idempotent, weights are relative.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use async_trait::async_trait;
use serde_json::Value;
use time::OffsetDateTime;

use ferry_core::convergence::{Desired, Relation};
use ferry_core::deployment::{Deployment, cluster_name};
use ferry_core::lifecycle::Event;
use ferry_core::ports::*;

fn locked<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panicking test thread must not cascade into every other assertion.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

// ---------------------------------------------------------------------------------------------

/// A fake ECS holding services and their task sets.
#[derive(Default)]
pub struct MemoryEcs {
    state: Mutex<EcsState>,
}

#[derive(Default)]
struct EcsState {
    services: HashMap<(String, String), ServiceInfo>,
    task_definitions: Vec<Value>,
    next_id: u64,
    /// Calls to fail once with the given error, keyed by method name.
    failures: HashMap<&'static str, Vec<PortError>>,
    calls: Vec<String>,
}

impl MemoryEcs {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a service; `cluster` may be a name or ARN.
    pub fn put_service(&self, cluster: &str, service: ServiceInfo) {
        let key = (cluster_name(cluster).to_string(), service.name.clone());
        locked(&self.state).services.insert(key, service);
    }

    pub fn service(&self, cluster: &str, service: &str) -> Option<ServiceInfo> {
        let key = (cluster_name(cluster).to_string(), service.to_string());
        locked(&self.state).services.get(&key).cloned()
    }

    /// Registered task definition documents, oldest first.
    pub fn task_definitions(&self) -> Vec<Value> {
        locked(&self.state).task_definitions.clone()
    }

    /// Makes the next call of `method` fail with `error`.
    pub fn fail_next(&self, method: &'static str, error: PortError) {
        locked(&self.state)
            .failures
            .entry(method)
            .or_default()
            .push(error);
    }

    /// Names of the calls made so far, in order.
    pub fn calls(&self) -> Vec<String> {
        locked(&self.state).calls.clone()
    }

    /// Sets every task set of the service steady (or not); steady task sets run all their tasks,
    /// as ECS reports after a while.
    pub fn set_steady(&self, cluster: &str, service: &str, steady: bool) {
        let key = (cluster_name(cluster).to_string(), service.to_string());
        if let Some(found) = locked(&self.state).services.get_mut(&key) {
            for set in &mut found.task_sets {
                set.steady = steady;
                if steady {
                    set.running_count = set.computed_desired_count;
                    set.pending_count = 0;
                }
            }
        }
    }

    /// Sets how many tasks of one task set run (a crash loop runs fewer than desired).
    pub fn set_running(&self, cluster: &str, service: &str, task_set: &str, running: i32) {
        let key = (cluster_name(cluster).to_string(), service.to_string());
        if let Some(found) = locked(&self.state).services.get_mut(&key)
            && let Some(set) = found.task_sets.iter_mut().find(|set| set.id == task_set)
        {
            set.running_count = running;
        }
    }

    fn enter(&self, method: &'static str) -> PortResult<std::sync::MutexGuard<'_, EcsState>> {
        let mut state = locked(&self.state);
        state.calls.push(method.to_string());
        if let Some(queue) = state.failures.get_mut(method)
            && !queue.is_empty()
        {
            return Err(queue.remove(0));
        }
        Ok(state)
    }
}

fn service_mut<'a>(
    state: &'a mut EcsState,
    cluster: &str,
    service: &str,
) -> PortResult<&'a mut ServiceInfo> {
    state
        .services
        .get_mut(&(cluster_name(cluster).to_string(), service.to_string()))
        .ok_or_else(|| PortError::NotFound(format!("service {service} in cluster {cluster}")))
}

#[async_trait]
impl TaskSetDeployer for MemoryEcs {
    async fn describe_service(&self, cluster: &str, service: &str) -> PortResult<ServiceInfo> {
        let mut state = self.enter("describe_service")?;
        service_mut(&mut state, cluster, service).map(|found| found.clone())
    }

    async fn register_task_definition(&self, document: &Value) -> PortResult<String> {
        let mut state = self.enter("register_task_definition")?;
        let family = document
            .get("family")
            .and_then(Value::as_str)
            .ok_or_else(|| PortError::Invalid("task definition has no family".into()))?
            .to_string();
        state.task_definitions.push(document.clone());
        let revision = state
            .task_definitions
            .iter()
            .filter(|doc| doc.get("family").and_then(Value::as_str) == Some(family.as_str()))
            .count();
        Ok(format!(
            "arn:aws:ecs:eu-west-1:123456789012:task-definition/{family}:{revision}"
        ))
    }

    async fn create_task_set(&self, request: &NewTaskSet) -> PortResult<TaskSetInfo> {
        let mut state = self.enter("create_task_set")?;
        state.next_id += 1;
        let id = format!("ecs-svc/{:019}", state.next_id);
        let found = service_mut(&mut state, &request.cluster, &request.service)?;
        if found.deployment_controller != "EXTERNAL" {
            return Err(PortError::Invalid(
                "task sets need the EXTERNAL deployment controller".into(),
            ));
        }
        let desired =
            (f64::from(found.desired_count) * request.scale_percent / 100.0).ceil() as i32;
        let info = TaskSetInfo {
            arn: format!("{}/{}", found.arn.replace(":service/", ":task-set/"), id),
            id,
            external_id: Some(request.external_id.clone()),
            status: TaskSetStatus::Active,
            task_definition_arn: request.task_definition_arn.clone(),
            target_group_arns: vec![request.target_group_arn.clone()],
            steady: false,
            scale_percent: request.scale_percent,
            computed_desired_count: desired,
            running_count: 0,
            pending_count: desired,
            placement: request.placement.clone(),
        };
        found.task_sets.push(info.clone());
        Ok(info)
    }

    async fn describe_task_set(
        &self,
        cluster: &str,
        service: &str,
        task_set: &str,
    ) -> PortResult<Option<TaskSetInfo>> {
        let mut state = self.enter("describe_task_set")?;
        let found = service_mut(&mut state, cluster, service)?;
        Ok(found
            .task_sets
            .iter()
            .find(|set| set.id == task_set || set.arn == task_set)
            .cloned())
    }

    async fn set_primary_task_set(
        &self,
        cluster: &str,
        service: &str,
        task_set: &str,
    ) -> PortResult<()> {
        let mut state = self.enter("set_primary_task_set")?;
        let found = service_mut(&mut state, cluster, service)?;
        if !found
            .task_sets
            .iter()
            .any(|set| set.id == task_set || set.arn == task_set)
        {
            return Err(PortError::NotFound(format!("task set {task_set}")));
        }
        for set in &mut found.task_sets {
            set.status = if set.id == task_set || set.arn == task_set {
                TaskSetStatus::Primary
            } else {
                TaskSetStatus::Active
            };
        }
        Ok(())
    }

    async fn scale_task_set(
        &self,
        cluster: &str,
        service: &str,
        task_set: &str,
        percent: f64,
    ) -> PortResult<()> {
        let mut state = self.enter("scale_task_set")?;
        let found = service_mut(&mut state, cluster, service)?;
        let desired_count = found.desired_count;
        let set = found
            .task_sets
            .iter_mut()
            .find(|set| set.id == task_set || set.arn == task_set)
            .ok_or_else(|| PortError::NotFound(format!("task set {task_set}")))?;
        set.scale_percent = percent;
        set.computed_desired_count = (f64::from(desired_count) * percent / 100.0).ceil() as i32;
        Ok(())
    }

    async fn delete_task_set(
        &self,
        cluster: &str,
        service: &str,
        task_set: &str,
    ) -> PortResult<()> {
        let mut state = self.enter("delete_task_set")?;
        let found = service_mut(&mut state, cluster, service)?;
        found
            .task_sets
            .retain(|set| set.id != task_set && set.arn != task_set);
        Ok(())
    }

    async fn describe_task_definition(&self, arn: &str) -> PortResult<TaskDefinitionInfo> {
        let state = self.enter("describe_task_definition")?;
        // `…:task-definition/FAMILY:REVISION`, revisions counted per family from 1.
        let name = arn.rsplit('/').next().unwrap_or(arn);
        let missing = || PortError::NotFound(format!("task definition {arn}"));
        let (family, revision) = name.rsplit_once(':').ok_or_else(missing)?;
        let revision: usize = revision.parse().map_err(|_| missing())?;
        let document = state
            .task_definitions
            .iter()
            .filter(|doc| doc.get("family").and_then(Value::as_str) == Some(family))
            .nth(revision.checked_sub(1).ok_or_else(missing)?)
            .ok_or_else(missing)?;
        let containers = document
            .get("containerDefinitions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|container| ContainerImage {
                container: container["name"].as_str().unwrap_or_default().to_string(),
                image: container["image"].as_str().unwrap_or_default().to_string(),
            })
            .collect();
        Ok(TaskDefinitionInfo {
            arn: arn.to_string(),
            name: name.to_string(),
            containers,
        })
    }
}

// ---------------------------------------------------------------------------------------------

/// A fake ALB: forward actions per listener or rule.
#[derive(Default)]
pub struct MemoryAlb {
    routes: Mutex<HashMap<RouteRef, Vec<TargetGroupWeight>>>,
    writes: Mutex<Vec<(RouteRef, Split)>>,
    failures: Mutex<Vec<PortError>>,
}

impl MemoryAlb {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the forward action of `route` to these target groups and weights.
    pub fn put_route(&self, route: RouteRef, weights: Vec<TargetGroupWeight>) {
        locked(&self.routes).insert(route, weights);
    }

    pub fn weights(&self, route: &RouteRef) -> Option<Vec<TargetGroupWeight>> {
        locked(&self.routes).get(route).cloned()
    }

    /// Every `set_weights` call that changed something, in order.
    pub fn writes(&self) -> Vec<(RouteRef, Split)> {
        locked(&self.writes).clone()
    }

    /// Makes the next `set_weights` fail.
    pub fn fail_next_write(&self, error: PortError) {
        locked(&self.failures).push(error);
    }
}

#[async_trait]
impl TrafficRouter for MemoryAlb {
    async fn read_weights(&self, route: &RouteRef) -> PortResult<Vec<TargetGroupWeight>> {
        locked(&self.routes)
            .get(route)
            .cloned()
            .ok_or_else(|| PortError::NotFound(format!("listener {}", route.listener_arn)))
    }

    async fn set_weights(&self, route: &RouteRef, split: &Split) -> PortResult<()> {
        {
            let mut failures = locked(&self.failures);
            if !failures.is_empty() {
                return Err(failures.remove(0));
            }
        }
        let mut routes = locked(&self.routes);
        let current = routes
            .get_mut(route)
            .ok_or_else(|| PortError::NotFound(format!("listener {}", route.listener_arn)))?;
        if split.matches(current) {
            return Ok(());
        }
        *current = split.as_weights();
        locked(&self.writes).push((route.clone(), split.clone()));
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------

/// Fake CloudWatch alarms.
#[derive(Default)]
pub struct MemoryAlarms {
    alarms: Mutex<BTreeMap<String, AlarmStatus>>,
}

impl MemoryAlarms {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets how much data `name` needs to fire (period x evaluation periods).
    pub fn set_reaction(&self, name: &str, seconds: u64) {
        if let Some(alarm) = locked(&self.alarms).get_mut(name) {
            alarm.reaction_seconds = Some(seconds);
        }
    }

    /// Sets `name`'s state, keeping its reaction time.
    pub fn set(&self, name: &str, state: AlarmState, reason: &str) {
        let mut alarms = locked(&self.alarms);
        let reaction_seconds = alarms.get(name).and_then(|alarm| alarm.reaction_seconds);
        alarms.insert(
            name.to_string(),
            AlarmStatus {
                name: name.to_string(),
                state,
                reason: reason.to_string(),
                updated_at: None,
                reaction_seconds,
            },
        );
    }
}

#[async_trait]
impl AlarmReader for MemoryAlarms {
    async fn describe_alarms(&self, names: &[String]) -> PortResult<Vec<AlarmStatus>> {
        let alarms = locked(&self.alarms);
        Ok(names
            .iter()
            .filter_map(|name| alarms.get(name).cloned())
            .collect())
    }
}

// ---------------------------------------------------------------------------------------------

/// A fake deployment table with conditional writes.
#[derive(Default)]
pub struct MemoryStore {
    deployments: Mutex<BTreeMap<String, Deployment>>,
    locks: Mutex<HashMap<String, ServiceLock>>,
    desired: Mutex<BTreeMap<String, Desired>>,
    threads: Mutex<BTreeMap<String, ThreadRef>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl DeploymentStore for MemoryStore {
    async fn acquire_lock(
        &self,
        service_key: &str,
        deployment_id: &str,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> PortResult<LockOutcome> {
        let mut locks = locked(&self.locks);
        if let Some(existing) = locks.get(service_key)
            && existing.deployment_id != deployment_id
            && existing.expires_at > now
        {
            return Ok(LockOutcome::HeldBy(existing.clone()));
        }
        locks.insert(
            service_key.to_string(),
            ServiceLock {
                service_key: service_key.to_string(),
                deployment_id: deployment_id.to_string(),
                acquired_at: now,
                expires_at,
            },
        );
        Ok(LockOutcome::Acquired)
    }

    async fn take_over_lock(
        &self,
        service_key: &str,
        holder: &str,
        deployment_id: &str,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> PortResult<()> {
        let mut locks = locked(&self.locks);
        match locks.get(service_key) {
            Some(existing) if existing.deployment_id == holder => {}
            None => {}
            Some(existing) => {
                return Err(PortError::Conflict(format!(
                    "lock of {service_key} is now held by {}",
                    existing.deployment_id
                )));
            }
        }
        locks.insert(
            service_key.to_string(),
            ServiceLock {
                service_key: service_key.to_string(),
                deployment_id: deployment_id.to_string(),
                acquired_at: now,
                expires_at,
            },
        );
        Ok(())
    }

    async fn release_lock(&self, service_key: &str, deployment_id: &str) -> PortResult<()> {
        let mut locks = locked(&self.locks);
        if locks
            .get(service_key)
            .is_some_and(|lock| lock.deployment_id == deployment_id)
        {
            locks.remove(service_key);
        }
        Ok(())
    }

    async fn get_lock(&self, service_key: &str) -> PortResult<Option<ServiceLock>> {
        Ok(locked(&self.locks).get(service_key).cloned())
    }

    async fn create(&self, deployment: &Deployment) -> PortResult<()> {
        let mut deployments = locked(&self.deployments);
        if deployments.contains_key(&deployment.id) {
            return Err(PortError::Conflict(format!(
                "deployment {} exists",
                deployment.id
            )));
        }
        deployments.insert(deployment.id.clone(), deployment.clone());
        Ok(())
    }

    async fn create_with_lock(
        &self,
        deployment: &Deployment,
        lock: &ServiceLock,
        replacing: Option<&str>,
        settles: Option<u64>,
    ) -> PortResult<()> {
        // Lock order: locks, deployments, desired (the only place holding them all).
        let mut locks = locked(&self.locks);
        let mut deployments = locked(&self.deployments);
        let mut desired = locked(&self.desired);
        if let Some(generation) = settles {
            let settleable = desired
                .get(&lock.service_key)
                .is_some_and(|state| state.generation == generation && state.is_pending());
            if !settleable {
                return Err(PortError::Conflict(format!(
                    "generation {generation} of {} is no longer the one to deploy",
                    lock.service_key
                )));
            }
        }
        if let Some(existing) = locks.get(&lock.service_key) {
            let takeable = existing.deployment_id == lock.deployment_id
                || existing.expires_at <= lock.acquired_at
                || Some(existing.deployment_id.as_str()) == replacing;
            if !takeable {
                return Err(PortError::Conflict(format!(
                    "lock of {} is held by {}",
                    lock.service_key, existing.deployment_id
                )));
            }
        }
        if deployments.contains_key(&deployment.id) {
            return Err(PortError::Conflict(format!(
                "deployment {} exists",
                deployment.id
            )));
        }
        locks.insert(lock.service_key.clone(), lock.clone());
        deployments.insert(deployment.id.clone(), deployment.clone());
        if let (Some(generation), Some(state)) = (settles, desired.get_mut(&lock.service_key)) {
            state.settle(generation, Some(&deployment.id), lock.acquired_at);
            state.version += 1;
        }
        Ok(())
    }

    async fn get(&self, deployment_id: &str) -> PortResult<Option<Deployment>> {
        Ok(locked(&self.deployments).get(deployment_id).cloned())
    }

    async fn update(&self, deployment: &mut Deployment) -> PortResult<()> {
        let mut deployments = locked(&self.deployments);
        let stored = deployments
            .get_mut(&deployment.id)
            .ok_or_else(|| PortError::NotFound(format!("deployment {}", deployment.id)))?;
        if stored.version != deployment.version {
            return Err(PortError::Conflict(format!(
                "deployment {} was changed by someone else (version {} != {})",
                deployment.id, stored.version, deployment.version
            )));
        }
        deployment.version += 1;
        *stored = deployment.clone();
        Ok(())
    }

    async fn list_for_service(
        &self,
        service_key: &str,
        limit: usize,
    ) -> PortResult<Vec<Deployment>> {
        let deployments = locked(&self.deployments);
        let mut found: Vec<Deployment> = deployments
            .values()
            .filter(|deployment| deployment.service_key() == service_key)
            .cloned()
            .collect();
        found.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
        found.truncate(limit);
        Ok(found)
    }

    async fn list_in_flight(&self) -> PortResult<Vec<Deployment>> {
        Ok(locked(&self.deployments)
            .values()
            .filter(|deployment| !deployment.status.is_terminal())
            .cloned()
            .collect())
    }

    async fn list_recent(&self, limit: usize) -> PortResult<Vec<Deployment>> {
        let mut found: Vec<Deployment> = locked(&self.deployments).values().cloned().collect();
        found.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
        found.truncate(limit);
        Ok(found)
    }

    async fn get_desired(&self, service_key: &str) -> PortResult<Option<Desired>> {
        Ok(locked(&self.desired).get(service_key).cloned())
    }

    async fn put_desired(&self, desired: &mut Desired) -> PortResult<()> {
        let mut stored = locked(&self.desired);
        let version = stored
            .get(&desired.service_key)
            .map_or(0, |existing| existing.version);
        if version != desired.version {
            return Err(PortError::Conflict(format!(
                "the desired state of {} was changed by someone else (version {version} != {})",
                desired.service_key, desired.version
            )));
        }
        desired.version += 1;
        stored.insert(desired.service_key.clone(), desired.clone());
        Ok(())
    }

    async fn list_pending_desired(&self) -> PortResult<Vec<Desired>> {
        Ok(locked(&self.desired)
            .values()
            .filter(|state| state.is_pending())
            .cloned()
            .collect())
    }
}

#[async_trait]
impl ThreadStore for MemoryStore {
    async fn get_thread(&self, deployment_id: &str) -> PortResult<Option<ThreadRef>> {
        Ok(locked(&self.threads).get(deployment_id).cloned())
    }

    async fn put_thread(&self, deployment_id: &str, thread: &ThreadRef) -> PortResult<bool> {
        let mut threads = locked(&self.threads);
        if threads.contains_key(deployment_id) {
            return Ok(false);
        }
        threads.insert(deployment_id.to_string(), thread.clone());
        Ok(true)
    }
}

// ---------------------------------------------------------------------------------------------

/// A fake workflow service that records what it was asked.
#[derive(Default)]
pub struct MemoryWorkflows {
    pub started: Mutex<Vec<(Workflow, String, Value)>>,
    /// Names of executions that have ended ([`MemoryWorkflows::end`]).
    pub ended: Mutex<Vec<String>>,
    pub successes: Mutex<Vec<(String, Value)>>,
    pub failures: Mutex<Vec<(String, String, String)>>,
}

impl MemoryWorkflows {
    pub fn new() -> Self {
        Self::default()
    }

    /// Marks the execution `name` ended: starting it again starts nothing (`closed`).
    pub fn end(&self, name: &str) {
        locked(&self.ended).push(name.to_string());
    }

    /// Names of the executions of `workflow` started so far, in order.
    pub fn names(&self, workflow: Workflow) -> Vec<String> {
        locked(&self.started)
            .iter()
            .filter(|(kind, _, _)| *kind == workflow)
            .map(|(_, name, _)| name.clone())
            .collect()
    }

    /// As Step Functions: a token answers its task once (`TaskTimedOut` after that).
    fn refuse_answered(&self, token: &str) -> PortResult<()> {
        let answered = locked(&self.successes)
            .iter()
            .any(|(known, _)| known == token)
            || locked(&self.failures)
                .iter()
                .any(|(known, _, _)| known == token);
        if answered {
            Err(PortError::Conflict(format!(
                "task {token} was already answered"
            )))
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl WorkflowControl for MemoryWorkflows {
    async fn start(
        &self,
        workflow: Workflow,
        name: &str,
        input: &Value,
    ) -> PortResult<ExecutionRef> {
        // As Step Functions: the same name and input is the same execution; another input is
        // a conflict.
        let mut started = locked(&self.started);
        match started.iter().find(|(_, existing, _)| existing == name) {
            Some((_, _, existing)) if existing != input => {
                return Err(PortError::Conflict(format!(
                    "execution {name} exists with a different input"
                )));
            }
            Some(_) => {}
            None => started.push((workflow, name.to_string(), input.clone())),
        }
        Ok(ExecutionRef {
            execution_arn: format!(
                "arn:aws:states:eu-west-1:123456789012:execution:ferry-{workflow:?}:{name}"
            ),
            started_at: OffsetDateTime::UNIX_EPOCH,
            closed: locked(&self.ended).iter().any(|ended| ended == name),
        })
    }

    async fn send_task_success(&self, token: &str, output: &Value) -> PortResult<()> {
        self.refuse_answered(token)?;
        locked(&self.successes).push((token.to_string(), output.clone()));
        Ok(())
    }

    async fn send_task_failure(&self, token: &str, error: &str, cause: &str) -> PortResult<()> {
        self.refuse_answered(token)?;
        locked(&self.failures).push((token.to_string(), error.to_string(), cause.to_string()));
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------

/// A fake Git host: files per (repository, commit, path).
#[derive(Default)]
pub struct MemoryGit {
    files: Mutex<HashMap<(String, String, String), String>>,
    /// commit → its parent, one line of history per repository is enough for the rules.
    parents: Mutex<HashMap<String, String>>,
    /// (repository, branch) → head commit.
    heads: Mutex<HashMap<(String, String), String>>,
    /// commit → its message.
    messages: Mutex<HashMap<String, String>>,
}

impl MemoryGit {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn put(&self, repository: &str, commit: &str, path: &str, text: &str) {
        locked(&self.files).insert(
            (repository.to_string(), commit.to_string(), path.to_string()),
            text.to_string(),
        );
    }

    /// Records `commit` as a child of `parent` (for `compare_commits`).
    pub fn set_parent(&self, commit: &str, parent: &str) {
        locked(&self.parents).insert(commit.to_string(), parent.to_string());
    }

    /// Gives `commit` a message (for `commit_message`).
    pub fn set_message(&self, commit: &str, message: &str) {
        locked(&self.messages).insert(commit.to_string(), message.to_string());
    }

    /// Points `branch` of `repository` at `commit` (for `head_of_branch`).
    pub fn set_head(&self, repository: &str, branch: &str, commit: &str) {
        locked(&self.heads).insert(
            (repository.to_string(), branch.to_string()),
            commit.to_string(),
        );
    }

    /// Whether `ancestor` is `commit` or one of its ancestors.
    fn descends(&self, commit: &str, ancestor: &str) -> bool {
        let parents = locked(&self.parents);
        let mut at = commit.to_string();
        for _ in 0..10_000 {
            if at == ancestor {
                return true;
            }
            match parents.get(&at) {
                Some(parent) => at = parent.clone(),
                None => return false,
            }
        }
        false
    }
}

#[async_trait]
impl GitSource for MemoryGit {
    async fn commit_message(&self, _repository: &str, commit: &str) -> PortResult<Option<String>> {
        Ok(locked(&self.messages).get(commit).cloned())
    }

    async fn read_file(
        &self,
        repository: &str,
        commit: &str,
        path: &str,
    ) -> PortResult<Option<String>> {
        Ok(locked(&self.files)
            .get(&(repository.to_string(), commit.to_string(), path.to_string()))
            .cloned())
    }

    async fn list_dir(
        &self,
        repository: &str,
        commit: &str,
        path: &str,
    ) -> PortResult<Vec<String>> {
        let folder = path.trim_end_matches('/');
        let mut names: Vec<String> = locked(&self.files)
            .keys()
            .filter(|(repo, at, _)| repo == repository && at == commit)
            .filter_map(|(_, _, file)| {
                let (parent, name) = file.rsplit_once('/').unwrap_or(("", file));
                (parent == folder).then(|| name.to_string())
            })
            .collect();
        names.sort();
        Ok(names)
    }

    async fn compare_commits(
        &self,
        _repository: &str,
        base: &str,
        head: &str,
    ) -> PortResult<Relation> {
        Ok(if base == head {
            Relation::Identical
        } else if self.descends(head, base) {
            Relation::Ahead
        } else if self.descends(base, head) {
            Relation::Behind
        } else {
            Relation::Diverged
        })
    }

    async fn head_of_branch(&self, repository: &str, branch: &str) -> PortResult<Option<String>> {
        Ok(locked(&self.heads)
            .get(&(repository.to_string(), branch.to_string()))
            .cloned())
    }
}

// ---------------------------------------------------------------------------------------------

/// A fake pull request host: comments per pull request, statuses per commit.
#[derive(Default)]
pub struct MemoryPullRequests {
    state: Mutex<PullState>,
}

#[derive(Default)]
struct PullState {
    next_id: u64,
    /// (repository, number) -> comments (id, body), oldest first.
    comments: HashMap<(String, u64), Vec<(u64, String)>>,
    /// (repository, commit) -> statuses, oldest first.
    statuses: HashMap<(String, String), Vec<CommitStatus>>,
    writes: usize,
}

impl MemoryPullRequests {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a comment somebody else wrote.
    pub fn put_comment(&self, repository: &str, number: u64, body: &str) -> u64 {
        let mut state = locked(&self.state);
        state.next_id += 1;
        let id = state.next_id;
        state
            .comments
            .entry((repository.to_string(), number))
            .or_default()
            .push((id, body.to_string()));
        id
    }

    /// The bodies of the comments on a pull request, oldest first.
    pub fn comments(&self, repository: &str, number: u64) -> Vec<String> {
        locked(&self.state)
            .comments
            .get(&(repository.to_string(), number))
            .map(|found| found.iter().map(|(_, body)| body.clone()).collect())
            .unwrap_or_default()
    }

    /// Every status set on a commit, oldest first (the last one per context is in force).
    pub fn statuses(&self, repository: &str, commit: &str) -> Vec<CommitStatus> {
        locked(&self.state)
            .statuses
            .get(&(repository.to_string(), commit.to_string()))
            .cloned()
            .unwrap_or_default()
    }

    /// Comments created or edited so far.
    pub fn comment_writes(&self) -> usize {
        locked(&self.state).writes
    }
}

#[async_trait]
impl PullRequests for MemoryPullRequests {
    async fn upsert_comment(
        &self,
        repository: &str,
        number: u64,
        marker: &str,
        body: &str,
    ) -> PortResult<CommentRef> {
        if !body.contains(marker) {
            return Err(PortError::Invalid(format!(
                "the comment must contain its marker {marker}"
            )));
        }
        let mut state = locked(&self.state);
        state.next_id += 1;
        let fresh = state.next_id;
        let comments = state
            .comments
            .entry((repository.to_string(), number))
            .or_default();
        let (id, outcome) = match comments.iter_mut().find(|(_, text)| text.contains(marker)) {
            Some((id, text)) if text == body => (*id, CommentOutcome::Unchanged),
            Some((id, text)) => {
                *text = body.to_string();
                (*id, CommentOutcome::Updated)
            }
            None => {
                comments.push((fresh, body.to_string()));
                (fresh, CommentOutcome::Created)
            }
        };
        if outcome != CommentOutcome::Unchanged {
            state.writes += 1;
        }
        Ok(CommentRef {
            id,
            url: None,
            outcome,
        })
    }

    async fn set_status(
        &self,
        repository: &str,
        commit: &str,
        status: &CommitStatus,
    ) -> PortResult<()> {
        locked(&self.state)
            .statuses
            .entry((repository.to_string(), commit.to_string()))
            .or_default()
            .push(status.clone());
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------

/// A fake Git host's branches, answering conditional requests like GitHub: the ETag of a head
/// is derived from its commit, and asking with the current ETag answers `Unchanged`.
#[derive(Default)]
pub struct MemoryBranches {
    heads: Mutex<HashMap<(String, String), String>>,
    changes: Mutex<HashMap<(String, String, String), Vec<String>>>,
    requests: Mutex<Vec<(String, String, Option<String>)>>,
}

impl MemoryBranches {
    pub fn new() -> Self {
        Self::default()
    }

    /// Points `branch` at `sha`.
    pub fn set_head(&self, repository: &str, branch: &str, sha: &str) {
        locked(&self.heads).insert(
            (repository.to_string(), branch.to_string()),
            sha.to_string(),
        );
    }

    /// What [`BranchHeads::changed_paths`] answers for `base...head`.
    pub fn set_changes(&self, repository: &str, base: &str, head: &str, paths: &[&str]) {
        locked(&self.changes).insert(
            (repository.to_string(), base.to_string(), head.to_string()),
            paths.iter().map(|path| path.to_string()).collect(),
        );
    }

    /// Every `branch_head` request: (repository, branch, ETag sent).
    pub fn requests(&self) -> Vec<(String, String, Option<String>)> {
        locked(&self.requests).clone()
    }

    fn etag(sha: &str) -> String {
        format!("\"{sha}\"")
    }
}

#[async_trait]
impl BranchHeads for MemoryBranches {
    async fn branch_head(
        &self,
        repository: &str,
        branch: &str,
        etag: Option<&str>,
    ) -> PortResult<BranchHead> {
        locked(&self.requests).push((
            repository.to_string(),
            branch.to_string(),
            etag.map(str::to_string),
        ));
        let heads = locked(&self.heads);
        let Some(sha) = heads.get(&(repository.to_string(), branch.to_string())) else {
            return Ok(BranchHead::Missing);
        };
        let current = Self::etag(sha);
        if etag == Some(current.as_str()) {
            return Ok(BranchHead::Unchanged);
        }
        Ok(BranchHead::At {
            sha: sha.clone(),
            etag: Some(current),
        })
    }

    async fn changed_paths(
        &self,
        repository: &str,
        base: &str,
        head: &str,
    ) -> PortResult<Option<Vec<String>>> {
        Ok(locked(&self.changes)
            .get(&(repository.to_string(), base.to_string(), head.to_string()))
            .cloned())
    }
}

// ---------------------------------------------------------------------------------------------

/// The poller's memory in memory.
#[derive(Default)]
pub struct MemoryPollState {
    marks: Mutex<HashMap<(String, String), PollMark>>,
}

impl MemoryPollState {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl PollState for MemoryPollState {
    async fn get_mark(&self, repository: &str, branch: &str) -> PortResult<Option<PollMark>> {
        Ok(locked(&self.marks)
            .get(&(repository.to_string(), branch.to_string()))
            .cloned())
    }

    async fn put_mark(&self, repository: &str, branch: &str, mark: &PollMark) -> PortResult<()> {
        locked(&self.marks).insert((repository.to_string(), branch.to_string()), mark.clone());
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------

/// A bus that keeps every event put on it.
#[derive(Default)]
pub struct MemoryEvents {
    published: Mutex<Vec<BusEvent>>,
}

impl MemoryEvents {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn published(&self) -> Vec<BusEvent> {
        locked(&self.published).clone()
    }
}

#[async_trait]
impl EventPublisher for MemoryEvents {
    async fn publish(&self, event: &BusEvent) -> PortResult<()> {
        locked(&self.published).push(event.clone());
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------

/// A notification as [`MemoryNotifier`] keeps it: the event, and how it reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub deployment_id: String,
    pub event: Event,
    pub message: String,
}

/// A notifier that remembers every notification.
#[derive(Default)]
pub struct MemoryNotifier {
    sent: Mutex<Vec<Sent>>,
}

impl MemoryNotifier {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn sent(&self) -> Vec<Sent> {
        locked(&self.sent).clone()
    }

    /// The names of the events notified, in order.
    pub fn names(&self) -> Vec<String> {
        locked(&self.sent)
            .iter()
            .map(|sent| sent.event.name().to_string())
            .collect()
    }
}

#[async_trait]
impl Notifier for MemoryNotifier {
    async fn notify(&self, deployment: &Deployment, event: &Event) -> PortResult<()> {
        locked(&self.sent).push(Sent {
            deployment_id: deployment.id.clone(),
            event: event.clone(),
            message: event.describe(deployment),
        });
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------

/// A clock that only moves when told to.
pub struct FakeClock {
    now: Mutex<OffsetDateTime>,
}

impl FakeClock {
    pub fn at(now: OffsetDateTime) -> Self {
        Self {
            now: Mutex::new(now),
        }
    }

    pub fn advance(&self, seconds: i64) {
        let mut now = locked(&self.now);
        *now += time::Duration::seconds(seconds);
    }
}

impl Clock for FakeClock {
    fn now(&self) -> OffsetDateTime {
        *locked(&self.now)
    }
}

// ---------------------------------------------------------------------------------------------

/// Webhook deliveries in memory: the first record of an id wins, as with the conditional write.
#[derive(Default)]
pub struct MemoryDeliveryLog {
    deliveries: Mutex<BTreeMap<String, (String, OffsetDateTime)>>,
}

impl MemoryDeliveryLog {
    pub fn new() -> Self {
        Self::default()
    }

    /// The recorded delivery ids, sorted.
    pub fn recorded(&self) -> Vec<String> {
        locked(&self.deliveries).keys().cloned().collect()
    }
}

#[async_trait]
impl DeliveryLog for MemoryDeliveryLog {
    async fn record_first(
        &self,
        delivery_id: &str,
        event: &str,
        expires_at: OffsetDateTime,
    ) -> PortResult<bool> {
        let mut deliveries = locked(&self.deliveries);
        if deliveries.contains_key(delivery_id) {
            return Ok(false);
        }
        deliveries.insert(delivery_id.to_string(), (event.to_string(), expires_at));
        Ok(true)
    }

    async fn forget(&self, delivery_id: &str) -> PortResult<()> {
        locked(&self.deliveries).remove(delivery_id);
        Ok(())
    }
}

/// A payload archive in memory, answering `memory://<key>` locations.
#[derive(Default)]
pub struct MemoryArchive {
    objects: Mutex<BTreeMap<String, Vec<u8>>>,
}

impl MemoryArchive {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn get(&self, key: &str) -> Option<Vec<u8>> {
        locked(&self.objects).get(key).cloned()
    }

    pub fn keys(&self) -> Vec<String> {
        locked(&self.objects).keys().cloned().collect()
    }
}

#[async_trait]
impl PayloadArchive for MemoryArchive {
    async fn store(&self, key: &str, body: &[u8]) -> PortResult<String> {
        locked(&self.objects).insert(key.to_string(), body.to_vec());
        Ok(format!("memory://{key}"))
    }
}

/// Secrets in memory, counting reads (so tests can see that a cache works).
#[derive(Default)]
pub struct MemorySecrets {
    values: Mutex<HashMap<String, String>>,
    reads: Mutex<usize>,
}

impl MemorySecrets {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn put(&self, id: &str, value: &str) {
        locked(&self.values).insert(id.to_string(), value.to_string());
    }

    pub fn reads(&self) -> usize {
        *locked(&self.reads)
    }
}

#[async_trait]
impl SecretReader for MemorySecrets {
    async fn read_secret(&self, id: &str) -> PortResult<String> {
        *locked(&self.reads) += 1;
        locked(&self.values)
            .get(id)
            .cloned()
            .ok_or_else(|| PortError::NotFound(format!("secret {id}")))
    }
}
