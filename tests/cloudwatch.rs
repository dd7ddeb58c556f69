//! `CloudWatchAlarms` against moto's CloudWatch.

use aws_sdk_cloudwatch::types::StateValue;
use ferry_core::ports::{AlarmReader, AlarmState};

use crate::helpers::{clients, put_alarm, set_alarm_state, unique_prefix};

#[tokio::test]
async fn reading_alarms_skips_a_missing_one_and_reports_one_set_to_alarm() {
    let clients = clients().await;
    let prefix = unique_prefix("alarms");
    let (healthy, failing) = (format!("{prefix}-5xx"), format!("{prefix}-latency"));
    for name in [&healthy, &failing] {
        put_alarm(&clients.aws.cloudwatch, name).await;
        set_alarm_state(&clients.aws.cloudwatch, name, StateValue::Ok).await;
    }
    set_alarm_state(&clients.aws.cloudwatch, &failing, StateValue::Alarm).await;
    let alarms = clients.aws.alarms();

    let mut found = alarms
        .describe_alarms(&[
            healthy.clone(),
            failing.clone(),
            format!("{prefix}-missing"),
        ])
        .await
        .unwrap();
    found.sort_by(|a, b| a.name.cmp(&b.name));

    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(found[0].name, healthy);
    assert_eq!(found[0].state, AlarmState::Ok);
    assert_eq!(found[1].name, failing);
    assert_eq!(found[1].state, AlarmState::Alarm);
    assert_eq!(found[1].reason, "set to ALARM by a test");
    assert!(found[1].updated_at.is_some());
    // Period 60 s x 1 evaluation period: what plan compares with the bakes.
    assert_eq!(found[1].reaction_seconds, Some(60));
}

#[tokio::test]
async fn an_alarm_without_data_is_neither_ok_nor_alarm() {
    let clients = clients().await;
    let name = format!("{}-quiet", unique_prefix("alarms"));
    put_alarm(&clients.aws.cloudwatch, &name).await;
    set_alarm_state(&clients.aws.cloudwatch, &name, StateValue::InsufficientData).await;

    let found = clients.aws.alarms().describe_alarms(&[name]).await.unwrap();

    assert_eq!(found.len(), 1);
    assert_eq!(found[0].state, AlarmState::InsufficientData);
}

#[tokio::test]
async fn more_than_a_hundred_names_are_asked_in_batches() {
    let clients = clients().await;
    let prefix = unique_prefix("alarms");
    let mut names: Vec<String> = (0..230)
        .map(|index| format!("{prefix}-{index:03}"))
        .collect();
    for name in [&names[5], &names[150], &names[229]] {
        put_alarm(&clients.aws.cloudwatch, name).await;
    }
    names.push(names[5].clone());

    let mut found = clients.aws.alarms().describe_alarms(&names).await.unwrap();
    found.sort_by(|a, b| a.name.cmp(&b.name));

    let found_names: Vec<&str> = found.iter().map(|alarm| alarm.name.as_str()).collect();
    assert_eq!(
        found_names,
        vec![names[5].as_str(), names[150].as_str(), names[229].as_str()]
    );
}

#[tokio::test]
async fn no_names_means_no_alarms() {
    let clients = clients().await;

    let found = clients.aws.alarms().describe_alarms(&[]).await.unwrap();

    assert!(found.is_empty());
}
