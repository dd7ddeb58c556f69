//! `traffic.testListener` over the fakes: green gets the test port once stable, before any
//! production traffic or approval; the test port follows production at the end; a rollback
//! racing the switch never leaves the test port on a green that is gone.

use ferry_core::deployment::{Deployment, DeploymentStatus, FenceAction, Side};
use ferry_core::ports::{DeploymentStore, PortError, TargetGroupWeight};

use crate::finalize::{FinalizeInput, Phase};
use crate::rollback::RollbackInput;
use crate::testing::*;
use crate::*;

/// The seeded world with a test listener forwarding to blue, as production does before a
/// deployment (after one, it forwards to the production target group).
fn world(extra: &str) -> World {
    let world = World::new(&with_test_listener(&manifest(
        "canary: { weight: 10, bake: 5m }",
        extra,
    )));
    put_test_listener(&world.alb);
    world
}

/// (blue, green) shares of the test listener, in percent (ALB weights are relative).
fn test_weights(world: &World) -> (u32, u32) {
    let weights = world.alb.weights(&test_route()).unwrap_or_default();
    let of = |tg: &str| -> u32 {
        weights
            .iter()
            .filter(|entry| entry.target_group_arn == tg)
            .map(|entry| entry.weight)
            .sum()
    };
    let total = (of(BLUE_TG) + of(GREEN_TG)).max(1);
    (of(BLUE_TG) * 100 / total, of(GREEN_TG) * 100 / total)
}

async fn record(world: &World, id: &str) -> Deployment {
    world.store.get(id).await.unwrap().unwrap()
}

async fn stable(world: &World, id: &str) {
    planned_and_created(world, id).await;
    world.ecs.set_steady(CLUSTER, SERVICE, true);
    let output = wait_stable::handle(&world.deps, crate::testing::id(id))
        .await
        .unwrap();
    assert!(output.stable);
}

fn events(deployment: &Deployment) -> Vec<String> {
    deployment
        .history
        .iter()
        .map(|entry| entry.event.name().to_string())
        .collect()
}

#[tokio::test]
async fn once_green_is_stable_the_test_port_sends_it_everything_and_production_nothing() {
    let world = world("approval: { beforeTraffic: true }\n");
    stable(&world, "d1").await;

    assert_eq!(test_weights(&world), (0, 100));
    assert_eq!(world.green_weight(), 0, "production untouched");
    let deployment = record(&world, "d1").await;
    assert_eq!(deployment.test_traffic, Some(Side::Green));
    assert!(deployment.fence.is_none());
    let names = events(&deployment);
    assert_eq!(
        &names[names.len() - 2..],
        ["task-set-stable", "test-traffic"],
        "before the approval wait and any shift"
    );
    // A retried poll (its answer lost) writes nothing more.
    let writes = world.alb.writes().len();
    wait_stable::handle(&world.deps, id("d1")).await.unwrap();
    assert_eq!(world.alb.writes().len(), writes);
    assert_eq!(
        events(&record(&world, "d1").await).len(),
        names.len(),
        "recorded once"
    );
}

#[tokio::test]
async fn plan_refuses_a_test_listener_that_forwards_elsewhere_and_changes_nothing() {
    let world = world("");
    world.alb.put_route(
        test_route(),
        vec![TargetGroupWeight {
            target_group_arn:
                "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/other/1".into(),
            weight: 1,
        }],
    );
    let error = plan::handle(&world.deps, world.plan_input("d1"))
        .await
        .unwrap_err();
    assert_eq!(error.error_type(), "InvalidManifest");
    assert!(error.message.contains("traffic.testListener"), "{error:?}");
    assert!(world.store.get("d1").await.unwrap().is_none());
}

#[tokio::test]
async fn after_success_the_test_port_stays_on_green_which_production_now_runs() {
    let world = world("");
    stable(&world, "d1").await;
    for step in 0..2 {
        shift_weights::handle(&world.deps, shift("d1", step))
            .await
            .unwrap();
    }
    for phase in [Phase::Promote, Phase::Cleanup] {
        finalize::handle(
            &world.deps,
            FinalizeInput {
                deployment_id: "d1".into(),
                phase,
            },
        )
        .await
        .unwrap();
    }
    assert_eq!(
        record(&world, "d1").await.status,
        DeploymentStatus::Succeeded
    );
    assert_eq!(test_weights(&world), (0, 100));
    assert_eq!(world.green_weight(), 100);
}

