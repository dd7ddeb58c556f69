//! Handler errors and their stable names.
//!
//! The names are a contract with the state machines: ASL `Retry` and `Catch` blocks match
//! them (`"ErrorEquals": ["Retryable"]`). Never rename one without changing `statemachines/`.

use ferry_core::ports::PortError;

/// The stable error names Step Functions sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Worth retrying with backoff: throttling, a 5xx, a lost conditional write, weights not
    /// yet visible.
    Retryable,
    /// Retrying cannot help; the deployment must roll back.
    NonRetryable,
    /// The manifest or task definition is invalid; nothing was changed.
    InvalidManifest,
    /// Another deployment of the service is running.
    LockHeld,
    /// A pushed commit that is not the one to deploy any more: a newer push replaced it, its
    /// branch moved on, or production already runs a newer commit. Nothing was changed.
    Superseded,
    /// Green did not become stable in time.
    StabilizationTimeout,
    /// A guarding alarm is in ALARM.
    AlarmBreached,
    /// A verification hook failed and its `onFailure` is `rollback`.
    HookFailed,
    /// A person rejected the deployment.
    Rejected,
    /// A person asked for a rollback while the deployment waited.
    Aborted,
    /// A person approved (or ended early) a wait whose task was retried before the answer
    /// reached it: the state machine goes on as if the new task had been answered.
    Approved,
}

impl ErrorKind {
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::Retryable => "Retryable",
            ErrorKind::NonRetryable => "NonRetryable",
            ErrorKind::InvalidManifest => "InvalidManifest",
            ErrorKind::LockHeld => "LockHeld",
            ErrorKind::Superseded => "Superseded",
            ErrorKind::StabilizationTimeout => "StabilizationTimeout",
            ErrorKind::AlarmBreached => "AlarmBreached",
            ErrorKind::HookFailed => "HookFailed",
            ErrorKind::Rejected => "Rejected",
            ErrorKind::Aborted => "Aborted",
            ErrorKind::Approved => "Approved",
        }
    }
}

/// What a handler failed with: a stable kind and a message for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct HandlerError {
    pub kind: ErrorKind,
    pub message: String,
}

impl HandlerError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    pub fn retryable(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Retryable, message)
    }

    pub fn non_retryable(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NonRetryable, message)
    }

    /// The name Step Functions matches on.
    pub fn error_type(&self) -> &'static str {
        self.kind.name()
    }

    /// A port failure, with what we were doing when it happened.
    pub fn from_port(doing: &str, error: PortError) -> Self {
        let kind = if error.is_retryable() || matches!(error, PortError::Conflict(_)) {
            ErrorKind::Retryable
        } else {
            ErrorKind::NonRetryable
        };
        Self::new(kind, format!("{doing}: {error}"))
    }
}

/// `port_call.await.map_err(port("describing the service"))`
pub(crate) fn port(doing: &'static str) -> impl Fn(PortError) -> HandlerError {
    move |error| HandlerError::from_port(doing, error)
}
