//! `DynamoStore` against moto's DynamoDB.

use ferry_aws::DynamoStore;
use ferry_core::DeploymentStatus;
use ferry_core::ports::{DeploymentStore, LockOutcome, PortError};
use time::OffsetDateTime;
use time::macros::datetime;

use crate::helpers::{Clients, clients, deployment_record, unique_prefix};

const NOW: OffsetDateTime = datetime!(2026-11-22 10:00:00 UTC);

fn minutes(count: i64) -> time::Duration {
    time::Duration::minutes(count)
}

/// A store on a fresh table of its own.
async fn store(clients: &Clients) -> DynamoStore {
    let table = format!("{}-ferry", unique_prefix("ddb"));
    ferry_aws::ensure_table(&clients.aws.dynamodb, &table)
        .await
        .unwrap();
    DynamoStore::new(clients.aws.dynamodb.clone(), table)
}

#[tokio::test]
async fn ensuring_the_table_twice_keeps_the_first_and_its_indexes() {
    let clients = clients().await;
    let store = store(&clients).await;

    ferry_aws::ensure_table(&clients.aws.dynamodb, store.table())
        .await
        .unwrap();

    let described = clients
        .aws
        .dynamodb
        .describe_table()
        .table_name(store.table())
        .send()
        .await
        .unwrap();
    let table = described.table().unwrap();
    let mut indexes: Vec<&str> = table
        .global_secondary_indexes()
        .iter()
        .filter_map(|index| index.index_name())
        .collect();
    indexes.sort();
    assert_eq!(indexes, vec!["gsi1", "gsi2", "gsi3"]);
    let ttl = clients
        .aws
        .dynamodb
        .describe_time_to_live()
        .table_name(store.table())
        .send()
        .await
        .unwrap();
    assert_eq!(
        ttl.time_to_live_description()
            .and_then(|description| description.attribute_name()),
        Some("expiresAt")
    );
}

#[tokio::test]
async fn the_lock_is_acquired_once_and_contended_by_another_deployment() {
    let clients = clients().await;
    let store = store(&clients).await;

    let first = store
        .acquire_lock("prod/web", "deploy-1", NOW, NOW + minutes(30))
        .await
        .unwrap();
    let again = store
        .acquire_lock("prod/web", "deploy-1", NOW + minutes(1), NOW + minutes(31))
        .await
        .unwrap();
    let other = store
        .acquire_lock("prod/web", "deploy-2", NOW + minutes(2), NOW + minutes(32))
        .await
        .unwrap();
    let other_service = store
        .acquire_lock("prod/api", "deploy-2", NOW, NOW + minutes(30))
        .await
        .unwrap();

    assert_eq!(first, LockOutcome::Acquired);
    assert_eq!(again, LockOutcome::Acquired);
    let LockOutcome::HeldBy(holder) = other else {
        panic!("expected the lock to be held, got {other:?}");
    };
    assert_eq!(holder.deployment_id, "deploy-1");
    assert_eq!(holder.service_key, "prod/web");
    // Re-acquiring refreshed the expiry.
    assert_eq!(holder.expires_at, NOW + minutes(31));
    assert_eq!(other_service, LockOutcome::Acquired);
}

#[tokio::test]
async fn an_expired_lock_is_taken_by_the_next_deployment() {
    let clients = clients().await;
    let store = store(&clients).await;
    store
        .acquire_lock("prod/web", "crashed", NOW, NOW + minutes(5))
        .await
        .unwrap();

    let outcome = store
        .acquire_lock("prod/web", "next", NOW + minutes(5), NOW + minutes(35))
        .await
        .unwrap();

    assert_eq!(outcome, LockOutcome::Acquired);
    let lock = store.get_lock("prod/web").await.unwrap().unwrap();
    assert_eq!(lock.deployment_id, "next");
    assert_eq!(lock.acquired_at, NOW + minutes(5));
}

