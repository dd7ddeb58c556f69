//! Alarm state changes, delivered locally as EventBridge would deliver them in AWS.
//!
//! In AWS, CloudWatch publishes "CloudWatch Alarm State Change" events to EventBridge and a rule
//! sends them to `alarm-watch`. The emulator publishes nothing, so while deployments run this
//! watcher polls their alarms and, when one enters ALARM, hands `alarm-watch` the same event.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use ferry_core::ports::{AlarmState, AlarmStatus};
use ferry_handlers::{Deps, dispatch};
use serde_json::{Value, json};
use tracing::{debug, info, warn};

/// The EventBridge event AWS sends for an alarm state change (the documented shape, with the
/// fields alarm-watch reads and the envelope around them).
pub fn alarm_state_change_event(
    status: &AlarmStatus,
    previous: Option<AlarmState>,
    region: &str,
    account: &str,
) -> Value {
    let name = |state: AlarmState| match state {
        AlarmState::Ok => "OK",
        AlarmState::Alarm => "ALARM",
        AlarmState::InsufficientData => "INSUFFICIENT_DATA",
    };
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    json!({
        "version": "0",
        "id": uuid::Uuid::new_v4().to_string(),
        "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch",
        "account": account,
        "time": now,
        "region": region,
        "resources": [format!("arn:aws:cloudwatch:{region}:{account}:alarm:{}", status.name)],
        "detail": {
            "alarmName": status.name,
            "state": { "value": name(status.state), "reason": status.reason, "timestamp": now },
            "previousState": previous.map(|state| json!({ "value": name(state), "reason": "" })),
        }
    })
}

/// Polls the alarms of deployments that alarms guard (traffic moved, blue not yet being removed)
/// and forwards entries into ALARM or INSUFFICIENT_DATA to `alarm-watch`, as the rule does.
pub struct AlarmWatcher {
    deps: Deps,
    interval: Duration,
    region: String,
    account: String,
}

impl AlarmWatcher {
    pub fn new(deps: Deps, interval: Duration) -> Self {
        Self {
            deps,
            interval,
            region: std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into()),
            account: "123456789012".into(),
        }
    }

    /// Runs until the returned handle is aborted (or dropped with the runtime).
    pub fn spawn(self) -> tokio::task::JoinHandle<()> {
        let watcher = Arc::new(self);
        tokio::spawn(async move {
            let mut last_seen: HashMap<String, AlarmState> = HashMap::new();
            loop {
                if let Err(error) = watcher.tick(&mut last_seen).await {
                    warn!(%error, "alarm watch tick failed");
                }
                tokio::time::sleep(watcher.interval).await;
            }
        })
    }

    /// One poll. Public so tests can drive it step by step.
    pub async fn tick(&self, last_seen: &mut HashMap<String, AlarmState>) -> Result<usize, String> {
        let in_flight = self
            .deps
            .store
            .list_in_flight()
            .await
            .map_err(|error| error.to_string())?;
        let mut names: Vec<String> = in_flight
            .iter()
            .filter(|deployment| deployment.guarded_by_alarms())
            .flat_map(|deployment| deployment.policy.alarms.clone())
            .collect();
        names.sort();
        names.dedup();
        if names.is_empty() {
            return Ok(0);
        }
        let statuses = self
            .deps
            .alarms
            .describe_alarms(&names)
            .await
            .map_err(|error| error.to_string())?;
        let mut delivered = 0;
        for status in statuses {
            let previous = last_seen.insert(status.name.clone(), status.state);
            // The states the EventBridge rule matches (rules/alarm-state-change.json), on entry.
            if status.state == AlarmState::Ok || previous == Some(status.state) {
                continue;
            }
            info!(alarm = %status.name, state = ?status.state, "alarm changed state; delivering the change to alarm-watch");
            let event = alarm_state_change_event(&status, previous, &self.region, &self.account);
            match dispatch(&self.deps, "alarm-watch", event).await {
                Ok(output) => debug!(%output, "alarm-watch"),
                Err(error) => warn!(%error, "alarm-watch failed"),
            }
            delivered += 1;
        }
        Ok(delivered)
    }
}
