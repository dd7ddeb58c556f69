//! The router in-process (tower's `oneshot`), over in-memory ports.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::response::Response;
use ferry_core::Deployment;
use ferry_core::ports::{DeploymentStore, SystemClock};
use ferry_handlers::{Deps, LogNotifier, NoGitSource, Settings};
use ferry_testing::memory::*;
use ferry_webhook::fixtures::{PUSH_MAIN, compact, signed_headers};
use ferry_webhook::inspect::MAX_BODY_BYTES;
use ferry_webhook::{Intake, IntakeSettings, WebhookSecret};
use serde_json::{Value, json};
use tower::ServiceExt;

use super::*;

fn intake(events: Arc<MemoryEvents>) -> Intake {
    Intake {
        secret: WebhookSecret::fixed("serve-secret"),
        deliveries: Arc::new(MemoryDeliveryLog::new()),
        events,
        archive: None,
        clock: Arc::new(FakeClock::at(time::macros::datetime!(2026-11-22 10:15 UTC))),
        settings: IntakeSettings::default(),
    }
}

fn webhook_only(events: Arc<MemoryEvents>) -> Router {
    router(App {
        intake: Some(intake(events)),
        control: None,
        slack: None,
        ui: None,
    })
}

fn post(path: &str, body: Vec<u8>, headers: HeaderMap) -> Request<Body> {
    let mut request = Request::post(path).body(Body::from(body)).unwrap();
    *request.headers_mut() = headers;
    request
}

async fn json_of(response: Response) -> Value {
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    serde_json::from_slice(&bytes).unwrap_or(Value::Null)
}

#[tokio::test]
async fn a_signed_push_is_accepted_and_published_at_the_path_and_at_the_root() {
    let events = Arc::new(MemoryEvents::new());
    for (path, delivery) in [("/webhooks/github", "d-1"), ("/", "d-2")] {
        let body = compact(PUSH_MAIN).into_bytes();
        let headers = signed_headers("serve-secret", "push", delivery, "application/json", &body);
        let response = webhook_only(events.clone())
            .oneshot(post(path, body, headers))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::ACCEPTED, "{path}");
        assert_eq!(json_of(response).await["status"], "accepted");
    }
    assert_eq!(events.published().len(), 2);
}

#[tokio::test]
async fn an_unsigned_request_is_refused_with_401_and_publishes_nothing() {
    let events = Arc::new(MemoryEvents::new());
    let body = compact(PUSH_MAIN).into_bytes();
    let mut headers = signed_headers("serve-secret", "push", "d-1", "application/json", &body);
    headers.remove("x-hub-signature-256");
    let response = webhook_only(events.clone())
        .oneshot(post("/webhooks/github", body, headers))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(
        json_of(response).await["reason"]
            .as_str()
            .unwrap()
            .contains("X-Hub-Signature-256")
    );
    assert!(events.published().is_empty());
}

