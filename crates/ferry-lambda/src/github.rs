//! The functions that talk to GitHub: `plan` and `push-deploy` read Git through it, `pr-plan`
//! and `poller` also use its pull requests and branches. Their ports are built once per cold
//! start from the environment.
//!
//! | variable | meaning |
//! | --- | --- |
//! | `FERRY_GITHUB_CREDENTIALS_SECRET_ARN` | Secrets Manager secret with a token or GitHub App credentials ([`Credentials::from_secret`]) |
//! | `GITHUB_TOKEN` | a token, when no secret is named (local runs) |
//! | `FERRY_GITHUB_API_URL` | the API, default `https://api.github.com` (GitHub Enterprise: `https://HOST/api/v3`) |
//! | `FERRY_POLL_REPOSITORIES` | `owner/name@branch,...` the poller watches |
//! | `FERRY_TABLE`, `FERRY_EVENT_BUS` | the poller's memory and where it publishes |

use std::sync::Arc;

use ferry_aws::{
    AwsClients, DynamoPollState, EventBridgePublisher, Resources, SecretsManagerReader,
};
use ferry_core::ports::SecretReader;
use ferry_github::{Credentials, DEFAULT_API_URL, GitHub};
use ferry_handlers::{Deps, GithubDeps, poll};

use crate::{deps_from, sdk_config};

/// The GitHub client the environment describes.
pub async fn github_client(config: &aws_config::SdkConfig) -> Result<GitHub, String> {
    let api_url =
        std::env::var("FERRY_GITHUB_API_URL").unwrap_or_else(|_| DEFAULT_API_URL.to_string());
    let credentials = match std::env::var("FERRY_GITHUB_CREDENTIALS_SECRET_ARN") {
        Ok(arn) if !arn.trim().is_empty() => {
            let text = SecretsManagerReader::from_config(config)
                .read_secret(arn.trim())
                .await
                .map_err(|error| format!("reading the GitHub credentials secret: {error}"))?;
            Credentials::from_secret(&text).map_err(|error| error.to_string())?
        }
        _ => match std::env::var("GITHUB_TOKEN") {
            Ok(token) if !token.trim().is_empty() => Credentials::Token(token.trim().to_string()),
            _ => return Err(ferry_github::GithubError::NoCredentials.to_string()),
        },
    };
    GitHub::new(&api_url, credentials).map_err(|error| error.to_string())
}

/// [`Deps`] with Git read from GitHub (`plan`, `push-deploy`).
pub async fn git_deps() -> Result<Deps, String> {
    let config = sdk_config().await;
    let github = github_client(&config).await?;
    Ok(deps_reading_git(
        &config,
        &AwsClients::new(&config),
        &Resources::from_env(),
        &github,
    ))
}

/// [`deps_from`] with Git read from `github`, and the deployments' evidence on GitHub.
fn deps_reading_git(
    config: &aws_config::SdkConfig,
    clients: &AwsClients,
    resources: &Resources,
    github: &GitHub,
) -> Deps {
    Deps {
        git: Arc::new(github.source()),
        notifier: crate::notifier(config, clients, resources, Some(github)),
        ..deps_from(clients, resources)
    }
}

/// [`ferry_github::GithubEvidence`] for the functions that do not talk to GitHub otherwise
/// (`finalize`, `rollback`): the credentials are read the first time a deployment of a GitHub
/// repository is notified of something GitHub shows.
pub struct LazyGithubEvidence {
    config: aws_config::SdkConfig,
    evidence: tokio::sync::OnceCell<ferry_github::GithubEvidence>,
}

impl LazyGithubEvidence {
    pub fn new(config: aws_config::SdkConfig) -> Self {
        Self {
            config,
            evidence: tokio::sync::OnceCell::new(),
        }
    }
}

#[async_trait::async_trait]
impl ferry_core::ports::Notifier for LazyGithubEvidence {
    async fn notify(
        &self,
        deployment: &ferry_core::Deployment,
        event: &ferry_core::lifecycle::Event,
    ) -> ferry_core::ports::PortResult<()> {
        // Nothing GitHub shows: no credentials read.
        if !ferry_github::GithubEvidence::shows(deployment, event) {
            return Ok(());
        }
        let evidence = self
            .evidence
            .get_or_try_init(|| async {
                github_client(&self.config)
                    .await
                    .map(ferry_github::GithubEvidence::new)
                    .map_err(ferry_core::ports::PortError::Invalid)
            })
            .await?;
        evidence.notify(deployment, event).await
    }
}

/// [`Deps`] with Git read from GitHub and the [`GithubDeps`] (`pr-plan`, `poller`).
pub async fn github_deps() -> Result<Deps, String> {
    let config = sdk_config().await;
    let github = github_client(&config).await?;
    let resources = Resources::from_env();
    let tracked =
        poll::parse_tracked_list(&std::env::var("FERRY_POLL_REPOSITORIES").unwrap_or_default())
            .map_err(|error| format!("FERRY_POLL_REPOSITORIES: {error}"))?;
    let clients = AwsClients::new(&config);
    let mut deps = deps_reading_git(&config, &clients, &resources, &github);
    deps.github = Some(Arc::new(GithubDeps {
        pulls: Arc::new(github.pull_requests()),
        branches: Arc::new(github.source()),
        poll_state: Arc::new(DynamoPollState::new(
            clients.dynamodb.clone(),
            resources.table.clone(),
        )),
        events: Arc::new(EventBridgePublisher::from_config(
            &config,
            resources.event_bus.clone(),
        )),
        tracked,
    }));
    Ok(deps)
}
