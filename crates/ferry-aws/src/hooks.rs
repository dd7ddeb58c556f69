//! What verification hooks call: [`HttpsProbe`] (an `http` hook's request), [`LambdaInvoker`]
//! (a `lambda` hook's function) and [`EcsOneOffTasks`] (a `task` hook's task). The test
//! listener's address comes from [`AlbRouter`](crate::AlbRouter) (`ListenerAddresses`).

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ecs::types::{ContainerOverride, TaskOverride};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use aws_smithy_runtime_api::client::result::SdkError;
use bytes::Bytes;
use ferry_core::hooks::{FunctionAnswer, TaskState};
use ferry_core::ports::{
    FunctionInvoker, HttpAnswer, HttpProbe, OneOffTask, OneOffTasks, PortError, PortResult,
};
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::ecs::{apply_placement_to_run_task, network_configuration};
use crate::error::port_error;

/// The most of a response body an `http` hook reads (and judges `bodyContains` against).
const MAX_BODY_BYTES: usize = 64 * 1024;
/// How long a `lambda` hook's function may take to answer one invocation: well within
/// `run-hooks`' own 60 s. A function that needs longer answers `IN_PROGRESS` and is called again.
const MAX_INVOKE_SECONDS: u64 = 45;

type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Empty<Bytes>>;

/// GET requests over HTTPS (the system's roots) or plain HTTP, without following redirects: a
/// redirect is an answer like any other, judged against `expectStatus`.
///
/// The client, and with it the system's root certificates, is built at the first request, not
/// at cold start (as the SDK's clients are, `ferry_lambda::sdk_config`).
#[derive(Default)]
pub struct HttpsProbe {
    client: std::sync::OnceLock<Result<HttpsClient, String>>,
}

impl HttpsProbe {
    pub fn new() -> HttpsProbe {
        HttpsProbe::default()
    }

    fn client(&self) -> PortResult<&HttpsClient> {
        self.client
            .get_or_init(|| {
                let connector = hyper_rustls::HttpsConnectorBuilder::new()
                    .with_native_roots()
                    .map_err(|error| format!("no root certificates: {error}"))?
                    .https_or_http()
                    .enable_http1()
                    .build();
                Ok(Client::builder(TokioExecutor::new()).build(connector))
            })
            .as_ref()
            .map_err(|error| PortError::Invalid(error.clone()))
    }
}

#[async_trait]
impl HttpProbe for HttpsProbe {
    async fn get(&self, url: &str, timeout: Duration) -> PortResult<HttpAnswer> {
        let uri: http::Uri = url
            .parse()
            .map_err(|error| PortError::Invalid(format!("{url} is not a URL: {error}")))?;
        let request = http::Request::get(uri)
            .header(http::header::USER_AGENT, "ferry-hook")
            .body(Empty::new())
            .map_err(|error| PortError::Invalid(format!("{url}: {error}")))?;
        let client = self.client()?;
        let exchange = async {
            let response = client
                .request(request)
                .await
                .map_err(|error| PortError::Transient(describe_http_error(&error)))?;
            let status = response.status().as_u16();
            // A body longer than the limit is cut, not refused: the status decides most checks.
            let mut body = Limited::new(response.into_body(), MAX_BODY_BYTES);
            let mut bytes = Vec::new();
            while let Some(frame) = body.frame().await {
                match frame {
                    Ok(frame) => {
                        if let Some(data) = frame.data_ref() {
                            bytes.extend_from_slice(data);
                        }
                    }
                    Err(_) => break,
                }
            }
            Ok(HttpAnswer {
                status,
                body: String::from_utf8_lossy(&bytes).into_owned(),
            })
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| PortError::Transient(format!("no answer within {}s", timeout.as_secs())))?
    }
}

/// The cause of a failed request, innermost first (`connection refused`, not `client error`).
fn describe_http_error(error: &hyper_util::client::legacy::Error) -> String {
    let mut cause: &dyn std::error::Error = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    if error.is_connect() {
        format!("cannot connect: {cause}")
    } else {
        cause.to_string()
    }
}

/// `lambda` hooks: synchronous invocations (`RequestResponse`).
#[derive(Debug, Clone)]
pub struct LambdaInvoker {
    client: aws_sdk_lambda::Client,
}

impl LambdaInvoker {
    pub fn new(client: aws_sdk_lambda::Client) -> Self {
        Self { client }
    }

    pub fn from_config(config: &aws_config::SdkConfig) -> Self {
        Self::new(aws_sdk_lambda::Client::new(config))
    }
}

