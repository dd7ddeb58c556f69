//! The webhook intake against the emulator: GitHub's payloads, signed and tampered, duplicated,
//! oversized and malformed, through the real adapters (DynamoDB delivery log, EventBridge bus,
//! S3 archive). Events are observed where a rule delivers them: an SQS queue target.
//!
//! Also: the function URL samples under `events/webhook-intake/`, the local pattern matcher
//! against moto's EventBridge, and a push routed on the local engine to a deployment.
//!
//! moto's `TestEventPattern` is a stub (it answers without evaluating anything), so the
//! matcher is compared with moto's own rule evaluation: a rule per pattern with an SQS target,
//! the events put on the bus, and what each queue received.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;
use ferry_aws::{
    DynamoDeliveryLog, EventBridgePublisher, S3Archive, ensure_bucket, ensure_event_bus,
    ensure_table,
};
use ferry_core::ports::{BusEvent, SystemClock};
use ferry_local::{EventPattern, LocalRepository, LocalRouter, LocalRuntime, RuleFiles};
use ferry_testing::memory::{MemoryDeliveryLog, MemoryEvents};
use ferry_webhook::fixtures::{self, compact, signed_headers};
use ferry_webhook::{Intake, IntakeSettings, WebhookResponse, WebhookSecret};
use serde_json::{Value, json};

use crate::helpers::{ACCOUNT, REGION, sdk_config, unique_prefix};

const SECRET: &str = "integration-webhook-secret";
const JSON: &str = "application/json";

/// A bus with a catch-all rule feeding an SQS queue, a table and a payload bucket.
struct Bus {
    sdk: SdkConfig,
    prefix: String,
    bus: String,
    table: String,
    bucket: String,
    queue_url: String,
    sqs: aws_sdk_sqs::Client,
    events: aws_sdk_eventbridge::Client,
}

async fn create_queue(sqs: &aws_sdk_sqs::Client, name: &str) -> (String, String) {
    let url = sqs
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .expect("create queue")
        .queue_url()
        .expect("queue URL")
        .to_string();
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("queue attributes")
        .attributes()
        .and_then(|attributes| {
            attributes
                .get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                .cloned()
        })
        .expect("queue ARN");
    (url, arn)
}

/// A rule on `bus` with `pattern`, delivering to a new queue; returns the queue URL.
async fn rule_to_queue(
    events: &aws_sdk_eventbridge::Client,
    sqs: &aws_sdk_sqs::Client,
    bus: &str,
    name: &str,
    pattern: &str,
) -> String {
    let (url, arn) = create_queue(sqs, name).await;
    events
        .put_rule()
        .name(name)
        .event_bus_name(bus)
        .event_pattern(pattern)
        .send()
        .await
        .expect("put rule");
    events
        .put_targets()
        .rule(name)
        .event_bus_name(bus)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("queue")
                .arn(arn)
                .build()
                .expect("target"),
        )
        .send()
        .await
        .expect("put targets");
    url
}

impl Bus {
    async fn new(label: &str) -> Bus {
        let sdk = sdk_config().await;
        let prefix = unique_prefix(label);
        let events = aws_sdk_eventbridge::Client::new(&sdk);
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let bus = format!("{prefix}-bus");
        ensure_event_bus(&events, &bus).await.expect("create bus");
        let table = format!("{prefix}-ferry");
        ensure_table(&aws_sdk_dynamodb::Client::new(&sdk), &table)
            .await
            .expect("create table");
        let bucket = format!("{prefix}-payloads");
        ensure_bucket(&aws_sdk_s3::Client::new(&sdk), &bucket)
            .await
            .expect("create bucket");
        let queue_url = rule_to_queue(
            &events,
            &sqs,
            &bus,
            &format!("{prefix}-all"),
            r#"{"source": ["ferry.github"]}"#,
        )
        .await;
        Bus {
            sdk,
            prefix,
            bus,
            table,
            bucket,
            queue_url,
            sqs,
            events,
        }
    }

