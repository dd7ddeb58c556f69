//! Input and output processing, with the examples from the AWS documentation.

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn result_path_merges_the_result_into_the_state_input() {
    let definition = json!({
        "StartAt": "Hello",
        "States": {"Hello": {"Type": "Pass", "Result": "Hello, AWS Step Functions!", "ResultPath": "$.taskresult", "End": true}}
    });
    let input = json!({"comment": "This is a test of the input and output of a Task state.", "details": "Default example", "who": "AWS Step Functions"});
    let outcome = run(&definition, &Lambdas::new(), input).await;
    assert_eq!(
        output(&outcome),
        json!({
            "comment": "This is a test of the input and output of a Task state.",
            "details": "Default example",
            "who": "AWS Step Functions",
            "taskresult": "Hello, AWS Step Functions!"
        })
    );
}

#[tokio::test]
async fn result_path_replaces_an_existing_field_and_creates_missing_parents() {
    let definition = json!({
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Result": 1, "ResultPath": "$.master.detail", "Next": "B"},
            "B": {"Type": "Pass", "Result": 2, "ResultPath": "$.master.detail", "End": true}
        }
    });
    let outcome = run(&definition, &Lambdas::new(), json!({"other": true})).await;
    assert_eq!(
        output(&outcome),
        json!({"other": true, "master": {"detail": 2}})
    );
}

#[tokio::test]
async fn result_path_null_discards_the_result_and_passes_the_input_through() {
    let definition = json!({
        "StartAt": "Notify",
        "States": {"Notify": {"Type": "Task", "Resource": lambda_arn("notify"), "ResultPath": null, "End": true}}
    });
    let lambdas = Lambdas::new().on("notify", |_| Ok(json!({"sent": true})));
    let outcome = run(&definition, &lambdas, json!({"service": "web"})).await;
    assert_eq!(output(&outcome), json!({"service": "web"}));
}

#[tokio::test]
async fn input_path_selects_part_of_the_input() {
    let definition = json!({
        "StartAt": "Select",
        "States": {"Select": {"Type": "Pass", "InputPath": "$.dataset2", "End": true}}
    });
    let input = json!({
        "comment": "Example for InputPath.",
        "dataset1": {"val1": 1, "val2": 2, "val3": 3},
        "dataset2": {"val1": "a", "val2": "b", "val3": "c"}
    });
    let outcome = run(&definition, &Lambdas::new(), input).await;
    assert_eq!(
        output(&outcome),
        json!({"val1": "a", "val2": "b", "val3": "c"})
    );
}

#[tokio::test]
async fn parameters_build_the_effective_input_from_paths_and_static_values() {
    let definition = json!({
        "StartAt": "Shape",
        "States": {"Shape": {"Type": "Task", "Resource": lambda_arn("echo"),
            "Parameters": {
                "comment": "Selecting what I care about.",
                "MyDetails": {
                    "size.$": "$.product.details.size",
                    "exists.$": "$.product.availability",
                    "StaticValue": "foo"
                }
            },
            "End": true}}
    });
    let input = json!({
        "comment": "Example for Parameters.",
        "product": {
            "details": {"color": "blue", "size": "small", "material": "cotton"},
            "availability": "in stock",
            "sku": "2317",
            "cost": "$23"
        }
    });
    let lambdas = Lambdas::new().on("echo", Ok);
    let outcome = run(&definition, &lambdas, input).await;
    let expected = json!({
        "comment": "Selecting what I care about.",
        "MyDetails": {"size": "small", "exists": "in stock", "StaticValue": "foo"}
    });
    assert_eq!(lambdas.calls("echo"), vec![expected.clone()]);
    assert_eq!(output(&outcome), expected);
}

#[tokio::test]
async fn steps_apply_in_aws_order_input_path_parameters_result_selector_result_path_output_path() {
    let definition = json!({
        "StartAt": "Plan",
        "States": {"Plan": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "InputPath": "$.request",
            "Parameters": {"FunctionName": lambda_arn("plan"), "Payload": {"svc.$": "$.service"}},
            "ResultSelector": {"steps.$": "$.Payload.steps", "status.$": "$.StatusCode"},
            "ResultPath": "$.plan",
            "OutputPath": "$.plan",
            "End": true
        }}
    });
    let lambdas = Lambdas::new().on("plan", |p| Ok(json!({"steps": [10, 100], "for": p["svc"]})));
    let outcome = run(
        &definition,
        &lambdas,
        json!({"request": {"service": "web"}, "noise": 1}),
    )
    .await;
    assert_eq!(lambdas.calls("plan"), vec![json!({"svc": "web"})]);
    assert_eq!(output(&outcome), json!({"steps": [10, 100], "status": 200}));
}

#[tokio::test]
async fn null_input_path_and_output_path_give_an_empty_object() {
    let definition = json!({
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "InputPath": null, "ResultPath": "$.seen", "Next": "B"},
            "B": {"Type": "Pass", "OutputPath": null, "End": true}
        }
    });
    let outcome = run(&definition, &Lambdas::new(), json!({"x": 1})).await;
    assert_eq!(output(&outcome), json!({}));
    assert!(outcome.history.iter().any(|e| matches!(&e.kind,
        ferry_engine::EventKind::StateExited { name, output, .. } if name == "A" && *output == json!({"x": 1, "seen": {}}))));
}

