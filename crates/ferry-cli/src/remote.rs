//! The control API in AWS: `POST {FERRY_CONTROL_URL}/api/deployments/{id}/actions`, a Lambda
//! function URL with auth type `AWS_IAM`. The request is signed (SigV4, service `lambda`) with
//! the credentials the AWS SDK finds, so AWS tells the function who is asking: the CLI never
//! says it. The caller needs the operators policy (`operators_policy_arn`): `lambda:InvokeFunctionUrl`
//! and, through the URL, `lambda:InvokeFunction` on the control function; nothing more.

use std::time::SystemTime;

use anyhow::Context;
use aws_credential_types::provider::ProvideCredentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use bytes::Bytes;
use ferry_core::Deployment;
use ferry_handlers::HandlerError;
use ferry_handlers::control::{Action, ActionError, Outcome, Refusal};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// The environment variable holding the control URL (the `control_url` Terraform output).
pub const CONTROL_URL: &str = "FERRY_CONTROL_URL";

/// Takes `action` through the control function, as the caller's IAM principal.
pub async fn act(
    deployment: &str,
    action: &Action,
) -> anyhow::Result<Result<Outcome, ActionError>> {
    let base = control_url()?;
    let body = serde_json::to_vec(action)?;
    let url = format!(
        "{}/api/deployments/{}/actions",
        base.trim_end_matches('/'),
        encode(deployment)
    );
    let (status, bytes) = send("POST", &url, &body).await?;
    Ok(answer(status, &bytes))
}

/// The deployments the control API lists: in flight, or the latest of `service`
/// (`CLUSTER/SERVICE`).
pub async fn deployments(service: Option<&str>, limit: usize) -> anyhow::Result<Vec<Deployment>> {
    let base = control_url()?;
    let mut url = format!(
        "{}/api/deployments?limit={limit}",
        base.trim_end_matches('/')
    );
    if let Some(service) = service {
        url.push_str(&format!("&service={}", encode(service)));
    }
    let (status, bytes) = send("GET", &url, &[]).await?;
    if status != 200 {
        let failure = answer(status, &bytes).err().map(|error| error.to_string());
        anyhow::bail!(
            "{}",
            failure.unwrap_or_else(|| format!("the control URL answered {status}"))
        );
    }
    serde_json::from_slice(&bytes).context("the control URL's list of deployments")
}

/// The desired states the control API lists: of `service`, or every one whose push waits.
pub async fn desired(
    service: Option<&str>,
) -> anyhow::Result<Vec<ferry_core::convergence::Desired>> {
    let base = control_url()?;
    let mut url = format!("{}/api/desired", base.trim_end_matches('/'));
    if let Some(service) = service {
        url.push_str(&format!("?service={}", encode(service)));
    }
    let (status, bytes) = send("GET", &url, &[]).await?;
    if status != 200 {
        let failure = answer(status, &bytes).err().map(|error| error.to_string());
        anyhow::bail!(
            "{}",
            failure.unwrap_or_else(|| format!("the control URL answered {status}"))
        );
    }
    serde_json::from_slice(&bytes).context("the control URL's desired states")
}

/// One deployment's record, through the control API; `None` when it does not exist.
pub async fn deployment(id: &str) -> anyhow::Result<Option<Deployment>> {
    let base = control_url()?;
    let url = format!(
        "{}/api/deployments/{}",
        base.trim_end_matches('/'),
        encode(id)
    );
    let (status, bytes) = send("GET", &url, &[]).await?;
    match status {
        200 => Ok(Some(
            serde_json::from_slice(&bytes).context("the control URL's deployment record")?,
        )),
        404 => Ok(None),
        _ => {
            let failure = answer(status, &bytes).err().map(|error| error.to_string());
            anyhow::bail!(
                "{}",
                failure.unwrap_or_else(|| format!("the control URL answered {status}"))
            )
        }
    }
}

/// Whether the control URL is configured (AWS mode goes through it when it is).
pub fn configured() -> bool {
    std::env::var(CONTROL_URL).is_ok_and(|url| !url.trim().is_empty())
}

fn control_url() -> anyhow::Result<String> {
    std::env::var(CONTROL_URL)
        .ok()
        .filter(|url| !url.trim().is_empty())
        .ok_or_else(|| {
            crate::ConfigError(format!(
                "{CONTROL_URL} is not set: set it to the control_url output of Ferry's Terraform module (`export {CONTROL_URL}=$(terraform output -raw control_url)`, docs/install.md), or use --local"
            ))
            .into()
        })
}

/// Sends one signed request; the status and the body of the answer.
async fn send(method: &str, url: &str, body: &[u8]) -> anyhow::Result<(u16, Bytes)> {
    let config = ferry_aws::load_sdk_config().await;
    let credentials = config
        .credentials_provider()
        .context("no AWS credentials provider: configure AWS credentials to reach Ferry")?
        .provide_credentials()
        .await
        .context("loading AWS credentials")?;
    let region = config
        .region()
        .map(|region| region.to_string())
        .or_else(|| region_of(url))
        .context("no AWS region: set AWS_REGION")?;
    let request = signed_request(
        method,
        url,
        body,
        credentials.into(),
        &region,
        SystemTime::now(),
    )?;
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()
        .context("reading the system's root certificates")?
        .https_or_http()
        .enable_http1()
        .build();
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build(connector);
    let response = client
        .request(request)
        .await
        .with_context(|| format!("calling the control URL {url}"))?;
    let status = response.status().as_u16();
    let bytes = response
        .into_body()
        .collect()
        .await
        .context("reading the control URL's answer")?
        .to_bytes();
    Ok((status, bytes))
}

