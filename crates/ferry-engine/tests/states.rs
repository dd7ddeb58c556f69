//! Each state type.

use std::time::{Duration, Instant};

use ferry_engine::EventKind;
use serde_json::json;
use time::OffsetDateTime;

use crate::helpers::*;

#[tokio::test]
async fn pass_with_result_replaces_the_input() {
    let definition =
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"x": 1}, "End": true}}});
    assert_eq!(
        output(&run(&definition, &Lambdas::new(), json!({"y": 2})).await),
        json!({"x": 1})
    );
}

#[tokio::test]
async fn pass_without_result_passes_its_effective_input() {
    let definition = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"a.$": "$.b"}, "End": true}}});
    assert_eq!(
        output(&run(&definition, &Lambdas::new(), json!({"b": 2})).await),
        json!({"a": 2})
    );
}

fn choice_machine(with_default: bool) -> serde_json::Value {
    let choice = json!({
        "Type": "Choice",
        "Choices": [
            {"Variable": "$.weight", "NumericGreaterThanEquals": 100, "Next": "Done"},
            {"And": [
                {"Variable": "$.alarm", "IsPresent": true},
                {"Variable": "$.alarm", "StringMatches": "*-5xx"}
            ], "Next": "Rollback"},
            {"Variable": "$.weight", "NumericLessThan": 100, "Next": "Shift"}
        ]
    });
    let mut machine = json!({
        "StartAt": "Decide",
        "States": {
            "Decide": choice,
            "Done": {"Type": "Pass", "Result": "done", "End": true},
            "Rollback": {"Type": "Pass", "Result": "rollback", "End": true},
            "Shift": {"Type": "Pass", "Result": "shift", "End": true},
            "Fallback": {"Type": "Pass", "Result": "fallback", "End": true}
        }
    });
    if with_default {
        machine["States"]["Decide"]["Default"] = json!("Fallback");
    } else {
        machine["States"]
            .as_object_mut()
            .unwrap()
            .remove("Fallback");
    }
    machine
}

#[tokio::test]
async fn choice_takes_the_first_matching_rule() {
    let definition = choice_machine(true);
    let lambdas = Lambdas::new();
    assert_eq!(
        output(&run(&definition, &lambdas, json!({"weight": 100})).await),
        json!("done")
    );
    assert_eq!(
        output(
            &run(
                &definition,
                &lambdas,
                json!({"weight": 10, "alarm": "web-5xx"})
            )
            .await
        ),
        json!("rollback")
    );
    assert_eq!(
        output(&run(&definition, &lambdas, json!({"weight": 10})).await),
        json!("shift")
    );
}

#[tokio::test]
async fn choice_falls_back_to_default_when_nothing_matches() {
    let outcome = run(
        &choice_machine(true),
        &Lambdas::new(),
        json!({"weight": "heavy"}),
    )
    .await;
    assert_eq!(output(&outcome), json!("fallback"));
}

#[tokio::test]
async fn choice_without_a_match_or_default_fails_with_no_choice_matched() {
    let outcome = run(
        &choice_machine(false),
        &Lambdas::new(),
        json!({"weight": "heavy"}),
    )
    .await;
    assert_eq!(failure(&outcome).0, "States.NoChoiceMatched");
}

#[tokio::test]
async fn choice_on_a_missing_variable_fails_with_states_runtime() {
    let outcome = run(&choice_machine(true), &Lambdas::new(), json!({})).await;
    assert_eq!(failure(&outcome).0, "States.Runtime");
}

async fn timed(definition: &serde_json::Value, input: serde_json::Value) -> Duration {
    let started = Instant::now();
    output(&run(definition, &Lambdas::new(), input).await);
    started.elapsed()
}

#[tokio::test]
async fn wait_seconds_is_scaled_by_the_time_scale() {
    let definition = json!({"StartAt": "Bake", "States": {"Bake": {"Type": "Wait", "Seconds": 300, "End": true}}});
    let took = timed(&definition, json!({})).await;
    assert!(
        took >= Duration::from_millis(290) && took < Duration::from_secs(3),
        "{took:?}"
    );
}

