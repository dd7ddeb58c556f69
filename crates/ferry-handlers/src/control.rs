//! The actions people take on a running deployment, for every front end: approve, reject,
//! promote, roll back, move to a preset. [`act`] applies `ferry_core::control`'s rules over the
//! ports, as the authenticated [`Actor`] given; front ends only authenticate, call and print.
//!
//! An answer to a wait (a task token) is first claimed on the record with a conditional write,
//! then sent: two people answering at once get one answer through and one
//! [`Refusal::AlreadyDecided`], and a retry of the same answer (its reply was lost) sends it
//! again. In local mode the token may belong to another process's engine; that process
//! delivers answers claimed on the record (`ferry_local::AnswerRelay`).

use ferry_core::control::decide;
pub use ferry_core::control::{
    Action, Actor, Answer, Answered, Channel, Effect, Identity, Refusal, TrafficAction,
    TrafficRequest,
};
use ferry_core::ports::{PortError, Workflow};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tracing::info;

use crate::{Deps, HandlerError};

/// What an action did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "outcome",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum Outcome {
    /// The wait was answered; the deploy workflow goes on (or rolls back).
    Answered {
        deployment_id: String,
        answer: Answer,
        reason: String,
    },
    /// The traffic workflow was started.
    TrafficStarted {
        deployment_id: String,
        request: TrafficRequest,
        execution: String,
    },
}

impl Outcome {
    /// One line for a person.
    pub fn describe(&self) -> String {
        match self {
            Outcome::Answered {
                deployment_id,
                answer,
                reason,
            } => match answer {
                Answer::Approved => format!("{deployment_id}: {reason}"),
                Answer::Rejected => format!("{deployment_id}: {reason}; it rolls back"),
                Answer::Aborted => format!("rolling back {deployment_id}: {reason}"),
            },
            Outcome::TrafficStarted {
                deployment_id,
                request,
                ..
            } => match (request.action, request.weight) {
                (TrafficAction::Rollback, _) => format!("rolling back {deployment_id}"),
                (TrafficAction::Promote, _) => format!("promoting {deployment_id}"),
                (TrafficAction::Preset, weight) => format!(
                    "moving {deployment_id} to {}% on green",
                    weight.unwrap_or_default()
                ),
            },
        }
    }
}

/// Why an action did not happen: refused by the rules (nothing changed), or a port failed
/// (try again: a repeat is safe).
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error("{0}")]
    Failed(#[from] HandlerError),
}

/// Optimistic writes lost to another writer before giving up (each retry re-decides).
const CLAIM_ATTEMPTS: usize = 5;

/// Takes `action` on deployment `deployment_id` as `actor`.
pub async fn act(
    deps: &Deps,
    actor: &Actor,
    deployment_id: &str,
    action: Action,
) -> Result<Outcome, ActionError> {
    for _ in 0..CLAIM_ATTEMPTS {
        let Some(mut deployment) = deps
            .store
            .get(deployment_id)
            .await
            .map_err(|error| HandlerError::from_port("reading the deployment record", error))?
        else {
            return Err(Refusal::NotFound {
                deployment_id: deployment_id.to_string(),
            }
            .into());
        };
        match decide(&deployment, actor, &action)? {
            Effect::StartTraffic(request) => return start_traffic(deps, request).await,
            Effect::AnswerWait { answer, reason } => {
                let Some(pending) = deployment.pending_token.clone() else {
                    unreachable!("decide answers only a pending wait");
                };
                if pending.answered.is_none() {
                    let event = deployment.answered(Answered {
                        answer,
                        by: actor.clone(),
                        at: deps.clock.now(),
                        reason: reason.clone(),
                    });
                    match deps.store.update(&mut deployment).await {
                        // The answer is recorded: say who gave it (Slack's thread, the log).
                        Ok(()) => crate::record::notify(deps, &deployment, &event).await,
                        // Someone else wrote first: decide again on what they wrote.
                        Err(PortError::Conflict(_)) => continue,
                        Err(error) => {
                            return Err(
                                HandlerError::from_port("recording the answer", error).into()
                            );
                        }
                    }
                }
                return send_answer(deps, actor, &deployment, &pending.token, answer, reason).await;
            }
        }
    }
    Err(HandlerError::retryable(format!(
        "deployment {deployment_id} kept changing while answering it; try again"
    ))
    .into())
}

async fn send_answer(
    deps: &Deps,
    actor: &Actor,
    deployment: &ferry_core::Deployment,
    token: &str,
    answer: Answer,
    reason: String,
) -> Result<Outcome, ActionError> {
    let sent = match answer.error() {
        None => {
            deps.workflows
                .send_task_success(token, &json!({ "answeredBy": actor.identity.to_string() }))
                .await
        }
        Some(error) => {
            deps.workflows
                .send_task_failure(token, error, &reason)
                .await
        }
    };
    match sent {
        Ok(()) => {
            info!(deployment = %deployment.id, answer = answer.name(), by = %actor, "wait answered");
            Ok(Outcome::Answered {
                deployment_id: deployment.id.clone(),
                answer,
                reason,
            })
        }
        // The wait ended before the answer arrived (it timed out, an alarm failed it, or its
        // execution is gone). A rollback still happens, through the traffic workflow.
        Err(PortError::NotFound(_) | PortError::Conflict(_)) if answer == Answer::Aborted => {
            start_traffic(
                deps,
                TrafficRequest {
                    deployment_id: deployment.id.clone(),
                    action: TrafficAction::Rollback,
                    weight: None,
                    reason: Some(reason),
                },
            )
            .await
        }
        Err(PortError::NotFound(_) | PortError::Conflict(_)) => Err(Refusal::AlreadyDecided {
            deployment_id: deployment.id.clone(),
            decision: "the wait had already ended (timed out, or failed by an alarm)".into(),
        }
        .into()),
        Err(error) => Err(HandlerError::from_port("sending the answer", error).into()),
    }
}

async fn start_traffic(deps: &Deps, request: TrafficRequest) -> Result<Outcome, ActionError> {
    let label = format!(
        "{}-{}",
        match request.action {
            TrafficAction::Rollback => "rollback",
            TrafficAction::Promote => "promote",
            TrafficAction::Preset => "preset",
        },
        deps.clock.now().unix_timestamp()
    );
    let name = execution_name(&request.deployment_id, &label);
    let execution = match deps
        .workflows
        .start(Workflow::Traffic, &name, &request.to_json())
        .await
    {
        Ok(execution) => execution.execution_arn,
        // The same request in the same second: it is running already.
        Err(PortError::Conflict(_)) => name,
        Err(error) => {
            return Err(HandlerError::from_port("starting the traffic workflow", error).into());
        }
    };
    info!(deployment = %request.deployment_id, action = ?request.action, %execution, "traffic workflow started");
    Ok(Outcome::TrafficStarted {
        deployment_id: request.deployment_id.clone(),
        request,
        execution,
    })
}

/// A Step Functions execution name for an action on a deployment: at most 80 characters,
/// unique per deployment and `label`.
pub fn execution_name(deployment_id: &str, label: &str) -> String {
    let keep = 80usize.saturating_sub(label.len() + 1);
    let prefix: String = deployment_id.chars().take(keep).collect();
    format!("{prefix}-{label}")
}
