//! Ferry's Slack messages and buttons against a local stand-in of Slack's Web API (wiremock on
//! 127.0.0.1), with requests signed exactly as Slack signs them.

use std::sync::Arc;

use ferry_core::Deployment;
use ferry_core::lifecycle::Event;
use ferry_core::ports::{DeploymentStore, Notifier, SystemClock, ThreadRef, ThreadStore};
use ferry_core::signing::sign_hex;
use ferry_handlers::{Deps, LogNotifier, NoGitSource, Settings};
use ferry_slack::blocks::{self, actions};
use ferry_slack::{Interactions, SlackApi, SlackNotifier};
use ferry_testing::memory::{MemoryAlarms, MemoryAlb, MemoryEcs, MemoryStore, MemoryWorkflows};
use serde_json::{Value, json};
use time::OffsetDateTime;
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
const APPROVER: &str = "U0APPROVER";

/// A deployment of shop/web waiting for an approval only U0APPROVER may give, notifying C0SHOP.
fn waiting() -> Deployment {
    serde_json::from_value(json!({
        "id": "web-1", "service": "web", "cluster": "shop",
        "source": {"repository": "acme/shop", "commit": "3f9c2e1a7b5d4c3e2f1a0b9c8d7e6f5a4b3c2d1e",
                   "manifestPath": ".ferry/web.yaml", "author": "alice"},
        "status": {"state": "awaitingApproval", "step": 0},
        "plan": {"steps": [{"weight": 10, "bakeSeconds": 300, "approve": true}, {"weight": 100, "bakeSeconds": 0, "approve": false}]},
        "policy": {"alarms": ["web-5xx"], "rollbackOnAlarm": true, "keepOldForSeconds": 0,
                   "approvers": [APPROVER], "approvalTimeoutSeconds": 3600, "onApprovalTimeout": "rollback",
                   "slackChannel": "C0SHOP"},
        "traffic": {"listenerArn": "l"}, "blueTargetGroup": "b", "greenTargetGroup": "g",
        "taskDefinition": {}, "containerName": "web", "containerPort": 80, "greenWeight": 0,
        "pendingToken": {"kind": "approval", "step": 0, "token": "secret-token", "since": "2026-11-22T10:00:00Z"},
        "history": [], "createdAt": "2026-11-22T10:00:00Z", "updatedAt": "2026-11-22T10:00:00Z",
        "version": 0
    }))
    .unwrap()
}

struct World {
    slack: MockServer,
    store: Arc<MemoryStore>,
    workflows: Arc<MemoryWorkflows>,
    interactions: Arc<Interactions>,
    notifier: SlackNotifier,
}