    fn intake_with(&self, settings: IntakeSettings) -> Intake {
        Intake {
            secret: WebhookSecret::fixed(SECRET),
            deliveries: Arc::new(DynamoDeliveryLog::from_config(&self.sdk, &self.table)),
            events: Arc::new(EventBridgePublisher::from_config(&self.sdk, &self.bus)),
            archive: Some(Arc::new(S3Archive::from_config(&self.sdk, &self.bucket))),
            clock: Arc::new(SystemClock),
            settings,
        }
    }

    fn intake(&self) -> Intake {
        self.intake_with(IntakeSettings::default())
    }

    /// Every event the queue holds now, as EventBridge delivered them (whole envelopes).
    async fn received(&self) -> Vec<Value> {
        receive_all(&self.sqs, &self.queue_url).await
    }
}

async fn receive_all(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> Vec<Value> {
    let mut found = Vec::new();
    loop {
        let output = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .send()
            .await
            .expect("receive messages");
        let messages = output.messages();
        if messages.is_empty() {
            return found;
        }
        for message in messages {
            found
                .push(serde_json::from_str(message.body().expect("a body")).expect("a JSON event"));
            sqs.delete_message()
                .queue_url(queue_url)
                .receipt_handle(message.receipt_handle().expect("a receipt handle"))
                .send()
                .await
                .expect("delete message");
        }
    }
}

fn delivery() -> String {
    uuid::Uuid::new_v4().to_string()
}

async fn deliver(intake: &Intake, event: &str, delivery: &str, payload: &str) -> WebhookResponse {
    let body = compact(payload).into_bytes();
    let headers = signed_headers(SECRET, event, delivery, JSON, &body);
    intake.handle(&headers, &body).await
}

// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_signed_push_puts_one_event_on_the_bus_that_an_sqs_target_receives() {
    let bus = Bus::new("wh-push").await;
    let id = delivery();
    let response = deliver(&bus.intake(), "push", &id, fixtures::PUSH_MAIN).await;
    assert_eq!(response.status, 202, "{}", response.body);

    let received = bus.received().await;
    assert_eq!(received.len(), 1, "{received:#?}");
    let event = &received[0];
    assert_eq!(event["source"], "ferry.github");
    assert_eq!(event["detail-type"], "push");
    let detail = &event["detail"];
    assert_eq!(detail["repository"], "acme/shop");
    assert_eq!(detail["cloneUrl"], "https://github.com/acme/shop.git");
    assert_eq!(detail["defaultBranch"], "main");
    assert_eq!(detail["ref"], "refs/heads/main");
    assert_eq!(detail["branch"], "main");
    assert_eq!(detail["before"], "9a3f4e2b1c0d8e7f6a5b4c3d2e1f0a9b8c7d6e5f");
    assert_eq!(detail["after"], "3f9c2e1b8a7d6c5e4f3a2b1c0d9e8f7a6b5c4d3e");
    assert_eq!(detail["pusher"], "alice");
    assert_eq!(detail["deliveryId"], id.as_str());
    assert!(
        detail["changedPaths"]
            .as_array()
            .unwrap()
            .contains(&json!(".ferry/web.yaml"))
    );
    assert!(
        detail["headCommitMessage"]
            .as_str()
            .unwrap()
            .starts_with("Deploy web")
    );
}

