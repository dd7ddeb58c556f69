//! Who Ferry is on GitHub: a token, or a GitHub App installation.
//!
//! The credentials secret (`<prefix>/github/credentials` in Secrets Manager) holds one of
//!
//! ```json
//! {"token": "github_pat_..."}
//! {"appId": 123456, "privateKey": "-----BEGIN RSA PRIVATE KEY-----\n...", "installationId": 789}
//! ```
//!
//! or a bare token. For an app, `installationId` is optional: without it the installation is
//! looked up per repository owner (`GET /repos/{owner}/{repo}/installation`) and remembered.
//! Installation tokens live an hour; each is cached until [`REFRESH_BEFORE_EXPIRY`] before it
//! expires, then a new one is requested with a fresh app JWT.

use std::collections::HashMap;
use std::fmt;

use octocrab::EncodingKey;
use serde::Deserialize;
use time::{Duration, OffsetDateTime};
use tokio::sync::Mutex;

use crate::error::GithubError;

/// An installation token is replaced this long before GitHub says it expires, so no request
/// starts with a token about to die.
pub const REFRESH_BEFORE_EXPIRY: Duration = Duration::minutes(5);

/// GitHub credentials, as read from the secret or the environment.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// A personal access token or any other bearer token.
    Token(String),
    /// A GitHub App: its id and private key (PEM), and optionally the installation to use.
    App {
        app_id: u64,
        private_key: String,
        installation_id: Option<u64>,
    },
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::Token(_) => f.write_str("Token(<redacted>)"),
            Credentials::App {
                app_id,
                installation_id,
                ..
            } => f
                .debug_struct("App")
                .field("app_id", app_id)
                .field("private_key", &"<redacted>")
                .field("installation_id", installation_id)
                .finish(),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SecretJson {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    app_id: Option<IdValue>,
    #[serde(default)]
    private_key: Option<String>,
    #[serde(default)]
    installation_id: Option<IdValue>,
}

/// Ids are numbers, but people paste them as strings too.
#[derive(Deserialize)]
#[serde(untagged)]
enum IdValue {
    Number(u64),
    Text(String),
}

impl IdValue {
    fn get(self, field: &str) -> Result<u64, GithubError> {
        match self {
            IdValue::Number(id) => Ok(id),
            IdValue::Text(text) => text.trim().parse().map_err(|_| {
                GithubError::Credentials(format!("{field} must be a number, found \"{text}\""))
            }),
        }
    }
}

impl Credentials {
    /// Reads the credentials secret's text (see the module documentation for its shapes).
    pub fn from_secret(text: &str) -> Result<Credentials, GithubError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(GithubError::Credentials("the secret is empty".into()));
        }
        if !text.starts_with('{') {
            if text.chars().any(char::is_whitespace) {
                return Err(GithubError::Credentials(
                    "a bare token cannot contain spaces".into(),
                ));
            }
            return Ok(Credentials::Token(text.to_string()));
        }
        let json: SecretJson = serde_json::from_str(text)
            .map_err(|error| GithubError::Credentials(error.to_string()))?;
        match (json.token, json.app_id, json.private_key) {
            (Some(token), None, None) if !token.trim().is_empty() => {
                Ok(Credentials::Token(token.trim().to_string()))
            }
            (None, Some(app_id), Some(private_key)) => Ok(Credentials::App {
                app_id: app_id.get("appId")?,
                private_key,
                installation_id: json
                    .installation_id
                    .map(|id| id.get("installationId"))
                    .transpose()?,
            }),
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => Err(GithubError::Credentials(
                "give either a token or appId and privateKey, not both".into(),
            )),
            (None, Some(_), None) => Err(GithubError::Credentials("appId needs privateKey".into())),
            (None, None, Some(_)) => Err(GithubError::Credentials("privateKey needs appId".into())),
            _ => Err(GithubError::Credentials(
                "expected token, or appId and privateKey".into(),
            )),
        }
    }
}

/// A token and when it stops working.
#[derive(Clone)]
pub(crate) struct CachedToken {
    pub token: String,
    pub expires_at: OffsetDateTime,
}

/// A GitHub App's keys and the installation tokens obtained with them.
pub(crate) struct AppAuth {
    pub app_id: u64,
    pub key: EncodingKey,
    pub installation_id: Option<u64>,
    /// Repository owner (lower case) -> installation id.
    pub installations: Mutex<HashMap<String, u64>>,
    /// Installation id -> token.
    pub tokens: Mutex<HashMap<u64, CachedToken>>,
}

