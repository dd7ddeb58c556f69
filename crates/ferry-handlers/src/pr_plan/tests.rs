//! `pr-plan` against the in-memory fakes.

use std::sync::Arc;

use ferry_core::ports::{CommentOutcome, CommitState};
use ferry_testing::memory::{
    MemoryBranches, MemoryEvents, MemoryGit, MemoryPollState, MemoryPullRequests,
};

use super::*;
use crate::testing::{BLUE_TG, GREEN_TG, LISTENER, REPO, World, manifest};

const BASE: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const HEAD: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const TASK_DEFINITION: &str = r#"{"family": "web", "containerDefinitions": [{"name": "web", "image": "shop/web:${GIT_SHA}", "memory": 512, "portMappings": [{"containerPort": 8080}]}]}"#;

struct Pr {
    world: World,
    git: Arc<MemoryGit>,
    pulls: Arc<MemoryPullRequests>,
    deps: Deps,
    github: GithubDeps,
}

fn pr() -> Pr {
    let world = World::new(&manifest("allAtOnce: {}", ""));
    let git = Arc::new(MemoryGit::new());
    let pulls = Arc::new(MemoryPullRequests::new());
    let mut deps = world.deps.clone();
    deps.git = git.clone();
    let github = GithubDeps {
        pulls: pulls.clone(),
        branches: Arc::new(MemoryBranches::new()),
        poll_state: Arc::new(MemoryPollState::new()),
        events: Arc::new(MemoryEvents::new()),
        tracked: vec![],
    };
    let canary = canary();
    for commit in [BASE, HEAD] {
        git.put(REPO, commit, ".ferry/web.yaml", &canary);
        git.put(REPO, commit, "ecs/web.json", TASK_DEFINITION);
    }
    Pr {
        world,
        git,
        pulls,
        deps,
        github,
    }
}

fn canary() -> String {
    manifest(
        "canary: { weight: 10, bake: 5m }",
        "approval: { beforeTraffic: true }\n",
    )
}

fn input(head: &str) -> PrPlanInput {
    PrPlanInput {
        repository: REPO.into(),
        number: 42,
        action: "synchronize".into(),
        head_sha: head.into(),
        base_ref: "main".into(),
        base_sha: Some(BASE.into()),
        default_branch: Some("main".into()),
    }
}

#[tokio::test]
async fn a_pull_request_gets_its_plan_as_one_comment_updated_on_every_push() {
    let pr = pr();
    let first = handle(&pr.deps, &pr.github, input(HEAD)).await.unwrap();
    assert_eq!(first.manifests, 1);
    assert_eq!(first.state, Some(CommitState::Success));
    assert_eq!(first.comment.unwrap().outcome, CommentOutcome::Created);

    // A new push changes the task definition: the same comment now shows the diff.
    let next = "cccccccccccccccccccccccccccccccccccccccc";
    pr.git.put(REPO, next, ".ferry/web.yaml", &canary());
    pr.git.put(
        REPO,
        next,
        "ecs/web.json",
        &TASK_DEFINITION.replace("512", "1024"),
    );
    let second = handle(&pr.deps, &pr.github, input(next)).await.unwrap();
    assert_eq!(second.comment.unwrap().outcome, CommentOutcome::Updated);

    let comments = pr.pulls.comments(REPO, 42);
    assert_eq!(comments.len(), 1, "never a second comment");
    let body = &comments[0];
    assert!(body.starts_with(MARKER));
    assert!(body.contains("| 1 | 10 % | 5m | required |"), "{body}");
    assert!(body.contains("`web-5xx`"), "{body}");
    assert!(
        body.contains("-  \"memory\": 512,") || body.contains("-      \"memory\": 512,"),
        "{body}"
    );
    assert!(body.contains("+      \"memory\": 1024,"), "{body}");

    let statuses = pr.pulls.statuses(REPO, next);
    assert_eq!(statuses.len(), 1);
    assert_eq!(statuses[0].context, STATUS_CONTEXT);
    assert_eq!(statuses[0].state, CommitState::Success);
    assert_eq!(statuses[0].description, "deploys web: 2 steps, ≥5m");
    let _ = &pr.world;
}

