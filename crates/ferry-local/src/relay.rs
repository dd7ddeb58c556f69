//! Answers given in another process, delivered to this process's engine.
//!
//! In AWS a task token works from anywhere. Locally it lives in the engine of the process
//! that runs the execution, so `ferry approve ID --local` in another terminal (or a Slack click
//! served by `ferry serve`) claims its answer on the deployment record, as every action does,
//! and the process holding the token delivers it from there. The claim is a conditional write,
//! so an answer is delivered once and a second one is refused as already decided.

use std::collections::HashSet;
use std::time::Duration;

use ferry_engine::{EngineError, TaskTokens};
use ferry_handlers::Deps;
use serde_json::json;
use tracing::{info, warn};

/// Delivers answers claimed on records to the waits of this process's engine.
pub struct AnswerRelay {
    deps: Deps,
    tokens: TaskTokens,
    interval: Duration,
}

impl AnswerRelay {
    pub fn new(deps: Deps, tokens: TaskTokens, interval: Duration) -> Self {
        Self {
            deps,
            tokens,
            interval,
        }
    }

    /// Runs until the returned handle is aborted (or dropped with the runtime).
    pub fn spawn(self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            loop {
                if let Err(error) = self.tick().await {
                    warn!(%error, "answer relay tick failed");
                }
                tokio::time::sleep(self.interval).await;
            }
        })
    }

    /// One pass: the number of answers delivered. Public so tests can drive it.
    pub async fn tick(&self) -> Result<usize, String> {
        let waiting: HashSet<String> = self
            .tokens
            .pending()
            .into_iter()
            .map(|task| task.token)
            .collect();
        if waiting.is_empty() {
            return Ok(0);
        }
        let in_flight = self
            .deps
            .store
            .list_in_flight()
            .await
            .map_err(|error| error.to_string())?;
        let mut delivered = 0;
        for deployment in in_flight {
            let Some(pending) = &deployment.pending_token else {
                continue;
            };
            let Some(answered) = &pending.answered else {
                continue;
            };
            if !waiting.contains(&pending.token) {
                continue;
            }
            let sent = match answered.answer.error() {
                None => self.tokens.send_task_success(
                    &pending.token,
                    json!({ "answeredBy": answered.by.identity.to_string() }),
                ),
                Some(error) => {
                    self.tokens
                        .send_task_failure(&pending.token, error, &answered.reason)
                }
            };
            match sent {
                Ok(()) => {
                    info!(deployment = %deployment.id, answer = answered.answer.name(), by = %answered.by, "answer relayed");
                    delivered += 1;
                }
                // Answered meanwhile (by this process's own action, or a timeout).
                Err(EngineError::TaskDoesNotExist { .. } | EngineError::TaskTimedOut { .. }) => {}
                Err(error) => {
                    warn!(deployment = %deployment.id, %error, "relaying the answer failed")
                }
            }
        }
        Ok(delivered)
    }
}
