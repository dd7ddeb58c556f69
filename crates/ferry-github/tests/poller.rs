//! The `poller` handler against a local GitHub (wiremock on 127.0.0.1): 200 with an ETag, 304
//! to that ETag, and one push event when the branch moves.

use std::sync::{Arc, Mutex};

use ferry_core::ports::SystemClock;
use ferry_github::{Credentials, GitHub};
use ferry_handlers::poll::{self, PollInput, PollOutcome};
use ferry_handlers::{Deps, GithubDeps, Settings};
use ferry_testing::memory::{
    MemoryAlarms, MemoryAlb, MemoryEcs, MemoryEvents, MemoryGit, MemoryNotifier, MemoryPollState,
    MemoryPullRequests, MemoryStore, MemoryWorkflows,
};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const OLD: &str = "1111111111111111111111111111111111111111";
const NEW: &str = "2222222222222222222222222222222222222222";

/// `GET /repos/acme/shop/git/ref/heads/main` as GitHub answers it: a strong ETag per head, 304
/// when the request carries the current one. Remembers every If-None-Match it was sent.
#[derive(Clone)]
struct Ref {
    head: Arc<Mutex<String>>,
    sent: Arc<Mutex<Vec<Option<String>>>>,
}

impl Respond for Ref {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let head = self.head.lock().unwrap().clone();
        let etag = format!("\"{}\"", &head[..12]);
        let sent = request
            .headers
            .get("if-none-match")
            .and_then(|value| value.to_str().ok())
            .map(str::to_string);
        self.sent.lock().unwrap().push(sent.clone());
        if sent.as_deref() == Some(etag.as_str()) {
            return ResponseTemplate::new(304).insert_header("etag", etag.as_str());
        }
        ResponseTemplate::new(200)
            .insert_header("etag", etag.as_str())
            .insert_header("x-ratelimit-remaining", "4999")
            .set_body_json(json!({
                "ref": "refs/heads/main",
                "object": {"sha": head, "type": "commit"}
            }))
    }
}

fn deps() -> Deps {
    Deps {
        ecs: Arc::new(MemoryEcs::new()),
        traffic: Arc::new(MemoryAlb::new()),
        alarms: Arc::new(MemoryAlarms::new()),
        store: Arc::new(MemoryStore::new()),
        workflows: Arc::new(MemoryWorkflows::new()),
        git: Arc::new(MemoryGit::new()),
        notifier: Arc::new(MemoryNotifier::new()),
        clock: Arc::new(SystemClock),
        settings: Settings::default(),
        github: None,
        hooks: None,
    }
}

#[tokio::test]
async fn the_poller_asks_with_its_etag_and_publishes_one_push_when_the_branch_moves() {
    let server = MockServer::start().await;
    let reference = Ref {
        head: Arc::new(Mutex::new(OLD.to_string())),
        sent: Arc::new(Mutex::new(Vec::new())),
    };
    Mock::given(method("GET"))
        .and(path("/repos/acme/shop/git/ref/heads/main"))
        .respond_with(reference.clone())
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/repos/acme/shop/compare/{OLD}...{NEW}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "status": "ahead",
            "files": [{"filename": "ecs/web.json", "status": "modified"}]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let github = GitHub::new(&server.uri(), Credentials::Token("ghp_test".into())).unwrap();
    let events = Arc::new(MemoryEvents::new());
    let ports = GithubDeps {
        pulls: Arc::new(MemoryPullRequests::new()),
        branches: Arc::new(github.source()),
        poll_state: Arc::new(MemoryPollState::new()),
        events: events.clone(),
        tracked: vec!["acme/shop@main".into()],
    };
    let deps = deps();
    let run = || async {
        poll::handle(&deps, &ports, PollInput::default())
            .await
            .unwrap()
    };

    assert_eq!(run().await.branches[0].outcome, PollOutcome::FirstSeen);
    assert_eq!(run().await.branches[0].outcome, PollOutcome::Unchanged);
    *reference.head.lock().unwrap() = NEW.to_string();
    let moved = run().await;
    assert_eq!(moved.branches[0].outcome, PollOutcome::Moved);
    assert_eq!(run().await.branches[0].outcome, PollOutcome::Unchanged);

    let published = events.published();
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].detail_type, "push");
    assert_eq!(published[0].detail["before"], OLD);
    assert_eq!(published[0].detail["after"], NEW);
    assert_eq!(published[0].detail["changedPaths"], json!(["ecs/web.json"]));
    let etag_old = format!("\"{}\"", &OLD[..12]);
    let etag_new = format!("\"{}\"", &NEW[..12]);
    assert_eq!(
        *reference.sent.lock().unwrap(),
        [None, Some(etag_old.clone()), Some(etag_old), Some(etag_new)]
    );
}
