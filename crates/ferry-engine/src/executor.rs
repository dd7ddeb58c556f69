//! Executions: the [`TaskDispatcher`] contract, [`Executor`] (StartExecution), [`Execution`]
//! (wait, abort, live events) and the lifecycle around the state loop in the private `run` module
//! (machine timeout, abort, final history event, billable transitions).
//!
//! # Billing: how `state_transitions` is counted
//!
//! AWS bills Standard workflows per state transition: "Step Functions counts a state transition
//! each time a step of your workflow is executed ... including retries", and "each retry will
//! be charged as an additional state transition" (<https://aws.amazon.com/step-functions/pricing/>).
//! The engine counts exactly that: **one per state entered** (including states inside Parallel
//! branches and Map iterations, and the Parallel/Map state itself) **plus one per retry**.
//! Starting and ending the execution are not counted.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use time::OffsetDateTime;
use tokio::sync::{Notify, broadcast};
use tokio::task::JoinHandle;

use crate::definition::StateMachine;
use crate::error::{EngineError, names};
use crate::history::{EventKind, HistoryEvent, Recorder};
use crate::run::{Run, run_scope};
use crate::tokens::TaskTokens;

/// A Lambda function failure, as Lambda reports it: `error` is the `errorType`
/// (e.g. `Retryable`, `AlarmBreached`), which Retry and Catch match by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskFailure {
    pub error: String,
    pub cause: String,
}

impl TaskFailure {
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        Self {
            error: error.into(),
            cause: cause.into(),
        }
    }

    /// The `Cause` Step Functions shows for a failed Lambda function: the function's error
    /// object as JSON text (`{"errorMessage": ..., "errorType": ...}`). A `cause` that already
    /// is a JSON object is kept as it is.
    pub fn lambda_cause(&self) -> String {
        match serde_json::from_str::<Value>(&self.cause) {
            Ok(Value::Object(_)) => self.cause.clone(),
            _ => json!({"errorMessage": self.cause, "errorType": self.error}).to_string(),
        }
    }
}

/// Runs Task states. The caller implements it, usually by calling handler functions in-process.
#[async_trait::async_trait]
pub trait TaskDispatcher: Send + Sync {
    /// Invoke the Lambda function `function` (the FunctionName or ARN as written after binding)
    /// with `payload`, returning the function's result.
    async fn invoke(&self, function: &str, payload: Value) -> Result<Value, TaskFailure>;
}

