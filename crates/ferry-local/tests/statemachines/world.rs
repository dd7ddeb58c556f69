//! A world for running `statemachines/*.asl.json` end to end: the real handlers over the
//! in-memory fakes of `ferry_testing::memory`, one ECS service ready for blue/green, and the
//! engine's task tokens behind the handlers' `WorkflowControl` port.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferry_core::Deployment;
use ferry_core::ports::*;
use ferry_engine::{
    EngineError, EngineOptions, ExecutionOutcome, Executor, TaskDispatcher, TaskFailure, TaskTokens,
};
use ferry_handlers::{Deps, Settings, event_functions};
use ferry_testing::memory::*;
use serde_json::Value;

pub use ferry_testing::world::{
    BLUE_ID, BLUE_TG, CLUSTER, COMMIT, Fakes, GREEN_TG, MANIFEST_PATH, REPO, SERVICE, route,
};

/// 1000× faster than real time: a 5-minute bake takes 0.3 s, a 15-second poll 15 ms.
pub const TIME_SCALE: f64 = 0.001;

/// A manifest for the seeded service: `strategy` is the YAML under `strategy:`, `extra` more
/// top-level lines (approval, rollback, ...).
/// Blue is kept warm for a minute, so the keep-warm wait is short at the time scale.
pub fn manifest(strategy: &str, extra: &str) -> String {
    ferry_testing::world::manifest(
        strategy,
        &format!("rollback: {{ keepOldFor: 1m }}\n{extra}"),
    )
}