async fn world() -> World {
    let slack = MockServer::start().await;
    for (method_name, answer) in [
        (
            "chat.postMessage",
            json!({"ok": true, "ts": "1700000000.000100", "channel": "C0SHOP"}),
        ),
        ("chat.update", json!({"ok": true})),
        ("chat.postEphemeral", json!({"ok": true})),
    ] {
        Mock::given(method("POST"))
            .and(path(format!("/api/{method_name}")))
            .and(header("authorization", "Bearer xoxb-test"))
            .respond_with(ResponseTemplate::new(200).set_body_json(answer))
            .mount(&slack)
            .await;
    }
    Mock::given(method("POST"))
        .and(path("/respond"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&slack)
        .await;
    let store = Arc::new(MemoryStore::new());
    store.create(&waiting()).await.unwrap();
    let workflows = Arc::new(MemoryWorkflows::new());
    let api = SlackApi::new(&format!("{}/api", slack.uri()), "xoxb-test").unwrap();
    let notifier = SlackNotifier {
        api,
        threads: store.clone(),
    };
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
    let interactions = Arc::new(Interactions {
        deps,
        signing_secret: SECRET.as_bytes().to_vec(),
        slack: Some(notifier.clone()),
        follow_up_inline: false,
    });
    World {
        slack,
        store,
        workflows,
        interactions,
        notifier,
    }
}

/// A click on `action_id` for web-1 by `user`, form-encoded as Slack posts it.
fn click(user: &str, action_id: &str, response_url: &str) -> Vec<u8> {
    let payload = json!({
        "type": "block_actions",
        "user": {"id": user, "username": "someone", "team_id": "T0SHOP"},
        "api_app_id": "A0FERRY",
        "token": "deprecated-verification-token",
        "container": {"type": "message", "message_ts": "1700000000.000100", "channel_id": "C0SHOP", "is_ephemeral": false},
        "trigger_id": "13345224609.738474920.8088930838d88f008e0",
        "team": {"id": "T0SHOP", "domain": "shop"},
        "channel": {"id": "C0SHOP", "name": "deploys"},
        "response_url": response_url,
        "actions": [{"action_id": action_id, "block_id": "ferry_actions", "text": {"type": "plain_text", "text": "Approve"},
                     "value": "web-1", "type": "button", "action_ts": "1700000001.000200"}]
    });
    form_urlencoded::Serializer::new(String::new())
        .append_pair("payload", &payload.to_string())
        .finish()
        .into_bytes()
}

fn signature(secret: &str, timestamp: &str, body: &[u8]) -> String {
    format!(
        "v0={}",
        sign_hex(
            secret.as_bytes(),
            &[b"v0:", timestamp.as_bytes(), b":", body]
        )
    )
}

async fn post(world: &World, body: &[u8], timestamp: i64, secret: &str) -> (u16, Option<()>) {
    let now = OffsetDateTime::now_utc();
    let stamp = timestamp.to_string();
    let handled = world
        .interactions
        .handle(
            Some(&stamp),
            Some(&signature(secret, &stamp, body)),
            body,
            now,
        )
        .await;
    let followed = match handled.follow_up {
        Some(follow_up) => {
            follow_up.await;
            Some(())
        }
        None => None,
    };
    (handled.status, followed)
}

async fn requests_to(world: &World, to: &str) -> Vec<Value> {
    world
        .slack
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|request| request.url.path() == to)
        .map(|request| serde_json::from_slice(&request.body).unwrap_or(Value::Null))
        .collect()
}

fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

