//! Retry and Catch.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use ferry_engine::{EventKind, TaskFailure};
use serde_json::{Value, json};

use crate::helpers::*;

/// A handler that fails with the given errors, in order, then succeeds.
fn failing_then_ok(
    errors: &[&str],
) -> impl Fn(Value) -> Result<Value, TaskFailure> + Send + Sync + 'static {
    let errors: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    let calls = Arc::new(AtomicU32::new(0));
    move |_| {
        let n = calls.fetch_add(1, Ordering::SeqCst) as usize;
        match errors.get(n) {
            Some(error) => Err(TaskFailure::new(
                error.clone(),
                format!("attempt {}", n + 1),
            )),
            None => Ok(json!({"attempts": n + 1})),
        }
    }
}

fn retry_delays(outcome: &ferry_engine::ExecutionOutcome) -> Vec<f64> {
    outcome
        .history
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::RetryScheduled { delay_seconds, .. } => Some(delay_seconds),
            _ => None,
        })
        .collect()
}

/// `Shift` (the task under test) then `Rollback`, a pass-through that catchers also lead to.
fn task_with(retry: Value, catch: Value) -> Value {
    json!({"StartAt": "Shift", "States": {
        "Shift": {"Type": "Task", "Resource": lambda_arn("shift"), "Retry": retry, "Catch": catch, "Next": "Rollback"},
        "Rollback": {"Type": "Pass", "End": true}
    }})
}

#[tokio::test]
async fn a_handler_that_fails_twice_then_succeeds_is_retried_with_exponential_backoff() {
    let definition = task_with(
        json!([{"ErrorEquals": ["Retryable"], "IntervalSeconds": 3, "BackoffRate": 2.0, "MaxAttempts": 3}]),
        json!([]),
    );
    let lambdas = Lambdas::new().on("shift", failing_then_ok(&["Retryable", "Retryable"]));
    let outcome = run(&definition, &lambdas, json!({})).await;
    assert_eq!(output(&outcome), json!({"attempts": 3}));
    assert_eq!(lambdas.calls("shift").len(), 3);
    assert_eq!(retry_delays(&outcome), vec![3.0, 6.0]);
    // Two states entered (Shift, Rollback) plus two retries, as AWS bills it.
    assert_eq!(outcome.state_transitions, 4);
}

#[tokio::test]
async fn retry_defaults_are_one_second_three_attempts_and_a_backoff_of_two() {
    let definition = task_with(json!([{"ErrorEquals": ["States.ALL"]}]), json!([]));
    let lambdas = Lambdas::new().on("shift", failing_then_ok(&["E", "E", "E", "E"]));
    let outcome = run(&definition, &lambdas, json!({})).await;
    assert_eq!(failure(&outcome).0, "E");
    assert_eq!(lambdas.calls("shift").len(), 4);
    assert_eq!(retry_delays(&outcome), vec![1.0, 2.0, 4.0]);
}

#[tokio::test]
async fn max_delay_seconds_caps_the_backoff() {
    let definition = task_with(
        json!([{"ErrorEquals": ["E"], "IntervalSeconds": 10, "BackoffRate": 3, "MaxAttempts": 3, "MaxDelaySeconds": 20}]),
        json!([]),
    );
    let lambdas = Lambdas::new().on("shift", failing_then_ok(&["E", "E", "E"]));
    let outcome = run(&definition, &lambdas, json!({})).await;
    assert_eq!(retry_delays(&outcome), vec![10.0, 20.0, 20.0]);
}

#[tokio::test]
async fn full_jitter_keeps_each_delay_between_zero_and_the_backoff() {
    let definition = task_with(
        json!([{"ErrorEquals": ["E"], "IntervalSeconds": 10, "MaxAttempts": 3, "JitterStrategy": "FULL"}]),
        json!([]),
    );
    let lambdas = Lambdas::new().on("shift", failing_then_ok(&["E", "E", "E"]));
    let outcome = run(&definition, &lambdas, json!({})).await;
    let delays = retry_delays(&outcome);
    assert_eq!(delays.len(), 3);
    for (delay, cap) in delays.iter().zip([10.0, 20.0, 40.0]) {
        assert!((0.0..=cap).contains(delay), "{delay} > {cap}");
    }
}

#[tokio::test]
async fn max_attempts_zero_never_retries() {
    let definition = task_with(json!([{"ErrorEquals": ["E"], "MaxAttempts": 0}]), json!([]));
    let lambdas = Lambdas::new().on("shift", failing_then_ok(&["E"]));
    let outcome = run(&definition, &lambdas, json!({})).await;
    assert_eq!(failure(&outcome).0, "E");
    assert_eq!(lambdas.calls("shift").len(), 1);
}

