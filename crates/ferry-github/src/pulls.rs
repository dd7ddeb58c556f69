//! [`PullRequests`] over the issue comments and commit statuses APIs.

use async_trait::async_trait;
use ferry_core::ports::{
    CommentOutcome, CommentRef, CommitStatus, PortError, PortResult, PullRequests,
};
use http::{Method, StatusCode};
use serde::Deserialize;
use serde_json::json;

use crate::api::{GitHub, JSON, checked_repository, encode, failure};

/// GitHub refuses comment bodies longer than this (characters).
pub const MAX_COMMENT_CHARS: usize = 65_536;
/// GitHub keeps status descriptions this short.
pub(crate) const MAX_DESCRIPTION_CHARS: usize = 140;
/// Comments read per page, and pages read at most, looking for Ferry's comment.
const PER_PAGE: usize = 100;
const MAX_PAGES: usize = 30;

/// Pull request comments kept up to date in place, and commit statuses.
///
/// - `upsert_comment`: pages through `GET /repos/{owner}/{repo}/issues/{number}/comments` for
///   the first comment containing the marker; `PATCH /repos/{owner}/{repo}/issues/comments/{id}`
///   when it says something else, nothing when it says the same, otherwise
///   `POST /repos/{owner}/{repo}/issues/{number}/comments`.
/// - `set_status`: `POST /repos/{owner}/{repo}/statuses/{sha}`.
#[derive(Clone)]
pub struct GithubPullRequests {
    api: GitHub,
}

impl GithubPullRequests {
    pub fn new(api: GitHub) -> Self {
        Self { api }
    }
}

#[derive(Deserialize)]
struct Comment {
    id: u64,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    html_url: Option<String>,
}

impl GithubPullRequests {
    async fn find(
        &self,
        repository: &str,
        number: u64,
        marker: &str,
    ) -> PortResult<Option<Comment>> {
        for page in 1..=MAX_PAGES {
            let url = format!(
                "/repos/{repository}/issues/{number}/comments?per_page={PER_PAGE}&page={page}"
            );
            let subject = format!("comments of pull request #{number} of {repository}");
            let reply = self
                .api
                .send(Method::GET, repository, &url, JSON, None, None)
                .await?;
            if !reply.status.is_success() {
                return Err(failure(&reply, &subject));
            }
            let comments: Vec<Comment> = reply.json(&subject)?;
            let count = comments.len();
            if let Some(found) = comments.into_iter().find(|comment| {
                comment
                    .body
                    .as_deref()
                    .is_some_and(|body| body.contains(marker))
            }) {
                return Ok(Some(found));
            }
            if count < PER_PAGE {
                break;
            }
        }
        Ok(None)
    }
}

#[async_trait]
impl PullRequests for GithubPullRequests {
    async fn upsert_comment(
        &self,
        repository: &str,
        number: u64,
        marker: &str,
        body: &str,
    ) -> PortResult<CommentRef> {
        let repository = checked_repository(repository)?;
        if marker.trim().is_empty() || !body.contains(marker) {
            return Err(PortError::Invalid(format!(
                "the comment must contain its marker `{marker}`, or the next run cannot find it"
            )));
        }
        let length = body.chars().count();
        if length > MAX_COMMENT_CHARS {
            return Err(PortError::Invalid(format!(
                "the comment has {length} characters; GitHub takes at most {MAX_COMMENT_CHARS}"
            )));
        }
        let payload = json!({ "body": body });
        if let Some(existing) = self.find(repository, number, marker).await? {
            if existing.body.as_deref() == Some(body) {
                return Ok(CommentRef {
                    id: existing.id,
                    url: existing.html_url,
                    outcome: CommentOutcome::Unchanged,
                });
            }
            let url = format!("/repos/{repository}/issues/comments/{}", existing.id);
            let subject = format!(
                "comment {} on pull request #{number} of {repository}",
                existing.id
            );
            let reply = self
                .api
                .send(Method::PATCH, repository, &url, JSON, None, Some(&payload))
                .await?;
            // Deleted since we listed it: write a new one.
            if reply.status != StatusCode::NOT_FOUND {
                if !reply.status.is_success() {
                    return Err(failure(&reply, &subject));
                }
                let updated: Comment = reply.json(&subject)?;
                return Ok(CommentRef {
                    id: updated.id,
                    url: updated.html_url,
                    outcome: CommentOutcome::Updated,
                });
            }
        }
        let url = format!("/repos/{repository}/issues/{number}/comments");
        let subject = format!("a comment on pull request #{number} of {repository}");
        let reply = self
            .api
            .send(Method::POST, repository, &url, JSON, None, Some(&payload))
            .await?;
        if !reply.status.is_success() {
            return Err(failure(&reply, &subject));
        }
        let created: Comment = reply.json(&subject)?;
        Ok(CommentRef {
            id: created.id,
            url: created.html_url,
            outcome: CommentOutcome::Created,
        })
    }

    async fn set_status(
        &self,
        repository: &str,
        commit: &str,
        status: &CommitStatus,
    ) -> PortResult<()> {
        let repository = checked_repository(repository)?;
        let description = ferry_core::text::cut(&status.description, MAX_DESCRIPTION_CHARS);
        let mut payload = json!({
            "state": status.state.name(),
            "context": status.context,
            "description": description,
        });
        if let Some(url) = &status.target_url {
            payload["target_url"] = json!(url);
        }
        let url = format!(
            "/repos/{repository}/statuses/{}",
            encode(commit.trim(), false)
        );
        let subject = format!("status {} of {repository} at {commit}", status.context);
        let reply = self
            .api
            .send(Method::POST, repository, &url, JSON, None, Some(&payload))
            .await?;
        if !reply.status.is_success() {
            return Err(failure(&reply, &subject));
        }
        Ok(())
    }
}
