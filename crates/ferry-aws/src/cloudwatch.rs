//! [`AlarmReader`] on CloudWatch DescribeAlarms, metric and composite alarms alike.

use std::collections::BTreeSet;

use async_trait::async_trait;
use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::types::{AlarmType, StateValue};
use aws_smithy_types::DateTime;
use ferry_core::ports::{AlarmReader, AlarmState, AlarmStatus, PortResult};
use time::OffsetDateTime;

use crate::error::port_error;

/// DescribeAlarms takes at most 100 names per call.
const NAMES_PER_CALL: usize = 100;

/// The CloudWatch adapter.
#[derive(Debug, Clone)]
pub struct CloudWatchAlarms {
    client: Client,
}

impl CloudWatchAlarms {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    async fn describe_batch(
        &self,
        names: &[String],
        found: &mut Vec<AlarmStatus>,
    ) -> PortResult<()> {
        let mut next_token: Option<String> = None;
        loop {
            let output = self
                .client
                .describe_alarms()
                .set_alarm_names(Some(names.to_vec()))
                // Without AlarmTypes only metric alarms come back.
                .alarm_types(AlarmType::MetricAlarm)
                .alarm_types(AlarmType::CompositeAlarm)
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(|error| {
                    port_error(
                        "DescribeAlarms",
                        &format!("alarms {}", names.join(", ")),
                        error,
                    )
                })?;
            for alarm in output.metric_alarms() {
                let mut metric = status(
                    alarm.alarm_name.as_deref(),
                    alarm.state_value.as_ref(),
                    alarm.state_reason.as_deref(),
                    alarm
                        .state_transitioned_timestamp
                        .as_ref()
                        .or(alarm.state_updated_timestamp.as_ref()),
                );
                metric.reaction_seconds =
                    reaction_seconds(alarm.period(), alarm.evaluation_periods());
                found.push(metric);
            }
            for alarm in output.composite_alarms() {
                found.push(status(
                    alarm.alarm_name.as_deref(),
                    alarm.state_value.as_ref(),
                    alarm.state_reason.as_deref(),
                    alarm
                        .state_transitioned_timestamp
                        .as_ref()
                        .or(alarm.state_updated_timestamp.as_ref()),
                ));
            }
            match output.next_token() {
                Some(token) if !token.is_empty() => next_token = Some(token.to_string()),
                _ => return Ok(()),
            }
        }
    }
}

fn status(
    name: Option<&str>,
    state: Option<&StateValue>,
    reason: Option<&str>,
    at: Option<&DateTime>,
) -> AlarmStatus {
    AlarmStatus {
        name: name.unwrap_or_default().to_string(),
        state: match state {
            Some(StateValue::Alarm) => AlarmState::Alarm,
            Some(StateValue::Ok) => AlarmState::Ok,
            // INSUFFICIENT_DATA, and anything newer than this SDK: not a verdict either way.
            _ => AlarmState::InsufficientData,
        },
        reason: reason.unwrap_or_default().to_string(),
        updated_at: at.and_then(to_offset_date_time),
        reaction_seconds: None,
    }
}

/// Period x evaluation periods, when both are known and positive.
fn reaction_seconds(period: Option<i32>, evaluation_periods: Option<i32>) -> Option<u64> {
    let period = u64::try_from(period?).ok()?;
    let periods = u64::try_from(evaluation_periods?).ok()?;
    (period > 0 && periods > 0).then(|| period * periods)
}

pub(crate) fn to_offset_date_time(at: &DateTime) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(at.as_nanos()).ok()
}

#[async_trait]
impl AlarmReader for CloudWatchAlarms {
    async fn describe_alarms(&self, names: &[String]) -> PortResult<Vec<AlarmStatus>> {
        // Asking twice for a name is pointless and would count against the 100.
        let unique: Vec<String> = names
            .iter()
            .filter(|name| !name.is_empty())
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut found = Vec::new();
        for batch in unique.chunks(NAMES_PER_CALL) {
            self.describe_batch(batch, &mut found).await?;
        }
        // Only the names asked for: the API matches names exactly, but an emulator or a future
        // change must not slip unrelated alarms into a rollback decision.
        found.retain(|alarm| unique.binary_search(&alarm.name).is_ok());
        Ok(found)
    }
}
