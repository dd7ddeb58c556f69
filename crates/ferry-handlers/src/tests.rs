//! Handler behaviour against the in-memory fakes: the whole lifecycle, refusals, idempotency.

use ferry_core::DeploymentStatus;
use ferry_core::ports::{AlarmState, DeploymentStore, PortError, TaskSetStatus};

use crate::alarm_watch::{AlarmStateChange, AlarmStateValue};
use crate::check_alarms::CheckAlarmsInput;
use crate::control::{Action, ActionError, Actor, Channel, Identity, Refusal};
use crate::finalize::{FinalizeInput, Phase};
use crate::rollback::RollbackInput;
use crate::shift_weights::ShiftInput;
use crate::testing::*;
use crate::wait_token::WaitTokenInput;
use crate::*;

#[tokio::test]
async fn a_canary_deployment_walks_every_step_and_ends_with_green_primary() {
    let world = World::new(&manifest("canary: { weight: 10, bake: 5m }", ""));
    let planned = plan::handle(&world.deps, world.plan_input("d1"))
        .await
        .unwrap();
    assert_eq!(planned.steps.len(), 2);
    assert_eq!(planned.steps[0].weight, 10);

    let created = create_taskset::handle(&world.deps, id("d1")).await.unwrap();
    let registered = world.ecs.task_definitions();
    assert_eq!(
        registered[0]["containerDefinitions"][0]["image"],
        format!("shop/web:{COMMIT}")
    );
    world.ecs.set_steady("shop", "web", true);
    let stable = wait_stable::handle(&world.deps, id("d1")).await.unwrap();
    assert!(stable.stable);

    for step in 0..2 {
        let shifted = shift_weights::handle(&world.deps, shift("d1", step))
            .await
            .unwrap();
        assert_eq!(world.green_weight(), u32::from(shifted.weight));
        wait_token::bake(
            &world.deps,
            WaitTokenInput {
                deployment_id: "d1".into(),
                step,
                task_token: format!("bake-{step}"),
                purpose: Default::default(),
            },
        )
        .await
        .unwrap();
        check_alarms::handle(
            &world.deps,
            CheckAlarmsInput {
                deployment_id: "d1".into(),
                step: Some(step),
            },
        )
        .await
        .unwrap();
    }
    finalize::handle(
        &world.deps,
        FinalizeInput {
            deployment_id: "d1".into(),
            phase: Phase::Promote,
        },
    )
    .await
    .unwrap();
    let service = world.ecs.service("shop", "web").unwrap();
    assert_eq!(service.primary_task_set().unwrap().id, created.task_set_id);
    assert_eq!(service.task_sets.len(), 2, "blue is kept warm");

    finalize::handle(
        &world.deps,
        FinalizeInput {
            deployment_id: "d1".into(),
            phase: Phase::Cleanup,
        },
    )
    .await
    .unwrap();
    let service = world.ecs.service("shop", "web").unwrap();
    assert_eq!(service.task_sets.len(), 1, "blue is removed");
    let record = world.store.get("d1").await.unwrap().unwrap();
    assert_eq!(record.status, DeploymentStatus::Succeeded);
    assert!(
        world.store.get_lock("shop/web").await.unwrap().is_none(),
        "lock released"
    );
    let events: Vec<&str> = record
        .history
        .iter()
        .map(|entry| entry.event.name())
        .collect();
    assert_eq!(
        events,
        [
            "planned",
            "task-set-created",
            "task-set-stable",
            "shifted",
            "baking",
            "shifted",
            "baking",
            "promoted",
            "cleanup-started",
            "succeeded"
        ]
    );
}

