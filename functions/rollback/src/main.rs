//! `rollback`: all traffic back to blue (verified), green removed, lock released.
use ferry_handlers::rollback;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    ferry_lambda::run(|deps, input| async move { rollback::handle(&deps, input).await }).await
}
