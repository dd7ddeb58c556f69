//! The intake against the in-memory ports, with GitHub's payload shapes.

use std::sync::Arc;

use async_trait::async_trait;
use ferry_core::events::{PullRequestDetail, WebhookPushDetail};
use ferry_core::ports::{BusEvent, EventPublisher, PortError, PortResult};
use ferry_testing::memory::{FakeClock, MemoryArchive, MemoryDeliveryLog, MemoryEvents};
use http::HeaderMap;
use time::macros::datetime;

use crate::fixtures::{self, compact, signed_headers};
use crate::inspect::{MAX_BODY_BYTES, Publication, Refusal, Verdict, inspect};
use crate::relevance::Relevance;
use crate::signature::SignatureError;
use crate::{Intake, IntakeSettings, WebhookSecret};

const SECRET: &str = "shh";
const JSON: &str = "application/json";
const FORM: &str = "application/x-www-form-urlencoded";

fn signed(event: &str, payload: &str) -> (HeaderMap, Vec<u8>) {
    let body = compact(payload).into_bytes();
    (
        signed_headers(SECRET, event, "delivery-1", JSON, &body),
        body,
    )
}

fn verdict(event: &str, payload: &str) -> Verdict {
    let (headers, body) = signed(event, payload);
    inspect(SECRET.as_bytes(), &headers, &body, &Relevance::default())
        .unwrap()
        .verdict
}

fn published_push(verdict: Verdict) -> WebhookPushDetail {
    match verdict {
        Verdict::Publish(Publication::Push(detail)) => *detail,
        other => panic!("expected a push to publish, got {other:?}"),
    }
}

fn published_pull_request(verdict: Verdict) -> PullRequestDetail {
    match verdict {
        Verdict::Publish(Publication::PullRequest(detail)) => *detail,
        other => panic!("expected a pull request to publish, got {other:?}"),
    }
}

