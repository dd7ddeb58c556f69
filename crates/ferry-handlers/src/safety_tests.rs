//! The safety promises under faults and races, over the in-memory fakes: a rollback never sends
//! traffic to a blue that cannot serve, cleanup only rolls forward, a failed rollback is
//! recorded and recoverable, lock and record are one write, traffic writers are fenced, alarms
//! guard the whole deployment, and an error has one name wherever a handler runs.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use ferry_core::DeploymentStatus;
use ferry_core::deployment::TokenKind;
use ferry_core::ports::*;
use serde_json::json;
use tokio::sync::Notify;

use crate::alarm_watch::{AlarmStateChange, AlarmStateValue};
use crate::finalize::{FinalizeInput, Phase};
use crate::rollback::RollbackInput;
use crate::testing::*;
use crate::wait_token::{WaitPurpose, WaitTokenInput};
use crate::*;

fn rollback_input(deployment: &str, give_up: bool) -> RollbackInput {
    RollbackInput {
        deployment_id: deployment.into(),
        error: Some("AlarmBreached".into()),
        cause: Some("alarm web-5xx".into()),
        give_up,
    }
}

fn finalize(deployment: &str, phase: Phase) -> FinalizeInput {
    FinalizeInput {
        deployment_id: deployment.into(),
        phase,
    }
}

fn wait(deployment: &str, step: usize, token: &str, purpose: WaitPurpose) -> WaitTokenInput {
    WaitTokenInput {
        deployment_id: deployment.into(),
        step,
        task_token: token.into(),
        purpose,
    }
}

async fn record(world: &World, deployment: &str) -> ferry_core::Deployment {
    world.store.get(deployment).await.unwrap().unwrap()
}

/// Planned, green created and stable, ready to shift.
async fn provisioned(world: &World, deployment: &str) {
    planned_and_created(world, deployment).await;
    world.ecs.set_steady("shop", "web", true);
}

/// Promoted: all traffic on green, green primary, blue kept warm.
async fn promoted(world: &World, deployment: &str) {
    provisioned(world, deployment).await;
    shift_weights::handle(&world.deps, shift(deployment, 0))
        .await
        .unwrap();
    finalize::handle(&world.deps, finalize(deployment, Phase::Promote))
        .await
        .unwrap();
}

fn task_set_ids(world: &World) -> Vec<String> {
    let mut ids: Vec<String> = world
        .ecs
        .service("shop", "web")
        .unwrap()
        .task_sets
        .into_iter()
        .map(|set| set.id)
        .collect();
    ids.sort();
    ids
}

// ---------------------------------------------------------------------------------------------
// Defect 3: a failed cleanup never sends traffic to a blue that is (half) gone

#[tokio::test]
async fn a_cleanup_that_fails_after_blue_removal_began_rolls_forward_and_never_moves_traffic() {
    let world = World::new(&manifest("allAtOnce: {}", ""));
    promoted(&world, "d1").await;
    world.ecs.fail_next(
        "delete_task_set",
        PortError::Transient("InternalError".into()),
    );
    let error = finalize::handle(&world.deps, finalize("d1", Phase::Cleanup))
        .await
        .unwrap_err();
    assert_eq!(error.error_type(), "Retryable");
    assert!(record(&world, "d1").await.cleanup_started);
    let writes_before = world.alb.writes().len();

    // The state machine's Catch sends the failure to Rollback: it must finish the removal.
    let ended = rollback::handle(&world.deps, rollback_input("d1", false))
        .await
        .unwrap();
    assert_eq!(ended.status, "succeeded");
    assert_eq!(world.alb.writes().len(), writes_before, "traffic untouched");
    assert_eq!(world.green_weight(), 100);
    let service = world.ecs.service("shop", "web").unwrap();
    assert_eq!(service.task_sets.len(), 1, "blue removed");
    assert_eq!(service.task_sets[0].status, TaskSetStatus::Primary);
    assert_ne!(service.task_sets[0].id, "ecs-svc/blue");
    assert!(world.store.get_lock("shop/web").await.unwrap().is_none());
}

