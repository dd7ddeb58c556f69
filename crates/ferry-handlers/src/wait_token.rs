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
use ferry_core::deployment::{Deployment, PendingToken, TokenKind};
use ferry_core::ports::NotificationKind;
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
    let step = checked_step(&deployment, input.step)?;
    if stored(&deployment, TokenKind::Approval, &input) {
        return Ok(waiting(&input));
    }
    // Approving a later step while green already serves traffic: an alarm still rolls back.
    if deployment.traffic_moved() {
        refuse_if_alarm_fires(deps, &deployment).await?;
    }
    let now = deps.clock.now();
    deployment.pending_token = Some(PendingToken {
        kind: TokenKind::Approval,
        step: input.step,
        token: input.task_token.clone(),
        since: now,
    });
    deployment.status = DeploymentStatus::AwaitingApproval { step: input.step };
    deployment.record_step(
        now,
        "awaiting-approval",
        input.step,
        format!("before {}% to green", step.weight),
    );
    save(deps, &mut deployment).await?;
    let approvers = if deployment.policy.approvers.is_empty() {
        "anyone with access".to_string()
    } else {
        deployment.policy.approvers.join(", ")
    };
    notify(
        deps,
        &deployment,
        NotificationKind::AwaitingApproval,
        format!(
            "{} waits for approval before sending {}% to green (approvers: {approvers}): `ferry approve {}`",
            deployment.service_key(),
            step.weight,
            deployment.id
        ),
    )
    .await;
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
    refuse_if_alarm_fires(deps, &deployment).await?;
    if stored(&deployment, kind, &input) {
        return Ok(waiting(&input));
    }
    let now = deps.clock.now();
    deployment.pending_token = Some(PendingToken {
        kind,
        step: input.step,
        token: input.task_token.clone(),
        since: now,
    });
    match kind {
        TokenKind::KeepWarm => {
            let seconds = deployment.policy.keep_old_for_seconds;
            deployment.record(
                now,
                "keeping-blue-warm",
                format!("{seconds}s, alarms watched"),
            );
            save(deps, &mut deployment).await?;
            info!(deployment = %deployment.id, seconds, "keeping blue warm");
        }
        _ => {
            deployment.status = DeploymentStatus::Baking { step: input.step };
            let bake_seconds = deployment.plan.steps[input.step].bake_seconds;
            deployment.record_step(now, "baking", input.step, format!("{bake_seconds}s"));
            save(deps, &mut deployment).await?;
            info!(deployment = %deployment.id, step = input.step, bake_seconds, "baking");
        }
    }
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