#[tokio::test]
async fn wait_seconds_path_reads_the_input() {
    let definition = json!({"StartAt": "Bake", "States": {"Bake": {"Type": "Wait", "SecondsPath": "$.bake", "End": true}}});
    let took = timed(&definition, json!({"bake": 200})).await;
    assert!(
        took >= Duration::from_millis(190) && took < Duration::from_secs(3),
        "{took:?}"
    );
    let bad = run(&definition, &Lambdas::new(), json!({"bake": "soon"})).await;
    assert_eq!(failure(&bad).0, "States.Runtime");
}

#[tokio::test]
async fn wait_timestamp_and_timestamp_path_wait_until_the_instant() {
    let at = OffsetDateTime::now_utc() + time::Duration::seconds(200);
    let at = at
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let definition =
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Timestamp": at, "End": true}}});
    let took = timed(&definition, json!({})).await;
    assert!(
        took >= Duration::from_millis(150) && took < Duration::from_secs(3),
        "{took:?}"
    );

    let definition = json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "TimestampPath": "$.at", "End": true}}});
    let took = timed(&definition, json!({"at": "2001-01-01T00:00:00Z"})).await;
    assert!(
        took < Duration::from_millis(100),
        "a past timestamp does not wait: {took:?}"
    );
}

#[tokio::test]
async fn fail_reports_its_error_and_cause() {
    let definition = json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "DeployFailed", "Cause": "green never became stable"}}});
    let outcome = run(&definition, &Lambdas::new(), json!({})).await;
    assert_eq!(
        failure(&outcome),
        ("DeployFailed".into(), "green never became stable".into())
    );
    assert_eq!(event_types(&outcome).last().unwrap(), "ExecutionFailed");
}

#[tokio::test]
async fn fail_error_path_and_cause_path_take_paths_and_intrinsics() {
    let definition = json!({"StartAt": "F", "States": {"F": {"Type": "Fail",
        "ErrorPath": "$.error.Error",
        "CausePath": "States.Format('rolled back {}: {}', $.service, $.error.Cause)"}}});
    let outcome = run(
        &definition,
        &Lambdas::new(),
        json!({"service": "web", "error": {"Error": "AlarmBreached", "Cause": "web-5xx"}}),
    )
    .await;
    assert_eq!(
        failure(&outcome),
        ("AlarmBreached".into(), "rolled back web: web-5xx".into())
    );
}

#[tokio::test]
async fn succeed_ends_the_execution_with_its_output_path() {
    let definition =
        json!({"StartAt": "S", "States": {"S": {"Type": "Succeed", "OutputPath": "$.keep"}}});
    let outcome = run(
        &definition,
        &Lambdas::new(),
        json!({"keep": [1], "drop": 2}),
    )
    .await;
    assert_eq!(output(&outcome), json!([1]));
}

#[tokio::test]
async fn parallel_runs_every_branch_and_collects_outputs_in_branch_order() {
    let definition = json!({
        "StartAt": "Both",
        "States": {"Both": {
            "Type": "Parallel",
            "Parameters": {"n.$": "$.n"},
            "Branches": [
                {"StartAt": "Slow", "States": {"Slow": {"Type": "Wait", "Seconds": 50, "Next": "One"},
                                                "One": {"Type": "Pass", "Result": "first", "End": true}}},
                {"StartAt": "Two", "States": {"Two": {"Type": "Task", "Resource": lambda_arn("double"), "End": true}}}
            ],
            "ResultSelector": {"first.$": "$[0]", "second.$": "$[1]"},
            "ResultPath": "$.results",
            "End": true
        }}
    });
    let lambdas = Lambdas::new().on("double", |p| Ok(json!(p["n"].as_i64().unwrap() * 2)));
    let outcome = run(&definition, &lambdas, json!({"n": 21})).await;
    assert_eq!(
        output(&outcome),
        json!({"n": 21, "results": {"first": "first", "second": 42}})
    );
    // Parallel + Slow + One + Two.
    assert_eq!(outcome.state_transitions, 4);
}