#[tokio::test]
async fn every_handler_can_run_twice_without_doing_the_work_twice() {
    let world = World::new(&manifest("canary: { weight: 10, bake: 5m }", ""));
    let first = plan::handle(&world.deps, world.plan_input("d1"))
        .await
        .unwrap();
    let again = plan::handle(&world.deps, world.plan_input("d1"))
        .await
        .unwrap();
    assert_eq!(first, again);

    let created = create_taskset::handle(&world.deps, id("d1")).await.unwrap();
    let recreated = create_taskset::handle(&world.deps, id("d1")).await.unwrap();
    assert_eq!(created, recreated);
    assert_eq!(
        world.ecs.service("shop", "web").unwrap().task_sets.len(),
        2,
        "one green task set"
    );
    assert_eq!(world.ecs.task_definitions().len(), 1);

    let shift = shift("d1", 0);
    shift_weights::handle(&world.deps, shift.clone())
        .await
        .unwrap();
    shift_weights::handle(&world.deps, shift).await.unwrap();
    assert_eq!(world.alb.writes().len(), 1, "weights written once");

    let rollback = RollbackInput {
        deployment_id: "d1".into(),
        error: Some("AlarmBreached".into()),
        cause: None,
        give_up: false,
    };
    rollback::handle(&world.deps, rollback.clone())
        .await
        .unwrap();
    rollback::handle(&world.deps, rollback).await.unwrap();
    assert_eq!(world.green_weight(), 0);
    let record = world.store.get("d1").await.unwrap().unwrap();
    assert_eq!(
        record
            .history
            .iter()
            .filter(|entry| entry.event.name() == "rolled-back")
            .count(),
        1
    );
}

#[tokio::test]
async fn a_create_taskset_retry_after_a_lost_response_finds_the_task_set_by_external_id() {
    let world = World::new(&manifest("allAtOnce: {}", ""));
    plan::handle(&world.deps, world.plan_input("d1"))
        .await
        .unwrap();
    // The task set is created but the record update is lost (as if the Lambda timed out).
    let record = world.store.get("d1").await.unwrap().unwrap();
    let mut stale = record.clone();
    stale.version += 1; // any write with this copy will conflict
    create_taskset::handle(&world.deps, id("d1")).await.unwrap();
    let mut reverted = world.store.get("d1").await.unwrap().unwrap();
    reverted.green = None;
    world.store.update(&mut reverted).await.unwrap();
    let output = create_taskset::handle(&world.deps, id("d1")).await.unwrap();
    let service = world.ecs.service("shop", "web").unwrap();
    assert_eq!(service.task_sets.len(), 2);
    assert_eq!(
        service.task_set_with_external_id("d1").unwrap().id,
        output.task_set_id
    );
}

#[tokio::test]
async fn rollback_restores_all_traffic_to_blue_when_an_alarm_fires() {
    let world = World::new(&manifest("canary: { weight: 10, bake: 5m }", ""));
    planned_and_created(&world, "d1").await;
    shift_weights::handle(&world.deps, shift("d1", 0))
        .await
        .unwrap();
    assert_eq!(world.green_weight(), 10);
    world
        .alarms
        .set("web-5xx", AlarmState::Alarm, "Threshold Crossed: 5 > 1");
    let error = check_alarms::handle(
        &world.deps,
        CheckAlarmsInput {
            deployment_id: "d1".into(),
            step: Some(0),
        },
    )
    .await
    .unwrap_err();
    assert_eq!(error.error_type(), "AlarmBreached");
    assert_eq!(error.message, "alarm web-5xx: Threshold Crossed: 5 > 1");

    let cause = serde_json::json!({"errorMessage": error.message, "errorType": "AlarmBreached"})
        .to_string();
    let output = rollback::handle(
        &world.deps,
        RollbackInput {
            deployment_id: "d1".into(),
            error: Some("AlarmBreached".into()),
            cause: Some(cause),
            give_up: false,
        },
    )
    .await
    .unwrap();
    assert_eq!(
        output.reason,
        "AlarmBreached: alarm web-5xx: Threshold Crossed: 5 > 1"
    );
    assert_eq!(world.green_weight(), 0);
    let service = world.ecs.service("shop", "web").unwrap();
    assert_eq!(service.task_sets.len(), 1);
    assert_eq!(service.primary_task_set().unwrap().id, "ecs-svc/blue");
    let record = world.store.get("d1").await.unwrap().unwrap();
    assert_eq!(record.status, DeploymentStatus::RolledBack);
    assert!(world.store.get_lock("shop/web").await.unwrap().is_none());
}