#[tokio::test]
async fn rollback_refuses_to_send_traffic_to_a_blue_that_is_gone_and_leaves_it_where_it_is() {
    let world = World::new(&manifest("allAtOnce: {}", ""));
    promoted(&world, "d1").await;
    // Someone deleted blue by hand while it was kept warm.
    world
        .ecs
        .delete_task_set("shop", "web", "ecs-svc/blue")
        .await
        .unwrap();
    let error = rollback::handle(&world.deps, rollback_input("d1", false))
        .await
        .unwrap_err();
    assert_eq!(error.error_type(), "NonRetryable");
    assert!(error.message.contains("no longer exists"), "{error}");
    assert!(error.message.contains("ferry rollback d1"), "{error}");
    assert_eq!(world.green_weight(), 100, "green keeps serving");
    assert_eq!(task_set_ids(&world).len(), 1, "green is not removed");
}

#[tokio::test]
async fn rollback_refuses_a_blue_that_does_not_run_its_desired_count() {
    let world = World::new(&manifest("canary: { weight: 10, bake: 5m }", ""));
    provisioned(&world, "d1").await;
    shift_weights::handle(&world.deps, shift("d1", 0))
        .await
        .unwrap();
    // Blue's tasks are crashing: 0 of 2 running.
    world.ecs.set_running("shop", "web", "ecs-svc/blue", 0);
    let error = rollback::handle(&world.deps, rollback_input("d1", false))
        .await
        .unwrap_err();
    assert!(error.message.contains("runs 0 of its 2 tasks"), "{error}");
    assert_eq!(world.green_weight(), 10, "traffic left where it was");
}

// ---------------------------------------------------------------------------------------------
// Defect 4: a rollback that cannot finish is recorded, frees the service, and can be finished

#[tokio::test]
async fn giving_up_records_failed_releases_the_lock_and_says_how_to_recover() {
    let world = World::new(&manifest("canary: { weight: 10, bake: 5m }", ""));
    provisioned(&world, "d1").await;
    shift_weights::handle(&world.deps, shift("d1", 0))
        .await
        .unwrap();
    let failed = rollback::handle(&world.deps, rollback_input("d1", true))
        .await
        .unwrap();
    assert_eq!(failed.status, "failed");
    let stored = record(&world, "d1").await;
    assert_eq!(stored.status, DeploymentStatus::Failed);
    assert!(
        stored
            .reason
            .as_deref()
            .unwrap()
            .contains("ferry rollback d1")
    );
    assert!(world.store.get_lock("shop/web").await.unwrap().is_none());
    let names = world.notifier.names();
    assert!(names.contains(&"failed".to_string()), "{names:?}");
    assert_eq!(world.green_weight(), 10, "giving up changes nothing in AWS");

    // The documented recovery: `ferry rollback` runs the rollback again and finishes it.
    let recovered = rollback::handle(&world.deps, rollback_input("d1", false))
        .await
        .unwrap();
    assert_eq!(recovered.status, "rolled-back");
    assert_eq!(world.green_weight(), 0);
    assert_eq!(task_set_ids(&world), ["ecs-svc/blue"]);
}

#[tokio::test]
async fn a_rollback_retried_after_it_finished_changes_nothing_and_giving_up_then_keeps_the_truth() {
    let world = World::new(&manifest("allAtOnce: {}", ""));
    provisioned(&world, "d1").await;
    rollback::handle(&world.deps, rollback_input("d1", false))
        .await
        .unwrap();
    let again = rollback::handle(&world.deps, rollback_input("d1", true))
        .await
        .unwrap();
    assert_eq!(again.status, "rolled-back");
    assert_eq!(
        record(&world, "d1").await.status,
        DeploymentStatus::RolledBack
    );
}

// ---------------------------------------------------------------------------------------------
// Defect 5: lock and record are one write

