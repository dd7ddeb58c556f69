//! `wait-stable`: is green stable yet?

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    ferry_lambda::run_function(&ferry_handlers::functions::WAIT_STABLE).await
}
