//! Verification hooks over the fakes: each kind's verdicts, retries and timeouts, a repeated
//! call that repeats nothing, a task started once, and a rollback that hooks do not outrun.

use ferry_core::deployment::{Deployment, Event};
use ferry_core::hooks::HookStage;
use ferry_core::ports::{DeploymentStore, PortError};
use ferry_testing::hooks::TEST_LISTENER_URL;

use crate::rollback::RollbackInput;
use crate::run_hooks::{RunHooksInput, RunHooksOutput};
use crate::testing::*;
use crate::*;

/// The seeded world with `hooks` (YAML list items, indented by two) and a test listener.
fn world(hooks: &str) -> World {
    let world = World::new(&with_test_listener(&manifest(
        "canary: { weight: 10, bake: 5m }",
        &format!("hooks:\n{hooks}"),
    )));
    put_test_listener(&world.alb);
    world
}

/// Planned, green created and stable (the test listener on green).
async fn ready(world: &World, id: &str) {
    planned_and_created(world, id).await;
    world.ecs.set_steady(CLUSTER, SERVICE, true);
    assert!(
        wait_stable::handle(&world.deps, crate::testing::id(id))
            .await
            .unwrap()
            .stable
    );
}

fn input(id: &str, stage: HookStage, step: Option<usize>) -> RunHooksInput {
    RunHooksInput {
        deployment_id: id.into(),
        stage,
        step,
    }
}

async fn run(
    world: &World,
    id: &str,
    stage: HookStage,
    step: Option<usize>,
) -> Result<RunHooksOutput, HandlerError> {
    run_hooks::handle(&world.deps, input(id, stage, step)).await
}

/// Calls `run-hooks` as the state machine does, moving the clock by each wait, until it is done
/// or fails; at most `limit` calls.
async fn run_to_end(
    world: &World,
    id: &str,
    stage: HookStage,
    step: Option<usize>,
) -> Result<usize, HandlerError> {
    for call in 1..=200 {
        let output = run(world, id, stage, step).await?;
        if output.done {
            return Ok(call);
        }
        world.clock.advance(output.wait_seconds as i64);
    }
    panic!("run-hooks never finished");
}

async fn record(world: &World, id: &str) -> Deployment {
    world.store.get(id).await.unwrap().unwrap()
}

fn hook_events(deployment: &Deployment) -> Vec<&Event> {
    deployment
        .history
        .iter()
        .map(|entry| &entry.event)
        .filter(|event| matches!(event, Event::HookPassed { .. } | Event::HookFailed { .. }))
        .collect()
}

const SMOKE: &str = "  - name: smoke\n    stage: afterTestTraffic\n    http: { url: \"${TEST_URL}/healthz\", expectStatus: 200, retries: 2, interval: 5s }\n    timeout: 2m\n";

#[tokio::test]
async fn an_http_hook_that_answers_200_passes_on_the_test_listeners_address() {
    let world = world(SMOKE);
    ready(&world, "d1").await;
    world.hooks.answer_http(&[(200, "ok")]);

    assert_eq!(
        run_to_end(&world, "d1", HookStage::AfterTestTraffic, None)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        world.hooks.requested(),
        [format!("{TEST_LISTENER_URL}/healthz")]
    );
    let deployment = record(&world, "d1").await;
    assert!(matches!(
        hook_events(&deployment)[..],
        [Event::HookPassed { hook, detail, .. }] if hook == "smoke" && detail == "HTTP 200"
    ));
    assert!(deployment.hook_runs[0].outcome.as_ref().unwrap().passed);
    // People hear of it (normal verbosity), and a repeat of the done call changes nothing.
    assert!(
        world
            .notifier
            .names()
            .iter()
            .any(|name| name == "hook-passed")
    );
    let version = deployment.version;
    assert!(
        run(&world, "d1", HookStage::AfterTestTraffic, None)
            .await
            .unwrap()
            .done
    );
    assert_eq!(record(&world, "d1").await.version, version);
    assert_eq!(world.hooks.requested().len(), 1, "no second request");
}

