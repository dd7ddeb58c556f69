//! `alarm-watch`: a CloudWatch "Alarm State Change" event from EventBridge fails the bake of
//! every deployment the alarm guards.
use aws_lambda_events::event::cloudwatch_events::CloudWatchEvent;
use ferry_handlers::{HandlerError, alarm_watch};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    ferry_lambda::run(
        |deps, event: CloudWatchEvent<alarm_watch::AlarmStateChange>| async move {
            let change = event.detail.ok_or_else(|| {
                HandlerError::non_retryable(
                    "the event has no detail; expected a CloudWatch Alarm State Change",
                )
            })?;
            alarm_watch::handle(&deps, change).await
        },
    )
    .await
}
