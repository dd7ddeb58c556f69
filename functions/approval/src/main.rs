//! `approval`: store the approval task token and ask the approvers (`.waitForTaskToken`).

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    ferry_lambda::run_function(&ferry_handlers::functions::APPROVAL).await
}
