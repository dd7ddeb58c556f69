//! `approval` and `bake`: called with `.waitForTaskToken`; they store the token in the record
//! so that a person (approve/reject) or an alarm (alarm-watch) can end the wait. The state
//! machine's `TimeoutSeconds` ends it otherwise: a bake that times out quietly has passed.
//!
//! The `bake` function also keeps blue warm after green became primary (`purpose: keepWarm`):
//! CodeDeploy watches alarms until the original task set is gone, and so does Ferry. Every wait
//! that starts after traffic moved first reads the alarms, so an alarm that fired while no wait
//! was open (during a shift, a promotion) is not missed.

use ferry_core::DeploymentStatus;
use ferry_core::analysis::analyze;
use ferry_core::control::Answer;
use ferry_core::deployment::{Deployment, TokenKind};
use serde::{Deserialize, Serialize};
use tracing::info;

use crate::error::port;
use crate::fence::refuse_unless_moving_forward;
use crate::record::{load, notify, save};
use crate::{Deps, ErrorKind, HandlerError};

/// What a `bake` invocation waits for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum WaitPurpose {
    /// A step's bake.
    #[default]
    Bake,
    /// Blue kept warm for `rollback.keepOldFor` after green became primary.
    KeepWarm,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WaitTokenInput {
    pub deployment_id: String,
    /// The plan step (not used when keeping blue warm).
    #[serde(default)]
    pub step: usize,
    pub task_token: String,
    #[serde(default)]
    pub purpose: WaitPurpose,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WaitTokenOutput {
    pub deployment_id: String,
    pub step: usize,
    pub waiting: bool,
}

/// Stores an approval token and asks the approvers.
pub async fn approval(deps: &Deps, input: WaitTokenInput) -> Result<WaitTokenOutput, HandlerError> {
    let mut deployment = load(deps, &input.deployment_id).await?;
    checked_step(&deployment, input.step)?;
    refuse_if_answered_before(&deployment, TokenKind::Approval, &input)?;
    if stored(&deployment, TokenKind::Approval, &input) {
        return Ok(waiting(&input));
    }
    // Approving a later step while green already serves traffic: an alarm still rolls back.
    if deployment.traffic_moved() {
        refuse_if_alarm_fires(deps, &deployment).await?;
    }
    let event =
        deployment.awaiting_approval(deps.clock.now(), input.step, input.task_token.clone());
    save(deps, &mut deployment).await?;
    notify(deps, &deployment, &event).await;
    info!(deployment = %deployment.id, step = input.step, "awaiting approval");
    Ok(waiting(&input))
}

/// Stores a bake (or keep-warm) token. An alarm already firing fails the wait at once rather
/// than after it.
pub async fn bake(deps: &Deps, input: WaitTokenInput) -> Result<WaitTokenOutput, HandlerError> {
    let mut deployment = load(deps, &input.deployment_id).await?;
    let kind = match input.purpose {
        WaitPurpose::Bake => {
            checked_step(&deployment, input.step)?;
            TokenKind::Bake
        }
        WaitPurpose::KeepWarm => {
            if deployment.status != DeploymentStatus::Finalizing {
                return Err(HandlerError::non_retryable(format!(
                    "deployment {} is {}; blue is kept warm only after green became primary",
                    deployment.id,
                    deployment.status.name()
                )));
            }
            TokenKind::KeepWarm
        }
    };
    refuse_if_answered_before(&deployment, kind, &input)?;
    refuse_if_alarm_fires(deps, &deployment).await?;
    if stored(&deployment, kind, &input) {
        return Ok(waiting(&input));
    }
    let now = deps.clock.now();
    let event = match kind {
        TokenKind::KeepWarm => deployment.keeping_blue_warm(now, input.task_token.clone()),
        _ => deployment.baking(now, input.step, input.task_token.clone()),
    };
    save(deps, &mut deployment).await?;
    info!(deployment = %deployment.id, step = input.step, event = event.name(), "waiting");
    Ok(waiting(&input))
}

/// `AlarmBreached` when a guarding alarm is in ALARM and the manifest rolls back on alarms.
pub(crate) async fn refuse_if_alarm_fires(
    deps: &Deps,
    deployment: &Deployment,
) -> Result<(), HandlerError> {
    let policy = &deployment.policy;
    if !policy.rollback_on_alarm || policy.alarms.is_empty() {
        return Ok(());
    }
    let statuses = deps
        .alarms
        .describe_alarms(&policy.alarms)
        .await
        .map_err(port("describing the alarms"))?;
    if let Some(cause) =
        analyze(&policy.alarms, &statuses).rollback_cause(policy.on_insufficient_data)
    {
        return Err(HandlerError::new(ErrorKind::AlarmBreached, cause));
    }
    Ok(())
}

fn checked_step(deployment: &Deployment, step: usize) -> Result<ferry_core::Step, HandlerError> {
    refuse_unless_moving_forward(deployment)?;
    deployment.plan.steps.get(step).copied().ok_or_else(|| {
        HandlerError::non_retryable(format!("deployment {} has no step {step}", deployment.id))
    })
}

/// A person answered this wait while an earlier attempt of its task held it, and the task was
/// retried (its Lambda failed after storing the token): the answer went to a token that no
/// longer counts. It is not lost: the retried task ends with it, as the error the state machine
/// handles for that answer (`Approved` goes on; `Rejected` and `Aborted` roll back).
fn refuse_if_answered_before(
    deployment: &Deployment,
    kind: TokenKind,
    input: &WaitTokenInput,
) -> Result<(), HandlerError> {
    let Some(token) = &deployment.pending_token else {
        return Ok(());
    };
    let same_wait = token.kind == kind && (kind == TokenKind::KeepWarm || token.step == input.step);
    let Some(answered) = token.answered.as_ref().filter(|_| same_wait) else {
        return Ok(());
    };
    let error = match answered.answer {
        Answer::Approved => ErrorKind::Approved,
        Answer::Rejected => ErrorKind::Rejected,
        Answer::Aborted => ErrorKind::Aborted,
    };
    info!(deployment = %deployment.id, answer = answered.answer.name(), "the wait was answered before its task was retried");
    Err(HandlerError::new(error, answered.reason.clone()))
}

fn stored(deployment: &Deployment, kind: TokenKind, input: &WaitTokenInput) -> bool {
    deployment
        .pending_token
        .as_ref()
        .is_some_and(|token| token.kind == kind && token.token == input.task_token)
}

fn waiting(input: &WaitTokenInput) -> WaitTokenOutput {
    WaitTokenOutput {
        deployment_id: input.deployment_id.clone(),
        step: input.step,
        waiting: true,
    }
}