impl AppAuth {
    pub fn new(
        app_id: u64,
        private_key: &str,
        installation_id: Option<u64>,
    ) -> Result<AppAuth, GithubError> {
        // Secrets pasted through a console sometimes carry literal "\n" for newlines.
        let pem = if private_key.contains("\\n") && !private_key.contains('\n') {
            private_key.replace("\\n", "\n")
        } else {
            private_key.to_string()
        };
        let key = EncodingKey::from_rsa_pem(pem.as_bytes())
            .map_err(|error| GithubError::PrivateKey(error.to_string()))?;
        Ok(AppAuth {
            app_id,
            key,
            installation_id,
            installations: Mutex::new(HashMap::new()),
            tokens: Mutex::new(HashMap::new()),
        })
    }

    /// A JWT that authenticates as the app itself (valid ten minutes, as GitHub allows).
    pub fn jwt(&self) -> Result<String, String> {
        octocrab::auth::create_jwt(octocrab::models::AppId(self.app_id), &self.key)
            .map_err(|error| format!("cannot sign the GitHub App JWT: {error}"))
    }

    /// The cached token of `installation` if it stays valid a while longer.
    pub async fn cached(&self, installation: u64, now: OffsetDateTime) -> Option<String> {
        self.tokens
            .lock()
            .await
            .get(&installation)
            .filter(|cached| cached.expires_at - REFRESH_BEFORE_EXPIRY > now)
            .map(|cached| cached.token.clone())
    }

    pub async fn remember(&self, installation: u64, token: CachedToken) {
        self.tokens.lock().await.insert(installation, token);
    }

    pub async fn forget(&self, installation: u64) {
        self.tokens.lock().await.remove(&installation);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_a_bare_token_a_token_object_or_an_app() {
        assert_eq!(
            Credentials::from_secret(" ghp_abc\n").unwrap(),
            Credentials::Token("ghp_abc".into())
        );
        assert_eq!(
            Credentials::from_secret(r#"{"token": "ghp_abc"}"#).unwrap(),
            Credentials::Token("ghp_abc".into())
        );
        assert_eq!(
            Credentials::from_secret(
                r#"{"appId": "12", "privateKey": "PEM", "installationId": 34}"#
            )
            .unwrap(),
            Credentials::App {
                app_id: 12,
                private_key: "PEM".into(),
                installation_id: Some(34)
            }
        );
    }

    #[test]
    fn a_wrong_secret_says_what_shape_is_expected_without_echoing_it() {
        for (secret, expected) in [
            ("", "the secret is empty"),
            (r#"{"appId": 12}"#, "appId needs privateKey"),
            (
                r#"{"token": "a", "appId": 1, "privateKey": "k"}"#,
                "not both",
            ),
            (r#"{"tokn": "a"}"#, "unknown field `tokn`"),
            (
                r#"{"appId": "twelve", "privateKey": "k"}"#,
                "appId must be a number",
            ),
        ] {
            let message = Credentials::from_secret(secret).unwrap_err().to_string();
            assert!(message.contains(expected), "{secret}: {message}");
        }
        let debug = format!("{:?}", Credentials::Token("ghp_secret".into()));
        assert!(!debug.contains("ghp_secret"));
    }

    #[tokio::test]
    async fn an_installation_token_is_reused_until_five_minutes_before_it_expires() {
        let app =
            AppAuth::new(1, include_str!("../tests/fixtures/test-app-key.pem"), None).unwrap();
        let now = OffsetDateTime::now_utc();
        app.remember(
            7,
            CachedToken {
                token: "ghs_a".into(),
                expires_at: now + Duration::minutes(6),
            },
        )
        .await;
        assert_eq!(app.cached(7, now).await.as_deref(), Some("ghs_a"));
        assert_eq!(
            app.cached(7, now + Duration::minutes(1) + Duration::seconds(1))
                .await,
            None
        );
        assert_eq!(app.cached(8, now).await, None);
        assert_eq!(app.jwt().unwrap().split('.').count(), 3);
    }

    #[test]
    fn a_private_key_that_is_not_pem_is_refused_with_a_hint() {
        let error = AppAuth::new(1, "not a key", None).err().unwrap();
        assert!(error.to_string().contains(".pem file GitHub generated"));
    }
}
