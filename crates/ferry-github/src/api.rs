//! The REST transport: one authenticated request at a time through octocrab's HTTP stack, and the
//! one place where GitHub's answers become [`PortError`]s.
//!
//! Octocrab's typed API turns an error response into an error without its headers, and the
//! headers are what rate limiting is about, so requests go through [`Octocrab::execute`] and
//! every status is read here:
//!
//! | answer | port error |
//! | --- | --- |
//! | 403 or 429 with `retry-after` | `Transient`: "retry after N seconds" (secondary rate limit) |
//! | 403 or 429 with `x-ratelimit-remaining: 0` | `Transient`: "retry after <x-ratelimit-reset as a time> (in N seconds)" |
//! | 429 otherwise, 5xx, no answer | `Transient` |
//! | 401 | `AccessDenied` (the token or app key is wrong or expired) |
//! | 403 otherwise | `AccessDenied` (the token or app cannot see the repository) |
//! | 404 | `NotFound` (callers turn a missing file into `None`) |
//! | 409 | `Conflict` |
//! | other 4xx | `Invalid` |

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use ferry_core::ports::{PortError, PortResult};
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, USER_AGENT};
use http::{Method, Request, StatusCode};
use octocrab::Octocrab;
use serde::Deserialize;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tracing::{debug, info};

use crate::auth::{AppAuth, CachedToken, Credentials};
use crate::error::GithubError;

/// GitHub.com's API. GitHub Enterprise Server's is `https://HOST/api/v3`.
pub const DEFAULT_API_URL: &str = "https://api.github.com";
/// JSON answers.
pub(crate) const JSON: &str = "application/vnd.github+json";
/// A file's bytes instead of its JSON description (files over 1 MB).
pub(crate) const RAW: &str = "application/vnd.github.raw+json";
const API_VERSION: &str = "2022-11-28";