#[tokio::test]
async fn the_context_object_is_available_to_parameters() {
    let definition = json!({
        "StartAt": "Ctx",
        "States": {"Ctx": {"Type": "Pass", "Parameters": {
            "id.$": "$$.Execution.Id",
            "name.$": "$$.Execution.Name",
            "input.$": "$$.Execution.Input.service",
            "started.$": "$$.Execution.StartTime",
            "state.$": "$$.State.Name",
            "entered.$": "$$.State.EnteredTime",
            "retries.$": "$$.State.RetryCount",
            "machine.$": "$$.StateMachine.Name",
            "machineId.$": "$$.StateMachine.Id"
        }, "End": true}}
    });
    let executor = executor(
        &definition,
        &Lambdas::new(),
        &ferry_engine::TaskTokens::new(),
    );
    let outcome = executor
        .start("ctx-1", json!({"service": "web"}))
        .unwrap()
        .wait()
        .await;
    let out = output(&outcome);
    assert_eq!(
        out["id"],
        json!("arn:aws:states:us-east-1:123456789012:execution:ferry-local:ctx-1")
    );
    assert_eq!(out["name"], json!("ctx-1"));
    assert_eq!(out["input"], json!("web"));
    assert_eq!(out["state"], json!("Ctx"));
    assert_eq!(out["retries"], json!(0));
    assert_eq!(out["machine"], json!("ferry-local"));
    assert_eq!(out["machineId"], json!(executor.state_machine_arn()));
    assert!(ferry_engine::timestamp::parse(out["started"].as_str().unwrap()).is_some());
    assert!(ferry_engine::timestamp::parse(out["entered"].as_str().unwrap()).is_some());
}

#[tokio::test]
async fn a_path_that_matches_nothing_fails_with_states_runtime_which_no_catcher_catches() {
    let definition = json!({
        "StartAt": "Call",
        "States": {
            "Call": {"Type": "Task", "Resource": lambda_arn("f"),
                "Parameters": {"x.$": "$.missing"},
                "Retry": [{"ErrorEquals": ["States.ALL"]}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handled"}],
                "End": true},
            "Handled": {"Type": "Succeed"}
        }
    });
    let lambdas = Lambdas::new().on("f", Ok);
    let outcome = run(&definition, &lambdas, json!({})).await;
    let (error, cause) = failure(&outcome);
    assert_eq!(error, "States.Runtime");
    assert!(cause.contains("$.missing"), "{cause}");
    assert!(lambdas.calls("f").is_empty());
}

#[tokio::test]
async fn an_input_path_that_matches_nothing_fails_with_states_runtime() {
    let definition = json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "InputPath": "$.nope", "End": true}}});
    let outcome = run(&definition, &Lambdas::new(), json!({})).await;
    assert_eq!(failure(&outcome).0, "States.Runtime");
}

#[tokio::test]
async fn a_result_path_that_cannot_be_applied_fails_with_result_path_match_failure() {
    let definition = json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": 1, "ResultPath": "$.x", "End": true}}});
    let outcome = run(&definition, &Lambdas::new(), json!("just a string")).await;
    assert_eq!(failure(&outcome).0, "States.ResultPathMatchFailure");
}

#[tokio::test]
async fn intrinsic_functions_run_inside_parameters() {
    let definition = json!({
        "StartAt": "Build",
        "States": {"Build": {"Type": "Pass", "Parameters": {
            "name.$": "States.Format('ferry-{}-{}', $.service, $.n)",
            "parts.$": "States.StringSplit($.csv, ',')",
            "next.$": "States.MathAdd($.n, 1)",
            "doc.$": "States.JsonToString($.doc)"
        }, "End": true}}
    });
    let outcome = run(
        &definition,
        &Lambdas::new(),
        json!({"service": "web", "n": 41, "csv": "a,b", "doc": {"k": 1}}),
    )
    .await;
    assert_eq!(
        output(&outcome),
        json!({"name": "ferry-web-41", "parts": ["a", "b"], "next": 42, "doc": "{\"k\":1}"})
    );
}

#[tokio::test]
async fn an_intrinsic_misuse_is_catchable_as_intrinsic_failure() {
    let definition = json!({
        "StartAt": "Call",
        "States": {
            "Call": {"Type": "Task", "Resource": lambda_arn("f"),
                "Parameters": {"x.$": "States.ArrayGetItem($.items, 5)"},
                "Catch": [{"ErrorEquals": ["States.IntrinsicFailure"], "ResultPath": "$.error", "Next": "Handled"}],
                "End": true},
            "Handled": {"Type": "Succeed"}
        }
    });
    let outcome = run(
        &definition,
        &Lambdas::new().on("f", Ok),
        json!({"items": [1]}),
    )
    .await;
    assert_eq!(
        output(&outcome)["error"]["Error"],
        json!("States.IntrinsicFailure")
    );
}
