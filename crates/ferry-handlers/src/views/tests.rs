use ferry_core::deployment::DeploymentStatus;
use ferry_core::ports::{AlarmState, Clock, DeploymentStore, PortError};

use super::*;
use crate::testing::*;
use crate::{shift_weights, wait_stable};

const CANARY: &str = "canary: { weight: 10, bake: 5m }";

/// A deployment planned, green created and stable, step 0 (10 %) applied.
async fn shifted(world: &World, id: &str) {
    planned_and_created(world, id).await;
    world.ecs.set_steady(CLUSTER, SERVICE, true);
    wait_stable::handle(&world.deps, crate::testing::id(id))
        .await
        .unwrap();
    shift_weights::handle(&world.deps, shift(id, 0))
        .await
        .unwrap();
}

fn filter(service: Option<&str>, status: Option<&str>) -> Filter {
    Filter {
        service: service.map(str::to_string),
        status: status.map(str::to_string),
        limit: 50,
    }
}

#[tokio::test]
async fn the_list_shows_deployments_in_flight_first_then_the_latest_ended() {
    let world = World::new(&manifest(CANARY, ""));
    world
        .git
        .set_message(COMMIT, "Fix the checkout total\n\nLonger body.");
    // Two ended deployments, then one in flight, each a minute apart.
    for (id, status) in [
        ("d-old", DeploymentStatus::Succeeded),
        ("d-newer", DeploymentStatus::RolledBack),
    ] {
        crate::plan::handle(&world.deps, world.plan_input(id))
            .await
            .unwrap();
        let mut deployment = world.store.get(id).await.unwrap().unwrap();
        deployment.finish(world.clock.now(), status, None);
        world.store.update(&mut deployment).await.unwrap();
        world.store.release_lock("shop/web", id).await.unwrap();
        world.clock.advance(60);
    }
    shifted(&world, "d-running").await;
    world.clock.advance(30);

    let listed = overview(&world.deps, &filter(None, None)).await.unwrap();
    let ids: Vec<&str> = listed
        .deployments
        .iter()
        .map(|row| row.id.as_str())
        .collect();
    assert_eq!(ids, ["d-running", "d-newer", "d-old"]);
    assert_eq!(listed.services, ["shop/web"]);
    let running = &listed.deployments[0];
    assert!(running.in_flight);
    assert_eq!(running.status, "shifting");
    assert_eq!(running.green_weight, 10);
    assert_eq!(running.strategy, "canary 10%");
    assert_eq!(running.short_commit, "0123456");
    assert_eq!(running.message.as_deref(), Some("Fix the checkout total"));
    assert_eq!(running.author.as_deref(), Some("alice"));
    assert_eq!(running.duration_seconds, 30);
    assert_eq!(listed.deployments[1].duration_seconds, 0);

    let rolled_back = overview(&world.deps, &filter(None, Some("rolled-back")))
        .await
        .unwrap();
    assert_eq!(rolled_back.deployments.len(), 1);
    assert_eq!(rolled_back.deployments[0].id, "d-newer");
    let ended = overview(&world.deps, &filter(Some("shop/web"), Some("ended")))
        .await
        .unwrap();
    assert_eq!(ended.deployments.len(), 2);
    let elsewhere = overview(&world.deps, &filter(Some("shop/api"), None))
        .await
        .unwrap();
    assert!(elsewhere.deployments.is_empty());
    let one = overview(
        &world.deps,
        &Filter {
            limit: 1,
            ..filter(None, None)
        },
    )
    .await
    .unwrap();
    assert_eq!(one.deployments.len(), 1);
}

#[tokio::test]
async fn a_deployment_live_shows_the_load_balancer_task_sets_and_alarms() {
    let world = World::new(&manifest(CANARY, ""));
    shifted(&world, "d1").await;
    world.alarms.set(ALARM, AlarmState::Alarm, "5xx above 1%");
    let deployment = world.store.get("d1").await.unwrap().unwrap();

    let live = live(&world.deps, &deployment).await;
    let weights = live.weights.expect("weights read");
    assert_eq!(weights.green_percent, Some(10.0));
    let roles: Vec<(Role, &str, u32)> = weights
        .target_groups
        .iter()
        .map(|group| (group.role, group.name.as_str(), group.weight))
        .collect();
    assert_eq!(
        roles,
        [(Role::Blue, "web-blue", 90), (Role::Green, "web-green", 10)]
    );
    let sides: Vec<Role> = live.task_sets.iter().map(|set| set.role).collect();
    assert_eq!(sides, [Role::Blue, Role::Green]);
    let green = &live.task_sets[1];
    assert_eq!(green.task_definition, "web:1");
    assert_eq!(green.images[0].container, "web");
    assert_eq!(green.images[0].image, format!("shop/web:{COMMIT}"));
    assert_eq!(live.alarms[0].state, AlarmState::Alarm);
    assert_eq!(live.alarms[0].reason, "5xx above 1%");
    assert_eq!(live.status, "shifting");
    assert_eq!(live.actions, ["rollback"]);
    assert_eq!(
        live.links.commit.as_deref(),
        Some(format!("https://github.com/acme/shop/commit/{COMMIT}").as_str())
    );
    assert!(live.weights_error.is_none() && live.alarms_error.is_none());
}

#[tokio::test]
async fn a_failed_read_is_said_in_its_part_and_the_rest_is_shown() {
    let world = World::new(&manifest(CANARY, ""));
    shifted(&world, "d1").await;
    let deployment = world.store.get("d1").await.unwrap().unwrap();
    world.ecs.fail_next(
        "describe_service",
        PortError::Transient("ECS throttled DescribeServices".into()),
    );

    let live = live(&world.deps, &deployment).await;
    assert!(live.task_sets.is_empty());
    assert!(
        live.task_sets_error
            .as_deref()
            .is_some_and(|error| error.contains("throttled")),
        "{:?}",
        live.task_sets_error
    );
    assert_eq!(live.weights.unwrap().green_percent, Some(10.0));
    assert_eq!(live.alarms.len(), 1);
}

#[tokio::test]
async fn a_service_shows_what_runs_it_its_deployments_and_its_last_plan() {
    let world = World::new(&manifest(CANARY, ""));
    shifted(&world, "d1").await;

    let view = service(&world.deps, CLUSTER, SERVICE).await.unwrap();
    assert_eq!(view.service, "shop/web");
    let current = view.current.unwrap().task_set.unwrap();
    assert_eq!(current.role, Role::Current);
    assert_eq!(current.id, BLUE_ID);
    assert_eq!((current.running, current.desired), (2, 2));
    assert_eq!(view.deployments.len(), 1);
    let plan = view.last_plan.unwrap();
    assert_eq!(plan.deployment_id, "d1");
    assert_eq!(plan.strategy, "canary 10%");
    assert_eq!(plan.steps.len(), 2);
    assert!(view.desired.is_none());

    let unknown = service(&world.deps, CLUSTER, "nope").await.unwrap_err();
    assert!(matches!(unknown, PortError::NotFound(_)), "{unknown:?}");
}

#[test]
fn only_a_github_repository_gets_links() {
    assert!(Links::of("acme/shop", "0123abc").commit.is_some());
    for local in ["/home/alice/shop", "./shop", "shop", "a/b/c"] {
        assert_eq!(Links::of(local, "0123abc"), Links::default(), "{local}");
    }
    assert_eq!(Links::of("acme/shop", "HEAD"), Links::default());
}
