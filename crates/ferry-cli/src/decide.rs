//! `ferry approve|reject|rollback|promote|traffic`: people's decisions about a deployment.

use std::process::ExitCode;

use ferry_core::DeploymentStatus;
use ferry_core::plan::Preset;
use ferry_core::ports::Workflow;
use ferry_handlers::control::{ControlInput, Decision};
use serde_json::json;

/// Approve or reject the approval a deployment waits for (AWS: SendTaskSuccess/Failure).
pub async fn decide(
    deployment_id: &str,
    decision: Decision,
    by: Option<String>,
    reason: Option<String>,
) -> anyhow::Result<ExitCode> {
    let deps = crate::context::deps(false).await?;
    let input = ControlInput {
        deployment_id: deployment_id.to_string(),
        decision,
        by: by.or_else(|| std::env::var("USER").ok()),
        reason,
    };
    match ferry_handlers::control::handle(&deps, input).await {
        Ok(message) => {
            println!("{message}");
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => {
            eprintln!("{}: {}", error.error_type(), error.message);
            Ok(ExitCode::FAILURE)
        }
    }
}

/// What the traffic workflow should do.
pub enum TrafficAction {
    Preset(Preset),
    Promote,
    Rollback,
}

/// Rolls back, promotes or moves a deployment. A deployment whose workflow is waiting (a bake
/// or an approval) is stopped through its task token; one that holds at a preset or keeps blue
/// warm is handled by the traffic workflow (locally with `--local`).
pub async fn traffic(
    deployment_id: &str,
    action: TrafficAction,
    local: bool,
    time_scale: f64,
) -> anyhow::Result<ExitCode> {
    let deps = crate::context::deps(local).await?;
    let Some(deployment) = deps.store.get(deployment_id).await? else {
        anyhow::bail!("deployment {deployment_id} does not exist");
    };
    if matches!(action, TrafficAction::Rollback) && deployment.pending_token.is_some() && !local {
        return decide(
            deployment_id,
            Decision::Abort,
            None,
            Some("rolled back by hand".into()),
        )
        .await;
    }
    let holds = matches!(deployment.status, DeploymentStatus::Holding { .. });
    let allowed = match action {
        TrafficAction::Rollback => holds || deployment.status == DeploymentStatus::Finalizing,
        _ => holds,
    };
    if !allowed {
        anyhow::bail!(
            "deployment {deployment_id} is {}; this works on a deployment that holds at a preset{}",
            deployment.status.name(),
            if matches!(action, TrafficAction::Rollback) {
                " or keeps blue warm"
            } else {
                ""
            }
        );
    }
    let input = match action {
        TrafficAction::Preset(preset) => {
            json!({"deploymentId": deployment_id, "action": "preset", "weight": preset.green_weight()})
        }
        TrafficAction::Promote => json!({"deploymentId": deployment_id, "action": "promote"}),
        TrafficAction::Rollback => json!({"deploymentId": deployment_id, "action": "rollback"}),
    };
    let name = format!(
        "{}-{}",
        &deployment_id[..deployment_id.len().min(60)],
        &uuid_suffix()
    );
    if local {
        let runtime = ferry_local::LocalRuntime::new(deps, time_scale)?;
        let outcome = runtime.start_traffic(&name, input)?.wait().await;
        return Ok(crate::deploy::report_outcome(&outcome));
    }
    let execution = deps
        .workflows
        .start(Workflow::Traffic, &name, &input)
        .await?;
    println!("started {}", execution.execution_arn);
    Ok(ExitCode::SUCCESS)
}

fn uuid_suffix() -> String {
    time::OffsetDateTime::now_utc().unix_timestamp().to_string()
}
