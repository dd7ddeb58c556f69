//! The runtime glue every Ferry Lambda binary shares, so that a function's `main.rs` is three
//! lines: set up tracing, build the clients once per cold start, hand the handler to
//! `lambda_runtime`.
//!
//! Handler errors reach Step Functions as a [`Diagnostic`] whose `error_type` is the stable
//! name (`Retryable`, `AlarmBreached`, ...) that the state machines' `Retry`/`Catch` match.

pub mod github;

use std::future::Future;
use std::sync::Arc;

use ferry_aws::{AwsClients, Settings as AwsSettings};
use ferry_core::ports::SystemClock;
use ferry_handlers::{Deps, HandlerError, LogNotifier, NoGitSource, Settings};
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use github::run_github;

/// A handler error on its way to the Lambda Runtime API.
#[derive(Debug)]
pub struct LambdaError(pub HandlerError);

impl From<LambdaError> for Diagnostic {
    fn from(error: LambdaError) -> Diagnostic {
        Diagnostic {
            error_type: error.0.error_type().to_string(),
            error_message: error.0.message,
        }
    }
}

/// Structured logs; JSON when Lambda's `AWS_LAMBDA_LOG_FORMAT=JSON` is set (the runtime adds
/// the request id), level from `RUST_LOG` (default `info`).
pub fn init_tracing() {
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT")
        .is_ok_and(|format| format.eq_ignore_ascii_case("json"));
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .without_time(); // CloudWatch stamps every line already
    if json {
        builder.json().init();
    } else {
        builder.with_ansi(false).init();
    }
}

/// The handler ports backed by AWS, configured from the environment (`AWS_REGION`,
/// `AWS_ENDPOINT_URL` for an emulator, `FERRY_TABLE`, the state machine ARNs).
pub async fn aws_deps() -> Deps {
    let clients = AwsClients::from_env().await;
    let settings = AwsSettings::from_env();
    Deps {
        ecs: Arc::new(clients.task_sets()),
        traffic: Arc::new(clients.router()),
        alarms: Arc::new(clients.alarms()),
        store: Arc::new(clients.store(&settings)),
        workflows: Arc::new(clients.workflows(&settings)),
        git: Arc::new(NoGitSource),
        notifier: Arc::new(LogNotifier),
        clock: Arc::new(SystemClock),
        settings: Settings::default(),
    }
}

/// Runs `handler` under the Lambda runtime with ports built once, before the first event.
pub async fn run<I, O, F, Fut>(handler: F) -> Result<(), lambda_runtime::Error>
where
    I: DeserializeOwned + Send + 'static,
    O: Serialize + Send + 'static,
    F: Fn(Deps, I) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<O, HandlerError>> + Send + 'static,
{
    init_tracing();
    let deps = aws_deps().await;
    let handler = &handler;
    let deps = &deps;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<I>| async move {
        handler(deps.clone(), event.payload)
            .await
            .map_err(LambdaError)
    }))
    .await
}
