//! `plan`: from a commit to a locked, recorded deployment. Reads the manifest and task
//! definition at the commit through GitHub.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    ferry_lambda::run_function(&ferry_handlers::functions::PLAN).await
}
