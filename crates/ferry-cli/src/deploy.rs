//! `ferry deploy MANIFEST [--local] [--image TAG]`: run the deploy workflow and show it live.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::Context;
use ferry_core::deployment::new_deployment_id;
use ferry_core::manifest;
use ferry_core::ports::Workflow;
use ferry_engine::{EventKind, ExecutionOutcome, ExecutionStatus};
use ferry_handlers::control::{Action, Actor, act};
use ferry_handlers::plan::PlanInput;
use ferry_local::LocalRuntime;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;

use crate::args::DeployArgs;
use tokio::sync::broadcast::error::RecvError;

/// Where a manifest lives: the repository folder, the manifest's path inside it, the commit.
struct Checkout {
    root: PathBuf,
    manifest_path: String,
    commit: String,
    branch: Option<String>,
    author: Option<String>,
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let output = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
        .filter(|text| !text.is_empty())
}

fn checkout(manifest: &Path) -> anyhow::Result<Checkout> {
    let absolute = std::fs::canonicalize(manifest)
        .with_context(|| format!("{}: no such file", manifest.display()))?;
    let folder = absolute
        .parent()
        .context("the manifest has no folder")?
        .to_path_buf();
    let root = match git(&folder, &["rev-parse", "--show-toplevel"]) {
        Some(top) => PathBuf::from(top),
        // Not a Git checkout: the folder holding `.ferry/` is the repository.
        None if folder.file_name().is_some_and(|name| name == ".ferry") => {
            folder.parent().unwrap_or(&folder).to_path_buf()
        }
        None => folder.clone(),
    };
    let manifest_path = absolute
        .strip_prefix(&root)
        .context("the manifest is outside its repository")?
        .to_string_lossy()
        .replace('\\', "/");
    Ok(Checkout {
        commit: git(&root, &["rev-parse", "HEAD"]).unwrap_or_else(|| "0000000local".into()),
        branch: git(&root, &["rev-parse", "--abbrev-ref", "HEAD"]),
        author: git(&root, &["log", "-1", "--format=%an"]).or_else(|| std::env::var("USER").ok()),
        root,
        manifest_path,
    })
}

pub async fn run(options: DeployArgs) -> anyhow::Result<ExitCode> {
    options.mode.check_time_scale()?;
    if options.mode.local
        && let Some(revision) = &options.commit
    {
        return run_commit_locally(&options, revision).await;
    }
    // Refuse an invalid manifest before touching anything, with the same located messages.
    let manifest = match manifest::load(&options.manifest) {
        Ok(manifest) => manifest,
        Err(problems) => {
            eprintln!("{problems}");
            return Ok(ExitCode::FAILURE);
        }
    };
    if !options.mode.local {
        return start_on_aws(&options, &manifest).await;
    }
    let checkout = checkout(&options.manifest)?;
    crate::context::require_emulator()?;
    let config = ferry_aws::load_sdk_config().await;
    let deps = crate::context::deps_with(&config, true).await?;
    run_locally(&options, &manifest, checkout, &config, deps).await
}

/// `--local --commit REV`: the manifest and task definition as committed at REV (any revision
/// Git names: a full id, `HEAD~2`, a tag), deployed on purpose even when older than what
/// production runs.
async fn run_commit_locally(options: &DeployArgs, revision: &str) -> anyhow::Result<ExitCode> {
    let mut checkout = checkout(&options.manifest)?;
    let resolved = (!revision.starts_with('-'))
        .then(|| {
            git(
                &checkout.root,
                &[
                    "rev-parse",
                    "--verify",
                    "--quiet",
                    &format!("{revision}^{{commit}}"),
                ],
            )
        })
        .flatten()
        .ok_or_else(|| {
            crate::ConfigError(format!(
                "--commit {revision:?} is not a commit of {} (try `git log --oneline`)",
                checkout.root.display()
            ))
        })?;
    let read = |path: &str| git(&checkout.root, &["show", &format!("{resolved}:{path}")]);
    let Some(text) = read(&checkout.manifest_path) else {
        return Err(crate::ConfigError(format!(
            "{} does not exist at {}",
            checkout.manifest_path,
            ferry_core::deployment::short_commit(&resolved)
        ))
        .into());
    };
    let manifest = match manifest::parse_manifest(&checkout.manifest_path, &text) {
        Ok(draft) => {
            let task_definition = Ok(read(&draft.task_definition_path));
            draft.complete(task_definition)
        }
        Err(problems) => Err(problems),
    };
    let manifest = match manifest {
        Ok(manifest) => manifest,
        Err(problems) => {
            eprintln!("{problems}");
            return Ok(ExitCode::FAILURE);
        }
    };
    checkout.author = git(&checkout.root, &["log", "-1", "--format=%an", &resolved]);
    checkout.commit = resolved;
    crate::context::require_emulator()?;
    let config = ferry_aws::load_sdk_config().await;
    let mut deps = crate::context::deps_with(&config, true).await?;
    // What was committed, not what is on disk.
    deps.git = Arc::new(ferry_local::LocalRepository::commits());
    run_locally(options, &manifest, checkout, &config, deps).await
}

