//! `control`: approve, reject, promote, roll back or move a deployment, and read the records,
//! through a function URL with auth type `AWS_IAM`. AWS verifies the caller's SigV4 signature
//! and hands the function its IAM principal, which is the actor the manifest's `approvers` are
//! checked against (`ferry approve ID` signs with the caller's credentials). The only path that
//! answers task tokens for people.
use std::sync::Arc;

use aws_lambda_events::event::lambda_function_urls::LambdaFunctionUrlRequest;
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    ferry_lambda::init_tracing();
    let router = ferry_http::router(ferry_http::App {
        intake: None,
        control: Some(ferry_http::Control {
            deps: ferry_lambda::aws_deps().await,
            auth: Arc::new(ferry_http::AwsIam),
            function: "control",
        }),
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