#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Multiplies every duration: Wait states, retry intervals, task and heartbeat timeouts and
    /// the machine timeout. 1.0 is real time; 0.001 turns a 300 s bake into 0.3 s.
    /// Negative or non-finite values are treated as 1.0.
    pub time_scale: f64,
    /// Used for `$$.StateMachine.Name` and in the ARNs.
    pub state_machine_name: String,
    pub region: String,
    pub account_id: String,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            time_scale: 1.0,
            state_machine_name: "ferry-local".into(),
            region: "us-east-1".into(),
            account_id: "123456789012".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExecutionStatus {
    Succeeded,
    Failed {
        error: Option<String>,
        cause: Option<String>,
    },
    TimedOut,
    Aborted,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ExecutionOutcome {
    pub status: ExecutionStatus,
    /// The execution's output, when it succeeded.
    pub output: Option<Value>,
    pub history: Vec<HistoryEvent>,
    /// Billable state transitions (see the module docs for the counting rule).
    pub state_transitions: u32,
}

impl ExecutionOutcome {
    pub fn succeeded(&self) -> bool {
        self.status == ExecutionStatus::Succeeded
    }
}

/// Starts executions of one state machine. Cheap to clone; clones share the token registry and
/// the set of execution names used so far.
#[derive(Clone)]
pub struct Executor {
    machine: Arc<StateMachine>,
    dispatcher: Arc<dyn TaskDispatcher>,
    options: EngineOptions,
    tokens: TaskTokens,
    /// Every execution started, by name: its input, and whether it has ended.
    names: Arc<Mutex<HashMap<String, Started>>>,
}

/// What an executor remembers of an execution it started (as `DescribeExecution` would say).
#[derive(Clone)]
struct Started {
    input: Value,
    ended: Arc<AtomicBool>,
}

impl Executor {
    pub fn new(
        machine: StateMachine,
        dispatcher: Arc<dyn TaskDispatcher>,
        options: EngineOptions,
    ) -> Self {
        Self {
            machine: Arc::new(machine),
            dispatcher,
            options,
            tokens: TaskTokens::new(),
            names: Arc::default(),
        }
    }

    /// Share a token registry (e.g. with other executors, or with a dispatcher that answers
    /// its own tokens), like one AWS account shares its task tokens.
    pub fn with_tokens(mut self, tokens: TaskTokens) -> Self {
        self.tokens = tokens;
        self
    }

    /// The handle for `send_task_success` / `send_task_failure` / `send_task_heartbeat`.
    pub fn tokens(&self) -> TaskTokens {
        self.tokens.clone()
    }

    pub fn machine(&self) -> &StateMachine {
        &self.machine
    }

    pub fn state_machine_arn(&self) -> String {
        format!(
            "arn:aws:states:{}:{}:stateMachine:{}",
            self.options.region, self.options.account_id, self.options.state_machine_name
        )
    }

    /// The execution named `name`, if this executor started one: its input, and whether it
    /// has ended (as `DescribeExecution` tells).
    pub fn existing(&self, name: &str) -> Option<(Value, bool)> {
        self.names
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .map(|started| (started.input.clone(), started.ended.load(Ordering::SeqCst)))
    }

    /// Start an execution (like `StartExecution`): names follow the AWS rules and must be unique
    /// per executor. The execution runs as a Tokio task, so this must be called from within a
    /// Tokio runtime; it keeps running if the [`Execution`] handle is dropped.
    pub fn start(&self, name: &str, input: Value) -> Result<Execution, EngineError> {
        check_execution_name(name)?;
        let ended = Arc::new(AtomicBool::new(false));
        {
            let mut names = self.names.lock().unwrap_or_else(|p| p.into_inner());
            if names.contains_key(name) {
                return Err(EngineError::ExecutionAlreadyExists { name: name.into() });
            }
            names.insert(
                name.to_string(),
                Started {
                    input: input.clone(),
                    ended: ended.clone(),
                },
            );
        }
        let (live, first) = broadcast::channel(1024);
        let recorder = Arc::new(Recorder::new(live.clone()));
        let scale = if self.options.time_scale.is_finite() && self.options.time_scale >= 0.0 {
            self.options.time_scale
        } else {
            1.0
        };
        let run = Arc::new(Run {
            dispatcher: self.dispatcher.clone(),
            tokens: self.tokens.clone(),
            recorder: recorder.clone(),
            time_scale: scale,
            execution_arn: format!(
                "arn:aws:states:{}:{}:execution:{}:{}",
                self.options.region, self.options.account_id, self.options.state_machine_name, name
            ),
            execution_name: name.to_string(),
            machine_arn: self.state_machine_arn(),
            machine_name: self.options.state_machine_name.clone(),
            role_arn: format!(
                "arn:aws:iam::{}:role/ferry-local-states",
                self.options.account_id
            ),
            input: input.clone(),
            start_time: OffsetDateTime::now_utc(),
        });
        let abort = Arc::new(Notify::new());
        recorder.record(EventKind::ExecutionStarted {
            input: input.clone(),
        });
        let driven = drive(run.clone(), self.machine.clone(), input, abort.clone());
        let handle = tokio::spawn(async move {
            let outcome = driven.await;
            ended.store(true, Ordering::SeqCst);
            outcome
        });
        Ok(Execution {
            arn: run.execution_arn.clone(),
            name: name.to_string(),
            recorder,
            live,
            first: Mutex::new(Some(first)),
            abort,
            handle,
        })
    }
}

fn check_execution_name(name: &str) -> Result<(), EngineError> {
    let invalid = |reason: &str| EngineError::InvalidExecutionName {
        name: name.into(),
        reason: reason.into(),
    };
    let len = name.chars().count();
    if len == 0 || len > 80 {
        return Err(invalid("must have 1 to 80 characters"));
    }
    if let Some(c) = name.chars().find(|c| {
        c.is_whitespace()
            || "<>{}[]?*\"#%\\^|~`$&,;:/".contains(*c)
            || (*c as u32) < 0x20
            || (0x7f..=0x9f).contains(&(*c as u32))
    }) {
        return Err(invalid(&format!("character {c:?} is not allowed")));
    }
    Ok(())
}

/// A running (or finished) execution.
pub struct Execution {
    arn: String,
    name: String,
    recorder: Arc<Recorder>,
    live: broadcast::Sender<HistoryEvent>,
    first: Mutex<Option<broadcast::Receiver<HistoryEvent>>>,
    abort: Arc<Notify>,
    handle: JoinHandle<ExecutionOutcome>,
}

/// Stops an execution from anywhere (like `StopExecution`).
#[derive(Clone)]
pub struct AbortHandle(Arc<Notify>);

impl AbortHandle {
    pub fn abort(&self) {
        self.0.notify_one();
    }
}

impl Execution {
    pub fn arn(&self) -> &str {
        &self.arn
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Live events. The first call receives every event from `ExecutionStarted` on (buffered,
    /// up to 1024 unread events); later calls receive events from the moment they subscribe.
    pub fn subscribe(&self) -> broadcast::Receiver<HistoryEvent> {
        self.first
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .unwrap_or_else(|| self.live.subscribe())
    }

    /// The history so far.
    pub fn history(&self) -> Vec<HistoryEvent> {
        self.recorder.snapshot()
    }

    /// The state most recently entered, for progress displays.
    pub fn current_state(&self) -> Option<String> {
        self.recorder
            .snapshot()
            .iter()
            .rev()
            .find_map(|e| match &e.kind {
                EventKind::StateEntered { name, .. } => Some(name.clone()),
                _ => None,
            })
    }

    pub fn abort(&self) {
        self.abort.notify_one();
    }

    pub fn abort_handle(&self) -> AbortHandle {
        AbortHandle(self.abort.clone())
    }

    /// Wait for the execution to end.
    pub async fn wait(self) -> ExecutionOutcome {
        match self.handle.await {
            Ok(outcome) => outcome,
            Err(join) => {
                let cause = format!("the engine task ended abnormally: {join}");
                self.recorder.record(EventKind::ExecutionFailed {
                    error: Some(names::RUNTIME.into()),
                    cause: Some(cause.clone()),
                });
                ExecutionOutcome {
                    status: ExecutionStatus::Failed {
                        error: Some(names::RUNTIME.into()),
                        cause: Some(cause),
                    },
                    output: None,
                    history: self.recorder.snapshot(),
                    state_transitions: self.recorder.transitions(),
                }
            }
        }
    }
}

async fn drive(
    run: Arc<Run>,
    machine: Arc<StateMachine>,
    input: Value,
    abort: Arc<Notify>,
) -> ExecutionOutcome {
    let timeout = machine.timeout_seconds.map(|s| run.scale(s as f64));
    let body = run_scope(run.clone(), machine.root.clone(), input);
    let expired = async {
        match timeout {
            Some(t) => tokio::time::sleep(t).await,
            None => std::future::pending().await,
        }
    };
    let (status, output) = tokio::select! {
        result = body => match result {
            Ok(output) => {
                run.recorder.record(EventKind::ExecutionSucceeded { output: output.clone() });
                (ExecutionStatus::Succeeded, Some(output))
            }
            Err(err) => {
                run.recorder.record(EventKind::ExecutionFailed {
                    error: err.error.clone(),
                    cause: err.cause.clone(),
                });
                (ExecutionStatus::Failed { error: err.error, cause: err.cause }, None)
            }
        },
        _ = abort.notified() => {
            run.recorder.record(EventKind::ExecutionAborted);
            (ExecutionStatus::Aborted, None)
        }
        _ = expired => {
            run.recorder.record(EventKind::ExecutionTimedOut);
            (ExecutionStatus::TimedOut, None)
        }
    };
    ExecutionOutcome {
        status,
        output,
        history: run.recorder.snapshot(),
        state_transitions: run.recorder.transitions(),
    }
}