#[tokio::test]
async fn an_http_hook_answering_500_is_retried_then_fails_the_deployment_before_production_traffic()
{
    let world = world(SMOKE);
    ready(&world, "d1").await;
    world.hooks.answer_http(&[(500, "boom")]);

    let error = run_to_end(&world, "d1", HookStage::AfterTestTraffic, None)
        .await
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::HookFailed);
    assert!(
        error.message.contains("HTTP 500, expected 200: boom"),
        "{}",
        error.message
    );
    assert!(
        error.message.contains("production never reached green"),
        "{}",
        error.message
    );
    assert_eq!(
        world.hooks.requested().len(),
        3,
        "the first request and 2 retries"
    );
    assert_eq!(world.green_weight(), 0);
    let deployment = record(&world, "d1").await;
    assert!(matches!(
        hook_events(&deployment)[..],
        [Event::HookFailed {
            rolls_back: true,
            ..
        }]
    ));
    // A retried call (its answer lost) fails the same way without asking again.
    let again = run(&world, "d1", HookStage::AfterTestTraffic, None)
        .await
        .unwrap_err();
    assert_eq!(again.kind, ErrorKind::HookFailed);
    assert_eq!(world.hooks.requested().len(), 3);
}

#[tokio::test]
async fn a_retry_that_succeeds_passes_and_a_connection_failure_counts_as_a_failed_attempt() {
    let world = world(SMOKE);
    ready(&world, "d1").await;
    world.hooks.fail_http(PortError::Transient(
        "cannot connect: connection refused".into(),
    ));
    world.hooks.answer_http(&[(503, ""), (200, "ok")]);

    run_to_end(&world, "d1", HookStage::AfterTestTraffic, None)
        .await
        .unwrap();
    assert_eq!(world.hooks.requested().len(), 3);
    let deployment = record(&world, "d1").await;
    assert_eq!(deployment.hook_runs[0].attempts, 3);
    // Each retry waited its interval.
    assert_eq!(
        deployment.hook_runs[0].outcome.as_ref().unwrap().seconds,
        10
    );
}

#[tokio::test]
async fn a_call_before_the_interval_ended_only_says_how_long_to_wait() {
    let world = world(SMOKE);
    ready(&world, "d1").await;
    world.hooks.answer_http(&[(500, ""), (200, "")]);
    let first = run(&world, "d1", HookStage::AfterTestTraffic, None)
        .await
        .unwrap();
    assert_eq!((first.done, first.wait_seconds), (false, 5));
    world.clock.advance(2);
    let early = run(&world, "d1", HookStage::AfterTestTraffic, None)
        .await
        .unwrap();
    assert_eq!((early.done, early.wait_seconds), (false, 3));
    assert_eq!(
        world.hooks.requested().len(),
        1,
        "no request before the interval"
    );
}

#[tokio::test]
async fn a_hook_that_outlives_its_timeout_fails_with_what_it_last_saw() {
    let world = world(
        "  - name: slow\n    stage: afterTestTraffic\n    http: { url: \"https://status.example.com/ok\", retries: 100, interval: 10s }\n    timeout: 20m\n",
    );
    ready(&world, "d1").await;
    world.hooks.answer_http(&[(502, "bad gateway")]);
    run(&world, "d1", HookStage::AfterTestTraffic, None)
        .await
        .unwrap();
    world.clock.advance(20 * 60);
    let error = run(&world, "d1", HookStage::AfterTestTraffic, None)
        .await
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::HookFailed);
    assert!(
        error.message.contains("timed out after 20m"),
        "{}",
        error.message
    );
    assert!(error.message.contains("HTTP 502"), "{}", error.message);
    assert_eq!(world.hooks.requested(), ["https://status.example.com/ok"]);
}