#[tokio::test]
async fn pull_requests_opened_synchronized_and_closed_each_reach_the_bus() {
    let bus = Bus::new("wh-pr").await;
    let intake = bus.intake();
    for payload in [
        fixtures::PULL_REQUEST_OPENED,
        fixtures::PULL_REQUEST_SYNCHRONIZE,
        fixtures::PULL_REQUEST_CLOSED,
    ] {
        let response = deliver(&intake, "pull_request", &delivery(), payload).await;
        assert_eq!(response.status, 202, "{}", response.body);
    }
    let received = bus.received().await;
    let actions: BTreeSet<String> = received
        .iter()
        .map(|event| {
            assert_eq!(event["detail-type"], "pull_request");
            assert_eq!(event["detail"]["number"], 42);
            assert_eq!(
                event["detail"]["headSha"],
                "7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a0f9e8d"
            );
            assert_eq!(event["detail"]["baseRef"], "main");
            event["detail"]["action"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(
        actions,
        ["closed", "opened", "synchronize"].map(String::from).into()
    );
}

#[tokio::test]
async fn a_redelivered_push_answers_duplicate_and_the_queue_receives_it_once() {
    let bus = Bus::new("wh-dup").await;
    let intake = bus.intake();
    let id = delivery();
    assert_eq!(
        deliver(&intake, "push", &id, fixtures::PUSH_MAIN)
            .await
            .status,
        202
    );
    let again = deliver(&intake, "push", &id, fixtures::PUSH_MAIN).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.outcome(), "duplicate");
    assert_eq!(bus.received().await.len(), 1);

    // The delivery item, with its TTL.
    let item = aws_sdk_dynamodb::Client::new(&bus.sdk)
        .get_item()
        .table_name(&bus.table)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("DELIVERY#{id}")),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S("DELIVERY".into()),
        )
        .send()
        .await
        .unwrap()
        .item
        .expect("the delivery is recorded");
    let expires: i64 = item["expiresAt"].as_n().unwrap().parse().unwrap();
    let in_a_week = time::OffsetDateTime::now_utc().unix_timestamp() + 7 * 24 * 3600;
    assert!((in_a_week - 60..=in_a_week + 60).contains(&expires));
    assert_eq!(item["event"].as_s().unwrap(), "push");
}

#[tokio::test]
async fn a_tampered_or_unsigned_push_is_refused_with_401_and_nothing_reaches_the_bus() {
    let bus = Bus::new("wh-sig").await;
    let intake = bus.intake();
    let body = compact(fixtures::PUSH_MAIN).into_bytes();
    let headers = signed_headers(SECRET, "push", &delivery(), JSON, &body);

    let tampered = String::from_utf8(body.clone())
        .unwrap()
        .replace("refs/heads/main", "refs/heads/evil")
        .into_bytes();
    let response = intake.handle(&headers, &tampered).await;
    assert_eq!(response.status, 401, "{}", response.body);

    let wrong_secret = signed_headers("not-the-secret", "push", &delivery(), JSON, &body);
    assert_eq!(intake.handle(&wrong_secret, &body).await.status, 401);

    let mut unsigned = headers.clone();
    unsigned.remove("x-hub-signature-256");
    assert_eq!(intake.handle(&unsigned, &body).await.status, 401);

    assert!(bus.received().await.is_empty());
}

#[tokio::test]
async fn pings_and_ignored_events_answer_2xx_with_the_reason_and_nothing_reaches_the_bus() {
    let bus = Bus::new("wh-ign").await;
    let intake = bus.intake();
    let ping = deliver(&intake, "ping", &delivery(), fixtures::PING).await;
    assert_eq!(ping.status, 200);
    assert_eq!(ping.outcome(), "pong");
    for (event, payload, reason) in [
        (
            "issues",
            fixtures::ISSUES_OPENED,
            "event issues (opened) is not one Ferry acts on",
        ),
        (
            "pull_request",
            fixtures::PULL_REQUEST_LABELED,
            "action labeled",
        ),
        (
            "push",
            fixtures::PUSH_DOCS_ONLY,
            "matches the watched paths",
        ),
        ("push", fixtures::PUSH_TAG, "is not a branch"),
        ("push", fixtures::PUSH_BRANCH_DELETED, "was deleted"),
        ("push", fixtures::PUSH_FEATURE_BRANCH, "is not tracked"),
    ] {
        let response = deliver(&intake, event, &delivery(), payload).await;
        assert_eq!(response.status, 200, "{event}: {}", response.body);
        assert_eq!(response.outcome(), "ignored");
        assert!(
            response.body["reason"].as_str().unwrap().contains(reason),
            "{}",
            response.body
        );
    }
    assert!(bus.received().await.is_empty());
}

