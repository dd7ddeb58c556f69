//! `pr-plan`: a pull request's deployment plan as one comment kept up to date, and the
//! `ferry/plan` commit status. Started by the plan state machine with the event's detail.
use ferry_handlers::pr_plan;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    ferry_lambda::run_github(|deps, github, input| async move {
        pr_plan::handle(&deps, &github, input).await
    })
    .await
}
