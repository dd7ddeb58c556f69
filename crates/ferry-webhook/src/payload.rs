//! The parts of GitHub's webhook payloads Ferry reads. Everything else in them (and GitHub sends
//! a lot) is skipped while parsing; unknown fields are fine, so GitHub adding fields breaks
//! nothing.

use std::borrow::Cow;

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

/// A commit of `commits`: only the paths it changed. The paths borrow from the body (a path
/// with a JSON escape in it is the rare copy), so a push of hundreds of paths allocates little;
/// allocation was most of the cost of classifying a push (docs/benchmarks.md).
#[derive(Debug, Deserialize)]
pub(crate) struct CommitPaths<'a> {
    #[serde(default, borrow)]
    pub added: Vec<PathText<'a>>,
    #[serde(default, borrow)]
    pub removed: Vec<PathText<'a>>,
    #[serde(default, borrow)]
    pub modified: Vec<PathText<'a>>,
}

/// A path as it is in the body when it can be (serde's own `Cow<str>` always copies inside a
/// `Vec`), else a copy.
#[derive(Debug)]
pub(crate) struct PathText<'a>(pub Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for PathText<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = PathText<'de>;
            fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
                formatter.write_str("a path")
            }
            fn visit_borrowed_str<E>(self, path: &'de str) -> Result<Self::Value, E> {
                Ok(PathText(Cow::Borrowed(path)))
            }
            fn visit_str<E>(self, path: &str) -> Result<Self::Value, E> {
                Ok(PathText(Cow::Owned(path.to_string())))
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

/// `head_commit`: who wrote it and what it says.
#[derive(Debug, Deserialize)]
pub(crate) struct HeadCommit {
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub author: Option<GitAuthor>,
}

/// A `push` payload.
#[derive(Debug, Deserialize)]
pub(crate) struct Push<'a> {
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
    #[serde(default, borrow)]
    pub commits: Vec<CommitPaths<'a>>,
    #[serde(default)]
    pub head_commit: Option<HeadCommit>,
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
