//! `ferry approve|reject|promote|rollback|traffic`: the typed actions of
//! `ferry_handlers::control`, as the person at the terminal.
//!
//! Against AWS the request goes to Ferry's `control` function URL, signed with the caller's
//! AWS credentials: the function learns who asks from AWS (the IAM principal), never from the
//! command line. Locally (`--local`) the actor is the operating-system user or `--as`, trusted
//! because whoever runs the CLI owns the emulator; an answer to a wait held by another local
//! process is delivered by that process.

use std::process::ExitCode;
use std::time::Duration;

use ferry_handlers::control::{Action, ActionError, Actor, Channel, Identity, Outcome};
use ferry_local::LocalRuntime;

use crate::Format;
use crate::args::Mode;

/// Runs `action` on `deployment` and prints what happened.
pub async fn run(
    deployment: &str,
    action: Action,
    mode: &Mode,
    format: Format,
) -> anyhow::Result<ExitCode> {
    if !mode.local {
        if mode.as_.is_some() {
            return Err(crate::ConfigError(
                "--as works with --local only: in AWS Ferry knows you by your IAM principal".into(),
            )
            .into());
        }
        let outcome = crate::remote::act(deployment, &action).await?;
        return Ok(print(outcome, format));
    }
    mode.check_time_scale()?;
    let actor = local_actor(mode.as_.as_deref())?;
    let deps = crate::context::deps(true).await?;
    let runtime = LocalRuntime::new(deps, mode.time_scale)?;
    let outcome =
        ferry_handlers::control::act(&runtime.action_deps(), &actor, deployment, action).await;
    let started = runtime.workflows.take_started();
    let code = print(outcome, format);
    if code != ExitCode::SUCCESS || started.is_empty() {
        return Ok(code);
    }
    // The traffic workflow runs in this process: follow it to its end, watching alarms and
    // delivering answers meanwhile as the deploy process would.
    let _watching = runtime.watch(Duration::from_millis(200));
    let mut code = ExitCode::SUCCESS;
    for execution in started {
        let outcome = execution.wait().await;
        if crate::deploy::report_outcome(&outcome) != ExitCode::SUCCESS {
            code = ExitCode::FAILURE;
        }
    }
    Ok(code)
}

/// The local actor: `--as` written as in `approvers` (a bare name is a local user), else the
/// operating-system user.
pub fn local_actor(as_: Option<&str>) -> anyhow::Result<Actor> {
    let identity = match as_ {
        Some(text) => {
            Identity::parse_local(text).map_err(|problem| anyhow::anyhow!("--as: {problem}"))?
        }
        None => Identity::Local(os_user()),
    };
    Ok(Actor {
        identity,
        via: Channel::Cli,
    })
}

/// The operating-system user running this process.
pub fn os_user() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".into())
}

fn print(outcome: Result<Outcome, ActionError>, format: Format) -> ExitCode {
    match (outcome, format) {
        (Ok(outcome), Format::Text) => {
            println!("{}", outcome.describe());
            ExitCode::SUCCESS
        }
        (Ok(outcome), Format::Json) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&outcome).unwrap_or_default()
            );
            ExitCode::SUCCESS
        }
        (Err(ActionError::Refused(refusal)), Format::Json) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&refusal).unwrap_or_default()
            );
            ExitCode::FAILURE
        }
        (Err(error), _) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
