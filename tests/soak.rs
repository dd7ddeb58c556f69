//! Fault injection at the AWS boundary: deployments through the real state machines on the local
//! engine, the real handlers and adapters, against the emulator, with throttling, 5xx, lost
//! answers and latency injected into a seeded share of the AWS calls. After every deployment the
//! safety invariants are checked against the emulator directly.
//!
//! `FERRY_SOAK_RUNS` deployments per scenario (default 4: 12 in all, in `make test`);
//! `make soak` runs more. `FERRY_SOAK_SEED` replays a run; the seed is printed on failure.

use std::sync::Arc;
use std::time::Duration;

use ferry_core::DeploymentStatus;
use ferry_core::ports::TaskSetStatus;
use ferry_handlers::control::{Action, ActionError, Actor, Channel, Identity};
use ferry_local::{AlarmWatcher, LocalRuntime};

use crate::faults::FaultPlan;
use crate::handlers::Harness;
use crate::helpers::{sdk_config_with_faults, set_alarm_state};

const TIME_SCALE: f64 = 0.001;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scenario {
    /// A canary that succeeds.
    Success,
    /// An alarm fires during the bake: rolled back.
    AlarmDuringBake,
    /// Approval before traffic, given by a person: succeeds.
    Approval,
}

impl Scenario {
    fn strategy(self) -> &'static str {
        match self {
            Scenario::Success => "canary: { weight: 10, bake: 1m }",
            // 7.2 s at the time scale: room for the bake function to store its token under faults
            // (throttling backs off in real time) before the bake would time out and pass.
            Scenario::AlarmDuringBake => "canary: { weight: 10, bake: 2h }",
            Scenario::Approval => "linear: { step: 50, interval: 1m }",
        }
    }

    fn expected(self) -> DeploymentStatus {
        match self {
            Scenario::AlarmDuringBake => DeploymentStatus::RolledBack,
            _ => DeploymentStatus::Succeeded,
        }
    }
}

fn seed() -> u64 {
    std::env::var("FERRY_SOAK_SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|elapsed| elapsed.as_nanos() as u64)
                .unwrap_or(7)
        })
}

fn runs() -> usize {
    std::env::var("FERRY_SOAK_RUNS")
        .ok()
        .and_then(|runs| runs.parse().ok())
        .unwrap_or(4)
}

/// Handler ports whose AWS calls meet `plan`'s faults (the harness keeps clean ones to check).
async fn faulty_deps(harness: &Harness, plan: Arc<FaultPlan>) -> ferry_handlers::Deps {
    let sdk = sdk_config_with_faults(plan).await;
    let aws = ferry_aws::AwsClients::new(&sdk);
    let settings = ferry_aws::Resources {
        table: harness.env.table.clone(),
        ..ferry_aws::Resources::default()
    };
    let mut deps = harness.deps.clone();
    deps.ecs = Arc::new(aws.task_sets());
    deps.traffic = Arc::new(aws.router());
    deps.alarms = Arc::new(aws.alarms());
    deps.store = Arc::new(aws.store(&settings));
    if let Some(hooks) = &harness.deps.hooks {
        deps.hooks = Some(Arc::new(ferry_handlers::HookPorts {
            listeners: Arc::new(aws.router()),
            tasks: Arc::new(ferry_aws::EcsOneOffTasks::new(aws.ecs.clone())),
            ..(**hooks).clone()
        }));
    }
    deps
}

/// Reads (with clean clients) until `ready`, for at most two and a half minutes (the SDK's
/// own backoff under faults is real time, whatever the time scale).
async fn until(
    harness: &Harness,
    id: &str,
    ready: impl Fn(&ferry_core::Deployment) -> bool,
) -> bool {
    harness
        .wait_for_record(id, Duration::from_secs(150), ready)
        .await
        .is_some()
}