async fn run_locally(
    options: &DeployArgs,
    manifest: &manifest::Manifest,
    checkout: Checkout,
    config: &aws_config::SdkConfig,
    deps: ferry_handlers::Deps,
) -> anyhow::Result<ExitCode> {
    let actor = crate::act::local_actor(options.mode.as_.as_deref())?;
    // The progress below (or the JSON events) says what happened: the notifier's lines would
    // say it twice. They stay in the log (`-v`).
    let mut deps = deps;
    deps.notifier = Arc::new(ferry_handlers::LogNotifier);
    crate::context::add_slack(config, &ferry_slack::SlackConfig::from_env(), &mut deps);
    let runtime = LocalRuntime::new(deps, options.mode.time_scale)?;
    // Alarms, and answers given from other terminals (`ferry approve ID --local`).
    let watching = runtime.watch(Duration::from_millis(200));
    let name = new_deployment_id(
        &manifest.service,
        time::OffsetDateTime::now_utc(),
        &checkout.commit,
    );
    let input = PlanInput {
        deployment_id: None,
        repository: checkout.root.to_string_lossy().into_owned(),
        commit: checkout.commit.clone(),
        manifest_path: checkout.manifest_path.clone(),
        branch: checkout.branch.clone(),
        author: checkout.author.clone(),
        image: options.image.clone(),
        desired_generation: None,
    };
    let json = options.format == crate::Format::Json;
    if !json {
        println!(
            "deploying {} to {} as {name}",
            checkout.manifest_path, manifest.service
        );
    }
    let execution = runtime.start_deploy(&name, input.to_json())?;
    let approvals = Arc::new(Approvals {
        deps: runtime.action_deps(),
        deployment: name.clone(),
        actor,
        auto_approve: options.auto_approve,
        json,
        time_scale: options.mode.time_scale,
    });
    let progress = tokio::spawn(show_progress(
        execution.subscribe(),
        approvals,
        options.mode.time_scale,
        json,
    ));
    // `--format json`: the deployment's lifecycle events, one JSON object per line.
    let printed = Arc::new(AtomicUsize::new(0));
    let events = json.then(|| {
        let (deps, name, printed) = (runtime.deps.clone(), name.clone(), printed.clone());
        tokio::spawn(async move {
            loop {
                print_new_events(&deps, &name, &printed).await;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    });
    let outcome = execution.wait().await;
    drop(watching);
    progress.abort();
    if let Some(events) = events {
        events.abort();
        // What was recorded after the last poll.
        print_new_events(&runtime.deps, &name, &printed).await;
        let (code, line) = outcome_line(&name, &outcome);
        println!("{line}");
        return Ok(code);
    }
    Ok(report_outcome(&outcome))
}

async fn start_on_aws(
    options: &DeployArgs,
    manifest: &manifest::Manifest,
) -> anyhow::Result<ExitCode> {
    let (Some(repository), Some(commit)) = (&options.repository, &options.commit) else {
        return Err(crate::ConfigError(
            "on AWS the plan function reads the manifest from the repository: pass --repository OWNER/NAME and --commit SHA (or use --local)".into(),
        )
        .into());
    };
    if !ferry_core::deployment::is_commit_id(commit) {
        return Err(crate::ConfigError(format!(
            "--commit must be a full commit id (40 hexadecimal digits), found {commit:?}: use `git rev-parse HEAD`"
        ))
        .into());
    }
    let deps = crate::context::deps(false).await?;
    let name = new_deployment_id(&manifest.service, time::OffsetDateTime::now_utc(), commit);
    let input = PlanInput {
        deployment_id: None,
        repository: repository.clone(),
        commit: commit.clone(),
        manifest_path: options.manifest.to_string_lossy().into_owned(),
        branch: None,
        author: None,
        image: options.image.clone(),
        desired_generation: None,
    };
    let execution = deps
        .workflows
        .start(Workflow::Deploy, &name, &input.to_json())
        .await?;
    println!(
        "started {}\nfollow it with `ferry status {}/{}`",
        execution.execution_arn, manifest.cluster, manifest.service
    );
    Ok(ExitCode::SUCCESS)
}

/// Prints the lifecycle events of deployment `id` recorded since the last call, one JSON object
/// per line; `printed` counts them.
async fn print_new_events(deps: &ferry_handlers::Deps, id: &str, printed: &AtomicUsize) {
    let Ok(Some(deployment)) = deps.store.get(id).await else {
        return;
    };
    // No await between a line and its count: an abort never prints a line twice.
    for entry in crate::status::unseen(&deployment, printed.load(Ordering::SeqCst)) {
        println!("{}", crate::status::event_line(&deployment, entry));
        printed.fetch_add(1, Ordering::SeqCst);
    }
}

/// The exit code and the last JSON line of `--format json`: how the deployment ended.
fn outcome_line(id: &str, outcome: &ExecutionOutcome) -> (ExitCode, serde_json::Value) {
    let (code, result, detail) = match &outcome.status {
        ExecutionStatus::Succeeded => (
            ExitCode::SUCCESS,
            outcome
                .output
                .as_ref()
                .and_then(|output| output.get("outcome"))
                .and_then(Value::as_str)
                .unwrap_or("succeeded")
                .to_string(),
            None,
        ),
        ExecutionStatus::Failed { error, cause } => (
            ExitCode::FAILURE,
            error.clone().unwrap_or_else(|| "Failed".into()),
            cause.as_deref().map(readable_cause),
        ),
        ExecutionStatus::TimedOut => (ExitCode::FAILURE, "TimedOut".into(), None),
        ExecutionStatus::Aborted => (ExitCode::FAILURE, "Aborted".into(), None),
    };
    let line = serde_json::json!({
        "deploymentId": id,
        "event": "ended",
        "outcome": result,
        "detail": detail,
        "stateTransitions": outcome.state_transitions,
    });
    (code, line)
}

/// Prints what happened and turns it into the exit code: 0 only when the deployment succeeded
/// (or holds at its preset).
pub fn report_outcome(outcome: &ExecutionOutcome) -> ExitCode {
    match &outcome.status {
        ExecutionStatus::Succeeded => {
            let what = outcome
                .output
                .as_ref()
                .and_then(|output| output.get("outcome"))
                .and_then(Value::as_str)
                .unwrap_or("succeeded");
            println!("✔ {what} ({} state transitions)", outcome.state_transitions);
            ExitCode::SUCCESS
        }
        ExecutionStatus::Failed { error, cause } => {
            let error = error.as_deref().unwrap_or("Failed");
            let cause = cause.as_deref().map(readable_cause).unwrap_or_default();
            eprintln!("✘ {error}: {cause}");
            ExitCode::FAILURE
        }
        ExecutionStatus::TimedOut => {
            eprintln!("✘ the workflow timed out");
            ExitCode::FAILURE
        }
        ExecutionStatus::Aborted => {
            eprintln!("✘ aborted");
            ExitCode::FAILURE
        }
    }
}

/// Lambda errors arrive as `{"errorMessage": ..., "errorType": ...}` text.
fn readable_cause(cause: &str) -> String {
    serde_json::from_str::<Value>(cause)
        .ok()
        .and_then(|value| {
            value
                .get("errorMessage")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_else(|| cause.to_string())
}

/// `blue ████████░░ green ` on a terminal (blue's share, then green's, in tenths); nothing in a
/// pipe, where the percentage says it all.
fn weights_bar(green: u64) -> String {
    if !std::io::stdout().is_terminal() {
        return String::new();
    }
    let green_tenths = (green.min(100) as usize).div_ceil(10);
    format!(
        "blue {}{} green  ",
        "█".repeat(10 - green_tenths),
        "░".repeat(green_tenths)
    )
}

/// Who answers the approvals of a local deployment, and how.
struct Approvals {
    deps: ferry_handlers::Deps,
    deployment: String,
    actor: Actor,
    auto_approve: bool,
    /// `--format json`: stdout carries only events, so these lines go to stderr.
    json: bool,
    time_scale: f64,
}

impl Approvals {
    fn say(&self, line: String) {
        if self.json {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    }

    /// An approval is requested: answer it (`--auto-approve`, or a question on a terminal), or
    /// say how to answer it from elsewhere. Answers go through the same action as
    /// `ferry approve`, so approvers are checked the same way.
    async fn requested(&self, timeout: Option<(u64, String)>) {
        let id = &self.deployment;
        let deadline = timeout
            .map(|(seconds, then)| {
                let real = Duration::from_secs_f64(seconds as f64 * self.time_scale);
                let at = time::OffsetDateTime::now_utc() + real;
                format!(
                    "; times out at {:02}:{:02}:{:02} UTC (in {}) and then {}",
                    at.hour(),
                    at.minute(),
                    at.second(),
                    ferry_core::duration::format_duration(real.as_secs()),
                    if then == "continue" {
                        "goes on"
                    } else {
                        "rolls back"
                    }
                )
            })
            .unwrap_or_default();
        let elsewhere = format!(
            "answer from another terminal: `ferry approve {id} --local` or `ferry reject {id} --local`{deadline}"
        );
        if self.auto_approve {
            match act(&self.deps, &self.actor, id, Action::Approve).await {
                Ok(_) => self.say(format!(
                    "  approval requested: approved as {} (--auto-approve)",
                    self.actor.identity
                )),
                Err(error) => self.say(format!(
                    "  approval requested: --auto-approve refused: {error}; {elsewhere}"
                )),
            }
            return;
        }
        if !std::io::stdin().is_terminal() {
            self.say(format!("  waiting for approval; {elsewhere}"));
            return;
        }
        let answer = tokio::task::spawn_blocking(|| {
            eprint!("  approval requested: approve? [y/N] ");
            let mut answer = String::new();
            let _ = std::io::stdin().read_line(&mut answer);
            answer.trim().eq_ignore_ascii_case("y")
        })
        .await
        .unwrap_or(false);
        let action = if answer {
            Action::Approve
        } else {
            Action::Reject {
                reason: Some(format!("rejected at the terminal by {}", self.actor)),
            }
        };
        if let Err(error) = act(&self.deps, &self.actor, id, action).await {
            self.say(format!("  {error}; {elsewhere}"));
        }
    }
}

/// Follows the execution's history: steps, weights, a countdown bar for bakes, approvals.
async fn show_progress(
    mut events: tokio::sync::broadcast::Receiver<ferry_engine::HistoryEvent>,
    approvals: std::sync::Arc<Approvals>,
    time_scale: f64,
    json: bool,
) {
    let mut bar: Option<ProgressBar> = None;
    let mut step_count = 0usize;
    let mut bake_seconds = 0u64;
    let mut ticker: Option<tokio::task::JoinHandle<()>> = None;
    let mut watcher: Option<tokio::task::JoinHandle<()>> = None;
    let mut approval_timeout: Option<(u64, String)> = None;
    loop {
        let event = match events.recv().await {
            Ok(event) => event,
            Err(RecvError::Lagged(_)) => continue,
            Err(RecvError::Closed) => break,
        };
        if json {
            // Only the approvals: the lifecycle events are printed from the record.
            if let EventKind::StateEntered { name, input, .. } = &event.kind
                && name == "Approval"
            {
                approval_timeout = timeout_of(input);
            }
            if matches!(&event.kind, EventKind::TaskSubmitted { name, .. } if name == "Approval") {
                let approvals = approvals.clone();
                let timeout = approval_timeout.take();
                tokio::spawn(async move { approvals.requested(timeout).await });
            }
            continue;
        }
        match event.kind {
            EventKind::StateEntered { name, input, .. } if name == "Bake" => {
                bake_seconds = input
                    .get("bakeSeconds")
                    .and_then(Value::as_u64)
                    .unwrap_or(0);
            }
            EventKind::StateEntered { name, input, .. } if name == "Approval" => {
                approval_timeout = timeout_of(&input);
            }
            EventKind::TaskSucceeded { name, output } => match name.as_str() {
                "Plan" => {
                    step_count = output
                        .get("steps")
                        .and_then(Value::as_array)
                        .map_or(0, Vec::len);
                    println!(
                        "  planned {}: {step_count} step(s)",
                        output
                            .get("deploymentId")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                    );
                }
                "CreateTaskSet" => println!(
                    "  green task set {} ({})",
                    output
                        .get("taskSetId")
                        .and_then(Value::as_str)
                        .unwrap_or(""),
                    output
                        .get("taskDefinitionArn")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                ),
                "ShiftWeights" => {
                    let weight = output.get("weight").and_then(Value::as_u64).unwrap_or(0);
                    println!(
                        "  step {}/{step_count}: {}{weight}% of traffic on green (verified)",
                        output.get("step").and_then(Value::as_u64).unwrap_or(0) + 1,
                        weights_bar(weight),
                    )
                }
                "Promote" => println!("  green is primary; blue kept warm"),
                "Cleanup" => println!("  blue removed"),
                "Rollback" => println!(
                    "  rolled back: {}",
                    output.get("reason").and_then(Value::as_str).unwrap_or("")
                ),
                _ => {}
            },
            EventKind::TaskSubmitted { name, token } if name == "Bake" => {
                let progress = ProgressBar::new(bake_seconds.max(1));
                progress.set_style(
                    ProgressStyle::with_template("  baking  [{bar:30}] {pos}/{len}s  {msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_bar())
                        .progress_chars("=> "),
                );
                let ticking = progress.clone();
                let seconds_per_tick = Duration::from_secs_f64(time_scale.clamp(0.0001, 1.0));
                ticker = Some(tokio::spawn(async move {
                    loop {
                        tokio::time::sleep(seconds_per_tick).await;
                        ticking.inc(1);
                    }
                }));
                watcher = Some(tokio::spawn(watch_alarms(
                    approvals.deps.clone(),
                    approvals.deployment.clone(),
                    progress.clone(),
                )));
                bar = Some(progress);
                let _ = token;
            }
            EventKind::TaskSubmitted { name, .. } if name == "Approval" => {
                // Beside the progress: the answer may also come from another terminal.
                let approvals = approvals.clone();
                let timeout = approval_timeout.take();
                tokio::spawn(async move { approvals.requested(timeout).await });
            }
            EventKind::StateExited { name, .. } if name == "Bake" => {
                if let Some(progress) = bar.take() {
                    progress.finish_and_clear();
                }
                for handle in [ticker.take(), watcher.take()].into_iter().flatten() {
                    handle.abort();
                }
                println!("  baked {bake_seconds}s");
            }
            EventKind::RetryScheduled {
                name, error, retry, ..
            } => {
                println!("  {name} failed with {error}; retry {retry}");
            }
            _ => {}
        }
        // A failed bake (alarm) ends the bar too.
        if ticker.as_ref().is_some_and(|handle| handle.is_finished()) {
            ticker = None;
        }
    }
    if let Some(progress) = bar.take() {
        progress.finish_and_clear();
    }
    if let Some(handle) = watcher.take() {
        handle.abort();
    }
}

/// The approval's timeout and what happens then, from the Approval state's input (a step).
fn timeout_of(input: &Value) -> Option<(u64, String)> {
    let seconds = input
        .get("approvalTimeoutSeconds")
        .and_then(Value::as_u64)?;
    let then = input
        .get("onApprovalTimeout")
        .and_then(Value::as_str)
        .unwrap_or("rollback");
    Some((seconds, then.to_string()))
}

/// While a bake runs, the guarding alarms' states beside its bar, read every second:
/// `web-5xx OK · web-p99-latency OK`.
async fn watch_alarms(deps: ferry_handlers::Deps, deployment: String, progress: ProgressBar) {
    let names = match deps.store.get(&deployment).await {
        Ok(Some(record)) => record.policy.alarms,
        _ => Vec::new(),
    };
    if names.is_empty() {
        progress.set_message("no alarms guard it");
        return;
    }
    loop {
        if let Ok(states) = deps.alarms.describe_alarms(&names).await {
            progress.set_message(alarm_line(&names, &states));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Each alarm's state, in the manifest's order; one that is gone says so.
fn alarm_line(names: &[String], states: &[ferry_core::ports::AlarmStatus]) -> String {
    use ferry_core::ports::AlarmState;
    names
        .iter()
        .map(|name| {
            let state =
                states
                    .iter()
                    .find(|status| &status.name == name)
                    .map_or("MISSING", |status| match status.state {
                        AlarmState::Ok => "OK",
                        AlarmState::Alarm => "ALARM",
                        AlarmState::InsufficientData => "INSUFFICIENT_DATA",
                    });
            format!("{name} {state}")
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

#[cfg(test)]
mod progress_tests {
    use ferry_core::ports::{AlarmState, AlarmStatus};
    use serde_json::json;

    use super::*;

    #[test]
    fn a_bake_shows_each_guarding_alarm_in_the_manifests_order_and_a_missing_one() {
        let status = |name: &str, state| AlarmStatus {
            name: name.into(),
            state,
            reason: String::new(),
            updated_at: None,
            reaction_seconds: None,
        };
        let names = ["web-5xx".to_string(), "web-p99".into(), "gone".into()];
        let states = [
            status("web-p99", AlarmState::InsufficientData),
            status("web-5xx", AlarmState::Alarm),
        ];
        assert_eq!(
            alarm_line(&names, &states),
            "web-5xx ALARM · web-p99 INSUFFICIENT_DATA · gone MISSING"
        );
    }

    #[test]
    fn an_approvals_timeout_comes_from_its_step() {
        let step = json!({"approvalTimeoutSeconds": 1800, "onApprovalTimeout": "continue"});
        assert_eq!(timeout_of(&step), Some((1800, "continue".into())));
        assert_eq!(timeout_of(&json!({"weight": 10})), None);
    }
}
