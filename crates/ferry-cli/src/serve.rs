//! `ferry serve [--port N]`: `POST /webhooks/github` with the webhook intake `webhook-intake`
//! runs in Lambda, configured by the same environment (`FERRY_GITHUB_WEBHOOK_SECRET`,
//! `FERRY_EVENT_BUS`, `FERRY_TABLE`, `FERRY_PAYLOAD_BUCKET`, `AWS_ENDPOINT_URL`, ...).
//!
//! Local mode (`AWS_ENDPOINT_URL` set, the emulator): the table, the bus (and the payload
//! bucket, when named) are created when missing; every accepted event goes on the emulator's
//! bus as in AWS, and is routed on this machine with the rule files EventBridge uses: a push
//! starts the deploy workflow on the local engine for each manifest it touches, reading the
//! repository from the folder `FERRY_LOCAL_REPOSITORIES` maps it to (`owner/name=/path,...`).
//! Without `AWS_ENDPOINT_URL` it is the intake against real AWS, and EventBridge routes.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use ferry_aws::{EventBridgePublisher, ensure_bucket, ensure_event_bus};
use ferry_core::ports::EventPublisher;
use ferry_local::{AlarmWatcher, LocalRepository, LocalRouter, LocalRuntime, parse_repository_map};
use ferry_webhook::Intake;
use ferry_webhook::aws::payload_bucket;
use ferry_webhook::inspect::MAX_BODY_BYTES;

/// What the routes share.
pub struct ServeState {
    pub intake: Intake,
}

/// The HTTP routes: `POST /webhooks/github` and `GET /healthz`.
pub fn app(state: Arc<ServeState>) -> Router {
    Router::new()
        .route("/webhooks/github", post(github_webhook))
        .route("/healthz", get(|| async { "ok\n" }))
        // One byte over GitHub's cap still reaches the intake, which answers 413 with a reason;
        // anything bigger is cut off by axum with a plain 413.
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES + 1))
        .with_state(state)
}

async fn github_webhook(
    State(state): State<Arc<ServeState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let response = state.intake.handle(&headers, &body).await;
    let status = StatusCode::from_u16(response.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, axum::Json(response.body)).into_response()
}

/// Options of `ferry serve`.
pub struct ServeOptions {
    pub port: u16,
    pub host: String,
    pub time_scale: f64,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.trim().is_empty())
}

pub async fn run(options: ServeOptions) -> anyhow::Result<ExitCode> {
    let config = ferry_aws::load_sdk_config().await;
    let settings = ferry_aws::Settings::from_env();
    let local = env("AWS_ENDPOINT_URL").is_some();
    let mut background = Vec::new();
    // In AWS the intake publishes to EventBridge itself; locally it also routes.
    let events = if local {
        let eventbridge = aws_sdk_eventbridge::Client::new(&config);
        ensure_event_bus(&eventbridge, &settings.event_bus)
            .await
            .with_context(|| format!("creating the event bus {}", settings.event_bus))?;
        if let Some(bucket) = payload_bucket(&env) {
            ensure_bucket(&aws_sdk_s3::Client::new(&config), &bucket)
                .await
                .with_context(|| format!("creating the bucket {bucket}"))?;
        }
        let bus: Arc<dyn EventPublisher> = Arc::new(EventBridgePublisher::new(
            eventbridge,
            settings.event_bus.clone(),
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
        let runtime = Arc::new(LocalRuntime::new(deps, options.time_scale)?);
        background
            .push(AlarmWatcher::new(runtime.deps.clone(), Duration::from_millis(500)).spawn());
        let router = Arc::new(LocalRouter::new(runtime, Some(bus))?);
        background.push(tokio::spawn(report_deployments(router.clone())));
        Some(router as Arc<dyn EventPublisher>)
    } else {
        None
    };
    let intake = ferry_webhook::aws::intake(&config, env, events).map_err(anyhow::Error::msg)?;
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
    println!(
        "ferry serve: POST http://{}/webhooks/github ({})",
        listener.local_addr()?,
        if local {
            "local mode: routing pushes to the local engine"
        } else {
            "publishing to EventBridge"
        }
    );
    let served = axum::serve(listener, app(Arc::new(ServeState { intake })))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await;
    for task in background {
        task.abort();
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use ferry_core::memory::{FakeClock, MemoryDeliveryLog, MemoryEvents};
    use ferry_webhook::fixtures::{PUSH_MAIN, compact, signed_headers};
    use ferry_webhook::{IntakeSettings, WebhookSecret};
    use tower::ServiceExt;

    fn state(events: Arc<MemoryEvents>) -> Arc<ServeState> {
        Arc::new(ServeState {
            intake: Intake {
                secret: WebhookSecret::fixed("serve-secret"),
                deliveries: Arc::new(MemoryDeliveryLog::new()),
                events,
                archive: None,
                clock: Arc::new(FakeClock::at(time::macros::datetime!(2026-11-22 10:15 UTC))),
                settings: IntakeSettings::default(),
            },
        })
    }

    fn request(body: Vec<u8>, headers: HeaderMap) -> Request<Body> {
        let mut request = Request::post("/webhooks/github")
            .body(Body::from(body))
            .unwrap();
        *request.headers_mut() = headers;
        request
    }

    async fn json(response: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn a_signed_push_is_accepted_and_published() {
        let events = Arc::new(MemoryEvents::new());
        let body = compact(PUSH_MAIN).into_bytes();
        let headers = signed_headers("serve-secret", "push", "d-1", "application/json", &body);
        let response = app(state(events.clone()))
            .oneshot(request(body, headers))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        assert_eq!(json(response).await["status"], "accepted");
        assert_eq!(events.published().len(), 1);
    }

    #[tokio::test]
    async fn an_unsigned_request_is_refused_with_401_and_publishes_nothing() {
        let events = Arc::new(MemoryEvents::new());
        let body = compact(PUSH_MAIN).into_bytes();
        let mut headers = signed_headers("serve-secret", "push", "d-1", "application/json", &body);
        headers.remove("x-hub-signature-256");
        let response = app(state(events.clone()))
            .oneshot(request(body, headers))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(
            json(response).await["reason"]
                .as_str()
                .unwrap()
                .contains("X-Hub-Signature-256")
        );
        assert!(events.published().is_empty());
    }

    #[tokio::test]
    async fn only_post_is_routed_and_health_answers() {
        let app = app(state(Arc::new(MemoryEvents::new())));
        let get = app
            .clone()
            .oneshot(
                Request::get("/webhooks/github")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(get.status(), StatusCode::METHOD_NOT_ALLOWED);
        let health = app
            .oneshot(Request::get("/healthz").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(health.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn a_body_over_25_megabytes_is_refused_with_413() {
        let body = vec![b' '; MAX_BODY_BYTES + 1];
        let headers = signed_headers("serve-secret", "push", "d-1", "application/json", &body);
        let response = app(state(Arc::new(MemoryEvents::new())))
            .oneshot(request(body, headers))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(json(response).await["status"], "refused");
    }
}