#[tokio::test]
async fn a_lock_whose_holder_has_no_record_yet_is_not_taken_over() {
    let world = World::new(&manifest("allAtOnce: {}", ""));
    // Another plan's write in flight: its lock exists, its record does not (yet).
    let now = world.deps.clock.now();
    world
        .store
        .acquire_lock(
            "shop/web",
            "other",
            now,
            now + time::Duration::seconds(3600),
        )
        .await
        .unwrap();
    let error = plan::handle(&world.deps, world.plan_input("d2"))
        .await
        .unwrap_err();
    assert_eq!(error.error_type(), "LockHeld");
    assert!(world.store.get("d2").await.unwrap().is_none(), "no record");
    assert_eq!(
        world
            .store
            .get_lock("shop/web")
            .await
            .unwrap()
            .unwrap()
            .deployment_id,
        "other"
    );
}

#[tokio::test]
async fn two_plans_at_once_record_exactly_one_deployment() {
    let world = World::new(&manifest("allAtOnce: {}", ""));
    let (first, second) = tokio::join!(
        plan::handle(&world.deps, world.plan_input("d1")),
        plan::handle(&world.deps, world.plan_input("d2")),
    );
    let outcomes = [first.is_ok(), second.is_ok()];
    assert_eq!(outcomes.iter().filter(|ok| **ok).count(), 1, "{outcomes:?}");
    let winner = if outcomes[0] { "d1" } else { "d2" };
    let loser = if outcomes[0] { "d2" } else { "d1" };
    assert!(world.store.get(loser).await.unwrap().is_none());
    assert_eq!(
        world
            .store
            .get_lock("shop/web")
            .await
            .unwrap()
            .unwrap()
            .deployment_id,
        winner
    );
}

// ---------------------------------------------------------------------------------------------
// Defect 6: traffic writers are fenced; handlers refuse a deployment that is rolling back

/// A router whose green-weight writes wait at a gate, to interleave a shift with a rollback.
struct GatedRouter {
    inner: Arc<dyn TrafficRouter>,
    reached: Arc<Notify>,
    open: Arc<Notify>,
}

#[async_trait]
impl TrafficRouter for GatedRouter {
    async fn read_weights(&self, route: &RouteRef) -> PortResult<Vec<TargetGroupWeight>> {
        self.inner.read_weights(route).await
    }

    async fn set_weights(&self, route: &RouteRef, split: &Split) -> PortResult<()> {
        if split.green_weight > 0 {
            self.reached.notify_one();
            self.open.notified().await;
        }
        self.inner.set_weights(route, split).await
    }
}

#[tokio::test]
async fn a_shift_in_flight_when_a_rollback_starts_cannot_leave_traffic_on_a_removed_green() {
    let world = World::new(&manifest("canary: { weight: 50, bake: 5m }", ""));
    provisioned(&world, "d1").await;
    let reached = Arc::new(Notify::new());
    let open = Arc::new(Notify::new());
    let mut deps = world.deps.clone();
    deps.traffic = Arc::new(GatedRouter {
        inner: world.alb.clone(),
        reached: reached.clone(),
        open: open.clone(),
    });
    deps.settings.fence_lease = Duration::from_millis(200);

    // The shift writes its fence, then its ModifyListener hangs (a slow call).
    let shift_deps = deps.clone();
    let shifting =
        tokio::spawn(async move { shift_weights::handle(&shift_deps, shift("d1", 0)).await });
    reached.notified().await;
    // A rollback starts meanwhile; the late write lands while it waits for the fence.
    let rollback_deps = deps.clone();
    let rolling =
        tokio::spawn(
            async move { rollback::handle(&rollback_deps, rollback_input("d1", false)).await },
        );
    tokio::time::sleep(Duration::from_millis(50)).await;
    open.notify_one();
    let rolled = rolling.await.unwrap().unwrap();
    assert_eq!(rolled.status, "rolled-back");
    let shifted = shifting.await.unwrap();
    assert!(shifted.is_err(), "the shift lost the race: {shifted:?}");

    assert_eq!(world.green_weight(), 0, "no weight on the removed green");
    assert_eq!(task_set_ids(&world), ["ecs-svc/blue"]);
    let writes = world.alb.writes();
    assert_eq!(writes.last().unwrap().1.green_weight, 0, "{writes:?}");
    // A retry of the shift now refuses without touching the listener.
    let retry = shift_weights::handle(&world.deps, shift("d1", 0))
        .await
        .unwrap_err();
    assert_eq!(retry.error_type(), "NonRetryable");
    assert_eq!(world.alb.writes().len(), writes.len());
}