#[tokio::test]
async fn malformed_and_oversized_bodies_are_refused_and_nothing_reaches_the_bus() {
    let bus = Bus::new("wh-bad").await;
    let intake = bus.intake();
    for (content_type, body, status) in [
        (
            JSON,
            b"{\"ref\": \"refs/heads/main\", \"before\": ".to_vec(),
            400,
        ),
        (JSON, b"[1, 2, 3]".to_vec(), 400),
        (
            "application/x-www-form-urlencoded",
            b"payload=%7Bnot-json".to_vec(),
            400,
        ),
        (
            "application/x-www-form-urlencoded",
            b"other=1".to_vec(),
            400,
        ),
        ("text/xml", b"<push/>".to_vec(), 415),
        (JSON, vec![b' '; 25 * 1024 * 1024 + 1], 413),
    ] {
        let headers = signed_headers(SECRET, "push", &delivery(), content_type, &body);
        let response = intake.handle(&headers, &body).await;
        assert_eq!(response.status, status, "{content_type}: {}", response.body);
        assert_eq!(response.outcome(), "refused");
    }
    assert!(bus.received().await.is_empty());
}

#[tokio::test]
async fn a_form_encoded_push_is_accepted_like_a_json_one() {
    let bus = Bus::new("wh-form").await;
    let json = compact(fixtures::PUSH_MAIN);
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair("payload", &json)
        .finish()
        .into_bytes();
    let headers = signed_headers(
        SECRET,
        "push",
        &delivery(),
        "application/x-www-form-urlencoded",
        &body,
    );
    let response = bus.intake().handle(&headers, &body).await;
    assert_eq!(response.status, 202, "{}", response.body);
    assert_eq!(bus.received().await[0]["detail"]["repository"], "acme/shop");
}

#[tokio::test]
async fn a_push_too_big_for_eventbridge_is_archived_in_s3_and_referenced_from_the_event() {
    let bus = Bus::new("wh-big").await;
    let mut payload: Value = serde_json::from_str(fixtures::PUSH_MAIN).unwrap();
    let paths: Vec<String> = (0..6000)
        .map(|index| format!("web/src/generated/module_{index:05}/handlers.rs"))
        .collect();
    payload["commits"][0]["added"] = json!(paths);
    let payload = payload.to_string();
    assert!(payload.len() > 256 * 1024);
    let id = delivery();
    let response = deliver(&bus.intake(), "push", &id, &payload).await;
    assert_eq!(response.status, 202, "{}", response.body);

    let received = bus.received().await;
    assert_eq!(received.len(), 1);
    let detail = &received[0]["detail"];
    assert_eq!(detail["pathsTruncated"], true);
    assert!(detail.get("changedPaths").is_none());
    let key = format!("github/push/{id}.json");
    assert_eq!(detail["payload"], format!("s3://{}/{key}", bus.bucket));
    let stored = aws_sdk_s3::Client::new(&bus.sdk)
        .get_object()
        .bucket(&bus.bucket)
        .key(&key)
        .send()
        .await
        .expect("the payload is in S3")
        .body
        .collect()
        .await
        .unwrap()
        .into_bytes();
    assert_eq!(stored, compact(&payload).as_bytes());
}

// ---------------------------------------------------------------------------------------------
// The function URL samples