/// An answer, whatever its status.
#[derive(Debug)]
pub(crate) struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn json<T: for<'de> Deserialize<'de>>(&self, subject: &str) -> PortResult<T> {
        serde_json::from_str(&self.body).map_err(|error| {
            PortError::Transient(format!(
                "{subject}: GitHub answered HTTP {} with a body Ferry cannot read: {error}",
                self.status.as_u16()
            ))
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }
}

/// A client of one GitHub (github.com or an Enterprise Server), shared by the adapters.
#[derive(Clone)]
pub struct GitHub {
    inner: Arc<Inner>,
}

struct Inner {
    /// Built at the first request: octocrab loads the system's TLS roots when its client is
    /// built (about 7 ms), which would otherwise sit in every cold start of the functions
    /// that read Git, before their first poll.
    client: OnceLock<Octocrab>,
    base: String,
    auth: Auth,
}

enum Auth {
    Token(String),
    App(Box<AppAuth>),
}

impl GitHub {
    /// A client of the API at `api_url` (no trailing slash needed), acting with `credentials`.
    pub fn new(api_url: &str, credentials: Credentials) -> Result<GitHub, GithubError> {
        let base = api_url.trim().trim_end_matches('/').to_string();
        let parsed: http::Uri =
            base.parse()
                .map_err(|error: http::uri::InvalidUri| GithubError::ApiUrl {
                    url: base.clone(),
                    reason: error.to_string(),
                })?;
        if !matches!(parsed.scheme_str(), Some("https" | "http")) || parsed.host().is_none() {
            return Err(GithubError::ApiUrl {
                url: base,
                reason: "expected an http(s) URL with a host".into(),
            });
        }
        let auth = match credentials {
            Credentials::Token(token) => Auth::Token(token),
            Credentials::App {
                app_id,
                private_key,
                installation_id,
            } => Auth::App(Box::new(AppAuth::new(
                app_id,
                &private_key,
                installation_id,
            )?)),
        };
        Ok(GitHub {
            inner: Arc::new(Inner {
                client: OnceLock::new(),
                base,
                auth,
            }),
        })
    }

    /// The HTTP client, built at the first request.
    fn client(&self) -> Result<&Octocrab, GithubError> {
        if let Some(client) = self.inner.client.get() {
            return Ok(client);
        }
        let client = Octocrab::builder()
            .set_connect_timeout(Some(Duration::from_secs(5)))
            .set_read_timeout(Some(Duration::from_secs(20)))
            .set_write_timeout(Some(Duration::from_secs(20)))
            .build()
            .map_err(|error| GithubError::Client(error.to_string()))?;
        // Two first requests at once may both build one; either is kept.
        Ok(self.inner.client.get_or_init(|| client))
    }

    /// The files of repositories, and where their branches point.
    pub fn source(&self) -> crate::GithubSource {
        crate::GithubSource::new(self.clone())
    }

    /// Comments and statuses on pull requests.
    pub fn pull_requests(&self) -> crate::GithubPullRequests {
        crate::GithubPullRequests::new(self.clone())
    }

    /// Sends an authenticated request for `repository` (`owner/name`) and returns the answer,
    /// whatever its status. With app credentials a 401 drops the cached installation token and
    /// tries once more with a new one.
    pub(crate) async fn send(
        &self,
        method: Method,
        repository: &str,
        path_and_query: &str,
        accept: &str,
        extra: Option<(&http::HeaderName, &str)>,
        body: Option<&Value>,
    ) -> PortResult<Reply> {
        let subject = format!("{method} {path_and_query}");
        let (token, installation) = self.token_for(repository).await?;
        let reply = self
            .raw(&method, path_and_query, accept, &token, extra, body)
            .await
            .map_err(|error| PortError::Transient(format!("{subject}: {error}")))?;
        if reply.status == StatusCode::UNAUTHORIZED
            && let (Auth::App(app), Some(installation)) = (&self.inner.auth, installation)
        {
            app.forget(installation).await;
            let (token, _) = self.token_for(repository).await?;
            return self
                .raw(&method, path_and_query, accept, &token, extra, body)
                .await
                .map_err(|error| PortError::Transient(format!("{subject}: {error}")));
        }
        Ok(reply)
    }

    async fn raw(
        &self,
        method: &Method,
        path_and_query: &str,
        accept: &str,
        token: &str,
        extra: Option<(&http::HeaderName, &str)>,
        body: Option<&Value>,
    ) -> Result<Reply, String> {
        let uri = format!("{}{}", self.inner.base, path_and_query);
        let mut request = Request::builder()
            .method(method.clone())
            .uri(&uri)
            .header(ACCEPT, accept)
            .header(USER_AGENT, concat!("ferry/", env!("CARGO_PKG_VERSION")))
            .header("x-github-api-version", API_VERSION)
            .header(AUTHORIZATION, format!("Bearer {token}"));
        if let Some((name, value)) = extra {
            request = request.header(name, value);
        }
        let text = match body {
            Some(body) => {
                request = request.header(CONTENT_TYPE, "application/json");
                body.to_string()
            }
            None => String::new(),
        };
        let request = request
            .body(text)
            .map_err(|error| format!("cannot build the request to {uri}: {error}"))?;
        let client = self.client().map_err(|error| error.to_string())?;
        let response = client
            .execute(request)
            .await
            .map_err(|error| format!("cannot reach GitHub at {uri}: {error}"))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = client
            .body_to_string(response)
            .await
            .map_err(|error| format!("cannot read GitHub's answer from {uri}: {error}"))?;
        debug!(%method, uri, status = status.as_u16(), "github");
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    /// The bearer token for `repository`, and the installation it belongs to (for an app).
    async fn token_for(&self, repository: &str) -> PortResult<(String, Option<u64>)> {
        let app = match &self.inner.auth {
            Auth::Token(token) => return Ok((token.clone(), None)),
            Auth::App(app) => app,
        };
        let installation = self.installation_for(app, repository).await?;
        let now = OffsetDateTime::now_utc();
        if let Some(token) = app.cached(installation, now).await {
            return Ok((token, Some(installation)));
        }
        let jwt = app.jwt().map_err(PortError::Invalid)?;
        let path = format!("/app/installations/{installation}/access_tokens");
        let reply = self
            .raw(&Method::POST, &path, JSON, &jwt, None, None)
            .await
            .map_err(PortError::Transient)?;
        let subject = format!("an installation token of GitHub App {}", app.app_id);
        if reply.status != StatusCode::CREATED && reply.status != StatusCode::OK {
            return Err(failure(&reply, &subject));
        }
        #[derive(Deserialize)]
        struct Issued {
            token: String,
            expires_at: String,
        }
        let issued: Issued = reply.json(&subject)?;
        let expires_at = OffsetDateTime::parse(&issued.expires_at, &Rfc3339)
            .unwrap_or(now + time::Duration::minutes(10));
        info!(installation, %expires_at, "new GitHub App installation token");
        app.remember(
            installation,
            CachedToken {
                token: issued.token.clone(),
                expires_at,
            },
        )
        .await;
        Ok((issued.token, Some(installation)))
    }

    async fn installation_for(&self, app: &AppAuth, repository: &str) -> PortResult<u64> {
        if let Some(id) = app.installation_id {
            return Ok(id);
        }
        let owner = repository
            .split('/')
            .next()
            .unwrap_or(repository)
            .to_ascii_lowercase();
        let mut installations = app.installations.lock().await;
        if let Some(id) = installations.get(&owner) {
            return Ok(*id);
        }
        let jwt = app.jwt().map_err(PortError::Invalid)?;
        let path = format!("/repos/{}/installation", checked_repository(repository)?);
        let reply = self
            .raw(&Method::GET, &path, JSON, &jwt, None, None)
            .await
            .map_err(PortError::Transient)?;
        let subject = format!(
            "the installation of GitHub App {} for {repository}",
            app.app_id
        );
        if reply.status == StatusCode::NOT_FOUND {
            return Err(PortError::AccessDenied(format!(
                "GitHub App {} is not installed on {repository}: install it on the repository or its owner",
                app.app_id
            )));
        }
        if !reply.status.is_success() {
            return Err(failure(&reply, &subject));
        }
        #[derive(Deserialize)]
        struct Installation {
            id: u64,
        }
        let found: Installation = reply.json(&subject)?;
        installations.insert(owner, found.id);
        Ok(found.id)
    }
}

/// The port error for an answer that is not a success. `subject` says what was asked.
pub(crate) fn failure(reply: &Reply, subject: &str) -> PortError {
    let status = reply.status.as_u16();
    let message = github_message(&reply.body);
    let said = if message.is_empty() {
        format!("HTTP {status}")
    } else {
        format!("HTTP {status}: {message}")
    };
    match status {
        403 | 429 => {
            if let Some(wait) = reply
                .header("retry-after")
                .and_then(|value| value.trim().parse::<u64>().ok())
            {
                return PortError::Transient(format!(
                    "{subject}: GitHub rate limit ({said}); retry after {wait} seconds"
                ));
            }
            if reply.header("x-ratelimit-remaining").map(str::trim) == Some("0") {
                let reset = reply
                    .header("x-ratelimit-reset")
                    .and_then(|value| value.trim().parse::<i64>().ok())
                    .and_then(|epoch| OffsetDateTime::from_unix_timestamp(epoch).ok());
                return PortError::Transient(match reset {
                    Some(reset) => {
                        let seconds = (reset - OffsetDateTime::now_utc()).whole_seconds().max(0);
                        format!(
                            "{subject}: GitHub rate limit exhausted ({said}); retry after {} (in {seconds} seconds)",
                            reset.format(&Rfc3339).unwrap_or_else(|_| reset.to_string())
                        )
                    }
                    None => format!(
                        "{subject}: GitHub rate limit exhausted ({said}); retry after the hour's limit resets"
                    ),
                });
            }
            if status == 429 || message.to_ascii_lowercase().contains("rate limit") {
                return PortError::Transient(format!(
                    "{subject}: GitHub rate limit ({said}); retry after 60 seconds"
                ));
            }
            PortError::AccessDenied(format!(
                "{subject}: GitHub forbids it ({said}); give the token or app access to the repository"
            ))
        }
        401 => PortError::AccessDenied(format!(
            "{subject}: GitHub refused the credentials ({said}); check the token or the app's private key"
        )),
        404 => PortError::NotFound(format!("{subject} ({said})")),
        409 => PortError::Conflict(format!("{subject}: {said}")),
        500..=599 => PortError::Transient(format!("{subject}: GitHub failed ({said})")),
        _ => PortError::Invalid(format!("{subject}: {said}")),
    }
}

/// GitHub's error JSON is `{"message": "...", "documentation_url": "..."}`.
fn github_message(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|json| {
            json.get("message")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_else(|| body.trim().chars().take(200).collect())
}

/// `owner/name` with the characters GitHub allows; anything else could escape the URL path.
pub(crate) fn checked_repository(repository: &str) -> PortResult<&str> {
    let valid_part = |part: &str| {
        !part.is_empty()
            && part != "."
            && part != ".."
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    match repository.split_once('/') {
        Some((owner, name)) if valid_part(owner) && valid_part(name) => Ok(repository),
        _ => Err(PortError::Invalid(format!(
            "`{repository}` is not a GitHub repository (expected owner/name)"
        ))),
    }
}

/// Percent-encodes everything but unreserved characters, and `/` when `keep_slashes`.
pub(crate) fn encode(text: &str, keep_slashes: bool) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        let plain = byte.is_ascii_alphanumeric()
            || matches!(byte, b'-' | b'_' | b'.' | b'~')
            || (keep_slashes && byte == b'/');
        if plain {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// A path inside a repository, without leading `/`, `.` or `..` parts.
pub(crate) fn checked_path(path: &str) -> PortResult<String> {
    let parts: Vec<&str> = path
        .split('/')
        .filter(|part| !part.is_empty() && *part != ".")
        .collect();
    if parts.contains(&"..") {
        return Err(PortError::Invalid(format!(
            "{path} is not a path inside the repository"
        )));
    }
    Ok(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: u16, headers: &[(&'static str, &str)], body: &str) -> Reply {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(*name, value.parse().unwrap());
        }
        Reply {
            status: StatusCode::from_u16(status).unwrap(),
            headers: map,
            body: body.into(),
        }
    }

    #[test]
    fn an_exhausted_rate_limit_is_transient_and_says_when_it_resets() {
        let error = failure(
            &reply(
                403,
                &[
                    ("x-ratelimit-remaining", "0"),
                    ("x-ratelimit-reset", "4102444800"),
                ],
                r#"{"message": "API rate limit exceeded for installation ID 1."}"#,
            ),
            "GET /x",
        );
        assert!(error.is_retryable());
        let text = error.to_string();
        assert!(text.contains("retry after 2100-01-01T00:00:00Z"), "{text}");
        assert!(text.contains("API rate limit exceeded"), "{text}");
    }

    #[test]
    fn retry_after_wins_and_a_plain_403_is_access_denied() {
        let limited = failure(&reply(429, &[("retry-after", "30")], ""), "GET /x");
        assert_eq!(
            limited,
            PortError::Transient(
                "GET /x: GitHub rate limit (HTTP 429); retry after 30 seconds".into()
            )
        );
        let forbidden = failure(
            &reply(
                403,
                &[("x-ratelimit-remaining", "4999")],
                r#"{"message": "Resource not accessible by integration"}"#,
            ),
            "GET /x",
        );
        assert!(
            matches!(forbidden, PortError::AccessDenied(_)),
            "{forbidden}"
        );
        assert!(matches!(
            failure(&reply(401, &[], ""), "GET /x"),
            PortError::AccessDenied(_)
        ));
        assert!(failure(&reply(502, &[], "bad gateway"), "GET /x").is_retryable());
        assert!(matches!(
            failure(&reply(422, &[], ""), "GET /x"),
            PortError::Invalid(_)
        ));
    }

    #[test]
    fn repositories_and_paths_cannot_escape_the_url() {
        assert!(checked_repository("acme/shop.web").is_ok());
        for bad in [
            "acme",
            "acme/../x",
            "acme/shop?x=1",
            "/shop",
            "acme/shop/extra",
        ] {
            assert!(checked_repository(bad).is_err(), "{bad}");
        }
        assert_eq!(
            checked_path("./.ferry//web.yaml").unwrap(),
            ".ferry/web.yaml"
        );
        assert!(checked_path("../secrets").is_err());
        assert_eq!(encode("feature/a b", false), "feature%2Fa%20b");
        assert_eq!(encode("ecs/web app.json", true), "ecs/web%20app.json");
    }
}
