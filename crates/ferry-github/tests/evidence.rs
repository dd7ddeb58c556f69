//! GitHub Deployments and the `ferry/deploy` status against a local GitHub (wiremock).

use ferry_core::Deployment;
use ferry_core::lifecycle::Event;
use ferry_core::ports::Notifier;
use ferry_github::{Credentials, GitHub, GithubEvidence};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const COMMIT: &str = "3f9c2e1a7b5d4c3e2f1a0b9c8d7e6f5a4b3c2d1e";

fn deployment(repository: &str) -> Deployment {
    serde_json::from_value(json!({
        "id": "web-1", "service": "web", "cluster": "shop",
        "source": {"repository": repository, "commit": COMMIT, "manifestPath": ".ferry/web.yaml"},
        "status": {"state": "pending"},
        "plan": {"steps": [{"weight": 100, "bakeSeconds": 0, "approve": false}]},
        "policy": {"alarms": [], "rollbackOnAlarm": true, "keepOldForSeconds": 0, "approvers": [],
                   "approvalTimeoutSeconds": 3600, "onApprovalTimeout": "rollback"},
        "traffic": {"listenerArn": "l"}, "blueTargetGroup": "b", "greenTargetGroup": "g",
        "taskDefinition": {}, "containerName": "web", "containerPort": 80, "greenWeight": 0,
        "history": [], "createdAt": "2026-11-22T10:00:00Z", "updatedAt": "2026-11-22T10:00:00Z", "version": 0
    }))
    .unwrap()
}

async fn bodies(server: &MockServer, to: &str) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|request| request.method.as_str() == "POST" && request.url.path() == to)
        .map(|request| serde_json::from_slice(&request.body).unwrap())
        .collect()
}

#[tokio::test]
async fn a_rolled_back_deployment_is_a_failure_on_github_and_never_green() {
    let server = MockServer::start().await;
    // No deployment for the commit yet: one is created, then found again by its payload.
    Mock::given(method("GET"))
        .and(path("/repos/acme/shop/deployments"))
        .and(query_param("environment", "shop/web"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/shop/deployments"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"id": 7, "payload": {"ferryDeploymentId": "someone-else"}},
            {"id": 42, "payload": {"ferryDeploymentId": "web-1"}}
        ])))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/shop/deployments"))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(json!({"id": 42, "payload": {"ferryDeploymentId": "web-1"}})),
        )
        .mount(&server)
        .await;
    for to in [
        "/repos/acme/shop/deployments/42/statuses",
        &format!("/repos/acme/shop/statuses/{COMMIT}"),
    ] {
        Mock::given(method("POST"))
            .and(path(to.to_string()))
            .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": 1})))
            .mount(&server)
            .await;
    }
    let evidence = GithubEvidence::new(
        GitHub::new(&server.uri(), Credentials::Token("ghp_test".into())).unwrap(),
    );
    let deployment = deployment("acme/shop");
    let planned = Event::Planned {
        manifest_path: ".ferry/web.yaml".into(),
        commit: COMMIT.into(),
        author: None,
        steps: 1,
    };

    evidence.notify(&deployment, &planned).await.unwrap();
    evidence
        .notify(
            &deployment,
            &Event::Shifted {
                step: 0,
                weight: 100,
                of: 1,
            },
        )
        .await
        .unwrap();
    evidence
        .notify(
            &deployment,
            &Event::RolledBack {
                reason: "alarm web-5xx".into(),
            },
        )
        .await
        .unwrap();

    let created = bodies(&server, "/repos/acme/shop/deployments").await;
    assert_eq!(created.len(), 1, "one GitHub deployment: {created:#?}");
    assert_eq!(created[0]["environment"], "shop/web");
    assert_eq!(created[0]["ref"], COMMIT);
    let statuses = bodies(&server, "/repos/acme/shop/deployments/42/statuses").await;
    let states: Vec<&str> = statuses
        .iter()
        .map(|s| s["state"].as_str().unwrap())
        .collect();
    assert_eq!(
        states,
        ["in_progress", "failure"],
        "a shift says nothing to GitHub"
    );
    assert!(
        statuses[1]["description"]
            .as_str()
            .unwrap()
            .contains("alarm web-5xx")
    );
    let commit = bodies(&server, &format!("/repos/acme/shop/statuses/{COMMIT}")).await;
    let commit_states: Vec<(&str, &str)> = commit
        .iter()
        .map(|s| (s["context"].as_str().unwrap(), s["state"].as_str().unwrap()))
        .collect();
    assert_eq!(
        commit_states,
        [("ferry/deploy", "pending"), ("ferry/deploy", "failure")]
    );
}

#[tokio::test]
async fn a_deployment_from_a_local_folder_tells_github_nothing() {
    let server = MockServer::start().await;
    let evidence = GithubEvidence::new(
        GitHub::new(&server.uri(), Credentials::Token("ghp_test".into())).unwrap(),
    );
    evidence
        .notify(
            &deployment("/home/alice/shop"),
            &Event::Succeeded {
                task_definition: "td".into(),
                duration_seconds: 60,
            },
        )
        .await
        .unwrap();
    assert!(
        server
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty()
    );
}