fn ignored(verdict: Verdict) -> String {
    match verdict {
        Verdict::Ignored(reason) => reason,
        other => panic!("expected an ignored event, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// inspect: verify, decode, classify

#[test]
fn paths_with_json_escapes_are_decoded_like_plain_ones() {
    let mut payload: serde_json::Value = serde_json::from_str(fixtures::PUSH_MAIN).unwrap();
    payload["commits"][0]["modified"] =
        serde_json::json!(["ecs/café \"web\".json", "ecs/api.json"]);
    // `compact` re-serialises, which would undo the escapes: write the body by hand.
    let text = payload.to_string().replace(
        "ecs/café \\\"web\\\".json",
        "ecs/caf\\u00e9 \\\"web\\\".json",
    );
    assert!(text.contains("caf\\u00e9"), "{text}");
    let body = text.into_bytes();
    let headers = signed_headers(SECRET, "push", "delivery-1", JSON, &body);
    let detail = published_push(
        inspect(SECRET.as_bytes(), &headers, &body, &Relevance::default())
            .unwrap()
            .verdict,
    );
    let paths = detail.push.changed_paths.unwrap();
    assert!(
        paths.contains(&"ecs/café \"web\".json".to_string()),
        "{paths:?}"
    );
    assert!(paths.contains(&"ecs/api.json".to_string()), "{paths:?}");
}

#[test]
fn a_push_to_main_that_changes_a_manifest_is_published_with_what_the_workflows_need() {
    let detail = published_push(verdict("push", fixtures::PUSH_MAIN));
    assert_eq!(detail.push.repository, "acme/shop");
    assert_eq!(detail.push.git_ref, "refs/heads/main");
    assert_eq!(detail.push.branch, "main");
    assert_eq!(
        detail.push.before,
        "9a3f4e2b1c0d8e7f6a5b4c3d2e1f0a9b8c7d6e5f"
    );
    assert_eq!(
        detail.push.after,
        "3f9c2e1b8a7d6c5e4f3a2b1c0d9e8f7a6b5c4d3e"
    );
    assert_eq!(detail.commit, detail.push.after);
    assert_eq!(
        detail.push.changed_paths.as_deref().unwrap(),
        [
            ".ferry/web.yaml",
            "ecs/web.json",
            "web/Cargo.toml",
            "web/src/checkout.rs",
            "web/src/main.rs"
        ]
    );
    assert_eq!(detail.push.pusher.as_deref(), Some("alice"));
    assert_eq!(detail.push.seen_by.as_deref(), Some("webhook"));
    assert_eq!(detail.author.as_deref(), Some("alice"));
    assert_eq!(detail.clone_url, "https://github.com/acme/shop.git");
    assert_eq!(detail.default_branch, "main");
    assert!(
        detail
            .head_commit_message
            .unwrap()
            .starts_with("Deploy web with canary 10%")
    );
    assert_eq!(detail.delivery_id.as_deref(), Some("delivery-1"));
    assert!(!detail.paths_truncated);
}

#[test]
fn a_push_that_changes_no_manifest_and_no_json_is_ignored_cheaply() {
    let reason = ignored(verdict("push", fixtures::PUSH_DOCS_ONLY));
    assert!(reason.contains("none of the 2 changed paths"), "{reason}");
    assert!(reason.contains("FERRY_WATCH_PATHS"), "{reason}");
}

#[test]
fn tags_branch_deletions_and_untracked_branches_are_ignored_with_the_reason() {
    assert!(
        ignored(verdict("push", fixtures::PUSH_TAG)).contains("refs/tags/v1.4.0 is not a branch")
    );
    assert!(ignored(verdict("push", fixtures::PUSH_BRANCH_DELETED)).contains("was deleted"));
    let reason = ignored(verdict("push", fixtures::PUSH_FEATURE_BRANCH));
    assert!(
        reason.contains("branch canary-checkout is not tracked"),
        "{reason}"
    );
}

#[test]
fn a_push_whose_paths_are_unknown_is_published_with_no_path_list() {
    let mut payload: serde_json::Value = serde_json::from_str(fixtures::PUSH_MAIN).unwrap();
    payload["commits"] = serde_json::json!([]);
    payload["forced"] = true.into();
    let detail = published_push(verdict("push", &payload.to_string()));
    assert_eq!(detail.push.changed_paths, None);
    assert!(detail.forced);
}

#[test]
fn pull_requests_opened_synchronized_and_closed_are_published() {
    let opened = published_pull_request(verdict("pull_request", fixtures::PULL_REQUEST_OPENED));
    assert_eq!(opened.repository, "acme/shop");
    assert_eq!(opened.number, 42);
    assert_eq!(opened.action, "opened");
    assert_eq!(opened.head_sha, "7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a0f9e8d");
    assert_eq!(opened.commit, opened.head_sha);
    assert_eq!(opened.head_ref, "canary-checkout");
    assert_eq!(opened.base_ref, "main");
    assert_eq!(opened.head_repository.as_deref(), Some("acme/shop"));
    assert_eq!(opened.author.as_deref(), Some("bob"));
    assert!(!opened.merged);
    let synchronized =
        published_pull_request(verdict("pull_request", fixtures::PULL_REQUEST_SYNCHRONIZE));
    assert_eq!(synchronized.action, "synchronize");
    let closed = published_pull_request(verdict("pull_request", fixtures::PULL_REQUEST_CLOSED));
    assert_eq!(closed.action, "closed");
    assert!(closed.merged);
}

#[test]
fn other_pull_request_actions_and_other_events_are_ignored_with_the_reason() {
    let labeled = ignored(verdict("pull_request", fixtures::PULL_REQUEST_LABELED));
    assert!(
        labeled.contains("action labeled is not one Ferry acts on"),
        "{labeled}"
    );
    let issues = ignored(verdict("issues", fixtures::ISSUES_OPENED));
    assert_eq!(
        issues,
        "event issues (opened) is not one Ferry acts on (push, pull_request, ping)"
    );
}

#[test]
fn a_ping_is_answered_with_its_zen() {
    assert_eq!(
        verdict("ping", fixtures::PING),
        Verdict::Ping {
            zen: Some("Design for failure.".into()),
            hook_id: Some(480213377)
        }
    );
}

#[test]
fn a_form_encoded_body_carries_the_payload_in_its_payload_field() {
    let json = compact(fixtures::PUSH_MAIN);
    let body: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("payload", &json)
        .finish();
    let headers = signed_headers(SECRET, "push", "d", FORM, body.as_bytes());
    let inspection = inspect(
        SECRET.as_bytes(),
        &headers,
        body.as_bytes(),
        &Relevance::default(),
    )
    .unwrap();
    assert_eq!(&*inspection.payload, json.as_bytes());
    published_push(inspection.verdict);
}

#[test]
fn the_signature_is_checked_before_the_body_is_read() {
    // Garbage that would be a 400 if it were parsed: with a wrong signature it is a 401.
    let body = b"{ this is not json";
    let mut headers = signed_headers(SECRET, "push", "d", JSON, body);
    headers.insert(
        "x-hub-signature-256",
        crate::signature::sign(b"other secret", body)
            .parse()
            .unwrap(),
    );
    let refusal = inspect(SECRET.as_bytes(), &headers, body, &Relevance::default()).unwrap_err();
    assert_eq!(refusal, Refusal::Signature(SignatureError::Mismatch));
    assert_eq!(refusal.status(), 401);
    headers.remove("x-hub-signature-256");
    let refusal = inspect(SECRET.as_bytes(), &headers, body, &Relevance::default()).unwrap_err();
    assert_eq!(refusal, Refusal::Signature(SignatureError::Missing));
}

#[test]
fn a_tampered_body_is_refused_with_401() {
    let (headers, mut body) = signed("push", fixtures::PUSH_MAIN);
    let at = body.len() / 2;
    body[at] ^= 1;
    let refusal = inspect(SECRET.as_bytes(), &headers, &body, &Relevance::default()).unwrap_err();
    assert_eq!(refusal.status(), 401);
}

#[test]
fn a_signed_but_malformed_body_is_refused_with_400_naming_the_problem() {
    for (content_type, body) in [
        (JSON, "{\"ref\": \"refs/heads/main\""),
        (JSON, "{\"ref\": \"refs/heads/main\"}"),
        (FORM, "other=1"),
    ] {
        let headers = signed_headers(SECRET, "push", "d", content_type, body.as_bytes());
        let refusal = inspect(
            SECRET.as_bytes(),
            &headers,
            body.as_bytes(),
            &Relevance::default(),
        )
        .unwrap_err();
        assert_eq!(refusal.status(), 400, "{body}: {refusal}");
    }
    let headers = signed_headers(SECRET, "push", "d", JSON, b"{}");
    let refusal = inspect(SECRET.as_bytes(), &headers, b"{}", &Relevance::default()).unwrap_err();
    assert!(
        refusal
            .to_string()
            .starts_with("the push payload is not what GitHub sends: missing field"),
        "{refusal}"
    );
}

#[test]
fn a_content_type_github_does_not_send_is_refused_with_415() {
    let headers = signed_headers(SECRET, "push", "d", "text/plain", b"{}");
    let refusal = inspect(SECRET.as_bytes(), &headers, b"{}", &Relevance::default()).unwrap_err();
    assert_eq!(refusal.status(), 415);
}

#[test]
fn a_request_without_an_event_header_is_not_a_webhook() {
    let (mut headers, body) = signed("push", fixtures::PUSH_MAIN);
    headers.remove("x-github-event");
    let refusal = inspect(SECRET.as_bytes(), &headers, &body, &Relevance::default()).unwrap_err();
    assert_eq!(refusal, Refusal::MissingHeader("X-GitHub-Event"));
}

#[test]
fn a_push_without_a_delivery_id_cannot_be_deduplicated_and_is_refused() {
    let (mut headers, body) = signed("push", fixtures::PUSH_MAIN);
    headers.remove("x-github-delivery");
    let refusal = inspect(SECRET.as_bytes(), &headers, &body, &Relevance::default()).unwrap_err();
    assert_eq!(refusal, Refusal::MissingHeader("X-GitHub-Delivery"));
}

#[test]
fn a_body_over_25_megabytes_is_refused_with_413_before_hashing() {
    let body = vec![b' '; MAX_BODY_BYTES + 1];
    let refusal = inspect(
        SECRET.as_bytes(),
        &HeaderMap::new(),
        &body,
        &Relevance::default(),
    )
    .unwrap_err();
    assert_eq!(refusal.status(), 413);
}

#[test]
fn the_sample_events_are_signed_with_the_sample_secret_and_carry_the_fixtures() {
    let sample: serde_json::Value =
        serde_json::from_str(include_str!("../../../events/webhook-intake/push.json")).unwrap();
    let body = sample["body"].as_str().unwrap();
    let header = sample["headers"]["x-hub-signature-256"].as_str().unwrap();
    assert_eq!(
        crate::signature::verify(
            fixtures::SAMPLE_SECRET.as_bytes(),
            Some(header.as_bytes()),
            body.as_bytes()
        ),
        Ok(())
    );
    let payload: serde_json::Value = serde_json::from_str(body).unwrap();
    let fixture: serde_json::Value = serde_json::from_str(fixtures::PUSH_MAIN).unwrap();
    assert_eq!(payload, fixture);
}

#[test]
fn a_realistic_push_of_25_kilobytes_is_about_that_size() {
    let body = fixtures::push_with_commits(fixtures::COMMITS_IN_25_KB);
    assert!((24_000..=28_000).contains(&body.len()), "{}", body.len());
    let headers = signed_headers(SECRET, "push", "d", JSON, body.as_bytes());
    let detail = published_push(
        inspect(
            SECRET.as_bytes(),
            &headers,
            body.as_bytes(),
            &Relevance::default(),
        )
        .unwrap()
        .verdict,
    );
    assert!(detail.push.changed_paths.unwrap().len() > 30);
}

// ---------------------------------------------------------------------------------------------
// Intake: de-duplication, publishing, archive

struct World {
    intake: Intake,
    deliveries: Arc<MemoryDeliveryLog>,
    events: Arc<MemoryEvents>,
    archive: Arc<MemoryArchive>,
}

/// The intake over in-memory ports; a test that needs another bus or delivery log puts it in
/// `world.intake`.
fn world_with(settings: IntakeSettings) -> World {
    let deliveries = Arc::new(MemoryDeliveryLog::new());
    let archive = Arc::new(MemoryArchive::new());
    let events = Arc::new(MemoryEvents::new());
    World {
        intake: Intake {
            secret: WebhookSecret::fixed(SECRET),
            deliveries: deliveries.clone(),
            events: events.clone(),
            archive: Some(archive.clone()),
            clock: Arc::new(FakeClock::at(datetime!(2026-11-22 10:15:00 UTC))),
            settings,
        },
        deliveries,
        events,
        archive,
    }
}

fn world() -> World {
    world_with(IntakeSettings::default())
}

#[tokio::test]
async fn an_accepted_push_puts_one_event_on_the_bus_and_answers_202() {
    let world = world();
    let (headers, body) = signed("push", fixtures::PUSH_MAIN);
    let response = world.intake.handle(&headers, &body).await;
    assert_eq!(response.status, 202, "{}", response.body);
    assert_eq!(response.outcome(), "accepted");
    let published = world.events.published();
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].source, "ferry.github");
    assert_eq!(published[0].detail_type, "push");
    assert_eq!(published[0].detail["repository"], "acme/shop");
    assert_eq!(world.deliveries.recorded(), ["delivery-1"]);
}

#[tokio::test]
async fn a_redelivery_answers_duplicate_and_emits_nothing() {
    let world = world();
    let (headers, body) = signed("push", fixtures::PUSH_MAIN);
    assert_eq!(world.intake.handle(&headers, &body).await.status, 202);
    let again = world.intake.handle(&headers, &body).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.outcome(), "duplicate");
    assert_eq!(world.events.published().len(), 1);
}

