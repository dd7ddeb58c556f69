//! `ferry status [SERVICE]`: deployments from their records, through the control URL in AWS
//! (`FERRY_CONTROL_URL`) or from the table (the emulator, or a caller with table access).

use std::process::ExitCode;

use ferry_core::Deployment;
use ferry_core::convergence::{Desired, PassOver};
use ferry_core::deployment::{service_key, short_commit};

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
    let desired = if through_control {
        crate::remote::desired(key.as_deref()).await?
    } else {
        read_desired(key.as_deref()).await?
    };
    if deployments.is_empty() {
        println!(
            "{}",
            if service.is_some() {
                "no deployments recorded"
            } else {
                "no deployment in flight"
            }
        );
    } else {
        println!("{}", render(&deployments));
    }
    if !desired.is_empty() {
        println!("\n{}", render_desired(&desired));
    }
    Ok(ExitCode::SUCCESS)
}

async fn read_desired(key: Option<&str>) -> anyhow::Result<Vec<Desired>> {
    let deps = crate::context::deps(false).await?;
    Ok(match key {
        Some(key) => deps.store.get_desired(key).await?.into_iter().collect(),
        None => deps.store.list_pending_desired().await?,
    })
}

/// Each service's latest push and what became of it, then the pushes passed over (superseded
/// by a newer push, older than the desired commit, or refused by plan).
pub fn render_desired(states: &[Desired]) -> String {
    let mut out = format!(
        "{:<18} {:<8} {:<16} {:<12} {}\n",
        "LATEST PUSH", "COMMIT", "BRANCH", "BY", "STATE"
    );
    let mut passed = Vec::new();
    for state in states {
        let outcome = match &state.settled {
            Some(settled) if settled.generation == state.generation => {
                match &settled.deployment_id {
                    Some(id) => format!("deployed by {id}"),
                    None => "refused (see below)".to_string(),
                }
            }
            _ => "waiting to deploy".to_string(),
        };
        out.push_str(&format!(
            "{:<18} {:<8} {:<16} {:<12} {}\n",
            state.service_key,
            short_commit(&state.push.commit),
            state.push.branch,
            state.push.author.as_deref().unwrap_or("-"),
            outcome
        ));
        for entry in &state.passed_over {
            let why = match &entry.why {
                PassOver::Superseded { by } => format!("superseded by {}", short_commit(by)),
                PassOver::Older { than } => format!("older than {}", short_commit(than)),
                PassOver::Refused { message } => format!("refused: {message}"),
            };
            passed.push(format!(
                "{:<18} {:<8} {:<16} {:<12} {}",
                state.service_key,
                short_commit(&entry.push.commit),
                entry.push.branch,
                entry.push.author.as_deref().unwrap_or("-"),
                why
            ));
        }
    }
    if !passed.is_empty() {
        out.push_str(&format!(
            "\n{:<18} {:<8} {:<16} {:<12} {}\n",
            "NOT DEPLOYED", "COMMIT", "BRANCH", "BY", "WHY"
        ));
        for line in passed {
            out.push_str(&line);
            out.push('\n');
        }
    }
    out.trim_end().to_string()
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

#[cfg(test)]
mod tests {
    use ferry_core::convergence::{Desired, Order, Push};
    use time::macros::datetime;

    use super::*;

    fn push(commit: char, author: &str) -> Push {
        Push {
            branch: "main".into(),
            commit: commit.to_string().repeat(40),
            author: Some(author.into()),
            delivery: None,
            seen_by: Some("webhook".into()),
            pushed_at: datetime!(2026-11-22 10:00 UTC),
        }
    }

    #[test]
    fn the_latest_push_of_each_service_and_the_pushes_not_deployed_read_as_a_table() {
        let at = datetime!(2026-11-22 10:05 UTC);
        let mut web = Desired::new(
            "shop/web",
            "acme/shop",
            ".ferry/web.yaml",
            push('a', "alice"),
        );
        web.settle(1, Some("web-aaaaaaa-g1-0c1d2e3f"), at);
        for (commit, author) in [('b', "bob"), ('c', "carol")] {
            web.accept(
                push(commit, author),
                "acme/shop",
                ".ferry/web.yaml",
                Order::Newer,
                at,
            );
        }
        web.accept(
            push('0', "ci"),
            "acme/shop",
            ".ferry/web.yaml",
            Order::Older,
            at,
        );
        let mut api = Desired::new("shop/api", "acme/shop", ".ferry/api.yaml", push('d', "dan"));
        api.refuse(
            1,
            "main is now at eeeeeee, which changes this service; its push deploys it",
            at,
        );

        insta::assert_snapshot!(render_desired(&[web, api]));
    }
}
