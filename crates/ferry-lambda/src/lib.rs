//! The runtime glue every Ferry Lambda binary shares, so that a function's `main.rs` is three
//! lines: set up tracing, build the clients once per cold start, hand the handler to
//! `lambda_runtime`.
//!
//! Handler errors reach Step Functions as a [`Diagnostic`] whose `error_type` is the stable
//! name (`Retryable`, `AlarmBreached`, ...) that the state machines' `Retry`/`Catch` match.

pub mod github;

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::{Connector, tls};
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use ferry_aws::{AwsClients, Settings as AwsSettings};
use ferry_core::ports::SystemClock;
use ferry_handlers::{Deps, HandlerError, LogNotifier, NoGitSource, Settings};
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use github::{run_github, run_with_git};

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
    deps_from(
        &AwsClients::new(&sdk_config().await),
        &AwsSettings::from_env(),
    )
}

/// [`aws_deps`] on clients already built (a function that needs them for more ports builds
/// them once).
pub fn deps_from(clients: &AwsClients, settings: &AwsSettings) -> Deps {
    Deps {
        ecs: Arc::new(clients.task_sets()),
        traffic: Arc::new(clients.router()),
        alarms: Arc::new(clients.alarms()),
        store: Arc::new(clients.store(settings)),
        workflows: Arc::new(clients.workflows(settings)),
        git: Arc::new(NoGitSource),
        notifier: Arc::new(LogNotifier),
        clock: Arc::new(SystemClock),
        settings: Settings::default(),
    }
}

/// The SDK configuration for a Lambda function: what [`ferry_aws::load_sdk_config`] loads, with
/// one HTTPS client for every AWS client ([`LazyTlsClient`]), so that no TLS root certificate is
/// read or parsed before the function's first poll.
pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(LazyTlsClient::default())
        .load()
        .await
}

/// The SDK's default HTTPS client (hyper 1.x, rustls with aws-lc, proxies from the
/// environment), minus its eager start.
///
/// The SDK's own client builds a throwaway TLS connector whenever a client is constructed, to
/// load the system's root certificates early. With five clients that was, before the first
/// poll: the certificate files read, then a root store parsed for aws-config's providers and
/// once per client; then again per service at its first request. That was over half of the
/// cold start (docs/benchmarks.md). Here every client shares one connector, and with it one root
/// store, built at the first request.
#[derive(Debug, Default)]
struct LazyTlsClient {
    /// One connector per distinct timeouts; in practice one, as every client shares the SDK
    /// configuration's timeouts.
    connectors: Mutex<Vec<(Timeouts, SharedHttpConnector)>>,
}

/// Connect and read timeouts.
type Timeouts = (Option<Duration>, Option<Duration>);

impl HttpClient for LazyTlsClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        let timeouts = (settings.connect_timeout(), settings.read_timeout());
        let mut connectors = self
            .connectors
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some((_, connector)) = connectors.iter().find(|(known, _)| *known == timeouts) {
            return connector.clone();
        }
        let mut builder = Connector::builder().tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::AwsLc,
        ));
        builder.set_connector_settings(Some(settings.clone()));
        builder.set_sleep_impl(components.sleep_impl());
        builder.set_proxy_config(Some(ProxyConfig::from_env()));
        let connector = SharedHttpConnector::new(builder.build());
        connectors.push((timeouts, connector.clone()));
        connector
    }

    // `validate_base_client_config` keeps its default, doing nothing: that is where the SDK's
    // client builds its early connector.

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        Some(ConnectorMetadata::new("hyper", Some("1.x".into())))
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
    serve(aws_deps().await, handler).await
}

/// Hands `handler` to `lambda_runtime` with `deps` built. The event is decoded and the
/// handler run by [`ferry_handlers::call`], as the local engine does: a bad input is
/// `NonRetryable` (not the runtime's own deserialisation error) and a panic is `NonRetryable`.
async fn serve<I, O, F, Fut>(deps: Deps, handler: F) -> Result<(), lambda_runtime::Error>
where
    I: DeserializeOwned + Send + 'static,
    O: Serialize + Send + 'static,
    F: Fn(Deps, I) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<O, HandlerError>> + Send + 'static,
{
    let handler = &handler;
    let deps = &deps;
    let name = function_label();
    let name = name.as_str();
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            ferry_handlers::call(name, event.payload, |input| handler(deps.clone(), input))
                .await
                .map_err(LambdaError)
        },
    ))
    .await
}

/// The handler's name for error messages: Ferry's name of the deployed function.
fn function_label() -> String {
    let deployed = std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_default();
    ferry_handlers::function_name(&deployed)
        .map(str::to_string)
        .unwrap_or(if deployed.is_empty() {
            "the handler".to_string()
        } else {
            deployed
        })
}
