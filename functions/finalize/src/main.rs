//! `finalize`: green becomes primary; after `keepOldFor`, blue is removed.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    ferry_lambda::run_function(&ferry_handlers::functions::FINALIZE).await
}
