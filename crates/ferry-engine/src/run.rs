//! The inside of an execution: the state loop, input/output processing in AWS order, Task
//! dispatch (direct Lambda ARN, `lambda:invoke`, `lambda:invoke.waitForTaskToken`), timeouts,
//! Retry and Catch, Parallel branches and inline Map iterations.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use time::OffsetDateTime;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::definition::{
    Catcher, FailState, Io, Jitter, MapState, ParallelState, PassState, Resource, Retrier, Scope,
    Seconds, State, StateKind, TaskState, Text, Transition, WaitFor, error_matches,
};
use crate::error::{AslError, names};
use crate::executor::TaskDispatcher;
use crate::history::{EventKind, Recorder};
use crate::path::Path;
use crate::payload::Template;
use crate::timestamp;
use crate::tokens::{TaskResult, TaskTokens};

/// Step Functions' payload quota: a state's output larger than this fails the execution with
/// the terminal `States.DataLimitExceeded`.
const MAX_PAYLOAD_BYTES: usize = 256 * 1024;

/// Everything an execution's states share.
pub(crate) struct Run {
    pub dispatcher: Arc<dyn TaskDispatcher>,
    pub tokens: TaskTokens,
    pub recorder: Arc<Recorder>,
    pub time_scale: f64,
    pub execution_arn: String,
    pub execution_name: String,
    pub machine_arn: String,
    pub machine_name: String,
    pub role_arn: String,
    pub input: Value,
    pub start_time: OffsetDateTime,
}

/// Per-state facts for the context object.
#[derive(Clone, Copy)]
struct Entry<'a> {
    name: &'a str,
    entered: OffsetDateTime,
    retry_count: u64,
}

impl Run {
    pub fn scale(&self, seconds: f64) -> Duration {
        // Clamp to ten years: beyond that nothing in a test or a demo will wait anyway.
        let scaled = (seconds * self.time_scale).clamp(0.0, 315_360_000.0);
        Duration::from_secs_f64(scaled)
    }

    fn context(&self, entry: Entry, token: Option<&str>, item: Option<(usize, &Value)>) -> Value {
        let mut context = json!({
            "Execution": {
                "Id": self.execution_arn,
                "Input": self.input,
                "Name": self.execution_name,
                "RoleArn": self.role_arn,
                "StartTime": timestamp::format(self.start_time),
                "RedriveCount": 0,
            },
            "State": {
                "EnteredTime": timestamp::format(entry.entered),
                "Name": entry.name,
                "RetryCount": entry.retry_count,
            },
            "StateMachine": {
                "Id": self.machine_arn,
                "Name": self.machine_name,
            },
        });
        if let Some(token) = token {
            context["Task"] = json!({ "Token": token });
        }
        if let Some((index, value)) = item {
            context["Map"] = json!({ "Item": { "Index": index, "Value": value } });
        }
        context
    }
}

type ScopeFuture = Pin<Box<dyn Future<Output = Result<Value, AslError>> + Send>>;

/// Run a scope (the machine, a branch or an iteration) from its StartAt to an end.
pub(crate) fn run_scope(run: Arc<Run>, scope: Arc<Scope>, input: Value) -> ScopeFuture {
    Box::pin(async move {
        let mut name = scope.start_at.clone();
        let mut input = input;
        loop {
            let state = &scope.states[&name];
            let state_type = state.kind.type_name().to_string();
            run.recorder.count_transition();
            run.recorder.record(EventKind::StateEntered {
                name: name.clone(),
                state_type: state_type.clone(),
                input: input.clone(),
            });
            let entered = OffsetDateTime::now_utc();
            let (next, output) = run_state(&run, state, input, entered).await?;
            let size = output.to_string().len();
            if size > MAX_PAYLOAD_BYTES {
                return Err(AslError::new(
                    names::DATA_LIMIT_EXCEEDED,
                    format!(
                        "the output of state {name:?} is {size} bytes; Step Functions allows {MAX_PAYLOAD_BYTES}"
                    ),
                ));
            }
            run.recorder.record(EventKind::StateExited {
                name: name.clone(),
                state_type,
                output: output.clone(),
            });
            match next {
                Some(next) => {
                    name = next;
                    input = output;
                }
                None => return Ok(output),
            }
        }
    })
}

