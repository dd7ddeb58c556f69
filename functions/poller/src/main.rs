//! `poller`: on a schedule, tracked branches that moved become `push` events on Ferry's bus.
use ferry_handlers::poll;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    ferry_lambda::run_github(|deps, github, input| async move {
        poll::handle(&deps, &github, input).await
    })
    .await
}
