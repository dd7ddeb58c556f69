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

/// `push-deploy` with the real Step Functions adapter: the webhook's sample push of
/// `examples/shop` starts exactly the deployment it touches, a retry finds the same execution,
/// and the poller seeing the commit (the same desired state) is told it already runs.
#[tokio::test]
async fn a_push_starts_one_deploy_execution_per_touched_manifest_and_never_two() {
    use std::sync::Arc;

    use ferry_core::convergence::desired_execution_name;
    use ferry_handlers::Deps;
    use ferry_handlers::push_deploy::{self, PushInput};
    use ferry_testing::memory::MemoryGit;

    let (workflows, state_machine) = workflows().await;
    let sample = |name: &str| -> PushInput {
        let path = format!(
            "{}/../events/push-deploy/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    };
    let push = sample("webhook.json");
    let git = MemoryGit::new();
    let shop = format!("{}/../examples/shop", env!("CARGO_MANIFEST_DIR"));
    for file in [
        ".ferry/web.yaml",
        ".ferry/api.yaml",
        ".ferry/checkout.yaml",
        "ecs/web.json",
        "ecs/api.json",
        "ecs/checkout.json",
    ] {
        let text = std::fs::read_to_string(format!("{shop}/{file}")).unwrap();
        git.put(&push.push.repository, &push.push.after, file, &text);
    }
    let deps = Deps {
        workflows: Arc::new(workflows),
        git: Arc::new(git),
        ..crate::helpers::memory_deps()
    };

    let first = push_deploy::handle(&deps, push.clone()).await.unwrap();
    let retry = push_deploy::handle(&deps, push.clone()).await.unwrap();
    let polled = push_deploy::handle(&deps, sample("poller.json"))
        .await
        .unwrap();

    // web's manifest names service web of cluster shop; the first push is its generation 1.
    let name = desired_execution_name("shop/web", &push.push.after, 1, 0);
    let arn = format!(
        "{}:{name}",
        state_machine.replace(":stateMachine:", ":execution:")
    );
    assert_eq!(first.started.len(), 1, "{first:?}");
    assert_eq!(first.started[0].execution_name, name);
    assert_eq!(
        first.started[0].execution_arn.as_deref(),
        Some(arn.as_str())
    );
    assert_eq!(
        first
            .skipped
            .iter()
            .map(|skip| skip.manifest_path.as_str())
            .collect::<Vec<_>>(),
        [".ferry/api.yaml", ".ferry/checkout.yaml"]
    );
    assert_eq!(
        retry.already_started, first.started,
        "a retry is the same execution"
    );
    assert!(polled.started.is_empty(), "{polled:?}");
    assert_eq!(polled.already_started.len(), 1);
    assert_eq!(polled.already_started[0].execution_name, name);

    // What Step Functions holds: one execution, started with the plan handler's input.
    let clients = clients().await;
    let executions = clients
        .aws
        .sfn
        .list_executions()
        .state_machine_arn(&state_machine)
        .send()
        .await
        .unwrap();
    assert_eq!(executions.executions().len(), 1);
    let execution = clients
        .aws
        .sfn
        .describe_execution()
        .execution_arn(&arn)
        .send()
        .await
        .unwrap();
    let input: serde_json::Value = serde_json::from_str(execution.input().unwrap()).unwrap();
    assert_eq!(
        input,
        json!({"repository": "acme/shop", "commit": push.push.after,
            "manifestPath": ".ferry/web.yaml", "branch": "main", "author": "alice",
            "desiredGeneration": 1})
    );
    let _: ferry_handlers::plan::PlanInput =
        serde_json::from_value(input).expect("the plan handler's input");
}
