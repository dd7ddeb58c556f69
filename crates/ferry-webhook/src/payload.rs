//! The parts of GitHub's webhook payloads Ferry reads. Everything else in them (and GitHub sends
//! a lot) is skipped while parsing; unknown fields are fine, so GitHub adding fields breaks
//! nothing.

use serde::Deserialize;

/// `repository` in every payload.
#[derive(Debug, Deserialize)]
pub(crate) struct Repository {
    pub full_name: String,
    #[serde(default)]
    pub clone_url: Option<String>,
    #[serde(default)]
    pub html_url: Option<String>,
    #[serde(default)]
    pub default_branch: Option<String>,
}

impl Repository {
    pub fn clone_url(&self) -> String {
        self.clone_url
            .clone()
            .or_else(|| self.html_url.as_ref().map(|url| format!("{url}.git")))
            .unwrap_or_else(|| format!("https://github.com/{}.git", self.full_name))
    }

    /// GitHub always sends it; `main` if a hand-made payload does not.
    pub fn default_branch(&self) -> &str {
        self.default_branch.as_deref().unwrap_or("main")
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct User {
    #[serde(default)]
    pub login: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Pusher {
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct GitAuthor {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Commit {
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub author: Option<GitAuthor>,
    #[serde(default)]
    pub added: Vec<String>,
    #[serde(default)]
    pub removed: Vec<String>,
    #[serde(default)]
    pub modified: Vec<String>,
}

/// A `push` payload.
#[derive(Debug, Deserialize)]
pub(crate) struct Push {
    #[serde(rename = "ref")]
    pub git_ref: String,
    pub before: String,
    pub after: String,
    #[serde(default)]
    pub created: bool,
    #[serde(default)]
    pub deleted: bool,
    #[serde(default)]
    pub forced: bool,
    pub repository: Repository,
    #[serde(default)]
    pub pusher: Option<Pusher>,
    #[serde(default)]
    pub sender: Option<User>,
    #[serde(default)]
    pub commits: Vec<Commit>,
    #[serde(default)]
    pub head_commit: Option<Commit>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RepositoryName {
    pub full_name: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Branch {
    #[serde(rename = "ref")]
    pub git_ref: String,
    pub sha: String,
    /// Null when the fork the head branch lived in was deleted.
    #[serde(default)]
    pub repo: Option<RepositoryName>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct PullRequest {
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub user: Option<User>,
    pub head: Branch,
    pub base: Branch,
    #[serde(default)]
    pub draft: bool,
    #[serde(default)]
    pub merged: Option<bool>,
    #[serde(default)]
    pub html_url: Option<String>,
}

/// A `pull_request` payload.
#[derive(Debug, Deserialize)]
pub(crate) struct PullRequestEvent {
    pub action: String,
    pub number: u64,
    pub pull_request: PullRequest,
    pub repository: Repository,
}

/// A `ping` payload: sent once when the webhook is created.
#[derive(Debug, Deserialize)]
pub(crate) struct Ping {
    #[serde(default)]
    pub zen: Option<String>,
    #[serde(default)]
    pub hook_id: Option<u64>,
}

/// Only the action of any other event, for a helpful "ignored" answer.
#[derive(Debug, Deserialize)]
pub(crate) struct AnyEvent {
    #[serde(default)]
    pub action: Option<String>,
}
