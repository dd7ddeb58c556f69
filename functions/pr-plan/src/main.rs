//! `pr-plan`: a pull request's deployment plan as one comment kept up to date, and the
//! `ferry/plan` commit status. Started by the plan state machine with the event's detail.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    ferry_lambda::run_function(&ferry_handlers::functions::PR_PLAN).await
}
