//! `StepFunctions` against moto's Step Functions.

use ferry_aws::{StateMachines, StepFunctions};
use ferry_core::ports::{PortError, Workflow, WorkflowControl};
use serde_json::json;

use crate::helpers::{clients, create_pass_state_machine, unique_prefix};

async fn workflows() -> (StepFunctions, String) {
    let clients = clients().await;
    let arn = create_pass_state_machine(
        &clients.aws.sfn,
        &format!("{}-deploy", unique_prefix("sfn")),
    )
    .await;
    let machines = StateMachines {
        deploy: Some(arn.clone()),
        ..StateMachines::default()
    };
    (StepFunctions::new(clients.aws.sfn.clone(), machines), arn)
}

#[tokio::test]
async fn starting_an_execution_twice_with_the_same_name_is_idempotent() {
    let (workflows, state_machine) = workflows().await;
    let input = json!({"deploymentId": "web-1", "commit": "abc"});

    let first = workflows
        .start(Workflow::Deploy, "web-1", &input)
        .await
        .unwrap();
    let again = workflows
        .start(Workflow::Deploy, "web-1", &input)
        .await
        .unwrap();

    assert_eq!(again.execution_arn, first.execution_arn);
    assert_eq!(again.started_at, first.started_at);
    assert_eq!(
        first.execution_arn,
        format!(
            "{}:web-1",
            state_machine.replace(":stateMachine:", ":execution:")
        )
    );
}

#[tokio::test]
async fn the_same_name_with_another_input_is_a_conflict() {
    let (workflows, _) = workflows().await;

    workflows
        .start(Workflow::Deploy, "web-2", &json!({"deploymentId": "web-2"}))
        .await
        .unwrap();
    let other = workflows
        .start(Workflow::Deploy, "web-2", &json!({"deploymentId": "web-3"}))
        .await;

    assert!(matches!(other, Err(PortError::Conflict(_))), "{other:?}");
}

#[tokio::test]
async fn starting_a_workflow_without_its_state_machine_names_the_setting() {
    let (workflows, _) = workflows().await;

    let refused = workflows.start(Workflow::Plan, "pr-1", &json!({})).await;

    assert!(
        matches!(refused, Err(PortError::Invalid(ref message)) if message.contains("FERRY_PLAN_STATE_MACHINE_ARN")),
        "{refused:?}"
    );
}

#[tokio::test]
async fn starting_an_execution_of_a_missing_state_machine_is_not_found() {
    let clients = clients().await;
    let machines = StateMachines {
        deploy: Some("arn:aws:states:eu-west-1:123456789012:stateMachine:no-such-machine".into()),
        ..StateMachines::default()
    };
    let workflows = StepFunctions::new(clients.aws.sfn.clone(), machines);

    let missing = workflows.start(Workflow::Deploy, "web-1", &json!({})).await;

    assert!(
        matches!(missing, Err(PortError::NotFound(_))),
        "{missing:?}"
    );
}

#[tokio::test]
async fn task_tokens_are_completed_with_success_or_failure() {
    // moto accepts any token (AWS answers TaskDoesNotExist for an unknown one, which maps to
    // NotFound): this checks the requests are well formed, including a cause over the limit.
    let (workflows, _) = workflows().await;

    workflows
        .send_task_success("token-1", &json!({"approved": true}))
        .await
        .unwrap();
    workflows
        .send_task_failure("token-2", "AlarmBreached", &"x".repeat(40_000))
        .await
        .unwrap();
}