#[test]
fn the_buttons_say_exactly_what_they_do_and_every_message_is_within_slacks_limits() {
    let mut deployment = waiting();
    let texts = |message: &blocks::Message| -> Vec<String> {
        message
            .blocks
            .iter()
            .filter(|block| block["type"] == "actions")
            .flat_map(|block| block["elements"].as_array().cloned().unwrap_or_default())
            .map(|button| button["text"]["text"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(texts(&blocks::parent(&deployment)), ["Approve", "Reject"]);
    deployment.status = ferry_core::DeploymentStatus::Baking { step: 0 };
    deployment.green_weight = 10;
    assert_eq!(texts(&blocks::parent(&deployment)), ["Roll back"]);
    deployment.status = ferry_core::DeploymentStatus::Holding { step: 0 };
    assert_eq!(
        texts(&blocks::parent(&deployment)),
        ["Promote", "Roll back"]
    );
    deployment.status = ferry_core::DeploymentStatus::RolledBack;
    deployment.reason = Some("x".repeat(10_000));
    deployment.source.author = Some("y".repeat(5_000));
    let ended = blocks::parent(&deployment);
    assert!(texts(&ended).is_empty(), "no buttons once it ended");
    blocks::check_limits(&ended).unwrap();
    let reply = blocks::reply(
        &deployment,
        &Event::RolledBack {
            reason: "z".repeat(9_000),
        },
    )
    .unwrap();
    blocks::check_limits(&reply).unwrap();
    // Merely waiting posts nothing.
    assert!(
        blocks::reply(
            &deployment,
            &Event::Baking {
                step: 0,
                seconds: 300
            }
        )
        .is_none()
    );
}

#[tokio::test]
async fn a_deployment_gets_one_parent_message_kept_current_and_replies_only_for_what_matters() {
    let world = world().await;
    let mut deployment = waiting();
    deployment.status = ferry_core::DeploymentStatus::Pending;
    deployment.pending_token = None;
    let events = [
        Event::Planned {
            manifest_path: ".ferry/web.yaml".into(),
            commit: deployment.source.commit.clone(),
            author: Some("alice".into()),
            steps: 2,
        },
        Event::Baking {
            step: 0,
            seconds: 300,
        },
        Event::Shifted {
            step: 0,
            weight: 10,
            of: 2,
        },
        Event::Succeeded {
            task_definition: "arn:td:2".into(),
            duration_seconds: 420,
        },
    ];
    for event in &events {
        world.notifier.notify(&deployment, event).await.unwrap();
    }

    let posted = requests_to(&world, "/api/chat.postMessage").await;
    let updated = requests_to(&world, "/api/chat.update").await;
    assert_eq!(
        posted.len(),
        3,
        "the parent, then replies for the shift and the success: {posted:#?}"
    );
    assert!(posted[0].get("thread_ts").is_none());
    assert!(
        posted[1..]
            .iter()
            .all(|reply| reply["thread_ts"] == "1700000000.000100")
    );
    assert_eq!(
        updated.len(),
        3,
        "the parent kept current after the first event"
    );
    assert!(
        updated
            .iter()
            .all(|update| update["ts"] == "1700000000.000100" && update["channel"] == "C0SHOP")
    );
    assert_eq!(
        world.store.get_thread("web-1").await.unwrap(),
        Some(ThreadRef {
            channel: "C0SHOP".into(),
            ts: "1700000000.000100".into()
        })
    );
}

#[tokio::test]
async fn an_approver_click_approves_and_the_buttons_give_way_to_who_did_it() {
    let world = world().await;
    let response_url = format!("{}/respond", world.slack.uri());

    let (status, _) = post(
        &world,
        &click(APPROVER, actions::APPROVE, &response_url),
        now(),
        SECRET,
    )
    .await;

    assert_eq!(status, 200);
    assert_eq!(
        world.workflows.successes.lock().unwrap().len(),
        1,
        "the wait was answered"
    );
    let updated = requests_to(&world, "/api/chat.update").await;
    let text = updated.last().unwrap().to_string();
    assert!(
        text.contains(&format!("approved by <@{APPROVER}>")),
        "{text}"
    );
    assert!(
        !text.contains("ferry_approve"),
        "the buttons are gone: {text}"
    );
}

#[tokio::test]
async fn a_non_approver_is_told_only_them_and_nothing_changes() {
    let world = world().await;
    let response_url = format!("{}/respond", world.slack.uri());

    let (status, _) = post(
        &world,
        &click("U0MALLORY", actions::APPROVE, &response_url),
        now(),
        SECRET,
    )
    .await;

    assert_eq!(status, 200);
    assert!(world.workflows.successes.lock().unwrap().is_empty());
    let told = requests_to(&world, "/respond").await;
    assert_eq!(told.len(), 1);
    assert_eq!(told[0]["response_type"], "ephemeral");
    assert!(
        told[0]["text"].as_str().unwrap().contains("approver"),
        "{}",
        told[0]
    );
    let record = world.store.get("web-1").await.unwrap().unwrap();
    assert!(record.pending_token.unwrap().answered.is_none());
}

#[tokio::test]
async fn a_second_click_on_a_decided_request_says_who_decided_and_changes_nothing() {
    let world = world().await;
    let response_url = format!("{}/respond", world.slack.uri());
    post(
        &world,
        &click(APPROVER, actions::APPROVE, &response_url),
        now(),
        SECRET,
    )
    .await;

    let (status, _) = post(
        &world,
        &click(APPROVER, actions::REJECT, &response_url),
        now(),
        SECRET,
    )
    .await;

    assert_eq!(status, 200);
    assert_eq!(world.workflows.successes.lock().unwrap().len(), 1);
    assert!(world.workflows.failures.lock().unwrap().is_empty());
    let told = requests_to(&world, "/respond").await;
    assert!(
        told.last().unwrap()["text"]
            .as_str()
            .unwrap()
            .contains("already"),
        "{told:?}"
    );
}

#[tokio::test]
async fn anyone_may_roll_back_and_the_record_says_who() {
    let world = world().await;
    let response_url = format!("{}/respond", world.slack.uri());

    let (status, _) = post(
        &world,
        &click("U0ONCALL", actions::ROLLBACK, &response_url),
        now(),
        SECRET,
    )
    .await;

    assert_eq!(status, 200);
    let failures = world.workflows.failures.lock().unwrap().clone();
    assert_eq!(
        failures.len(),
        1,
        "the wait fails with Aborted: the workflow rolls back"
    );
    // The wait was failed (Aborted): its Answered event tells who (the handler's
    // notification); the click adds no second reply, and the record says who.
    let posted = requests_to(&world, "/api/chat.postMessage").await;
    assert!(
        !posted
            .iter()
            .any(|reply| reply["text"].as_str().unwrap().contains("from Slack")),
        "{posted:#?}"
    );
    let record = world.store.get("web-1").await.unwrap().unwrap();
    let answered = record.pending_token.unwrap().answered.unwrap();
    assert_eq!(
        answered.by.identity,
        ferry_core::control::Identity::Slack("U0ONCALL".into())
    );
    let updated = requests_to(&world, "/api/chat.update").await;
    assert!(
        updated
            .last()
            .unwrap()
            .to_string()
            .contains("rolled back by <@U0ONCALL>")
    );
}

#[tokio::test]
async fn unsigned_tampered_stale_or_future_requests_are_refused_and_change_nothing() {
    let world = world().await;
    let response_url = format!("{}/respond", world.slack.uri());
    let body = click(APPROVER, actions::APPROVE, &response_url);
    let stamp = now().to_string();
    let good = signature(SECRET, &stamp, &body);
    let mut tampered = body.clone();
    tampered.extend_from_slice(b"&extra=1");
    let at = OffsetDateTime::now_utc();
    // (case, X-Slack-Request-Timestamp, X-Slack-Signature, body)
    type Case<'a> = (&'a str, Option<String>, Option<String>, Vec<u8>);
    let cases: Vec<Case> = vec![
        ("missing timestamp", None, Some(good.clone()), body.clone()),
        ("missing signature", Some(stamp.clone()), None, body.clone()),
        (
            "tampered body",
            Some(stamp.clone()),
            Some(good.clone()),
            tampered,
        ),
        (
            "wrong secret",
            Some(stamp.clone()),
            Some(signature("another-secret", &stamp, &body)),
            body.clone(),
        ),
        (
            "not v0",
            Some(stamp.clone()),
            Some(good.replace("v0=", "v1=")),
            body.clone(),
        ),
    ];
    for (case, timestamp, signature_header, request) in cases {
        let handled = world
            .interactions
            .handle(
                timestamp.as_deref(),
                signature_header.as_deref(),
                &request,
                at,
            )
            .await;
        assert_eq!(handled.status, 401, "{case}");
        assert!(handled.follow_up.is_none(), "{case}");
    }
    for skew in [-301, 301] {
        let (status, followed) = post(&world, &body, now() + skew, SECRET).await;
        assert_eq!(status, 401, "{skew} s away");
        assert!(followed.is_none());
    }
    assert!(world.workflows.successes.lock().unwrap().is_empty());
    assert!(
        world
            .slack
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty()
    );
}

#[tokio::test]
async fn slack_rate_limiting_is_waited_out_briefly_and_never_for_long() {
    let slack = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/chat.update"))
        .and(body_partial_json(json!({"ts": "1.1"})))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .mount(&slack)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/chat.update"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true})))
        .mount(&slack)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "30"))
        .mount(&slack)
        .await;
    let api = SlackApi::new(&format!("{}/api", slack.uri()), "xoxb-test").unwrap();
    let message = blocks::parent(&waiting());

    api.update("C0SHOP", "1.1", &message).await.unwrap();
    let started = std::time::Instant::now();
    let refused = api.post_message("C0SHOP", None, &message).await;

    assert!(refused.is_err());
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "30 s is not waited for"
    );
}