#[tokio::test]
async fn taking_over_a_lock_succeeds_only_from_its_holder() {
    let clients = clients().await;
    let store = store(&clients).await;
    store
        .acquire_lock("prod/web", "old", NOW, NOW + minutes(30))
        .await
        .unwrap();

    store
        .take_over_lock("prod/web", "old", "new", NOW, NOW + minutes(30))
        .await
        .unwrap();
    let stale = store
        .take_over_lock("prod/web", "old", "third", NOW, NOW + minutes(30))
        .await;
    let free = store
        .take_over_lock("prod/api", "anyone", "new", NOW, NOW + minutes(30))
        .await;

    assert_eq!(
        store
            .get_lock("prod/web")
            .await
            .unwrap()
            .unwrap()
            .deployment_id,
        "new"
    );
    assert!(
        matches!(stale, Err(PortError::Conflict(ref message)) if message.contains("new")),
        "{stale:?}"
    );
    assert_eq!(free, Ok(()));
}

#[tokio::test]
async fn only_the_holder_releases_the_lock() {
    let clients = clients().await;
    let store = store(&clients).await;
    store
        .acquire_lock("prod/web", "holder", NOW, NOW + minutes(30))
        .await
        .unwrap();

    store
        .release_lock("prod/web", "somebody-else")
        .await
        .unwrap();
    let still_held = store.get_lock("prod/web").await.unwrap();
    store.release_lock("prod/web", "holder").await.unwrap();
    store.release_lock("prod/web", "holder").await.unwrap();

    assert_eq!(still_held.unwrap().deployment_id, "holder");
    assert_eq!(store.get_lock("prod/web").await.unwrap(), None);
    assert_eq!(
        store
            .acquire_lock("prod/web", "next", NOW, NOW + minutes(30))
            .await
            .unwrap(),
        LockOutcome::Acquired
    );
}

#[tokio::test]
async fn a_deployment_is_created_once_and_read_back_whole() {
    let clients = clients().await;
    let store = store(&clients).await;
    let deployment = deployment_record("prod", "web", "web-1", NOW);

    store.create(&deployment).await.unwrap();
    let duplicate = store.create(&deployment).await;

    assert!(
        matches!(duplicate, Err(PortError::Conflict(_))),
        "{duplicate:?}"
    );
    assert_eq!(store.get("web-1").await.unwrap(), Some(deployment));
    assert_eq!(store.get("web-2").await.unwrap(), None);
}

#[tokio::test]
async fn a_stale_update_conflicts_and_changes_nothing() {
    let clients = clients().await;
    let store = store(&clients).await;
    store
        .create(&deployment_record("prod", "web", "web-1", NOW))
        .await
        .unwrap();
    let mut mine = store.get("web-1").await.unwrap().unwrap();
    let mut theirs = mine.clone();

    mine.status = DeploymentStatus::Provisioning;
    mine.warned(NOW + minutes(1), "a second writer is coming");
    store.update(&mut mine).await.unwrap();
    theirs.status = DeploymentStatus::RollingBack;
    let conflict = store.update(&mut theirs).await;

    assert_eq!(mine.version, 1);
    assert!(
        matches!(conflict, Err(PortError::Conflict(_))),
        "{conflict:?}"
    );
    assert_eq!(theirs.version, 0);
    let stored = store.get("web-1").await.unwrap().unwrap();
    assert_eq!(stored, mine);
}

#[tokio::test]
async fn updating_a_deployment_that_was_never_created_is_not_found() {
    let clients = clients().await;
    let store = store(&clients).await;
    let mut ghost = deployment_record("prod", "web", "ghost", NOW);

    let result = store.update(&mut ghost).await;

    assert!(matches!(result, Err(PortError::NotFound(_))), "{result:?}");
}

