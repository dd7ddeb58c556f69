//! `webhook-intake`: GitHub webhooks through a Lambda function URL (auth `NONE`). Verifies the
//! signature, de-duplicates the delivery and puts one event on Ferry's bus (logic in
//! `ferry-webhook`, served by the shared router of `ferry-http` with the intake only: the
//! control API is not reachable from this public URL).
use aws_lambda_events::event::lambda_function_urls::LambdaFunctionUrlRequest;
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    ferry_lambda::init_tracing();
    let config = ferry_lambda::sdk_config().await;
    let intake = ferry_webhook::aws::intake(&config, |name| std::env::var(name).ok(), None)?;
    let router = ferry_http::router(ferry_http::App {
        intake: Some(intake),
        control: None,
        slack: None,
        ui: None,
    });
    let router = &router;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<LambdaFunctionUrlRequest>| async move {
            Ok::<_, std::convert::Infallible>(
                ferry_http::lambda::handle(router.clone(), event.payload).await,
            )
        },
    ))
    .await
}
