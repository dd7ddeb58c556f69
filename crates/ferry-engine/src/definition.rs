//! The typed form of a state machine definition; [`crate::loader`] builds it from JSON.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;
use time::OffsetDateTime;

use crate::choice::Choice;
use crate::error::{EngineError, names};
use crate::intrinsics::Call;
use crate::loader::Loader;
use crate::path::Path;
use crate::payload::Template;

/// A loaded, validated state machine.
#[derive(Debug, Clone)]
pub struct StateMachine {
    pub comment: Option<String>,
    /// Machine-level `TimeoutSeconds`: the execution times out after this long.
    pub timeout_seconds: Option<u64>,
    pub root: Arc<Scope>,
}

/// A set of states with a start: the machine itself, a Parallel branch or a Map processor.
#[derive(Debug, Clone)]
pub struct Scope {
    pub start_at: String,
    pub states: BTreeMap<String, State>,
}

#[derive(Debug, Clone)]
pub struct State {
    pub name: String,
    pub comment: Option<String>,
    pub kind: StateKind,
}

#[derive(Debug, Clone)]
pub enum StateKind {
    Pass(PassState),
    Task(TaskState),
    Choice(ChoiceState),
    Wait(WaitState),
    Succeed(SucceedState),
    Fail(FailState),
    Parallel(ParallelState),
    Map(MapState),
}

impl StateKind {
    /// The ASL `Type`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Pass(_) => "Pass",
            Self::Task(_) => "Task",
            Self::Choice(_) => "Choice",
            Self::Wait(_) => "Wait",
            Self::Succeed(_) => "Succeed",
            Self::Fail(_) => "Fail",
            Self::Parallel(_) => "Parallel",
            Self::Map(_) => "Map",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    Next(String),
    End,
}

/// `InputPath` and `OutputPath`. `None` means the field was JSON `null` (the path yields `{}`);
/// an absent field defaults to `$`.
#[derive(Debug, Clone)]
pub struct Io {
    pub input_path: Option<Path>,
    pub output_path: Option<Path>,
}

#[derive(Debug, Clone)]
pub struct PassState {
    pub io: Io,
    pub parameters: Option<Template>,
    pub result: Option<Value>,
    /// `None`: `ResultPath: null` (discard the result, pass the input through).
    pub result_path: Option<Path>,
    pub transition: Transition,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    /// `arn:aws:lambda:REGION:ACCOUNT:function:NAME`: the output is the function's result.
    LambdaArn(String),
    /// `arn:aws:states:::lambda:invoke`: the output is the Lambda Invoke API response.
    LambdaInvoke,
    /// `arn:aws:states:::lambda:invoke.waitForTaskToken`: invoke, then wait for the token.
    LambdaInvokeWaitForTaskToken,
}

#[derive(Debug, Clone)]
pub enum Seconds {
    Fixed(u64),
    Path(Path),
}

#[derive(Debug, Clone)]
pub struct TaskState {
    pub io: Io,
    /// The `Resource` string as written.
    pub resource_arn: String,
    pub resource: Resource,
    pub parameters: Option<Template>,
    pub result_selector: Option<Template>,
    pub result_path: Option<Path>,
    pub retry: Vec<Retrier>,
    pub catch: Vec<Catcher>,
    pub timeout: Option<Seconds>,
    pub heartbeat: Option<Seconds>,
    pub transition: Transition,
}

#[derive(Debug, Clone)]
pub struct ChoiceState {
    pub io: Io,
    pub choices: Vec<Choice>,
    pub default: Option<String>,
}

#[derive(Debug, Clone)]
pub enum WaitFor {
    Seconds(u64),
    SecondsPath(Path),
    Timestamp(OffsetDateTime),
    TimestampPath(Path),
}

#[derive(Debug, Clone)]
pub struct WaitState {
    pub io: Io,
    pub wait: WaitFor,
    pub transition: Transition,
}

#[derive(Debug, Clone)]
pub struct SucceedState {
    pub io: Io,
}

/// A literal `Error`/`Cause`, or a dynamic `ErrorPath`/`CausePath` (path or intrinsic).
#[derive(Debug, Clone)]
pub enum Text {
    Literal(String),
    Path(Path),
    Intrinsic(Call),
}

#[derive(Debug, Clone)]
pub struct FailState {
    pub error: Option<Text>,
    pub cause: Option<Text>,
}

