//! `ferry invoke FUNCTION --event FILE`: one handler, in-process, against the AWS endpoint in
//! the environment; the local equivalent of invoking the Lambda.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

pub async fn run(function: &str, event: &Path) -> anyhow::Result<ExitCode> {
    let text =
        std::fs::read_to_string(event).with_context(|| format!("reading {}", event.display()))?;
    let payload: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", event.display()))?;
    // Local Git: a plan event's `repository` is a folder on this machine.
    let deps = crate::context::deps(true).await?;
    match ferry_handlers::dispatch(&deps, function, payload).await {
        Ok(output) => {
            println!("{}", serde_json::to_string_pretty(&output)?);
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => {
            // The shape the Lambda Runtime API reports, so scripts can read it the same way.
            let report =
                serde_json::json!({"errorType": error.error_type(), "errorMessage": error.message});
            println!("{}", serde_json::to_string_pretty(&report)?);
            eprintln!("{}: {}", error.error_type(), error.message);
            Ok(ExitCode::FAILURE)
        }
    }
}
