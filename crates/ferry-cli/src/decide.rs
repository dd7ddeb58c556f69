//! `ferry approve|reject|rollback|promote|traffic`: people's decisions about a deployment.

use std::process::ExitCode;

use ferry_core::DeploymentStatus;
use ferry_core::plan::Preset;
use ferry_core::ports::Workflow;
use ferry_handlers::control::{
    ControlInput, Decision, TrafficAction as Action, TrafficRequest, execution_name,
};

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
    // A rollback is always safe to ask for: the handler returns traffic only to a blue that
    // serves, rolls forward once blue's removal began, and finishes a failed deployment.
    let allowed = match action {
        TrafficAction::Rollback => !matches!(
            deployment.status,
            DeploymentStatus::Succeeded | DeploymentStatus::RolledBack
        ),
        _ => holds,
    };
    if !allowed {
        anyhow::bail!(
            "deployment {deployment_id} is {}; {}",
            deployment.status.name(),
            if matches!(action, TrafficAction::Rollback) {
                "there is nothing to roll back (deploy the previous commit to go back)"
            } else {
                "this works on a deployment that holds at a preset"
            }
        );
    }
    let (action, weight) = match action {
        TrafficAction::Preset(preset) => (Action::Preset, Some(preset.green_weight())),
        TrafficAction::Promote => (Action::Promote, None),
        TrafficAction::Rollback => (Action::Rollback, None),
    };
    let input = TrafficRequest {
        deployment_id: deployment_id.to_string(),
        action,
        weight,
        reason: None,
    }
    .to_json();
    // One execution per request: the second of the request names it.
    let name = execution_name(
        deployment_id,
        &time::OffsetDateTime::now_utc().unix_timestamp().to_string(),
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