/// Reads the control API's answer: an outcome, a typed refusal, or a failure with its message.
pub fn answer(status: u16, body: &[u8]) -> Result<Outcome, ActionError> {
    let text = String::from_utf8_lossy(body);
    if (200..300).contains(&status) {
        return serde_json::from_slice(body).map_err(|error| {
            HandlerError::non_retryable(format!("the control URL answered {text}: {error}")).into()
        });
    }
    if let Ok(refusal) = serde_json::from_slice::<Refusal>(body) {
        return Err(refusal.into());
    }
    let message = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|value| {
            value
                .get("message")
                .and_then(|m| m.as_str())
                .map(str::to_string)
        })
        .unwrap_or_else(|| text.trim().to_string());
    let hint = match status {
        // AWS's own answer to an unsigned or unauthorised request, before Ferry sees it.
        403 => {
            " (your IAM principal needs Ferry's operators policy: lambda:InvokeFunctionUrl and lambda:InvokeFunction on the control function, see docs/iam.md)"
        }
        _ => "",
    };
    let error = if status == 429 || status >= 500 {
        HandlerError::retryable(format!(
            "the control URL answered {status}: {message}{hint}"
        ))
    } else {
        HandlerError::non_retryable(format!(
            "the control URL answered {status}: {message}{hint}"
        ))
    };
    Err(error.into())
}

/// Percent-encodes a path segment or query value.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (byte as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// The region in a function URL's host name.
fn region_of(url: &str) -> Option<String> {
    let host = url.split("://").nth(1)?.split('/').next()?;
    let mut labels = host.split('.');
    labels.find(|label| *label == "lambda-url")?;
    labels.next().map(str::to_string)
}

/// `method` of `body` to `url`, signed for service `lambda` in `region`.
pub fn signed_request(
    method: &str,
    url: &str,
    body: &[u8],
    identity: Identity,
    region: &str,
    at: SystemTime,
) -> anyhow::Result<http::Request<Full<Bytes>>> {
    let uri: http::Uri = url.parse().with_context(|| format!("{url} is not a URL"))?;
    let host = uri
        .authority()
        .with_context(|| format!("{url} has no host"))?
        .to_string();
    let mut request = http::Request::builder()
        .method(method)
        .uri(&uri)
        .header("host", &host)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::copy_from_slice(body)))?;
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("lambda")
        .time(at)
        .settings(SigningSettings::default())
        .build()
        .context("signing parameters")?
        .into();
    let headers: Vec<(String, String)> = request
        .headers()
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_string(),
                value.to_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let signable = SignableRequest::new(
        method,
        url,
        headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str())),
        SignableBody::Bytes(body),
    )
    .context("preparing the request for signing")?;
    let (instructions, _signature) = sign(signable, &params)
        .context("signing the request")?
        .into_parts();
    instructions.apply_to_request_http1x(&mut request);
    Ok(request)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_credential_types::Credentials;

    #[test]
    fn the_request_is_signed_for_lambda_with_the_callers_keys() {
        let credentials = Credentials::new(
            "AKIDEXAMPLE",
            "secret",
            Some("session".into()),
            None,
            "test",
        );
        let request = signed_request(
            "POST",
            "https://abc.lambda-url.eu-west-1.on.aws/api/deployments/web-1/actions",
            br#"{"action":"approve"}"#,
            credentials.into(),
            "eu-west-1",
            SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_764_000_000),
        )
        .unwrap();
        let authorization = request.headers()["authorization"].to_str().unwrap();
        assert!(
            authorization.starts_with(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20251124/eu-west-1/lambda/aws4_request"
            ),
            "{authorization}"
        );
        assert!(
            authorization
                .contains("SignedHeaders=content-type;host;x-amz-date;x-amz-security-token"),
            "{authorization}"
        );
        assert_eq!(request.headers()["x-amz-security-token"], "session");
    }

    #[test]
    fn the_url_names_the_deployment_and_the_region() {
        assert_eq!(encode("shop/web 1"), "shop%2Fweb%201");
        assert_eq!(
            region_of("https://abc.lambda-url.eu-west-1.on.aws/api").as_deref(),
            Some("eu-west-1")
        );
    }

    #[test]
    fn refusals_come_back_typed_and_failures_say_what_to_do() {
        let body = serde_json::json!({"refusal": "notApprover", "actor": "arn:aws:iam::123456789012:user/bob", "service": "shop/web", "approvers": ["U1AB"], "message": "..."});
        let refused = answer(403, body.to_string().as_bytes()).unwrap_err();
        assert!(
            matches!(refused, ActionError::Refused(Refusal::NotApprover { .. })),
            "{refused}"
        );
        let denied = answer(403, br#"{"Message":"Forbidden"}"#).unwrap_err();
        assert!(
            denied.to_string().contains("lambda:InvokeFunctionUrl"),
            "{denied}"
        );
    }
}