fn follow(transition: &Transition) -> Option<String> {
    match transition {
        Transition::Next(next) => Some(next.clone()),
        Transition::End => None,
    }
}

/// Run one state: the next state's name (`None` at an end) and the state output.
async fn run_state(
    run: &Arc<Run>,
    state: &State,
    raw: Value,
    entered: OffsetDateTime,
) -> Result<(Option<String>, Value), AslError> {
    let entry = Entry {
        name: &state.name,
        entered,
        retry_count: 0,
    };
    match &state.kind {
        StateKind::Pass(s) => Ok((follow(&s.transition), pass(run, s, &raw, entry)?)),
        StateKind::Wait(s) => {
            let effective = input_path(&s.io, &raw)?;
            let context = run.context(entry, None, None);
            let seconds = match &s.wait {
                WaitFor::Seconds(n) => *n as f64,
                WaitFor::SecondsPath(p) => {
                    let value = select(p, &effective, &context, "SecondsPath")?;
                    value.as_u64().ok_or_else(|| {
                        AslError::runtime(format!(
                            "SecondsPath '{p}' must select a non-negative integer, found {value}"
                        ))
                    })? as f64
                }
                WaitFor::Timestamp(at) => seconds_until(*at),
                WaitFor::TimestampPath(p) => {
                    let value = select(p, &effective, &context, "TimestampPath")?;
                    let at = value.as_str().and_then(timestamp::parse).ok_or_else(|| {
                        AslError::runtime(format!(
                            "TimestampPath '{p}' must select an RFC 3339 timestamp, found {value}"
                        ))
                    })?;
                    seconds_until(at)
                }
            };
            tokio::time::sleep(run.scale(seconds)).await;
            Ok((follow(&s.transition), output_path(&s.io, effective)?))
        }
        StateKind::Choice(s) => {
            let effective = input_path(&s.io, &raw)?;
            let context = run.context(entry, None, None);
            let mut next = None;
            for choice in &s.choices {
                if choice.rule.evaluate(&effective, &context)? {
                    next = Some(choice.next.clone());
                    break;
                }
            }
            let next = next
                .or_else(|| s.default.clone())
                .ok_or_else(|| AslError::new(names::NO_CHOICE_MATCHED, "No Matches!"))?;
            Ok((Some(next), output_path(&s.io, effective)?))
        }
        StateKind::Succeed(s) => {
            let effective = input_path(&s.io, &raw)?;
            Ok((None, output_path(&s.io, effective)?))
        }
        StateKind::Fail(s) => Err(fail(run, s, &raw, entry)?),
        StateKind::Task(s) => {
            with_error_handling(run, state, &s.retry, &s.catch, &s.transition, raw, entered).await
        }
        StateKind::Parallel(s) => {
            with_error_handling(run, state, &s.retry, &s.catch, &s.transition, raw, entered).await
        }
        StateKind::Map(s) => {
            with_error_handling(run, state, &s.retry, &s.catch, &s.transition, raw, entered).await
        }
    }
}

fn seconds_until(at: OffsetDateTime) -> f64 {
    (at - OffsetDateTime::now_utc()).as_seconds_f64().max(0.0)
}

fn select(path: &Path, input: &Value, context: &Value, field: &str) -> Result<Value, AslError> {
    path.select(input, context).cloned().ok_or_else(|| {
        AslError::runtime(format!(
            "Invalid path '{path}' in {field}: No results for path in the input '{input}'"
        ))
    })
}

fn input_path(io: &Io, raw: &Value) -> Result<Value, AslError> {
    match &io.input_path {
        None => Ok(json!({})),
        Some(p) => select(p, raw, &Value::Null, "InputPath"),
    }
}

