//! Building the handler ports for a command: against AWS, or for local mode.

use std::sync::Arc;

use anyhow::Context;
use async_trait::async_trait;
use ferry_aws::{AwsClients, Resources, ensure_table};
use ferry_core::Deployment;
use ferry_core::lifecycle::Event;
use ferry_core::ports::{Notifier, PortResult, SystemClock};
use ferry_handlers::{Deps, NoGitSource, Settings};
use ferry_local::LocalRepository;

/// Prints notifications for the person at the terminal.
pub struct TerminalNotifier;

#[async_trait]
impl Notifier for TerminalNotifier {
    async fn notify(&self, deployment: &Deployment, event: &Event) -> PortResult<()> {
        eprintln!("  note: {}", event.describe(deployment));
        Ok(())
    }
}

/// Ports against the AWS endpoint in the environment. In local mode the table is created when
/// missing (in AWS, Terraform creates it) and Git is read from the working tree.
pub async fn deps(local: bool) -> anyhow::Result<Deps> {
    if local {
        require_emulator()?;
    }
    deps_with(&ferry_aws::load_sdk_config().await, local).await
}

/// Local mode talks to the AWS emulator at `AWS_ENDPOINT_URL`, never to AWS.
pub fn require_emulator() -> anyhow::Result<()> {
    match std::env::var("AWS_ENDPOINT_URL") {
        Ok(url) if !url.trim().is_empty() => Ok(()),
        _ => Err(crate::ConfigError(
            "--local needs AWS_ENDPOINT_URL, the AWS emulator's address: `eval \"$(ferry sandbox)\"` starts one with a service to deploy to and sets it".into(),
        )
        .into()),
    }
}

/// Slack, when `FERRY_SLACK_BOT_TOKEN` is set: `deps` then also notify the deployments'
/// Slack threads (beside what they notified before), and the notifier is returned for the
/// interactions endpoint to update messages with.
pub fn add_slack(
    config: &aws_config::SdkConfig,
    slack: &ferry_slack::SlackConfig,
    deps: &mut Deps,
) -> Option<ferry_slack::SlackNotifier> {
    let api = slack.api()?;
    // The thread of each deployment lives in the table, beside its record.
    let threads = AwsClients::new(config).store(&Resources::from_env());
    let slack = ferry_slack::SlackNotifier {
        api,
        threads: Arc::new(threads),
    };
    deps.notifier = Arc::new(ferry_handlers::Notifiers(vec![
        deps.notifier.clone(),
        Arc::new(slack.clone()),
    ]));
    Some(slack)
}

/// GitHub evidence, when `GITHUB_TOKEN` is set: deployments of `owner/name` repositories also
/// become GitHub Deployments with statuses, and set the commit's `ferry/deploy` status.
pub fn add_github_evidence(deps: &mut Deps) {
    let Some(token) = std::env::var("GITHUB_TOKEN")
        .ok()
        .filter(|token| !token.trim().is_empty())
    else {
        return;
    };
    let api_url = std::env::var("FERRY_GITHUB_API_URL")
        .unwrap_or_else(|_| ferry_github::DEFAULT_API_URL.to_string());
    match ferry_github::GitHub::new(
        &api_url,
        ferry_github::Credentials::Token(token.trim().into()),
    ) {
        Ok(github) => {
            deps.notifier = Arc::new(ferry_handlers::Notifiers(vec![
                deps.notifier.clone(),
                Arc::new(ferry_github::GithubEvidence::new(github)),
            ]));
        }
        Err(error) => tracing::warn!(%error, "GITHUB_TOKEN is set but GitHub cannot be used"),
    }
}

/// [`deps`] on a configuration already loaded.
pub async fn deps_with(config: &aws_config::SdkConfig, local: bool) -> anyhow::Result<Deps> {
    let clients = AwsClients::new(config);
    let resources = Resources::from_env();
    if local {
        ensure_table(&clients.dynamodb, &resources.table)
            .await
            .with_context(|| format!("creating the table {} in the emulator", resources.table))?;
    }
    Ok(Deps {
        ecs: Arc::new(clients.task_sets()),
        traffic: Arc::new(clients.router()),
        alarms: Arc::new(clients.alarms()),
        store: Arc::new(clients.store(&resources)),
        workflows: Arc::new(clients.workflows(&resources)),
        git: if local {
            Arc::new(LocalRepository::worktree())
        } else {
            Arc::new(NoGitSource)
        },
        notifier: Arc::new(TerminalNotifier),
        clock: Arc::new(SystemClock),
        settings: Settings::default(),
        github: None,
        // Hooks run from this process: an `http` hook reaches what this machine reaches.
        hooks: Some(Arc::new(ferry_handlers::HookPorts {
            http: Arc::new(ferry_aws::HttpsProbe::new()),
            functions: Arc::new(ferry_aws::LambdaInvoker::from_config(config)),
            tasks: Arc::new(ferry_aws::EcsOneOffTasks::new(clients.ecs.clone())),
            listeners: Arc::new(clients.router()),
        })),
    })
}