#[tokio::test]
async fn handlers_that_move_forward_refuse_a_deployment_that_is_rolling_back() {
    let world = World::new(&manifest(
        "steps: [ {weight: 10, bake: 5m}, {weight: 100, approve: true} ]",
        "",
    ));
    provisioned(&world, "d1").await;
    let mut stored = record(&world, "d1").await;
    stored.status = DeploymentStatus::RollingBack;
    world.store.update(&mut stored).await.unwrap();
    let version = record(&world, "d1").await.version;
    let writes = world.alb.writes().len();

    let errors = [
        create_taskset::handle(&world.deps, id("d1")).await.err(),
        wait_stable::handle(&world.deps, id("d1")).await.err(),
        shift_weights::handle(&world.deps, shift("d1", 0))
            .await
            .err(),
        wait_token::bake(&world.deps, wait("d1", 0, "t1", WaitPurpose::Bake))
            .await
            .err(),
        wait_token::approval(&world.deps, wait("d1", 1, "t2", WaitPurpose::Bake))
            .await
            .err(),
        finalize::handle(&world.deps, finalize("d1", Phase::Promote))
            .await
            .err(),
    ];
    for error in errors {
        let error = error.expect("refused");
        assert_eq!(error.error_type(), "NonRetryable", "{error}");
    }
    let after = record(&world, "d1").await;
    assert_eq!(
        after.status,
        DeploymentStatus::RollingBack,
        "not overwritten"
    );
    assert_eq!(after.version, version, "nothing written");
    assert_eq!(world.alb.writes().len(), writes);
}

#[tokio::test]
async fn rollback_removes_every_task_set_carrying_the_deployment_id() {
    let world = World::new(&manifest("allAtOnce: {}", ""));
    provisioned(&world, "d1").await;
    // A second green that a lost CreateTaskSet answer left behind.
    let stray = world
        .ecs
        .create_task_set(&NewTaskSet {
            cluster: "shop".into(),
            service: "web".into(),
            task_definition_arn: "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:2".into(),
            external_id: "d1".into(),
            target_group_arn: GREEN_TG.into(),
            container_name: "web".into(),
            container_port: 8080,
            placement: Placement::default(),
            scale_percent: 100.0,
        })
        .await
        .unwrap();
    assert_eq!(task_set_ids(&world).len(), 3);
    rollback::handle(&world.deps, rollback_input("d1", false))
        .await
        .unwrap();
    assert_eq!(
        task_set_ids(&world),
        ["ecs-svc/blue"],
        "{} removed too",
        stray.id
    );
}

#[tokio::test]
async fn traffic_never_moves_to_a_green_that_is_gone() {
    let world = World::new(&manifest("canary: { weight: 10, bake: 5m }", ""));
    provisioned(&world, "d1").await;
    let green = record(&world, "d1").await.green.unwrap();
    world
        .ecs
        .delete_task_set("shop", "web", &green.id)
        .await
        .unwrap();
    let error = shift_weights::handle(&world.deps, shift("d1", 0))
        .await
        .unwrap_err();
    assert_eq!(error.error_type(), "NonRetryable");
    assert_eq!(world.green_weight(), 0);
}

// ---------------------------------------------------------------------------------------------
// Defect 7: alarms guard the deployment from the first shift until blue's removal

fn alarm() -> AlarmStateChange {
    AlarmStateChange {
        alarm_name: "web-5xx".into(),
        state: AlarmStateValue {
            value: "ALARM".into(),
            reason: "Threshold Crossed: 5xx > 1%".into(),
        },
        previous_state: None,
    }
}