#[tokio::test]
async fn ignored_events_and_pings_record_nothing_and_emit_nothing() {
    let world = world();
    for (event, payload) in [
        ("issues", fixtures::ISSUES_OPENED),
        ("ping", fixtures::PING),
        ("push", fixtures::PUSH_DOCS_ONLY),
    ] {
        let (headers, body) = signed(event, payload);
        let response = world.intake.handle(&headers, &body).await;
        assert_eq!(response.status, 200, "{event}: {}", response.body);
    }
    assert!(world.events.published().is_empty());
    assert!(world.deliveries.recorded().is_empty());
}

#[tokio::test]
async fn a_push_too_big_for_eventbridge_keeps_its_payload_in_the_archive_and_says_so() {
    let settings = IntakeSettings {
        max_entry_bytes: 512,
        ..IntakeSettings::default()
    };
    let world = world_with(settings);
    let (headers, body) = signed("push", fixtures::PUSH_MAIN);
    let response = world.intake.handle(&headers, &body).await;
    assert_eq!(response.status, 202, "{}", response.body);
    assert_eq!(response.body["pathsTruncated"], true);
    let detail = &world.events.published()[0].detail;
    assert_eq!(detail["pathsTruncated"], true);
    assert!(detail.get("changedPaths").is_none());
    assert_eq!(detail["payload"], "memory://github/push/delivery-1.json");
    assert_eq!(
        world.archive.get("github/push/delivery-1.json").unwrap(),
        body
    );
}

