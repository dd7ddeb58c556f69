//! `ferry status [SERVICE]`: deployments from their records, through the control URL in AWS
//! (`FERRY_CONTROL_URL`) or from the table (the emulator, or a caller with table access).

use std::process::ExitCode;

use ferry_core::Deployment;
use ferry_core::deployment::service_key;

use crate::Format;
use crate::args::StatusArgs;

pub async fn run(args: StatusArgs) -> anyhow::Result<ExitCode> {
    let service = args.service.as_deref();
    let cluster = args.cluster.as_deref();
    let limit = args.limit;
    let json = args.json || args.format == Format::Json;
    // Against AWS with the control URL configured, through it (the operators policy is all a
    // person needs); otherwise from the table directly (the emulator, or table access).
    let through_control = std::env::var("AWS_ENDPOINT_URL").is_err() && crate::remote::configured();
    let key = match service {
        Some(service) if service.contains('/') => Some(service.to_string()),
        Some(service) => match cluster {
            Some(cluster) => Some(service_key(cluster, service)),
            None => {
                return Err(crate::ConfigError(
                    "name the service as CLUSTER/SERVICE or pass --cluster".into(),
                )
                .into());
            }
        },
        None => None,
    };
    let deployments = if through_control {
        crate::remote::deployments(key.as_deref(), limit).await?
    } else {
        read_table(key.as_deref(), limit).await?
    };
    if json {
        // Task tokens are credentials: never printed.
        let shown: Vec<Deployment> = deployments.iter().map(Deployment::redacted).collect();
        println!("{}", serde_json::to_string_pretty(&shown)?);
        return Ok(ExitCode::SUCCESS);
    }
    if deployments.is_empty() {
        println!(
            "{}",
            if service.is_some() {
                "no deployments recorded"
            } else {
                "no deployment in flight"
            }
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!("{}", render(&deployments));
    Ok(ExitCode::SUCCESS)
}

async fn read_table(key: Option<&str>, limit: usize) -> anyhow::Result<Vec<Deployment>> {
    let deps = crate::context::deps(false).await?;
    Ok(match key {
        Some(key) => deps.store.list_for_service(key, limit).await?,
        None => deps.store.list_in_flight().await?,
    })
}

pub fn render(deployments: &[Deployment]) -> String {
    let mut out = format!(
        "{:<44} {:<18} {:<17} {:>6} {:<8} {}\n",
        "DEPLOYMENT", "SERVICE", "STATUS", "GREEN", "COMMIT", "REASON"
    );
    for deployment in deployments {
        let status = match deployment.status {
            ferry_core::DeploymentStatus::Shifting { step }
            | ferry_core::DeploymentStatus::Baking { step }
            | ferry_core::DeploymentStatus::AwaitingApproval { step }
            | ferry_core::DeploymentStatus::Holding { step } => {
                format!(
                    "{} {}/{}",
                    deployment.status.name(),
                    step + 1,
                    deployment.plan.steps.len()
                )
            }
            other => other.name().to_string(),
        };
        out.push_str(&format!(
            "{:<44} {:<18} {:<17} {:>5}% {:<8} {}\n",
            deployment.id,
            deployment.service_key(),
            status,
            deployment.green_weight,
            &deployment.source.commit[..deployment.source.commit.len().min(7)],
            deployment.reason.as_deref().unwrap_or("")
        ));
    }
    out.trim_end().to_string()
}
