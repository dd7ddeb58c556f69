//! The runtime glue every Ferry Lambda binary shares, so that a function's `main.rs` is one
//! line, `ferry_lambda::run_function("<name>")`: set up tracing, build the ports the function
//! needs ([`ferry_handlers::Needs`]) once per cold start, and hand each event to
//! [`ferry_handlers::dispatch`], as the local engine does.
//!
//! Handler errors reach Step Functions as a [`Diagnostic`] whose `error_type` is the stable
//! name (`Retryable`, `AlarmBreached`, ...) that the state machines' `Retry`/`Catch` match.

pub mod github;

use std::future::Future;
use std::pin::Pin;
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
use ferry_aws::{AwsClients, Resources};
use ferry_core::ports::SystemClock;
use ferry_handlers::{
    Deps, Function, HandlerError, HookPorts, Invoked, LogNotifier, Needs, NoGitSource, Settings,
};
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};

pub use github::{git_deps, github_deps};

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
    let config = sdk_config().await;
    let resources = Resources::from_env();
    let clients = AwsClients::new(&config);
    let mut deps = deps_from(&clients, &resources);
    deps.notifier = notifier(&config, &clients, &resources, None);
    deps
}

/// [`aws_deps`] with the ports of verification hooks (`run-hooks`): an HTTP client, Lambda,
/// ECS's one-off tasks and the load balancer's addresses.
pub async fn hooks_deps() -> Result<Deps, String> {
    let config = sdk_config().await;
    let resources = Resources::from_env();
    let clients = AwsClients::new(&config);
    let mut deps = deps_from(&clients, &resources);
    deps.notifier = notifier(&config, &clients, &resources, None);
    deps.hooks = Some(Arc::new(hook_ports(&config, &clients)));
    Ok(deps)
}

/// The hooks' ports on AWS.
pub fn hook_ports(config: &SdkConfig, clients: &AwsClients) -> HookPorts {
    HookPorts {
        http: Arc::new(ferry_aws::HttpsProbe::new()),
        functions: Arc::new(ferry_aws::LambdaInvoker::from_config(config)),
        tasks: Arc::new(ferry_aws::EcsOneOffTasks::new(clients.ecs.clone())),
        listeners: Arc::new(clients.router()),
    }
}

/// Who hears about deployments: the log always; Slack with
/// `FERRY_SLACK_BOT_TOKEN_SECRET_ARN`; GitHub (deployments and the `ferry/deploy` status) with
/// `github`, or lazily with `FERRY_GITHUB_CREDENTIALS_SECRET_ARN`. Secrets are read only when a
/// deployment needs them, never at cold start.
pub fn notifier(
    config: &SdkConfig,
    clients: &AwsClients,
    resources: &Resources,
    github: Option<&ferry_github::GitHub>,
) -> Arc<dyn ferry_core::ports::Notifier> {
    let mut notifiers: Vec<Arc<dyn ferry_core::ports::Notifier>> = vec![Arc::new(LogNotifier)];
    if let Some(slack) = slack_notifier(config, clients, resources) {
        notifiers.push(slack);
    }
    match github {
        Some(github) => notifiers.push(Arc::new(ferry_github::GithubEvidence::new(github.clone()))),
        None => {
            let configured = std::env::var("FERRY_GITHUB_CREDENTIALS_SECRET_ARN")
                .is_ok_and(|arn| !arn.trim().is_empty());
            if configured {
                notifiers.push(Arc::new(github::LazyGithubEvidence::new(config.clone())));
            }
        }
    }
    Arc::new(ferry_handlers::Notifiers(notifiers))
}

/// Slack, when `FERRY_SLACK_BOT_TOKEN_SECRET_ARN` names the bot token's secret (Terraform sets
/// it when Slack is enabled): read only when a deployment with a Slack channel is notified.
pub fn slack_notifier(
    config: &SdkConfig,
    clients: &AwsClients,
    resources: &Resources,
) -> Option<Arc<ferry_slack::LazySlackNotifier>> {
    let secret = std::env::var("FERRY_SLACK_BOT_TOKEN_SECRET_ARN")
        .ok()
        .filter(|arn| !arn.trim().is_empty())?;
    let api_url = std::env::var("FERRY_SLACK_API_URL")
        .ok()
        .filter(|url| !url.trim().is_empty())
        .unwrap_or_else(|| ferry_slack::api::DEFAULT_API_URL.into());
    Some(Arc::new(ferry_slack::LazySlackNotifier::new(
        Arc::new(ferry_aws::SecretsManagerReader::from_config(config)),
        secret.trim(),
        &api_url,
        Arc::new(clients.store(resources)),
    )))
}

/// [`aws_deps`] on clients already built (a function that needs them for more ports builds
/// them once).
pub fn deps_from(clients: &AwsClients, resources: &Resources) -> Deps {
    Deps {
        ecs: Arc::new(clients.task_sets()),
        traffic: Arc::new(clients.router()),
        alarms: Arc::new(clients.alarms()),
        store: Arc::new(clients.store(resources)),
        workflows: Arc::new(clients.workflows(resources)),
        git: Arc::new(NoGitSource),
        notifier: Arc::new(LogNotifier),
        clock: Arc::new(SystemClock),
        settings: Settings::default(),
        github: None,
        hooks: None,
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

/// Serves `function` (one of `ferry_handlers::functions`) under the Lambda runtime, with the
/// ports it needs built once, before the first event; each event runs as
/// [`ferry_handlers::dispatch`] would run it. A configuration error (no GitHub credentials, a
/// malformed `FERRY_POLL_REPOSITORIES`) fails the cold start with its reason.
///
/// Inlined into `main`, where `function` is a known static: the choice of ports below folds
/// away, so a function that needs only AWS does not link the GitHub client, and naming the
/// static (not looking it up by name) keeps only this function's handler.
#[inline(always)]
pub fn run_function(
    function: &'static Function,
) -> Pin<Box<dyn Future<Output = Result<(), lambda_runtime::Error>>>> {
    match function.needs {
        Needs::Aws => Box::pin(serve(function, async { Ok(aws_deps().await) })),
        Needs::Git => Box::pin(serve(function, git_deps())),
        Needs::GitHub => Box::pin(serve(function, github_deps())),
        Needs::Hooks => Box::pin(serve(function, hooks_deps())),
    }
}

async fn serve(
    function: &'static Function,
    deps: impl Future<Output = Result<Deps, String>>,
) -> Result<(), lambda_runtime::Error> {
    init_tracing();
    if function.invoked != Invoked::Event {
        return Err(format!(
            "{} is served over HTTP, not with run_function",
            function.name
        )
        .into());
    }
    let deps = deps.await?;
    let deps = &deps;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            function
                .invoke(deps, event.payload)
                .await
                .map_err(LambdaError)
        },
    ))
    .await
}
