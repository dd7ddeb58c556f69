//! `approval` and `bake`: called with `.waitForTaskToken`; they store the token in the record
//! so that a person (approve/reject) or an alarm (alarm-watch) can end the wait. The state
//! machine's `TimeoutSeconds` ends it otherwise: a bake that times out quietly has passed.

use ferry_core::DeploymentStatus;
use ferry_core::analysis::{Analysis, analyze};
use ferry_core::deployment::PendingToken;
use ferry_core::ports::NotificationKind;
use serde::{Deserialize, Serialize};
use tracing::info;

use crate::error::port;
use crate::record::{load, notify, save};
use crate::{Deps, ErrorKind, HandlerError};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WaitTokenInput {
    pub deployment_id: String,
    pub step: usize,
    pub task_token: String,
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
    if stored(&deployment, "approval", &input) {
        return Ok(waiting(&input));
    }
    let now = deps.clock.now();
    deployment.pending_token = Some(PendingToken {
        kind: "approval".into(),
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

/// Stores a bake token. An alarm already firing fails the bake at once rather than after it.
pub async fn bake(deps: &Deps, input: WaitTokenInput) -> Result<WaitTokenOutput, HandlerError> {
    let mut deployment = load(deps, &input.deployment_id).await?;
    checked_step(&deployment, input.step)?;
    if deployment.policy.rollback_on_alarm && !deployment.policy.alarms.is_empty() {
        let statuses = deps
            .alarms
            .describe_alarms(&deployment.policy.alarms)
            .await
            .map_err(port("describing the alarms"))?;
        if let Analysis::Failed { breaches } = analyze(&deployment.policy.alarms, &statuses) {
            let names: Vec<String> = breaches
                .iter()
                .map(|breach| format!("{}: {}", breach.alarm, breach.reason))
                .collect();
            return Err(HandlerError::new(
                ErrorKind::AlarmBreached,
                format!("alarm {}", names.join("; ")),
            ));
        }
    }
    if stored(&deployment, "bake", &input) {
        return Ok(waiting(&input));
    }
    let now = deps.clock.now();
    deployment.pending_token = Some(PendingToken {
        kind: "bake".into(),
        step: input.step,
        token: input.task_token.clone(),
        since: now,
    });
    deployment.status = DeploymentStatus::Baking { step: input.step };
    let bake_seconds = deployment.plan.steps[input.step].bake_seconds;
    deployment.record_step(now, "baking", input.step, format!("{bake_seconds}s"));
    save(deps, &mut deployment).await?;
    info!(deployment = %deployment.id, step = input.step, bake_seconds, "baking");
    Ok(waiting(&input))
}

fn checked_step(
    deployment: &ferry_core::Deployment,
    step: usize,
) -> Result<ferry_core::Step, HandlerError> {
    if deployment.status.is_terminal() {
        return Err(HandlerError::non_retryable(format!(
            "deployment {} has already ended ({})",
            deployment.id,
            deployment.status.name()
        )));
    }
    deployment.plan.steps.get(step).copied().ok_or_else(|| {
        HandlerError::non_retryable(format!("deployment {} has no step {step}", deployment.id))
    })
}

fn stored(deployment: &ferry_core::Deployment, kind: &str, input: &WaitTokenInput) -> bool {
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
