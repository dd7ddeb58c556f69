//! `check-alarms`: the verdict after a bake.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    ferry_lambda::run_function(&ferry_handlers::functions::CHECK_ALARMS).await
}
