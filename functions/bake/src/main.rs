//! `bake`: store the bake task token so an alarm can end the bake at once (`.waitForTaskToken`).
use ferry_handlers::wait_token;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    ferry_lambda::run(|deps, input| async move { wait_token::bake(&deps, input).await }).await
}