#[tokio::test]
async fn the_function_url_samples_get_the_answers_their_names_promise() {
    use aws_lambda_events::event::lambda_function_urls::LambdaFunctionUrlRequest;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../events/webhook-intake");
    let events = Arc::new(MemoryEvents::new());
    let intake = Intake {
        secret: WebhookSecret::fixed(fixtures::SAMPLE_SECRET),
        deliveries: Arc::new(MemoryDeliveryLog::new()),
        events: events.clone(),
        archive: None,
        clock: Arc::new(SystemClock),
        settings: IntakeSettings::default(),
    };
    let router = ferry_http::router(ferry_http::App {
        intake: Some(intake),
        control: None,
        slack: None,
        ui: None,
    });
    let expected = [
        ("issues-ignored.json", 200, "ignored"),
        ("ping.json", 200, "pong"),
        ("pull-request-opened.json", 202, "accepted"),
        ("push-base64.json", 202, "accepted"),
        ("push-form-encoded.json", 202, "accepted"),
        ("push.json", 202, "accepted"),
        ("unsigned.json", 401, "refused"),
    ];
    let mut found: Vec<String> = std::fs::read_dir(&root)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    found.sort();
    assert_eq!(found, expected.map(|(name, _, _)| name.to_string()));
    for (name, status, outcome) in expected {
        let text = std::fs::read_to_string(root.join(name)).unwrap();
        let request: LambdaFunctionUrlRequest = serde_json::from_str(&text).unwrap();
        let response = ferry_http::lambda::handle(router.clone(), request).await;
        assert_eq!(response.status_code, status, "{name}: {:?}", response.body);
        let body: Value = serde_json::from_str(response.body.as_deref().unwrap()).unwrap();
        assert_eq!(body["status"], outcome, "{name}");
        assert_eq!(
            response.headers.get("content-type").unwrap(),
            "application/json"
        );
    }
    assert_eq!(events.published().len(), 4);
}

// ---------------------------------------------------------------------------------------------
// The pattern matcher against EventBridge in moto

fn envelope(source: &str, detail_type: &str, detail: Value) -> Value {
    json!({
        "version": "0", "id": uuid::Uuid::new_v4().to_string(), "detail-type": detail_type,
        "source": source, "account": ACCOUNT, "time": "2026-11-22T10:15:00Z", "region": REGION,
        "resources": [], "detail": detail,
    })
}

