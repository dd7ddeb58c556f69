//! [`SlackNotifier`]: each deployment with `notify.slack.channel` gets one parent message, kept
//! current, and replies in its thread for what a person needs to know.

use std::sync::Arc;

use async_trait::async_trait;
use ferry_core::deployment::Deployment;
use ferry_core::lifecycle::Event;
use ferry_core::ports::{Notifier, PortResult, ThreadRef, ThreadStore};

use crate::api::SlackApi;
use crate::blocks;

/// Posts to Slack through `api`; remembers each deployment's parent message in `threads`.
#[derive(Clone)]
pub struct SlackNotifier {
    pub api: SlackApi,
    pub threads: Arc<dyn ThreadStore>,
}

impl SlackNotifier {
    /// The deployment's thread, made (the parent message posted) when it has none yet.
    pub async fn thread(&self, deployment: &Deployment, channel: &str) -> PortResult<ThreadRef> {
        Ok(self.thread_made(deployment, channel).await?.0)
    }

    /// The thread, and whether this call made it (its parent message is then current).
    async fn thread_made(
        &self,
        deployment: &Deployment,
        channel: &str,
    ) -> PortResult<(ThreadRef, bool)> {
        if let Some(thread) = self.threads.get_thread(&deployment.id).await? {
            return Ok((thread, false));
        }
        let ts = self
            .api
            .post_message(channel, None, &blocks::parent(deployment))
            .await?;
        let thread = ThreadRef {
            channel: channel.to_string(),
            ts,
        };
        if self.threads.put_thread(&deployment.id, &thread).await? {
            return Ok((thread, true));
        }
        // Another notification made one first (a retried handler): keep that one.
        let kept = self.threads.get_thread(&deployment.id).await?;
        Ok((kept.unwrap_or(thread), false))
    }

    /// The parent message, as the deployment stands now.
    pub async fn refresh(&self, deployment: &Deployment) -> PortResult<Option<ThreadRef>> {
        let Some(channel) = &deployment.policy.slack_channel else {
            return Ok(None);
        };
        let thread = self.thread(deployment, channel).await?;
        self.api
            .update(&thread.channel, &thread.ts, &blocks::parent(deployment))
            .await?;
        Ok(Some(thread))
    }

    /// A reply in the deployment's thread.
    pub async fn reply(&self, thread: &ThreadRef, message: &blocks::Message) -> PortResult<()> {
        self.api
            .post_message(&thread.channel, Some(&thread.ts), message)
            .await
            .map(drop)
    }
}

/// The most one notification may take, all its Web API calls together: Slack being slow
/// never slows a deployment by more than this per event.
pub const NOTIFY_BUDGET: std::time::Duration = std::time::Duration::from_secs(4);

#[async_trait]
impl Notifier for SlackNotifier {
    async fn notify(&self, deployment: &Deployment, event: &Event) -> PortResult<()> {
        match tokio::time::timeout(NOTIFY_BUDGET, self.post(deployment, event)).await {
            Ok(result) => result,
            Err(_) => Err(ferry_core::ports::PortError::Transient(format!(
                "Slack did not take the notification within {NOTIFY_BUDGET:?}; skipped"
            ))),
        }
    }
}

impl SlackNotifier {
    async fn post(&self, deployment: &Deployment, event: &Event) -> PortResult<()> {
        let Some(channel) = &deployment.policy.slack_channel else {
            return Ok(());
        };
        let (thread, fresh) = self.thread_made(deployment, channel).await?;
        if !fresh {
            self.api
                .update(&thread.channel, &thread.ts, &blocks::parent(deployment))
                .await?;
        }
        if let Some(reply) = blocks::reply(deployment, event) {
            self.reply(&thread, &reply).await?;
        }
        Ok(())
    }
}

/// A [`SlackNotifier`] whose bot token is read from a secret (Secrets Manager in Lambda) the
/// first time a deployment with a Slack channel is notified: functions that notify nobody in
/// Slack never read it, and a cold start never waits for it.
pub struct LazySlackNotifier {
    pub secrets: Arc<dyn ferry_core::ports::SecretReader>,
    /// The secret holding the bot token (`FERRY_SLACK_BOT_TOKEN_SECRET_ARN`).
    pub token_secret: String,
    pub api_url: String,
    pub threads: Arc<dyn ThreadStore>,
    slack: tokio::sync::OnceCell<SlackNotifier>,
}

impl LazySlackNotifier {
    pub fn new(
        secrets: Arc<dyn ferry_core::ports::SecretReader>,
        token_secret: &str,
        api_url: &str,
        threads: Arc<dyn ThreadStore>,
    ) -> Self {
        Self {
            secrets,
            token_secret: token_secret.to_string(),
            api_url: api_url.to_string(),
            threads,
            slack: tokio::sync::OnceCell::new(),
        }
    }

    /// The notifier, its token read once; a failed read is tried again next time.
    pub async fn slack(&self) -> PortResult<&SlackNotifier> {
        self.slack
            .get_or_try_init(|| async {
                let token = self.secrets.read_secret(&self.token_secret).await?;
                Ok(SlackNotifier {
                    api: SlackApi::new(&self.api_url, token.trim())?,
                    threads: self.threads.clone(),
                })
            })
            .await
    }
}

#[async_trait]
impl Notifier for LazySlackNotifier {
    async fn notify(&self, deployment: &Deployment, event: &Event) -> PortResult<()> {
        if deployment.policy.slack_channel.is_none() {
            return Ok(());
        }
        self.slack().await?.notify(deployment, event).await
    }
}
