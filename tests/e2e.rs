//! End to end: the real `statemachines/` files on the local engine, the real handlers, the real
//! AWS adapters, against the emulator. What `ferry deploy --local` does, asserted.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use ferry_core::DeploymentStatus;
use ferry_core::ports::{
    PortError, PortResult, RouteRef, Split, TargetGroupWeight, TaskSetStatus, TrafficRouter,
};
use ferry_engine::{ExecutionOutcome, ExecutionStatus};
use ferry_handlers::control::{Action, Actor, Channel, Identity};
use ferry_local::{AlarmWatcher, LocalRuntime};
use serde_json::Value;

use crate::handlers::Harness;
use crate::helpers::set_alarm_state;

/// Bakes of minutes take milliseconds; polls of 15 s take 15 ms.
const TIME_SCALE: f64 = 0.001;

fn input(harness: &Harness) -> Value {
    harness.deploy_input("e2e")
}

fn execution_name(harness: &Harness, label: &str) -> String {
    format!("{}-{label}", harness.env.prefix)
}

async fn green_weight(harness: &Harness, green_target_group: &str) -> u32 {
    let weights = harness
        .deps
        .traffic
        .read_weights(&harness.env.production_route())
        .await
        .unwrap();
    weights
        .iter()
        .filter(|entry| entry.target_group_arn == green_target_group)
        .map(|entry| entry.weight)
        .sum()
}

/// Waits until the deployment's record satisfies `ready`, polling the table.
async fn until(
    harness: &Harness,
    id: &str,
    ready: impl Fn(&ferry_core::Deployment) -> bool,
) -> ferry_core::Deployment {
    harness
        .wait_for_record(id, Duration::from_secs(20), ready)
        .await
        .unwrap_or_else(|| panic!("deployment {id} never reached the expected state"))
}

fn failed_with(outcome: &ExecutionOutcome) -> (String, String) {
    match &outcome.status {
        ExecutionStatus::Failed { error, cause } => (
            error.clone().unwrap_or_default(),
            cause.clone().unwrap_or_default(),
        ),
        other => panic!("expected a failed execution, got {other:?}"),
    }
}

