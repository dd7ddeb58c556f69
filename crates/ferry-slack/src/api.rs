//! Slack's Web API, as much of it as Ferry uses: `chat.postMessage`, `chat.update`,
//! `chat.postEphemeral`, and replies to an interaction's `response_url`.
//!
//! Slack answers most errors with HTTP 200 and `{"ok": false, "error": ...}`, and rate limits
//! with 429 and `Retry-After`. Calls are bounded: at most [`ATTEMPTS`] tries, a `Retry-After`
//! longer than [`MAX_RETRY_AFTER`] is not waited for, and each request times out after
//! [`TIMEOUT`]. Slack being slow or down must never hold up a deployment.

use std::time::Duration;

use bytes::Bytes;
use ferry_core::ports::{PortError, PortResult};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

use crate::blocks::Message;

pub const ATTEMPTS: u32 = 3;
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(2);
pub const TIMEOUT: Duration = Duration::from_secs(3);
/// Where the Web API is, unless `FERRY_SLACK_API_URL` says otherwise (tests).
pub const DEFAULT_API_URL: &str = "https://slack.com/api";

type Https = hyper_rustls::HttpsConnector<HttpConnector>;

/// A bot token and where to send it.
#[derive(Clone)]
pub struct SlackApi {
    base: String,
    token: String,
    client: Client<Https, Full<Bytes>>,
}

impl std::fmt::Debug for SlackApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The token is a credential.
        f.debug_struct("SlackApi")
            .field("base", &self.base)
            .finish()
    }
}

impl SlackApi {
    /// `base` is the Web API's address (`https://slack.com/api`), `token` a bot token (`xoxb-`).
    pub fn new(base: &str, token: &str) -> PortResult<SlackApi> {
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|error| PortError::Invalid(format!("no root certificates: {error}")))?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(SlackApi {
            base: base.trim_end_matches('/').to_string(),
            token: token.to_string(),
            client: Client::builder(TokioExecutor::new()).build(connector),
        })
    }

    /// Posts `message` in `channel` (in the thread of `thread_ts`, when given); its `ts`.
    pub async fn post_message(
        &self,
        channel: &str,
        thread_ts: Option<&str>,
        message: &Message,
    ) -> PortResult<String> {
        let mut body = json!({"channel": channel, "text": message.text, "blocks": message.blocks});
        if let Some(ts) = thread_ts {
            body["thread_ts"] = json!(ts);
        }
        let answer = self.call("chat.postMessage", &body).await?;
        answer["ts"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| PortError::Transient("chat.postMessage answered without a ts".into()))
    }

    /// Replaces the message `ts` of `channel` with `message`.
    pub async fn update(&self, channel: &str, ts: &str, message: &Message) -> PortResult<()> {
        let body =
            json!({"channel": channel, "ts": ts, "text": message.text, "blocks": message.blocks});
        self.call("chat.update", &body).await.map(drop)
    }

    /// A message only `user` sees, in `channel`.
    pub async fn post_ephemeral(&self, channel: &str, user: &str, text: &str) -> PortResult<()> {
        let body = json!({"channel": channel, "user": user, "text": text});
        self.call("chat.postEphemeral", &body).await.map(drop)
    }

    /// An ephemeral reply to the clicking user through the interaction's `response_url`.
    pub async fn respond_ephemeral(&self, response_url: &str, text: &str) -> PortResult<()> {
        let body = json!({"response_type": "ephemeral", "replace_original": false, "text": text});
        self.send(response_url, &body, false).await.map(drop)
    }

    async fn call(&self, method: &str, body: &Value) -> PortResult<Value> {
        let url = format!("{}/{method}", self.base);
        let answer = self.send(&url, body, true).await?;
        if answer["ok"].as_bool() == Some(true) {
            return Ok(answer);
        }
        let error = answer["error"].as_str().unwrap_or("no error given");
        Err(match error {
            "invalid_auth" | "not_authed" | "account_inactive" | "token_revoked"
            | "missing_scope" | "not_in_channel" | "channel_not_found" => {
                PortError::AccessDenied(format!("{method}: {error}"))
            }
            "ratelimited" | "internal_error" | "fatal_error" | "service_unavailable" => {
                PortError::Transient(format!("{method}: {error}"))
            }
            _ => PortError::Invalid(format!("{method}: {error}")),
        })
    }

    /// POSTs `body` as JSON, retrying 429 (after `Retry-After`, if short) and 5xx, bounded.
    async fn send(&self, url: &str, body: &Value, authorized: bool) -> PortResult<Value> {
        let payload = Bytes::from(body.to_string());
        let mut last = PortError::Transient(format!("{url}: no attempt made"));
        for attempt in 1..=ATTEMPTS {
            let mut request = http::Request::post(url).header(
                http::header::CONTENT_TYPE,
                "application/json; charset=utf-8",
            );
            if authorized {
                request = request.header(
                    http::header::AUTHORIZATION,
                    format!("Bearer {}", self.token),
                );
            }
            let request = request
                .body(Full::new(payload.clone()))
                .map_err(|error| PortError::Invalid(format!("{url}: {error}")))?;
            let sent = tokio::time::timeout(TIMEOUT, self.client.request(request)).await;
            let response = match sent {
                Ok(Ok(response)) => response,
                Ok(Err(error)) => {
                    last = PortError::Transient(format!("{url}: {error}"));
                    continue;
                }
                Err(_) => {
                    last = PortError::Transient(format!("{url}: no answer in {TIMEOUT:?}"));
                    continue;
                }
            };
            let status = response.status();
            let retry_after = response
                .headers()
                .get(http::header::RETRY_AFTER)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let bytes = match tokio::time::timeout(TIMEOUT, response.into_body().collect()).await {
                Ok(Ok(collected)) => collected.to_bytes(),
                _ => {
                    last = PortError::Transient(format!("{url}: the answer did not arrive"));
                    continue;
                }
            };
            if status == http::StatusCode::TOO_MANY_REQUESTS {
                last = PortError::Transient(format!("{url}: rate limited"));
                match retry_after {
                    Some(wait) if wait <= MAX_RETRY_AFTER && attempt < ATTEMPTS => {
                        tokio::time::sleep(wait).await;
                        continue;
                    }
                    // Waiting longer would hold up a deployment: give up on this message.
                    _ => return Err(last),
                }
            }
            if status.is_server_error() {
                last = PortError::Transient(format!("{url}: {status}"));
                continue;
            }
            if !status.is_success() {
                return Err(PortError::Invalid(format!(
                    "{url}: {status}: {}",
                    String::from_utf8_lossy(&bytes)
                )));
            }
            // response_url answers plain `ok`; the Web API answers JSON.
            return Ok(serde_json::from_slice(&bytes).unwrap_or(json!({"ok": true})));
        }
        Err(last)
    }
}
