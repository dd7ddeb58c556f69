//! `ferry`: the command line of the Ferry deployment controller.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

mod plan;
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
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Validate { paths } => validate::run(&paths),
        Command::Plan { manifest, format } => plan::run(&manifest, format),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
