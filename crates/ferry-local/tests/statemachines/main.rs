//! `statemachines/deploy.asl.json` and `statemachines/traffic.asl.json`, the files Terraform
//! deploys, run end to end on the engine against the real handlers over in-memory fakes.

mod hooks;
mod plan_machine;
mod world;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ferry_core::DeploymentStatus;
use ferry_core::ports::{AlarmState, DeploymentStore, PortError, TaskSetStatus};
use ferry_engine::{
    EngineOptions, EventKind, ExecutionOutcome, ExecutionStatus, Executor, TaskDispatcher,
    TaskFailure,
};
use ferry_handlers::alarm_watch::{self, AlarmStateChange, AlarmStateValue};
use ferry_handlers::control::{
    self, Action, Actor, Channel, Identity, TrafficAction, TrafficRequest,
};
use serde_json::{Value, json};

use world::*;

fn output(outcome: &ExecutionOutcome) -> Value {
    match (&outcome.status, &outcome.output) {
        (ExecutionStatus::Succeeded, Some(output)) => output.clone(),
        (status, _) => panic!(
            "execution did not succeed: {status:?}\n{:#?}",
            outcome.history
        ),
    }
}

fn failure(outcome: &ExecutionOutcome) -> (String, String) {
    match &outcome.status {
        ExecutionStatus::Failed { error, cause } => (
            error.clone().unwrap_or_default(),
            cause.clone().unwrap_or_default(),
        ),
        other => panic!("expected the execution to fail, got {other:?}"),
    }
}

/// States entered, in order (Map iterations interleave only if they ran concurrently).
fn states_entered(outcome: &ExecutionOutcome) -> Vec<String> {
    outcome
        .history
        .iter()
        .filter_map(|event| match &event.kind {
            EventKind::StateEntered { name, .. } => Some(name.clone()),
            _ => None,
        })
        .collect()
}

/// Traffic on blue only, green's task set gone, blue primary again.
fn assert_back_on_blue(world: &World) {
    assert_eq!(world.green_weight(), 0, "no traffic on green");
    assert_eq!(world.blue_weight(), 100, "all traffic on blue");
    let sets = world.task_sets();
    assert_eq!(sets.len(), 1, "green is removed: {sets:#?}");
    assert_eq!(sets[0].id, BLUE_ID);
    assert_eq!(sets[0].status, TaskSetStatus::Primary);
}

async fn assert_rolled_back(world: &World, id: &str, outcome: &ExecutionOutcome, why: &[&str]) {
    let (error, cause) = failure(outcome);
    assert_eq!(error, "RolledBack", "cause: {cause}");
    for word in why {
        assert!(cause.contains(word), "{word:?} not in the cause {cause:?}");
    }
    assert_back_on_blue(world);
    let record = world.record(id).await;
    assert_eq!(record.status, DeploymentStatus::RolledBack);
    assert_eq!(record.reason.as_deref(), Some(cause.as_str()));
    assert_eq!(world.lock_holder().await, None, "lock released");
}

async fn act(world: &World, id: &str, action: Action, who: &str) -> String {
    let actor = Actor {
        identity: Identity::parse(who).unwrap(),
        via: Channel::Cli,
    };
    control::act(&world.deps, &actor, id, action)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .describe()
}

async fn awaiting_approval(world: &World, id: &str) {
    let record = world
        .record_when(id, "awaiting approval", |d| {
            matches!(d.status, DeploymentStatus::AwaitingApproval { .. })
        })
        .await;
    assert_eq!(
        record.pending_token.unwrap().kind,
        ferry_core::deployment::TokenKind::Approval
    );
}

const CANARY_STEPS: &str =
    "steps:\n    - { weight: 10, bake: 5m }\n    - { weight: 50, bake: 5m }\n    - { weight: 100 }";

