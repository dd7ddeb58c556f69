//! How fast a Slack click is answered in-process: the signature checked, the payload read, the
//! action decided against the record (in memory), the answer ready. Slack allows 3 s.
//!
//! `cargo bench -p ferry-slack --bench interactions` (`make bench-slack`) prints p50 and p99 of
//! 2,000 clicks of each kind. The same path through `ferry serve`, over HTTP with the emulator's
//! DynamoDB behind it, is measured by `scripts/slack.py`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_core::Deployment;
use ferry_core::ports::{DeploymentStore, SystemClock};
use ferry_core::signing::sign_hex;
use ferry_handlers::{Deps, LogNotifier, NoGitSource, Settings};
use ferry_slack::Interactions;
use ferry_testing::memory::{MemoryAlarms, MemoryAlb, MemoryEcs, MemoryStore, MemoryWorkflows};
use serde_json::json;
use time::OffsetDateTime;

const SECRET: &[u8] = b"8f742231b10e8888abcd99yyyzzz85a5";
const CLICKS: usize = 2_000;

fn waiting() -> Deployment {
    serde_json::from_value(json!({
        "id": "web-1", "service": "web", "cluster": "shop",
        "source": {"repository": "acme/shop", "commit": "3f9c2e1a7b5d4c3e2f1a0b9c8d7e6f5a4b3c2d1e", "manifestPath": ".ferry/web.yaml"},
        "status": {"state": "awaitingApproval", "step": 0},
        "plan": {"steps": [{"weight": 100, "bakeSeconds": 0, "approve": true}]},
        "policy": {"alarms": [], "rollbackOnAlarm": true, "keepOldForSeconds": 0, "approvers": ["U0APPROVER"],
                   "approvalTimeoutSeconds": 3600, "onApprovalTimeout": "rollback", "slackChannel": "C0SHOP"},
        "traffic": {"listenerArn": "l"}, "blueTargetGroup": "b", "greenTargetGroup": "g",
        "taskDefinition": {}, "containerName": "web", "containerPort": 80, "greenWeight": 0,
        "pendingToken": {"kind": "approval", "step": 0, "token": "t", "since": "2026-11-22T10:00:00Z"},
        "history": [], "createdAt": "2026-11-22T10:00:00Z", "updatedAt": "2026-11-22T10:00:00Z", "version": 0
    }))
    .expect("a deployment")
}

fn signed_click(user: &str, action_id: &str) -> (String, String, Vec<u8>) {
    let payload = json!({"type": "block_actions", "user": {"id": user}, "channel": {"id": "C0SHOP"},
        "actions": [{"action_id": action_id, "value": "web-1", "type": "button"}]});
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair("payload", &payload.to_string())
        .finish()
        .into_bytes();
    let stamp = OffsetDateTime::now_utc().unix_timestamp().to_string();
    let signature = format!(
        "v0={}",
        sign_hex(SECRET, &[b"v0:", stamp.as_bytes(), b":", &body])
    );
    (stamp, signature, body)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let store = Arc::new(MemoryStore::new());
    runtime.block_on(store.create(&waiting())).expect("seeded");
    let interactions = Arc::new(Interactions {
        deps: Deps {
            ecs: Arc::new(MemoryEcs::new()),
            traffic: Arc::new(MemoryAlb::new()),
            alarms: Arc::new(MemoryAlarms::new()),
            store,
            workflows: Arc::new(MemoryWorkflows::new()),
            git: Arc::new(NoGitSource),
            notifier: Arc::new(LogNotifier),
            clock: Arc::new(SystemClock),
            settings: Settings::default(),
            github: None,
            hooks: None,
        },
        signing_secret: SECRET.to_vec(),
        slack: None,
        follow_up_inline: false,
    });
    println!("{:<52} {:>10} {:>10}", "click", "p50", "p99");
    for (what, user, action_id, secret) in [
        (
            "signed, refused (not an approver)",
            "U0MALLORY",
            "ferry_approve",
            SECRET,
        ),
        (
            "signed, not Ferry's button (ignored)",
            "U0APPROVER",
            "other_button",
            SECRET,
        ),
        (
            "bad signature (401)",
            "U0APPROVER",
            "ferry_approve",
            b"wrong".as_slice(),
        ),
    ] {
        let (stamp, _, body) = signed_click(user, action_id);
        let signature = format!(
            "v0={}",
            sign_hex(secret, &[b"v0:", stamp.as_bytes(), b":", &body])
        );
        let mut samples = Vec::with_capacity(CLICKS);
        for _ in 0..CLICKS {
            let started = Instant::now();
            let handled = runtime.block_on(interactions.handle(
                Some(&stamp),
                Some(&signature),
                &body,
                OffsetDateTime::now_utc(),
            ));
            samples.push(started.elapsed());
            drop(handled);
        }
        samples.sort();
        println!(
            "{what:<52} {:>8.1}µs {:>8.1}µs",
            percentile(&samples, 0.5).as_secs_f64() * 1e6,
            percentile(&samples, 0.99).as_secs_f64() * 1e6
        );
    }
}