#[tokio::test]
async fn an_alarm_while_blue_is_kept_warm_fails_the_keep_warm_wait() {
    let world = World::new(&manifest("allAtOnce: {}", ""));
    promoted(&world, "d1").await;
    wait_token::bake(&world.deps, wait("d1", 0, "warm-1", WaitPurpose::KeepWarm))
        .await
        .unwrap();
    let stored = record(&world, "d1").await;
    assert_eq!(stored.pending_token.unwrap().kind, TokenKind::KeepWarm);
    assert_eq!(stored.status, DeploymentStatus::Finalizing);

    let output = alarm_watch::handle(&world.deps, alarm()).await.unwrap();
    assert_eq!(output.failed_bakes, ["d1"]);
    let failures = world.workflows.failures.lock().unwrap().clone();
    assert_eq!(failures[0].0, "warm-1");
    assert_eq!(failures[0].1, "AlarmBreached");

    // The rollback that follows returns to blue, which still runs.
    rollback::handle(&world.deps, rollback_input("d1", false))
        .await
        .unwrap();
    assert_eq!(task_set_ids(&world), ["ecs-svc/blue"]);
    assert_eq!(world.green_weight(), 0);
}

#[tokio::test]
async fn keeping_blue_warm_fails_at_once_when_an_alarm_already_fires() {
    let world = World::new(&manifest("allAtOnce: {}", ""));
    promoted(&world, "d1").await;
    world.alarms.set("web-5xx", AlarmState::Alarm, "5xx");
    let error = wait_token::bake(&world.deps, wait("d1", 0, "warm", WaitPurpose::KeepWarm))
        .await
        .unwrap_err();
    assert_eq!(error.error_type(), "AlarmBreached");
}

#[tokio::test]
async fn an_alarm_during_a_later_approval_fails_the_approval_once_traffic_moved() {
    let world = World::new(&manifest(
        "steps: [ {weight: 10}, {weight: 100, approve: true} ]",
        "",
    ));
    provisioned(&world, "d1").await;
    shift_weights::handle(&world.deps, shift("d1", 0))
        .await
        .unwrap();
    wait_token::approval(&world.deps, wait("d1", 1, "approve-1", WaitPurpose::Bake))
        .await
        .unwrap();
    let output = alarm_watch::handle(&world.deps, alarm()).await.unwrap();
    assert_eq!(output.failed_bakes, ["d1"]);
    assert_eq!(
        world.workflows.failures.lock().unwrap()[0].1,
        "AlarmBreached"
    );

    // And an approval that starts while the alarm fires fails at once.
    world.alarms.set("web-5xx", AlarmState::Alarm, "5xx");
    let error = wait_token::approval(&world.deps, wait("d1", 1, "approve-2", WaitPurpose::Bake))
        .await
        .unwrap_err();
    assert_eq!(error.error_type(), "AlarmBreached");
}

#[tokio::test]
async fn an_approval_before_any_traffic_is_not_failed_by_an_alarm() {
    let world = World::new(&manifest(
        "allAtOnce: {}",
        "approval: { beforeTraffic: true }\n",
    ));
    provisioned(&world, "d1").await;
    wait_token::approval(&world.deps, wait("d1", 0, "approve-1", WaitPurpose::Bake))
        .await
        .unwrap();
    let output = alarm_watch::handle(&world.deps, alarm()).await.unwrap();
    assert!(output.failed_bakes.is_empty());
}

#[tokio::test]
async fn an_alarm_while_a_preset_holds_starts_the_traffic_rollback_once() {
    let world = World::new(&manifest("preset: green-80", ""));
    provisioned(&world, "d1").await;
    shift_weights::handle(&world.deps, shift("d1", 0))
        .await
        .unwrap();
    assert!(matches!(
        record(&world, "d1").await.status,
        DeploymentStatus::Holding { .. }
    ));
    alarm_watch::handle(&world.deps, alarm()).await.unwrap();
    alarm_watch::handle(&world.deps, alarm()).await.unwrap(); // redelivered
    let started = world.workflows.started.lock().unwrap().clone();
    assert_eq!(started.len(), 1, "{started:?}");
    let (workflow, name, input) = &started[0];
    assert_eq!(*workflow, Workflow::Traffic);
    assert_eq!(name, "d1-alarm");
    assert_eq!(input["action"], "rollback");
    assert_eq!(input["deploymentId"], "d1");
    assert!(input["reason"].as_str().unwrap().contains("web-5xx"));
}

