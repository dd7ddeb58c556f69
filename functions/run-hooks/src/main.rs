//! `run-hooks`: the manifest's verification hooks of one stage, one attempt per call.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    ferry_lambda::run_function(&ferry_handlers::functions::RUN_HOOKS).await
}
