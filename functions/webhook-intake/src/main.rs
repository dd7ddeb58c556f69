//! `webhook-intake`: GitHub webhooks through a Lambda function URL. Verifies the signature,
//! de-duplicates the delivery and puts one event on Ferry's bus (logic in `ferry-webhook`).
use aws_lambda_events::event::lambda_function_urls::LambdaFunctionUrlRequest;
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    ferry_lambda::init_tracing();
    let config = ferry_lambda::sdk_config().await;
    let intake = ferry_webhook::aws::intake(&config, |name| std::env::var(name).ok(), None)?;
    let intake = &intake;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<LambdaFunctionUrlRequest>| async move {
            Ok::<_, std::convert::Infallible>(
                ferry_webhook::lambda::handle(intake, event.payload).await,
            )
        },
    ))
    .await
}