#[tokio::test]
async fn the_local_pattern_matcher_agrees_with_eventbridge_in_moto_on_a_table_of_events() {
    let bus = Bus::new("wh-pat").await;
    // The rule files, and patterns with the other operators the matcher implements.
    let mut patterns: Vec<(String, String)> = RuleFiles::ALL
        .iter()
        .map(|(name, text)| (name.trim_end_matches(".json").to_string(), text.to_string()))
        .collect();
    for (name, pattern) in [
        (
            "anything-but",
            json!({"detail": {"branch": [{"anything-but": ["main", "dev"]}]}}),
        ),
        (
            "anything-but-prefix",
            json!({"detail": {"ref": [{"anything-but": {"prefix": "refs/tags/"}}]}}),
        ),
        ("exists", json!({"detail": {"payload": [{"exists": true}]}})),
        (
            "not-exists",
            json!({"source": ["ferry.github"], "detail": {"payload": [{"exists": false}]}}),
        ),
        (
            "numeric",
            json!({"detail": {"number": [{"numeric": [">", 10, "<=", 42]}]}}),
        ),
        (
            "suffix",
            json!({"detail": {"changedPaths": [{"suffix": ".json"}]}}),
        ),
        (
            "prefix-ignore-case",
            json!({"detail": {"repository": [{"prefix": {"equals-ignore-case": "ACME/"}}]}}),
        ),
        (
            "equals-ignore-case",
            json!({"detail": {"action": [{"equals-ignore-case": "OPENED"}]}}),
        ),
        (
            "wildcard",
            json!({"detail": {"branch": [{"wildcard": "release/*"}]}}),
        ),
        (
            "or",
            json!({"$or": [{"detail-type": ["pull_request"]}, {"detail": {"forced": [true]}}]}),
        ),
    ] {
        patterns.push((name.to_string(), pattern.to_string()));
    }
    let mut queues = Vec::new();
    for (name, text) in &patterns {
        let url = rule_to_queue(
            &bus.events,
            &bus.sqs,
            &bus.bus,
            &format!("{}-{name}", bus.prefix),
            text,
        )
        .await;
        queues.push((name.clone(), EventPattern::parse(text).unwrap(), url));
    }

    let github = "ferry.github";
    let table = [
        envelope(
            github,
            "push",
            json!({"repository": "acme/shop", "ref": "refs/heads/main", "branch": "main", "changedPaths": [".ferry/web.yaml", "ecs/web.json"]}),
        ),
        envelope(
            github,
            "push",
            json!({"repository": "Acme/Shop", "ref": "refs/heads/release/2026-11", "branch": "release/2026-11", "forced": true, "payload": "s3://b/k"}),
        ),
        envelope(
            github,
            "push",
            json!({"repository": "other/repo", "ref": "refs/tags/v1", "branch": "v1", "changedPaths": ["README.md"]}),
        ),
        envelope(
            github,
            "pull_request",
            json!({"repository": "acme/shop", "number": 42, "action": "opened"}),
        ),
        envelope(
            github,
            "pull_request",
            json!({"repository": "acme/shop", "number": 7, "action": "closed"}),
        ),
        envelope(
            github,
            "pull_request",
            json!({"repository": "acme/shop", "number": 43, "action": "synchronize", "branch": "dev"}),
        ),
        envelope(
            "aws.cloudwatch",
            "CloudWatch Alarm State Change",
            json!({"alarmName": "web-5xx", "state": {"value": "ALARM"}}),
        ),
        envelope(
            "aws.cloudwatch",
            "CloudWatch Alarm State Change",
            json!({"alarmName": "web-5xx", "state": {"value": "OK"}}),
        ),
        envelope(
            "aws.states",
            "Step Functions Execution Status Change",
            json!({"name": "web-3f9c2e1-g4-5b0c8e3a", "status": "SUCCEEDED"}),
        ),
        envelope(
            "aws.states",
            "Step Functions Execution Status Change",
            json!({"name": "web-3f9c2e1-g5-0b1c2d3e", "status": "RUNNING"}),
        ),
    ];
    for (index, event) in table.iter().enumerate() {
        let mut detail = event["detail"].clone();
        detail["case"] = json!(index);
        let entry = aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
            .event_bus_name(&bus.bus)
            .source(event["source"].as_str().unwrap())
            .detail_type(event["detail-type"].as_str().unwrap())
            .detail(detail.to_string())
            .build();
        let output = bus.events.put_events().entries(entry).send().await.unwrap();
        assert_eq!(output.failed_entry_count(), 0, "case {index}: {output:?}");
    }

    let mut disagreements = Vec::new();
    for (name, pattern, url) in &queues {
        let delivered: BTreeSet<u64> = receive_all(&bus.sqs, url)
            .await
            .iter()
            .map(|event| event["detail"]["case"].as_u64().unwrap())
            .collect();
        let predicted: BTreeSet<u64> = table
            .iter()
            .enumerate()
            .filter(|(_, event)| pattern.matches(event))
            .map(|(index, _)| index as u64)
            .collect();
        if delivered != predicted {
            disagreements.push(format!(
                "{name}: moto delivered {delivered:?}, the matcher says {predicted:?}"
            ));
        }
    }
    assert!(disagreements.is_empty(), "{disagreements:#?}");
    // The table exercises every rule file: each matches something and misses something.
    for (name, pattern, _) in &queues {
        let hits = table.iter().filter(|event| pattern.matches(event)).count();
        assert!(
            0 < hits && hits < table.len(),
            "{name} matches {hits} events"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// A push routed on the local engine

fn git(dir: &Path, args: &[&str]) -> String {
    let output = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.email=ci@example.com", "-c", "user.name=ci"])
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

#[tokio::test]
async fn a_push_routed_locally_deploys_the_manifest_it_touches_and_leaves_the_others() {
    let harness = crate::handlers::Harness::new("wh-route", "allAtOnce: {}").await;
    let env = &harness.env;
    let repo = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(repo.path().join(".ferry")).unwrap();
    std::fs::create_dir_all(repo.path().join("ecs")).unwrap();
    std::fs::write(
        repo.path().join(".ferry/web.yaml"),
        env.manifest_yaml("allAtOnce: {}", "../ecs/web.json"),
    )
    .unwrap();
    std::fs::write(
        repo.path().join(".ferry/api.yaml"),
        env.manifest_yaml("allAtOnce: {}", "../ecs/api.json"),
    )
    .unwrap();
    let mut task_definition = env.task_definition.clone();
    task_definition["containerDefinitions"][0]["image"] = json!("nginx:1.28");
    for file in ["ecs/web.json", "ecs/api.json"] {
        std::fs::write(
            repo.path().join(file),
            serde_json::to_string_pretty(&task_definition).unwrap(),
        )
        .unwrap();
    }
    git(repo.path(), &["init", "-q", "-b", "main"]);
    git(repo.path(), &["add", "."]);
    git(repo.path(), &["commit", "-qm", "web on nginx 1.28"]);
    let commit = git(repo.path(), &["rev-parse", "HEAD"]);

    let repositories =
        ferry_local::parse_repository_map(&format!("acme/shop={}", repo.path().display())).unwrap();
    let mut deps = harness.deps.clone();
    deps.git = Arc::new(LocalRepository::commits().with_folders(repositories.clone()));
    let runtime = Arc::new(LocalRuntime::new(deps, 0.001).unwrap());
    let router = Arc::new(LocalRouter::new(runtime, None).unwrap());
    // Only the routing is under test here: deliveries in memory, no bus behind the router.
    let intake = Intake {
        secret: WebhookSecret::fixed(SECRET),
        deliveries: Arc::new(MemoryDeliveryLog::new()),
        events: router.clone(),
        archive: None,
        clock: Arc::new(SystemClock),
        settings: IntakeSettings::default(),
    };

    // GitHub's push of that commit: only ecs/web.json changed.
    let mut payload: Value = serde_json::from_str(fixtures::PUSH_MAIN).unwrap();
    payload["after"] = json!(commit);
    payload["commits"] = json!([{
        "id": commit, "message": "web on nginx 1.28", "author": {"name": "ci", "username": "ci"},
        "added": [], "removed": [], "modified": ["ecs/web.json"],
    }]);
    payload["head_commit"] = payload["commits"][0].clone();
    let response = deliver(&intake, "push", &delivery(), &payload.to_string()).await;
    assert_eq!(response.status, 202, "{}", response.body);

    let mut started = router.take_started();
    assert_eq!(started.len(), 1, "one manifest is touched");
    let execution = started.remove(0);
    // The service's first push: generation 1 of its desired state.
    let service_key = format!("{}/{}", env.cluster, env.service);
    let name = ferry_core::convergence::desired_execution_name(&service_key, &commit, 1, 0);
    assert!(execution.arn().ends_with(&name), "{}", execution.arn());
    let outcome = tokio::time::timeout(Duration::from_secs(120), execution.wait())
        .await
        .expect("the deployment ends");
    assert!(
        matches!(outcome.status, ferry_engine::ExecutionStatus::Succeeded),
        "{outcome:?}"
    );
    // The record names the repository as GitHub does, not the folder it was read from.
    let record = harness.record(&name).await;
    assert_eq!(record.source.repository, "acme/shop");
    assert_eq!(record.source.commit, commit);

    // The same commit again (a redelivery with a new id, or the poller): no second deployment.
    let routed = router
        .route(&BusEvent {
            source: "ferry.github".into(),
            detail_type: "push".into(),
            detail: json!({"repository": "acme/shop", "ref": "refs/heads/main", "branch": "main",
                "before": "0".repeat(40), "after": commit, "changedPaths": ["ecs/web.json"]}),
        })
        .await
        .unwrap()
        .expect("a push is routed to push-deploy");
    assert!(routed.started.is_empty(), "{routed:?}");
    assert_eq!(routed.already_started.len(), 1);
    assert_eq!(routed.already_started[0].execution_name, name);
    assert_eq!(routed.skipped.len(), 1);
    assert_eq!(routed.skipped[0].manifest_path, ".ferry/api.yaml");
}