fn output_path(io: &Io, output: Value) -> Result<Value, AslError> {
    match &io.output_path {
        None => Ok(json!({})),
        Some(p) if p.is_root() => Ok(output),
        Some(p) => select(p, &output, &Value::Null, "OutputPath"),
    }
}

fn result_path(path: &Option<Path>, raw: &Value, result: Value) -> Result<Value, AslError> {
    match path {
        None => Ok(raw.clone()),
        Some(p) => p
            .set(raw.clone(), result)
            .map_err(|why| AslError::new(names::RESULT_PATH_MATCH_FAILURE, why)),
    }
}

fn pass(run: &Run, s: &PassState, raw: &Value, entry: Entry) -> Result<Value, AslError> {
    let effective = input_path(&s.io, raw)?;
    let result = match (&s.result, &s.parameters) {
        (Some(result), _) => result.clone(),
        (None, Some(parameters)) => {
            parameters.evaluate(&effective, &run.context(entry, None, None))?
        }
        (None, None) => effective,
    };
    output_path(&s.io, result_path(&s.result_path, raw, result)?)
}

fn fail(run: &Run, s: &FailState, raw: &Value, entry: Entry) -> Result<AslError, AslError> {
    let context = run.context(entry, None, None);
    let text = |t: &Option<Text>, field: &str| -> Result<Option<String>, AslError> {
        let value = match t {
            None => return Ok(None),
            Some(Text::Literal(s)) => return Ok(Some(s.clone())),
            Some(Text::Path(p)) => select(p, raw, &context, field)?,
            Some(Text::Intrinsic(call)) => call.eval(raw, &context)?,
        };
        match value {
            Value::String(s) => Ok(Some(s)),
            other => Err(AslError::runtime(format!(
                "{field} must produce a string, found {other}"
            ))),
        }
    };
    Ok(AslError {
        error: text(&s.error, "ErrorPath")?,
        cause: text(&s.cause, "CausePath")?,
    })
}

/// Attempt a Task, Parallel or Map state, applying its retriers and catchers.
async fn with_error_handling(
    run: &Arc<Run>,
    state: &State,
    retry: &[Retrier],
    catch: &[Catcher],
    transition: &Transition,
    raw: Value,
    entered: OffsetDateTime,
) -> Result<(Option<String>, Value), AslError> {
    // Each retrier keeps its own attempt count for this entry into the state.
    let mut attempts = vec![0u64; retry.len()];
    let mut retry_count = 0;
    loop {
        let entry = Entry {
            name: &state.name,
            entered,
            retry_count,
        };
        let err = match attempt(run, state, &raw, entry).await {
            Ok(output) => return Ok((follow(transition), output)),
            Err(err) if err.is_terminal() => return Err(err),
            Err(err) => err,
        };
        // Only the first retrier whose ErrorEquals matches is considered.
        if let Some(i) = retry
            .iter()
            .position(|r| error_matches(&r.error_equals, err.name()))
        {
            let retrier = &retry[i];
            if attempts[i] < retrier.max_attempts {
                let delay = retry_delay(retrier, attempts[i]);
                attempts[i] += 1;
                retry_count += 1;
                run.recorder.record(EventKind::RetryScheduled {
                    name: state.name.clone(),
                    error: err.name().to_string(),
                    retry: retry_count,
                    delay_seconds: delay,
                });
                tokio::time::sleep(run.scale(delay)).await;
                // Each retry is billed as an additional state transition.
                run.recorder.count_transition();
                continue;
            }
        }
        if let Some(catcher) = catch
            .iter()
            .find(|c| error_matches(&c.error_equals, err.name()))
        {
            let output = match &catcher.result_path {
                None => raw.clone(),
                Some(p) => p
                    .set(raw.clone(), err.to_output())
                    .map_err(AslError::runtime)?,
            };
            return Ok((Some(catcher.next.clone()), output));
        }
        return Err(err);
    }
}

