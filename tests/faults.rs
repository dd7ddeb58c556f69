//! A fault layer at the AWS boundary, for the SDK clients the tests build: an HTTP client that
//! wraps the real one (talking to moto) and, at a seeded rate, answers a request with
//!
//! - **throttling** in the protocol's own wire format (`x-amzn-errortype` + JSON `__type` for
//!   the JSON protocols of ECS, DynamoDB, Step Functions, EventBridge; an XML `ErrorResponse`
//!   with `Throttling` for the Query protocol of ELBv2 and CloudWatch),
//! - **500 / 503** without forwarding,
//! - **ambiguous success**: the request is forwarded and applied, and its answer replaced by
//!   a 500 (a lost response),
//! - **latency** before forwarding.
//!
//! The same layer records which AWS action each Ferry function performs (the function comes
//! from [`ferry_handlers::current_function`]), for the IAM check (`scripts/check_iam_calls.py`):
//! set `FERRY_AWS_CALLS_DIR`.

use std::collections::HashSet;
use std::io::Write;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;

/// What can go wrong with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    Throttle,
    ServerError,
    Unavailable,
    /// Applied, answer lost.
    Ambiguous,
    Latency,
}

pub const FAULTS: [Fault; 5] = [
    Fault::Throttle,
    Fault::ServerError,
    Fault::Unavailable,
    Fault::Ambiguous,
    Fault::Latency,
];

/// The knobs and counters of one fault layer, shared by every client built on it.
#[derive(Debug, Default)]
pub struct FaultPlan {
    /// Faults per thousand requests (0: none).
    per_mille: AtomicU64,
    state: AtomicU64,
    injected: Mutex<std::collections::BTreeMap<String, usize>>,
    pub requests: AtomicUsize,
    /// Only requests whose operation is one of these get faults (empty: all).
    only: Mutex<Vec<String>>,
    /// Every fault is this one (none: drawn among all kinds).
    forced: Mutex<Option<Fault>>,
}

impl FaultPlan {
    pub fn new(seed: u64) -> Arc<FaultPlan> {
        Arc::new(FaultPlan {
            state: AtomicU64::new(seed ^ 0x9e37_79b9_7f4a_7c15),
            ..FaultPlan::default()
        })
    }

    /// Start injecting `percent` % faults.
    pub fn set_rate(&self, percent: u64) {
        self.per_mille.store(percent * 10, Ordering::SeqCst);
    }

    /// Restrict faults to these operations (`CreateTaskSet`, ...).
    pub fn only(&self, operations: &[&str]) {
        *self.only.lock().unwrap() = operations.iter().map(|op| op.to_string()).collect();
    }

    /// Inject only `fault`.
    pub fn force(&self, fault: Fault) {
        *self.forced.lock().unwrap() = Some(fault);
    }

    /// Faults injected so far, by kind.
    pub fn injected(&self) -> std::collections::BTreeMap<String, usize> {
        self.injected.lock().unwrap().clone()
    }

    /// splitmix64: reproducible from the seed, whatever the interleaving of threads.
    fn next(&self) -> u64 {
        let mut z = self
            .state
            .fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::SeqCst)
            .wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn draw(&self, operation: &str) -> Option<Fault> {
        let rate = self.per_mille.load(Ordering::SeqCst);
        if rate == 0 {
            return None;
        }
        let only = self.only.lock().unwrap();
        if !only.is_empty() && !only.iter().any(|op| op == operation) {
            return None;
        }
        drop(only);
        let roll = self.next();
        if roll % 1000 >= rate {
            return None;
        }
        let fault = self
            .forced
            .lock()
            .unwrap()
            .unwrap_or(FAULTS[((roll / 1000) % FAULTS.len() as u64) as usize]);
        *self
            .injected
            .lock()
            .unwrap()
            .entry(format!("{fault:?}"))
            .or_default() += 1;
        Some(fault)
    }
}

/// The SDK HTTP client with faults (see the module docs).
#[derive(Debug, Clone)]
pub struct FaultyClient {
    pub inner: SharedHttpClient,
    pub plan: Arc<FaultPlan>,
}

impl HttpClient for FaultyClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(FaultyConnector {
            inner: self.inner.http_connector(settings, components),
            plan: self.plan.clone(),
        })
    }
}

#[derive(Debug)]
struct FaultyConnector {
    inner: SharedHttpConnector,
    plan: Arc<FaultPlan>,
}

