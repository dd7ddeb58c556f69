//! `run-hooks`: the manifest's verification hooks of one stage (and step), one attempt per
//! invocation (see [`ferry_core::hooks`]).
//!
//! The state machine calls it until it answers `done`, waiting `waitSeconds` between calls.
//! Each call makes at most one attempt of the first hook of the stage that has not ended: one
//! HTTP request, one invocation of a function, starting a task or one look at it. The attempt
//! is recorded before the call returns, so a retried call continues where the last one was:
//! a request already answered is not counted twice, and a task is started once (ECS's client
//! token). A hook that fails with `onFailure: rollback` fails the call with `HookFailed`, and the
//! deployment rolls back; hooks before production traffic mean production never sees green.

use ferry_core::Deployment;
use ferry_core::duration::seconds;
use ferry_core::hooks::{
    Hook, HookKind, HookRun, HookStage, TaskHook, Verdict, judge_function, judge_http, judge_task,
    resolve_url, task_client_token,
};
use ferry_core::ports::{OneOffTask, PortError};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;
use tracing::{info, warn};

use crate::error::port;
use crate::record::{load, notify, save};
use crate::wait_token::refuse_if_alarm_fires;
use crate::{Deps, ErrorKind, HandlerError, HookPorts};

/// The longest one HTTP request of an `http` hook may take, so that one attempt fits well
/// within the function's 60 s timeout.
const MAX_REQUEST_SECONDS: u64 = 20;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunHooksInput {
    pub deployment_id: String,
    pub stage: HookStage,
    /// The production step, for `beforeStep` and `afterStep`.
    #[serde(default)]
    pub step: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunHooksOutput {
    pub deployment_id: String,
    /// Every hook of the stage ended (passed, or failed with `onFailure: continue`).
    pub done: bool,
    /// When not done: how long to wait before calling again (0: at once).
    pub wait_seconds: u64,
}

pub async fn handle(deps: &Deps, input: RunHooksInput) -> Result<RunHooksOutput, HandlerError> {
    let mut deployment = load(deps, &input.deployment_id).await?;
    let step = match (input.stage.per_step(), input.step) {
        (true, Some(step)) if step < deployment.plan.steps.len() => Some(step),
        (true, _) => {
            return Err(HandlerError::non_retryable(format!(
                "{} hooks run for a step of the plan (0 to {}), found {:?}",
                input.stage.name(),
                deployment.plan.steps.len().saturating_sub(1),
                input.step
            )));
        }
        (false, _) => None,
    };
    let output = |done: bool, wait_seconds: u64| RunHooksOutput {
        deployment_id: input.deployment_id.clone(),
        done,
        wait_seconds,
    };
    // After a hook ended: done, or the next hook of the stage after the shortest wait (a Wait
    // state's seconds are at least 1 here, so the loop never spins).
    let after_end = |done: bool| output(done, u64::from(!done));
    let hooks: Vec<Hook> = deployment
        .policy
        .hooks
        .iter()
        .filter(|hook| hook.stage == input.stage)
        .cloned()
        .collect();
    for hook in &hooks {
        let outcome = deployment
            .hook_runs
            .iter()
            .find(|run| run.is_of(&hook.name, hook.stage, step))
            .and_then(|run| run.outcome.clone());
        match outcome {
            Some(outcome) if outcome.passed || !rolls_back(hook) => continue,
            Some(outcome) => return Err(hook_failed(&deployment, hook, step, &outcome.detail)),
            None => {}
        }
        if !deployment.status.moves_forward() {
            return Err(HandlerError::non_retryable(format!(
                "deployment {} is {}: its hooks do not run any more",
                deployment.id,
                deployment.status.name()
            )));
        }
        // With traffic on green and no wait for an alarm to fail (a hook may run for an hour),
        // the guarding alarms are read on every call; alarm-watch also rolls such a deployment
        // back at once.
        if deployment.guarded_by_alarms() {
            refuse_if_alarm_fires(deps, &deployment).await?;
        }
        // Only a host that runs hooks has their ports; without hooks to run, any host is done.
        let ports = deps.hooks()?;
        let now = deps.clock.now();
        let run = match deployment
            .hook_runs
            .iter()
            .position(|run| run.is_of(&hook.name, hook.stage, step))
        {
            Some(index) => index,
            None => {
                deployment.hook_runs.push(HookRun::new(hook, step, now));
                save(deps, &mut deployment).await?;
                info!(deployment = %deployment.id, hook = %hook.name, stage = hook.stage.name(), ?step, "hook started");
                deployment.hook_runs.len() - 1
            }
        };
        let deadline = deployment.hook_runs[run].deadline(hook.timeout_seconds);
        if now >= deadline {
            let detail = timed_out(ports, &deployment, hook, run).await;
            return finish(deps, &mut deployment, hook, step, false, detail)
                .await
                .map(&after_end);
        }
        if let Some(next_at) = deployment.hook_runs[run].next_at
            && next_at > now
        {
            return Ok(output(false, seconds_until(now, next_at.min(deadline))));
        }
        let attempted = attempt(deps, ports, &deployment, hook, step, run, now, deadline).await?;
        let state = &mut deployment.hook_runs[run];
        if !matches!(attempted, Attempt::NotMade { .. }) {
            state.attempts += 1;
        }
        let verdict = match attempted {
            Attempt::NotMade { detail } => {
                warn!(deployment = %deployment.id, hook = %hook.name, %detail, "hook attempt not made; trying again");
                Verdict::Pending {
                    detail,
                    after_seconds: NOT_MADE_RETRY_SECONDS,
                }
            }
            Attempt::Started { task_arn, detail } => {
                state.task_arn = Some(task_arn);
                Verdict::Pending {
                    detail,
                    after_seconds: ferry_core::hooks::TASK_POLL_SECONDS,
                }
            }
            Attempt::Judged {
                verdict,
                hook_details,
            } => {
                if hook_details.is_some() {
                    state.hook_details = hook_details;
                }
                verdict
            }
        };
        match verdict {
            Verdict::Pending {
                detail,
                after_seconds,
            } => {
                state.last_detail = Some(detail);
                state.next_at = Some(now + seconds(after_seconds));
            }
            Verdict::Passed(detail) => {
                return finish(deps, &mut deployment, hook, step, true, detail)
                    .await
                    .map(&after_end);
            }
            Verdict::Failed(detail) => {
                let retries_left = match &hook.kind {
                    HookKind::Http(http) => state.attempts <= http.retries,
                    _ => false,
                };
                let interval = match &hook.kind {
                    HookKind::Http(http) => http.interval_seconds,
                    _ => 0,
                };
                if !retries_left || now + seconds(interval) >= deadline {
                    return finish(deps, &mut deployment, hook, step, false, detail)
                        .await
                        .map(&after_end);
                }
                info!(deployment = %deployment.id, hook = %hook.name, %detail, "hook attempt failed; retrying");
                state.last_detail = Some(detail);
                state.next_at = Some(now + seconds(interval));
            }
        }
        let wait = seconds_until(
            now,
            deployment.hook_runs[run]
                .next_at
                .unwrap_or(now)
                .min(deadline),
        );
        save(deps, &mut deployment).await?;
        return Ok(output(false, wait));
    }
    Ok(output(true, 0))
}

/// What one attempt came to.
enum Attempt {
    /// An answer, judged; for a function, what it asked to be given back next time.
    Judged {
        verdict: Verdict,
        hook_details: Option<Value>,
    },
    /// A `task` hook's task was started; it is looked at from the next call on.
    Started { task_arn: String, detail: String },
    /// AWS could not be asked (throttling, a 5xx, no answer): nothing was learnt, so nothing
    /// counts; the next call tries again, until the hook's timeout. So a throttled function
    /// fails its hook by the timeout, and `onFailure` decides, not the state machine's retries.
    NotMade { detail: String },
}

/// How long after an attempt AWS could not take the next call tries again.
const NOT_MADE_RETRY_SECONDS: u64 = 10;

fn not_made(what: &str, error: &PortError) -> Attempt {
    Attempt::NotMade {
        detail: format!("{what}: {error}"),
    }
}

/// An answer without anything to give back.
fn judged(verdict: Verdict) -> Attempt {
    Attempt::Judged {
        verdict,
        hook_details: None,
    }
}

#[allow(clippy::too_many_arguments)]
async fn attempt(
    deps: &Deps,
    ports: &HookPorts,
    deployment: &Deployment,
    hook: &Hook,
    step: Option<usize>,
    run: usize,
    now: OffsetDateTime,
    deadline: OffsetDateTime,
) -> Result<Attempt, HandlerError> {
    let state = &deployment.hook_runs[run];
    match &hook.kind {
        HookKind::Http(http) => {
            let test_url = match &deployment.traffic.test_listener_arn {
                Some(listener) if http.url.contains(ferry_core::hooks::TEST_URL) => {
                    match ports.listeners.listener_url(listener).await {
                        Ok(url) => Some(url),
                        Err(error) if error.is_retryable() => {
                            return Ok(not_made("reading the test listener's address", &error));
                        }
                        Err(error) => {
                            return Ok(judged(Verdict::Failed(format!(
                                "cannot read the test listener's address: {error}"
                            ))));
                        }
                    }
                }
                _ => None,
            };
            let url = match resolve_url(&http.url, test_url.as_deref()) {
                Ok(url) => url,
                Err(problem) => return Ok(judged(Verdict::Failed(problem))),
            };
            let budget = seconds_until(now, deadline).clamp(1, MAX_REQUEST_SECONDS);
            let verdict = match ports
                .http
                .get(&url, std::time::Duration::from_secs(budget))
                .await
            {
                Ok(answer) => judge_http(http, answer.status, &answer.body),
                Err(error) => Verdict::Failed(format!("GET {url}: {}", reason(&error))),
            };
            Ok(judged(verdict))
        }
        HookKind::Lambda(function) => {
            let payload = function_payload(ports, deployment, hook, step, state).await;
            match ports.functions.invoke(&function.function, &payload).await {
                Ok(answer) => {
                    // ECS's hooks may hand state to their next invocation (`hookDetails`).
                    let hook_details = serde_json::from_str::<Value>(&answer.payload)
                        .ok()
                        .and_then(|value| value.get("hookDetails").cloned())
                        .filter(|details| !details.is_null());
                    Ok(Attempt::Judged {
                        verdict: judge_function(&answer),
                        hook_details,
                    })
                }
                Err(error) if error.is_retryable() => {
                    Ok(not_made(&format!("invoking {}", function.function), &error))
                }
                Err(error) => Ok(judged(Verdict::Failed(format!(
                    "cannot invoke {}: {}",
                    function.function,
                    reason(&error)
                )))),
            }
        }
        HookKind::Task(task) => match &state.task_arn {
            None => start_task(deps, ports, deployment, hook, task, step).await,
            Some(task_arn) => {
                match ports
                    .tasks
                    .describe_task(&deployment.cluster, task_arn, &task.container)
                    .await
                {
                    Ok(found) => Ok(judged(judge_task(&found))),
                    Err(error) if error.is_retryable() => {
                        Ok(not_made("describing the hook's task", &error))
                    }
                    Err(error) => Ok(judged(Verdict::Failed(format!(
                        "cannot find task {task_arn}: {}",
                        reason(&error)
                    )))),
                }
            }
        },
    }
}

/// Starts a `task` hook's one-off task where green runs, with green's task definition unless
/// the hook names another.
async fn start_task(
    deps: &Deps,
    ports: &HookPorts,
    deployment: &Deployment,
    hook: &Hook,
    task: &TaskHook,
    step: Option<usize>,
) -> Result<Attempt, HandlerError> {
    let Some(green) = &deployment.green else {
        return Ok(judged(Verdict::Failed(
            "green does not exist; there is nothing to test".into(),
        )));
    };
    let placement = match &deployment.placement {
        Some(placement) => placement.clone(),
        None => deps
            .ecs
            .describe_service(&deployment.cluster, &deployment.service)
            .await
            .map_err(port("describing the service"))?
            .task_sets
            .into_iter()
            .find(|set| set.id == green.id)
            .map(|set| set.placement)
            .ok_or_else(|| {
                HandlerError::non_retryable(format!(
                    "green task set {} is gone; its hook cannot run where it runs",
                    green.id
                ))
            })?,
    };
    let request = OneOffTask {
        cluster: deployment.cluster.clone(),
        task_definition: task
            .task_definition
            .clone()
            .unwrap_or_else(|| green.task_definition_arn.clone()),
        placement,
        container: task.container.clone(),
        command: task.command.clone(),
        client_token: task_client_token(&deployment.id, &hook.name, hook.stage, step),
        started_by: "ferry-hook".into(),
    };
    match ports.tasks.run_task(&request).await {
        Ok(task_arn) => Ok(Attempt::Started {
            detail: format!(
                "task {} started",
                task_arn.rsplit('/').next().unwrap_or(&task_arn)
            ),
            task_arn,
        }),
        // A start whose answer was lost may have started the task: the next call starts it
        // again with the same client token, and ECS answers with that task.
        Err(error) if error.is_retryable() => Ok(not_made("starting the hook's task", &error)),
        Err(error) => Ok(judged(Verdict::Failed(format!(
            "cannot start the task of {}: {}",
            request.task_definition,
            reason(&error)
        )))),
    }
}

/// What a `lambda` hook is invoked with: the deployment's context, and the fields functions
/// written for ECS's native hooks and for CodeDeploy read, so that they can be reused.
async fn function_payload(
    ports: &HookPorts,
    deployment: &Deployment,
    hook: &Hook,
    step: Option<usize>,
    state: &HookRun,
) -> Value {
    // Context only: a function that needs no test URL is not failed for want of one.
    let test_url = match &deployment.traffic.test_listener_arn {
        Some(listener) => ports.listeners.listener_url(listener).await.ok(),
        None => None,
    };
    let green = deployment.green.as_ref();
    let blue = deployment.blue.as_ref();
    let weights = |green_weight: u8| {
        let mut weights = serde_json::Map::new();
        if let Some(blue) = blue {
            weights.insert(blue.arn.clone(), json!(100 - green_weight));
        }
        if let Some(green) = green {
            weights.insert(green.arn.clone(), json!(green_weight));
        }
        Value::Object(weights)
    };
    let test_weight = match deployment.test_traffic {
        Some(ferry_core::deployment::Side::Green) => 100,
        _ => 0,
    };
    let execution_id = format!(
        "{}:{}:{}{}",
        deployment.id,
        hook.name,
        hook.stage.name(),
        step.map(|step| format!(":{step}")).unwrap_or_default()
    );
    json!({
        "ferry": {
            "deploymentId": deployment.id,
            "service": deployment.service,
            "cluster": deployment.cluster,
            "hook": hook.name,
            "stage": hook.stage.name(),
            "step": step,
            "greenWeight": deployment.green_weight,
            "attempt": state.attempts + 1,
            "testUrl": test_url,
            "repository": deployment.source.repository,
            "commit": deployment.source.commit,
            "greenTaskSetArn": green.map(|green| green.arn.clone()),
            "greenTaskDefinitionArn": green.map(|green| green.task_definition_arn.clone()),
            "blueTaskSetArn": blue.map(|blue| blue.arn.clone()),
        },
        // ECS's native hooks.
        "executionId": execution_id,
        "lifecycleStage": hook.stage.ecs_lifecycle_stage(),
        "hookDetails": state.hook_details,
        "executionDetails": {
            "targetServiceRevisionArn": green.map(|green| green.task_definition_arn.clone()),
            "testTrafficWeights": weights(test_weight),
            "productionTrafficWeights": weights(deployment.green_weight),
        },
        // CodeDeploy's: the ids its hooks read (they answer by returning a status; see the docs).
        "DeploymentId": deployment.id,
        "LifecycleEventHookExecutionId": execution_id,
        "LifecycleEvent": hook.stage.codedeploy_event(),
    })
}

/// The hook ran out of time: a task still running is stopped (best effort); the run's failure
/// says what it last saw.
async fn timed_out(ports: &HookPorts, deployment: &Deployment, hook: &Hook, run: usize) -> String {
    let state = &deployment.hook_runs[run];
    if let (HookKind::Task(_), Some(task_arn)) = (&hook.kind, &state.task_arn)
        && let Err(error) = ports
            .tasks
            .stop_task(
                &deployment.cluster,
                task_arn,
                &format!("Ferry: hook {} timed out", hook.name),
            )
            .await
    {
        warn!(deployment = %deployment.id, %task_arn, %error, "could not stop the timed-out hook task");
    }
    format!(
        "timed out after {}{}",
        ferry_core::duration::format_duration(hook.timeout_seconds),
        state
            .last_detail
            .as_deref()
            .map(|last| format!(" (last: {last})"))
            .unwrap_or_default()
    )
}

/// Records the end of a hook's run and tells people; a failure that rolls back fails the call.
/// Whether every hook of the stage has ended.
async fn finish(
    deps: &Deps,
    deployment: &mut Deployment,
    hook: &Hook,
    step: Option<usize>,
    passed: bool,
    detail: String,
) -> Result<bool, HandlerError> {
    let event = deployment.hook_ended(deps.clock.now(), hook, step, passed, detail.clone());
    save(deps, deployment).await?;
    notify(deps, deployment, &event).await;
    if passed {
        info!(deployment = %deployment.id, hook = %hook.name, %detail, "hook passed");
    } else {
        warn!(deployment = %deployment.id, hook = %hook.name, %detail, "hook failed");
        if rolls_back(hook) {
            return Err(hook_failed(deployment, hook, step, &detail));
        }
    }
    // The next hook of the stage, if any, at once.
    let more = deployment.policy.hooks.iter().any(|other| {
        other.stage == hook.stage
            && !deployment
                .hook_runs
                .iter()
                .any(|run| run.is_of(&other.name, other.stage, step) && run.outcome.is_some())
    });
    Ok(!more)
}

fn rolls_back(hook: &Hook) -> bool {
    hook.on_failure == ferry_core::hooks::OnHookFailure::Rollback
}

fn hook_failed(
    deployment: &Deployment,
    hook: &Hook,
    step: Option<usize>,
    detail: &str,
) -> HandlerError {
    let when = match step {
        Some(step) => format!("{} (step {})", hook.stage.name(), step + 1),
        None => hook.stage.name().to_string(),
    };
    let production = if hook.stage.before_production_traffic() || deployment.green_weight == 0 {
        "; production never reached green"
    } else {
        ""
    };
    HandlerError::new(
        ErrorKind::HookFailed,
        format!("hook {} failed at {when}: {detail}{production}", hook.name),
    )
}

/// A port error as a hook's detail.
fn reason(error: &PortError) -> String {
    error.to_string()
}

/// Whole seconds from `now` to `then`, rounded up, at least 1.
fn seconds_until(now: OffsetDateTime, then: OffsetDateTime) -> u64 {
    let millis = (then - now).whole_milliseconds().max(0) as u64;
    millis.div_ceil(1000).max(1)
}
