//! The command line: one `Args` struct per subcommand, the flags several share defined once.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use ferry_core::plan::Preset;

#[derive(Parser)]
#[command(
    name = "ferry",
    version = env!("FERRY_VERSION"),
    about = "Blue/green deployments for Amazon ECS, driven by Git",
    after_help = "Examples:
  eval \"$(ferry sandbox)\"                          try Ferry on this machine: emulator, service, repository
  ferry validate .                                  check every manifest under .ferry/
  ferry plan .ferry/web.yaml                        the steps a deployment would take
  ferry deploy .ferry/web.yaml --local              deploy on the local engine (AWS_ENDPOINT_URL)
  ferry status                                      deployments in flight
  ferry approve ID                                  approve as your IAM principal (FERRY_CONTROL_URL)
  ferry rollback ID --reason \"5xx rising\"           all traffic back to blue now"
)]
pub struct Cli {
    /// Show what Ferry does (-v), and what its libraries and the AWS SDK do (-vv). RUST_LOG,
    /// when set, decides instead.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Check manifests (files, or directories searched for .ferry/*.yaml) and their task definitions.
    Validate(ValidateArgs),
    /// Show the step schedule a manifest would deploy with.
    Plan(PlanArgs),
    /// Deploy a manifest: locally on the engine (`--local`, AWS APIs at AWS_ENDPOINT_URL) or by
    /// starting the deploy state machine on AWS. Exits 0 only when the deployment succeeded.
    Deploy(DeployArgs),
    /// Approve the approval a deployment waits for (you must be one of its approvers).
    Approve(ActionArgs),
    /// Reject a deployment waiting for approval: it rolls back.
    Reject(ReasonArgs),
    /// Promote a deployment that holds at a preset (all traffic to green, then finish), or
    /// remove blue now while it is kept warm.
    Promote(ActionArgs),
    /// Roll a deployment back now: all traffic to blue, green removed. Also finishes a
    /// deployment that failed or got stuck.
    Rollback(ReasonArgs),
    /// Move a deployment that holds at a preset to another traffic position.
    Traffic(TrafficArgs),
    /// Deployments in flight, the latest of one service (CLUSTER/SERVICE), or one deployment's
    /// timeline (ID, `--watch` to follow it).
    Status(StatusArgs),
    /// Run one handler in-process with an event file and print its output (like invoking the Lambda).
    Invoke(InvokeArgs),
    /// Print a shell completion script: `ferry completions bash > /etc/bash_completion.d/ferry`.
    Completions(CompletionsArgs),
    /// Print Ferry's manual page (roff): `ferry man | man -l -`; `--dir DIR` writes ferry.1 and
    /// one ferry-COMMAND.1 per command there (e.g. /usr/local/share/man/man1).
    Man(ManArgs),
    /// Try Ferry without an AWS account: start the AWS emulator on a free loopback port, seed an
    /// ECS service behind a load balancer, write an application repository to edit, and print
    /// the lines to export (`eval "$(ferry sandbox)"`). `--stop` ends it.
    Sandbox(SandboxArgs),
    /// Write `.ferry/SERVICE.yaml` and `ecs/SERVICE.json` for a service: read from the live
    /// service (its task sets, load balancer, listeners and alarms), or, with --from-appspec,
    /// from a CodeDeploy AppSpec and task definition and the deployment group's settings
    /// (offline); then validate them. Prints what could not be carried and why.
    Init(Box<InitArgs>),
    /// Serve the web UI at / and the control API (on loopback), and POST /webhooks/github
    /// (GitHub webhooks) with the webhook-intake logic; with AWS_ENDPOINT_URL set, pushes deploy
    /// on the local engine (FERRY_LOCAL_REPOSITORIES).
    Serve(ServeArgs),
}

/// How a command prints what it found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    #[default]
    Text,
    Json,
}

/// Where a command acts: AWS (the default), or the local engine and emulator.
#[derive(Args, Debug, Clone)]
pub struct Mode {
    /// Act on the local engine and emulator (AWS_ENDPOINT_URL) instead of AWS.
    #[arg(long)]
    pub local: bool,
    /// Local mode: act as this identity, written as in `approvers` (U0123ABC, github:LOGIN, an
    /// IAM ARN) or a local user name; default the operating-system user. Trusted: whoever runs
    /// the local CLI owns the emulator. In AWS you are your IAM principal.
    #[arg(long = "as", value_name = "ID")]
    pub as_: Option<String>,
    /// Local mode: multiply waits and bakes by this (0.01 runs a 5 m bake in 3 s).
    #[arg(long, default_value_t = 1.0)]
    pub time_scale: f64,
}