/// The AWS service (SigV4 signing name) and operation of a request.
fn operation_of(request: &HttpRequest) -> (String, String) {
    let service = request
        .headers()
        .get("authorization")
        .and_then(|auth| auth.split("Credential=").nth(1))
        .and_then(|credential| credential.split('/').nth(3))
        .unwrap_or("unknown")
        .to_string();
    let operation = if let Some(target) = request.headers().get("x-amz-target") {
        target.rsplit('.').next().unwrap_or(target).to_string()
    } else {
        let body = request.body().bytes().unwrap_or_default();
        form_urlencoded::parse(body)
            .find(|(key, _)| key == "Action")
            .map(|(_, value)| value.into_owned())
            .unwrap_or_else(|| "unknown".into())
    };
    (service, operation)
}

fn is_query_protocol(request: &HttpRequest) -> bool {
    request.headers().get("x-amz-target").is_none()
}

fn error_response(request: &HttpRequest, status: u16, code: &str) -> HttpResponse {
    let (body, content_type) = if is_query_protocol(request) {
        (
            format!(
                "<ErrorResponse xmlns=\"http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/\"><Error><Type>{}</Type><Code>{code}</Code><Message>injected by the test fault layer</Message></Error><RequestId>fault</RequestId></ErrorResponse>",
                if status < 500 { "Sender" } else { "Receiver" }
            ),
            "text/xml",
        )
    } else {
        (
            format!("{{\"__type\":\"{code}\",\"message\":\"injected by the test fault layer\"}}"),
            "application/x-amz-json-1.1",
        )
    };
    let mut response = HttpResponse::new(
        StatusCode::try_from(status).expect("valid status"),
        SdkBody::from(body),
    );
    response.headers_mut().insert("content-type", content_type);
    if !is_query_protocol(request) {
        response
            .headers_mut()
            .insert("x-amzn-errortype", code.to_string());
    }
    response
}

impl HttpConnector for FaultyConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let (service, operation) = operation_of(&request);
        record_call(&service, &operation);
        self.plan.requests.fetch_add(1, Ordering::Relaxed);
        let fault = self.plan.draw(&operation);
        let inner = self.inner.clone();
        HttpConnectorFuture::new(async move {
            match fault {
                None => inner.call(request).await,
                Some(Fault::Throttle) => {
                    let code = if is_query_protocol(&request) {
                        "Throttling"
                    } else {
                        "ThrottlingException"
                    };
                    Ok(error_response(&request, 400, code))
                }
                Some(Fault::ServerError) => Ok(error_response(&request, 500, "InternalFailure")),
                Some(Fault::Unavailable) => Ok(error_response(&request, 503, "ServiceUnavailable")),
                Some(Fault::Ambiguous) => {
                    let answer = error_response(&request, 500, "InternalFailure");
                    // Applied; the answer is lost on the way back.
                    let _ = inner.call(request).await;
                    Ok(answer)
                }
                Some(Fault::Latency) => {
                    tokio::time::sleep(Duration::from_millis(30)).await;
                    inner.call(request).await
                }
            }
        })
    }
}

static RECORDED: Mutex<Option<HashSet<(String, String, String)>>> = Mutex::new(None);

/// Appends `{"function", "service", "operation"}` to `$FERRY_AWS_CALLS_DIR/integration.jsonl`
/// the first time a Ferry function performs an operation.
fn record_call(service: &str, operation: &str) {
    static DIR: std::sync::OnceLock<Option<std::path::PathBuf>> = std::sync::OnceLock::new();
    let Some(dir) = DIR.get_or_init(|| std::env::var_os("FERRY_AWS_CALLS_DIR").map(Into::into))
    else {
        return;
    };
    let Some(function) = ferry_handlers::current_function() else {
        return;
    };
    let key = (
        function.to_string(),
        service.to_string(),
        operation.to_string(),
    );
    let mut recorded = RECORDED.lock().unwrap_or_else(|p| p.into_inner());
    if !recorded.get_or_insert_with(HashSet::new).insert(key) {
        return;
    }
    let _ = std::fs::create_dir_all(dir);
    let path = dir.join(format!("integration-{}.jsonl", std::process::id()));
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let line =
            serde_json::json!({"function": function, "service": service, "operation": operation});
        let _ = writeln!(file, "{line}");
    }
}