/// In Lambda the bot token is read from Secrets Manager once, and only when a deployment with
/// a Slack channel is notified: a function that notifies nobody in Slack never reads it.
#[tokio::test]
async fn the_lambda_notifier_reads_the_token_once_and_only_for_deployments_with_a_channel() {
    use ferry_slack::LazySlackNotifier;
    use ferry_testing::memory::MemorySecrets;

    let world = world().await;
    let secrets = Arc::new(MemorySecrets::new());
    secrets.put(
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ferry/slack/bot-token",
        "xoxb-test\n",
    );
    let lazy = LazySlackNotifier::new(
        secrets.clone(),
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ferry/slack/bot-token",
        &format!("{}/api", world.slack.uri()),
        world.store.clone(),
    );
    let mut quiet = waiting();
    quiet.policy.slack_channel = None;
    let shifted = Event::Shifted {
        step: 0,
        weight: 10,
        of: 2,
    };

    lazy.notify(&quiet, &shifted).await.unwrap();
    assert_eq!(secrets.reads(), 0, "no channel: no secret read");
    lazy.notify(&waiting(), &shifted).await.unwrap();
    lazy.notify(&waiting(), &shifted).await.unwrap();

    assert_eq!(secrets.reads(), 1);
    assert_eq!(
        requests_to(&world, "/api/chat.postMessage").await.len(),
        3,
        "a parent, two replies"
    );
}

