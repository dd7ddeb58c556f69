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
            // Not a service: a deployment id.
            None => return one(service, args.watch, json, through_control).await,
        },
        None => None,
    };
    if args.watch {
        return Err(crate::ConfigError(
            "--watch follows one deployment: `ferry status ID --watch`".into(),
        )
        .into());
    }
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

/// One deployment: its record, its timeline, and with `watch` each new event until it ends.
async fn one(id: &str, watch: bool, json: bool, through_control: bool) -> anyhow::Result<ExitCode> {
    // The table's clients are built once, not at every poll.
    let store = if through_control {
        None
    } else {
        Some(crate::context::deps(false).await?.store)
    };
    let fetch = || async {
        let found = match &store {
            Some(store) => store.get(id).await?,
            None => crate::remote::deployment(id).await?,
        };
        found.ok_or_else(|| {
            anyhow::Error::new(crate::ConfigError(format!(
                "deployment {id} does not exist (`ferry status` lists those in flight, `ferry status CLUSTER/SERVICE` a service's)"
            )))
        })
    };
    let mut deployment = fetch().await?;
    if json && !watch {
        println!("{}", serde_json::to_string_pretty(&deployment.redacted())?);
        return Ok(ExitCode::SUCCESS);
    }
    if !json {
        println!("{}", render(std::slice::from_ref(&deployment)));
    }
    let mut shown = 0;
    loop {
        for entry in unseen(&deployment, shown) {
            if json {
                println!("{}", event_line(&deployment, entry));
            } else {
                let at = entry.at.format(time::macros::format_description!(
                    "[hour]:[minute]:[second]"
                ))?;
                println!("  {at}  {}", entry.event.describe(&deployment));
            }
        }
        shown = deployment.recorded();
        let ended = deployment.status.is_terminal()
            || matches!(
                deployment.status,
                ferry_core::DeploymentStatus::Holding { .. }
            );
        if !watch || ended {
            let good = !deployment.status.is_terminal()
                || deployment.status == ferry_core::DeploymentStatus::Succeeded;
            return Ok(if good || !watch {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            });
        }
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        deployment = fetch().await?;
    }
}

/// The entries recorded after the first `shown`: the newest `recorded() - shown` (the history
/// keeps its latest entries when it is cut).
pub fn unseen(deployment: &Deployment, shown: usize) -> &[ferry_core::deployment::HistoryEntry] {
    let new = deployment.recorded().saturating_sub(shown);
    &deployment.history[deployment.history.len().saturating_sub(new)..]
}

/// One lifecycle event as a JSON line (`ferry status ID --watch --format json`, `ferry deploy
/// --format json`): the event as stored, with the deployment, the time, green's weight then,
/// and how it reads.
pub fn event_line(
    deployment: &Deployment,
    entry: &ferry_core::deployment::HistoryEntry,
) -> serde_json::Value {
    let mut line = serde_json::to_value(entry).unwrap_or_default();
    line["deploymentId"] = serde_json::json!(deployment.id);
    line["message"] = serde_json::json!(entry.event.describe(deployment));
    line
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