#[tokio::test]
async fn a_failing_hook_with_on_failure_continue_is_recorded_and_the_deployment_goes_on() {
    let world = world(
        "  - name: optional\n    stage: afterTestTraffic\n    http: { url: \"${TEST_URL}/\" }\n    onFailure: continue\n  - name: smoke\n    stage: afterTestTraffic\n    http: { url: \"${TEST_URL}/healthz\" }\n",
    );
    ready(&world, "d1").await;
    world.hooks.answer_http(&[(404, ""), (200, "")]);
    run_to_end(&world, "d1", HookStage::AfterTestTraffic, None)
        .await
        .unwrap();
    let deployment = record(&world, "d1").await;
    assert!(matches!(
        hook_events(&deployment)[..],
        [
            Event::HookFailed { hook: first, rolls_back: false, .. },
            Event::HookPassed { hook: second, .. }
        ] if first == "optional" && second == "smoke"
    ));
}

#[tokio::test]
async fn hooks_of_each_step_run_once_per_step_and_other_stages_are_left_alone() {
    let world = world(
        "  - name: before\n    stage: beforeStep\n    http: { url: \"https://example.com/b\" }\n  - name: after\n    stage: afterStep\n    http: { url: \"https://example.com/a\" }\n",
    );
    ready(&world, "d1").await;
    world.hooks.answer_http(&[(200, "")]);
    assert!(
        run(&world, "d1", HookStage::AfterTestTraffic, None)
            .await
            .unwrap()
            .done
    );
    assert!(world.hooks.requested().is_empty());
    for step in 0..2 {
        run_to_end(&world, "d1", HookStage::BeforeStep, Some(step))
            .await
            .unwrap();
        run_to_end(&world, "d1", HookStage::AfterStep, Some(step))
            .await
            .unwrap();
    }
    assert_eq!(world.hooks.requested().len(), 4);
    let deployment = record(&world, "d1").await;
    assert_eq!(deployment.hook_runs.len(), 4);
    let error = run(&world, "d1", HookStage::BeforeStep, None)
        .await
        .unwrap_err();
    assert_eq!(
        error.kind,
        ErrorKind::NonRetryable,
        "a step stage needs its step"
    );
}

#[tokio::test]
async fn a_hook_does_not_run_once_a_rollback_began() {
    let world = world(SMOKE);
    ready(&world, "d1").await;
    world.hooks.answer_http(&[(500, ""), (200, "")]);
    run(&world, "d1", HookStage::AfterTestTraffic, None)
        .await
        .unwrap();
    rollback::handle(
        &world.deps,
        RollbackInput {
            deployment_id: "d1".into(),
            error: Some("Aborted".into()),
            cause: Some("rolled back by alice".into()),
            give_up: false,
        },
    )
    .await
    .unwrap();
    world.clock.advance(5);
    let error = run(&world, "d1", HookStage::AfterTestTraffic, None)
        .await
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::NonRetryable);
    assert_eq!(world.hooks.requested().len(), 1);
}

// ---------------------------------------------------------------------------------------------
// lambda

const FUNCTION: &str = "  - name: check\n    stage: afterTraffic\n    lambda: { function: shop-verify }\n    timeout: 10m\n";