#[tokio::test]
async fn deployments_in_flight_are_listed_until_they_end() {
    let clients = clients().await;
    let store = store(&clients).await;
    for (service, id, minute) in [
        ("web", "web-1", 0),
        ("api", "api-1", 1),
        ("web", "web-2", 2),
    ] {
        store
            .create(&deployment_record(
                "prod",
                service,
                id,
                NOW + minutes(minute),
            ))
            .await
            .unwrap();
    }
    let mut ended = store.get("web-1").await.unwrap().unwrap();
    ended.finish(NOW + minutes(10), DeploymentStatus::Succeeded, None);
    store.update(&mut ended).await.unwrap();

    let in_flight = store.list_in_flight().await.unwrap();

    let ids: Vec<&str> = in_flight
        .iter()
        .map(|deployment| deployment.id.as_str())
        .collect();
    assert_eq!(ids, vec!["api-1", "web-2"]);
    // The sparse index entry is gone, not just filtered out.
    let index = clients
        .aws
        .dynamodb
        .query()
        .table_name(store.table())
        .index_name("gsi1")
        .key_condition_expression("gsi1pk = :pk")
        .expression_attribute_values(
            ":pk",
            aws_sdk_dynamodb::types::AttributeValue::S("INFLIGHT".into()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(index.count(), 2);
}

#[tokio::test]
async fn a_services_deployments_are_listed_newest_first_up_to_the_limit() {
    let clients = clients().await;
    let store = store(&clients).await;
    for (service, id, minute) in [
        ("web", "web-1", 0),
        ("web", "web-3", 20),
        ("api", "api-1", 5),
        ("web", "web-2", 10),
    ] {
        store
            .create(&deployment_record(
                "prod",
                service,
                id,
                NOW + minutes(minute),
            ))
            .await
            .unwrap();
    }
    // Terminal deployments stay in the service's history.
    let mut ended = store.get("web-1").await.unwrap().unwrap();
    ended.finish(
        NOW + minutes(1),
        DeploymentStatus::RolledBack,
        Some("alarm".into()),
    );
    store.update(&mut ended).await.unwrap();

    let all = store.list_for_service("prod/web", 10).await.unwrap();
    let latest_two = store.list_for_service("prod/web", 2).await.unwrap();
    let none = store.list_for_service("prod/none", 10).await.unwrap();

    let ids = |list: &[ferry_core::Deployment]| -> Vec<String> {
        list.iter()
            .map(|deployment| deployment.id.clone())
            .collect()
    };
    assert_eq!(ids(&all), vec!["web-3", "web-2", "web-1"]);
    assert_eq!(all[2].status, DeploymentStatus::RolledBack);
    assert_eq!(all[2].version, 1);
    assert_eq!(ids(&latest_two), vec!["web-3", "web-2"]);
    assert!(none.is_empty());
}

#[tokio::test]
async fn the_poller_remembers_the_last_seen_head_and_its_etag_per_branch() {
    use ferry_core::ports::{PollMark, PollState};
    let clients = clients().await;
    let table = store(&clients).await.table().to_string();
    let state = ferry_aws::DynamoPollState::new(clients.aws.dynamodb.clone(), table);

    assert_eq!(state.get_mark("acme/shop", "main").await.unwrap(), None);
    let first = PollMark {
        sha: "1111111111111111111111111111111111111111".into(),
        etag: Some("W/\"e1\"".into()),
        seen_at: NOW,
    };
    state.put_mark("acme/shop", "main", &first).await.unwrap();
    let moved = PollMark {
        sha: "2222222222222222222222222222222222222222".into(),
        etag: None,
        seen_at: NOW + minutes(1),
    };
    state.put_mark("acme/shop", "main", &moved).await.unwrap();
    state
        .put_mark("acme/shop", "release/1", &first)
        .await
        .unwrap();

    assert_eq!(
        state.get_mark("Acme/Shop", "main").await.unwrap(),
        Some(moved)
    );
    assert_eq!(
        state.get_mark("acme/shop", "release/1").await.unwrap(),
        Some(first)
    );
}

fn pushed(commit: char) -> ferry_core::convergence::Push {
    ferry_core::convergence::Push {
        branch: "main".into(),
        commit: commit.to_string().repeat(40),
        author: Some("alice".into()),
        delivery: Some(format!("delivery-{commit}")),
        seen_by: Some("webhook".into()),
        pushed_at: NOW,
    }
}

fn lock_for(id: &str) -> ferry_core::ports::ServiceLock {
    ferry_core::ports::ServiceLock {
        service_key: "prod/web".into(),
        deployment_id: id.into(),
        acquired_at: NOW,
        expires_at: NOW + minutes(60),
    }
}

#[tokio::test]
async fn a_desired_state_is_written_on_its_version_and_listed_while_it_waits() {
    use ferry_core::convergence::{Desired, Order};

    let clients = clients().await;
    let store = store(&clients).await;
    let mut desired = Desired::new("prod/web", "acme/shop", ".ferry/web.yaml", pushed('a'));

    store.put_desired(&mut desired).await.unwrap();
    let mut stale = desired.clone();
    stale.version = 0;
    let recreated = store.put_desired(&mut stale).await;
    desired.accept(
        pushed('b'),
        "acme/shop",
        ".ferry/web.yaml",
        Order::Newer,
        NOW,
    );
    store.put_desired(&mut desired).await.unwrap();
    let mut behind = desired.clone();
    behind.version = 1;
    let lost = store.put_desired(&mut behind).await;

    assert!(
        matches!(recreated, Err(PortError::Conflict(_))),
        "{recreated:?}"
    );
    assert!(matches!(lost, Err(PortError::Conflict(_))), "{lost:?}");
    let read = store.get_desired("prod/web").await.unwrap().unwrap();
    assert_eq!(read, desired);
    assert_eq!(read.version, 2);
    assert_eq!(read.passed_over.len(), 1, "a was superseded by b");
    assert_eq!(store.get_desired("prod/api").await.unwrap(), None);
    let pending = store.list_pending_desired().await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].push.commit, "b".repeat(40));
}