#[tokio::test]
async fn rollback_after_promotion_makes_blue_primary_again_before_removing_green() {
    let world = World::new(&manifest("allAtOnce: {}", ""));
    planned_and_created(&world, "d1").await;
    shift_weights::handle(&world.deps, shift("d1", 0))
        .await
        .unwrap();
    finalize::handle(
        &world.deps,
        FinalizeInput {
            deployment_id: "d1".into(),
            phase: Phase::Promote,
        },
    )
    .await
    .unwrap();
    rollback::handle(
        &world.deps,
        RollbackInput {
            deployment_id: "d1".into(),
            error: None,
            cause: Some("bad build".into()),
            give_up: false,
        },
    )
    .await
    .unwrap();
    let service = world.ecs.service("shop", "web").unwrap();
    assert_eq!(service.task_sets.len(), 1);
    assert_eq!(service.task_sets[0].status, TaskSetStatus::Primary);
    assert_eq!(service.task_sets[0].id, "ecs-svc/blue");
    assert_eq!(world.green_weight(), 0);
}

#[tokio::test]
async fn plan_refuses_a_second_deployment_while_one_holds_the_lock() {
    let world = World::new(&manifest("allAtOnce: {}", ""));
    plan::handle(&world.deps, world.plan_input("d1"))
        .await
        .unwrap();
    let error = plan::handle(&world.deps, world.plan_input("d2"))
        .await
        .unwrap_err();
    assert_eq!(error.error_type(), "LockHeld");
    assert!(
        error
            .message
            .starts_with("shop/web is being deployed by d1 (pending"),
        "{}",
        error.message
    );
    assert!(
        world.store.get("d2").await.unwrap().is_none(),
        "nothing recorded"
    );
}

#[tokio::test]
async fn a_lock_left_by_an_ended_deployment_is_taken_over() {
    let world = World::new(&manifest("allAtOnce: {}", ""));
    plan::handle(&world.deps, world.plan_input("d1"))
        .await
        .unwrap();
    // d1 ended without releasing its lock (a crash between its last writes).
    let mut record = world.store.get("d1").await.unwrap().unwrap();
    record.finish(
        world.clock.now(),
        DeploymentStatus::Failed,
        Some("crashed".into()),
    );
    world.store.update(&mut record).await.unwrap();
    plan::handle(&world.deps, world.plan_input("d2"))
        .await
        .unwrap();
    assert_eq!(
        world
            .store
            .get_lock("shop/web")
            .await
            .unwrap()
            .unwrap()
            .deployment_id,
        "d2"
    );
}

#[tokio::test]
async fn plan_refuses_services_ferry_cannot_drive_and_changes_nothing() {
    let world = World::new(&manifest("allAtOnce: {}", ""));
    let mut service = world.ecs.service("shop", "web").unwrap();
    service.deployment_controller = "ECS".into();
    world.ecs.put_service("shop", service);
    let error = plan::handle(&world.deps, world.plan_input("d1"))
        .await
        .unwrap_err();
    assert_eq!(error.error_type(), "NonRetryable");
    assert!(
        error
            .message
            .contains("uses the ECS deployment controller; Ferry needs EXTERNAL"),
        "{}",
        error.message
    );
    assert!(world.store.get_lock("shop/web").await.unwrap().is_none());

    let missing =
        World::new(&manifest("allAtOnce: {}", "").replace("service: web", "service: nope"));
    let error = plan::handle(&missing.deps, missing.plan_input("d1"))
        .await
        .unwrap_err();
    assert!(
        error
            .message
            .starts_with("service nope not found in cluster shop"),
        "{}",
        error.message
    );
}

#[tokio::test]
async fn plan_refuses_a_listener_that_forwards_elsewhere_or_already_to_green() {
    let world = World::new(&manifest("allAtOnce: {}", ""));
    let other =
        "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/other/0000000000000000";
    world.alb.put_route(
        route(),
        vec![ferry_core::ports::TargetGroupWeight {
            target_group_arn: other.into(),
            weight: 1,
        }],
    );
    let error = plan::handle(&world.deps, world.plan_input("d1"))
        .await
        .unwrap_err();
    assert!(
        error
            .message
            .contains("which is not one of traffic.targetGroups"),
        "{}",
        error.message
    );

    world.alb.put_route(
        route(),
        vec![
            ferry_core::ports::TargetGroupWeight {
                target_group_arn: BLUE_TG.into(),
                weight: 50,
            },
            ferry_core::ports::TargetGroupWeight {
                target_group_arn: GREEN_TG.into(),
                weight: 50,
            },
        ],
    );
    let error = plan::handle(&world.deps, world.plan_input("d1"))
        .await
        .unwrap_err();
    assert!(
        error
            .message
            .contains("already sends traffic to the idle target group"),
        "{}",
        error.message
    );
}