impl Mode {
    pub fn check_time_scale(&self) -> anyhow::Result<()> {
        if self.time_scale.is_finite() && self.time_scale > 0.0 {
            Ok(())
        } else {
            Err(crate::ConfigError(format!(
                "--time-scale must be a positive number, found {}",
                self.time_scale
            ))
            .into())
        }
    }
}

#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// Manifest files or directories.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
}

#[derive(Args, Debug)]
pub struct PlanArgs {
    pub manifest: PathBuf,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Args, Debug)]
pub struct DeployArgs {
    pub manifest: PathBuf,
    #[command(flatten)]
    pub mode: Mode,
    /// Deploy this image for the manifest's container instead of the task definition's.
    #[arg(long)]
    pub image: Option<String>,
    /// Local mode: approve every approval unattended (as `--as`, checked against approvers).
    #[arg(long)]
    pub auto_approve: bool,
    /// Local mode: `json` prints each lifecycle event as one JSON object per line (for scripts
    /// and CI), then how the deployment ended.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// AWS mode: the repository (OWNER/NAME) the plan function reads the manifest from.
    #[arg(long)]
    pub repository: Option<String>,
    /// The commit to deploy, on purpose even when older than what production runs: on AWS
    /// its full id; locally any revision Git names (`HEAD~2`, a tag), read as committed.
    #[arg(long)]
    pub commit: Option<String>,
}

/// A deployment and where to act on it.
#[derive(Args, Debug)]
pub struct ActionArgs {
    /// The deployment id (`ferry status` lists them).
    pub deployment: String,
    #[command(flatten)]
    pub mode: Mode,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Args, Debug)]
pub struct ReasonArgs {
    #[command(flatten)]
    pub target: ActionArgs,
    /// Why, recorded with the deployment and shown to others.
    #[arg(long)]
    pub reason: Option<String>,
}

#[derive(Args, Debug)]
pub struct TrafficArgs {
    #[command(flatten)]
    pub target: ActionArgs,
    /// blue, blue-80, split, green-80 or green.
    #[arg(long, value_parser = parse_preset)]
    pub preset: Preset,
}