// ---------------------------------------------------------------------------------------------
// Defect 11: INSUFFICIENT_DATA is a manifest choice, pass by default

fn insufficient() -> AlarmStateChange {
    AlarmStateChange {
        alarm_name: "web-5xx".into(),
        state: AlarmStateValue {
            value: "INSUFFICIENT_DATA".into(),
            reason: "Insufficient Data: 1 datapoint was unknown".into(),
        },
        previous_state: None,
    }
}

async fn baking_with_insufficient_data(world: &World) {
    provisioned(world, "d1").await;
    shift_weights::handle(&world.deps, shift("d1", 0))
        .await
        .unwrap();
    wait_token::bake(&world.deps, wait("d1", 0, "bake-1", WaitPurpose::Bake))
        .await
        .unwrap();
    world
        .alarms
        .set("web-5xx", AlarmState::InsufficientData, "no data");
}

fn check(deployment: &str) -> check_alarms::CheckAlarmsInput {
    check_alarms::CheckAlarmsInput {
        deployment_id: deployment.into(),
        step: Some(0),
    }
}

#[tokio::test]
async fn insufficient_data_passes_by_default() {
    let world = World::new(&manifest("canary: { weight: 10, bake: 5m }", ""));
    baking_with_insufficient_data(&world).await;
    let output = alarm_watch::handle(&world.deps, insufficient())
        .await
        .unwrap();
    assert!(output.failed_bakes.is_empty());
    assert!(world.workflows.failures.lock().unwrap().is_empty());
    let verdict = check_alarms::handle(&world.deps, check("d1"))
        .await
        .unwrap();
    assert!(verdict.analysis.passes());
    assert!(matches!(
        verdict.analysis,
        ferry_core::analysis::Analysis::Inconclusive { .. }
    ));
}

#[tokio::test]
async fn insufficient_data_rolls_back_when_the_manifest_says_so() {
    let world = World::new(&manifest(
        "canary: { weight: 10, bake: 5m }",
        "rollback: { onInsufficientData: rollback }\n",
    ));
    baking_with_insufficient_data(&world).await;
    let output = alarm_watch::handle(&world.deps, insufficient())
        .await
        .unwrap();
    assert_eq!(output.failed_bakes, ["d1"]);
    let failures = world.workflows.failures.lock().unwrap().clone();
    assert_eq!(failures[0].1, "AlarmBreached");
    assert!(
        failures[0].2.contains("INSUFFICIENT_DATA"),
        "{}",
        failures[0].2
    );

    let error = check_alarms::handle(&world.deps, check("d1"))
        .await
        .unwrap_err();
    assert_eq!(error.error_type(), "AlarmBreached");
    let error = wait_token::bake(&world.deps, wait("d1", 0, "bake-2", WaitPurpose::Bake))
        .await
        .unwrap_err();
    assert_eq!(error.error_type(), "AlarmBreached");
}

#[tokio::test]
async fn plan_warns_when_a_bake_is_shorter_than_an_alarm_can_react() {
    let world = World::new(&manifest("canary: { weight: 10, bake: 1m }", ""));
    world.alarms.set_reaction("web-5xx", 300);
    planned_and_created(&world, "d1").await;
    let stored = record(&world, "d1").await;
    let warning = stored
        .history
        .iter()
        .find_map(|entry| match &entry.event {
            ferry_core::deployment::Event::Warning { message } => Some(message.clone()),
            _ => None,
        })
        .expect("a warning in the history");
    assert!(
        warning.contains("alarm web-5xx needs 300s") && warning.contains("bakes 60s"),
        "{warning}"
    );

    let quick = World::new(&manifest("canary: { weight: 10, bake: 5m }", ""));
    quick.alarms.set_reaction("web-5xx", 300);
    planned_and_created(&quick, "d1").await;
    assert!(
        !record(&quick, "d1")
            .await
            .history
            .iter()
            .any(|entry| entry.event.name() == "warning")
    );
}

