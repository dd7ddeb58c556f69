//! `ferry serve [--port N]`: `POST /webhooks/github` with the webhook intake `webhook-intake`
//! runs in Lambda, configured by the same environment (`FERRY_GITHUB_WEBHOOK_SECRET`,
//! `FERRY_EVENT_BUS`, `FERRY_TABLE`, `FERRY_PAYLOAD_BUCKET`, `AWS_ENDPOINT_URL`, ...).
//!
//! Local mode (`AWS_ENDPOINT_URL` set, the emulator): the table, the bus (and the payload
//! bucket, when named) are created when missing; every accepted event goes on the emulator's
//! bus as in AWS, and is routed on this machine with the rule files EventBridge uses: a push
//! starts the deploy workflow on the local engine for each manifest it touches, reading the
//! repository from the folder `FERRY_LOCAL_REPOSITORIES` maps it to (`owner/name=/path,...`),
//! or queues it behind the service's running deployment; the latest push waiting deploys when
//! that ends (the same rules as in AWS, with the local repository's branch heads).
//! Without `AWS_ENDPOINT_URL` it is the intake against real AWS, and EventBridge routes.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use ferry_aws::{EventBridgePublisher, ensure_bucket, ensure_event_bus};
use ferry_core::ports::EventPublisher;
use ferry_http::{App, Control, LocalTrusted};
use ferry_local::{LocalRepository, LocalRouter, LocalRuntime, parse_repository_map};

use crate::args::ServeArgs;
use ferry_webhook::aws::payload_bucket;

fn env(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.trim().is_empty())
}

pub async fn run(options: ServeArgs) -> anyhow::Result<ExitCode> {
    let config = ferry_aws::load_sdk_config().await;
    let resources = ferry_aws::Resources::from_env();
    let local = env("AWS_ENDPOINT_URL").is_some();
    let user = options.user.clone().unwrap_or_else(crate::act::os_user);
    let mut background = Vec::new();
    let mut watching = None;
    let mut control;
    let mut slack = None;
    // In AWS the intake publishes to EventBridge itself; locally it also routes.
    let events = if local {
        let eventbridge = aws_sdk_eventbridge::Client::new(&config);
        ensure_event_bus(&eventbridge, &resources.event_bus)
            .await
            .with_context(|| format!("creating the event bus {}", resources.event_bus))?;
        if let Some(bucket) = payload_bucket(&env) {
            ensure_bucket(&aws_sdk_s3::Client::new(&config), &bucket)
                .await
                .with_context(|| format!("creating the bucket {bucket}"))?;
        }
        let bus: Arc<dyn EventPublisher> = Arc::new(EventBridgePublisher::new(
            eventbridge,
            resources.event_bus.clone(),
        ));
        let repositories =
            parse_repository_map(&env("FERRY_LOCAL_REPOSITORIES").unwrap_or_default())
                .map_err(anyhow::Error::msg)?;
        if repositories.is_empty() {
            eprintln!(
                "note: FERRY_LOCAL_REPOSITORIES is empty: pushes go on the bus but deploy nothing here (set owner/name=/path,...)"
            );
        }
        // Creates the table when missing.
        let mut deps = crate::context::deps_with(&config, true).await?;
        // Deploy what was pushed, not what is on disk, recording the GitHub name.
        deps.git = Arc::new(LocalRepository::commits().with_folders(repositories));
        let slack_config = ferry_slack::SlackConfig::from_env();
        let slack_notifier = crate::context::add_slack(&config, &slack_config, &mut deps);
        crate::context::add_github_evidence(&mut deps);
        let runtime = Arc::new(LocalRuntime::new(deps, options.time_scale)?);
        watching = Some((
            runtime.watch(Duration::from_millis(500)),
            // The deploy-ended rule's work: the latest push waiting for a busy service deploys
            // when that service's deployment ends.
            runtime.converge(Duration::from_millis(500)),
        ));
        // The control API, for the UI and for scripts: on this machine the caller is trusted
        // (X-Ferry-As, else this user), as the emulator is theirs.
        // Slack's buttons: signed by Slack, so served on any address (Slack must reach it).
        slack = slack_config.signing_secret.map(|secret| {
            Arc::new(ferry_slack::Interactions {
                deps: runtime.action_deps(),
                signing_secret: secret.into_bytes(),
                slack: slack_notifier.clone(),
                follow_up_inline: false,
            })
        });
        control = Some(Control {
            deps: runtime.action_deps(),
            auth: Arc::new(LocalTrusted {
                default_user: user.clone(),
            }),
            function: "control",
        });
        let router = Arc::new(LocalRouter::new(runtime, Some(bus))?);
        background.push(tokio::spawn(report_deployments(router.clone())));
        Some(router as Arc<dyn EventPublisher>)
    } else {
        // A real account: the UI and the control API act with this machine's credentials, as
        // the CLI's user (on loopback only, as below).
        let mut deps = crate::context::deps_with(&config, false).await?;
        crate::context::add_github_evidence(&mut deps);
        control = Some(Control {
            deps,
            auth: Arc::new(LocalTrusted {
                default_user: user.clone(),
            }),
            function: "control",
        });
        None
    };
    // Without a webhook secret the UI and the control API are still worth serving.
    let intake = match ferry_webhook::aws::intake(&config, env, events) {
        Ok(intake) => Some(intake),
        Err(problem) if control.is_some() => {
            eprintln!("note: GitHub webhooks are not served: {problem}");
            None
        }
        Err(problem) => return Err(anyhow::Error::msg(problem)),
    };
    let address: SocketAddr = format!("{}:{}", options.host, options.port)
        .parse()
        .with_context(|| {
            format!(
                "{}:{} is not an address to listen on",
                options.host, options.port
            )
        })?;
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on {address}"))?;
    // The local control API and UI trust their caller: never on an address others can reach.
    if control.is_some() && !address.ip().is_loopback() {
        eprintln!(
            "note: the web UI and the control API (/api/...) are served on loopback addresses only; {address} is not one"
        );
        control = None;
    }
    if intake.is_none() && control.is_none() {
        anyhow::bail!(
            "nothing to serve on {address}: no webhook secret (FERRY_GITHUB_WEBHOOK_SECRET), and the web UI is served on loopback addresses only"
        );
    }
    if control.is_some() {
        println!(
            "ferry serve: web UI at http://{}/ (acting as local:{user}), control API at /api/deployments",
            listener.local_addr()?
        );
    }
    if intake.is_some() {
        println!(
            "ferry serve: POST http://{}/webhooks/github ({})",
            listener.local_addr()?,
            if local {
                "local mode: routing pushes to the local engine"
            } else {
                "publishing to EventBridge"
            }
        );
    }
    if slack.is_some() {
        println!(
            "ferry serve: Slack interactions at http://{}/slack/interactions",
            listener.local_addr()?
        );
    }
    let app = App {
        intake,
        control,
        slack,
        ui: Some(ferry_ui::ui()),
    };
    let served = axum::serve(listener, ferry_http::router(app))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await;
    for task in background {
        task.abort();
    }
    drop(watching);
    served.context("serving")?;
    Ok(ExitCode::SUCCESS)
}

/// Prints how each deployment a push started ends.
async fn report_deployments(router: Arc<LocalRouter>) {
    loop {
        for execution in router.take_started() {
            tokio::spawn(async move {
                let name = execution.arn().to_string();
                println!("deploying: {name}");
                let outcome = execution.wait().await;
                print!("{name}: ");
                crate::deploy::report_outcome(&outcome);
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
