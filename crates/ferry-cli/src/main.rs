//! `ferry`: the command line of the Ferry deployment controller. Parses arguments
//! ([`args`]), calls the library, prints.

use std::process::ExitCode;

use clap::Parser;
use ferry_handlers::control::Action;

mod act;
mod args;
mod context;
mod deploy;
mod invoke;
mod plan;
mod remote;
mod serve;
mod status;
mod validate;

pub use args::Format;
use args::{Cli, Command};

fn init_tracing() {
    // Quiet by default: the commands print what a person needs; RUST_LOG=info shows the rest.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Validate(args) => validate::run(&args.paths),
        Command::Plan(args) => plan::run(&args.manifest, args.format),
        command => {
            init_tracing();
            match tokio::runtime::Runtime::new() {
                Ok(runtime) => runtime.block_on(run_async(command)),
                Err(error) => Err(error.into()),
            }
        }
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run_async(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Deploy(args) => deploy::run(args).await,
        Command::Approve(args) => {
            act::run(&args.deployment, Action::Approve, &args.mode, args.format).await
        }
        Command::Reject(args) => {
            let action = Action::Reject {
                reason: args.reason,
            };
            let target = args.target;
            act::run(&target.deployment, action, &target.mode, target.format).await
        }
        Command::Promote(args) => {
            act::run(&args.deployment, Action::Promote, &args.mode, args.format).await
        }
        Command::Rollback(args) => {
            let action = Action::Rollback {
                reason: args.reason,
            };
            let target = args.target;
            act::run(&target.deployment, action, &target.mode, target.format).await
        }
        Command::Traffic(args) => {
            let action = Action::MoveTo {
                preset: args.preset,
            };
            let target = args.target;
            act::run(&target.deployment, action, &target.mode, target.format).await
        }
        Command::Status(args) => status::run(args).await,
        Command::Invoke(args) => invoke::run(&args.function, &args.event).await,
        Command::Serve(args) => serve::run(args).await,
        Command::Validate(_) | Command::Plan(_) => unreachable!("handled synchronously"),
    }
}
