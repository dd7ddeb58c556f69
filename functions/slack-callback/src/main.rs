//! `slack-callback`: Slack's button clicks, behind a function URL with auth type `NONE` (Slack
//! cannot sign with SigV4): every request is verified by `X-Slack-Signature` before anything
//! is read, then acted on as the clicking Slack user through the typed actions. The secrets are
//! read at the first click, not at cold start. The follow-up
//! (the message updated, an ephemeral refusal) runs before the answer, bounded, since nothing
//! may run in Lambda after it.
use std::sync::Arc;

use aws_lambda_events::event::lambda_function_urls::LambdaFunctionUrlRequest;
use ferry_core::ports::SecretReader;
use lambda_runtime::{LambdaEvent, service_fn};

/// A secret named by the environment variable `name`, read at cold start.
async fn secret(reader: &ferry_aws::SecretsManagerReader, name: &str) -> Result<String, String> {
    let arn = std::env::var(name).map_err(|_| format!("{name} is not set"))?;
    reader
        .read_secret(&arn)
        .await
        .map(|value| value.trim().to_string())
        .map_err(|error| format!("reading {name}: {error}"))
}

/// The router, built at the first click: the secrets are read then, not before the first poll
/// (as webhook-intake reads its secret), so a cold start never waits for Secrets Manager.
async fn router() -> Result<axum::Router, String> {
    let config = ferry_lambda::sdk_config().await;
    let reader = ferry_aws::SecretsManagerReader::from_config(&config);
    let signing_secret = secret(&reader, "FERRY_SLACK_SIGNING_SECRET_ARN").await?;
    let token = secret(&reader, "FERRY_SLACK_BOT_TOKEN_SECRET_ARN").await?;
    let api_url = std::env::var("FERRY_SLACK_API_URL")
        .unwrap_or_else(|_| ferry_slack::api::DEFAULT_API_URL.into());
    let deps = ferry_lambda::aws_deps().await;
    let resources = ferry_aws::Resources::from_env();
    let slack = ferry_slack::SlackNotifier {
        api: ferry_slack::SlackApi::new(&api_url, &token).map_err(|error| error.to_string())?,
        threads: Arc::new(ferry_aws::AwsClients::new(&config).store(&resources)),
    };
    Ok(ferry_http::router(ferry_http::App {
        intake: None,
        control: None,
        slack: Some(Arc::new(ferry_slack::Interactions {
            deps,
            signing_secret: signing_secret.into_bytes(),
            slack: Some(slack),
            follow_up_inline: true,
        })),
        ui: None,
    }))
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    ferry_lambda::init_tracing();
    let built: &tokio::sync::OnceCell<axum::Router> = Box::leak(Box::default());
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<LambdaFunctionUrlRequest>| async move {
            let router = match built.get_or_try_init(router).await {
                Ok(router) => router.clone(),
                // Tried again at the next click; Slack shows this one as failed.
                Err(error) => {
                    tracing::error!(%error, "slack-callback is not configured");
                    axum::Router::new().fallback(|| async {
                        (
                            axum::http::StatusCode::SERVICE_UNAVAILABLE,
                            "slack-callback is not configured: see its log",
                        )
                    })
                }
            };
            Ok::<_, std::convert::Infallible>(
                ferry_http::lambda::handle(router, event.payload).await,
            )
        },
    ))
    .await
}