// ---------------------------------------------------------------------------------------------
// An answer given while a wait's task was about to be retried is not lost

#[tokio::test]
async fn an_answer_to_a_task_that_was_then_retried_ends_the_retried_task() {
    let someone = control::Actor {
        identity: control::Identity::Local("carol".into()),
        via: control::Channel::Cli,
    };
    for (action, error) in [
        (control::Action::Approve, "Approved"),
        (control::Action::Reject { reason: None }, "Rejected"),
        (control::Action::Rollback { reason: None }, "Aborted"),
    ] {
        let world = World::new(&manifest(
            "canary: { weight: 10, bake: 5m }",
            "approval: { beforeTraffic: true }\n",
        ));
        provisioned(&world, "d1").await;
        wait_token::approval(&world.deps, wait("d1", 0, "ap-1", WaitPurpose::Bake))
            .await
            .unwrap();
        control::act(&world.deps, &someone, "d1", action.clone())
            .await
            .unwrap();
        // The approval function's first attempt failed after storing its token: Step
        // Functions retries the task with a new token, which must end with the same answer.
        let retried = wait_token::approval(&world.deps, wait("d1", 0, "ap-2", WaitPurpose::Bake))
            .await
            .unwrap_err();
        assert_eq!(retried.error_type(), error, "{action:?}");
        assert_eq!(world.green_weight(), 0);
    }

    // The same for a bake that someone rolls back.
    let world = World::new(&manifest("canary: { weight: 10, bake: 5m }", ""));
    provisioned(&world, "d1").await;
    shift_weights::handle(&world.deps, shift("d1", 0))
        .await
        .unwrap();
    wait_token::bake(&world.deps, wait("d1", 0, "b-1", WaitPurpose::Bake))
        .await
        .unwrap();
    control::act(
        &world.deps,
        &someone,
        "d1",
        control::Action::Rollback { reason: None },
    )
    .await
    .unwrap();
    let retried = wait_token::bake(&world.deps, wait("d1", 0, "b-2", WaitPurpose::Bake))
        .await
        .unwrap_err();
    assert_eq!(retried.error_type(), "Aborted");
}

// ---------------------------------------------------------------------------------------------
// Defect 8: one error name everywhere

#[tokio::test]
async fn an_input_that_does_not_decode_is_non_retryable_and_names_the_field() {
    let world = World::new(&manifest("allAtOnce: {}", ""));
    let error = dispatch(
        &world.deps,
        "shift-weights",
        json!({"deploymentId": "d1", "weight": 12.5}),
    )
    .await
    .unwrap_err();
    assert_eq!(error.error_type(), "NonRetryable");
    assert!(
        error.message.starts_with("invalid input for shift-weights"),
        "{error}"
    );
}

#[tokio::test]
async fn a_panicking_handler_is_a_non_retryable_error_not_a_crash() {
    let error = call("bake", json!({}), |_: serde_json::Value| async {
        if true {
            panic!("index out of bounds");
        }
        Ok::<_, HandlerError>(json!({}))
    })
    .await
    .unwrap_err();
    assert_eq!(error.error_type(), "NonRetryable");
    assert_eq!(error.message, "bake panicked: index out of bounds");
}

// ---------------------------------------------------------------------------------------------
// Smaller

#[tokio::test]
async fn plan_refuses_a_commit_that_is_not_a_commit_id_before_anything_is_written() {
    let world = World::new(&manifest("allAtOnce: {}", ""));
    for commit in ["", "main; rm -rf /", "héllo wörld"] {
        let mut input = world.plan_input("d1");
        input.commit = commit.into();
        let error = plan::handle(&world.deps, input).await.unwrap_err();
        assert_eq!(error.error_type(), "NonRetryable", "{commit:?}");
    }
    assert!(world.store.get_lock("shop/web").await.unwrap().is_none());
    assert!(world.store.get("d1").await.unwrap().is_none());
}
