//! Everything the engine does not implement is refused at load time, loudly: the message names
//! the state, the field and what is wrong.

use serde_json::{Value, json};

use crate::helpers::*;

fn one_state(state: Value) -> Value {
    json!({"StartAt": "Deploy", "States": {"Deploy": state, "Next1": {"Type": "Succeed"}}})
}

/// Assert that some problem mentions every fragment.
fn assert_refused(definition: Value, fragments: &[&str]) {
    let problems = refusal(&definition);
    assert!(
        problems
            .iter()
            .any(|p| fragments.iter().all(|f| p.contains(f))),
        "no problem mentions all of {fragments:?}: {problems:#?}"
    );
}

fn task(extra: Value) -> Value {
    let mut state = json!({"Type": "Task", "Resource": lambda_arn("f"), "End": true});
    for (k, v) in extra.as_object().unwrap() {
        state[k] = v.clone();
    }
    json!({"StartAt": "Deploy", "States": {"Deploy": state}})
}

#[test]
fn jsonata_is_refused() {
    assert_refused(
        json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {"A": {"Type": "Succeed"}}}),
        &["state machine", "QueryLanguage", "JSONPath only"],
    );
    assert_refused(
        task(json!({"Arguments": {"x": "{% $states.input %}"}})),
        &["\"Deploy\"", "Arguments", "JSONata"],
    );
    assert_refused(
        task(json!({"QueryLanguage": "JSONata"})),
        &["\"Deploy\"", "QueryLanguage"],
    );
}

#[test]
fn variables_are_refused() {
    assert_refused(
        task(json!({"Assign": {"x": 1}})),
        &["\"Deploy\"", "Assign", "variables"],
    );
}

#[test]
fn resources_other_than_lambda_are_refused() {
    for resource in [
        "arn:aws:states:::ecs:runTask.sync",
        "arn:aws:states:::aws-sdk:ecs:updateService",
        "arn:aws:states:::lambda:invoke.sync",
        "arn:aws:states:us-east-1:123456789012:activity:approve",
        "arn:aws:states:::states:startExecution",
    ] {
        assert_refused(
            task(json!({"Resource": resource})),
            &["\"Deploy\"", "Resource", resource],
        );
    }
}

#[test]
fn an_unbound_placeholder_in_a_resource_says_to_bind_it() {
    assert_refused(
        task(json!({"Resource": "${deploy_fn}"})),
        &["\"Deploy\"", "Resource", "bind"],
    );
}

#[test]
fn lambda_invoke_parameters_are_checked() {
    let invoke = |parameters: Value| {
        task(json!({"Resource": "arn:aws:states:::lambda:invoke", "Parameters": parameters}))
    };
    assert_refused(
        invoke(json!({"FunctionName": "f"})),
        &["\"Deploy\"", "Parameters", "Payload"],
    );
    assert_refused(
        invoke(json!({"Payload": {}})),
        &["\"Deploy\"", "Parameters", "FunctionName"],
    );
    assert_refused(
        invoke(json!({"FunctionName": "f", "Payload": {}, "InvocationType": "Event"})),
        &["\"Deploy\"", "InvocationType"],
    );
    assert_refused(
        task(
            json!({"Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken", "Parameters": {"FunctionName": "f", "Payload": {}}}),
        ),
        &["\"Deploy\"", "Parameters", "$$.Task.Token"],
    );
}

#[test]
fn the_task_token_is_only_available_to_callback_tasks() {
    assert_refused(
        task(json!({"Parameters": {"t.$": "$$.Task.Token"}})),
        &["\"Deploy\"", "Parameters", "waitForTaskToken"],
    );
}

#[test]
fn unknown_context_fields_and_multi_value_paths_are_refused() {
    assert_refused(
        task(json!({"Parameters": {"t.$": "$$.Execution.Nope"}})),
        &["\"Deploy\"", "$$.Execution.Nope"],
    );
    assert_refused(
        task(json!({"InputPath": "$.items[*]"})),
        &["\"Deploy\"", "InputPath", "wildcard"],
    );
    assert_refused(
        task(json!({"OutputPath": "$..name"})),
        &["\"Deploy\"", "OutputPath", "deep scan"],
    );
    assert_refused(
        task(json!({"ResultPath": "$$.Execution"})),
        &["\"Deploy\"", "ResultPath"],
    );
}

#[test]
fn heartbeats_on_plain_tasks_and_heartbeats_longer_than_the_timeout_are_refused() {
    assert_refused(
        task(json!({"HeartbeatSeconds": 10})),
        &["\"Deploy\"", "HeartbeatSeconds"],
    );
    assert_refused(
        task(json!({
            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {"FunctionName": "f", "Payload": {"t.$": "$$.Task.Token"}},
            "TimeoutSeconds": 10, "HeartbeatSeconds": 10
        })),
        &["\"Deploy\"", "HeartbeatSeconds", "smaller"],
    );
}

