//! The state machines on the local engine, wired to the handlers.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use ferry_core::ports::{ExecutionRef, PortError, PortResult, Workflow, WorkflowControl};
use ferry_engine::{
    EngineError, EngineOptions, Execution, Executor, TaskDispatcher, TaskFailure, TaskTokens,
};
use ferry_handlers::{Deps, dispatch, event_functions};
use serde_json::Value;

const REGION: &str = "local";
const ACCOUNT: &str = "000000000000";

/// The ARN a function has locally; the engine binds `${<name>_function_arn}` to it.
pub fn function_arn(function: &str) -> String {
    format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:ferry-{function}")
}

/// The state machine definitions, embedded at build time so `ferry` works from any folder.
pub struct StateMachineFiles;

impl StateMachineFiles {
    pub const DEPLOY: &'static str = include_str!("../../../statemachines/deploy.asl.json");
    pub const TRAFFIC: &'static str = include_str!("../../../statemachines/traffic.asl.json");

    /// Every `${x_function_arn}` bound to the local ARN of function `x`.
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
}

/// Task states call handlers in-process, with the parsing a Lambda would do.
pub struct HandlerDispatcher {
    deps: OnceLock<Deps>,
}

#[async_trait]
impl TaskDispatcher for HandlerDispatcher {
    async fn invoke(&self, function: &str, payload: Value) -> Result<Value, TaskFailure> {
        let deps = self
            .deps
            .get()
            .ok_or_else(|| TaskFailure::new("NonRetryable", "the local runtime is not started"))?;
        dispatch(deps, function, payload)
            .await
            .map_err(|error| TaskFailure::new(error.error_type(), error.message))
    }
}

/// [`WorkflowControl`] over the local engine: executions start in-process and task tokens are
/// the engine's.
pub struct EngineWorkflows {
    tokens: TaskTokens,
    executors: OnceLock<BTreeMap<&'static str, Executor>>,
    running: std::sync::Mutex<Vec<Execution>>,
}

impl EngineWorkflows {
    fn executor(&self, workflow: Workflow) -> PortResult<&Executor> {
        let key = workflow_key(workflow);
        self.executors
            .get()
            .and_then(|executors| executors.get(key))
            .ok_or_else(|| PortError::Invalid(format!("no local {key} state machine")))
    }

