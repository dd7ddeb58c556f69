//! `alarm-watch`: CloudWatch says an alarm entered ALARM; roll back every deployment it guards
//! at once, from the first shift until blue's removal begins: a waiting bake, approval or
//! keep-warm is failed (SendTaskFailure `AlarmBreached`), a deployment holding at a preset is
//! rolled back with the traffic workflow.

use ferry_core::DeploymentStatus;
use ferry_core::analysis::{Breach, OnInsufficientData, describe_breaches};
use ferry_core::ports::{PortError, Workflow};
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use crate::control::{TrafficAction, TrafficRequest, execution_name};
use crate::error::port;
use crate::{Deps, ErrorKind, HandlerError};

/// The `detail` of an EventBridge "CloudWatch Alarm State Change" event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlarmStateChange {
    pub alarm_name: String,
    pub state: AlarmStateValue,
    #[serde(default)]
    pub previous_state: Option<AlarmStateValue>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlarmStateValue {
    /// `OK`, `ALARM` or `INSUFFICIENT_DATA`.
    pub value: String,
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlarmWatchOutput {
    pub alarm: String,
    /// Deployments this alarm rolled back: their wait (bake, approval, keep-warm) was failed,
    /// or, holding at a preset, their traffic rollback started. The name predates the waits
    /// other than bakes; it is kept because the function's output is read by name.
    pub failed_bakes: Vec<String>,
}

pub async fn handle(
    deps: &Deps,
    change: AlarmStateChange,
) -> Result<AlarmWatchOutput, HandlerError> {
    let mut output = AlarmWatchOutput {
        alarm: change.alarm_name.clone(),
        failed_bakes: Vec::new(),
    };
    let insufficient = change.state.value == "INSUFFICIENT_DATA";
    if change.state.value != "ALARM" && !insufficient {
        return Ok(output);
    }
    let in_flight = deps
        .store
        .list_in_flight()
        .await
        .map_err(port("listing deployments in flight"))?;
    let cause = if insufficient {
        format!(
            "alarm {} in INSUFFICIENT_DATA (rollback.onInsufficientData is rollback): {}",
            change.alarm_name, change.state.reason
        )
    } else {
        describe_breaches(&[Breach {
            alarm: change.alarm_name.clone(),
            reason: change.state.reason.clone(),
        }])
    };
    for deployment in in_flight {
        let guarded = deployment.policy.rollback_on_alarm
            && deployment.policy.alarms.contains(&change.alarm_name)
            && deployment.guarded_by_alarms()
            && (!insufficient
                || deployment.policy.on_insufficient_data == OnInsufficientData::Rollback);
        if !guarded {
            continue;
        }
        if let Some(token) = &deployment.pending_token {
            match deps
                .workflows
                .send_task_failure(&token.token, ErrorKind::AlarmBreached.name(), &cause)
                .await
            {
                Ok(()) => {
                    info!(deployment = %deployment.id, alarm = %change.alarm_name, wait = token.kind.name(), "wait failed by alarm");
                    output.failed_bakes.push(deployment.id.clone());
                }
                // The wait already ended (timed out, or an earlier delivery of this event).
                Err(PortError::NotFound(_) | PortError::Conflict(_)) => {
                    warn!(deployment = %deployment.id, "the wait had already ended");
                }
                Err(error) => return Err(HandlerError::from_port("failing the wait", error)),
            }
        } else if matches!(deployment.status, DeploymentStatus::Holding { .. })
            || deployment.hook_runs.iter().any(|run| run.outcome.is_none())
        {
            // A deployment holding at a preset has no running deploy execution, and one whose
            // hooks run has no wait to fail (they may run for an hour): roll it back with the
            // traffic workflow. One execution per deployment: a redelivered event finds it
            // started. The deploy execution's next call sees the rollback and ends in it.
            let request = TrafficRequest {
                deployment_id: deployment.id.clone(),
                action: TrafficAction::Rollback,
                weight: None,
                reason: Some(cause.clone()),
            };
            let name = execution_name(&deployment.id, "alarm");
            match deps
                .workflows
                .start(Workflow::Traffic, &name, &request.to_json())
                .await
            {
                Ok(_) | Err(PortError::Conflict(_)) => {
                    info!(deployment = %deployment.id, alarm = %change.alarm_name, "deployment without a wait rolled back by alarm");
                    output.failed_bakes.push(deployment.id.clone());
                }
                Err(error) => {
                    return Err(HandlerError::from_port(
                        "starting the rollback of a holding deployment",
                        error,
                    ));
                }
            }
        }
        // Otherwise a handler is running (a shift, a promotion): the next wait reads the alarm
        // when it starts and fails at once.
    }
    Ok(output)
}
