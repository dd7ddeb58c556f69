//! From a commit seen on a branch to a deploy workflow started: what every path that sees
//! commits (the webhook, the poller) must agree on, so that seeing a commit twice deploys it once.
//!
//! Both paths put the same `push` event on Ferry's bus ([`PushDetail`], source
//! [`EVENT_SOURCE`]); whatever starts the deploy workflow for it names the execution
//! [`deployment_execution_name`]`(repository, commit, manifest)`. Step Functions keeps execution
//! names unique per state machine (for 90 days after an execution ends): a second start with the
//! same name and input returns the first execution, one with another input fails with
//! `ExecutionAlreadyExists`. Either way the commit is deployed once, whichever path saw it first.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The `source` of every event Ferry puts on its bus about GitHub.
pub const EVENT_SOURCE: &str = "ferry.github";
/// The `detail-type` of a push (from the webhook or the poller).
pub const PUSH: &str = "push";
/// The `detail-type` of a pull request event.
pub const PULL_REQUEST: &str = "pull_request";

/// The detail of a `push` event on the bus.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PushDetail {
    /// `owner/name`.
    pub repository: String,
    /// `refs/heads/<branch>`.
    #[serde(rename = "ref")]
    pub git_ref: String,
    /// The branch, without `refs/heads/`.
    pub branch: String,
    /// The head before the push (`0000…` for a new branch).
    pub before: String,
    /// The head after the push: the commit to deploy.
    pub after: String,
    /// Paths the push changed. `None` when unknown (too many files, or the poller could not
    /// compare): every manifest is then considered touched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_paths: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pusher: Option<String>,
    /// Who saw the commit: `webhook` or `poller`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seen_by: Option<String>,
}

/// Step Functions' limit on execution names.
const MAX_NAME: usize = 80;

/// The deploy workflow's execution name for `manifest_path` at `commit` of `repository`: the same
/// for everyone who asks, different for any other triple, and a valid execution name (at most 80
/// characters of `[A-Za-z0-9_-]`) that also serves as the deployment id.
///
/// Shape: `<manifest stem>-<7-char commit>-<12 hex of SHA-256(repository, commit, manifest)>`,
/// e.g. `web-3f9c2e1-5b0c8e3a91d4`. Repository names are compared case-insensitively (as GitHub
/// does), commits in lower case, and `./` before the manifest path is ignored.
pub fn deployment_execution_name(repository: &str, commit: &str, manifest_path: &str) -> String {
    let repository = repository.trim().to_ascii_lowercase();
    let commit = commit.trim().to_ascii_lowercase();
    let manifest = manifest_path.trim().trim_start_matches("./");
    let mut hasher = Sha256::new();
    for part in [repository.as_str(), commit.as_str(), manifest] {
        // Length-prefixed, so ("a/b", "c") and ("a", "b/c") cannot collide.
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    let digest: String = hasher
        .finalize()
        .iter()
        .take(6)
        .map(|byte| format!("{byte:02x}"))
        .collect();
    let stem = manifest
        .rsplit('/')
        .next()
        .unwrap_or(manifest)
        .trim_end_matches(".yaml")
        .trim_end_matches(".yml");
    let short: String = commit
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(7)
        .collect();
    // Room for "-<short>-<digest>".
    let room = MAX_NAME - 2 - short.len() - digest.len();
    let mut stem: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(room)
        .collect();
    if stem.is_empty() {
        stem.push_str("deploy");
    }
    format!("{stem}-{short}-{digest}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMMIT: &str = "3f9c2e1a7b5d4c3e2f1a0b9c8d7e6f5a4b3c2d1e";

    #[test]
    fn the_same_commit_of_the_same_manifest_always_gets_the_same_name() {
        let name = deployment_execution_name("acme/shop", COMMIT, ".ferry/web.yaml");
        assert_eq!(
            name,
            deployment_execution_name("Acme/Shop", &COMMIT.to_uppercase(), "./.ferry/web.yaml")
        );
        assert!(name.starts_with("web-3f9c2e1-"), "{name}");
        assert_eq!(name.len(), "web-3f9c2e1-".len() + 12);
    }

    #[test]
    fn another_repository_commit_or_manifest_gets_another_name() {
        let name = deployment_execution_name("acme/shop", COMMIT, ".ferry/web.yaml");
        for other in [
            deployment_execution_name("acme/shop2", COMMIT, ".ferry/web.yaml"),
            deployment_execution_name("acme/shop", &COMMIT.replace('3', "4"), ".ferry/web.yaml"),
            deployment_execution_name("acme/shop", COMMIT, ".ferry/api.yaml"),
            deployment_execution_name("acme/shop", COMMIT, "other/.ferry/web.yaml"),
        ] {
            assert_ne!(name, other);
        }
    }

    #[test]
    fn names_are_valid_step_functions_execution_names_whatever_the_manifest_is_called() {
        let long = format!(".ferry/{}.yaml", "ünïcode service name ".repeat(10));
        for manifest in [".ferry/web.yaml", long.as_str(), ".ferry/.yaml", "x"] {
            let name = deployment_execution_name("acme/shop", COMMIT, manifest);
            assert!(name.len() <= 80, "{name}");
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
                "{name}"
            );
        }
    }

    #[test]
    fn push_details_use_the_field_names_of_the_bus() {
        let detail = PushDetail {
            repository: "acme/shop".into(),
            git_ref: "refs/heads/main".into(),
            branch: "main".into(),
            before: "a".repeat(40),
            after: COMMIT.into(),
            changed_paths: Some(vec!["src/main.rs".into()]),
            pusher: None,
            seen_by: Some("poller".into()),
        };
        let json = serde_json::to_value(&detail).unwrap();
        assert_eq!(json["ref"], "refs/heads/main");
        assert_eq!(json["changedPaths"][0], "src/main.rs");
        assert!(json.get("pusher").is_none());
        assert_eq!(serde_json::from_value::<PushDetail>(json).unwrap(), detail);
    }
}
