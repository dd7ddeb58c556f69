//! `.waitForTaskToken`: success, failure, timeouts and heartbeats.

use std::time::Duration;

use ferry_engine::{EngineError, EventKind, TaskTokens};
use serde_json::{Value, json};

use crate::helpers::*;

fn bake(extra: Value) -> Value {
    let mut task = json!({
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {
            "FunctionName": lambda_arn("bake"),
            "Payload": {"TaskToken.$": "$$.Task.Token", "service.$": "$.service"}
        },
        "ResultPath": "$.bake",
        "Catch": [{"ErrorEquals": ["AlarmBreached"], "ResultPath": "$.error", "Next": "Rollback"}],
        "Next": "Done"
    });
    for (k, v) in extra.as_object().unwrap() {
        task[k] = v.clone();
    }
    json!({"StartAt": "Bake", "States": {
        "Bake": task,
        "Done": {"Type": "Succeed"},
        "Rollback": {"Type": "Pass", "Result": "rolled back", "ResultPath": "$.outcome", "End": true}
    }})
}

/// A `bake` function that just records its token.
fn recording_bake() -> Lambdas {
    Lambdas::new().on("bake", |_| Ok(json!({"accepted": true})))
}

async fn wait_for_token(tokens: &TaskTokens) -> String {
    for _ in 0..500 {
        if let Some(pending) = tokens.pending().into_iter().next() {
            return pending.token;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    panic!("no task token was issued");
}

#[tokio::test]
async fn the_task_waits_for_send_task_success_and_outputs_what_was_sent() {
    let lambdas = recording_bake();
    let tokens = TaskTokens::new();
    let execution = executor(&bake(json!({})), &lambdas, &tokens)
        .start("bake-ok", json!({"service": "web"}))
        .unwrap();
    let token = wait_for_token(&tokens).await;
    assert_eq!(tokens.pending()[0].state, "Bake");
    assert_eq!(tokens.pending()[0].execution_arn, execution.arn());
    tokens
        .send_task_success(&token, json!({"healthy": true}))
        .unwrap();
    let outcome = execution.wait().await;
    assert_eq!(
        output(&outcome),
        json!({"service": "web", "bake": {"healthy": true}})
    );
    assert_eq!(
        lambdas.calls("bake"),
        vec![json!({"TaskToken": token, "service": "web"})]
    );
    assert!(event_types(&outcome).contains(&"TaskSubmitted".to_string()));
    // A token is good for one answer.
    assert!(matches!(
        tokens.send_task_success(&token, json!({})),
        Err(EngineError::TaskTimedOut { .. })
    ));
}

#[tokio::test]
async fn a_function_may_answer_its_own_token_before_the_engine_starts_waiting() {
    let tokens = TaskTokens::new();
    let answering = tokens.clone();
    let lambdas = Lambdas::new().on("bake", move |p| {
        answering
            .send_task_success(p["TaskToken"].as_str().unwrap(), json!("instant"))
            .unwrap();
        Ok(json!(null))
    });
    let outcome = executor(&bake(json!({})), &lambdas, &tokens)
        .start("bake-instant", json!({"service": "web"}))
        .unwrap()
        .wait()
        .await;
    assert_eq!(output(&outcome)["bake"], json!("instant"));
}

#[tokio::test]
async fn send_task_failure_fails_the_task_with_that_error_for_catch_to_route() {
    let tokens = TaskTokens::new();
    let execution = executor(&bake(json!({})), &recording_bake(), &tokens)
        .start("bake-alarm", json!({"service": "web"}))
        .unwrap();
    let token = wait_for_token(&tokens).await;
    tokens
        .send_task_failure(&token, "AlarmBreached", "web-5xx in ALARM")
        .unwrap();
    let outcome = execution.wait().await;
    assert_eq!(
        output(&outcome),
        json!({"service": "web", "error": {"Error": "AlarmBreached", "Cause": "web-5xx in ALARM"}, "outcome": "rolled back"})
    );
}

#[tokio::test]
async fn without_an_answer_the_task_times_out_and_the_token_is_closed() {
    let tokens = TaskTokens::new();
    let execution = executor(
        &bake(json!({"TimeoutSeconds": 300})),
        &recording_bake(),
        &tokens,
    )
    .start("bake-timeout", json!({"service": "web"}))
    .unwrap();
    let token = wait_for_token(&tokens).await;
    let outcome = execution.wait().await;
    assert_eq!(failure(&outcome).0, "States.Timeout");
    assert!(outcome.history.iter().any(|e| matches!(&e.kind,
        EventKind::TaskTimedOut { error, .. } if error == "States.Timeout")));
    assert!(matches!(
        tokens.send_task_success(&token, json!({})),
        Err(EngineError::TaskTimedOut { .. })
    ));
}

#[tokio::test]
async fn a_bake_timeout_can_be_the_happy_path_when_caught() {
    // The deploy machine bakes with TimeoutSeconds = bake time and treats the timeout as "no alarm".
    let definition = bake(json!({
        "TimeoutSeconds": 120,
        "Catch": [
            {"ErrorEquals": ["States.Timeout"], "ResultPath": null, "Next": "Done"},
            {"ErrorEquals": ["AlarmBreached"], "ResultPath": "$.error", "Next": "Rollback"}
        ]
    }));
    let outcome = run(&definition, &recording_bake(), json!({"service": "web"})).await;
    assert_eq!(output(&outcome), json!({"service": "web"}));
}

#[tokio::test]
async fn without_heartbeats_the_task_fails_with_heartbeat_timeout() {
    let tokens = TaskTokens::new();
    let outcome = executor(
        &bake(json!({"TimeoutSeconds": 3600, "HeartbeatSeconds": 60})),
        &recording_bake(),
        &tokens,
    )
    .start("bake-heartbeat", json!({"service": "web"}))
    .unwrap()
    .wait()
    .await;
    assert_eq!(failure(&outcome).0, "States.HeartbeatTimeout");
}

#[tokio::test]
async fn heartbeats_keep_a_task_alive_past_heartbeat_seconds() {
    let tokens = TaskTokens::new();
    let execution = executor(
        &bake(json!({"TimeoutSeconds": 3600, "HeartbeatSeconds": 100})),
        &recording_bake(),
        &tokens,
    )
    .start("bake-alive", json!({"service": "web"}))
    .unwrap();
    let token = wait_for_token(&tokens).await;
    // 100 s heartbeat = 100 ms here; beat every 40 ms for 400 ms.
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(40)).await;
        tokens.send_task_heartbeat(&token).unwrap();
    }
    tokens.send_task_success(&token, json!("alive")).unwrap();
    assert_eq!(output(&execution.wait().await)["bake"], json!("alive"));
}

#[tokio::test]
async fn a_failing_function_fails_a_callback_task_without_waiting() {
    let lambdas = Lambdas::new().on("bake", |_| {
        Err(ferry_engine::TaskFailure::new(
            "AlarmBreached",
            "already alarming",
        ))
    });
    let outcome = run(&bake(json!({})), &lambdas, json!({"service": "web"})).await;
    assert_eq!(output(&outcome)["error"]["Error"], json!("AlarmBreached"));
}

#[tokio::test]
async fn unknown_tokens_are_refused_with_task_does_not_exist() {
    let tokens = TaskTokens::new();
    assert!(matches!(
        tokens.send_task_success("AQnever-issued", json!({})),
        Err(EngineError::TaskDoesNotExist { .. })
    ));
    assert!(matches!(
        tokens.send_task_heartbeat("AQnever-issued"),
        Err(EngineError::TaskDoesNotExist { .. })
    ));
}
