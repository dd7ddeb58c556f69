//! Ferry in Slack.
//!
//! - [`SlackNotifier`] (a [`ferry_core::ports::Notifier`]): for each deployment whose manifest
//!   names `notify.slack.channel`, one parent message (what is deployed where, by whom, the
//!   plan, the weights, the state, the buttons for what people may do now) kept current with
//!   `chat.update`, and replies in its thread for what a person needs to know. Nothing is
//!   posted while a deployment merely waits.
//! - [`Interactions`]: `POST /slack/interactions`, the buttons: verified as Slack signs them,
//!   acted on through `ferry_handlers::control::act` as the clicking Slack user.
//! - [`SlackApi`]: the Web API calls, bounded so Slack never holds up a deployment.
//!
//! Configuration ([`SlackConfig::from_env`]): `FERRY_SLACK_BOT_TOKEN`,
//! `FERRY_SLACK_SIGNING_SECRET`, `FERRY_SLACK_API_URL` (default `https://slack.com/api`); in
//! Lambda the token and secret are read from Secrets Manager (`FERRY_SLACK_BOT_TOKEN_SECRET_ARN`,
//! `FERRY_SLACK_SIGNING_SECRET_ARN`), the token only when a deployment has a Slack channel
//! ([`LazySlackNotifier`]).

pub mod api;
pub mod blocks;
pub mod interactions;
pub mod notifier;

pub use api::SlackApi;
pub use interactions::Interactions;
pub use notifier::{LazySlackNotifier, SlackNotifier};

/// Slack's settings, from the environment.
#[derive(Clone, Default)]
pub struct SlackConfig {
    pub bot_token: Option<String>,
    pub signing_secret: Option<String>,
    pub api_url: String,
}

impl std::fmt::Debug for SlackConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Both are credentials.
        f.debug_struct("SlackConfig")
            .field("bot_token", &self.bot_token.as_ref().map(|_| "set"))
            .field(
                "signing_secret",
                &self.signing_secret.as_ref().map(|_| "set"),
            )
            .field("api_url", &self.api_url)
            .finish()
    }
}

impl SlackConfig {
    /// `FERRY_SLACK_BOT_TOKEN`, `FERRY_SLACK_SIGNING_SECRET`, `FERRY_SLACK_API_URL`. Without a
    /// token there is no Slack, which is said once in the log.
    pub fn from_env() -> SlackConfig {
        let read = |name: &str| {
            std::env::var(name)
                .ok()
                .map(|value| value.trim().to_string())
                .filter(|value| !value.is_empty())
        };
        let config = SlackConfig {
            bot_token: read("FERRY_SLACK_BOT_TOKEN"),
            signing_secret: read("FERRY_SLACK_SIGNING_SECRET"),
            api_url: read("FERRY_SLACK_API_URL").unwrap_or_else(|| api::DEFAULT_API_URL.into()),
        };
        if config.bot_token.is_none() {
            tracing::info!("FERRY_SLACK_BOT_TOKEN is not set: no Slack notifications");
        }
        config
    }

    /// The Web API client, when a token is configured.
    pub fn api(&self) -> Option<SlackApi> {
        let token = self.bot_token.as_deref()?;
        match SlackApi::new(&self.api_url, token) {
            Ok(api) => Some(api),
            Err(error) => {
                tracing::warn!(%error, "Slack is configured but cannot be reached: no Slack");
                None
            }
        }
    }
}
