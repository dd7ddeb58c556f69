//! Execution lifecycle: names, machine timeout, abort, history and live events.

use std::time::Duration;

use ferry_engine::{EngineError, EventKind, ExecutionStatus, TaskTokens};
use serde_json::json;

use crate::helpers::*;

fn two_steps() -> serde_json::Value {
    json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Result": 1, "ResultPath": "$.a", "Next": "B"},
        "B": {"Type": "Wait", "Seconds": 10, "End": true}
    }})
}

#[tokio::test]
async fn history_records_every_step_in_order_with_timestamps() {
    let outcome = run(&two_steps(), &Lambdas::new(), json!({})).await;
    assert_eq!(
        event_types(&outcome),
        [
            "ExecutionStarted",
            "PassStateEntered",
            "PassStateExited",
            "WaitStateEntered",
            "WaitStateExited",
            "ExecutionSucceeded"
        ]
    );
    let ids: Vec<u64> = outcome.history.iter().map(|e| e.id).collect();
    assert_eq!(ids, (1..=6).collect::<Vec<_>>());
    assert!(
        outcome
            .history
            .windows(2)
            .all(|w| w[0].timestamp <= w[1].timestamp)
    );
    assert_eq!(outcome.state_transitions, 2);
    let json = serde_json::to_value(&outcome.history[1]).unwrap();
    assert_eq!(json["type"], json!("StateEntered"));
    assert_eq!(json["name"], json!("A"));
}

#[tokio::test]
async fn progress_can_be_followed_live() {
    let executor = executor(&two_steps(), &Lambdas::new(), &TaskTokens::new());
    let execution = executor.start("live", json!({})).unwrap();
    let mut events = execution.subscribe();
    let mut seen = Vec::new();
    loop {
        let event = events.recv().await.unwrap();
        seen.push(event.kind.aws_type());
        if matches!(event.kind, EventKind::ExecutionSucceeded { .. }) {
            break;
        }
    }
    assert_eq!(seen.first().unwrap(), "ExecutionStarted");
    assert!(seen.contains(&"WaitStateEntered".to_string()));
    assert_eq!(execution.current_state().as_deref(), Some("B"));
    assert!(execution.wait().await.succeeded());
}

#[tokio::test]
async fn the_machine_timeout_times_the_execution_out() {
    let definition = json!({"TimeoutSeconds": 60, "StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": true}}});
    let outcome = run(&definition, &Lambdas::new(), json!({})).await;
    assert_eq!(outcome.status, ExecutionStatus::TimedOut);
    assert_eq!(event_types(&outcome).last().unwrap(), "ExecutionTimedOut");
    assert_eq!(outcome.output, None);
}

#[tokio::test]
async fn abort_stops_a_waiting_execution_and_closes_its_task_token() {
    let definition = json!({"StartAt": "Approve", "States": {"Approve": {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {"FunctionName": "approve", "Payload": {"token.$": "$$.Task.Token"}},
        "End": true
    }}});
    let tokens = TaskTokens::new();
    let lambdas = Lambdas::new().on("approve", |_| Ok(json!(null)));
    let execution = executor(&definition, &lambdas, &tokens)
        .start("abort-me", json!({}))
        .unwrap();
    let mut token = None;
    for _ in 0..500 {
        if let Some(p) = tokens.pending().pop() {
            token = Some(p.token);
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let token = token.expect("token issued");
    execution.abort_handle().abort();
    let outcome = execution.wait().await;
    assert_eq!(outcome.status, ExecutionStatus::Aborted);
    assert_eq!(event_types(&outcome).last().unwrap(), "ExecutionAborted");
    assert!(matches!(
        tokens.send_task_success(&token, json!({})),
        Err(EngineError::TaskTimedOut { .. })
    ));
}

#[tokio::test]
async fn execution_names_follow_the_aws_rules_and_must_be_unique() {
    let executor = executor(&two_steps(), &Lambdas::new(), &TaskTokens::new());
    for bad in ["", "has space", "a/b", "x$y", &"n".repeat(81)] {
        assert!(
            matches!(
                executor.start(bad, json!({})),
                Err(EngineError::InvalidExecutionName { .. })
            ),
            "{bad:?}"
        );
    }
    executor.start("once", json!({})).unwrap().wait().await;
    assert!(matches!(
        executor.start("once", json!({})),
        Err(EngineError::ExecutionAlreadyExists { .. })
    ));
}

#[tokio::test]
async fn an_output_over_256_kib_fails_with_the_terminal_data_limit_exceeded() {
    let definition = json!({"StartAt": "Big", "States": {
        "Big": {"Type": "Task", "Resource": lambda_arn("big"),
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}], "End": true},
        "Caught": {"Type": "Succeed"}
    }});
    let lambdas = Lambdas::new().on("big", |_| Ok(json!("x".repeat(300 * 1024))));
    let outcome = run(&definition, &lambdas, json!({})).await;
    assert_eq!(failure(&outcome).0, "States.DataLimitExceeded");
}