struct FailingBus;

#[async_trait]
impl EventPublisher for FailingBus {
    async fn publish(&self, _: &BusEvent) -> PortResult<()> {
        Err(PortError::Transient(
            "PutEvents: ThrottlingException".into(),
        ))
    }
}

#[tokio::test]
async fn when_the_bus_fails_the_delivery_is_forgotten_so_a_redelivery_is_processed() {
    let mut world = world();
    world.intake.events = Arc::new(FailingBus);
    let (headers, body) = signed("push", fixtures::PUSH_MAIN);
    let response = world.intake.handle(&headers, &body).await;
    assert_eq!(response.status, 503);
    assert_eq!(response.outcome(), "failed");
    assert!(world.deliveries.recorded().is_empty());
}

/// A bus, or a table, that answers only after the intake's deadline.
struct Stalled<T>(Arc<T>);

const STALL: std::time::Duration = std::time::Duration::from_secs(30);

#[async_trait]
impl EventPublisher for Stalled<MemoryEvents> {
    async fn publish(&self, event: &BusEvent) -> PortResult<()> {
        tokio::time::sleep(STALL).await;
        self.0.publish(event).await
    }
}

#[async_trait]
impl ferry_core::ports::DeliveryLog for Stalled<MemoryDeliveryLog> {
    /// The write lands at once; its answer never comes in time.
    async fn record_first(
        &self,
        delivery_id: &str,
        event: &str,
        expires_at: time::OffsetDateTime,
    ) -> PortResult<bool> {
        let first = self.0.record_first(delivery_id, event, expires_at).await;
        tokio::time::sleep(STALL).await;
        first
    }

