//! The details of the GitHub events Ferry puts on its bus (EventBridge in AWS), beyond the push
//! detail every path that sees commits shares ([`crate::trigger::PushDetail`]).
//!
//! `source` is [`EVENT_SOURCE`](crate::trigger::EVENT_SOURCE), `detail-type` the GitHub event
//! name. `webhook-intake` publishes a push as [`WebhookPushDetail`] (the shared push detail plus
//! what the webhook knows besides: clone URL, default branch, head commit, delivery id) and a
//! pull request as [`PullRequestDetail`]. A consumer that only needs the shared fields reads the
//! same JSON as a [`PushDetail`]: the extra fields sit beside them, flat.
//!
//! The detail carries what the workflows need, never the whole GitHub payload: an EventBridge
//! entry is at most [`MAX_ENTRY_BYTES`], so a huge push keeps its full payload in S3
//! (`payload`), says so (`pathsTruncated`) and leaves `changedPaths` out, which consumers read
//! as "every manifest may be touched". Field names follow the plan handler's input
//! (`repository` is `owner/name`, `commit`, `branch`, `author`), so a detail plus a
//! `manifestPath` is a deploy workflow input.

use serde::{Deserialize, Serialize};

use crate::trigger::PushDetail;

/// EventBridge's limit on one entry: time (14 bytes), source, detail-type, detail and resources
/// together, in UTF-8 bytes.
pub const MAX_ENTRY_BYTES: usize = 256 * 1024;

/// The size EventBridge counts for an entry with this source, detail-type and detail JSON.
pub fn entry_size(source: &str, detail_type: &str, detail_json: &str) -> usize {
    14 + source.len() + detail_type.len() + detail_json.len()
}

/// A push as `webhook-intake` publishes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookPushDetail {
    /// `repository`, `ref`, `branch`, `before`, `after`, `changedPaths`, `pusher`, `seenBy`.
    #[serde(flatten)]
    pub push: PushDetail,
    pub clone_url: String,
    pub default_branch: String,
    /// Same as `after`: the commit to deploy, named as the plan handler names it.
    pub commit: String,
    /// The head commit's author (GitHub user name when known, else the Git author name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// The head commit's message, cut to a few kilobytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_commit_message: Option<String>,
    /// True when the push changed paths that `changedPaths` does not list (it is then left out):
    /// GitHub lists at most 2048 commits, and a detail too big for EventBridge is cut.
    #[serde(default)]
    pub paths_truncated: bool,
    /// A new branch.
    #[serde(default)]
    pub created: bool,
    /// A force push.
    #[serde(default)]
    pub forced: bool,
    /// `X-GitHub-Delivery` of the webhook.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_id: Option<String>,
    /// Where the full GitHub payload is kept (`s3://bucket/key`) when the detail had to be cut.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
}

/// A pull request opened, reopened, synchronized (new commits) or closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PullRequestDetail {
    /// `owner/name` of the base repository (where the manifests that deploy live).
    pub repository: String,
    pub clone_url: String,
    pub default_branch: String,
    pub number: u64,
    /// `opened`, `reopened`, `synchronize` or `closed`.
    pub action: String,
    pub head_sha: String,
    pub head_ref: String,
    /// `owner/name` of the repository the head branch lives in: a fork's for a pull request
    /// from a fork.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_repository: Option<String>,
    pub base_ref: String,
    pub base_sha: String,
    /// Same as `headSha`: the commit to plan.
    pub commit: String,
    pub title: String,
    /// Who opened the pull request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default)]
    pub draft: bool,
    /// For `closed`: whether it was merged.
    #[serde(default)]
    pub merged: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn push() -> WebhookPushDetail {
        WebhookPushDetail {
            push: PushDetail {
                repository: "acme/shop".into(),
                git_ref: "refs/heads/main".into(),
                branch: "main".into(),
                before: "0".repeat(40),
                after: "a".repeat(40),
                changed_paths: Some(vec![".ferry/web.yaml".into()]),
                pusher: Some("alice".into()),
                seen_by: Some("webhook".into()),
            },
            clone_url: "https://github.com/acme/shop.git".into(),
            default_branch: "main".into(),
            commit: "a".repeat(40),
            author: Some("alice".into()),
            head_commit_message: None,
            paths_truncated: false,
            created: true,
            forced: false,
            delivery_id: None,
            payload: None,
        }
    }

    #[test]
    fn a_webhook_push_detail_is_flat_and_reads_as_the_shared_push_detail() {
        let detail = push();
        let json = serde_json::to_value(&detail).unwrap();
        assert_eq!(json["repository"], "acme/shop");
        assert_eq!(json["ref"], "refs/heads/main");
        assert_eq!(json["commit"], json["after"]);
        assert_eq!(json["cloneUrl"], "https://github.com/acme/shop.git");
        assert_eq!(json["changedPaths"][0], ".ferry/web.yaml");
        assert!(json.get("payload").is_none());
        let shared: PushDetail = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(shared, detail.push);
        let back: WebhookPushDetail = serde_json::from_value(json).unwrap();
        assert_eq!(back, detail);
    }

    #[test]
    fn entry_size_counts_what_eventbridge_counts() {
        assert_eq!(entry_size("ferry.github", "push", "{}"), 14 + 12 + 4 + 2);
    }
}
