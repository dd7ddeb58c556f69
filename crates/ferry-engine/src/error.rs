//! The crate's one error enum, and the ASL error value that flows through Retry and Catch.

use thiserror::Error;

/// Everything the engine reports to its caller (not to the state machine: see [`AslError`]).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum EngineError {
    /// A `${name}` placeholder in a template has no binding.
    #[error(
        "placeholder ${{{name}}} is not bound: add `{name}` to the bindings (Terraform's templatefile would refuse it too)"
    )]
    UnboundPlaceholder { name: String },

    /// A template uses something other than `${identifier}` interpolation.
    #[error(
        "template at byte {offset}: {message}; only `${{name}}` placeholders and `$${{` escapes are supported"
    )]
    UnsupportedTemplate { offset: usize, message: String },

    /// The definition is not valid JSON.
    #[error("state machine definition is not valid JSON: {0}")]
    Json(String),

    /// The definition is invalid or uses something this engine does not implement.
    /// Each problem names the state, the field and what is wrong.
    #[error("state machine definition refused:\n  - {}", .problems.join("\n  - "))]
    Definition { problems: Vec<String> },

    /// The execution name breaks the StartExecution rules.
    #[error(
        "invalid execution name {name:?}: {reason} (1 to 80 characters, no whitespace, brackets, wildcards or special characters)"
    )]
    InvalidExecutionName { name: String, reason: String },

    /// An execution with this name was already started by this executor.
    #[error("execution {name:?} already exists: pick a unique execution name")]
    ExecutionAlreadyExists { name: String },

    /// `SendTask*` with a token that this engine never issued.
    #[error("TaskDoesNotExist: no task with this token was ever issued: {token}")]
    TaskDoesNotExist { token: String },

    /// `SendTask*` with a token whose task already completed, failed or timed out.
    #[error(
        "TaskTimedOut: Provided task does not exist anymore (it completed or timed out): {token}"
    )]
    TaskTimedOut { token: String },

    /// A malformed token (empty or longer than 1024 characters).
    #[error("InvalidToken: the provided token is not valid: {reason}")]
    InvalidToken { reason: String },

    /// Output, error or cause exceeding the AWS API limits.
    #[error("InvalidOutput: {0}")]
    InvalidOutput(String),
}

/// An error as the state machine sees it: a name matched by `ErrorEquals`, and a cause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AslError {
    /// The error name, e.g. `States.Timeout` or a Lambda `errorType` such as `Retryable`.
    pub error: Option<String>,
    /// A human-readable explanation.
    pub cause: Option<String>,
}

impl AslError {
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        Self {
            error: Some(error.into()),
            cause: Some(cause.into()),
        }
    }

    /// `States.Runtime`: never retried, never caught, always fails the execution (like AWS).
    pub fn runtime(cause: impl Into<String>) -> Self {
        Self::new(names::RUNTIME, cause)
    }

    pub fn intrinsic(cause: impl Into<String>) -> Self {
        Self::new(names::INTRINSIC_FAILURE, cause)
    }

    pub fn name(&self) -> &str {
        self.error.as_deref().unwrap_or("")
    }

    /// Terminal errors cannot be retried or caught, not even by `States.ALL`.
    pub fn is_terminal(&self) -> bool {
        matches!(self.name(), names::RUNTIME | names::DATA_LIMIT_EXCEEDED)
    }

    /// The error output a Catcher hands to its `ResultPath`: `{"Error": ..., "Cause": ...}`.
    pub fn to_output(&self) -> serde_json::Value {
        let mut out = serde_json::Map::new();
        if let Some(error) = &self.error {
            out.insert("Error".into(), error.clone().into());
        }
        if let Some(cause) = &self.cause {
            out.insert("Cause".into(), cause.clone().into());
        }
        serde_json::Value::Object(out)
    }
}

/// The predefined `States.*` error names.
pub mod names {
    pub const ALL: &str = "States.ALL";
    pub const TASK_FAILED: &str = "States.TaskFailed";
    pub const TIMEOUT: &str = "States.Timeout";
    pub const HEARTBEAT_TIMEOUT: &str = "States.HeartbeatTimeout";
    pub const RUNTIME: &str = "States.Runtime";
    pub const DATA_LIMIT_EXCEEDED: &str = "States.DataLimitExceeded";
    pub const NO_CHOICE_MATCHED: &str = "States.NoChoiceMatched";
    pub const INTRINSIC_FAILURE: &str = "States.IntrinsicFailure";
    pub const RESULT_PATH_MATCH_FAILURE: &str = "States.ResultPathMatchFailure";
    pub const PARAMETER_PATH_FAILURE: &str = "States.ParameterPathFailure";
    pub const BRANCH_FAILED: &str = "States.BranchFailed";
}
