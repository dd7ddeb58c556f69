//! `converge`: a deploy execution ended, so every service whose desired commit waits is
//! deployed now if nothing else deploys it. Target of the `deploy-ended` EventBridge rule.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    ferry_lambda::run_function(&ferry_handlers::functions::CONVERGE).await
}