#[derive(Args, Debug)]
pub struct StatusArgs {
    /// CLUSTER/SERVICE for its latest deployments, or a deployment id for its timeline.
    pub service: Option<String>,
    /// With a deployment id: follow it, printing each event, until it ends (exit 0 when it
    /// succeeded or holds, 1 otherwise).
    #[arg(long)]
    pub watch: bool,
    #[arg(long)]
    pub cluster: Option<String>,
    #[arg(long, default_value_t = 10)]
    pub limit: usize,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// The same as `--format json`.
    #[arg(long, hide = true)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct ManArgs {
    /// Write every page into this folder instead of printing ferry(1).
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct InitArgs {
    /// The ECS cluster (name or ARN).
    #[arg(long)]
    pub cluster: String,
    /// The ECS service (on the EXTERNAL deployment controller once Ferry deploys it).
    #[arg(long)]
    pub service: String,
    /// Offline, from CodeDeploy: the application's AppSpec (YAML or JSON). Without it, the live
    /// service is read (AWS, or the emulator with AWS_ENDPOINT_URL).
    #[arg(long, value_name = "APPSPEC", requires_all = ["taskdef", "listener", "target_groups"])]
    pub from_appspec: Option<PathBuf>,
    /// From CodeDeploy, read from AWS: the application and deployment group (APP/GROUP) of the
    /// service CodeDeploy deploys today; the manifest is written for --service in --cluster
    /// (the new service on the EXTERNAL controller beside it).
    #[arg(long, value_name = "APP/GROUP", conflicts_with = "from_appspec")]
    pub from_codedeploy: Option<String>,
    /// With --from-appspec: the task definition, taskdef.json or `aws ecs
    /// describe-task-definition` output.
    #[arg(long, value_name = "TASKDEF", requires = "from_appspec")]
    pub taskdef: Option<PathBuf>,
    /// The production listener (or rule) ARN: the deployment group's prodTrafficRoute; for a
    /// live service, which one when several forward to it.
    #[arg(long, value_name = "ARN")]
    pub listener: Option<String>,
    /// With --from-appspec: the deployment group's test listener ARN (testTrafficRoute).
    #[arg(long, value_name = "ARN", requires = "from_appspec")]
    pub test_listener: Option<String>,
    /// The target group pair, as ARNs, the one production uses now first (for a live service,
    /// when no idle one is found beside it).
    #[arg(long, value_name = "ARN,ARN", value_delimiter = ',', num_args = 1..)]
    pub target_groups: Vec<String>,
    /// The deployment configuration: CodeDeployDefault.ECSAllAtOnce (CodeDeploy's default),
    /// ECSCanary10Percent5Minutes, ECSCanary10Percent15Minutes, ECSLinear10PercentEvery1Minutes,
    /// ECSLinear10PercentEvery3Minutes, or a custom one written canary:PERCENT:MINUTES or
    /// linear:PERCENT:MINUTES.
    #[arg(
        long,
        value_name = "NAME",
        default_value = "CodeDeployDefault.ECSAllAtOnce",
        requires = "from_appspec"
    )]
    pub deployment_config: String,
    /// The reroute wait (deploymentReadyOption.waitTimeInMinutes), e.g. 30m: production moves
    /// when a person approves, or when the wait ends.
    #[arg(long, value_name = "DURATION", value_parser = ferry_core::duration::parse_duration, requires = "from_appspec")]
    pub reroute_wait: Option<u64>,
    /// What the end of the reroute wait does (actionOnTimeout): continue (CONTINUE_DEPLOYMENT)
    /// or stop (STOP_DEPLOYMENT: roll back).
    #[arg(long, value_enum, default_value_t = RerouteTimeout::Continue, requires = "from_appspec")]
    pub on_reroute_timeout: RerouteTimeout,
    /// The termination wait (terminationWaitTimeInMinutes), e.g. 1h: how long blue is kept.
    #[arg(long, value_name = "DURATION", value_parser = ferry_core::duration::parse_duration, requires = "from_appspec")]
    pub termination_wait: Option<u64>,
    /// The deployment group's alarms, comma-separated.
    #[arg(
        long,
        value_name = "NAME,...",
        value_delimiter = ',',
        requires = "from_appspec"
    )]
    pub alarms: Vec<String>,
    /// The AWS region every ARN is in (for a live service, default the configured region).
    #[arg(long)]
    pub region: Option<String>,
    /// The image, when taskdef.json has CodePipeline's placeholder (<IMAGE1_NAME>);
    /// ${GIT_SHA} is replaced by the commit each deployment ships.
    #[arg(long, value_name = "REPOSITORY:TAG", requires = "from_appspec")]
    pub image: Option<String>,
    /// The application repository to write into.
    #[arg(long, default_value = ".")]
    pub dir: PathBuf,
    /// Replace files that exist.
    #[arg(long)]
    pub force: bool,
}

/// `actionOnTimeout` of CodeDeploy's reroute wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RerouteTimeout {
    Continue,
    Stop,
}

#[derive(Args, Debug)]
pub struct SandboxArgs {
    /// The folder for the application repository (and the sandbox's state); default a new
    /// folder named ferry-sandbox (or ferry-sandbox-2, ...) here. With --stop, the sandbox's
    /// folder (default ferry-sandbox).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Stop the emulator of the sandbox in --dir; the folder is left as it is.
    #[arg(long)]
    pub stop: bool,
}

#[derive(Args, Debug)]
pub struct InvokeArgs {
    pub function: String,
    #[arg(long)]
    pub event: PathBuf,
}

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// bash, zsh, fish, elvish or powershell.
    pub shell: clap_complete::Shell,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Local mode: multiply waits and bakes by this.
    #[arg(long, default_value_t = 1.0)]
    pub time_scale: f64,
    /// Who the web UI and the control API act as when a request names no one (`X-Ferry-As`):
    /// a local user name, default the operating-system user.
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,
}

fn parse_preset(name: &str) -> Result<Preset, String> {
    Preset::from_name(name)
        .ok_or_else(|| "expected blue, blue-80, split, green-80 or green".to_string())
}
