//! `plan`: from a commit to a locked, recorded deployment.
use ferry_handlers::plan;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    ferry_lambda::run(|deps, input| async move { plan::handle(&deps, input).await }).await
}