#[tokio::test]
async fn a_rollback_sends_the_test_port_back_to_blue_before_green_goes() {
    let world = world("");
    stable(&world, "d1").await;
    shift_weights::handle(&world.deps, shift("d1", 0))
        .await
        .unwrap();
    rollback::handle(&world.deps, rollback_input("d1"))
        .await
        .unwrap();

    assert_eq!(test_weights(&world), (100, 0));
    assert_eq!(world.green_weight(), 0);
    let deployment = record(&world, "d1").await;
    assert_eq!(deployment.status, DeploymentStatus::RolledBack);
    assert_eq!(deployment.test_traffic, Some(Side::Blue));
    let names = events(&deployment);
    let back = names
        .iter()
        .rposition(|name| name == "test-traffic")
        .unwrap();
    assert!(
        back < names.len() - 1,
        "before the rolled-back entry: {names:?}"
    );
}

fn rollback_input(id: &str) -> RollbackInput {
    RollbackInput {
        deployment_id: id.into(),
        error: Some("Rejected".into()),
        cause: None,
        give_up: false,
    }
}

#[tokio::test]
async fn a_switch_in_flight_when_the_rollback_began_is_undone_before_green_goes() {
    let world = world("");
    planned_and_created(&world, "d1").await;
    world.ecs.set_steady(CLUSTER, SERVICE, true);
    // wait-stable raised its fence and its write to the test listener is still on the wire
    // (or its Lambda timed out): the record shows only the fence.
    let mut deployment = record(&world, "d1").await;
    deployment.fence = Some(ferry_core::deployment::Fence {
        action: FenceAction::TestTraffic,
        since: world.clock.now(),
    });
    world.store.update(&mut deployment).await.unwrap();
    world.alb.put_route(
        test_route(),
        vec![
            TargetGroupWeight {
                target_group_arn: BLUE_TG.into(),
                weight: 0,
            },
            TargetGroupWeight {
                target_group_arn: GREEN_TG.into(),
                weight: 100,
            },
        ],
    );
    rollback::handle(&world.deps, rollback_input("d1"))
        .await
        .unwrap();
    assert_eq!(test_weights(&world), (100, 0));
    assert_eq!(
        world.ecs.service(CLUSTER, SERVICE).unwrap().task_sets.len(),
        1
    );

    // The late wait-stable now finds a deployment rolled back: it moves nothing.
    let error = wait_stable::handle(&world.deps, id("d1"))
        .await
        .unwrap_err();
    assert_eq!(error.error_type(), "NonRetryable");
    assert_eq!(test_weights(&world), (100, 0));
}

#[tokio::test]
async fn a_test_port_that_cannot_be_set_is_retried_and_production_never_moves() {
    let world = world("");
    planned_and_created(&world, "d1").await;
    world.ecs.set_steady(CLUSTER, SERVICE, true);
    world
        .alb
        .fail_next_write(PortError::Transient("Throttling: Rate exceeded".into()));
    let error = wait_stable::handle(&world.deps, id("d1"))
        .await
        .unwrap_err();
    assert_eq!(error.error_type(), "Retryable");
    assert_eq!(world.green_weight(), 0);
    wait_stable::handle(&world.deps, id("d1")).await.unwrap();
    assert_eq!(test_weights(&world), (0, 100));
    assert_eq!(record(&world, "d1").await.test_traffic, Some(Side::Green));
}

#[tokio::test]
async fn without_a_test_listener_nothing_but_production_is_touched() {
    let world = World::new(&manifest("canary: { weight: 10, bake: 5m }", ""));
    planned_and_created(&world, "d1").await;
    world.ecs.set_steady(CLUSTER, SERVICE, true);
    wait_stable::handle(&world.deps, id("d1")).await.unwrap();
    assert!(world.alb.writes().is_empty());
    assert_eq!(record(&world, "d1").await.test_traffic, None);
}
