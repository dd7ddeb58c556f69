//! `ferry`: the command line of the Ferry deployment controller.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use ferry_core::plan::Preset;
use ferry_handlers::control::Decision;

mod context;
mod decide;
mod deploy;
mod invoke;
mod plan;
mod serve;
mod status;
mod validate;

#[derive(Parser)]
#[command(
    name = "ferry",
    version,
    about = "Blue/green deployments for Amazon ECS, driven by Git"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check manifests (files, or directories searched for .ferry/*.yaml) and their task definitions.
    Validate {
        /// Manifest files or directories.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Show the step schedule a manifest would deploy with.
    Plan {
        manifest: PathBuf,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Deploy a manifest: locally on the engine (`--local`, AWS APIs at AWS_ENDPOINT_URL) or by
    /// starting the deploy state machine on AWS. Exits 0 only when the deployment succeeded.
    Deploy {
        manifest: PathBuf,
        /// Run the state machine on this machine.
        #[arg(long)]
        local: bool,
        /// Deploy this image for the manifest's container instead of the task definition's.
        #[arg(long)]
        image: Option<String>,
        /// Local mode: multiply waits and bakes by this (0.01 runs a 5 m bake in 3 s).
        #[arg(long, default_value_t = 1.0)]
        time_scale: f64,
        /// Local mode: approve every approval unattended.
        #[arg(long)]
        auto_approve: bool,
        /// AWS mode: the repository (OWNER/NAME) the plan function reads the manifest from.
        #[arg(long)]
        repository: Option<String>,
        /// AWS mode: the commit to deploy.
        #[arg(long)]
        commit: Option<String>,
    },
    /// Approve the approval a deployment waits for.
    Approve {
        deployment: String,
        /// Who approves (a Slack user id when approvers are listed); default $USER.
        #[arg(long)]
        by: Option<String>,
    },
    /// Reject a deployment waiting for approval: it rolls back.
    Reject {
        deployment: String,
        #[arg(long)]
        by: Option<String>,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Roll a deployment back now: all traffic to blue, green removed.
    Rollback {
        deployment: String,
        #[arg(long)]
        local: bool,
        #[arg(long, default_value_t = 1.0)]
        time_scale: f64,
    },
    /// Promote a deployment that holds at a preset: all traffic to green, then finalize.
    Promote {
        deployment: String,
        #[arg(long)]
        local: bool,
        #[arg(long, default_value_t = 1.0)]
        time_scale: f64,
    },
    /// Move a deployment that holds at a preset to another traffic position.
    Traffic {
        deployment: String,
        /// blue, blue-80, split, green-80 or green.
        #[arg(long, value_parser = parse_preset)]
        preset: Preset,
        #[arg(long)]
        local: bool,
    },
    /// Deployments in flight, or the latest of one service (CLUSTER/SERVICE).
    Status {
        service: Option<String>,
        #[arg(long)]
        cluster: Option<String>,
        #[arg(long, default_value_t = 10)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// Run one handler in-process with an event file and print its output (like invoking the Lambda).
    Invoke {
        function: String,
        #[arg(long)]
        event: PathBuf,
    },
    /// Serve POST /webhooks/github (GitHub webhooks) with the webhook-intake logic; with
    /// AWS_ENDPOINT_URL set, pushes deploy on the local engine (FERRY_LOCAL_REPOSITORIES).
    Serve {
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        /// Local mode: multiply waits and bakes by this.
        #[arg(long, default_value_t = 1.0)]
        time_scale: f64,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

fn parse_preset(name: &str) -> Result<Preset, String> {
    Preset::from_name(name)
        .ok_or_else(|| "expected blue, blue-80, split, green-80 or green".to_string())
}

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
        Command::Validate { paths } => validate::run(&paths),
        Command::Plan { manifest, format } => plan::run(&manifest, format),
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
        Command::Deploy {
            manifest,
            local,
            image,
            time_scale,
            auto_approve,
            repository,
            commit,
        } => {
            deploy::run(deploy::DeployOptions {
                manifest,
                local,
                image,
                time_scale,
                auto_approve,
                repository,
                commit,
            })
            .await
        }
        Command::Approve { deployment, by } => {
            decide::decide(&deployment, Decision::Approve, by, None).await
        }
        Command::Reject {
            deployment,
            by,
            reason,
        } => decide::decide(&deployment, Decision::Reject, by, reason).await,
        Command::Rollback {
            deployment,
            local,
            time_scale,
        } => {
            decide::traffic(
                &deployment,
                decide::TrafficAction::Rollback,
                local,
                time_scale,
            )
            .await
        }
        Command::Promote {
            deployment,
            local,
            time_scale,
        } => {
            decide::traffic(
                &deployment,
                decide::TrafficAction::Promote,
                local,
                time_scale,
            )
            .await
        }
        Command::Traffic {
            deployment,
            preset,
            local,
        } => {
            decide::traffic(
                &deployment,
                decide::TrafficAction::Preset(preset),
                local,
                1.0,
            )
            .await
        }
        Command::Status {
            service,
            cluster,
            limit,
            json,
        } => status::run(service.as_deref(), cluster.as_deref(), limit, json).await,
        Command::Invoke { function, event } => invoke::run(&function, &event).await,
        Command::Serve {
            port,
            host,
            time_scale,
        } => {
            serve::run(serve::ServeOptions {
                port,
                host,
                time_scale,
            })
            .await
        }
        Command::Validate { .. } | Command::Plan { .. } => unreachable!("handled synchronously"),
    }
}
