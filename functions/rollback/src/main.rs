//! `rollback`: all traffic back to blue (verified), green removed, lock released.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    ferry_lambda::run_function(&ferry_handlers::functions::ROLLBACK).await
}