// -------------------------------------------------------------------------------------------
// deploy

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stepped_deployment_moves_traffic_up_to_green_and_removes_blue() {
    let world = World::new(&manifest(CANARY_STEPS, ""));
    let outcome = world.deploy("web-1").await;

    assert_eq!(
        output(&outcome),
        json!({"outcome": "succeeded", "deploymentId": "web-1"})
    );
    assert_eq!(world.green_weights_written(), [10, 50, 100]);
    assert_eq!(world.green_weight(), 100);
    assert_eq!(world.blue_weight(), 0);
    let sets = world.task_sets();
    assert_eq!(sets.len(), 1, "blue is removed: {sets:#?}");
    assert_eq!(sets[0].external_id.as_deref(), Some("web-1"));
    assert_eq!(sets[0].status, TaskSetStatus::Primary);
    assert_eq!(sets[0].target_group_arns, [GREEN_TG]);

    let record = world.record("web-1").await;
    assert_eq!(record.status, DeploymentStatus::Succeeded);
    assert_eq!(record.source.author.as_deref(), Some("alice"));
    assert_eq!(world.lock_holder().await, None, "lock released");
    // Green was not stable at the first poll: the workflow waited and polled again.
    assert_eq!(world.calls_of("wait-stable").len(), 2);
    // The bakes ran their full time, then the alarms were judged after every step; blue was
    // kept warm (the bake function, alarms watched) before its removal.
    assert_eq!(world.calls_of("bake").len(), 3);
    assert_eq!(world.calls_of("check-alarms").len(), 3);
    assert_eq!(
        world.calls_of("finalize"),
        [
            json!({"deploymentId": "web-1", "phase": "promote"}),
            json!({"deploymentId": "web-1", "phase": "cleanup"})
        ]
    );
    assert!(world.calls_of("rollback").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_execution_name_is_the_deployment_id_and_optional_inputs_may_be_absent() {
    let world = World::new(&manifest("allAtOnce: {}", ""));
    let input = json!({"repository": REPO, "commit": COMMIT, "manifestPath": MANIFEST_PATH});
    let outcome = world.deploy.start("web-2", input).unwrap().wait().await;
    assert_eq!(output(&outcome)["deploymentId"], "web-2");
    assert_eq!(
        world.calls_of("plan")[0],
        json!({"repository": REPO, "commit": COMMIT, "manifestPath": MANIFEST_PATH, "deploymentId": "web-2"})
    );
    let record = world.record("web-2").await;
    assert_eq!(record.source.branch, None);
    assert_eq!(record.status, DeploymentStatus::Succeeded);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alarm_during_the_bake_rolls_back_to_blue_at_once() {
    // A one-hour bake: 3.6 s at this time scale, so only the alarm can end it in time.
    let world = World::new(&manifest("canary: { weight: 10, bake: 1h }", ""));
    let execution = world.deploy.start("web-3", world.deploy_input()).unwrap();
    world
        .record_when("web-3", "baking", |d| {
            matches!(d.status, DeploymentStatus::Baking { step: 0 })
        })
        .await;
    assert_eq!(world.green_weight(), 10);

    let fired = Instant::now();
    world
        .alarms
        .set("web-5xx", AlarmState::Alarm, "Threshold Crossed: 12 5xx");
    let watched = alarm_watch::handle(
        &world.deps,
        AlarmStateChange {
            alarm_name: "web-5xx".into(),
            state: AlarmStateValue {
                value: "ALARM".into(),
                reason: "Threshold Crossed: 12 5xx".into(),
            },
            previous_state: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(watched.failed_bakes, ["web-3"]);
    let outcome = execution.wait().await;
    assert!(
        fired.elapsed() < Duration::from_secs(2),
        "rolled back in {:?}, not at once",
        fired.elapsed()
    );

    assert_rolled_back(
        &world,
        "web-3",
        &outcome,
        &["AlarmBreached", "web-5xx", "Threshold Crossed"],
    )
    .await;
    assert_eq!(world.green_weights_written(), [10, 0]);
    assert!(world.calls_of("check-alarms").is_empty());
    let entered = states_entered(&outcome);
    assert_eq!(
        entered[entered.len() - 2..],
        ["Rollback".to_string(), "RolledBack".to_string()]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alarm_already_firing_when_the_bake_starts_rolls_back() {
    let world = World::new(&manifest("canary: { weight: 10, bake: 1h }", ""));
    world
        .alarms
        .set("web-5xx", AlarmState::Alarm, "Threshold Crossed");
    let outcome = world.deploy("web-4").await;
    assert_rolled_back(&world, "web-4", &outcome, &["AlarmBreached", "web-5xx"]).await;
    assert_eq!(world.green_weights_written(), [10, 0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approved_deployment_goes_on_to_green() {
    let world = World::new(&manifest(
        "canary: { weight: 10, bake: 1m }",
        "approval: { beforeTraffic: true, approvers: [U0ALICE], timeout: 1h }\n",
    ));
    let execution = world.deploy.start("web-5", world.deploy_input()).unwrap();
    awaiting_approval(&world, "web-5").await;
    assert_eq!(world.green_weight(), 0, "no traffic before the approval");
    assert_eq!(
        act(&world, "web-5", Action::Approve, "U0ALICE").await,
        "web-5: approved by U0ALICE via CLI"
    );
    let outcome = execution.wait().await;
    assert_eq!(output(&outcome)["outcome"], "succeeded");
    assert_eq!(world.green_weights_written(), [10, 100]);
    assert_eq!(
        world.record("web-5").await.status,
        DeploymentStatus::Succeeded
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_given_just_before_its_task_is_retried_still_counts() {
    let world = World::with(
        &manifest(
            "canary: { weight: 10, bake: 1m }",
            "approval: { beforeTraffic: true, timeout: 1h }\n",
        ),
        Behaviour {
            approval_fails_after_the_answer: true,
            ..Behaviour::default()
        },
        TIME_SCALE,
    );
    let execution = world.deploy.start("web-9", world.deploy_input()).unwrap();
    awaiting_approval(&world, "web-9").await;
    act(&world, "web-9", Action::Approve, "github:bob").await;
    let outcome = execution.wait().await;
    assert_eq!(output(&outcome)["outcome"], "succeeded");
    assert_eq!(world.calls_of("approval").len(), 2, "the task was retried");
    assert_eq!(world.green_weights_written(), [10, 100]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_deployment_rolls_back_without_sending_traffic_to_green() {
    let world = World::new(&manifest(
        "canary: { weight: 10, bake: 1m }",
        "approval: { beforeTraffic: true, timeout: 1h }\n",
    ));
    let execution = world.deploy.start("web-6", world.deploy_input()).unwrap();
    awaiting_approval(&world, "web-6").await;
    act(
        &world,
        "web-6",
        Action::Reject { reason: None },
        "github:bob",
    )
    .await;
    let outcome = execution.wait().await;
    assert_rolled_back(
        &world,
        "web-6",
        &outcome,
        &["Rejected", "rejected by github:bob via CLI"],
    )
    .await;
    assert!(
        world
            .green_weights_written()
            .iter()
            .all(|weight| *weight == 0),
        "green never got traffic: {:?}",
        world.green_weights_written()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aborted_deployment_rolls_back() {
    let world = World::new(&manifest(
        "canary: { weight: 10, bake: 1m }",
        "approval: { beforeTraffic: true, timeout: 1h }\n",
    ));
    let execution = world.deploy.start("web-7", world.deploy_input()).unwrap();
    awaiting_approval(&world, "web-7").await;
    act(
        &world,
        "web-7",
        Action::Rollback { reason: None },
        "local:carol",
    )
    .await;
    let outcome = execution.wait().await;
    assert_rolled_back(
        &world,
        "web-7",
        &outcome,
        &["Aborted", "rolled back by local:carol via CLI"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_that_times_out_goes_on_when_on_timeout_is_continue() {
    let world = World::new(&manifest(
        "canary: { weight: 10, bake: 1m }",
        "approval: { beforeTraffic: true, timeout: 30s, onTimeout: continue }\n",
    ));
    let outcome = world.deploy("web-8").await;
    assert_eq!(output(&outcome)["outcome"], "succeeded");
    assert_eq!(world.green_weights_written(), [10, 100]);
    assert!(states_entered(&outcome).contains(&"OnApprovalTimeout".to_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_that_times_out_rolls_back_when_on_timeout_is_rollback() {
    let world = World::new(&manifest(
        "canary: { weight: 10, bake: 1m }",
        "approval: { beforeTraffic: true, timeout: 30s, onTimeout: rollback }\n",
    ));
    let outcome = world.deploy("web-9").await;
    assert_rolled_back(
        &world,
        "web-9",
        &outcome,
        &[
            "ApprovalTimedOut",
            "nobody approved step 0 within 30 seconds",
        ],
    )
    .await;
    assert!(world.green_weights_written().iter().all(|w| *w == 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retryable_failure_is_retried_and_the_deployment_goes_on() {
    let world = World::new(&manifest("allAtOnce: {}", ""));
    // The first weight change is throttled: shift-weights fails with Retryable once.
    world
        .alb
        .fail_next_write(PortError::Transient("Throttling: Rate exceeded".into()));
    let outcome = world.deploy("web-10").await;
    assert_eq!(output(&outcome)["outcome"], "succeeded");
    let retries: Vec<(String, String)> = outcome
        .history
        .iter()
        .filter_map(|event| match &event.kind {
            EventKind::RetryScheduled { name, error, .. } => Some((name.clone(), error.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        retries,
        [("ShiftWeights".to_string(), "Retryable".to_string())]
    );
    assert_eq!(world.calls_of("shift-weights").len(), 2);
    assert_eq!(world.green_weight(), 100);
    assert!(world.calls_of("rollback").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_manifest_fails_at_plan_and_changes_nothing() {
    let world = World::new(&manifest("canary: { weight: 150, bake: 5m }", ""));
    let outcome = world.deploy("web-11").await;
    let (error, cause) = failure(&outcome);
    assert_eq!(error, "InvalidManifest");
    assert!(cause.contains(MANIFEST_PATH), "{cause}");
    assert!(cause.contains("strategy.canary.weight"), "{cause}");
    assert_eq!(world.calls(), ["plan"], "no rollback, nothing else");
    assert_eq!(
        states_entered(&outcome),
        ["NameDeployment", "Plan", "PlanRefused"]
    );
    assert!(world.store.get("web-11").await.unwrap().is_none());
    assert_eq!(world.lock_holder().await, None);
    assert!(world.alb.writes().is_empty());
    assert_eq!(world.task_sets().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployment_of_a_service_being_deployed_fails_at_plan_with_lock_held() {
    let world = World::new(&manifest("allAtOnce: {}", ""));
    // Another deployment has planned (lock taken, record pending) but not created green yet.
    let mut other: ferry_handlers::plan::PlanInput =
        serde_json::from_value(world.deploy_input()).unwrap();
    other.deployment_id = Some("web-12".into());
    ferry_handlers::plan::handle(&world.deps, other)
        .await
        .unwrap();

    let outcome = world.deploy("web-13").await;
    let (error, cause) = failure(&outcome);
    assert_eq!(error, "LockHeld");
    assert!(
        cause.contains("shop/web is being deployed by web-12"),
        "{cause}"
    );
    assert_eq!(
        states_entered(&outcome),
        ["NameDeployment", "Plan", "PlanRefused"]
    );
    // The other deployment is untouched.
    assert_eq!(world.lock_holder().await.as_deref(), Some("web-12"));
    assert!(world.store.get("web-13").await.unwrap().is_none());
    assert_eq!(world.calls(), ["plan"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployment_while_another_holds_at_a_preset_is_refused_at_plan() {
    let world = World::new(&manifest("preset: split", ""));
    assert_eq!(output(&world.deploy("web-17").await)["outcome"], "holding");
    let outcome = world.deploy("web-18").await;
    let (error, cause) = failure(&outcome);
    // The holding deployment still owns the service: that is what the refusal names.
    assert_eq!(error, "LockHeld");
    assert!(
        cause.contains("shop/web is being deployed by web-17 (holding"),
        "{cause}"
    );
    assert_eq!(world.lock_holder().await.as_deref(), Some("web-17"));
    assert_eq!(world.green_weight(), 50);
    assert!(world.calls_of("rollback").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn green_that_never_stabilises_is_rolled_back_by_the_poll_guard() {
    // The handler's own timeout never fires here (the clock stands still), so only the
    // workflow's poll counter ends the loop.
    let behaviour = Behaviour {
        steady_on_poll: None,
        seconds_per_poll: 0,
        ..Behaviour::default()
    };
    let world = World::with(&manifest("allAtOnce: {}", ""), behaviour, 0.0001);
    let outcome = world.deploy("web-14").await;
    assert_rolled_back(
        &world,
        "web-14",
        &outcome,
        &["StabilizationTimeout", "polled 120 times"],
    )
    .await;
    assert_eq!(world.calls_of("wait-stable").len(), 120);
    assert!(world.alb.writes().iter().all(|(_, s)| s.green_weight == 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn green_that_does_not_stabilise_in_time_is_rolled_back_by_the_handler() {
    // 100 s pass between polls; the handler gives up after its 600 s stabilisation timeout.
    let behaviour = Behaviour {
        steady_on_poll: None,
        seconds_per_poll: 100,
        ..Behaviour::default()
    };
    let world = World::with(&manifest("allAtOnce: {}", ""), behaviour, TIME_SCALE);
    let outcome = world.deploy("web-15").await;
    assert_rolled_back(
        &world,
        "web-15",
        &outcome,
        &["StabilizationTimeout", "not stable after 700s"],
    )
    .await;
    assert_eq!(world.calls_of("wait-stable").len(), 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_three_step_canary_takes_a_known_number_of_state_transitions() {
    // Green stable at the first poll; steps 10% (bake 5m), 50% (bake 5m), 100%.
    let behaviour = Behaviour {
        steady_on_poll: Some(1),
        seconds_per_poll: 0,
        ..Behaviour::default()
    };
    let world = World::with(&manifest(CANARY_STEPS, ""), behaviour, TIME_SCALE);
    let outcome = world.deploy("web-16").await;
    assert_eq!(output(&outcome)["outcome"], "succeeded");
    let entered = states_entered(&outcome);
    println!(
        "three-step canary (10% bake 5m, 50% bake 5m, 100%), green stable at the first poll: {} state transitions\n{}",
        outcome.state_transitions,
        entered.join(" -> ")
    );
    // NameDeployment, Plan, CreateTaskSet, StartPolling, WaitUntilStable, CountPoll,
    // IsGreenStable, Steps = 8; per step NeedsApproval, ShiftWeights, NeedsBake, [Bake],
    // CheckAlarms, NeedsAfterStepHooks, StepDone = 7 + 7 + 6; HoldsAtPreset, Promote,
    // NeedsKeepWarm, KeepBlueWarm, Cleanup, Succeeded = 6. Hooks add their own states only
    // when the manifest has some.
    // Every further poll of green adds 4 (WaitBeforePolling, WaitUntilStable, CountPoll,
    // IsGreenStable).
    assert_eq!(entered.len(), 34);
    assert_eq!(outcome.state_transitions, 34);
}

// -------------------------------------------------------------------------------------------
// traffic

/// The traffic workflow's input, as every front end builds it.
fn traffic(deployment_id: &str, action: TrafficAction, weight: Option<u8>) -> Value {
    TrafficRequest {
        deployment_id: deployment_id.into(),
        action,
        weight,
        reason: None,
    }
    .to_json()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_preset_is_moved_by_hand_then_promoted_to_green() {
    let world = World::new(&manifest("preset: split", ""));
    let held = world.deploy("web-20").await;
    assert_eq!(
        output(&held),
        json!({"outcome": "holding", "deploymentId": "web-20"})
    );
    assert_eq!(world.green_weight(), 50);
    assert_eq!(world.task_sets().len(), 2, "blue and green both run");
    assert!(matches!(
        world.record("web-20").await.status,
        DeploymentStatus::Holding { .. }
    ));
    assert_eq!(world.lock_holder().await.as_deref(), Some("web-20"));

    let moved = world
        .traffic(
            "web-20-preset",
            traffic("web-20", TrafficAction::Preset, Some(80)),
        )
        .await;
    assert_eq!(
        output(&moved),
        json!({"outcome": "holding", "deploymentId": "web-20", "weight": 80})
    );
    assert_eq!(world.green_weight(), 80);

    let promoted = world
        .traffic(
            "web-20-promote",
            traffic("web-20", TrafficAction::Promote, None),
        )
        .await;
    assert_eq!(
        output(&promoted),
        json!({"outcome": "succeeded", "deploymentId": "web-20"})
    );
    assert_eq!(world.green_weight(), 100);
    let sets = world.task_sets();
    assert_eq!(sets.len(), 1, "blue is removed");
    assert_eq!(
        world.primary_task_set().external_id.as_deref(),
        Some("web-20")
    );
    assert_eq!(
        world.record("web-20").await.status,
        DeploymentStatus::Succeeded
    );
    assert_eq!(world.lock_holder().await, None);
    assert_eq!(world.green_weights_written(), [50, 80, 100]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_preset_is_rolled_back_by_hand() {
    let world = World::new(&manifest("preset: green-80", ""));
    assert_eq!(output(&world.deploy("web-21").await)["outcome"], "holding");
    let outcome = world
        .traffic(
            "web-21-rollback",
            traffic("web-21", TrafficAction::Rollback, None),
        )
        .await;
    let result = output(&outcome);
    assert_eq!(result["outcome"], "rolledBack");
    assert_eq!(result["deploymentId"], "web-21");
    assert_eq!(
        result["reason"],
        "ManualRollback: rolled back by hand with the traffic workflow"
    );
    assert_back_on_blue(&world);
    let record = world.record("web-21").await;
    assert_eq!(record.status, DeploymentStatus::RolledBack);
    assert_eq!(world.lock_holder().await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_traffic_workflow_refuses_bad_input_with_a_clear_error() {
    let world = World::new(&manifest("preset: split", ""));
    let cases = [
        (
            json!({"deploymentId": "web-22", "action": "promote-now"}),
            "UnknownAction",
            "action \"promote-now\" is not one of preset, promote, rollback",
        ),
        (
            json!({"deploymentId": "web-22", "action": "preset"}),
            "InvalidWeight",
            "weight",
        ),
        (
            json!({"deploymentId": "web-22", "action": "preset", "weight": 120}),
            "InvalidWeight",
            "0 to 100",
        ),
        (json!({"action": "promote"}), "InvalidInput", "deploymentId"),
        (
            // Not holding (there is no such deployment): the handler refuses.
            json!({"deploymentId": "web-22", "action": "preset", "weight": 20}),
            "NonRetryable",
            "deployment web-22 does not exist",
        ),
    ];
    for (i, (input, error, cause)) in cases.into_iter().enumerate() {
        let outcome = world.traffic(&format!("bad-{i}"), input.clone()).await;
        let (found_error, found_cause) = failure(&outcome);
        assert_eq!(found_error, error, "for {input}: {found_cause}");
        assert!(
            found_cause.contains(cause),
            "for {input}: {cause:?} not in {found_cause:?}"
        );
    }
    assert!(world.alb.writes().is_empty());
}

// -------------------------------------------------------------------------------------------
// the documented inputs (docs/schemas/examples): what a manual execution passes

fn example(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs/schemas/examples")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// The example with the deployment id this test made.
fn example_for(name: &str, deployment_id: &str) -> Value {
    let mut input = example(name);
    input["deploymentId"] = json!(deployment_id);
    input
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documented_examples_start_each_workflow() {
    let world = World::new(&manifest("preset: split", ""));
    let held = world
        .deploy
        .start("web-30", example("deploy-input.json"))
        .unwrap()
        .wait()
        .await;
    assert_eq!(output(&held)["outcome"], "holding");
    let moved = world
        .traffic(
            "web-30-preset",
            example_for("traffic-preset.json", "web-30"),
        )
        .await;
    assert_eq!(output(&moved)["weight"], 50);
    let promoted = world
        .traffic(
            "web-30-promote",
            example_for("traffic-promote.json", "web-30"),
        )
        .await;
    assert_eq!(output(&promoted)["outcome"], "succeeded");

    let world = World::new(&manifest("preset: green-80", ""));
    world
        .deploy
        .start("web-31", example("deploy-input.json"))
        .unwrap()
        .wait()
        .await;
    let rolled_back = world
        .traffic(
            "web-31-rollback",
            example_for("traffic-rollback.json", "web-31"),
        )
        .await;
    assert_eq!(output(&rolled_back)["outcome"], "rolledBack");
    assert!(
        output(&rolled_back)["reason"]
            .as_str()
            .unwrap()
            .contains("5xx rising in the EU region")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deploy_input_without_a_field_fails_at_plan_naming_it() {
    let world = World::new(&manifest("allAtOnce: {}", ""));
    let mut input = example("deploy-input.json");
    input.as_object_mut().unwrap().remove("commit");
    let outcome = world.deploy.start("web-32", input).unwrap().wait().await;
    let (_, cause) = failure(&outcome);
    assert!(cause.contains("missing field `commit`"), "{cause}");
    assert!(world.alb.writes().is_empty());
    assert!(world.task_sets().len() == 1, "nothing created");
}

// -------------------------------------------------------------------------------------------
// the files themselves

#[test]
fn every_placeholder_is_a_function_that_terraform_binds() {
    let names = |name: &str| -> BTreeSet<String> {
        ferry_engine::placeholders(&template(name))
            .into_iter()
            .collect()
    };
    let expected = |functions: &[&str]| -> BTreeSet<String> {
        functions
            .iter()
            .map(|f| format!("{}_function_arn", f.replace('-', "_")))
            .collect()
    };
    // infra/terraform/main.tf: locals deploy_definition_vars and traffic_definition_vars.
    assert_eq!(
        names("deploy"),
        expected(&[
            "plan",
            "create-taskset",
            "wait-stable",
            "approval",
            "shift-weights",
            "bake",
            "check-alarms",
            "run-hooks",
            "finalize",
            "rollback",
        ])
    );
    assert_eq!(
        names("traffic"),
        expected(&["shift-weights", "run-hooks", "finalize", "rollback", "bake"])
    );
}

/// Records the order in which Map iterations call their task.
struct Recorder(Arc<Mutex<Vec<u64>>>);

#[async_trait::async_trait]
impl TaskDispatcher for Recorder {
    async fn invoke(&self, _function: &str, payload: Value) -> Result<Value, TaskFailure> {
        let index = payload["step"].as_u64().unwrap();
        self.0.lock().unwrap().push(index);
        // Let the other worker thread run, as a real Lambda call would.
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(1)).await;
        Ok(payload)
    }
}

/// The Steps map relies on it: with MaxConcurrency 1, AWS runs the iterations one at a time in
/// the order of the array.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_map_with_max_concurrency_one_runs_its_items_in_order() {
    let definition = json!({
        "StartAt": "Each",
        "States": {"Each": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "MaxConcurrency": 1,
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "INLINE"},
                "StartAt": "Step",
                "States": {"Step": {"Type": "Task", "Resource": function_arn("shift-weights"), "End": true}}
            },
            "End": true
        }}
    });
    let seen = Arc::new(Mutex::new(Vec::new()));
    let executor = Executor::new(
        ferry_engine::load(&definition.to_string()).unwrap(),
        Arc::new(Recorder(seen.clone())),
        EngineOptions::default(),
    );
    let items: Vec<Value> = (0..40).map(|step| json!({"step": step})).collect();
    let outcome = executor
        .start("ordered", json!({"items": items}))
        .unwrap()
        .wait()
        .await;
    assert!(outcome.succeeded(), "{:?}", outcome.status);
    assert_eq!(*seen.lock().unwrap(), (0..40).collect::<Vec<u64>>());
}