#[tokio::test]
async fn a_canary_deployment_runs_to_green_primary_on_the_local_engine() {
    let harness = Harness::new(
        "e2e-ok",
        "steps: [ {weight: 10, bake: 1m}, {weight: 50, bake: 1m}, {weight: 100} ]",
    )
    .await;
    let runtime = LocalRuntime::new(harness.deps.clone(), TIME_SCALE).unwrap();
    let id = execution_name(&harness, "ok");
    let outcome = runtime
        .start_deploy(&id, input(&harness))
        .unwrap()
        .wait()
        .await;
    assert!(outcome.succeeded(), "{:?}", outcome.status);
    assert_eq!(outcome.output.as_ref().unwrap()["outcome"], "succeeded");

    let record = harness.deps.store.get(&id).await.unwrap().unwrap();
    assert_eq!(record.status, DeploymentStatus::Succeeded);
    let shifted: Vec<u8> = record
        .history
        .iter()
        .filter_map(|e| match e.event {
            ferry_core::deployment::Event::Shifted { weight, .. } => Some(weight),
            _ => None,
        })
        .collect();
    assert_eq!(shifted, [10, 50, 100]);
    assert_eq!(
        green_weight(&harness, &record.green_target_group).await,
        100
    );
    let service = harness.service().await;
    assert_eq!(service.task_sets.len(), 1, "blue removed");
    assert_eq!(service.task_sets[0].status, TaskSetStatus::Primary);
    assert_eq!(
        service.task_sets[0].external_id.as_deref(),
        Some(id.as_str())
    );
    assert!(
        harness
            .deps
            .store
            .get_lock(&harness.env.service_key())
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn an_alarm_during_a_bake_rolls_back_to_blue_through_alarm_watch() {
    let harness = Harness::new("e2e-alarm", "canary: { weight: 10, bake: 30m }").await;
    let runtime = LocalRuntime::new(harness.deps.clone(), TIME_SCALE).unwrap();
    let watcher = AlarmWatcher::new(runtime.deps.clone(), Duration::from_millis(20)).spawn();
    let id = execution_name(&harness, "alarm");
    let execution = runtime.start_deploy(&id, input(&harness)).unwrap();
    let baking = until(&harness, &id, |record| {
        matches!(record.status, DeploymentStatus::Baking { .. })
    })
    .await;
    assert_eq!(green_weight(&harness, &baking.green_target_group).await, 10);

    let alarm = &harness.env.alarm_names[0];
    set_alarm_state(
        &harness.clients.aws.cloudwatch,
        alarm,
        aws_sdk_cloudwatch::types::StateValue::Alarm,
    )
    .await;
    let outcome = execution.wait().await;
    watcher.abort();
    let (error, cause) = failed_with(&outcome);
    assert_eq!(error, "RolledBack");
    assert!(
        cause.contains(alarm) && cause.contains("set to ALARM by a test"),
        "{cause}"
    );

    let record = harness.deps.store.get(&id).await.unwrap().unwrap();
    assert_eq!(record.status, DeploymentStatus::RolledBack);
    assert!(record.reason.as_deref().unwrap_or("").contains(alarm));
    assert_eq!(
        green_weight(&harness, &record.green_target_group).await,
        0,
        "all traffic on blue"
    );
    let service = harness.service().await;
    assert_eq!(service.task_sets.len(), 1, "green removed");
    assert_eq!(service.task_sets[0].id, harness.env.blue_task_set_id);
    assert!(
        harness
            .deps
            .store
            .get_lock(&harness.env.service_key())
            .await
            .unwrap()
            .is_none()
    );
}

async fn decide_when_asked(harness: &Harness, runtime: &LocalRuntime, id: &str, decision: Action) {
    until(harness, id, |record| {
        matches!(record.status, DeploymentStatus::AwaitingApproval { .. })
    })
    .await;
    let approver = Actor {
        identity: Identity::Slack("U0123ABC".into()),
        via: Channel::Slack,
    };
    ferry_handlers::control::act(&runtime.deps, &approver, id, decision)
        .await
        .unwrap();
}

#[tokio::test]
async fn an_approved_deployment_goes_on_and_a_rejected_one_rolls_back() {
    let approval = "approval: { beforeTraffic: true, approvers: [U0123ABC], timeout: 1h }\n";
    let harness = Harness::new("e2e-approve", "allAtOnce: {}").await;
    harness.put_manifest(
        &(harness
            .env
            .manifest_yaml("allAtOnce: {}", "../ecs/web.json")
            + approval),
    );
    let runtime = LocalRuntime::new(harness.deps.clone(), TIME_SCALE).unwrap();

    let approved = execution_name(&harness, "approved");
    let execution = runtime.start_deploy(&approved, input(&harness)).unwrap();
    decide_when_asked(&harness, &runtime, &approved, Action::Approve).await;
    assert!(execution.wait().await.succeeded());

    let rejected = execution_name(&harness, "rejected");
    let execution = runtime.start_deploy(&rejected, input(&harness)).unwrap();
    decide_when_asked(
        &harness,
        &runtime,
        &rejected,
        Action::Reject { reason: None },
    )
    .await;
    let (error, cause) = failed_with(&execution.wait().await);
    assert_eq!(error, "RolledBack");
    assert!(cause.starts_with("Rejected"), "{cause}");
    let record = harness.deps.store.get(&rejected).await.unwrap().unwrap();
    assert_eq!(record.status, DeploymentStatus::RolledBack);
    assert!(
        record
            .history
            .iter()
            .all(|entry| entry.event.name() != "shifted"),
        "no traffic went to green"
    );
}

#[tokio::test]
async fn an_approval_that_times_out_continues_or_rolls_back_as_the_manifest_says() {
    let harness = Harness::new("e2e-timeout", "allAtOnce: {}").await;
    let runtime = LocalRuntime::new(harness.deps.clone(), TIME_SCALE).unwrap();
    for (label, on_timeout, succeeds) in [("cont", "continue", true), ("back", "rollback", false)] {
        let approval =
            format!("approval: {{ beforeTraffic: true, timeout: 5m, onTimeout: {on_timeout} }}\n");
        harness.put_manifest(
            &(harness
                .env
                .manifest_yaml("allAtOnce: {}", "../ecs/web.json")
                + &approval),
        );
        let outcome = runtime
            .start_deploy(&execution_name(&harness, label), input(&harness))
            .unwrap()
            .wait()
            .await;
        assert_eq!(
            outcome.succeeded(),
            succeeds,
            "{on_timeout}: {:?}",
            outcome.status
        );
        if !succeeds {
            assert_eq!(failed_with(&outcome).0, "RolledBack");
        }
    }
}

/// A router whose first write to the production listener fails as a throttled ALB would.
struct ThrottledOnce {
    inner: Arc<dyn TrafficRouter>,
    failures_left: AtomicUsize,
    production_listener: String,
}

#[async_trait]
impl TrafficRouter for ThrottledOnce {
    async fn read_weights(&self, route: &RouteRef) -> PortResult<Vec<TargetGroupWeight>> {
        self.inner.read_weights(route).await
    }

    async fn set_weights(&self, route: &RouteRef, split: &Split) -> PortResult<()> {
        if route.listener_arn == self.production_listener
            && self
                .failures_left
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
        {
            return Err(PortError::Transient("Throttling: Rate exceeded".into()));
        }
        self.inner.set_weights(route, split).await
    }
}

#[tokio::test]
async fn a_handler_that_fails_once_is_retried_and_the_deployment_succeeds() {
    let harness = Harness::new("e2e-retry", "allAtOnce: {}").await;
    let mut deps = harness.deps.clone();
    deps.traffic = Arc::new(ThrottledOnce {
        inner: harness.deps.traffic.clone(),
        failures_left: AtomicUsize::new(1),
        production_listener: harness.env.production_listener_arn.clone(),
    });
    let runtime = LocalRuntime::new(deps, TIME_SCALE).unwrap();
    let execution = runtime
        .start_deploy(&execution_name(&harness, "retry"), input(&harness))
        .unwrap();
    let outcome = execution.wait().await;
    assert!(outcome.succeeded(), "{:?}", outcome.status);
    let retries = outcome
        .history
        .iter()
        .filter(|event| matches!(&event.kind, ferry_engine::EventKind::RetryScheduled { name, error, .. } if name == "ShiftWeights" && error == "Retryable"))
        .count();
    assert_eq!(retries, 1);
}

#[tokio::test]
async fn two_deployments_of_one_service_at_once_run_exactly_one() {
    let harness = Harness::new("e2e-race", "canary: { weight: 10, bake: 1m }").await;
    let runtime = LocalRuntime::new(harness.deps.clone(), TIME_SCALE).unwrap();
    let first = runtime
        .start_deploy(&execution_name(&harness, "one"), input(&harness))
        .unwrap();
    let second = runtime
        .start_deploy(&execution_name(&harness, "two"), input(&harness))
        .unwrap();
    let (first, second) = tokio::join!(first.wait(), second.wait());
    let outcomes = [first, second];
    let succeeded = outcomes
        .iter()
        .filter(|outcome| outcome.succeeded())
        .count();
    assert_eq!(
        succeeded,
        1,
        "{:?}",
        outcomes
            .iter()
            .map(|o| o.status.clone())
            .collect::<Vec<_>>()
    );
    let refused = outcomes
        .iter()
        .find(|outcome| !outcome.succeeded())
        .unwrap();
    assert_eq!(failed_with(refused).0, "LockHeld");
    let service = harness.service().await;
    assert_eq!(service.task_sets.len(), 1);
}

/// Two local processes share only the emulator: each has its own engine, so the task token of
/// one is unknown to the other. Answers claimed on the record by the second are delivered by
/// the first's relay, once.
#[tokio::test]
async fn an_answer_given_by_another_local_process_reaches_the_engine_that_waits() {
    let approval = "approval: { beforeTraffic: true, approvers: [github:bob], timeout: 1h }\n";
    let harness = Harness::new("e2e-relay", "canary: { weight: 10, bake: 10m }").await;
    harness.put_manifest(
        &(harness
            .env
            .manifest_yaml("canary: { weight: 10, bake: 10m }", "../ecs/web.json")
            + approval),
    );
    let deploying = LocalRuntime::new(harness.deps.clone(), TIME_SCALE).unwrap();
    let _watching = deploying.watch(Duration::from_millis(20));
    // The other terminal: another engine, the same emulator.
    let other = LocalRuntime::new(harness.deps.clone(), TIME_SCALE).unwrap();
    let as_ = |who: &str| Actor {
        identity: Identity::parse_local(who).unwrap(),
        via: Channel::Cli,
    };

    // Approved from the other process: the deployment goes on and succeeds.
    let approved = execution_name(&harness, "approved");
    let execution = deploying.start_deploy(&approved, input(&harness)).unwrap();
    until(&harness, &approved, |record| {
        matches!(record.status, DeploymentStatus::AwaitingApproval { .. })
    })
    .await;
    let refused = ferry_handlers::control::act(
        &other.action_deps(),
        &as_("mallory"),
        &approved,
        Action::Approve,
    )
    .await
    .unwrap_err();
    assert!(refused.to_string().contains("not an approver"), "{refused}");
    ferry_handlers::control::act(
        &other.action_deps(),
        &as_("github:bob"),
        &approved,
        Action::Approve,
    )
    .await
    .unwrap();
    let second = ferry_handlers::control::act(
        &other.action_deps(),
        &as_("github:bob"),
        &approved,
        Action::Reject { reason: None },
    )
    .await
    .unwrap_err();
    assert!(second.to_string().contains("already answered"), "{second}");
    // The 10 m bake takes 0.6 s at this time scale.
    let outcome = execution.wait().await;
    assert!(outcome.succeeded(), "{:?}", outcome.status);

    // Rolled back from the other process while it bakes.
    let baking = execution_name(&harness, "baking");
    let execution = deploying.start_deploy(&baking, input(&harness)).unwrap();
    until(&harness, &baking, |record| {
        matches!(record.status, DeploymentStatus::AwaitingApproval { .. })
    })
    .await;
    ferry_handlers::control::act(
        &other.action_deps(),
        &as_("github:bob"),
        &baking,
        Action::Approve,
    )
    .await
    .unwrap();
    until(&harness, &baking, |record| {
        matches!(record.status, DeploymentStatus::Baking { .. })
    })
    .await;
    ferry_handlers::control::act(
        &other.action_deps(),
        &as_("carol"),
        &baking,
        Action::Rollback {
            reason: Some("looks wrong".into()),
        },
    )
    .await
    .unwrap();
    let (error, cause) = failed_with(&execution.wait().await);
    assert_eq!(error, "RolledBack");
    assert!(cause.contains("looks wrong"), "{cause}");
    let record = harness.deps.store.get(&baking).await.unwrap().unwrap();
    assert_eq!(record.status, DeploymentStatus::RolledBack);
    assert!(
        record
            .history
            .iter()
            .any(|entry| matches!(&entry.event, ferry_core::deployment::Event::Answered { answer: ferry_handlers::control::Answer::Aborted, reason, .. } if reason == "looks wrong"))
    );
}

// ---------------------------------------------------------------------------------------------
// Verification hooks

/// A loopback server answering `status` to every request, counting them: the service's health
/// check as an `http` hook sees it.
pub(crate) async fn health_check_answering(status: u16) -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    let app = axum::Router::new().fallback(move || {
        let counted = counted.clone();
        async move {
            counted.fetch_add(1, Ordering::SeqCst);
            (
                axum::http::StatusCode::from_u16(status).unwrap(),
                if status == 200 { "ok" } else { "not ready" },
            )
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{address}"), hits)
}

/// A canary with an `http` hook after test traffic at a health check answering `status`,
/// deployed on the local engine: the environment, the deployment id, the outcome and how many
/// requests the health check received.
async fn deploy_with_a_smoke_hook_answering(
    status: u16,
) -> (Harness, String, ExecutionOutcome, Arc<AtomicUsize>) {
    const CANARY: &str = "canary: { weight: 10, bake: 1m }";
    let label = format!("e2e-hook{status}");
    let harness = Harness::new(&label, CANARY).await;
    let (url, hits) = health_check_answering(status).await;
    harness.put_manifest(&format!(
        "{}hooks:\n  - name: smoke\n    stage: afterTestTraffic\n    http: {{ url: \"{url}/healthz\", expectStatus: 200, retries: 1, interval: 5s }}\n    timeout: 1m\n",
        harness.env.manifest_yaml(CANARY, "../ecs/web.json")
    ));
    let runtime = LocalRuntime::new(harness.deps.clone(), TIME_SCALE).unwrap();
    let id = execution_name(&harness, &label);
    let outcome = runtime
        .start_deploy(&id, input(&harness))
        .unwrap()
        .wait()
        .await;
    (harness, id, outcome, hits)
}

#[tokio::test]
async fn an_http_hook_answering_500_after_test_traffic_rolls_back_with_production_never_on_green() {
    let (harness, id, outcome, hits) = deploy_with_a_smoke_hook_answering(500).await;

    let (error, cause) = failed_with(&outcome);
    assert_eq!(error, "RolledBack", "{cause}");
    assert!(
        cause.contains("HookFailed") && cause.contains("HTTP 500"),
        "{cause}"
    );
    assert_eq!(
        hits.load(Ordering::SeqCst),
        2,
        "the request and its one retry"
    );
    assert!(
        harness.weight_writes().iter().all(|green| *green == 0),
        "production never sent anything to green: {:?}",
        harness.weight_writes()
    );
    assert_eq!(harness.listener_weights().await, (100, 0));
    let record = harness.deps.store.get(&id).await.unwrap().unwrap();
    assert_eq!(record.status, DeploymentStatus::RolledBack);
    assert!(
        record
            .history
            .iter()
            .any(|entry| entry.event.name() == "hook-failed")
    );
    assert_eq!(harness.service().await.task_sets.len(), 1, "green removed");
}

#[tokio::test]
async fn an_http_hook_answering_200_lets_the_deployment_finish() {
    let (harness, id, outcome, hits) = deploy_with_a_smoke_hook_answering(200).await;

    assert!(outcome.succeeded(), "{:?}", outcome.status);
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    assert_eq!(harness.weight_writes(), [10, 100]);
    let record = harness.deps.store.get(&id).await.unwrap().unwrap();
    assert_eq!(record.status, DeploymentStatus::Succeeded);
    let passed = record
        .history
        .iter()
        .position(|entry| entry.event.name() == "hook-passed")
        .expect("the hook's result is recorded");
    let first_shift = record
        .history
        .iter()
        .position(|entry| entry.event.name() == "shifted")
        .unwrap();
    assert!(passed < first_shift, "checked before production moved");
}