    /// Executions started through [`WorkflowControl::start`] (e.g. by a webhook), to wait on.
    pub fn take_started(&self) -> Vec<Execution> {
        std::mem::take(&mut *self.running.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

fn workflow_key(workflow: Workflow) -> &'static str {
    match workflow {
        Workflow::Deploy => "deploy",
        Workflow::Plan => "plan",
        Workflow::Traffic => "traffic",
    }
}

fn token_error(error: EngineError) -> PortError {
    match error {
        EngineError::TaskDoesNotExist { .. } => PortError::NotFound(error.to_string()),
        EngineError::TaskTimedOut { .. } => PortError::Conflict(error.to_string()),
        other => PortError::Invalid(other.to_string()),
    }
}

/// The workflows port of people's actions (`ferry_handlers::control::act`) in local mode. A
/// token this process never issued belongs to another local process's engine (`ferry deploy
/// --local` in another terminal, `ferry serve`): the answer the action claimed on the record
/// reaches it through that process's [`crate::AnswerRelay`], so for the action it is sent.
/// Only actions claim their answer first; alarm-watch and the handlers use the engine's port,
/// which says `NotFound` for such a token.
struct RelayedWorkflows(Arc<EngineWorkflows>);

#[async_trait]
impl WorkflowControl for RelayedWorkflows {
    async fn start(
        &self,
        workflow: Workflow,
        name: &str,
        input: &Value,
    ) -> PortResult<ExecutionRef> {
        self.0.start(workflow, name, input).await
    }

    async fn send_task_success(&self, token: &str, output: &Value) -> PortResult<()> {
        relayed(self.0.send_task_success(token, output).await)
    }

    async fn send_task_failure(&self, token: &str, error: &str, cause: &str) -> PortResult<()> {
        relayed(self.0.send_task_failure(token, error, cause).await)
    }
}

fn relayed(sent: PortResult<()>) -> PortResult<()> {
    match sent {
        Err(PortError::NotFound(_)) => {
            tracing::debug!(
                "task token held by another local process; its relay delivers the answer"
            );
            Ok(())
        }
        other => other,
    }
}

#[async_trait]
impl WorkflowControl for EngineWorkflows {
    async fn start(
        &self,
        workflow: Workflow,
        name: &str,
        input: &Value,
    ) -> PortResult<ExecutionRef> {
        let executor = self.executor(workflow)?;
        let execution = match executor.start(name, input.clone()) {
            Ok(execution) => execution,
            // As Step Functions: the same name and input is the execution already started.
            Err(error @ EngineError::ExecutionAlreadyExists { .. }) => {
                return match executor.existing(name) {
                    Some((existing, ended)) if &existing == input => Ok(ExecutionRef {
                        execution_arn: format!(
                            "{}:{name}",
                            executor.state_machine_arn().replacen(
                                ":stateMachine:",
                                ":execution:",
                                1
                            )
                        ),
                        started_at: time::OffsetDateTime::now_utc(),
                        closed: ended,
                    }),
                    _ => Err(PortError::Conflict(error.to_string())),
                };
            }
            Err(other) => return Err(PortError::Invalid(other.to_string())),
        };
        let reference = ExecutionRef {
            execution_arn: execution.arn().to_string(),
            started_at: time::OffsetDateTime::now_utc(),
            closed: false,
        };
        self.running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(execution);
        Ok(reference)
    }

    async fn send_task_success(&self, token: &str, output: &Value) -> PortResult<()> {
        self.tokens
            .send_task_success(token, output.clone())
            .map_err(token_error)
    }

    async fn send_task_failure(&self, token: &str, error: &str, cause: &str) -> PortResult<()> {
        self.tokens
            .send_task_failure(token, error, cause)
            .map_err(token_error)
    }
}

/// Everything needed to run Ferry's workflows on this machine.
pub struct LocalRuntime {
    pub deps: Deps,
    pub workflows: Arc<EngineWorkflows>,
    deploy: Executor,
}

impl LocalRuntime {
    /// `deps` are the handler ports (AWS adapters pointed at the emulator, a Git source, ...);
    /// their `workflows` port is replaced by the engine. `time_scale` compresses waits and
    /// bakes (1.0 is real time).
    pub fn new(mut deps: Deps, time_scale: f64) -> Result<LocalRuntime, EngineError> {
        let tokens = TaskTokens::new();
        let workflows = Arc::new(EngineWorkflows {
            tokens: tokens.clone(),
            executors: OnceLock::new(),
            running: std::sync::Mutex::new(Vec::new()),
        });
        deps.workflows = workflows.clone();
        let dispatcher = Arc::new(HandlerDispatcher {
            deps: OnceLock::new(),
        });
        let _ = dispatcher.deps.set(deps.clone());
        let bindings = StateMachineFiles::bindings();
        let executor = |definition: &str, name: &str| -> Result<Executor, EngineError> {
            let machine = ferry_engine::load_template(definition, &bindings)?;
            let options = EngineOptions {
                time_scale,
                state_machine_name: name.to_string(),
                region: REGION.into(),
                account_id: ACCOUNT.into(),
            };
            Ok(Executor::new(machine, dispatcher.clone(), options).with_tokens(tokens.clone()))
        };
        let deploy = executor(StateMachineFiles::DEPLOY, "ferry-deploy")?;
        let traffic = executor(StateMachineFiles::TRAFFIC, "ferry-traffic")?;
        let mut executors = BTreeMap::new();
        executors.insert("deploy", deploy.clone());
        executors.insert("traffic", traffic);
        let _ = workflows.executors.set(executors);
        Ok(LocalRuntime {
            deps,
            workflows,
            deploy,
        })
    }

    /// Starts a deployment; the input is the plan handler's `PlanInput`.
    pub fn start_deploy(&self, name: &str, input: Value) -> Result<Execution, EngineError> {
        self.deploy.start(name, input)
    }

    /// The ports for people's actions (`ferry_handlers::control::act`): these, with answers to
    /// another local process's waits left to that process's relay.
    pub fn action_deps(&self) -> Deps {
        Deps {
            workflows: Arc::new(RelayedWorkflows(self.workflows.clone())),
            ..self.deps.clone()
        }
    }

    /// What AWS does around executions, done here while this process runs them: alarms
    /// delivered to `alarm-watch` as EventBridge would, and answers given from other processes
    /// delivered to this engine's waits. Stops when the returned value is dropped.
    pub fn watch(&self, interval: std::time::Duration) -> Watching {
        Watching(vec![
            crate::AlarmWatcher::new(self.deps.clone(), interval).spawn(),
            crate::AnswerRelay::new(self.deps.clone(), self.deploy.tokens(), interval).spawn(),
        ])
    }
}

impl LocalRuntime {
    /// What the `deploy-ended` rule and the `converge` function do in AWS, done here on a
    /// timer: every `interval`, each service whose desired commit (the latest push) waits is
    /// deployed on this engine if nothing else deploys it. For `ferry serve`, the process that
    /// receives pushes; a deployment ending in another process (`ferry deploy --local`) is
    /// noticed on the next tick. Stops when the returned value is dropped.
    pub fn converge(&self, interval: std::time::Duration) -> Watching {
        let deps = self.deps.clone();
        Watching(vec![tokio::spawn(async move {
            loop {
                match ferry_handlers::converge::handle(&deps, Default::default()).await {
                    Ok(output) => {
                        for service in output.services {
                            if let ferry_handlers::converge::Convergence::Started {
                                execution_name,
                                ..
                            } = &service.convergence
                            {
                                tracing::info!(service = %service.service_key, execution = %execution_name, "deploying the latest push");
                            }
                        }
                    }
                    Err(error) => tracing::warn!(%error, "could not converge"),
                }
                tokio::time::sleep(interval).await;
            }
        })])
    }
}

/// The background tasks of [`LocalRuntime::watch`]; aborted on drop.
pub struct Watching(Vec<tokio::task::JoinHandle<()>>);

impl Drop for Watching {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}