#[tokio::test]
async fn plan_refuses_missing_alarms_and_invalid_manifests() {
    let world = World::new(
        &manifest("allAtOnce: {}", "").replace("alarms: [web-5xx]", "alarms: [web-5xx, gone]"),
    );
    let error = plan::handle(&world.deps, world.plan_input("d1"))
        .await
        .unwrap_err();
    assert_eq!(
        error.message,
        "alarm gone does not exist: create it or remove it from alarms"
    );

    let broken = World::new(&manifest("canary: { weight: 150, bake: 5m }", ""));
    let error = plan::handle(&broken.deps, broken.plan_input("d1"))
        .await
        .unwrap_err();
    assert_eq!(error.error_type(), "InvalidManifest");
    assert!(
        error.message.contains(
            ".ferry/web.yaml:9:21: strategy.canary.weight: must be between 1 and 99, found 150"
        ),
        "{}",
        error.message
    );
}

#[tokio::test]
async fn wait_stable_times_out_with_a_clear_reason() {
    let world = World::new(&manifest("allAtOnce: {}", ""));
    planned_and_created(&world, "d1").await;
    assert!(
        !wait_stable::handle(&world.deps, id("d1"))
            .await
            .unwrap()
            .stable
    );
    world.clock.advance(601);
    let error = wait_stable::handle(&world.deps, id("d1"))
        .await
        .unwrap_err();
    assert_eq!(error.error_type(), "StabilizationTimeout");
}

#[tokio::test]
async fn transient_failures_are_retryable_and_the_retry_succeeds() {
    let world = World::new(&manifest("allAtOnce: {}", ""));
    plan::handle(&world.deps, world.plan_input("d1"))
        .await
        .unwrap();
    world
        .ecs
        .fail_next("create_task_set", PortError::Transient("throttled".into()));
    let error = create_taskset::handle(&world.deps, id("d1"))
        .await
        .unwrap_err();
    assert_eq!(error.error_type(), "Retryable");
    create_taskset::handle(&world.deps, id("d1")).await.unwrap();
    assert_eq!(world.ecs.service("shop", "web").unwrap().task_sets.len(), 2);
}

#[tokio::test]
async fn an_alarm_fails_the_bake_of_the_deployment_it_guards() {
    let world = World::new(&manifest("canary: { weight: 10, bake: 5m }", ""));
    planned_and_created(&world, "d1").await;
    shift_weights::handle(&world.deps, shift("d1", 0))
        .await
        .unwrap();
    wait_token::bake(
        &world.deps,
        WaitTokenInput {
            deployment_id: "d1".into(),
            step: 0,
            task_token: "tok".into(),
            purpose: Default::default(),
        },
    )
    .await
    .unwrap();
    let change = |alarm: &str, value: &str| AlarmStateChange {
        alarm_name: alarm.into(),
        state: AlarmStateValue {
            value: value.into(),
            reason: "Threshold Crossed".into(),
        },
        previous_state: None,
    };
    let ignored = alarm_watch::handle(&world.deps, change("other-alarm", "ALARM"))
        .await
        .unwrap();
    assert!(ignored.failed_bakes.is_empty());
    let recovered = alarm_watch::handle(&world.deps, change("web-5xx", "OK"))
        .await
        .unwrap();
    assert!(recovered.failed_bakes.is_empty());
    let fired = alarm_watch::handle(&world.deps, change("web-5xx", "ALARM"))
        .await
        .unwrap();
    assert_eq!(fired.failed_bakes, ["d1"]);
    let failures = world.workflows.failures.lock().unwrap().clone();
    assert_eq!(
        failures,
        [(
            "tok".to_string(),
            "AlarmBreached".to_string(),
            "alarm web-5xx: Threshold Crossed".to_string()
        )]
    );
}