#[tokio::test]
async fn a_function_answering_in_progress_is_called_again_after_its_delay_then_passes() {
    let world = world(FUNCTION);
    ready(&world, "d1").await;
    world.hooks.answer_function(&[
        r#"{"hookStatus":"IN_PROGRESS","callBackDelay":45,"hookDetails":{"run":"r-1"}}"#,
        r#"{"hookStatus":"SUCCEEDED"}"#,
    ]);
    let first = run(&world, "d1", HookStage::AfterTraffic, None)
        .await
        .unwrap();
    assert_eq!((first.done, first.wait_seconds), (false, 45));
    world.clock.advance(45);
    assert!(
        run(&world, "d1", HookStage::AfterTraffic, None)
            .await
            .unwrap()
            .done
    );

    let invocations = world.hooks.invocations();
    assert_eq!(invocations.len(), 2);
    let (function, payload) = &invocations[0];
    assert_eq!(function, "shop-verify");
    assert_eq!(payload["ferry"]["deploymentId"], "d1");
    assert_eq!(payload["ferry"]["stage"], "afterTraffic");
    assert_eq!(payload["ferry"]["testUrl"], TEST_LISTENER_URL);
    assert_eq!(payload["lifecycleStage"], "POST_PRODUCTION_TRAFFIC_SHIFT");
    assert_eq!(payload["DeploymentId"], "d1");
    assert!(
        payload["LifecycleEventHookExecutionId"]
            .as_str()
            .unwrap()
            .starts_with("d1:check")
    );
    // What the function asked to be given back (ECS's hookDetails), on the next call.
    assert_eq!(invocations[1].1["hookDetails"]["run"], "r-1");
    assert_eq!(invocations[1].1["ferry"]["attempt"], 2);
}

#[tokio::test]
async fn a_function_that_fails_raises_or_answers_nothing_fails_the_hook() {
    for answer in [
        Ok(ferry_core::hooks::FunctionAnswer {
            payload: r#"{"hookStatus":"FAILED","reason":"error rate 4%"}"#.into(),
            function_error: None,
        }),
        Ok(ferry_core::hooks::FunctionAnswer {
            payload: r#"{"errorType":"Error","errorMessage":"boom"}"#.into(),
            function_error: Some("Unhandled".into()),
        }),
        Ok(ferry_core::hooks::FunctionAnswer {
            payload: "null".into(),
            function_error: None,
        }),
        Err(PortError::NotFound("function shop-verify".into())),
        Err(PortError::AccessDenied(
            "Invoke: AccessDeniedException".into(),
        )),
    ] {
        let world = world(FUNCTION);
        ready(&world, "d1").await;
        world.hooks.function_result(answer.clone());
        let error = run_to_end(&world, "d1", HookStage::AfterTraffic, None)
            .await
            .unwrap_err();
        assert_eq!(error.kind, ErrorKind::HookFailed, "{answer:?}");
        assert_eq!(
            world.hooks.invocations().len(),
            1,
            "{answer:?}: not invoked again"
        );
    }
}

