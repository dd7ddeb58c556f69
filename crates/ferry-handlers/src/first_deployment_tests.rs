//! The first deployment of a service with no task set, over the fakes.

use ferry_core::deployment::{Deployment, DeploymentStatus};
use ferry_core::ports::{DeploymentStore, ServiceInfo, TaskSetStatus};

use crate::finalize::{FinalizeInput, Phase};
use crate::rollback::RollbackInput;
use crate::testing::*;
use crate::*;

const NETWORK: &str = "network:\n  subnets: [subnet-9, subnet-8]\n  securityGroups: [sg-9]\n  assignPublicIp: true\n  launchType: FARGATE\n";

/// The seeded world, its service emptied: nothing runs yet.
fn empty_world(extra: &str) -> World {
    let world = World::new(&manifest("canary: { weight: 10, bake: 5m }", extra));
    world.ecs.put_service(
        CLUSTER,
        ServiceInfo {
            task_sets: Vec::new(),
            ..blue_service()
        },
    );
    world
}

async fn record(world: &World, id: &str) -> Deployment {
    world.store.get(id).await.unwrap().unwrap()
}

/// The rollback the deploy workflow starts when an alarm fires.
fn alarm_rollback(id: &str) -> RollbackInput {
    RollbackInput {
        deployment_id: id.into(),
        error: Some("AlarmBreached".into()),
        cause: None,
        give_up: false,
    }
}

async fn finalize(world: &World, id: &str, phase: Phase) {
    finalize::handle(
        &world.deps,
        FinalizeInput {
            deployment_id: id.into(),
            phase,
        },
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn a_first_deployment_needs_the_network_and_changes_nothing_without_it() {
    let world = empty_world("");
    let error = plan::handle(&world.deps, world.plan_input("d1"))
        .await
        .unwrap_err();
    assert_eq!(error.error_type(), "NonRetryable");
    assert!(error.message.contains("add `network:`"), "{error:?}");
    assert!(world.store.get("d1").await.unwrap().is_none());
}

#[tokio::test]
async fn a_first_deployment_runs_where_the_manifest_says_all_at_once_and_ends_primary() {
    let world = empty_world(NETWORK);
    let planned = plan::handle(&world.deps, world.plan_input("d1"))
        .await
        .unwrap();
    assert_eq!(
        planned
            .steps
            .iter()
            .map(|step| step.weight)
            .collect::<Vec<_>>(),
        [100]
    );
    let deployment = record(&world, "d1").await;
    assert!(deployment.is_first());
    // The listener forwards to the first target group (the seeded world's): green goes on the
    // other, idle one.
    assert_eq!(
        deployment.green_target_group, GREEN_TG,
        "the idle target group"
    );
    assert_eq!(deployment.policy.keep_old_for_seconds, 0);
    assert!(deployment.history.iter().any(|entry| matches!(
        &entry.event,
        ferry_core::lifecycle::Event::Warning { message } if message.contains("no canary")
    )));

    create_taskset::handle(&world.deps, id("d1")).await.unwrap();
    let service = world.ecs.service(CLUSTER, SERVICE).unwrap();
    let green = &service.task_sets[0];
    let network = green.placement.network.as_ref().unwrap();
    assert_eq!(network.subnets, ["subnet-9", "subnet-8"]);
    assert!(network.assign_public_ip);
    assert_eq!(green.placement.launch_type.as_deref(), Some("FARGATE"));

    world.ecs.set_steady(CLUSTER, SERVICE, true);
    wait_stable::handle(&world.deps, id("d1")).await.unwrap();
    shift_weights::handle(&world.deps, shift("d1", 0))
        .await
        .unwrap();
    assert_eq!(world.green_weight(), 100, "the listener on green");
    finalize(&world, "d1", Phase::Promote).await;
    assert!(
        record(&world, "d1").await.only_rolls_forward(),
        "only forward from here"
    );
    // A retried promotion (its answer lost) is fine.
    finalize(&world, "d1", Phase::Promote).await;
    finalize(&world, "d1", Phase::Cleanup).await;

    assert_eq!(
        record(&world, "d1").await.status,
        DeploymentStatus::Succeeded
    );
    let service = world.ecs.service(CLUSTER, SERVICE).unwrap();
    assert_eq!(service.task_sets.len(), 1);
    assert_eq!(service.task_sets[0].status, TaskSetStatus::Primary);
    assert!(world.store.get_lock("shop/web").await.unwrap().is_none());
}

#[tokio::test]
async fn a_first_deployment_rolled_back_leaves_the_service_running_nothing_as_before() {
    let world = empty_world(NETWORK);
    planned_and_created(&world, "d1").await;
    world.ecs.set_steady(CLUSTER, SERVICE, true);
    wait_stable::handle(&world.deps, id("d1")).await.unwrap();
    shift_weights::handle(&world.deps, shift("d1", 0))
        .await
        .unwrap();
    let input = alarm_rollback("d1");
    assert_eq!(world.green_weight(), 100);
    rollback::handle(&world.deps, input.clone()).await.unwrap();
    assert!(
        world
            .ecs
            .service(CLUSTER, SERVICE)
            .unwrap()
            .task_sets
            .is_empty()
    );
    // Traffic back where it was: to whatever serves on the other target group (a service
    // moving from CodeDeploy keeps serving).
    assert_eq!(world.blue_weight(), 100);
    let deployment = record(&world, "d1").await;
    assert_eq!(deployment.status, DeploymentStatus::RolledBack);
    assert!(world.store.get_lock("shop/web").await.unwrap().is_none());
    // Again (a lost answer): nothing more happens.
    rollback::handle(&world.deps, input).await.unwrap();
    assert_eq!(record(&world, "d1").await.version, deployment.version);
}

#[tokio::test]
async fn after_its_promotion_a_first_deployment_rolls_forward_never_away() {
    let world = empty_world(NETWORK);
    planned_and_created(&world, "d1").await;
    world.ecs.set_steady(CLUSTER, SERVICE, true);
    wait_stable::handle(&world.deps, id("d1")).await.unwrap();
    shift_weights::handle(&world.deps, shift("d1", 0))
        .await
        .unwrap();
    finalize(&world, "d1", Phase::Promote).await;
    // An alarm now: green is all the service has; it stays.
    rollback::handle(&world.deps, alarm_rollback("d1"))
        .await
        .unwrap();
    let service = world.ecs.service(CLUSTER, SERVICE).unwrap();
    assert_eq!(service.task_sets.len(), 1);
    assert_eq!(service.task_sets[0].status, TaskSetStatus::Primary);
    assert_eq!(
        record(&world, "d1").await.status,
        DeploymentStatus::Succeeded
    );
}

#[tokio::test]
async fn a_service_with_only_a_leftover_task_set_is_refused() {
    let world = World::new(&manifest("canary: { weight: 10, bake: 5m }", NETWORK));
    let mut service = blue_service();
    service.task_sets[0].status = TaskSetStatus::Active;
    world.ecs.put_service(CLUSTER, service);
    let error = plan::handle(&world.deps, world.plan_input("d1"))
        .await
        .unwrap_err();
    assert!(error.message.contains("none is primary"), "{error:?}");
}