#[tokio::test]
async fn an_unchanged_task_definition_is_said_to_be_unchanged_whatever_its_formatting() {
    let pr = pr();
    let reformatted = serde_json::to_string_pretty(
        &serde_json::from_str::<serde_json::Value>(TASK_DEFINITION).unwrap(),
    )
    .unwrap();
    pr.git.put(REPO, HEAD, "ecs/web.json", &reformatted);
    handle(&pr.deps, &pr.github, input(HEAD)).await.unwrap();
    let body = &pr.pulls.comments(REPO, 42)[0];
    assert!(
        body.contains("Task definition `ecs/web.json`: unchanged from `main`."),
        "{body}"
    );
}

#[tokio::test]
async fn an_invalid_manifest_fails_the_status_and_its_problems_are_located_in_the_comment() {
    let pr = pr();
    pr.git.put(
        REPO,
        HEAD,
        ".ferry/api.yaml",
        &manifest("canary: { weight: 150, bake: 5m }", "").replace("service: web", "service: api"),
    );
    let output = handle(&pr.deps, &pr.github, input(HEAD)).await.unwrap();
    assert_eq!(output.manifests, 2);
    assert_eq!(output.invalid, 1);
    assert_eq!(output.state, Some(CommitState::Failure));
    let body = &pr.pulls.comments(REPO, 42)[0];
    assert!(
        body.contains("#### ❌ `.ferry/api.yaml` is invalid"),
        "{body}"
    );
    assert!(body.contains(".ferry/api.yaml:9:"), "{body}");
    assert!(body.contains("strategy.canary.weight"), "{body}");
    let status = &pr.pulls.statuses(REPO, HEAD)[0];
    assert_eq!(status.state, CommitState::Failure);
    assert_eq!(
        status.description,
        "1 of 2 manifests invalid: .ferry/api.yaml"
    );
}

#[tokio::test]
async fn a_new_service_has_no_base_to_compare_with() {
    let pr = pr();
    let api = manifest("allAtOnce: {}", "")
        .replace("service: web", "service: api")
        .replace("../ecs/web.json", "../ecs/api.json");
    pr.git.put(REPO, HEAD, ".ferry/api.yaml", &api);
    pr.git.put(REPO, HEAD, "ecs/api.json", TASK_DEFINITION);
    handle(&pr.deps, &pr.github, input(HEAD)).await.unwrap();
    let body = &pr.pulls.comments(REPO, 42)[0];
    assert!(
        body.contains("Task definition `ecs/api.json`: new (not on `main`)."),
        "{body}"
    );
    let _ = (LISTENER, BLUE_TG, GREEN_TG);
}

#[tokio::test]
async fn a_pull_request_into_a_branch_that_does_not_deploy_says_so() {
    let pr = pr();
    let mut into_feature = input(HEAD);
    into_feature.base_ref = "feature".into();
    handle(&pr.deps, &pr.github, into_feature).await.unwrap();
    let body = &pr.pulls.comments(REPO, 42)[0];
    assert!(
        body.contains("Merging into `feature` deploys 0 services."),
        "{body}"
    );
    assert!(
        body.contains("it deploys from the default branch"),
        "{body}"
    );
}

#[tokio::test]
async fn a_closed_pull_request_is_not_planned_and_one_without_manifests_gets_no_comment() {
    let pr = pr();
    let mut closed = input(HEAD);
    closed.action = "closed".into();
    let output = handle(&pr.deps, &pr.github, closed).await.unwrap();
    assert!(output.skipped.is_some());
    assert!(pr.pulls.statuses(REPO, HEAD).is_empty());

    let empty = "dddddddddddddddddddddddddddddddddddddddd";
    let output = handle(&pr.deps, &pr.github, input(empty)).await.unwrap();
    assert_eq!(output.manifests, 0);
    assert!(pr.pulls.comments(REPO, 42).is_empty());
    let status = &pr.pulls.statuses(REPO, empty)[0];
    assert_eq!(status.state, CommitState::Success);
    assert_eq!(status.description, "no Ferry manifests in .ferry/");
}
