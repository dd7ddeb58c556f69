//! `ferry`: the command line of the Ferry deployment controller. Parses arguments
//! ([`args`]), calls the library, prints.

use std::process::ExitCode;

use clap::Parser;
use ferry_handlers::control::Action;

mod act;
mod args;
mod context;
mod deploy;
mod explain;
mod init;
mod invoke;
mod plan;
mod remote;
mod sandbox;
mod serve;
mod status;
mod validate;

pub use args::Format;
use args::{Cli, Command};

/// Ferry's own crates, for the verbosity filters.
const FERRY_CRATES: &[&str] = &[
    "ferry_cli",
    "ferry_core",
    "ferry_handlers",
    "ferry_local",
    "ferry_engine",
    "ferry_aws",
    "ferry_http",
    "ferry_webhook",
    "ferry_github",
];

/// Quiet by default: the commands print what a person needs, and only Ferry's own warnings
/// reach stderr; `-v` adds what Ferry does, `-vv` what its libraries and the SDK do. RUST_LOG
/// overrides. Colour only on a terminal, never with NO_COLOR.
fn init_tracing(verbose: u8) {
    use std::io::IsTerminal;
    let level = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let others = match verbose {
        0 => "off",
        1 => "warn",
        _ => "info",
    };
    let default = std::iter::once(others.to_string())
        .chain(FERRY_CRATES.iter().map(|name| format!("{name}={level}")))
        .collect::<Vec<_>>()
        .join(",");
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr)
        .init();
}

/// A closed pipe (`ferry plan … | head`) ends the program as it ends `cat` or `git`, instead
/// of a panic in `println!`: Rust ignores SIGPIPE by default, so put back its default action.
fn end_quietly_on_a_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any thread exists; SIG_DFL is a valid
    // disposition for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// A usage or configuration problem (exit status 2), as opposed to a failed deployment or
/// check (1).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

fn main() -> ExitCode {
    end_quietly_on_a_closed_pipe();
    let cli = Cli::parse();
    let verbose = cli.verbose;
    let result = match cli.command {
        Command::Validate(args) => validate::run(&args.paths),
        Command::Plan(args) => plan::run(&args.manifest, args.format),
        Command::Completions(args) => {
            use clap::CommandFactory;
            let mut command = Cli::command();
            clap_complete::generate(args.shell, &mut command, "ferry", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Command::Man(args) => manual_pages(args.dir.as_deref()),
        Command::Sandbox(args) => sandbox::run(args),
        command => {
            init_tracing(verbose);
            match tokio::runtime::Runtime::new() {
                Ok(runtime) => runtime.block_on(run_async(command)),
                Err(error) => Err(error.into()),
            }
        }
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            let (message, configuration) = explain::explain(&error);
            eprintln!("error: {message}");
            if configuration {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// The manual pages, generated from the same clap definitions as `--help` and the completions:
/// ferry(1) printed, or with `dir` ferry.1 and one ferry-COMMAND.1 per command written there.
fn manual_pages(dir: Option<&std::path::Path>) -> anyhow::Result<ExitCode> {
    use anyhow::Context;
    use clap::CommandFactory;
    let command = Cli::command();
    let Some(dir) = dir else {
        clap_mangen::Man::new(command).render(&mut std::io::stdout().lock())?;
        return Ok(ExitCode::SUCCESS);
    };
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let version: &'static str = env!("FERRY_VERSION");
    let mut pages = vec![("ferry".to_string(), command.clone())];
    for sub in command.get_subcommands().filter(|sub| !sub.is_hide_set()) {
        let name = format!("ferry-{}", sub.get_name());
        // clap names are `&'static str` (its `string` feature is off); this command ends soon.
        let title: &'static str = Box::leak(name.clone().into_boxed_str());
        pages.push((name, sub.clone().name(title).version(version)));
    }
    for (name, page) in pages {
        let path = dir.join(format!("{name}.1"));
        let mut file =
            std::fs::File::create(&path).with_context(|| format!("writing {}", path.display()))?;
        clap_mangen::Man::new(page).render(&mut file)?;
        println!("{}", path.display());
    }
    Ok(ExitCode::SUCCESS)
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
        Command::Init(args) => init::run(*args).await,
        Command::Validate(_)
        | Command::Plan(_)
        | Command::Completions(_)
        | Command::Man(_)
        | Command::Sandbox(_) => {
            unreachable!("handled synchronously")
        }
    }
}