#[tokio::test]
async fn only_post_is_routed_health_answers_and_the_webhook_mount_has_no_control_api() {
    let app = webhook_only(Arc::new(MemoryEvents::new()));
    let get = app
        .clone()
        .oneshot(
            Request::get("/webhooks/github")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(get.status(), StatusCode::METHOD_NOT_ALLOWED);
    let health = app
        .clone()
        .oneshot(Request::get("/healthz").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let control = app
        .oneshot(post(
            "/api/deployments/d1/actions",
            br#"{"action":"approve"}"#.to_vec(),
            HeaderMap::new(),
        ))
        .await
        .unwrap();
    assert_eq!(control.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_body_over_25_megabytes_is_refused_with_413() {
    let body = vec![b' '; MAX_BODY_BYTES + 1];
    let headers = signed_headers("serve-secret", "push", "d-1", "application/json", &body);
    let response = webhook_only(Arc::new(MemoryEvents::new()))
        .oneshot(post("/webhooks/github", body, headers))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(json_of(response).await["status"], "refused");
}

// ---------------------------------------------------------------------------------------------
// The control API

struct ControlWorld {
    store: Arc<MemoryStore>,
    workflows: Arc<MemoryWorkflows>,
    deps: Deps,
}

/// One deployment, `d1`, waiting for an approval that only `arn:…:role/deployers` may give.
async fn control_world() -> ControlWorld {
    let store = Arc::new(MemoryStore::new());
    let workflows = Arc::new(MemoryWorkflows::new());
    let deps = Deps {
        ecs: Arc::new(MemoryEcs::new()),
        traffic: Arc::new(MemoryAlb::new()),
        alarms: Arc::new(MemoryAlarms::new()),
        store: store.clone(),
        workflows: workflows.clone(),
        git: Arc::new(NoGitSource),
        notifier: Arc::new(LogNotifier),
        clock: Arc::new(SystemClock),
        settings: Settings::default(),
        github: None,
        hooks: None,
    };
    let deployment: Deployment = serde_json::from_value(json!({
        "id": "d1", "service": "web", "cluster": "shop",
        "source": {"repository": "acme/shop", "commit": "abc", "manifestPath": ".ferry/web.yaml"},
        "status": {"state": "awaitingApproval", "step": 0},
        "plan": {"steps": [{"weight": 100, "bakeSeconds": 0, "approve": true}]},
        "policy": {"alarms": [], "rollbackOnAlarm": true, "keepOldForSeconds": 0,
                   "approvers": ["arn:aws:iam::123456789012:role/deployers"],
                   "approvalTimeoutSeconds": 3600, "onApprovalTimeout": "rollback"},
        "traffic": {"listenerArn": "l"}, "blueTargetGroup": "b", "greenTargetGroup": "g",
        "taskDefinition": {}, "containerName": "web", "containerPort": 80, "greenWeight": 0,
        "pendingToken": {"kind": "approval", "step": 0, "token": "secret-token", "since": "2026-11-22T10:00:00Z"},
        "history": [], "createdAt": "2026-11-22T10:00:00Z", "updatedAt": "2026-11-22T10:00:00Z",
        "version": 0
    }))
    .unwrap();
    store.create(&deployment).await.unwrap();
    ControlWorld {
        store,
        workflows,
        deps,
    }
}

fn iam_app(world: &ControlWorld) -> Router {
    router(App {
        intake: None,
        control: Some(Control {
            deps: world.deps.clone(),
            auth: Arc::new(AwsIam),
            function: "control",
        }),
        slack: None,
        ui: None,
    })
}

fn action(body: &str, principal: Option<&str>) -> Request<Body> {
    let mut request = Request::post("/api/deployments/d1/actions")
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    if let Some(arn) = principal {
        request
            .extensions_mut()
            .insert(AwsPrincipal(arn.to_string()));
    }
    request
}

const ALICE: &str = "arn:aws:sts::123456789012:assumed-role/deployers/alice";
const MALLORY: &str = "arn:aws:iam::123456789012:user/mallory";

#[tokio::test]
async fn an_approver_authenticated_by_iam_approves_once() {
    let world = control_world().await;
    let app = iam_app(&world);
    let response = app
        .clone()
        .oneshot(action(r#"{"action":"approve"}"#, Some(ALICE)))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let outcome = json_of(response).await;
    assert_eq!(outcome["outcome"], "answered");
    assert_eq!(outcome["answer"], "approved");
    let sent = world.workflows.successes.lock().unwrap().clone();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].1["answeredBy"], ALICE);

    // Someone else answering afterwards: refused, nothing sent.
    let again = app
        .oneshot(action(
            r#"{"action":"reject"}"#,
            Some(ALICE.replace("alice", "bob").as_str()),
        ))
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::CONFLICT);
    assert_eq!(json_of(again).await["refusal"], "alreadyDecided");
    assert!(world.workflows.failures.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_non_approver_and_an_unsigned_caller_change_nothing() {
    let world = control_world().await;
    let app = iam_app(&world);
    let before = world.store.get("d1").await.unwrap().unwrap();
    let refused = app
        .clone()
        .oneshot(action(r#"{"action":"approve"}"#, Some(MALLORY)))
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let body = json_of(refused).await;
    assert_eq!(body["refusal"], "notApprover");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("is not an approver")
    );

    // A claimed identity in the body or a header is not an identity.
    let mut unsigned = action(
        r#"{"action":"approve","by":"arn:aws:iam::123456789012:role/deployers"}"#,
        None,
    );
    unsigned
        .headers_mut()
        .insert("x-ferry-as", ALICE.parse().unwrap());
    let response = app.clone().oneshot(unsigned).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    let bad = app
        .clone()
        .oneshot(action(r#"{"action":"approve-all"}"#, Some(ALICE)))
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    // A form post, as a web page could make cross-site without a preflight: refused.
    let mut form = action(r#"{"action":"approve"}"#, Some(ALICE));
    form.headers_mut()
        .insert("content-type", "text/plain".parse().unwrap());
    let refused = app.oneshot(form).await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(world.store.get("d1").await.unwrap().unwrap(), before);
    assert!(world.workflows.successes.lock().unwrap().is_empty());
}

#[tokio::test]
async fn records_are_shown_without_their_task_token() {
    let world = control_world().await;
    let app = iam_app(&world);
    for path in ["/api/deployments/d1", "/api/deployments"] {
        let mut request = Request::get(path).body(Body::empty()).unwrap();
        request
            .extensions_mut()
            .insert(AwsPrincipal(MALLORY.into()));
        let response = app.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let text = json_of(response).await.to_string();
        assert!(text.contains("\"d1\""), "{text}");
        assert!(!text.contains("secret-token"), "{text}");
    }
    let missing = {
        let mut request = Request::get("/api/deployments/nope")
            .body(Body::empty())
            .unwrap();
        request
            .extensions_mut()
            .insert(AwsPrincipal(MALLORY.into()));
        app.oneshot(request).await.unwrap()
    };
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_local_mount_trusts_its_header_and_defaults_to_its_user() {
    let world = control_world().await;
    let app = router(App {
        intake: None,
        control: Some(Control {
            deps: world.deps.clone(),
            auth: Arc::new(LocalTrusted {
                default_user: "mallory".into(),
            }),
            function: "control",
        }),
        slack: None,
        ui: None,
    });
    let refused = app
        .clone()
        .oneshot(action(r#"{"action":"approve"}"#, None))
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let mut as_alice = action(r#"{"action":"approve"}"#, None);
    as_alice.headers_mut().insert(
        "x-ferry-as",
        "arn:aws:iam::123456789012:role/deployers".parse().unwrap(),
    );
    let response = app.oneshot(as_alice).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn desired_states_are_listed_waiting_or_per_service_and_only_to_a_caller() {
    use ferry_core::convergence::{Desired, Push};
    let world = control_world().await;
    let push = |commit: &str| Push {
        branch: "main".into(),
        commit: commit.repeat(40),
        author: Some("alice".into()),
        delivery: None,
        seen_by: Some("webhook".into()),
        pushed_at: time::OffsetDateTime::UNIX_EPOCH,
    };
    let mut waiting = Desired::new("shop/web", "acme/shop", ".ferry/web.yaml", push("a"));
    world.store.put_desired(&mut waiting).await.unwrap();
    let mut deployed = Desired::new("shop/api", "acme/shop", ".ferry/api.yaml", push("b"));
    deployed.settle(1, Some("api-1"), time::OffsetDateTime::UNIX_EPOCH);
    world.store.put_desired(&mut deployed).await.unwrap();
    let app = iam_app(&world);
    let get = |path: &str, principal: Option<&str>| {
        let mut request = Request::get(path).body(Body::empty()).unwrap();
        if let Some(arn) = principal {
            request
                .extensions_mut()
                .insert(AwsPrincipal(arn.to_string()));
        }
        app.clone().oneshot(request)
    };

    let pending = json_of(get("/api/desired", Some(MALLORY)).await.unwrap()).await;
    let api = json_of(
        get("/api/desired?service=shop/api", Some(MALLORY))
            .await
            .unwrap(),
    )
    .await;
    let unknown = json_of(
        get("/api/desired?service=shop/none", Some(MALLORY))
            .await
            .unwrap(),
    )
    .await;
    let malformed = get("/api/desired?service=api", Some(MALLORY))
        .await
        .unwrap();
    let unsigned = get("/api/desired", None).await.unwrap();

    assert_eq!(pending.as_array().unwrap().len(), 1, "{pending}");
    assert_eq!(pending[0]["serviceKey"], "shop/web");
    assert_eq!(api[0]["settled"]["deploymentId"], "api-1");
    assert_eq!(unknown, json!([]));
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    assert_eq!(unsigned.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn slack_interactions_are_routed_only_when_configured_and_refused_unsigned() {
    let world = control_world().await;
    let interactions = Arc::new(ferry_slack::Interactions {
        deps: world.deps.clone(),
        signing_secret: b"slack-secret".to_vec(),
        slack: None,
        follow_up_inline: false,
    });
    let with_slack = router(App {
        intake: None,
        control: None,
        slack: Some(interactions),
        ui: None,
    });
    let body = b"payload=%7B%22type%22%3A%22view_submission%22%7D".to_vec();
    let stamp = time::OffsetDateTime::now_utc().unix_timestamp().to_string();
    let signature = format!(
        "v0={}",
        ferry_core::signing::sign_hex(b"slack-secret", &[b"v0:", stamp.as_bytes(), b":", &body])
    );
    let request = |signed: bool| {
        let mut request = Request::post("/slack/interactions")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-slack-request-timestamp", &stamp);
        if signed {
            request = request.header("x-slack-signature", &signature);
        }
        request.body(Body::from(body.clone())).unwrap()
    };

    let signed = with_slack.clone().oneshot(request(true)).await.unwrap();
    let unsigned = with_slack.oneshot(request(false)).await.unwrap();
    let without = router(App::default()).oneshot(request(true)).await.unwrap();

    assert_eq!(signed.status(), StatusCode::OK);
    assert_eq!(unsigned.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(without.status(), StatusCode::NOT_FOUND);
}

// ---------------------------------------------------------------------------------------------
// The web UI: pages, assets, its API, who it acts as, and cross-site requests

static TEST_ASSETS: &[Asset] = &[
    Asset {
        name: "index.html",
        content_type: "text/html; charset=utf-8",
        body: b"<!doctype html><title>Ferry</title>",
    },
    Asset {
        name: "app.js",
        content_type: "text/javascript; charset=utf-8",
        body: b"console.log('ferry')",
    },
];

/// The local mount as `ferry serve` has it: the webhook intake, the control API trusting this
/// machine's user `alice`, and the UI.
fn local_ui_app(world: &ControlWorld) -> Router {
    router(App {
        intake: Some(intake(Arc::new(MemoryEvents::new()))),
        control: Some(Control {
            deps: world.deps.clone(),
            auth: Arc::new(LocalTrusted {
                default_user: "alice".into(),
            }),
            function: "control",
        }),
        slack: None,
        ui: Some(Ui {
            assets: TEST_ASSETS,
        }),
    })
}

fn browser_get(path: &str) -> Request<Body> {
    Request::get(path)
        .header("host", "127.0.0.1:8080")
        .header("sec-fetch-mode", "cors")
        .header("sec-fetch-site", "same-origin")
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn every_page_path_serves_the_shell_and_assets_revalidate() {
    let world = control_world().await;
    let app = local_ui_app(&world);
    for path in ["/", "/deployments/d1", "/services/shop/web"] {
        let response = app.clone().oneshot(browser_get(path)).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let headers = response.headers();
        assert_eq!(headers["content-type"], "text/html; charset=utf-8");
        assert!(
            headers["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("script-src 'self'")
        );
        assert_eq!(headers["x-frame-options"], "DENY");
    }
    let script = app
        .clone()
        .oneshot(browser_get("/assets/app.js"))
        .await
        .unwrap();
    assert_eq!(script.status(), StatusCode::OK);
    assert_eq!(
        script.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert_eq!(script.headers()["x-content-type-options"], "nosniff");
    let etag = script.headers()["etag"].clone();
    let mut again = browser_get("/assets/app.js");
    again.headers_mut().insert("if-none-match", etag);
    let revalidated = app.clone().oneshot(again).await.unwrap();
    assert_eq!(revalidated.status(), StatusCode::NOT_MODIFIED);
    for missing in [
        "/assets/nope.js",
        "/assets/index.html",
        "/assets/..%2Fsecret",
    ] {
        let response = app.clone().oneshot(browser_get(missing)).await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{missing}");
    }
    // The webhook intake still answers at the root, beside the page.
    let events = Arc::new(MemoryEvents::new());
    let body = compact(PUSH_MAIN).into_bytes();
    let headers = signed_headers("serve-secret", "push", "d-ui", "application/json", &body);
    let posted = router(App {
        intake: Some(intake(events.clone())),
        ..local_ui_app_parts(&world)
    })
    .oneshot(post("/", body, headers))
    .await
    .unwrap();
    assert_eq!(posted.status(), StatusCode::ACCEPTED);
    assert_eq!(events.published().len(), 1);
}

fn local_ui_app_parts(world: &ControlWorld) -> App {
    App {
        intake: None,
        control: Some(Control {
            deps: world.deps.clone(),
            auth: Arc::new(LocalTrusted {
                default_user: "alice".into(),
            }),
            function: "control",
        }),
        slack: None,
        ui: Some(Ui {
            assets: TEST_ASSETS,
        }),
    }
}

#[tokio::test]
async fn the_ui_is_served_only_beside_the_control_api() {
    let app = router(App {
        intake: None,
        control: None,
        slack: None,
        ui: Some(Ui {
            assets: TEST_ASSETS,
        }),
    });
    let response = app.oneshot(browser_get("/")).await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_ui_reads_who_it_is_the_list_the_live_view_and_the_service() {
    let world = control_world().await;
    let app = local_ui_app(&world);
    let me = json_of(app.clone().oneshot(browser_get("/api/me")).await.unwrap()).await;
    assert_eq!(
        me,
        json!({"identity": "local:alice", "name": "alice", "via": "ui"})
    );

    let listed = json_of(
        app.clone()
            .oneshot(browser_get("/api/overview?status=awaiting-approval"))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(listed["deployments"][0]["id"], "d1");
    assert_eq!(listed["deployments"][0]["strategy"], "all at once");
    assert_eq!(listed["services"], json!(["shop/web"]));
    let none = json_of(
        app.clone()
            .oneshot(browser_get("/api/overview?status=succeeded"))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(none["deployments"], json!([]));
    let malformed = app
        .clone()
        .oneshot(browser_get("/api/overview?service=web"))
        .await
        .unwrap();
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);

    // The fakes have no listener `l` and no service: each part says so, the rest is shown.
    let live = json_of(
        app.clone()
            .oneshot(browser_get("/api/deployments/d1/live"))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(live["status"], "awaiting-approval");
    assert_eq!(live["actions"], json!(["approve", "reject", "rollback"]));
    assert!(
        live["weightsError"]
            .as_str()
            .unwrap()
            .contains("listener l")
    );
    assert!(live["taskSetsError"].is_string());
    assert_eq!(
        live["links"]["commit"],
        "https://github.com/acme/shop/commit/abc"
    );
    let gone = app
        .clone()
        .oneshot(browser_get("/api/deployments/nope/live"))
        .await
        .unwrap();
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);

    let service = json_of(
        app.clone()
            .oneshot(browser_get("/api/services/shop/web"))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(service["service"], "shop/web");
    assert_eq!(service["lastPlan"]["deploymentId"], "d1");
    assert!(service["currentError"].is_string());
    let unknown = app
        .oneshot(browser_get("/api/services/shop/nope"))
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
}

fn browser_action(body: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut request = Request::post("/api/deployments/d1/actions")
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    for (name, value) in headers {
        request.headers_mut().insert(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
    }
    request
}

#[tokio::test]
async fn a_page_elsewhere_cannot_act_or_read_through_the_local_server() {
    let world = control_world().await;
    let app = local_ui_app(&world);
    let approver = ("x-ferry-as", "arn:aws:iam::123456789012:role/deployers");
    let cases = [
        (
            "cross-site fetch",
            vec![
                ("host", "127.0.0.1:8080"),
                ("origin", "https://evil.example"),
                ("sec-fetch-site", "cross-site"),
                approver,
            ],
            StatusCode::FORBIDDEN,
        ),
        (
            "another origin, no fetch metadata",
            vec![
                ("host", "127.0.0.1:8080"),
                ("origin", "http://evil.example"),
                approver,
            ],
            StatusCode::FORBIDDEN,
        ),
        (
            "same site, another port",
            vec![
                ("host", "127.0.0.1:8080"),
                ("origin", "http://127.0.0.1:3000"),
                ("sec-fetch-site", "same-site"),
                approver,
            ],
            StatusCode::FORBIDDEN,
        ),
        (
            "DNS rebinding: the page's own name for 127.0.0.1",
            vec![
                ("host", "evil.example:8080"),
                ("origin", "http://evil.example:8080"),
                ("sec-fetch-site", "same-origin"),
                approver,
            ],
            StatusCode::UNAUTHORIZED,
        ),
    ];
    for (case, headers, status) in cases {
        let response = app
            .clone()
            .oneshot(browser_action(r#"{"action":"approve"}"#, &headers))
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{case}");
    }
    assert!(
        world.workflows.successes.lock().unwrap().is_empty(),
        "nothing was answered"
    );
    let rebound = app
        .clone()
        .oneshot(
            Request::get("/api/overview")
                .header("host", "evil.example")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(rebound.status(), StatusCode::UNAUTHORIZED);

    // Ferry's own page, as the browser sends it: acted on, recorded as the web UI.
    let response = app
        .oneshot(browser_action(
            r#"{"action":"approve"}"#,
            &[
                ("host", "localhost:8080"),
                ("origin", "http://localhost:8080"),
                ("sec-fetch-site", "same-origin"),
                ("sec-fetch-mode", "cors"),
                approver,
            ],
        ))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let record = world.store.get("d1").await.unwrap().unwrap();
    let answered = record.pending_token.unwrap().answered.unwrap();
    assert_eq!(answered.by.via, ferry_core::control::Channel::Ui);
}
