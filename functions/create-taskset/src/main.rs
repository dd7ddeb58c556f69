//! `create-taskset`: register the task definition and start green on the idle target group.
use ferry_handlers::create_taskset;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    ferry_lambda::run(|deps, input| async move { create_taskset::handle(&deps, input).await }).await
}
