//! `wait-stable`: is green stable yet?
use ferry_handlers::wait_stable;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    ferry_lambda::run(|deps, input| async move { wait_stable::handle(&deps, input).await }).await
}
