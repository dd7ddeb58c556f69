//! Verification hooks in the workflows: where each stage runs, that a failing hook before
//! production traffic rolls back with production never on green, and that the waits between
//! attempts are the state machine's.

use ferry_core::DeploymentStatus;
use ferry_handlers::control::TrafficAction;
use serde_json::json;

use super::world::*;
use super::{assert_rolled_back, output, traffic};

/// `hooks:` with a test listener, so `${TEST_URL}` has an address.
fn with_hooks(strategy: &str, hooks: &str) -> World {
    let world = World::new(&ferry_testing::world::with_test_listener(&manifest(
        strategy,
        &format!("hooks:\n{hooks}"),
    )));
    ferry_testing::world::put_test_listener(&world.alb);
    world
}

const SMOKE: &str = "  - name: smoke\n    stage: afterTestTraffic\n    http: { url: \"${TEST_URL}/healthz\", expectStatus: 200, retries: 2, interval: 5s }\n    timeout: 2m\n";

/// The calls of `run-hooks` as `stage[step]`, and the other functions by name, in order.
fn flow(world: &World) -> Vec<String> {
    let calls = world.calls();
    let payloads = world.calls_of("run-hooks");
    let mut hooks = payloads.iter();
    calls
        .into_iter()
        .filter(|name| !matches!(name.as_str(), "wait-stable" | "bake" | "approval"))
        .map(|name| match name.as_str() {
            "run-hooks" => {
                let payload = hooks.next().unwrap();
                match payload["step"].as_u64() {
                    Some(step) => format!("{}[{step}]", payload["stage"].as_str().unwrap()),
                    None => payload["stage"].as_str().unwrap().to_string(),
                }
            }
            _ => name,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_hook_answering_500_after_test_traffic_rolls_back_before_production_sees_green() {
    let world = with_hooks("canary: { weight: 10, bake: 5m }", SMOKE);
    world.hooks.answer_http(&[(500, "boom")]);
    let outcome = world.deploy("web-h1").await;

    assert_rolled_back(
        &world,
        "web-h1",
        &outcome,
        &["HookFailed", "smoke", "HTTP 500"],
    )
    .await;
    assert!(
        world
            .green_weights_written()
            .iter()
            .all(|weight| *weight == 0),
        "production never above 0 % on green: {:?}",
        world.green_weights_written()
    );
    assert_eq!(
        world.hooks.requested().len(),
        3,
        "the first request and 2 retries"
    );
    assert!(!world.calls().contains(&"shift-weights".to_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_hook_answering_200_lets_the_deployment_finish() {
    let world = with_hooks("canary: { weight: 10, bake: 5m }", SMOKE);
    world.hooks.answer_http(&[(503, "starting"), (200, "ok")]);
    let outcome = world.deploy("web-h2").await;

    assert_eq!(output(&outcome)["outcome"], "succeeded");
    assert_eq!(world.green_weight(), 100);
    let record = world.record("web-h2").await;
    assert_eq!(record.status, DeploymentStatus::Succeeded);
    assert!(record.hook_runs[0].outcome.as_ref().unwrap().passed);
    // The retry waited its 5 s interval in the state machine, not in the function.
    assert_eq!(record.hook_runs[0].outcome.as_ref().unwrap().seconds, 5);
    let flow = flow(&world);
    let first_shift = flow
        .iter()
        .position(|name| name == "shift-weights")
        .unwrap();
    let last_hook = flow
        .iter()
        .rposition(|name| name == "afterTestTraffic")
        .unwrap();
    assert!(last_hook < first_shift, "{flow:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_stage_runs_where_it_belongs() {
    let world = with_hooks(
        "canary: { weight: 10, bake: 5m }",
        "  - name: before\n    stage: beforeStep\n    http: { url: \"https://example.com/b\" }\n  - name: after\n    stage: afterStep\n    http: { url: \"https://example.com/a\" }\n  - name: all\n    stage: afterTraffic\n    http: { url: \"https://example.com/all\" }\n",
    );
    world.hooks.answer_http(&[(200, "")]);
    let outcome = world.deploy("web-h3").await;
    assert_eq!(output(&outcome)["outcome"], "succeeded");
    assert_eq!(
        flow(&world),
        [
            "plan",
            "create-taskset",
            "beforeStep[0]",
            "shift-weights",
            "check-alarms",
            "afterStep[0]",
            "beforeStep[1]",
            "shift-weights",
            "check-alarms",
            "afterStep[1]",
            "afterTraffic",
            "finalize",
            "finalize"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_after_step_hook_rolls_back_from_the_canary() {
    let world = with_hooks(
        "canary: { weight: 10, bake: 5m }",
        "  - name: canary-check\n    stage: afterStep\n    lambda: { function: shop-verify }\n",
    );
    world.hooks.answer_function(&[
        r#"{"hookStatus":"IN_PROGRESS","callBackDelay":60}"#,
        r#"{"hookStatus":"FAILED","reason":"p99 doubled"}"#,
    ]);
    let outcome = world.deploy("web-h4").await;
    assert_rolled_back(&world, "web-h4", &outcome, &["HookFailed", "p99 doubled"]).await;
    assert_eq!(world.green_weights_written(), [10, 0]);
    assert_eq!(world.hooks.invocations().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_preset_runs_its_after_traffic_hooks_when_promoted_and_rolls_back_if_they_fail() {
    let hook = "  - name: all\n    stage: afterTraffic\n    task: { command: [\"./smoke\"] }\n";
    let world = with_hooks("preset: split", hook);
    world
        .hooks
        .task_states(&[("RUNNING", None), ("STOPPED", Some(0))]);
    let held = world.deploy("web-h5").await;
    assert_eq!(output(&held)["outcome"], "holding");
    assert!(world.hooks.tasks_started().is_empty(), "not at a hold");
    let promoted = world
        .traffic(
            "web-h5-promote",
            traffic("web-h5", TrafficAction::Promote, None),
        )
        .await;
    assert_eq!(
        output(&promoted),
        json!({"outcome": "succeeded", "deploymentId": "web-h5"})
    );
    assert_eq!(world.hooks.tasks_started().len(), 1);

    let world = with_hooks("preset: split", hook);
    world.hooks.task_states(&[("STOPPED", Some(1))]);
    world.deploy("web-h6").await;
    let promoted = world
        .traffic(
            "web-h6-promote",
            traffic("web-h6", TrafficAction::Promote, None),
        )
        .await;
    assert_eq!(output(&promoted)["outcome"], "rolledBack");
    assert!(
        output(&promoted)["reason"]
            .as_str()
            .unwrap()
            .contains("exited 1")
    );
    assert_eq!(world.green_weight(), 0);
    assert_eq!(
        world.record("web-h6").await.status,
        DeploymentStatus::RolledBack
    );
}
