//! The control API (`ferry-http`, as the `control` function serves it) against the emulator: the
//! actor is the IAM principal the function URL hands over, the record is DynamoDB's, the task
//! tokens and the traffic workflow are Step Functions'. Its AWS calls are recorded as the
//! `control` function's for the IAM check.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use ferry_aws::{DynamoStore, StateMachines, StepFunctions};
use ferry_core::deployment::{PendingToken, TokenKind};
use ferry_core::ports::DeploymentStore;
use ferry_http::{App, AwsIam, AwsPrincipal, Control};
use serde_json::Value;
use time::macros::datetime;
use tower::ServiceExt;

use crate::helpers::{
    clients, create_pass_state_machine, deployment_record, memory_deps, unique_prefix,
};

const APPROVER: &str = "arn:aws:sts::123456789012:assumed-role/deployers/alice";
const OTHER_APPROVER: &str = "arn:aws:sts::123456789012:assumed-role/deployers/bob";

async fn call(
    app: &axum::Router,
    principal: &str,
    method: &str,
    path: &str,
    body: &str,
) -> (StatusCode, Value) {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    request
        .extensions_mut()
        .insert(AwsPrincipal(principal.to_string()));
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn the_control_api_answers_waits_and_starts_rollbacks_through_step_functions() {
    let clients = clients().await;
    let prefix = unique_prefix("control");
    let table = format!("{prefix}-ferry");
    ferry_aws::ensure_table(&clients.aws.dynamodb, &table)
        .await
        .unwrap();
    let store = Arc::new(DynamoStore::new(clients.aws.dynamodb.clone(), table));
    let traffic = create_pass_state_machine(&clients.aws.sfn, &format!("{prefix}-traffic")).await;
    let workflows = StepFunctions::new(
        clients.aws.sfn.clone(),
        StateMachines {
            traffic: Some(traffic.clone()),
            ..StateMachines::default()
        },
    );
    let mut deps = memory_deps();
    deps.store = store.clone();
    deps.workflows = Arc::new(workflows);
    let app = ferry_http::router(App {
        intake: None,
        control: Some(Control {
            deps,
            auth: Arc::new(AwsIam),
            function: "control",
        }),
        slack: None,
        ui: None,
    });

    // Waiting for an approval: the approver's answer is claimed on the record, then sent.
    let mut waiting = deployment_record(
        "shop",
        "web",
        &format!("{prefix}-1"),
        datetime!(2026-11-22 10:00 UTC),
    );
    waiting.status = ferry_core::DeploymentStatus::AwaitingApproval { step: 0 };
    waiting.policy.approvers = vec!["arn:aws:iam::123456789012:role/deployers".into()];
    waiting.pending_token = Some(PendingToken {
        kind: TokenKind::Approval,
        step: 0,
        token: "AQ-a-token-of-the-approval".into(),
        since: datetime!(2026-11-22 10:00 UTC),
        answered: None,
    });
    store.create(&waiting).await.unwrap();
    let path = format!("/api/deployments/{}/actions", waiting.id);
    // moto answers SendTaskSuccess for any token; AWS refuses one whose task ended, which the
    // unit tests cover with the in-memory Step Functions.
    let (status, body) = call(&app, APPROVER, "POST", &path, r#"{"action":"approve"}"#).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["deploymentId"], waiting.id);
    let recorded = store.get(&waiting.id).await.unwrap().unwrap();
    let answered = recorded.pending_token.unwrap().answered.unwrap();
    assert_eq!(answered.by.identity.to_string(), APPROVER);
    // A second approver answering the same wait: the conditional write on the record refuses.
    let (status, body) = call(
        &app,
        OTHER_APPROVER,
        "POST",
        &path,
        r#"{"action":"reject"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["refusal"], "alreadyDecided", "{body}");

    // Rolling back a held deployment starts the traffic workflow in Step Functions.
    let mut held = deployment_record(
        "shop",
        "api",
        &format!("{prefix}-2"),
        datetime!(2026-11-22 10:00 UTC),
    );
    held.status = ferry_core::DeploymentStatus::Holding { step: 0 };
    store.create(&held).await.unwrap();
    let (status, body) = call(
        &app,
        APPROVER,
        "POST",
        &format!("/api/deployments/{}/actions", held.id),
        r#"{"action":"rollback","reason":"holding too long"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["outcome"], "trafficStarted");
    let execution = body["execution"].as_str().unwrap();
    assert!(
        execution.starts_with(&traffic.replace(":stateMachine:", ":execution:")),
        "{execution}"
    );
    let input = clients
        .aws
        .sfn
        .describe_execution()
        .execution_arn(execution)
        .send()
        .await
        .unwrap()
        .input
        .unwrap();
    let input: Value = serde_json::from_str(&input).unwrap();
    assert_eq!(input["action"], "rollback");
    assert_eq!(input["reason"], "holding too long");

    // And the records, without their task tokens.
    let (status, body) = call(
        &app,
        APPROVER,
        "GET",
        &format!("/api/deployments/{}", waiting.id),
        "",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        !body.to_string().contains("a-token-of-the-approval"),
        "{body}"
    );
}

/// `events/control/*.json`, the function URL requests the control function receives, through
/// the Lambda adapter and the router, each against a deployment waiting for approval.
#[tokio::test]
async fn the_function_url_samples_get_the_answers_their_names_promise() {
    use aws_lambda_events::event::lambda_function_urls::LambdaFunctionUrlRequest;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events/control");
    let expected = [
        ("approve.json", 200, "answered"),
        ("list-in-flight.json", 200, ""),
        ("move-to-preset.json", 409, "notAllowed"),
        ("no-principal.json", 401, "unauthenticated"),
        ("rollback.json", 200, "answered"),
        ("show.json", 200, ""),
    ];
    let mut found: Vec<String> = std::fs::read_dir(&root)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    found.sort();
    assert_eq!(found, expected.map(|(name, _, _)| name.to_string()));
    for (name, status, kind) in expected {
        let deps = memory_deps();
        let mut waiting = deployment_record(
            "shop",
            "web",
            "web-20261122T100000Z-0123456-1a2b3c",
            datetime!(2026-11-22 10:00 UTC),
        );
        waiting.status = ferry_core::DeploymentStatus::AwaitingApproval { step: 0 };
        waiting.policy.approvers = vec!["arn:aws:iam::123456789012:role/deployers".into()];
        waiting.pending_token = Some(PendingToken {
            kind: TokenKind::Approval,
            step: 0,
            token: "AQ-token".into(),
            since: datetime!(2026-11-22 10:00 UTC),
            answered: None,
        });
        deps.store.create(&waiting).await.unwrap();
        let router = ferry_http::router(App {
            intake: None,
            control: Some(Control {
                deps,
                auth: Arc::new(AwsIam),
                function: "control",
            }),
            slack: None,
            ui: None,
        });
        let text = std::fs::read_to_string(root.join(name)).unwrap();
        let request: LambdaFunctionUrlRequest = serde_json::from_str(&text).unwrap();
        let response = ferry_http::lambda::handle(router, request).await;
        assert_eq!(response.status_code, status, "{name}: {:?}", response.body);
        let body: Value = serde_json::from_str(response.body.as_deref().unwrap()).unwrap();
        if !kind.is_empty() {
            let found = body
                .get("outcome")
                .or(body.get("refusal"))
                .or(body.get("error"))
                .and_then(Value::as_str);
            assert_eq!(found, Some(kind), "{name}: {body}");
        }
        assert!(!body.to_string().contains("AQ-token"), "{name}: {body}");
    }
}
