//! `push-deploy`: a `push` on Ferry's bus starts one deploy execution per manifest it touches.
//! Target of the `github-push` EventBridge rule, with the event's detail as input.
use ferry_handlers::push_deploy;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    ferry_lambda::run_with_git(|deps, input| async move { push_deploy::handle(&deps, input).await })
        .await
}
