//! `ferry status [SERVICE]`: deployments from the DynamoDB records.

use std::process::ExitCode;

use ferry_core::Deployment;
use ferry_core::deployment::service_key;

pub async fn run(
    service: Option<&str>,
    cluster: Option<&str>,
    limit: usize,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let deps = crate::context::deps(false).await?;
    let deployments = match service {
        Some(service) => {
            let key = match (service.contains('/'), cluster) {
                (true, _) => service.to_string(),
                (false, Some(cluster)) => service_key(cluster, service),
                (false, None) => {
                    anyhow::bail!("name the service as CLUSTER/SERVICE or pass --cluster")
                }
            };
            deps.store.list_for_service(&key, limit).await?
        }
        None => deps.store.list_in_flight().await?,
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&deployments)?);
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