#[derive(Debug, Clone)]
pub struct ParallelState {
    pub io: Io,
    pub branches: Vec<Arc<Scope>>,
    pub parameters: Option<Template>,
    pub result_selector: Option<Template>,
    pub result_path: Option<Path>,
    pub retry: Vec<Retrier>,
    pub catch: Vec<Catcher>,
    pub transition: Transition,
}

#[derive(Debug, Clone)]
pub struct MapState {
    pub io: Io,
    pub processor: Arc<Scope>,
    pub items_path: Path,
    /// `ItemSelector` (or the legacy `Parameters`), evaluated once per item.
    pub item_selector: Option<Template>,
    /// 0 means no limit.
    pub max_concurrency: u64,
    pub result_selector: Option<Template>,
    pub result_path: Option<Path>,
    pub retry: Vec<Retrier>,
    pub catch: Vec<Catcher>,
    pub transition: Transition,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Jitter {
    None,
    Full,
}

#[derive(Debug, Clone)]
pub struct Retrier {
    pub error_equals: Vec<String>,
    pub interval_seconds: u64,
    pub max_attempts: u64,
    pub backoff_rate: f64,
    pub max_delay_seconds: Option<u64>,
    pub jitter: Jitter,
}

#[derive(Debug, Clone)]
pub struct Catcher {
    pub error_equals: Vec<String>,
    pub result_path: Option<Path>,
    pub next: String,
}

/// Does an `ErrorEquals` list match this error name? `States.ALL` matches everything and
/// `States.TaskFailed` everything except `States.Timeout`; neither (nor anything else) matches
/// the terminal `States.Runtime` and `States.DataLimitExceeded`.
pub fn error_matches(error_equals: &[String], error: &str) -> bool {
    if matches!(error, names::RUNTIME | names::DATA_LIMIT_EXCEEDED) {
        return false;
    }
    error_equals.iter().any(|pattern| {
        pattern == error
            || pattern == names::ALL
            || (pattern == names::TASK_FAILED && error != names::TIMEOUT)
    })
}

impl StateMachine {
    /// Parse and validate a definition (placeholders already bound).
    pub fn from_json(definition_json: &str) -> Result<Self, EngineError> {
        let value: Value =
            serde_json::from_str(definition_json).map_err(|e| EngineError::Json(e.to_string()))?;
        Self::from_value(&value)
    }

    pub fn from_value(definition: &Value) -> Result<Self, EngineError> {
        let mut loader = Loader::default();
        let machine = loader.machine(definition);
        match machine {
            Some(machine) if loader.problems.is_empty() => Ok(machine),
            _ => Err(EngineError::Definition {
                problems: loader.problems,
            }),
        }
    }

    /// Find a state by name, at any depth (names are unique across the machine).
    pub fn state(&self, name: &str) -> Option<&State> {
        fn find<'a>(scope: &'a Scope, name: &str) -> Option<&'a State> {
            if let Some(state) = scope.states.get(name) {
                return Some(state);
            }
            scope.states.values().find_map(|s| match &s.kind {
                StateKind::Parallel(p) => p.branches.iter().find_map(|b| find(b, name)),
                StateKind::Map(m) => find(&m.processor, name),
                _ => None,
            })
        }
        find(&self.root, name)
    }
}

/// Load a definition, or report every problem.
pub fn check_supported(definition_json: &str) -> Result<(), Vec<String>> {
    match StateMachine::from_json(definition_json) {
        Ok(_) => Ok(()),
        Err(EngineError::Definition { problems }) => Err(problems),
        Err(other) => Err(vec![other.to_string()]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_states_failed_matches_everything_but_timeout_and_nothing_matches_runtime() {
        let all = vec![names::ALL.to_string()];
        let task_failed = vec![names::TASK_FAILED.to_string()];
        assert!(error_matches(&all, "Retryable"));
        assert!(error_matches(&all, names::TIMEOUT));
        assert!(!error_matches(&all, names::RUNTIME));
        assert!(error_matches(&task_failed, "AlarmBreached"));
        assert!(error_matches(&task_failed, names::HEARTBEAT_TIMEOUT));
        assert!(!error_matches(&task_failed, names::TIMEOUT));
        assert!(!error_matches(&["Retryable".to_string()], "NonRetryable"));
    }
}
