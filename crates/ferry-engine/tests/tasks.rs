//! Task resources and task timeouts.

use std::time::Duration;

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn a_lambda_arn_task_outputs_the_function_result() {
    let definition = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": lambda_arn("plan"), "End": true}}});
    let lambdas = Lambdas::new().on("plan", |p| Ok(json!({"planned": p["service"]})));
    let outcome = run(&definition, &lambdas, json!({"service": "web"})).await;
    assert_eq!(output(&outcome), json!({"planned": "web"}));
    assert_eq!(lambdas.calls("plan"), vec![json!({"service": "web"})]);
    assert_eq!(
        event_types(&outcome),
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskSucceeded",
            "TaskStateExited",
            "ExecutionSucceeded"
        ]
    );
}

#[tokio::test]
async fn lambda_invoke_outputs_the_invoke_api_response() {
    let definition = json!({"StartAt": "T", "States": {"T": {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "plan", "Payload.$": "$"},
        "End": true
    }}});
    let lambdas = Lambdas::new().on("plan", |p| Ok(json!({"echo": p})));
    let outcome = run(&definition, &lambdas, json!({"a": 1})).await;
    let out = output(&outcome);
    assert_eq!(out["Payload"], json!({"echo": {"a": 1}}));
    assert_eq!(out["StatusCode"], json!(200));
    assert_eq!(out["ExecutedVersion"], json!("$LATEST"));
    assert_eq!(out["SdkHttpMetadata"]["HttpStatusCode"], json!(200));
    assert_eq!(
        out["SdkHttpMetadata"]["HttpHeaders"]["x-amzn-RequestId"],
        out["SdkResponseMetadata"]["RequestId"]
    );
}

#[tokio::test]
async fn function_errors_surface_with_their_lambda_error_type_and_a_lambda_shaped_cause() {
    for resource in [
        lambda_arn("check"),
        "arn:aws:states:::lambda:invoke".to_string(),
    ] {
        let definition = json!({"StartAt": "T", "States": {"T": {
            "Type": "Task", "Resource": resource,
            "Parameters": {"FunctionName": "check", "Payload": {}},
            "End": true
        }}});
        let lambdas = Lambdas::new().on("check", |_| {
            Err(ferry_engine::TaskFailure::new(
                "AlarmBreached",
                "web-5xx is in ALARM",
            ))
        });
        let (error, cause) = failure(&run(&definition, &lambdas, json!({})).await);
        assert_eq!(error, "AlarmBreached");
        let cause: serde_json::Value = serde_json::from_str(&cause).unwrap();
        assert_eq!(
            cause,
            json!({"errorType": "AlarmBreached", "errorMessage": "web-5xx is in ALARM"})
        );
    }
}

#[tokio::test]
async fn a_task_that_runs_past_timeout_seconds_fails_with_states_timeout() {
    let definition = json!({"StartAt": "T", "States": {"T": {
        "Type": "Task", "Resource": lambda_arn("slow"), "TimeoutSeconds": 100, "End": true
    }}});
    let lambdas = Lambdas::new().on_async("slow", |_| async {
        tokio::time::sleep(Duration::from_secs(30)).await;
        Ok(json!(null))
    });
    let outcome = run(&definition, &lambdas, json!({})).await;
    assert_eq!(failure(&outcome).0, "States.Timeout");
    assert!(event_types(&outcome).contains(&"TaskTimedOut".to_string()));
}

#[tokio::test]
async fn timeout_seconds_path_reads_the_timeout_from_the_input() {
    let definition = json!({"StartAt": "T", "States": {"T": {
        "Type": "Task", "Resource": lambda_arn("slow"), "TimeoutSecondsPath": "$.timeout", "End": true
    }}});
    let lambdas = Lambdas::new().on_async("slow", |_| async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        Ok(json!("done"))
    });
    let short = run(&definition, &lambdas, json!({"timeout": 50})).await;
    assert_eq!(failure(&short).0, "States.Timeout");
    let long = run(&definition, &lambdas, json!({"timeout": 5000})).await;
    assert_eq!(output(&long), json!("done"));
}

#[tokio::test]
async fn states_task_failed_catches_task_errors_but_not_timeouts() {
    let definition = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": lambda_arn("f"), "TimeoutSeconds": 10,
              "Catch": [
                  {"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.error", "Next": "TaskFailed"},
                  {"ErrorEquals": ["States.Timeout"], "ResultPath": "$.error", "Next": "TimedOut"}
              ],
              "End": true},
        "TaskFailed": {"Type": "Pass", "Result": "task failed", "End": true},
        "TimedOut": {"Type": "Pass", "Result": "timed out", "End": true}
    }});
    let failing = Lambdas::new().on("f", |_| {
        Err(ferry_engine::TaskFailure::new(
            "NonRetryable",
            "bad manifest",
        ))
    });
    assert_eq!(
        output(&run(&definition, &failing, json!({})).await),
        json!("task failed")
    );
    let slow = Lambdas::new().on_async("f", |_| async {
        tokio::time::sleep(Duration::from_secs(30)).await;
        Ok(json!(null))
    });
    assert_eq!(
        output(&run(&definition, &slow, json!({})).await),
        json!("timed out")
    );
}

#[tokio::test]
async fn a_missing_function_fails_like_lambda_resource_not_found() {
    let definition = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": lambda_arn("ghost"), "End": true}}});
    let outcome = run(&definition, &Lambdas::new(), json!({})).await;
    assert_eq!(failure(&outcome).0, "Lambda.ResourceNotFoundException");
}
