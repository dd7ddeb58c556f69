//! `alarm-watch`: a CloudWatch "Alarm State Change" event from EventBridge fails the bake of
//! every deployment the alarm guards.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    ferry_lambda::run_function(&ferry_handlers::functions::ALARM_WATCH).await
}