#[test]
fn unknown_fields_and_state_types_are_refused() {
    assert_refused(
        task(json!({"Retries": []})),
        &["\"Deploy\"", "Retries", "unknown field"],
    );
    assert_refused(
        one_state(json!({"Type": "Sleep", "Next": "Next1"})),
        &["\"Deploy\"", "Type", "Sleep"],
    );
    assert_refused(
        one_state(json!({"Type": "Pass", "Retry": [], "Next": "Next1"})),
        &["\"Deploy\"", "Retry", "not allowed on a Pass state"],
    );
    assert_refused(
        json!({"StartAt": "A", "States": {"A": {"Type": "Succeed"}}, "Extra": true}),
        &["state machine", "Extra"],
    );
}

#[test]
fn distributed_map_is_refused() {
    let map = |extra: Value| {
        let mut state = json!({"Type": "Map", "End": true,
            "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}});
        for (k, v) in extra.as_object().unwrap() {
            state[k] = v.clone();
        }
        json!({"StartAt": "Deploy", "States": {"Deploy": state}})
    };
    assert_refused(
        map(json!({"ItemReader": {}})),
        &["\"Deploy\"", "ItemReader", "Distributed Map"],
    );
    assert_refused(
        map(json!({"ToleratedFailureCount": 1})),
        &["\"Deploy\"", "ToleratedFailureCount"],
    );
    assert_refused(
        map(
            json!({"ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}),
        ),
        &["\"Deploy\"", "ProcessorConfig", "INLINE"],
    );
}

#[test]
fn transitions_must_be_complete_and_lead_somewhere() {
    assert_refused(
        json!({"StartAt": "Nope", "States": {"A": {"Type": "Succeed"}}}),
        &["StartAt", "Nope"],
    );
    assert_refused(
        one_state(json!({"Type": "Pass", "Next": "Nowhere"})),
        &["\"Deploy\"", "Next", "Nowhere"],
    );
    assert_refused(
        one_state(json!({"Type": "Pass", "Next": "Next1", "End": true})),
        &["\"Deploy\"", "Next/End", "both"],
    );
    assert_refused(
        one_state(json!({"Type": "Pass"})),
        &["\"Deploy\"", "Next/End", "neither"],
    );
    assert_refused(
        json!({"StartAt": "A", "States": {"A": {"Type": "Succeed"}, "Orphan": {"Type": "Succeed"}}}),
        &["\"Orphan\"", "unreachable"],
    );
    assert_refused(
        task(json!({"Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Gone"}]})),
        &["\"Deploy\"", "Catch.Next", "Gone"],
    );
    assert_refused(
        one_state(
            json!({"Type": "Choice", "Choices": [{"Variable": "$.x", "IsNull": true, "Next": "Next1"}], "Next": "Next1"}),
        ),
        &["\"Deploy\"", "Choice"],
    );
}

#[test]
fn states_all_must_be_alone_and_last() {
    assert_refused(
        task(json!({"Retry": [{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["Retryable"]}]})),
        &["\"Deploy\"", "Retry[0]", "States.ALL"],
    );
    assert_refused(
        task(json!({"Retry": [{"ErrorEquals": ["States.ALL", "Retryable"]}]})),
        &["\"Deploy\"", "Retry[0]", "alone"],
    );
}

#[test]
fn malformed_retriers_are_refused() {
    assert_refused(
        task(json!({"Retry": [{"ErrorEquals": ["E"], "BackoffRate": 0.5}]})),
        &["\"Deploy\"", "BackoffRate"],
    );
    assert_refused(
        task(json!({"Retry": [{"ErrorEquals": ["E"], "JitterStrategy": "HALF"}]})),
        &["\"Deploy\"", "JitterStrategy"],
    );
    assert_refused(
        task(json!({"Retry": [{"ErrorEquals": []}]})),
        &["\"Deploy\"", "ErrorEquals"],
    );
}

#[test]
fn malformed_intrinsics_and_choice_rules_are_refused_with_their_state() {
    assert_refused(
        task(json!({"Parameters": {"x.$": "States.Nope($.a)"}})),
        &["\"Deploy\"", "Parameters", "States.Nope"],
    );
    assert_refused(
        task(json!({"Parameters": {"x.$": "States.Format('{} {}', $.a)"}})),
        &["\"Deploy\"", "Parameters", "2 `{}`"],
    );
    assert_refused(
        one_state(
            json!({"Type": "Choice", "Choices": [{"Variable": "$.x", "NumericEquals": "1", "Next": "Next1"}]}),
        ),
        &["\"Deploy\"", "Choices", "NumericEquals"],
    );
    assert_refused(
        one_state(json!({"Type": "Wait", "Timestamp": "tomorrow", "Next": "Next1"})),
        &["\"Deploy\"", "Timestamp"],
    );
}

#[test]
fn state_names_must_be_unique_across_branches() {
    assert_refused(
        json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
            {"StartAt": "P", "States": {"P": {"Type": "Succeed"}}}
        ]}}}),
        &["\"P\"", "unique"],
    );
}

#[test]
fn a_definition_that_is_not_json_is_refused() {
    assert!(ferry_engine::load("{not json").is_err());
}
