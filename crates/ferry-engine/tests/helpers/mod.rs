//! Test helpers: an in-memory Lambda dispatcher and shortcuts to load and run definitions.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use ferry_engine::{
    EngineOptions, ExecutionOutcome, ExecutionStatus, Executor, StateMachine, TaskDispatcher,
    TaskFailure, TaskTokens, load,
};
use serde_json::Value;

type Reply = Pin<Box<dyn Future<Output = Result<Value, TaskFailure>> + Send>>;
type Handler = Arc<dyn Fn(Value) -> Reply + Send + Sync>;

/// Fake Lambda functions, keyed by function name; every call is recorded.
#[derive(Clone, Default)]
pub struct Lambdas {
    handlers: Arc<Mutex<HashMap<String, Handler>>>,
    calls: Arc<Mutex<Vec<(String, Value)>>>,
}

impl Lambdas {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn on<F>(self, name: &str, f: F) -> Self
    where
        F: Fn(Value) -> Result<Value, TaskFailure> + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        self.on_async(name, move |payload| {
            let f = f.clone();
            async move { f(payload) }
        })
    }

    pub fn on_async<F, R>(self, name: &str, f: F) -> Self
    where
        F: Fn(Value) -> R + Send + Sync + 'static,
        R: Future<Output = Result<Value, TaskFailure>> + Send + 'static,
    {
        let handler: Handler = Arc::new(move |payload| Box::pin(f(payload)));
        self.handlers
            .lock()
            .unwrap()
            .insert(name.to_string(), handler);
        self
    }

    /// The payloads `name` was invoked with, in order.
    pub fn calls(&self, name: &str) -> Vec<Value> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, p)| p.clone())
            .collect()
    }
}

/// `arn:aws:lambda:...:function:NAME[:qualifier]` → `NAME`; plain names unchanged.
fn function_name(function: &str) -> &str {
    match function.split(':').collect::<Vec<_>>().as_slice() {
        ["arn", _, "lambda", _, _, "function", name, ..] => name,
        _ => function,
    }
}

#[async_trait::async_trait]
impl TaskDispatcher for Lambdas {
    async fn invoke(&self, function: &str, payload: Value) -> Result<Value, TaskFailure> {
        let name = function_name(function).to_string();
        self.calls
            .lock()
            .unwrap()
            .push((name.clone(), payload.clone()));
        let handler = self.handlers.lock().unwrap().get(&name).cloned();
        match handler {
            Some(handler) => handler(payload).await,
            None => Err(TaskFailure::new(
                "Lambda.ResourceNotFoundException",
                format!("Function not found: {function}"),
            )),
        }
    }
}

pub fn lambda_arn(name: &str) -> String {
    format!("arn:aws:lambda:us-east-1:123456789012:function:{name}")
}

/// 1000× faster than real time: a 300 s wait takes 0.3 s.
pub fn fast() -> EngineOptions {
    EngineOptions {
        time_scale: 0.001,
        ..Default::default()
    }
}

pub fn machine(definition: &Value) -> StateMachine {
    load(&definition.to_string()).unwrap_or_else(|e| panic!("definition refused: {e}"))
}

pub fn executor(definition: &Value, lambdas: &Lambdas, tokens: &TaskTokens) -> Executor {
    Executor::new(machine(definition), Arc::new(lambdas.clone()), fast())
        .with_tokens(tokens.clone())
}

/// Load, start with a unique name, and wait.
pub async fn run(definition: &Value, lambdas: &Lambdas, input: Value) -> ExecutionOutcome {
    executor(definition, lambdas, &TaskTokens::new())
        .start(&format!("test-{}", uuid::Uuid::new_v4()), input)
        .expect("start")
        .wait()
        .await
}

/// The output of a successful execution, or a panic showing how it ended.
pub fn output(outcome: &ExecutionOutcome) -> Value {
    match (&outcome.status, &outcome.output) {
        (ExecutionStatus::Succeeded, Some(output)) => output.clone(),
        (status, _) => panic!(
            "execution did not succeed: {status:?}\n{:#?}",
            outcome.history
        ),
    }
}

/// The error name of a failed execution.
pub fn failure(outcome: &ExecutionOutcome) -> (String, String) {
    match &outcome.status {
        ExecutionStatus::Failed { error, cause } => (
            error.clone().unwrap_or_default(),
            cause.clone().unwrap_or_default(),
        ),
        other => panic!("expected a failure, got {other:?}"),
    }
}

/// Names of the AWS event types in the history, in order.
pub fn event_types(outcome: &ExecutionOutcome) -> Vec<String> {
    outcome.history.iter().map(|e| e.kind.aws_type()).collect()
}

/// Load a definition that must be refused, and return the problems.
pub fn refusal(definition: &Value) -> Vec<String> {
    ferry_engine::check_supported(&definition.to_string())
        .expect_err("the definition should have been refused")
}
