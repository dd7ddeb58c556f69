//! `alarm-watch`: CloudWatch says an alarm entered ALARM; end the bake of every deployment it
//! guards at once (SendTaskFailure `AlarmBreached`), so rollback starts in seconds instead of
//! after the bake.

use ferry_core::DeploymentStatus;
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

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
    /// Deployments whose bake was failed.
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
    if change.state.value != "ALARM" {
        return Ok(output);
    }
    let in_flight = deps
        .store
        .list_in_flight()
        .await
        .map_err(port("listing deployments in flight"))?;
    for deployment in in_flight {
        let guarded = deployment.policy.rollback_on_alarm
            && deployment.policy.alarms.contains(&change.alarm_name)
            && matches!(deployment.status, DeploymentStatus::Baking { .. });
        let Some(token) = deployment
            .pending_token
            .as_ref()
            .filter(|token| token.kind == "bake")
        else {
            continue;
        };
        if !guarded {
            continue;
        }
        let cause = format!("alarm {}: {}", change.alarm_name, change.state.reason);
        match deps
            .workflows
            .send_task_failure(&token.token, ErrorKind::AlarmBreached.name(), &cause)
            .await
        {
            Ok(()) => {
                info!(deployment = %deployment.id, alarm = %change.alarm_name, "bake failed by alarm");
                output.failed_bakes.push(deployment.id.clone());
            }
            // The bake already ended (timed out, or an earlier delivery of this event).
            Err(
                ferry_core::ports::PortError::NotFound(_)
                | ferry_core::ports::PortError::Conflict(_),
            ) => {
                warn!(deployment = %deployment.id, "bake had already ended");
            }
            Err(error) => return Err(HandlerError::from_port("failing the bake", error)),
        }
    }
    Ok(output)
}
