//! `create-taskset`: register the task definition and start green on the idle target group.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    ferry_lambda::run_function(&ferry_handlers::functions::CREATE_TASKSET).await
}
