//! Execution history: timestamped events, kept for the outcome and broadcast live so a CLI or
//! UI can show the current state. Event names follow the AWS history where one exists
//! ([`EventKind::aws_type`]); `RetryScheduled` is the engine's own, to make retries visible.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use tokio::sync::broadcast;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryEvent {
    /// 1-based, in the order the events happened.
    pub id: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub timestamp: OffsetDateTime,
    #[serde(flatten)]
    pub kind: EventKind,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type")]
pub enum EventKind {
    ExecutionStarted {
        input: Value,
    },
    ExecutionSucceeded {
        output: Value,
    },
    ExecutionFailed {
        error: Option<String>,
        cause: Option<String>,
    },
    ExecutionTimedOut,
    ExecutionAborted,
    StateEntered {
        name: String,
        state_type: String,
        input: Value,
    },
    StateExited {
        name: String,
        state_type: String,
        output: Value,
    },
    /// A Lambda invocation is about to happen.
    TaskScheduled {
        name: String,
        resource: String,
        function: String,
        payload: Value,
    },
    /// `.waitForTaskToken`: the function was invoked; the state now waits for this token.
    TaskSubmitted {
        name: String,
        token: String,
    },
    TaskSucceeded {
        name: String,
        output: Value,
    },
    TaskFailed {
        name: String,
        error: Option<String>,
        cause: Option<String>,
    },
    /// `States.Timeout` or `States.HeartbeatTimeout`.
    TaskTimedOut {
        name: String,
        error: String,
        cause: String,
    },
    /// The engine's own event: a retrier matched and the state will run again after `delay_seconds`
    /// (in definition seconds, before `time_scale`).
    RetryScheduled {
        name: String,
        error: String,
        retry: u64,
        delay_seconds: f64,
    },
    MapIterationStarted {
        name: String,
        index: usize,
    },
    MapIterationSucceeded {
        name: String,
        index: usize,
    },
    MapIterationFailed {
        name: String,
        index: usize,
    },
}

impl EventKind {
    /// The AWS history event type this corresponds to, e.g. `TaskStateEntered`.
    pub fn aws_type(&self) -> String {
        match self {
            Self::StateEntered { state_type, .. } => format!("{state_type}StateEntered"),
            Self::StateExited { state_type, .. } => format!("{state_type}StateExited"),
            Self::ExecutionStarted { .. } => "ExecutionStarted".into(),
            Self::ExecutionSucceeded { .. } => "ExecutionSucceeded".into(),
            Self::ExecutionFailed { .. } => "ExecutionFailed".into(),
            Self::ExecutionTimedOut => "ExecutionTimedOut".into(),
            Self::ExecutionAborted => "ExecutionAborted".into(),
            Self::TaskScheduled { .. } => "TaskScheduled".into(),
            Self::TaskSubmitted { .. } => "TaskSubmitted".into(),
            Self::TaskSucceeded { .. } => "TaskSucceeded".into(),
            Self::TaskFailed { .. } => "TaskFailed".into(),
            Self::TaskTimedOut { .. } => "TaskTimedOut".into(),
            Self::RetryScheduled { .. } => "RetryScheduled".into(),
            Self::MapIterationStarted { .. } => "MapIterationStarted".into(),
            Self::MapIterationSucceeded { .. } => "MapIterationSucceeded".into(),
            Self::MapIterationFailed { .. } => "MapIterationFailed".into(),
        }
    }

    /// The state an event belongs to, if any.
    pub fn state_name(&self) -> Option<&str> {
        match self {
            Self::StateEntered { name, .. }
            | Self::StateExited { name, .. }
            | Self::TaskScheduled { name, .. }
            | Self::TaskSubmitted { name, .. }
            | Self::TaskSucceeded { name, .. }
            | Self::TaskFailed { name, .. }
            | Self::TaskTimedOut { name, .. }
            | Self::RetryScheduled { name, .. }
            | Self::MapIterationStarted { name, .. }
            | Self::MapIterationSucceeded { name, .. }
            | Self::MapIterationFailed { name, .. } => Some(name),
            _ => None,
        }
    }
}

/// Collects events, broadcasts them, and counts billable state transitions.
pub(crate) struct Recorder {
    events: Mutex<Vec<HistoryEvent>>,
    live: broadcast::Sender<HistoryEvent>,
    transitions: AtomicU32,
}

impl Recorder {
    pub fn new(live: broadcast::Sender<HistoryEvent>) -> Self {
        Self {
            events: Mutex::new(Vec::new()),
            live,
            transitions: AtomicU32::new(0),
        }
    }

    pub fn record(&self, kind: EventKind) {
        let mut events = self.events.lock().unwrap_or_else(|p| p.into_inner());
        let event = HistoryEvent {
            id: events.len() as u64 + 1,
            timestamp: OffsetDateTime::now_utc(),
            kind,
        };
        events.push(event.clone());
        // Nobody listening is fine.
        let _ = self.live.send(event);
    }

    pub fn snapshot(&self) -> Vec<HistoryEvent> {
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn count_transition(&self) {
        self.transitions.fetch_add(1, Ordering::Relaxed);
    }

    pub fn transitions(&self) -> u32 {
        self.transitions.load(Ordering::Relaxed)
    }
}