/// IntervalSeconds × BackoffRate^n, capped by MaxDelaySeconds, then FULL jitter if asked.
fn retry_delay(retrier: &Retrier, previous_retries: u64) -> f64 {
    let exponent = i32::try_from(previous_retries).unwrap_or(i32::MAX);
    let mut delay = retrier.interval_seconds as f64 * retrier.backoff_rate.powi(exponent);
    if let Some(max) = retrier.max_delay_seconds {
        delay = delay.min(max as f64);
    }
    if !delay.is_finite() {
        delay = 31_622_400.0;
    }
    match retrier.jitter {
        Jitter::None => delay,
        Jitter::Full => rand::random_range(0.0..=delay),
    }
}

async fn attempt(
    run: &Arc<Run>,
    state: &State,
    raw: &Value,
    entry: Entry<'_>,
) -> Result<Value, AslError> {
    match &state.kind {
        StateKind::Task(s) => task(run, s, raw, entry).await,
        StateKind::Parallel(s) => parallel(run, s, raw, entry).await,
        StateKind::Map(s) => map(run, s, raw, entry).await,
        _ => unreachable!("only Task, Parallel and Map have Retry/Catch"),
    }
}

/// Apply ResultSelector, ResultPath and OutputPath to a result.
fn finish(
    run: &Run,
    io: &Io,
    selector: &Option<Template>,
    path: &Option<Path>,
    raw: &Value,
    result: Value,
    entry: Entry,
) -> Result<Value, AslError> {
    let result = match selector {
        Some(t) => t.evaluate(&result, &run.context(entry, None, None))?,
        None => result,
    };
    output_path(io, result_path(path, raw, result)?)
}

fn resolve_seconds(
    seconds: &Option<Seconds>,
    input: &Value,
    context: &Value,
    field: &str,
) -> Result<Option<u64>, AslError> {
    match seconds {
        None => Ok(None),
        Some(Seconds::Fixed(n)) => Ok(Some(*n)),
        Some(Seconds::Path(p)) => {
            let value = select(p, input, context, field)?;
            match value.as_u64() {
                Some(n) if n > 0 => Ok(Some(n)),
                _ => Err(AslError::runtime(format!(
                    "{field} '{p}' must select a positive integer, found {value}"
                ))),
            }
        }
    }
}