    async fn forget(&self, delivery_id: &str) -> PortResult<()> {
        self.0.forget(delivery_id).await
    }
}

fn short_deadline() -> IntakeSettings {
    IntakeSettings {
        deadline: std::time::Duration::from_millis(400),
        ..IntakeSettings::default()
    }
}

#[tokio::test]
async fn a_bus_that_does_not_answer_in_time_leaves_the_delivery_free_for_a_redelivery() {
    let mut world = world_with(short_deadline());
    world.intake.events = Arc::new(Stalled(world.events.clone()));
    let (headers, body) = signed("push", fixtures::PUSH_MAIN);

    let started = std::time::Instant::now();
    let response = world.intake.handle(&headers, &body).await;

    assert!(started.elapsed() < STALL / 10, "answered by the deadline");
    assert_eq!(response.status, 503, "{}", response.body);
    assert!(world.deliveries.recorded().is_empty(), "forgotten");
    // GitHub's redelivery, once the bus is back: published, not a duplicate.
    world.intake.events = world.events.clone();
    let again = world.intake.handle(&headers, &body).await;
    assert_eq!(again.status, 202, "{}", again.body);
    assert_eq!(world.events.published().len(), 1);
}

#[tokio::test]
async fn a_delivery_recorded_too_late_to_publish_is_forgotten() {
    let mut world = world_with(short_deadline());
    world.intake.deliveries = Arc::new(Stalled(world.deliveries.clone()));
    let (headers, body) = signed("push", fixtures::PUSH_MAIN);

    let response = world.intake.handle(&headers, &body).await;

    assert_eq!(response.status, 503, "{}", response.body);
    assert!(world.events.published().is_empty());
    assert!(
        world.deliveries.recorded().is_empty(),
        "the late write is undone"
    );
}

#[tokio::test]
async fn a_mismatch_right_after_reading_the_secret_does_not_ask_the_store_again() {
    let store = Arc::new(ferry_testing::memory::MemorySecrets::new());
    store.put("webhook", "old");
    let mut world = world();
    world.intake.secret = WebhookSecret::stored(store.clone(), "webhook");
    let body = compact(fixtures::PING).into_bytes();
    // Nothing cached yet: the first delivery reads the secret.
    let old = signed_headers("old", "ping", "d1", JSON, &body);
    assert_eq!(world.intake.handle(&old, &body).await.status, 200);
    // Rotated in the store: a forged or new signature within a minute of the read does not
    // make the intake read the store again (a flood of bad signatures costs no API calls).
    store.put("webhook", "new");
    let new = signed_headers("new", "ping", "d2", JSON, &body);
    assert_eq!(world.intake.handle(&new, &body).await.status, 401);
    assert_eq!(store.reads(), 1);
}

#[tokio::test]
async fn a_missing_secret_is_a_server_error_not_an_open_door() {
    let store = Arc::new(ferry_testing::memory::MemorySecrets::new());
    let mut world = world();
    world.intake.secret = WebhookSecret::stored(store, "nowhere");
    let (headers, body) = signed("push", fixtures::PUSH_MAIN);
    let response = world.intake.handle(&headers, &body).await;
    assert_eq!(response.status, 500);
    assert!(world.events.published().is_empty());
}
