//! Task tokens for `.waitForTaskToken`: a cloneable registry shared by every execution of an
//! [`Executor`](crate::Executor) (or several executors, like one AWS account), answering
//! `SendTaskSuccess` / `SendTaskFailure` / `SendTaskHeartbeat` the way AWS does:
//! a token never issued is `TaskDoesNotExist`; a token whose task already completed, failed or
//! timed out is `TaskTimedOut` ("Provided task does not exist anymore").

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use crate::error::EngineError;

/// AWS limits: token length, output size, error and cause length.
const MAX_TOKEN: usize = 1024;
const MAX_OUTPUT_BYTES: usize = 256 * 1024;
const MAX_ERROR: usize = 256;
const MAX_CAUSE: usize = 32_768;

/// What the holder of a token reported.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskResult {
    Success(Value),
    Failure { error: String, cause: String },
}

/// A task waiting for its token, as listed by [`TaskTokens::pending`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingTask {
    pub token: String,
    pub execution_arn: String,
    pub state: String,
}

enum Slot {
    Open {
        result: oneshot::Sender<TaskResult>,
        heartbeat: mpsc::UnboundedSender<()>,
        execution_arn: String,
        state: String,
    },
    Closed,
}

/// The token registry. Clone it freely: clones share the same tokens.
#[derive(Clone, Default)]
pub struct TaskTokens {
    slots: Arc<Mutex<HashMap<String, Slot>>>,
}

impl std::fmt::Debug for TaskTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskTokens")
            .field("pending", &self.pending().len())
            .finish()
    }
}

/// The engine's side of one issued token. Dropping it closes the token.
pub(crate) struct Waiter {
    pub token: String,
    pub result: oneshot::Receiver<TaskResult>,
    pub heartbeats: mpsc::UnboundedReceiver<()>,
    registry: TaskTokens,
}

impl Drop for Waiter {
    fn drop(&mut self) {
        self.registry.close(&self.token);
    }
}

impl TaskTokens {
    pub fn new() -> Self {
        Self::default()
    }

    pub(crate) fn issue(&self, execution_arn: &str, state: &str) -> Waiter {
        let token = format!(
            "AQ{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let (result_tx, result_rx) = oneshot::channel();
        let (heartbeat_tx, heartbeat_rx) = mpsc::unbounded_channel();
        self.lock().insert(
            token.clone(),
            Slot::Open {
                result: result_tx,
                heartbeat: heartbeat_tx,
                execution_arn: execution_arn.to_string(),
                state: state.to_string(),
            },
        );
        Waiter {
            token,
            result: result_rx,
            heartbeats: heartbeat_rx,
            registry: self.clone(),
        }
    }

    pub(crate) fn close(&self, token: &str) {
        if let Some(slot) = self.lock().get_mut(token) {
            *slot = Slot::Closed;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Slot>> {
        self.slots
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Tasks currently waiting for a token, in no particular order.
    pub fn pending(&self) -> Vec<PendingTask> {
        self.lock()
            .iter()
            .filter_map(|(token, slot)| match slot {
                Slot::Open {
                    execution_arn,
                    state,
                    ..
                } => Some(PendingTask {
                    token: token.clone(),
                    execution_arn: execution_arn.clone(),
                    state: state.clone(),
                }),
                Slot::Closed => None,
            })
            .collect()
    }

    pub fn send_task_success(&self, token: &str, output: Value) -> Result<(), EngineError> {
        if output.to_string().len() > MAX_OUTPUT_BYTES {
            return Err(EngineError::InvalidOutput(format!(
                "the output is larger than {MAX_OUTPUT_BYTES} bytes"
            )));
        }
        self.complete(token, TaskResult::Success(output))
    }

    pub fn send_task_failure(
        &self,
        token: &str,
        error: &str,
        cause: &str,
    ) -> Result<(), EngineError> {
        if error.chars().count() > MAX_ERROR || cause.chars().count() > MAX_CAUSE {
            return Err(EngineError::InvalidOutput(format!(
                "error must be at most {MAX_ERROR} characters and cause at most {MAX_CAUSE}"
            )));
        }
        self.complete(
            token,
            TaskResult::Failure {
                error: error.to_string(),
                cause: cause.to_string(),
            },
        )
    }

    pub fn send_task_heartbeat(&self, token: &str) -> Result<(), EngineError> {
        check_token(token)?;
        match self.lock().get(token) {
            None => Err(EngineError::TaskDoesNotExist {
                token: token.into(),
            }),
            Some(Slot::Closed) => Err(EngineError::TaskTimedOut {
                token: token.into(),
            }),
            Some(Slot::Open { heartbeat, .. }) => {
                // A closed receiver means the task just ended: same answer as a closed slot.
                heartbeat.send(()).map_err(|_| EngineError::TaskTimedOut {
                    token: token.into(),
                })
            }
        }
    }

    fn complete(&self, token: &str, result: TaskResult) -> Result<(), EngineError> {
        check_token(token)?;
        let mut slots = self.lock();
        let Some(slot) = slots.get_mut(token) else {
            return Err(EngineError::TaskDoesNotExist {
                token: token.into(),
            });
        };
        match std::mem::replace(slot, Slot::Closed) {
            Slot::Closed => Err(EngineError::TaskTimedOut {
                token: token.into(),
            }),
            Slot::Open { result: tx, .. } => {
                tx.send(result).map_err(|_| EngineError::TaskTimedOut {
                    token: token.into(),
                })
            }
        }
    }
}

fn check_token(token: &str) -> Result<(), EngineError> {
    if token.is_empty() || token.len() > MAX_TOKEN {
        return Err(EngineError::InvalidToken {
            reason: format!(
                "a token has 1 to {MAX_TOKEN} characters, got {}",
                token.len()
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn a_token_delivers_its_result_once_then_reports_timed_out() {
        let tokens = TaskTokens::new();
        let mut waiter = tokens.issue("arn:exec", "Bake");
        assert_eq!(tokens.pending().len(), 1);
        tokens.send_task_heartbeat(&waiter.token).unwrap();
        assert!(waiter.heartbeats.recv().await.is_some());
        tokens
            .send_task_success(&waiter.token, json!({"ok": true}))
            .unwrap();
        assert_eq!(
            (&mut waiter.result).await.unwrap(),
            TaskResult::Success(json!({"ok": true}))
        );
        assert!(matches!(
            tokens.send_task_failure(&waiter.token, "E", "c"),
            Err(EngineError::TaskTimedOut { .. })
        ));
        assert!(tokens.pending().is_empty());
    }

    #[test]
    fn unknown_and_malformed_tokens_are_refused() {
        let tokens = TaskTokens::new();
        assert!(matches!(
            tokens.send_task_success("nope", json!(1)),
            Err(EngineError::TaskDoesNotExist { .. })
        ));
        assert!(matches!(
            tokens.send_task_heartbeat(""),
            Err(EngineError::InvalidToken { .. })
        ));
    }

    #[test]
    fn dropping_the_waiter_closes_the_token() {
        let tokens = TaskTokens::new();
        let token = tokens.issue("arn:exec", "Bake").token.clone();
        assert!(matches!(
            tokens.send_task_heartbeat(&token),
            Err(EngineError::TaskTimedOut { .. })
        ));
    }
}
