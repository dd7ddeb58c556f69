//! `shift-weights`: apply one step of the plan, verified, and remember it.
use ferry_handlers::shift_weights;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    ferry_lambda::run(|deps, input| async move { shift_weights::handle(&deps, input).await }).await
}
