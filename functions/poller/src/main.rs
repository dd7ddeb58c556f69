//! `poller`: on a schedule, tracked branches that moved become `push` events on Ferry's bus.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    ferry_lambda::run_function(&ferry_handlers::functions::POLLER).await
}
