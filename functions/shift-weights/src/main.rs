//! `shift-weights`: apply one step of the plan, verified, and remember it.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    ferry_lambda::run_function(&ferry_handlers::functions::SHIFT_WEIGHTS).await
}