#[async_trait]
impl FunctionInvoker for LambdaInvoker {
    async fn invoke(
        &self,
        function: &str,
        payload: &serde_json::Value,
    ) -> PortResult<FunctionAnswer> {
        let body = serde_json::to_vec(payload)
            .map_err(|error| PortError::Invalid(format!("hook payload: {error}")))?;
        let result = self
            .client
            .invoke()
            .function_name(function)
            .invocation_type(InvocationType::RequestResponse)
            .payload(Blob::new(body))
            .customize()
            .config_override(
                aws_sdk_lambda::config::Config::builder().timeout_config(
                    aws_smithy_types::timeout::TimeoutConfig::builder()
                        .operation_timeout(Duration::from_secs(MAX_INVOKE_SECONDS))
                        .build(),
                ),
            )
            .send()
            .await;
        let output = match result {
            Ok(output) => output,
            // Waiting longer would outlast run-hooks itself; retrying would run the function
            // again. The hook fails, saying what its function should do instead.
            Err(SdkError::TimeoutError(_)) => {
                return Err(PortError::Invalid(format!(
                    "{function} did not answer within {MAX_INVOKE_SECONDS}s; a hook function that takes longer answers {{\"hookStatus\": \"IN_PROGRESS\"}} and is called again"
                )));
            }
            Err(error) => return Err(port_error("Invoke", &format!("function {function}"), error)),
        };
        Ok(FunctionAnswer {
            payload: output
                .payload()
                .map(|payload| String::from_utf8_lossy(payload.as_ref()).into_owned())
                .unwrap_or_default(),
            function_error: output.function_error().map(str::to_string),
        })
    }
}

/// `task` hooks: one-off ECS tasks.
#[derive(Debug, Clone)]
pub struct EcsOneOffTasks {
    client: aws_sdk_ecs::Client,
}

impl EcsOneOffTasks {
    pub fn new(client: aws_sdk_ecs::Client) -> Self {
        Self { client }
    }
}

#[async_trait]
impl OneOffTasks for EcsOneOffTasks {
    async fn run_task(&self, task: &OneOffTask) -> PortResult<String> {
        let subject = format!("task {} in cluster {}", task.task_definition, task.cluster);
        let mut call = self
            .client
            .run_task()
            .cluster(&task.cluster)
            .task_definition(&task.task_definition)
            .count(1)
            .started_by(&task.started_by)
            .client_token(&task.client_token)
            .set_platform_version(task.placement.platform_version.clone());
        if !task.command.is_empty() {
            call = call.overrides(
                TaskOverride::builder()
                    .container_overrides(
                        ContainerOverride::builder()
                            .name(&task.container)
                            .set_command(Some(task.command.clone()))
                            .build(),
                    )
                    .build(),
            );
        }
        if let Some(network) = &task.placement.network {
            call = call.network_configuration(network_configuration(network)?);
        }
        let call = apply_placement_to_run_task(call, &task.placement)?;
        let output = call
            .send()
            .await
            .map_err(|error| port_error("RunTask", &subject, error))?;
        if let Some(arn) = output
            .tasks()
            .first()
            .and_then(|started| started.task_arn())
        {
            return Ok(arn.to_string());
        }
        // No task: ECS says why in `failures` (no capacity, a missing resource, ...).
        let reasons: Vec<String> = output
            .failures()
            .iter()
            .map(|failure| {
                format!(
                    "{}{}",
                    failure.reason().unwrap_or("unknown reason"),
                    failure
                        .detail()
                        .map(|detail| format!(": {detail}"))
                        .unwrap_or_default()
                )
            })
            .collect();
        Err(PortError::Invalid(format!(
            "RunTask started no task for {subject}: {}",
            if reasons.is_empty() {
                "ECS gave no reason".to_string()
            } else {
                reasons.join("; ")
            }
        )))
    }

    async fn describe_task(
        &self,
        cluster: &str,
        task_arn: &str,
        container: &str,
    ) -> PortResult<TaskState> {
        let subject = format!("task {task_arn} in cluster {cluster}");
        let output = self
            .client
            .describe_tasks()
            .cluster(cluster)
            .tasks(task_arn)
            .send()
            .await
            .map_err(|error| port_error("DescribeTasks", &subject, error))?;
        let Some(task) = output.tasks().first() else {
            return Err(PortError::NotFound(subject));
        };
        let found = task
            .containers()
            .iter()
            .find(|candidate| candidate.name() == Some(container));
        let stopped_reason = found
            .and_then(|found| found.reason())
            .or(task.stopped_reason())
            .map(str::to_string);
        Ok(TaskState {
            arn: task.task_arn().unwrap_or(task_arn).to_string(),
            last_status: task.last_status().unwrap_or("PROVISIONING").to_string(),
            exit_code: found.and_then(|found| found.exit_code()),
            stopped_reason,
        })
    }

    async fn stop_task(&self, cluster: &str, task_arn: &str, reason: &str) -> PortResult<()> {
        self.client
            .stop_task()
            .cluster(cluster)
            .task(task_arn)
            .reason(reason)
            .send()
            .await
            .map(|_| ())
            .map_err(|error| {
                port_error(
                    "StopTask",
                    &format!("task {task_arn} in cluster {cluster}"),
                    error,
                )
            })
    }
}
