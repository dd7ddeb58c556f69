//! `approval`: store the approval task token and ask the approvers (`.waitForTaskToken`).
use ferry_handlers::wait_token;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    ferry_lambda::run(|deps, input| async move { wait_token::approval(&deps, input).await }).await
}
