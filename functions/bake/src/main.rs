//! `bake`: store the bake task token so an alarm can end the bake at once (`.waitForTaskToken`).

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    ferry_lambda::run_function(&ferry_handlers::functions::BAKE).await
}
