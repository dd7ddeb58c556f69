//! `check-alarms`: the verdict after a bake.
use ferry_handlers::check_alarms;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    ferry_lambda::run(|deps, input| async move { check_alarms::handle(&deps, input).await }).await
}
