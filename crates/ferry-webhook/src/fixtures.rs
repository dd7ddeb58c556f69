//! GitHub webhook payloads in the shapes GitHub sends them, for tests, the benchmark and the
//! fuzz corpus (`fixtures/generate.py` writes them, and the sample events under
//! `events/webhook-intake/` that carry them).

/// The secret the sample events under `events/webhook-intake/` are signed with.
pub const SAMPLE_SECRET: &str = "ferry-test-webhook-secret";

/// A push to `main` changing `.ferry/web.yaml` and `ecs/web.json` (and some code).
pub const PUSH_MAIN: &str = include_str!("../fixtures/github/push.main.json");
/// A push to the branch `canary-checkout`.
pub const PUSH_FEATURE_BRANCH: &str = include_str!("../fixtures/github/push.feature-branch.json");
/// A push to `main` that changes documentation only.
pub const PUSH_DOCS_ONLY: &str = include_str!("../fixtures/github/push.docs-only.json");
/// A new tag `v1.4.0`.
pub const PUSH_TAG: &str = include_str!("../fixtures/github/push.tag.json");
/// The branch `old-experiment` deleted.
pub const PUSH_BRANCH_DELETED: &str = include_str!("../fixtures/github/push.branch-deleted.json");
/// Pull request #42 into `main` opened.
pub const PULL_REQUEST_OPENED: &str = include_str!("../fixtures/github/pull_request.opened.json");
/// New commits pushed to pull request #42.
pub const PULL_REQUEST_SYNCHRONIZE: &str =
    include_str!("../fixtures/github/pull_request.synchronize.json");
/// Pull request #42 merged.
pub const PULL_REQUEST_CLOSED: &str = include_str!("../fixtures/github/pull_request.closed.json");
/// A label added to pull request #42.
pub const PULL_REQUEST_LABELED: &str = include_str!("../fixtures/github/pull_request.labeled.json");
/// The webhook was just created.
pub const PING: &str = include_str!("../fixtures/github/ping.json");
/// An issue opened: an event Ferry ignores.
pub const ISSUES_OPENED: &str = include_str!("../fixtures/github/issues.opened.json");

/// GitHub sends compact JSON; the fixture files are indented for reading.
pub fn compact(payload: &str) -> String {
    serde_json::from_str::<serde_json::Value>(payload)
        .expect("fixtures are JSON")
        .to_string()
}

/// How many commits [`push_with_commits`] needs for a realistic push of about 25 KB.
pub const COMMITS_IN_25_KB: usize = 30;

/// A push to `main` of `commits` commits that each change a few files (about 600 bytes each on
/// top of a 7 KB envelope); the last one changes `.ferry/web.yaml`.
pub fn push_with_commits(commits: usize) -> String {
    let mut value: serde_json::Value = serde_json::from_str(PUSH_MAIN).expect("fixtures are JSON");
    let template = value["commits"][0].clone();
    let list: Vec<serde_json::Value> = (0..commits)
        .map(|index| {
            let mut commit = template.clone();
            let id = format!("{index:040x}");
            commit["id"] = id.clone().into();
            commit["url"] = format!("https://github.com/acme/shop/commit/{id}").into();
            commit["message"] = format!(
                "web: step {index} of the checkout rework\n\nMoves another part of the page behind the flag."
            )
            .into();
            commit["added"] = serde_json::json!([format!("web/src/checkout/step_{index}.rs")]);
            commit["modified"] = serde_json::json!([
                "web/src/main.rs",
                format!("web/templates/checkout_{index}.html"),
                if index + 1 == commits { ".ferry/web.yaml".to_string() } else { "web/Cargo.toml".to_string() },
            ]);
            commit
        })
        .collect();
    value["head_commit"] = list.last().cloned().unwrap_or(serde_json::Value::Null);
    value["commits"] = list.into();
    value.to_string()
}

/// Headers of a delivery as GitHub sends it, signed with `secret`.
pub fn signed_headers(
    secret: &str,
    event: &str,
    delivery: &str,
    content_type: &str,
    body: &[u8],
) -> http::HeaderMap {
    let mut headers = http::HeaderMap::new();
    let mut put = |name: &'static str, value: String| {
        headers.insert(
            name,
            http::HeaderValue::from_str(&value).expect("header values are ASCII"),
        );
    };
    put("content-type", content_type.to_string());
    put("user-agent", "GitHub-Hookshot/8f1a2b3".to_string());
    put("x-github-event", event.to_string());
    put("x-github-delivery", delivery.to_string());
    put("x-github-hook-id", "480213377".to_string());
    put(
        "x-hub-signature-256",
        crate::signature::sign(secret.as_bytes(), body),
    );
    headers
}
