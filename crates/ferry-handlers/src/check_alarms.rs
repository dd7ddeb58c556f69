//! `check-alarms`: the verdict after a bake.

use ferry_core::analysis::{Analysis, analyze};
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use crate::error::port;
use crate::record::{load, save};
use crate::{Deps, ErrorKind, HandlerError};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckAlarmsInput {
    pub deployment_id: String,
    #[serde(default)]
    pub step: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckAlarmsOutput {
    pub deployment_id: String,
    pub analysis: Analysis,
}

/// `AlarmBreached` when an alarm fired and the manifest rolls back on alarms; `NonRetryable`
/// when a guarding alarm no longer exists (the guard is broken, so is the deployment).
pub async fn handle(
    deps: &Deps,
    input: CheckAlarmsInput,
) -> Result<CheckAlarmsOutput, HandlerError> {
    let mut deployment = load(deps, &input.deployment_id).await?;
    let policy = deployment.policy.clone();
    let statuses = if policy.alarms.is_empty() {
        Vec::new()
    } else {
        deps.alarms
            .describe_alarms(&policy.alarms)
            .await
            .map_err(port("describing the alarms"))?
    };
    let analysis = analyze(&policy.alarms, &statuses);
    let step = input.step.unwrap_or(deployment.applied_step.unwrap_or(0));
    if let Analysis::Error { missing } = &analysis {
        return Err(HandlerError::non_retryable(format!(
            "guarding alarm{} {} no longer exist{}",
            if missing.len() == 1 { "" } else { "s" },
            missing.join(", "),
            if missing.len() == 1 { "s" } else { "" }
        )));
    }
    match analysis.rollback_cause(policy.on_insufficient_data) {
        Some(cause) if policy.rollback_on_alarm => {
            return Err(HandlerError::new(ErrorKind::AlarmBreached, cause));
        }
        Some(cause) => {
            warn!(deployment = %deployment.id, %cause, "alarm ignored: rollback.onAlarm is false");
            deployment.alarm_ignored(deps.clock.now(), step, cause);
            save(deps, &mut deployment).await?;
        }
        None => match &analysis {
            Analysis::Inconclusive { insufficient } => {
                info!(deployment = %deployment.id, alarms = ?insufficient, "alarms have insufficient data; passing (rollback.onInsufficientData is pass)");
            }
            _ => info!(deployment = %deployment.id, step, "alarms OK"),
        },
    }
    Ok(CheckAlarmsOutput {
        deployment_id: deployment.id,
        analysis,
    })
}
