//! Ferry's AWS adapters: the ports of `ferry-core` implemented with the AWS SDK for Rust.
//!
//! | port | adapter | service |
//! | --- | --- | --- |
//! | [`TaskSetDeployer`](ferry_core::ports::TaskSetDeployer) | [`EcsTaskSets`] | ECS task sets of an `EXTERNAL` service |
//! | [`TrafficRouter`](ferry_core::ports::TrafficRouter) | [`AlbRouter`] | ALB listener and rule forward actions |
//! | [`AlarmReader`](ferry_core::ports::AlarmReader) | [`CloudWatchAlarms`] | CloudWatch metric and composite alarms |
//! | [`DeploymentStore`](ferry_core::ports::DeploymentStore) | [`DynamoStore`] | one DynamoDB table (design in [`dynamodb`]) |
//! | [`WorkflowControl`](ferry_core::ports::WorkflowControl) | [`StepFunctions`] | Step Functions executions and task tokens |
//! | [`DeliveryLog`](ferry_core::ports::DeliveryLog) | [`DynamoDeliveryLog`] | webhook delivery ids in the same table (design in [`deliveries`]) |
//! | [`EventPublisher`](ferry_core::ports::EventPublisher) | [`EventBridgePublisher`] | PutEvents on Ferry's bus |
//! | [`PayloadArchive`](ferry_core::ports::PayloadArchive) | [`S3Archive`] | oversized webhook payloads in S3 |
//! | [`PollState`](ferry_core::ports::PollState) | [`DynamoPollState`] | the poller's last seen heads in the same table |
//! | [`SecretReader`](ferry_core::ports::SecretReader) | [`SecretsManagerReader`] | Secrets Manager `GetSecretValue` |
//! | [`FunctionInvoker`](ferry_core::ports::FunctionInvoker) | [`LambdaInvoker`] | Lambda `Invoke` (`lambda` hooks) |
//! | [`OneOffTasks`](ferry_core::ports::OneOffTasks) | [`EcsOneOffTasks`] | ECS `RunTask`, `DescribeTasks`, `StopTask` (`task` hooks) |
//! | [`ListenerAddresses`](ferry_core::ports::ListenerAddresses) | [`AlbRouter`] | a listener's address (`${TEST_URL}`) |
//! | [`HttpProbe`](ferry_core::ports::HttpProbe) | [`HttpsProbe`] | not AWS: an `http` hook's GET, over hyper and rustls |
//!
//! Build one [`AwsClients`] at cold start from [`load_sdk_config`] and hand out adapters; the
//! same code reaches AWS, or the moto emulator when `AWS_ENDPOINT_URL` is set.
//!
//! Every SDK error becomes a [`PortError`](ferry_core::ports::PortError) in the single
//! mapping, classified for retries and carrying the AWS error code and message. Every write can be
//! repeated safely, as the ports require. Where moto differs from AWS, the code follows AWS's
//! documented behaviour; the differences are listed in this crate's README.

pub mod cloudwatch;
pub mod config;
pub mod deliveries;
pub mod discover;
pub mod dynamodb;
pub mod ecs;
pub mod elb;
mod error;
pub mod eventbridge;
pub mod hooks;
pub mod poll_state;
pub mod s3;
pub mod secretsmanager;
pub mod sfn;

pub use cloudwatch::CloudWatchAlarms;
pub use config::{AwsClients, Resources, load_sdk_config};
pub use deliveries::DynamoDeliveryLog;
pub use dynamodb::{DynamoStore, ensure_table};
pub use ecs::EcsTaskSets;
pub use elb::{AlbRouter, TargetGroupSummary};
pub use eventbridge::{EventBridgePublisher, ensure_event_bus};
pub use hooks::{EcsOneOffTasks, HttpsProbe, LambdaInvoker};
pub use poll_state::DynamoPollState;
pub use s3::{S3Archive, ensure_bucket};
pub use secretsmanager::SecretsManagerReader;
pub use sfn::{StateMachines, StepFunctions};