#[tokio::test]
async fn a_throttled_invocation_is_tried_again_without_counting() {
    let world = world(FUNCTION);
    ready(&world, "d1").await;
    world
        .hooks
        .function_result(Err(PortError::Transient("TooManyRequestsException".into())));
    world.hooks.answer_function(&[r#"{"status":"Succeeded"}"#]);
    let first = run(&world, "d1", HookStage::AfterTraffic, None)
        .await
        .unwrap();
    assert_eq!((first.done, first.wait_seconds), (false, 10));
    let deployment = record(&world, "d1").await;
    assert_eq!(deployment.hook_runs[0].attempts, 0, "nothing was learnt");
    assert!(
        deployment.hook_runs[0]
            .last_detail
            .as_deref()
            .unwrap()
            .contains("TooManyRequestsException")
    );
    world.clock.advance(10);
    assert!(
        run(&world, "d1", HookStage::AfterTraffic, None)
            .await
            .unwrap()
            .done
    );
    assert_eq!(record(&world, "d1").await.hook_runs[0].attempts, 1);
}

/// A function that stays throttled fails its hook by the timeout, and the hook's `onFailure`
/// decides: with `continue` the deployment goes on.
#[tokio::test]
async fn a_function_throttled_until_the_timeout_fails_its_hook_and_on_failure_decides() {
    let world = world(
        "  - name: optional\n    stage: afterTraffic\n    lambda: { function: shop-verify }\n    timeout: 1m\n    onFailure: continue\n",
    );
    ready(&world, "d1").await;
    world
        .hooks
        .function_result(Err(PortError::Transient("TooManyRequestsException".into())));
    run_to_end(&world, "d1", HookStage::AfterTraffic, None)
        .await
        .unwrap();
    let deployment = record(&world, "d1").await;
    assert!(matches!(
        hook_events(&deployment)[..],
        [Event::HookFailed { rolls_back: false, detail, .. }]
            if detail.starts_with("timed out after 1m (last: invoking shop-verify: temporary failure: TooManyRequestsException")
    ));
    assert_eq!(
        world.hooks.invocations().len(),
        6,
        "every 10 s for a minute"
    );
}

// ---------------------------------------------------------------------------------------------
// task

const TASK: &str = "  - name: integration\n    stage: afterTestTraffic\n    task: { command: [\"npm\", \"run\", \"smoke\"] }\n    timeout: 15m\n";

#[tokio::test]
async fn a_task_runs_once_with_greens_task_definition_where_green_runs_and_passes_on_exit_0() {
    let world = world(TASK);
    ready(&world, "d1").await;
    world
        .hooks
        .task_states(&[("RUNNING", None), ("STOPPED", Some(0))]);

    let started = run(&world, "d1", HookStage::AfterTestTraffic, None)
        .await
        .unwrap();
    assert_eq!((started.done, started.wait_seconds), (false, 15));
    // The call's answer was lost: the retry finds the task it started instead of starting one.
    let deployment = record(&world, "d1").await;
    let green = deployment.green.clone().unwrap();
    run_to_end(&world, "d1", HookStage::AfterTestTraffic, None)
        .await
        .unwrap();

    let tasks = world.hooks.tasks_started();
    assert_eq!(tasks.len(), 1);
    let task = &tasks[0];
    assert_eq!(task.task_definition, green.task_definition_arn);
    assert_eq!(task.container, "web");
    assert_eq!(task.command, ["npm", "run", "smoke"]);
    assert_eq!(task.cluster, CLUSTER);
    assert_eq!(task.client_token.len(), 64);
    assert!(task.placement.network.is_some(), "in the service's network");
    let deployment = record(&world, "d1").await;
    assert!(matches!(
        hook_events(&deployment)[..],
        [Event::HookPassed { detail, .. }] if detail.ends_with("exited 0")
    ));
}

#[tokio::test]
async fn a_task_started_twice_by_retried_calls_is_one_task() {
    let world = world(TASK);
    ready(&world, "d1").await;
    // Two calls both start the task before either recorded it (a lost answer).
    let deployment = record(&world, "d1").await;
    let token = ferry_core::hooks::task_client_token(
        &deployment.id,
        "integration",
        HookStage::AfterTestTraffic,
        None,
    );
    run(&world, "d1", HookStage::AfterTestTraffic, None)
        .await
        .unwrap();
    let mut rewound = record(&world, "d1").await;
    rewound.hook_runs[0].task_arn = None;
    rewound.hook_runs[0].next_at = None;
    world.store.update(&mut rewound).await.unwrap();
    run(&world, "d1", HookStage::AfterTestTraffic, None)
        .await
        .unwrap();
    assert_eq!(*world.hooks.run_calls.lock().unwrap(), 2);
    assert_eq!(world.hooks.tasks_started().len(), 1);
    assert_eq!(world.hooks.tasks_started()[0].client_token, token);
}

#[tokio::test]
async fn a_task_exiting_non_zero_fails_and_one_that_overruns_is_stopped() {
    let world = world(TASK);
    ready(&world, "d1").await;
    world.hooks.task_states(&[("STOPPED", Some(2))]);
    let error = run_to_end(&world, "d1", HookStage::AfterTestTraffic, None)
        .await
        .unwrap_err();
    assert!(error.message.contains("exited 2"), "{}", error.message);

    let other = self::world(TASK);
    ready(&other, "d2").await;
    other.hooks.task_states(&[("RUNNING", None)]);
    let error = run_to_end(&other, "d2", HookStage::AfterTestTraffic, None)
        .await
        .unwrap_err();
    assert!(
        error.message.contains("timed out after 15m"),
        "{}",
        error.message
    );
    let stopped = other.hooks.stopped.lock().unwrap().clone();
    assert_eq!(stopped.len(), 1);
    assert!(stopped[0].1.contains("integration timed out"));
}

#[tokio::test]
async fn a_task_ecs_cannot_start_fails_the_hook_with_ecs_reason() {
    let world = world(TASK);
    ready(&world, "d1").await;
    world.hooks.refuse_tasks(PortError::Invalid(
        "RunTask started no task: RESOURCE:MEMORY".into(),
    ));
    let error = run_to_end(&world, "d1", HookStage::AfterTestTraffic, None)
        .await
        .unwrap_err();
    assert!(
        error.message.contains("RESOURCE:MEMORY"),
        "{}",
        error.message
    );
}

#[tokio::test]
async fn the_plan_tells_the_state_machine_which_stages_have_hooks() {
    let world = world(&format!(
        "{SMOKE}{FUNCTION}  - name: b\n    stage: beforeStep\n    http: {{ url: \"https://example.com\" }}\n"
    ));
    let output = plan::handle(&world.deps, world.plan_input("d1"))
        .await
        .unwrap();
    assert!(output.hook_stages.after_test_traffic);
    assert!(output.hook_stages.after_traffic);
    assert!(
        output
            .steps
            .iter()
            .all(|step| step.hooks_before && !step.hooks_after)
    );
    let world = World::new(&manifest("canary: { weight: 10, bake: 5m }", ""));
    let output = plan::handle(&world.deps, world.plan_input("d1"))
        .await
        .unwrap();
    assert_eq!(output.hook_stages, Default::default());
    assert!(
        output
            .steps
            .iter()
            .all(|step| !step.hooks_before && !step.hooks_after)
    );
}

// ---------------------------------------------------------------------------------------------
// alarms while hooks run

const AFTER_STEP: &str = "  - name: after\n    stage: afterStep\n    lambda: { function: shop-verify }\n    timeout: 30m\n";

/// Step 0 applied (10 % on green) and the afterStep hook of step 0 under way.
async fn hook_running_with_traffic_on_green(world: &World, id: &str) {
    ready(world, id).await;
    shift_weights::handle(&world.deps, shift(id, 0))
        .await
        .unwrap();
    world
        .hooks
        .answer_function(&[r#"{"hookStatus":"IN_PROGRESS","callBackDelay":300}"#]);
    let output = run(world, id, HookStage::AfterStep, Some(0)).await.unwrap();
    assert!(!output.done);
}

#[tokio::test]
async fn an_alarm_while_a_hook_runs_with_traffic_on_green_rolls_back_at_the_next_call() {
    let world = world(AFTER_STEP);
    hook_running_with_traffic_on_green(&world, "d1").await;
    world
        .alarms
        .set(ALARM, ferry_core::ports::AlarmState::Alarm, "5xx above 1%");
    world.clock.advance(300);
    let error = run(&world, "d1", HookStage::AfterStep, Some(0))
        .await
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::AlarmBreached);
    assert_eq!(
        world.hooks.invocations().len(),
        1,
        "the function is not called again"
    );
}

#[tokio::test]
async fn alarm_watch_rolls_back_at_once_a_deployment_whose_hooks_run() {
    let world = world(AFTER_STEP);
    hook_running_with_traffic_on_green(&world, "d1").await;
    let output = alarm_watch::handle(
        &world.deps,
        alarm_watch::AlarmStateChange {
            alarm_name: ALARM.into(),
            state: alarm_watch::AlarmStateValue {
                value: "ALARM".into(),
                reason: "Threshold Crossed: 5xx > 1%".into(),
            },
            previous_state: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(output.failed_bakes, ["d1"]);
    let started = world.workflows.started.lock().unwrap().clone();
    assert_eq!(started.len(), 1);
    assert_eq!(started[0].2["action"], "rollback");
    assert_eq!(started[0].2["deploymentId"], "d1");
}