#[tokio::test]
async fn a_bake_fails_at_once_when_an_alarm_is_already_firing() {
    let world = World::new(&manifest("canary: { weight: 10, bake: 5m }", ""));
    planned_and_created(&world, "d1").await;
    world
        .alarms
        .set("web-5xx", AlarmState::Alarm, "already bad");
    let error = wait_token::bake(
        &world.deps,
        WaitTokenInput {
            deployment_id: "d1".into(),
            step: 0,
            task_token: "t".into(),
            purpose: Default::default(),
        },
    )
    .await
    .unwrap_err();
    assert_eq!(error.error_type(), "AlarmBreached");
}

#[tokio::test]
async fn only_listed_approvers_may_approve() {
    let world = World::new(&manifest(
        "allAtOnce: {}",
        "approval: { beforeTraffic: true, approvers: [U0123ABC] }\n",
    ));
    planned_and_created(&world, "d1").await;
    wait_token::approval(
        &world.deps,
        WaitTokenInput {
            deployment_id: "d1".into(),
            step: 0,
            task_token: "ap".into(),
            purpose: Default::default(),
        },
    )
    .await
    .unwrap();
    let record = world.store.get("d1").await.unwrap().unwrap();
    assert_eq!(
        record.status,
        DeploymentStatus::AwaitingApproval { step: 0 }
    );
    assert!(
        world
            .notifier
            .sent()
            .iter()
            .any(|n| n.message.contains("waits for approval"))
    );

    let as_ = |who: &str| Actor {
        identity: Identity::parse(who).unwrap(),
        via: Channel::Slack,
    };
    let error = control::act(&world.deps, &as_("U999"), "d1", Action::Approve)
        .await
        .unwrap_err();
    assert!(
        matches!(error, ActionError::Refused(Refusal::NotApprover { .. })),
        "{error}"
    );
    assert!(world.workflows.successes.lock().unwrap().is_empty());
    let unchanged = world.store.get("d1").await.unwrap().unwrap();
    assert_eq!(
        unchanged.version, record.version,
        "a refusal writes nothing"
    );

    control::act(&world.deps, &as_("U0123ABC"), "d1", Action::Approve)
        .await
        .unwrap();
    assert_eq!(world.workflows.successes.lock().unwrap()[0].0, "ap");
    // Who answered is told (a Slack thread reply, the log), once the answer is recorded.
    assert_eq!(
        world.notifier.names().last().map(String::as_str),
        Some("answered")
    );
}

#[tokio::test]
async fn shifting_never_moves_traffic_backwards_on_a_late_retry() {
    let world = World::new(&manifest("linear: { step: 50, interval: 1m }", ""));
    planned_and_created(&world, "d1").await;
    shift_weights::handle(&world.deps, shift("d1", 0))
        .await
        .unwrap();
    shift_weights::handle(&world.deps, shift("d1", 1))
        .await
        .unwrap();
    shift_weights::handle(&world.deps, shift("d1", 0))
        .await
        .unwrap();
    assert_eq!(world.green_weight(), 100);
}

#[tokio::test]
async fn a_held_preset_can_be_moved_by_hand_and_a_running_plan_cannot() {
    let world = World::new(&manifest("preset: blue-80", ""));
    planned_and_created(&world, "d1").await;
    let shifted = shift_weights::handle(
        &world.deps,
        ShiftInput {
            deployment_id: "d1".into(),
            step: 0,
            weight: None,
        },
    )
    .await
    .unwrap();
    assert!(shifted.last_step);
    assert_eq!(world.green_weight(), 20);
    let record = world.store.get("d1").await.unwrap().unwrap();
    assert_eq!(record.status, DeploymentStatus::Holding { step: 0 });
    shift_weights::handle(
        &world.deps,
        ShiftInput {
            deployment_id: "d1".into(),
            step: 0,
            weight: Some(50),
        },
    )
    .await
    .unwrap();
    assert_eq!(world.green_weight(), 50);

    let running = World::new(&manifest("canary: { weight: 10, bake: 5m }", ""));
    planned_and_created(&running, "d2").await;
    let error = shift_weights::handle(
        &running.deps,
        ShiftInput {
            deployment_id: "d2".into(),
            step: 0,
            weight: Some(100),
        },
    )
    .await
    .unwrap_err();
    assert!(
        error.message.contains("only while it holds at a preset"),
        "{}",
        error.message
    );
}