/// A holding deployment has no wait to fail: the traffic workflow rolls it back, and the thread
/// says who asked for it (once: no Answered event tells it).
#[tokio::test]
async fn a_rollback_through_the_traffic_workflow_is_said_in_the_thread_once() {
    let world = world().await;
    let mut holding = world.store.get("web-1").await.unwrap().unwrap();
    holding.status = ferry_core::DeploymentStatus::Holding { step: 0 };
    holding.pending_token = None;
    holding.green_weight = 10;
    world.store.update(&mut holding).await.unwrap();
    let response_url = format!("{}/respond", world.slack.uri());

    let (status, _) = post(
        &world,
        &click("U0ONCALL", actions::ROLLBACK, &response_url),
        now(),
        SECRET,
    )
    .await;

    assert_eq!(status, 200);
    assert_eq!(
        world
            .workflows
            .names(ferry_core::ports::Workflow::Traffic)
            .len(),
        1
    );
    let said: Vec<Value> = requests_to(&world, "/api/chat.postMessage")
        .await
        .into_iter()
        .filter(|reply| {
            reply["text"]
                .as_str()
                .unwrap()
                .contains("<@U0ONCALL> rolled shop/web back from Slack")
        })
        .collect();
    assert_eq!(said.len(), 1, "{said:#?}");
    assert!(said[0]["thread_ts"].is_string());
}

/// An alarm's rollback is told with the alarm and its state reason; a Slack that hangs is given
/// up on within the notification budget, so the deployment is not held up.
#[tokio::test]
async fn an_alarm_rollback_names_the_alarm_and_a_hanging_slack_is_given_up_on() {
    let world = world().await;
    let mut deployment = waiting();
    deployment.status = ferry_core::DeploymentStatus::RolledBack;
    deployment.pending_token = None;
    let cause = "AlarmBreached: alarm web-5xx: Threshold Crossed: 42 5xx responses in 1 minute";
    world
        .notifier
        .notify(
            &deployment,
            &Event::RolledBack {
                reason: cause.into(),
            },
        )
        .await
        .unwrap();
    let posted = requests_to(&world, "/api/chat.postMessage").await;
    assert!(
        posted.iter().any(|reply| reply["thread_ts"].is_string()
            && reply["text"]
                .as_str()
                .unwrap()
                .contains("web-5xx: Threshold Crossed")),
        "{posted:#?}"
    );

    let hanging = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(std::time::Duration::from_secs(30)))
        .mount(&hanging)
        .await;
    let slow = SlackNotifier {
        api: SlackApi::new(&format!("{}/api", hanging.uri()), "xoxb-test").unwrap(),
        threads: Arc::new(MemoryStore::new()),
    };
    let started = std::time::Instant::now();
    let result = slow
        .notify(
            &deployment,
            &Event::RolledBack {
                reason: cause.into(),
            },
        )
        .await;
    assert!(result.is_err());
    assert!(
        started.elapsed()
            <= ferry_slack::notifier::NOTIFY_BUDGET + std::time::Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
}