/// The settling Update rides in plan's transaction: the desired generation is settled with
/// the lock and the record, or nothing is written.
#[tokio::test]
async fn taking_the_lock_settles_the_desired_generation_once_or_writes_nothing() {
    use ferry_core::convergence::{Desired, Order};

    let clients = clients().await;
    let store = store(&clients).await;
    let mut desired = Desired::new("prod/web", "acme/shop", ".ferry/web.yaml", pushed('a'));
    store.put_desired(&mut desired).await.unwrap();
    desired.accept(
        pushed('b'),
        "acme/shop",
        ".ferry/web.yaml",
        Order::Newer,
        NOW,
    );
    store.put_desired(&mut desired).await.unwrap();

    // A plan of the superseded generation 1: nothing is written.
    let old = deployment_record("prod", "web", "web-g1", NOW);
    let superseded = store
        .create_with_lock(&old, &lock_for("web-g1"), None, Some(1))
        .await;
    assert!(
        matches!(superseded, Err(PortError::Conflict(_))),
        "{superseded:?}"
    );
    assert_eq!(store.get("web-g1").await.unwrap(), None);
    assert_eq!(store.get_lock("prod/web").await.unwrap(), None);

    // Generation 2's plan: lock, record and settlement together.
    let current = deployment_record("prod", "web", "web-g2", NOW);
    store
        .create_with_lock(&current, &lock_for("web-g2"), None, Some(2))
        .await
        .unwrap();
    let settled = store.get_desired("prod/web").await.unwrap().unwrap();
    assert!(!settled.is_pending());
    assert_eq!(
        settled.settled.as_ref().unwrap().deployment_id.as_deref(),
        Some("web-g2")
    );
    assert_eq!(settled.version, 3, "the settlement bumps the version");
    assert!(store.list_pending_desired().await.unwrap().is_empty());
    // A stale write of the desired state loses to the settlement.
    let lost = store.put_desired(&mut desired).await;
    assert!(matches!(lost, Err(PortError::Conflict(_))), "{lost:?}");

    // Another execution of generation 2, after the lock was released: settled already.
    store.release_lock("prod/web", "web-g2").await.unwrap();
    let twice = deployment_record("prod", "web", "web-g2-again", NOW);
    let again = store
        .create_with_lock(&twice, &lock_for("web-g2-again"), None, Some(2))
        .await;
    assert!(matches!(again, Err(PortError::Conflict(_))), "{again:?}");
    assert_eq!(store.get("web-g2-again").await.unwrap(), None);
    assert_eq!(store.get_lock("prod/web").await.unwrap(), None);
}
