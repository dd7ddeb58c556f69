//! Decisions people make about a running deployment: approve, reject, abort.
//! Used by `ferry approve|reject|rollback` and, later, Slack.

use ferry_core::deployment::TokenKind;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tracing::info;

use crate::error::port;
use crate::record::load;
use crate::{Deps, ErrorKind, HandlerError};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Decision {
    Approve,
    Reject,
    /// Stop now and roll back, whatever the deployment is waiting for.
    Abort,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ControlInput {
    pub deployment_id: String,
    pub decision: Decision,
    /// Who decides (a Slack user id, or a local user name).
    #[serde(default)]
    pub by: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
}

/// The traffic workflow's input (`statemachines/traffic.asl.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrafficRequest {
    pub deployment_id: String,
    pub action: TrafficAction,
    /// Green's weight, 0 to 100 (`preset` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<u8>,
    /// Why (a rollback's recorded reason).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What the traffic workflow does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TrafficAction {
    Preset,
    Promote,
    Rollback,
}

impl TrafficRequest {
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("a traffic request is plain JSON")
    }
}

/// A Step Functions execution name for an action on a deployment: at most 80 characters,
/// unique per deployment and `label`.
pub fn execution_name(deployment_id: &str, label: &str) -> String {
    let keep = 80usize.saturating_sub(label.len() + 1);
    let prefix: String = deployment_id.chars().take(keep).collect();
    format!("{prefix}-{label}")
}

pub async fn handle(deps: &Deps, input: ControlInput) -> Result<String, HandlerError> {
    let deployment = load(deps, &input.deployment_id).await?;
    let token = deployment.pending_token.clone().ok_or_else(|| {
        HandlerError::non_retryable(format!(
            "deployment {} is {} and waits for nothing",
            deployment.id,
            deployment.status.name()
        ))
    })?;
    let by = input.by.clone().unwrap_or_else(|| "someone".into());
    if input.decision != Decision::Abort
        && !deployment.policy.approvers.is_empty()
        && !deployment.policy.approvers.contains(&by)
    {
        return Err(HandlerError::new(
            ErrorKind::Rejected,
            format!(
                "{by} is not an approver of {} (approvers: {})",
                deployment.service_key(),
                deployment.policy.approvers.join(", ")
            ),
        ));
    }
    match (&input.decision, token.kind) {
        (Decision::Approve, TokenKind::Approval) => {
            deps.workflows
                .send_task_success(&token.token, &json!({"approvedBy": by}))
                .await
                .map_err(port("sending the approval"))?;
            info!(deployment = %deployment.id, %by, "approved");
            Ok(format!("approved {} by {by}", deployment.id))
        }
        (Decision::Approve, other) => Err(HandlerError::non_retryable(format!(
            "deployment {} is waiting for a {}, not an approval",
            deployment.id,
            other.name()
        ))),
        (Decision::Reject | Decision::Abort, _) => {
            let error = if input.decision == Decision::Reject {
                "Rejected"
            } else {
                "Aborted"
            };
            let reason = input
                .reason
                .clone()
                .unwrap_or_else(|| format!("{} by {by}", error.to_lowercase()));
            deps.workflows
                .send_task_failure(&token.token, error, &reason)
                .await
                .map_err(port("sending the decision"))?;
            info!(deployment = %deployment.id, %by, error, "stopped by a person");
            Ok(format!(
                "{} {}: {reason}",
                error.to_lowercase(),
                deployment.id
            ))
        }
    }
}