async fn task(
    run: &Arc<Run>,
    s: &TaskState,
    raw: &Value,
    entry: Entry<'_>,
) -> Result<Value, AslError> {
    let effective = input_path(&s.io, raw)?;
    let plain_context = run.context(entry, None, None);
    let timeout = resolve_seconds(&s.timeout, &effective, &plain_context, "TimeoutSecondsPath")?;
    let heartbeat = resolve_seconds(
        &s.heartbeat,
        &effective,
        &plain_context,
        "HeartbeatSecondsPath",
    )?;
    let deadline = timeout.map(|t| Instant::now() + run.scale(t as f64));

    let waiter = match s.resource {
        Resource::LambdaInvokeWaitForTaskToken => {
            Some(run.tokens.issue(&run.execution_arn, entry.name))
        }
        _ => None,
    };
    let context = match &waiter {
        Some(w) => run.context(entry, Some(&w.token), None),
        None => plain_context,
    };
    let parameters = match &s.parameters {
        Some(t) => t.evaluate(&effective, &context)?,
        None => effective,
    };
    let (function, payload) = match &s.resource {
        Resource::LambdaArn(arn) => (arn.clone(), parameters),
        Resource::LambdaInvoke | Resource::LambdaInvokeWaitForTaskToken => {
            let function = match parameters.get("FunctionName") {
                Some(Value::String(f)) => f.clone(),
                other => {
                    return Err(AslError::runtime(format!(
                        "lambda:invoke needs FunctionName to be a string, found {}",
                        other.cloned().unwrap_or(Value::Null)
                    )));
                }
            };
            (
                function,
                parameters.get("Payload").cloned().unwrap_or(Value::Null),
            )
        }
    };
    run.recorder.record(EventKind::TaskScheduled {
        name: entry.name.to_string(),
        resource: s.resource_arn.clone(),
        function: function.clone(),
        payload: payload.clone(),
    });

    let body = async {
        let response = run
            .dispatcher
            .invoke(&function, payload)
            .await
            .map_err(|f| AslError::new(f.error.clone(), f.lambda_cause()))?;
        match (&s.resource, waiter) {
            (Resource::LambdaArn(_), _) => Ok(response),
            (Resource::LambdaInvoke, _) => Ok(invoke_response(response)),
            (_, Some(mut waiter)) => {
                run.recorder.record(EventKind::TaskSubmitted {
                    name: entry.name.to_string(),
                    token: waiter.token.clone(),
                });
                let beat = heartbeat.map(|h| run.scale(h as f64));
                let mut beat_deadline = beat.map(|b| Instant::now() + b);
                loop {
                    let beat_expired = async {
                        match beat_deadline {
                            Some(at) => tokio::time::sleep_until(at).await,
                            None => std::future::pending().await,
                        }
                    };
                    tokio::select! {
                        result = &mut waiter.result => {
                            return match result {
                                Ok(TaskResult::Success(output)) => Ok(output),
                                Ok(TaskResult::Failure { error, cause }) => Err(AslError::new(error, cause)),
                                Err(_) => Err(AslError::runtime("the task token was closed without a result")),
                            };
                        }
                        Some(()) = waiter.heartbeats.recv() => {
                            beat_deadline = beat.map(|b| Instant::now() + b);
                        }
                        _ = beat_expired => {
                            return Err(AslError::new(
                                names::HEARTBEAT_TIMEOUT,
                                format!("no heartbeat for {} seconds", heartbeat.unwrap_or_default()),
                            ));
                        }
                    }
                }
            }
            (Resource::LambdaInvokeWaitForTaskToken, None) => unreachable!("token issued above"),
        }
    };
    let outcome = match deadline {
        Some(at) => match tokio::time::timeout_at(at, body).await {
            Ok(result) => result,
            Err(_) => Err(AslError::new(
                names::TIMEOUT,
                format!(
                    "the task did not complete within {} seconds",
                    timeout.unwrap_or_default()
                ),
            )),
        },
        None => body.await,
    };
    match outcome {
        Ok(result) => {
            run.recorder.record(EventKind::TaskSucceeded {
                name: entry.name.to_string(),
                output: result.clone(),
            });
            finish(
                run,
                &s.io,
                &s.result_selector,
                &s.result_path,
                raw,
                result,
                entry,
            )
        }
        Err(err) => {
            let kind = if matches!(err.name(), names::TIMEOUT | names::HEARTBEAT_TIMEOUT) {
                EventKind::TaskTimedOut {
                    name: entry.name.to_string(),
                    error: err.name().to_string(),
                    cause: err.cause.clone().unwrap_or_default(),
                }
            } else {
                EventKind::TaskFailed {
                    name: entry.name.to_string(),
                    error: err.error.clone(),
                    cause: err.cause.clone(),
                }
            };
            run.recorder.record(kind);
            Err(err)
        }
    }
}

/// The Lambda Invoke API response that `arn:aws:states:::lambda:invoke` returns.
fn invoke_response(payload: Value) -> Value {
    let request_id = uuid::Uuid::new_v4().to_string();
    let length = payload.to_string().len().to_string();
    let date = OffsetDateTime::now_utc()
        .format(time::macros::format_description!(
            "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
        ))
        .unwrap_or_default();
    let trace = format!(
        "root=1-{:08x}-{}",
        OffsetDateTime::now_utc().unix_timestamp(),
        &uuid::Uuid::new_v4().simple().to_string()[..24]
    );
    let headers = json!({
        "Connection": "keep-alive",
        "Content-Length": length,
        "Content-Type": "application/json",
        "Date": date,
        "X-Amz-Executed-Version": "$LATEST",
        "x-amzn-Remapped-Content-Length": "0",
        "x-amzn-RequestId": request_id,
        "X-Amzn-Trace-Id": trace,
    });
    let all_headers: serde_json::Map<String, Value> = headers
        .as_object()
        .expect("object")
        .iter()
        .map(|(k, v)| (k.clone(), json!([v])))
        .collect();
    json!({
        "ExecutedVersion": "$LATEST",
        "Payload": payload,
        "SdkHttpMetadata": {
            "AllHttpHeaders": all_headers,
            "HttpHeaders": headers,
            "HttpStatusCode": 200,
        },
        "SdkResponseMetadata": { "RequestId": request_id },
        "StatusCode": 200,
    })
}