#[tokio::test]
async fn only_the_first_matching_retrier_applies_even_when_it_is_exhausted() {
    let definition = task_with(
        json!([
            {"ErrorEquals": ["Retryable"], "MaxAttempts": 1},
            {"ErrorEquals": ["States.ALL"], "MaxAttempts": 5}
        ]),
        json!([]),
    );
    let lambdas = Lambdas::new().on("shift", failing_then_ok(&["Retryable"; 10]));
    let outcome = run(&definition, &lambdas, json!({})).await;
    assert_eq!(failure(&outcome).0, "Retryable");
    assert_eq!(lambdas.calls("shift").len(), 2);
}

#[tokio::test]
async fn each_retrier_counts_its_own_attempts() {
    let definition = task_with(
        json!([
            {"ErrorEquals": ["A"], "MaxAttempts": 2, "IntervalSeconds": 1},
            {"ErrorEquals": ["B"], "MaxAttempts": 2, "IntervalSeconds": 1}
        ]),
        json!([]),
    );
    let lambdas = Lambdas::new().on("shift", failing_then_ok(&["A", "B", "A", "B", "A"]));
    let outcome = run(&definition, &lambdas, json!({})).await;
    // A, B, A, B are retried; the third A exhausts its retrier.
    assert_eq!(failure(&outcome).0, "A");
    assert_eq!(lambdas.calls("shift").len(), 5);
    // Backoff grows per retrier, not per state: 1, 1, 2, 2.
    assert_eq!(retry_delays(&outcome), vec![1.0, 1.0, 2.0, 2.0]);
}

#[tokio::test]
async fn retry_count_is_visible_in_the_context_object() {
    let definition = json!({"StartAt": "Shift", "States": {"Shift": {
        "Type": "Task", "Resource": lambda_arn("shift"),
        "Parameters": {"retry.$": "$$.State.RetryCount"},
        "Retry": [{"ErrorEquals": ["E"], "MaxAttempts": 2}],
        "End": true
    }}});
    let lambdas = Lambdas::new().on("shift", failing_then_ok(&["E", "E"]));
    output(&run(&definition, &lambdas, json!({})).await);
    assert_eq!(
        lambdas.calls("shift"),
        vec![
            json!({"retry": 0}),
            json!({"retry": 1}),
            json!({"retry": 2})
        ]
    );
}

#[tokio::test]
async fn when_retries_are_exhausted_catch_routes_with_the_error_at_result_path() {
    let definition = task_with(
        json!([{"ErrorEquals": ["Retryable"], "MaxAttempts": 2}]),
        json!([
            {"ErrorEquals": ["AlarmBreached"], "ResultPath": "$.alarm", "Next": "Rollback"},
            {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Rollback"}
        ]),
    );
    let lambdas = Lambdas::new().on("shift", failing_then_ok(&["Retryable"; 5]));
    let outcome = run(&definition, &lambdas, json!({"service": "web"})).await;
    let out = output(&outcome);
    assert_eq!(lambdas.calls("shift").len(), 3);
    assert_eq!(out["service"], json!("web"));
    assert_eq!(out["error"]["Error"], json!("Retryable"));
    let cause: Value = serde_json::from_str(out["error"]["Cause"].as_str().unwrap()).unwrap();
    assert_eq!(cause["errorMessage"], json!("attempt 3"));
    assert!(event_types(&outcome).contains(&"PassStateEntered".to_string()));
}

#[tokio::test]
async fn catch_without_result_path_replaces_the_input_with_the_error_output() {
    let definition = task_with(
        json!([]),
        json!([{"ErrorEquals": ["Rejected"], "Next": "Rollback"}]),
    );
    let lambdas = Lambdas::new().on("shift", |_| {
        Err(TaskFailure::new("Rejected", "{\"by\":\"U1\"}"))
    });
    let outcome = run(&definition, &lambdas, json!({"service": "web"})).await;
    assert_eq!(
        output(&outcome),
        json!({"Error": "Rejected", "Cause": "{\"by\":\"U1\"}"})
    );
}

#[tokio::test]
async fn an_error_no_catcher_matches_fails_the_execution() {
    let definition = task_with(
        json!([]),
        json!([{"ErrorEquals": ["AlarmBreached"], "Next": "Rollback"}]),
    );
    let lambdas = Lambdas::new().on("shift", failing_then_ok(&["NonRetryable"]));
    assert_eq!(
        failure(&run(&definition, &lambdas, json!({})).await).0,
        "NonRetryable"
    );
}
