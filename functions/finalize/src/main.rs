//! `finalize`: green becomes primary; after `keepOldFor`, blue is removed.
use ferry_handlers::finalize;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    ferry_lambda::run(|deps, input| async move { finalize::handle(&deps, input).await }).await
}
