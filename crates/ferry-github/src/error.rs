//! Errors building a GitHub client. Failures of API calls are [`PortError`]s instead
//! (see [`crate::api`]), classified for retries like every other adapter's.
//!
//! [`PortError`]: ferry_core::ports::PortError

/// What can be wrong with the GitHub configuration.
#[derive(Debug, thiserror::Error)]
pub enum GithubError {
    #[error(
        "no GitHub credentials: set FERRY_GITHUB_CREDENTIALS_SECRET_ARN (in AWS) or GITHUB_TOKEN (locally)"
    )]
    NoCredentials,
    #[error(
        "the GitHub credentials secret is neither a token nor JSON like {{\"token\": \"...\"}} or {{\"appId\": 123, \"privateKey\": \"-----BEGIN RSA PRIVATE KEY-----...\"}}: {0}"
    )]
    Credentials(String),
    #[error(
        "the GitHub App private key is not an RSA key in PEM ({0}); put the .pem file GitHub generated for the app, newlines included"
    )]
    PrivateKey(String),
    #[error(
        "{url} is not a GitHub API URL ({reason}); use https://api.github.com or https://HOST/api/v3"
    )]
    ApiUrl { url: String, reason: String },
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}
