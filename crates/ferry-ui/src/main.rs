//! `ferry-ui`: the web UI as the Fargate trial task runs it, behind an HTTPS load balancer that
//! signs people in (`authenticate-oidc` or `authenticate-cognito`). Every API request is
//! checked against the load balancer's signed claims ([`ferry_ui::AlbOidc`]); without them
//! nothing is read and nothing is done.
//!
//! Configured by the environment Terraform sets (`infra/terraform/ui.tf`):
//! - `FERRY_UI_AUTH=alb-oidc` (the only mode: the binary refuses to start otherwise),
//! - `FERRY_UI_ALB_ARN`: the load balancer whose signature is trusted,
//! - `AWS_REGION`: whose ELB keys verify it (ECS sets it),
//! - `FERRY_UI_LISTEN` (default `0.0.0.0:8080`),
//! - the control function's `FERRY_*` variables (table, state machines, Slack, GitHub).

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use ferry_http::{App, Control};
use ferry_ui::{AlbOidc, ElbPublicKeys};

fn env(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|value| value.trim().to_string())
        .filter(|value| !value.is_empty())
}

#[tokio::main]
async fn main() -> ExitCode {
    ferry_lambda::init_tracing();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("ferry-ui: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    match env("FERRY_UI_AUTH").as_deref() {
        Some("alb-oidc") => {}
        other => bail!(
            "FERRY_UI_AUTH must be alb-oidc (found {other:?}): ferry-ui serves only behind a load balancer that signs people in; on your machine, `ferry serve` serves the UI"
        ),
    }
    let alb_arn = env("FERRY_UI_ALB_ARN").context("FERRY_UI_ALB_ARN names the load balancer")?;
    let region = env("AWS_REGION")
        .or_else(|| env("AWS_DEFAULT_REGION"))
        .context("AWS_REGION is not set")?;
    let keys = ElbPublicKeys::for_region(&region).map_err(anyhow::Error::msg)?;
    let listen: SocketAddr = env("FERRY_UI_LISTEN")
        .unwrap_or_else(|| "0.0.0.0:8080".into())
        .parse()
        .context("FERRY_UI_LISTEN is not an address")?;

    let app = App {
        intake: None,
        control: Some(Control {
            deps: ferry_lambda::aws_deps().await,
            auth: Arc::new(AlbOidc::new(&alb_arn, Arc::new(keys))),
            function: "ui",
        }),
        slack: None,
        ui: Some(ferry_ui::ui()),
    };
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    tracing::info!(%listen, alb = %alb_arn, "serving the web UI");
    axum::serve(listener, ferry_http::router(app))
        .with_graceful_shutdown(async {
            // ECS stops a task with SIGTERM.
            let mut terminate =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .expect("SIGTERM handler");
            tokio::select! {
                _ = terminate.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        })
        .await
        .context("serving")
}