/// One deployment of `scenario` with faults on, then the invariants with faults off.
async fn deploy_once(
    harness: &Harness,
    runtime: &LocalRuntime,
    plan: &FaultPlan,
    scenario: Scenario,
    run: usize,
) -> Result<(), String> {
    let id = format!("{}-{run}", harness.env.prefix);
    let input = harness.deploy_input("soak");
    plan.set_rate(20);
    let execution = runtime
        .start_deploy(&id, input)
        .map_err(|error| error.to_string())?;
    match scenario {
        Scenario::Success => {}
        Scenario::AlarmDuringBake => {
            if !until(harness, &id, |r| {
                matches!(r.status, DeploymentStatus::Baking { .. })
            })
            .await
            {
                let record = harness.deps.store.get(&id).await.ok().flatten();
                return Err(format!(
                    "{id} never baked: {:?}",
                    record.map(|r| (
                        r.status,
                        r.reason,
                        r.history
                            .iter()
                            .map(|e| e.event.clone())
                            .collect::<Vec<_>>()
                    ))
                ));
            }
            set_alarm_state(
                &harness.clients.aws.cloudwatch,
                &harness.env.alarm_names[0],
                aws_sdk_cloudwatch::types::StateValue::Alarm,
            )
            .await;
        }
        Scenario::Approval => {
            if !until(harness, &id, |r| {
                matches!(r.status, DeploymentStatus::AwaitingApproval { .. })
            })
            .await
            {
                return Err(format!("{id} never asked for approval"));
            }
            // A person's click meets the same faults; they click again if it failed.
            let mut approved = false;
            for _ in 0..10 {
                let approver = Actor {
                    identity: Identity::Slack("U0123ABC".into()),
                    via: Channel::Slack,
                };
                match ferry_handlers::control::act(&runtime.deps, &approver, &id, Action::Approve)
                    .await
                {
                    Ok(_) => {
                        approved = true;
                        break;
                    }
                    Err(ActionError::Failed(error)) if error.error_type() == "Retryable" => {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    Err(error) => return Err(format!("approval of {id} refused: {error}")),
                }
            }
            if !approved {
                return Err(format!("approval of {id} never went through"));
            }
        }
    }
    let outcome = tokio::time::timeout(Duration::from_secs(180), execution.wait())
        .await
        .map_err(|_| format!("{id} hung"))?;
    plan.set_rate(0);
    if scenario == Scenario::AlarmDuringBake {
        set_alarm_state(
            &harness.clients.aws.cloudwatch,
            &harness.env.alarm_names[0],
            aws_sdk_cloudwatch::types::StateValue::Ok,
        )
        .await;
    }
    check_invariants(harness, &id, scenario.expected(), outcome.succeeded()).await
}

/// The safety invariants, read from the emulator with clients that meet no faults.
async fn check_invariants(
    harness: &Harness,
    id: &str,
    expected: DeploymentStatus,
    execution_succeeded: bool,
) -> Result<(), String> {
    let record = harness
        .deps
        .store
        .get(id)
        .await
        .map_err(|error| error.to_string())?
        .ok_or(format!("{id} has no record"))?;
    if record.status != expected {
        return Err(format!(
            "{id} ended {} ({:?}), expected {}",
            record.status.name(),
            record.reason,
            expected.name()
        ));
    }
    if execution_succeeded != (expected == DeploymentStatus::Succeeded) {
        return Err(format!(
            "{id}: the execution's outcome disagrees with the record ({})",
            record.status.name()
        ));
    }
    let weights = harness
        .deps
        .traffic
        .read_weights(&harness.env.production_route())
        .await
        .map_err(|error| error.to_string())?;
    let weight_of = |target_group: &str| -> u32 {
        weights
            .iter()
            .filter(|entry| entry.target_group_arn == target_group)
            .map(|entry| entry.weight)
            .sum()
    };
    let service = harness
        .deps
        .ecs
        .describe_service(&harness.env.cluster, &harness.env.service)
        .await
        .map_err(|error| error.to_string())?;
    // Each hook's end is recorded once, however often its calls were retried.
    for run in &record.hook_runs {
        let ends = record
            .history
            .iter()
            .filter(|entry| match &entry.event {
                ferry_core::deployment::Event::HookPassed {
                    hook, stage, step, ..
                }
                | ferry_core::deployment::Event::HookFailed {
                    hook, stage, step, ..
                } => run.is_of(hook, *stage, *step),
                _ => false,
            })
            .count();
        if ends != usize::from(run.outcome.is_some()) {
            return Err(format!(
                "{id}: hook {} ({:?}, step {:?}) ended {ends} times in the history",
                run.hook, run.stage, run.step
            ));
        }
    }
    if expected == DeploymentStatus::Succeeded
        && record
            .hook_runs
            .iter()
            .any(|run| !run.outcome.as_ref().is_some_and(|outcome| outcome.passed))
    {
        return Err(format!("{id}: a hook did not pass: {:?}", record.hook_runs));
    }
    let total: u32 = weights.iter().map(|entry| entry.weight).sum();
    let serving = if expected == DeploymentStatus::Succeeded {
        &record.green_target_group
    } else {
        &record.blue_target_group
    };
    if weight_of(serving) != total || total == 0 {
        return Err(format!("{id}: not 100% on {serving}: {weights:?}"));
    }
    if service.task_sets.len() != 1 || service.task_sets[0].status != TaskSetStatus::Primary {
        return Err(format!(
            "{id}: expected one PRIMARY task set, found {:?}",
            service
                .task_sets
                .iter()
                .map(|set| (&set.id, set.status, &set.external_id))
                .collect::<Vec<_>>()
        ));
    }
    let only = &service.task_sets[0];
    if !only.target_group_arns.contains(serving) {
        return Err(format!("{id}: the task set left is not on {serving}"));
    }
    if expected == DeploymentStatus::Succeeded && only.external_id.as_deref() != Some(id) {
        return Err(format!("{id}: the task set left is not green"));
    }
    for entry in weights.iter().filter(|entry| entry.weight > 0) {
        if !service
            .task_sets
            .iter()
            .any(|set| set.target_group_arns.contains(&entry.target_group_arn))
        {
            return Err(format!(
                "{id}: weight {} on {} without a task set",
                entry.weight, entry.target_group_arn
            ));
        }
    }
    if let Some(lock) = harness
        .deps
        .store
        .get_lock(&harness.env.service_key())
        .await
        .map_err(|error| error.to_string())?
    {
        return Err(format!(
            "{id}: the lock is still held by {}",
            lock.deployment_id
        ));
    }
    Ok(())
}

/// `runs` deployments of `scenario` one after another on one environment (so each also proves
/// the previous one left the service deployable).
async fn soak(scenario: Scenario, seed: u64, runs: usize) -> (Arc<FaultPlan>, Vec<String>) {
    let label = format!("soak-{}", format!("{scenario:?}").to_lowercase());
    let harness = Harness::new(&label, scenario.strategy()).await;
    // The successful deployments also run hooks (a health check answering 200, before
    // production traffic and after each step), so their record writes meet the faults too.
    let mut _health = None;
    if scenario == Scenario::Success {
        let (url, hits) = crate::e2e::health_check_answering(200).await;
        _health = Some(hits);
        harness.put_manifest(&format!(
            "{}hooks:\n  - name: smoke\n    stage: afterTestTraffic\n    http: {{ url: \"{url}/healthz\", retries: 2, interval: 5s }}\n  - name: canary\n    stage: afterStep\n    http: {{ url: \"{url}/healthz\" }}\n",
            harness
                .env
                .manifest_yaml(scenario.strategy(), "../ecs/web.json")
        ));
    }
    if scenario == Scenario::Approval {
        harness.put_manifest(
            &(harness
                .env
                .manifest_yaml(scenario.strategy(), "../ecs/web.json")
                + "approval: { beforeTraffic: true, approvers: [U0123ABC], timeout: 24h }\n"),
        );
    }
    let plan = FaultPlan::new(seed);
    let deps = faulty_deps(&harness, plan.clone()).await;
    let runtime = LocalRuntime::new(deps, TIME_SCALE).expect("local runtime");
    let watcher = AlarmWatcher::new(runtime.deps.clone(), Duration::from_millis(20)).spawn();
    let mut problems = Vec::new();
    for run in 0..runs {
        if let Err(problem) = deploy_once(&harness, &runtime, &plan, scenario, run).await {
            problems.push(problem);
            break;
        }
    }
    watcher.abort();
    (plan, problems)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deployments_keep_every_safety_invariant_at_a_twenty_percent_fault_rate() {
    let seed = seed();
    let runs = runs();
    let started = std::time::Instant::now();
    let (success, alarm, approval) = tokio::join!(
        soak(Scenario::Success, seed, runs),
        soak(Scenario::AlarmDuringBake, seed.wrapping_add(1), runs),
        soak(Scenario::Approval, seed.wrapping_add(2), runs),
    );
    let mut injected = std::collections::BTreeMap::new();
    let mut requests = 0;
    let mut problems = Vec::new();
    for (plan, found) in [success, alarm, approval] {
        for (kind, count) in plan.injected() {
            *injected.entry(kind).or_insert(0) += count;
        }
        requests += plan.requests.load(std::sync::atomic::Ordering::Relaxed);
        problems.extend(found);
    }
    println!(
        "soak: {} deployments (3 scenarios x {runs}), {requests} AWS requests, faults injected {injected:?}, {:.1}s, seed {seed}",
        3 * runs,
        started.elapsed().as_secs_f64()
    );
    assert!(
        problems.is_empty(),
        "invariants broken (replay with FERRY_SOAK_SEED={seed}): {problems:#?}"
    );
    // A soak without faults proves nothing: the fault layer must have been in the way.
    assert!(
        injected.values().sum::<usize>() > 0,
        "no fault injected in {requests} requests (seed {seed})"
    );
}

#[tokio::test]
async fn a_lost_create_task_set_answer_leaves_exactly_one_green() {
    // Every CreateTaskSet is applied and its answer lost, once.
    let harness = Harness::new("lost-ts", "allAtOnce: {}").await;
    let plan = FaultPlan::new(1);
    let deps = faulty_deps(&harness, plan.clone()).await;
    harness.plan("soak-lost-1").await.expect("plan");
    let deps_plan = deps;
    plan.only(&["CreateTaskSet"]);
    plan.force(crate::faults::Fault::Ambiguous);
    plan.set_rate(100);
    // The first try is applied and answered 500; the adapter finds the task set it created.
    let created = ferry_handlers::create_taskset::handle(
        &deps_plan,
        ferry_handlers::DeploymentRef {
            deployment_id: "soak-lost-1".into(),
        },
    )
    .await;
    plan.set_rate(0);
    let created = created.expect("create-taskset absorbs a lost answer");
    let service = harness.service().await;
    let greens: Vec<_> = service
        .task_sets
        .iter()
        .filter(|set| set.external_id.as_deref() == Some("soak-lost-1"))
        .collect();
    assert_eq!(greens.len(), 1, "{greens:#?}");
    assert_eq!(greens[0].id, created.task_set_id);
    assert!(plan.injected()["Ambiguous"] >= 1, "{:?}", plan.injected());
}

/// Calls `attempt` until it succeeds, as EventBridge and Lambda retry a function that failed
/// (at most 30 times).
async fn retried<T, F, Fut>(what: &str, attempt: F) -> Result<T, String>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<T, ferry_handlers::HandlerError>>,
{
    let mut last = String::new();
    for _ in 0..30 {
        match attempt().await {
            Ok(value) => return Ok(value),
            Err(error) => last = error.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(format!("{what} kept failing: {last}"))
}

/// Convergence under faults: each round pushes three commits, the second and third while the
/// first deploys (its bake runs 7.2 s at the time scale); push-deploy and converge are retried
/// as EventBridge and Lambda retry them, with a fifth of the table's calls failing, slow, or
/// applied with their answer lost. Every round, the first and the last commit deploy once each,
/// the middle one never, and the service ends as a successful deployment leaves it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushes_converge_on_the_latest_commit_once_each_at_a_twenty_percent_fault_rate() {
    use crate::handlers::{MANIFEST_PATH, REPOSITORY, TASK_DEFINITION_PATH};
    use ferry_core::ports::GitSource;
    use ferry_handlers::converge::{self, ConvergeInput};
    use ferry_handlers::push_deploy::{self, PushInput};

    let seed = seed().wrapping_add(3);
    let rounds = runs().div_ceil(2);
    let harness = Harness::new("soak-pushes", "canary: { weight: 10, bake: 2h }").await;
    let plan = FaultPlan::new(seed);
    let deps = faulty_deps(&harness, plan.clone()).await;
    let runtime = LocalRuntime::new(deps, TIME_SCALE).expect("local runtime");
    let service_key = format!("{}/{}", harness.env.cluster, harness.env.service);
    let manifest = harness
        .git
        .read_file(REPOSITORY, &harness.commit, MANIFEST_PATH)
        .await
        .unwrap()
        .unwrap();
    let task_definition = harness
        .git
        .read_file(REPOSITORY, &harness.commit, TASK_DEFINITION_PATH)
        .await
        .unwrap()
        .unwrap();
    let mut parent = harness.commit.clone();
    let mut problems = Vec::new();
    for round in 0..rounds {
        let commits: Vec<String> = (0..3)
            .map(|n| format!("{round:04x}{n:04x}{}", "c".repeat(32)))
            .collect();
        for commit in &commits {
            harness
                .git
                .put(REPOSITORY, commit, MANIFEST_PATH, &manifest);
            // The image is tagged `${GIT_SHA}`: each commit deploys an image of its own.
            harness
                .git
                .put(REPOSITORY, commit, TASK_DEFINITION_PATH, &task_definition);
            harness.git.set_parent(commit, &parent);
            parent = commit.clone();
        }
        let push = |commit: &str| -> PushInput {
            serde_json::from_value(serde_json::json!({
                "repository": REPOSITORY, "ref": "refs/heads/main", "branch": "main",
                "before": "1".repeat(40), "after": commit, "changedPaths": [TASK_DEFINITION_PATH],
                "pusher": "alice", "seenBy": "webhook", "defaultBranch": "main"}))
            .unwrap()
        };
        let result: Result<String, String> = async {
            plan.set_rate(20);
            harness.git.set_head(REPOSITORY, "main", &commits[0]);
            retried("push-deploy", || {
                push_deploy::handle(&runtime.deps, push(&commits[0]))
            })
            .await?;
            let first = harness
                .wait_for_record_of(&service_key, &commits[0], Duration::from_secs(150), |r| {
                    matches!(r.status, DeploymentStatus::Baking { .. }) || r.status.is_terminal()
                })
                .await
                .ok_or("the first push never baked")?;
            for commit in &commits[1..] {
                harness.git.set_head(REPOSITORY, "main", commit);
                retried("push-deploy", || {
                    push_deploy::handle(&runtime.deps, push(commit))
                })
                .await?;
            }
            if !until(&harness, &first.id, |r| r.status.is_terminal()).await {
                return Err(format!("{} never ended", first.id));
            }
            // The deploy-ended rule's converge, retried until the last push is on its way.
            for _ in 0..30 {
                retried("converge", || {
                    converge::handle(&runtime.deps, ConvergeInput::default())
                })
                .await?;
                let desired = harness
                    .deps
                    .store
                    .get_desired(&service_key)
                    .await
                    .map_err(|e| e.to_string())?;
                if desired.is_some_and(|desired| !desired.is_pending()) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            let last = harness
                .wait_for_record_of(&service_key, &commits[2], Duration::from_secs(150), |r| {
                    r.status.is_terminal()
                })
                .await
                .ok_or("the last push never deployed")?;
            plan.set_rate(0);
            let records = harness
                .deps
                .store
                .list_for_service(&service_key, 100)
                .await
                .map_err(|e| e.to_string())?;
            let deployed =
                |commit: &str| records.iter().filter(|r| r.source.commit == commit).count();
            if (
                deployed(&commits[0]),
                deployed(&commits[1]),
                deployed(&commits[2]),
            ) != (1, 0, 1)
            {
                return Err(format!(
                    "round {round}: deployments per commit {:?}",
                    commits.iter().map(|c| deployed(c)).collect::<Vec<_>>()
                ));
            }
            let first = harness
                .deps
                .store
                .get(&first.id)
                .await
                .map_err(|e| e.to_string())?;
            if first.as_ref().map(|record| record.status) != Some(DeploymentStatus::Succeeded) {
                return Err(format!("round {round}: the first push ended {first:?}"));
            }
            Ok(last.id)
        }
        .await;
        plan.set_rate(0);
        match result {
            Ok(last) => {
                if let Err(problem) =
                    check_invariants(&harness, &last, DeploymentStatus::Succeeded, true).await
                {
                    problems.push(problem);
                    break;
                }
            }
            Err(problem) => {
                problems.push(problem);
                break;
            }
        }
    }
    let desired = harness
        .deps
        .store
        .get_desired(&service_key)
        .await
        .unwrap()
        .unwrap();
    let superseded = desired
        .passed_over
        .iter()
        .filter(|entry| {
            matches!(
                entry.why,
                ferry_core::convergence::PassOver::Superseded { .. }
            )
        })
        .count();
    println!(
        "soak pushes: {rounds} rounds of 3 pushes, {} AWS requests, faults injected {:?}, seed {seed}",
        plan.requests.load(std::sync::atomic::Ordering::Relaxed),
        plan.injected()
    );
    assert!(
        problems.is_empty(),
        "convergence broken (replay with FERRY_SOAK_SEED={}): {problems:#?}",
        seed.wrapping_sub(3)
    );
    assert_eq!(superseded, rounds, "one superseded push per round");
    assert!(
        plan.injected().values().sum::<usize>() > 0,
        "no fault injected (seed {seed})"
    );
}
