//! `push-deploy`: a `push` on Ferry's bus starts one deploy execution per manifest it touches.
//! Target of the `github-push` EventBridge rule, with the event's detail as input.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    ferry_lambda::run_function(&ferry_handlers::functions::PUSH_DEPLOY).await
}