async fn parallel(
    run: &Arc<Run>,
    s: &ParallelState,
    raw: &Value,
    entry: Entry<'_>,
) -> Result<Value, AslError> {
    let effective = input_path(&s.io, raw)?;
    let input = match &s.parameters {
        Some(t) => t.evaluate(&effective, &run.context(entry, None, None))?,
        None => effective,
    };
    let mut set = JoinSet::new();
    for (i, branch) in s.branches.iter().enumerate() {
        let future = run_scope(run.clone(), branch.clone(), input.clone());
        set.spawn(async move { (i, future.await) });
    }
    let mut results = vec![Value::Null; s.branches.len()];
    while let Some(joined) = set.join_next().await {
        let (i, result) =
            joined.map_err(|e| AslError::runtime(format!("a branch ended abnormally: {e}")))?;
        match result {
            Ok(output) => results[i] = output,
            // Any branch failing fails the whole state; the other branches are stopped.
            Err(err) => {
                set.abort_all();
                return Err(err);
            }
        }
    }
    finish(
        run,
        &s.io,
        &s.result_selector,
        &s.result_path,
        raw,
        Value::Array(results),
        entry,
    )
}

async fn map(
    run: &Arc<Run>,
    s: &MapState,
    raw: &Value,
    entry: Entry<'_>,
) -> Result<Value, AslError> {
    let effective = input_path(&s.io, raw)?;
    let items = match select(&s.items_path, &effective, &Value::Null, "ItemsPath")? {
        Value::Array(items) => items,
        other => {
            return Err(AslError::runtime(format!(
                "ItemsPath '{}' must select an array, found {other}",
                s.items_path
            )));
        }
    };
    // Iterations start in item order, each only when a slot is free: with MaxConcurrency 1,
    // AWS runs them one at a time in the order of the array (a deployment's steps rely on it).
    // Spawning them all behind a semaphore would let a multi-threaded runtime start a later item
    // first. After a failure no further iteration starts.
    let limit = match s.max_concurrency {
        0 => usize::MAX,
        n => usize::try_from(n).unwrap_or(usize::MAX),
    };
    let mut set = JoinSet::new();
    let mut results = vec![Value::Null; items.len()];
    let mut pending = items.iter().enumerate();
    loop {
        while set.len() < limit {
            let Some((index, item)) = pending.next() else {
                break;
            };
            let input = match &s.item_selector {
                Some(t) => {
                    t.evaluate(&effective, &run.context(entry, None, Some((index, item))))?
                }
                None => item.clone(),
            };
            let run = run.clone();
            let processor = s.processor.clone();
            let name = entry.name.to_string();
            run.recorder.record(EventKind::MapIterationStarted {
                name: name.clone(),
                index,
            });
            set.spawn(async move {
                let result = run_scope(run.clone(), processor, input).await;
                run.recorder.record(match &result {
                    Ok(_) => EventKind::MapIterationSucceeded { name, index },
                    Err(_) => EventKind::MapIterationFailed { name, index },
                });
                (index, result)
            });
        }
        let Some(joined) = set.join_next().await else {
            break;
        };
        let (i, result) =
            joined.map_err(|e| AslError::runtime(format!("an iteration ended abnormally: {e}")))?;
        match result {
            Ok(output) => results[i] = output,
            Err(err) => {
                set.abort_all();
                return Err(err);
            }
        }
    }
    finish(
        run,
        &s.io,
        &s.result_selector,
        &s.result_path,
        raw,
        Value::Array(results),
        entry,
    )
}
