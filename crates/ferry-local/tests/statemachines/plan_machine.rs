//! `statemachines/plan.asl.json` on the engine, with the real `pr-plan` handler over in-memory
//! fakes: one comment however often it runs, and GitHub's rate limits ridden out by `Retry`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use ferry_core::ports::CommitState;
use ferry_engine::{EngineOptions, ExecutionStatus, Executor, TaskDispatcher, TaskFailure};
use ferry_handlers::{Deps, GithubDeps};
use ferry_testing::memory::{
    MemoryBranches, MemoryEvents, MemoryGit, MemoryPollState, MemoryPullRequests,
};
use serde_json::{Value, json};

use super::world::{self, COMMIT, MANIFEST_PATH, REPO, TIME_SCALE, World};

const HEAD: &str = "9e4d1c7b2a8f3e6d5c4b3a291807f6e5d4c3b2a1";

/// Task states call the handlers with GitHub ports; the first `rate_limited` calls fail the way
/// a rate-limited GitHub makes `pr-plan` fail.
struct GithubHandlers {
    /// With the GitHub ports (`Deps::github`).
    deps: Deps,
    rate_limited: AtomicUsize,
    calls: AtomicUsize,
}

#[async_trait::async_trait]
impl TaskDispatcher for GithubHandlers {
    async fn invoke(&self, function: &str, payload: Value) -> Result<Value, TaskFailure> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self
            .rate_limited
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                left.checked_sub(1)
            })
            .is_ok()
        {
            return Err(TaskFailure::new(
                "Retryable",
                "writing the plan comment: temporary failure: GitHub rate limit (HTTP 429); retry after 60 seconds",
            ));
        }
        ferry_handlers::dispatch(&self.deps, function, payload)
            .await
            .map_err(|error| TaskFailure::new(error.error_type(), error.message))
    }
}

struct PlanWorld {
    pulls: Arc<MemoryPullRequests>,
    handlers: Arc<GithubHandlers>,
    plan: Executor,
}

fn plan_world(rate_limited: usize) -> PlanWorld {
    let manifest = world::manifest("canary: { weight: 10, bake: 5m }", "");
    let base = World::new(&manifest);
    let git = Arc::new(MemoryGit::new());
    for commit in [COMMIT, HEAD] {
        git.put(REPO, commit, MANIFEST_PATH, &manifest);
    }
    git.put(REPO, COMMIT, "ecs/web.json", r#"{"family": "web", "containerDefinitions": [{"name": "web", "image": "shop/web:${GIT_SHA}", "memory": 256, "portMappings": [{"containerPort": 8080}]}]}"#);
    git.put(REPO, HEAD, "ecs/web.json", r#"{"family": "web", "containerDefinitions": [{"name": "web", "image": "shop/web:${GIT_SHA}", "memory": 512, "portMappings": [{"containerPort": 8080}]}]}"#);
    let pulls = Arc::new(MemoryPullRequests::new());
    let mut deps = base.deps.clone();
    deps.git = git;
    deps.github = Some(Arc::new(GithubDeps {
        pulls: pulls.clone(),
        branches: Arc::new(MemoryBranches::new()),
        poll_state: Arc::new(MemoryPollState::new()),
        events: Arc::new(MemoryEvents::new()),
        tracked: Vec::new(),
    }));
    let handlers = Arc::new(GithubHandlers {
        deps,
        rate_limited: AtomicUsize::new(rate_limited),
        calls: AtomicUsize::new(0),
    });
    let machine = ferry_engine::load_template(&world::template("plan"), &world::bindings())
        .unwrap_or_else(|e| panic!("statemachines/plan.asl.json: {e}"));
    let options = EngineOptions {
        time_scale: TIME_SCALE,
        state_machine_name: "ferry-plan".into(),
        region: "eu-west-1".into(),
        ..EngineOptions::default()
    };
    PlanWorld {
        pulls,
        plan: Executor::new(machine, handlers.clone(), options),
        handlers,
    }
}

/// The pull request event's detail, as the github-pull-request rule passes it.
fn detail(action: &str) -> Value {
    json!({
        "repository": REPO,
        "number": 42,
        "action": action,
        "headSha": HEAD,
        "baseRef": "main",
        "baseSha": COMMIT,
        "defaultBranch": "main",
        "cloneUrl": "https://github.com/acme/shop.git",
        "headRef": "bigger-tasks",
        "title": "Give web more memory"
    })
}

#[tokio::test]
async fn the_plan_machine_comments_once_per_pull_request_however_often_it_runs() {
    let world = plan_world(0);
    for (name, action) in [
        ("pr-42-opened", "opened"),
        ("pr-42-synchronize", "synchronize"),
    ] {
        let outcome = world.plan.start(name, detail(action)).unwrap().wait().await;
        assert!(
            matches!(outcome.status, ExecutionStatus::Succeeded),
            "{:?}",
            outcome.status
        );
    }
    let comments = world.pulls.comments(REPO, 42);
    assert_eq!(comments.len(), 1);
    assert!(
        comments[0].contains("+      \"memory\": 512,"),
        "{}",
        comments[0]
    );
    let statuses = world.pulls.statuses(REPO, HEAD);
    assert_eq!(statuses.len(), 2);
    assert!(
        statuses
            .iter()
            .all(|status| status.state == CommitState::Success)
    );
}

#[tokio::test]
async fn a_rate_limited_attempt_is_retried_until_the_comment_is_written() {
    let world = plan_world(2);
    let outcome = world
        .plan
        .start("pr-42-rate-limited", detail("synchronize"))
        .unwrap()
        .wait()
        .await;
    assert!(
        matches!(outcome.status, ExecutionStatus::Succeeded),
        "{:?}",
        outcome.status
    );
    assert_eq!(world.handlers.calls.load(Ordering::SeqCst), 3);
    assert_eq!(world.pulls.comments(REPO, 42).len(), 1);
}