#[tokio::test]
async fn a_failing_branch_fails_the_parallel_state_with_its_error_which_catch_can_route() {
    let definition = json!({
        "StartAt": "Both",
        "States": {
            "Both": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "Forever", "States": {"Forever": {"Type": "Wait", "Seconds": 100000, "End": true}}},
                    {"StartAt": "Boom", "States": {"Boom": {"Type": "Fail", "Error": "AlarmBreached", "Cause": "5xx"}}}
                ],
                "Catch": [{"ErrorEquals": ["AlarmBreached"], "ResultPath": "$.error", "Next": "Rollback"}],
                "End": true
            },
            "Rollback": {"Type": "Pass", "End": true}
        }
    });
    let started = Instant::now();
    let outcome = run(&definition, &Lambdas::new(), json!({})).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the waiting branch was stopped"
    );
    assert_eq!(
        output(&outcome),
        json!({"error": {"Error": "AlarmBreached", "Cause": "5xx"}})
    );
}

#[tokio::test]
async fn map_runs_the_processor_for_each_item_with_item_selector_and_keeps_order() {
    let definition = json!({
        "StartAt": "Each",
        "States": {"Each": {
            "Type": "Map",
            "ItemsPath": "$.steps",
            "MaxConcurrency": 2,
            "ItemSelector": {"weight.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index", "service.$": "$.service"},
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "INLINE"},
                "StartAt": "Shift",
                "States": {"Shift": {"Type": "Task", "Resource": lambda_arn("shift"), "End": true}}
            },
            "ResultPath": "$.shifted",
            "End": true
        }}
    });
    let lambdas = Lambdas::new().on_async("shift", |p| async move {
        // Later items finish first: the output must still follow item order.
        let delay = 30 - p["index"].as_u64().unwrap() * 10;
        tokio::time::sleep(Duration::from_millis(delay)).await;
        Ok(json!(format!(
            "{}@{}",
            p["service"].as_str().unwrap(),
            p["weight"]
        )))
    });
    let outcome = run(
        &definition,
        &lambdas,
        json!({"service": "web", "steps": [10, 50, 100]}),
    )
    .await;
    assert_eq!(
        output(&outcome)["shifted"],
        json!(["web@10", "web@50", "web@100"])
    );
    assert_eq!(outcome.state_transitions, 4);
    let iterations = outcome
        .history
        .iter()
        .filter(|e| matches!(e.kind, EventKind::MapIterationSucceeded { .. }))
        .count();
    assert_eq!(iterations, 3);
}

#[tokio::test]
async fn map_with_the_legacy_iterator_and_no_selector_passes_each_item() {
    let definition = json!({
        "StartAt": "Each",
        "States": {"Each": {
            "Type": "Map",
            "Iterator": {"StartAt": "Wrap", "States": {"Wrap": {"Type": "Pass", "Parameters": {"v.$": "$"}, "End": true}}},
            "End": true
        }}
    });
    let outcome = run(&definition, &Lambdas::new(), json!([1, "two"])).await;
    assert_eq!(output(&outcome), json!([{"v": 1}, {"v": "two"}]));
}

#[tokio::test]
async fn map_over_something_that_is_not_an_array_fails_with_states_runtime() {
    let definition = json!({
        "StartAt": "Each",
        "States": {"Each": {"Type": "Map", "ItemsPath": "$.items",
            "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}, "End": true}}
    });
    let outcome = run(
        &definition,
        &Lambdas::new(),
        json!({"items": {"not": "array"}}),
    )
    .await;
    assert_eq!(failure(&outcome).0, "States.Runtime");
}
