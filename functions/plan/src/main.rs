//! `plan`: from a commit to a locked, recorded deployment. Reads the manifest and task
//! definition at the commit through GitHub.
use ferry_handlers::plan;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    ferry_lambda::run_with_git(|deps, input| async move { plan::handle(&deps, input).await }).await
}