/// The text of `statemachines/<name>.asl.json`, the very file Terraform deploys.
pub fn template(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../statemachines")
        .join(format!("{name}.asl.json"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The Lambda ARN of a Ferry function, as Terraform names it.
pub fn function_arn(function: &str) -> String {
    format!("arn:aws:lambda:eu-west-1:123456789012:function:ferry-{function}")
}

/// `${<function with - replaced by _>_function_arn}` for every Ferry function.
pub fn bindings() -> BTreeMap<String, String> {
    event_functions()
        .map(|name| {
            (
                format!("{}_function_arn", name.replace('-', "_")),
                function_arn(name),
            )
        })
        .collect()
}

/// The handlers' `WorkflowControl` port over the engine's task tokens, with the errors the
/// Step Functions adapter reports (a token never issued: NotFound; one already ended: Conflict).
struct EngineTokens(TaskTokens);

fn token_error(error: EngineError) -> PortError {
    match error {
        EngineError::TaskDoesNotExist { .. } => PortError::NotFound(error.to_string()),
        EngineError::TaskTimedOut { .. } => PortError::Conflict(error.to_string()),
        other => PortError::Invalid(other.to_string()),
    }
}

#[async_trait::async_trait]
impl WorkflowControl for EngineTokens {
    async fn start(
        &self,
        workflow: Workflow,
        name: &str,
        _input: &Value,
    ) -> PortResult<ExecutionRef> {
        Err(PortError::Invalid(format!(
            "starting {workflow:?} execution {name} is not part of these tests"
        )))
    }

    async fn send_task_success(&self, token: &str, output: &Value) -> PortResult<()> {
        self.0
            .send_task_success(token, output.clone())
            .map_err(token_error)
    }

    async fn send_task_failure(&self, token: &str, error: &str, cause: &str) -> PortResult<()> {
        self.0
            .send_task_failure(token, error, cause)
            .map_err(token_error)
    }
}

/// How the simulated ECS and clock behave while the workflow polls `wait-stable`.
#[derive(Debug, Clone, Copy)]
pub struct Behaviour {
    /// Green becomes steady on this poll of `wait-stable` (1 = the first); `None`: never.
    pub steady_on_poll: Option<usize>,
    /// Seconds the fake clock moves before each poll (the handler's stabilisation timeout
    /// reads it).
    pub seconds_per_poll: i64,
    /// The first `approval` invocation stores its token, waits until a person answered, then
    /// fails as a Lambda that timed out would: Step Functions retries the task with a new token.
    pub approval_fails_after_the_answer: bool,
}

impl Default for Behaviour {
    fn default() -> Self {
        Self {
            steady_on_poll: Some(2),
            seconds_per_poll: 0,
            approval_fails_after_the_answer: false,
        }
    }
}

/// Task states call the handlers in-process, with the parsing a Lambda would do; every call
/// is recorded by function name.
struct Handlers {
    deps: Deps,
    ecs: Arc<MemoryEcs>,
    clock: Arc<FakeClock>,
    behaviour: Behaviour,
    calls: Arc<Mutex<Vec<(String, Value)>>>,
    /// The wait `run-hooks` last asked for: the fake clock moves by it before the next call, as
    /// the Wait state between them lets real time pass.
    hook_wait: Mutex<i64>,
}

#[async_trait::async_trait]
impl TaskDispatcher for Handlers {
    async fn invoke(&self, function: &str, payload: Value) -> Result<Value, TaskFailure> {
        let name = ferry_handlers::function_name(function).unwrap_or("unknown");
        let (polls, approvals) = {
            let mut calls = self.calls.lock().unwrap();
            calls.push((name.to_string(), payload.clone()));
            let count = |function: &str| calls.iter().filter(|(n, _)| n == function).count();
            (count("wait-stable"), count("approval"))
        };
        if name == "approval" && approvals == 1 && self.behaviour.approval_fails_after_the_answer {
            let id = payload["deploymentId"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            ferry_handlers::dispatch(&self.deps, function, payload)
                .await
                .map_err(|error| TaskFailure::new(error.error_type(), error.message))?;
            for _ in 0..500 {
                let record = self.deps.store.get(&id).await.ok().flatten();
                if record.is_some_and(|record| record.answer().is_some()) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            return Err(TaskFailure::new(
                "Sandbox.Timedout",
                "Task timed out after 30.00 seconds",
            ));
        }
        if name == "wait-stable" {
            self.clock.advance(self.behaviour.seconds_per_poll);
            if self.behaviour.steady_on_poll.is_some_and(|n| polls >= n) {
                self.ecs.set_steady(CLUSTER, SERVICE, true);
            }
        }
        if name == "run-hooks" {
            let waited = std::mem::take(&mut *self.hook_wait.lock().unwrap());
            self.clock.advance(waited);
            let output = ferry_handlers::dispatch(&self.deps, function, payload)
                .await
                .map_err(|error| TaskFailure::new(error.error_type(), error.message))?;
            *self.hook_wait.lock().unwrap() = output["waitSeconds"].as_i64().unwrap_or(0);
            return Ok(output);
        }
        ferry_handlers::dispatch(&self.deps, function, payload)
            .await
            .map_err(|error| TaskFailure::new(error.error_type(), error.message))
    }
}

pub struct World {
    pub ecs: Arc<MemoryEcs>,
    pub alb: Arc<MemoryAlb>,
    pub alarms: Arc<MemoryAlarms>,
    pub store: Arc<MemoryStore>,
    /// What verification hooks call, scripted.
    pub hooks: Arc<ferry_testing::hooks::MemoryHooks>,
    pub deps: Deps,
    pub deploy: Executor,
    pub traffic: Executor,
    calls: Arc<Mutex<Vec<(String, Value)>>>,
}

impl World {
    pub fn new(manifest_text: &str) -> World {
        Self::with(manifest_text, Behaviour::default(), TIME_SCALE)
    }

    pub fn with(manifest_text: &str, behaviour: Behaviour, time_scale: f64) -> World {
        let Fakes {
            ecs,
            alb,
            alarms,
            store,
            git,
            clock,
            hooks,
            ..
        } = Fakes::new(manifest_text);
        let tokens = TaskTokens::new();
        let deps = Deps {
            ecs: ecs.clone(),
            traffic: alb.clone(),
            alarms: alarms.clone(),
            store: store.clone(),
            workflows: Arc::new(EngineTokens(tokens.clone())),
            git: git.clone(),
            notifier: Arc::new(MemoryNotifier::new()),
            clock: clock.clone(),
            settings: Settings {
                stabilization_timeout_seconds: 600,
                verify_attempts: 2,
                verify_delay: Duration::from_millis(1),
                fence_lease: Duration::from_millis(20),
            },
            github: None,
            hooks: Some(Arc::new(ferry_handlers::HookPorts {
                http: hooks.clone(),
                functions: hooks.clone(),
                tasks: hooks.clone(),
                listeners: hooks.clone(),
            })),
        };
        let calls = Arc::new(Mutex::new(Vec::new()));
        let dispatcher = Arc::new(Handlers {
            deps: deps.clone(),
            ecs: ecs.clone(),
            clock,
            behaviour,
            calls: calls.clone(),
            hook_wait: Mutex::new(0),
        });
        let executor = |name: &str| {
            let machine = ferry_engine::load_template(&template(name), &bindings())
                .unwrap_or_else(|e| panic!("statemachines/{name}.asl.json: {e}"));
            let options = EngineOptions {
                time_scale,
                state_machine_name: format!("ferry-{name}"),
                region: "eu-west-1".into(),
                ..EngineOptions::default()
            };
            Executor::new(machine, dispatcher.clone(), options).with_tokens(tokens.clone())
        };
        World {
            deploy: executor("deploy"),
            traffic: executor("traffic"),
            ecs,
            alb,
            alarms,
            store,
            hooks,
            deps,
            calls,
        }
    }

    /// The deploy workflow's input: the plan handler's `PlanInput`, without a deployment id
    /// (the workflow names the deployment after its execution).
    pub fn deploy_input(&self) -> Value {
        ferry_handlers::plan::PlanInput {
            deployment_id: None,
            repository: REPO.into(),
            commit: COMMIT.into(),
            manifest_path: MANIFEST_PATH.into(),
            branch: Some("main".into()),
            author: Some("alice".into()),
            image: None,
            desired_generation: None,
        }
        .to_json()
    }

    /// Runs the deploy workflow to its end as execution (and deployment) `id`.
    pub async fn deploy(&self, id: &str) -> ExecutionOutcome {
        self.deploy
            .start(id, self.deploy_input())
            .expect("start the deploy workflow")
            .wait()
            .await
    }

    /// Runs the traffic workflow to its end.
    pub async fn traffic(&self, name: &str, input: Value) -> ExecutionOutcome {
        self.traffic
            .start(name, input)
            .expect("start the traffic workflow")
            .wait()
            .await
    }

    /// Functions called so far, in order.
    pub fn calls(&self) -> Vec<String> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .map(|(name, _)| name.clone())
            .collect()
    }

    pub fn calls_of(&self, function: &str) -> Vec<Value> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|(name, _)| name == function)
            .map(|(_, payload)| payload.clone())
            .collect()
    }

    pub async fn record(&self, id: &str) -> Deployment {
        self.store
            .get(id)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("no record of deployment {id}"))
    }

    /// Polls the record until `ready` holds (the workflow runs concurrently), for at most 20 s.
    pub async fn record_when(
        &self,
        id: &str,
        what: &str,
        ready: impl Fn(&Deployment) -> bool,
    ) -> Deployment {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(deployment) = self.store.get(id).await.unwrap()
                && ready(&deployment)
            {
                return deployment;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "deployment {id} never became {what}"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    pub async fn lock_holder(&self) -> Option<String> {
        self.store
            .get_lock(&format!("{CLUSTER}/{SERVICE}"))
            .await
            .unwrap()
            .map(|lock| lock.deployment_id)
    }

    /// Green's share of the production listener right now.
    pub fn green_weight(&self) -> u32 {
        weight_of(&self.alb.weights(&route()).unwrap(), GREEN_TG)
    }

    pub fn blue_weight(&self) -> u32 {
        weight_of(&self.alb.weights(&route()).unwrap(), BLUE_TG)
    }

    /// Green's weight after every write to the production listener, in order.
    pub fn green_weights_written(&self) -> Vec<u8> {
        self.alb
            .writes()
            .iter()
            .filter(|(written, _)| *written == route())
            .map(|(_, split)| split.green_weight)
            .collect()
    }

    pub fn task_sets(&self) -> Vec<TaskSetInfo> {
        self.ecs.service(CLUSTER, SERVICE).unwrap().task_sets
    }

    pub fn primary_task_set(&self) -> TaskSetInfo {
        self.ecs
            .service(CLUSTER, SERVICE)
            .unwrap()
            .primary_task_set()
            .expect("a primary task set")
            .clone()
    }
}

fn weight_of(weights: &[TargetGroupWeight], target_group: &str) -> u32 {
    weights
        .iter()
        .filter(|entry| entry.target_group_arn == target_group)
        .map(|entry| entry.weight)
        .sum()
}
