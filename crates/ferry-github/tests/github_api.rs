//! The adapters against a local GitHub (wiremock on 127.0.0.1) serving the answers GitHub gives:
//! contents found, missing and over 1 MB, folders, rate limits, comments, statuses, refs with
//! ETags, and GitHub App installation tokens.

use std::sync::{Arc, Mutex};

use base64::Engine;
use ferry_core::ports::{
    BranchHead, BranchHeads, CommentOutcome, CommitState, CommitStatus, GitSource, PortError,
    PullRequests,
};
use ferry_github::{Credentials, GitHub};
use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const REPO: &str = "acme/shop";
const COMMIT: &str = "6dcb09b5b57875f334f61aebed695e2e4193db5e";
const MANIFEST: &str = "service: web\ncluster: shop\n";

fn token_client(server: &MockServer) -> GitHub {
    GitHub::new(&server.uri(), Credentials::Token("ghp_test".into())).unwrap()
}

/// The contents API's answer for a file, as GitHub sends it (base64 in 60-column lines).
fn file_answer(path: &str, text: &str) -> Value {
    let encoded = base64::engine::general_purpose::STANDARD.encode(text);
    let lines: Vec<String> = encoded
        .as_bytes()
        .chunks(60)
        .map(|chunk| String::from_utf8(chunk.to_vec()).unwrap())
        .collect();
    json!({
        "type": "file",
        "encoding": "base64",
        "size": text.len(),
        "name": path.rsplit('/').next().unwrap(),
        "path": path,
        "content": format!("{}\n", lines.join("\n")),
        "sha": "3d21ec53a331a6f037a91c368710b99387d012c1",
        "url": format!("https://api.github.com/repos/{REPO}/contents/{path}?ref={COMMIT}"),
        "git_url": "https://api.github.com/repos/acme/shop/git/blobs/3d21ec53a331a6f037a91c368710b99387d012c1",
        "html_url": format!("https://github.com/{REPO}/blob/{COMMIT}/{path}"),
        "download_url": format!("https://raw.githubusercontent.com/{REPO}/{COMMIT}/{path}"),
        "_links": {}
    })
}

fn not_found() -> ResponseTemplate {
    ResponseTemplate::new(404).set_body_json(json!({
        "message": "Not Found",
        "documentation_url": "https://docs.github.com/rest/repos/contents#get-repository-content",
        "status": "404"
    }))
}

#[tokio::test]
async fn a_file_at_a_commit_is_read_and_its_base64_decoded() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/shop/contents/.ferry/web.yaml"))
        .and(query_param("ref", COMMIT))
        .and(header("authorization", "Bearer ghp_test"))
        .and(header("x-github-api-version", "2022-11-28"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(file_answer(".ferry/web.yaml", MANIFEST)),
        )
        .expect(1)
        .mount(&server)
        .await;
    let source = token_client(&server).source();
    let text = source
        .read_file(REPO, COMMIT, ".ferry/web.yaml")
        .await
        .unwrap();
    assert_eq!(text.as_deref(), Some(MANIFEST));
}

#[tokio::test]
async fn a_missing_file_is_none_and_a_missing_folder_is_empty() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(not_found())
        .mount(&server)
        .await;
    let source = token_client(&server).source();
    assert_eq!(
        source
            .read_file(REPO, COMMIT, "ecs/web.json")
            .await
            .unwrap(),
        None
    );
    assert!(
        source
            .list_dir(REPO, COMMIT, ".ferry")
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_file_over_one_megabyte_is_fetched_again_as_raw_bytes() {
    let server = MockServer::start().await;
    let big = format!(
        "{{\"family\": \"web\", \"padding\": \"{}\"}}",
        "x".repeat(1_100_000)
    );
    Mock::given(method("GET"))
        .and(path("/repos/acme/shop/contents/ecs/web.json"))
        .and(header("accept", "application/vnd.github+json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "type": "file",
            "encoding": "none",
            "size": big.len(),
            "name": "web.json",
            "path": "ecs/web.json",
            "content": "",
            "sha": "a2b4c6"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/shop/contents/ecs/web.json"))
        .and(header("accept", "application/vnd.github.raw+json"))
        .respond_with(ResponseTemplate::new(200).set_body_string(big.clone()))
        .expect(1)
        .mount(&server)
        .await;
    let source = token_client(&server).source();
    let text = source
        .read_file(REPO, COMMIT, "ecs/web.json")
        .await
        .unwrap();
    assert_eq!(text.map(|text| text.len()), Some(big.len()));
}

#[tokio::test]
async fn a_folder_lists_its_files_but_not_its_sub_folders() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/shop/contents/.ferry"))
        .and(query_param("ref", COMMIT))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"type": "file", "name": "web.yaml", "path": ".ferry/web.yaml", "size": 420},
            {"type": "dir", "name": "old", "path": ".ferry/old", "size": 0},
            {"type": "file", "name": "api.yaml", "path": ".ferry/api.yaml", "size": 380}
        ])))
        .mount(&server)
        .await;
    let source = token_client(&server).source();
    assert_eq!(
        source.list_dir(REPO, COMMIT, ".ferry").await.unwrap(),
        ["api.yaml", "web.yaml"]
    );
}

#[tokio::test]
async fn an_exhausted_rate_limit_is_transient_and_says_when_to_retry() {
    let server = MockServer::start().await;
    let reset = time::OffsetDateTime::now_utc().unix_timestamp() + 1800;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(403)
                .insert_header("x-ratelimit-limit", "5000")
                .insert_header("x-ratelimit-remaining", "0")
                .insert_header("x-ratelimit-used", "5000")
                .insert_header("x-ratelimit-reset", reset.to_string().as_str())
                .insert_header("x-ratelimit-resource", "core")
                .set_body_json(json!({
                    "message": "API rate limit exceeded for installation ID 4242.",
                    "documentation_url": "https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting"
                })),
        )
        .mount(&server)
        .await;
    let error = token_client(&server)
        .source()
        .read_file(REPO, COMMIT, ".ferry/web.yaml")
        .await
        .unwrap_err();
    assert!(error.is_retryable(), "{error}");
    let text = error.to_string();
    let expected = time::OffsetDateTime::from_unix_timestamp(reset)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    assert!(text.contains(&format!("retry after {expected}")), "{text}");
    assert!(text.contains("seconds)"), "{text}");
}

#[tokio::test]
async fn a_secondary_rate_limit_with_retry_after_says_how_long_to_wait() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "60")
                .set_body_json(json!({
                    "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
                })),
        )
        .mount(&server)
        .await;
    let error = token_client(&server)
        .pull_requests()
        .set_status(REPO, COMMIT, &status(CommitState::Success, "ok"))
        .await
        .unwrap_err();
    assert!(error.is_retryable(), "{error}");
    assert!(
        error.to_string().contains("retry after 60 seconds"),
        "{error}"
    );
}

#[tokio::test]
async fn bad_credentials_are_access_denied() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "message": "Bad credentials",
            "documentation_url": "https://docs.github.com/rest"
        })))
        .mount(&server)
        .await;
    let error = token_client(&server)
        .source()
        .read_file(REPO, COMMIT, ".ferry/web.yaml")
        .await
        .unwrap_err();
    assert!(matches!(error, PortError::AccessDenied(_)), "{error}");
    assert!(error.to_string().contains("Bad credentials"));
}

/// Issue comments of one pull request, kept like GitHub keeps them.
#[derive(Clone, Default)]
struct Comments {
    stored: Arc<Mutex<Vec<(u64, String)>>>,
}

impl Comments {
    fn json(id: u64, body: &str) -> Value {
        json!({
            "id": id,
            "node_id": "IC_kwDOA",
            "url": format!("https://api.github.com/repos/{REPO}/issues/comments/{id}"),
            "html_url": format!("https://github.com/{REPO}/pull/42#issuecomment-{id}"),
            "body": body,
            "user": {"login": "ferry[bot]", "id": 1, "type": "Bot"},
            "created_at": "2026-11-22T10:00:00Z",
            "updated_at": "2026-11-22T10:00:00Z",
            "author_association": "NONE"
        })
    }

    fn bodies(&self) -> Vec<String> {
        self.stored
            .lock()
            .unwrap()
            .iter()
            .map(|(_, body)| body.clone())
            .collect()
    }
}

impl Respond for Comments {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut stored = self.stored.lock().unwrap();
        let body = || -> String {
            let json: Value = serde_json::from_slice(&request.body).unwrap();
            json["body"].as_str().unwrap().to_string()
        };
        match (request.method.as_str(), request.url.path()) {
            ("GET", "/repos/acme/shop/issues/42/comments") => {
                let page: usize = request
                    .url
                    .query_pairs()
                    .find(|(key, _)| key == "page")
                    .map_or(1, |(_, value)| value.parse().unwrap());
                let listed: Vec<Value> = stored
                    .iter()
                    .skip((page - 1) * 100)
                    .take(100)
                    .map(|(id, body)| Self::json(*id, body))
                    .collect();
                ResponseTemplate::new(200).set_body_json(listed)
            }
            ("POST", "/repos/acme/shop/issues/42/comments") => {
                let id = 1_000 + stored.len() as u64;
                let text = body();
                stored.push((id, text.clone()));
                ResponseTemplate::new(201).set_body_json(Self::json(id, &text))
            }
            ("PATCH", path) if path.starts_with("/repos/acme/shop/issues/comments/") => {
                let id: u64 = path.rsplit('/').next().unwrap().parse().unwrap();
                let text = body();
                match stored.iter_mut().find(|(stored_id, _)| *stored_id == id) {
                    Some(entry) => {
                        entry.1 = text.clone();
                        ResponseTemplate::new(200).set_body_json(Self::json(id, &text))
                    }
                    None => not_found(),
                }
            }
            _ => not_found(),
        }
    }
}

#[tokio::test]
async fn the_plan_comment_is_created_once_then_updated_in_place() {
    let server = MockServer::start().await;
    let comments = Comments::default();
    // Other people's comments first, more than one page of them.
    for index in 0..120 {
        comments
            .stored
            .lock()
            .unwrap()
            .push((index, format!("LGTM {index}")));
    }
    Mock::given(wiremock::matchers::path_regex("^/repos/acme/shop/issues/"))
        .respond_with(comments.clone())
        .mount(&server)
        .await;
    let pulls = token_client(&server).pull_requests();
    let marker = "<!-- ferry-plan -->";
    let first = pulls
        .upsert_comment(REPO, 42, marker, &format!("{marker}\nplan one"))
        .await
        .unwrap();
    assert_eq!(first.outcome, CommentOutcome::Created);
    let second = pulls
        .upsert_comment(REPO, 42, marker, &format!("{marker}\nplan two"))
        .await
        .unwrap();
    assert_eq!(second.outcome, CommentOutcome::Updated);
    assert_eq!(second.id, first.id);
    let third = pulls
        .upsert_comment(REPO, 42, marker, &format!("{marker}\nplan two"))
        .await
        .unwrap();
    assert_eq!(third.outcome, CommentOutcome::Unchanged);
    let ours: Vec<String> = comments
        .bodies()
        .into_iter()
        .filter(|body| body.contains(marker))
        .collect();
    assert_eq!(ours, [format!("{marker}\nplan two")]);
    assert_eq!(comments.bodies().len(), 121);
    assert_eq!(
        second.url.as_deref(),
        Some(
            format!(
                "https://github.com/acme/shop/pull/42#issuecomment-{}",
                first.id
            )
            .as_str()
        )
    );
}

fn status(state: CommitState, description: &str) -> CommitStatus {
    CommitStatus {
        context: "ferry/plan".into(),
        state,
        description: description.into(),
        target_url: None,
    }
}

#[tokio::test]
async fn a_commit_status_is_set_with_its_context_and_a_short_description() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/repos/acme/shop/statuses/{COMMIT}")))
        .and(body_partial_json(
            json!({"state": "failure", "context": "ferry/plan"}),
        ))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "id": 1, "state": "failure", "context": "ferry/plan"
        })))
        .expect(1)
        .mount(&server)
        .await;
    token_client(&server)
        .pull_requests()
        .set_status(
            REPO,
            COMMIT,
            &status(CommitState::Failure, &"x".repeat(300)),
        )
        .await
        .unwrap();
    let requests = server.received_requests().await.unwrap();
    let sent: Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(sent["description"].as_str().unwrap().chars().count(), 140);
}

#[tokio::test]
async fn a_branch_head_comes_with_an_etag_and_asking_again_with_it_is_a_free_304() {
    let server = MockServer::start().await;
    let etag = "W/\"7f3c8d1e2b4a\"";
    Mock::given(method("GET"))
        .and(path("/repos/acme/shop/git/ref/heads/main"))
        .and(header("if-none-match", etag))
        .respond_with(ResponseTemplate::new(304).insert_header("etag", etag))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/shop/git/ref/heads/main"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("etag", etag)
                .set_body_json(json!({
                    "ref": "refs/heads/main",
                    "node_id": "REF_kwDOA",
                    "url": "https://api.github.com/repos/acme/shop/git/refs/heads/main",
                    "object": {
                        "sha": COMMIT,
                        "type": "commit",
                        "url": format!("https://api.github.com/repos/acme/shop/git/commits/{COMMIT}")
                    }
                })),
        )
        .with_priority(2)
        .mount(&server)
        .await;
    let source = token_client(&server).source();
    let first = source.branch_head(REPO, "main", None).await.unwrap();
    assert_eq!(
        first,
        BranchHead::At {
            sha: COMMIT.into(),
            etag: Some(etag.into())
        }
    );
    assert_eq!(
        source.branch_head(REPO, "main", Some(etag)).await.unwrap(),
        BranchHead::Unchanged
    );
}

#[tokio::test]
async fn a_missing_branch_is_missing_and_a_compare_lists_the_changed_paths() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/shop/git/ref/heads/gone"))
        .respond_with(not_found())
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/shop/compare/aaaa...bbbb"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "status": "ahead",
            "ahead_by": 2,
            "behind_by": 0,
            "total_commits": 2,
            "files": [
                {"filename": "src/main.rs", "status": "modified"},
                {"filename": "ecs/web.json", "status": "renamed", "previous_filename": "ecs/old.json"}
            ]
        })))
        .mount(&server)
        .await;
    let source = token_client(&server).source();
    assert_eq!(
        source.branch_head(REPO, "gone", None).await.unwrap(),
        BranchHead::Missing
    );
    assert_eq!(
        source.changed_paths(REPO, "aaaa", "bbbb").await.unwrap(),
        Some(vec![
            "ecs/old.json".to_string(),
            "ecs/web.json".to_string(),
            "src/main.rs".to_string()
        ])
    );
}

#[tokio::test]
async fn a_github_app_gets_one_installation_token_and_reuses_it_until_near_expiry() {
    let server = MockServer::start().await;
    let expires = (time::OffsetDateTime::now_utc() + time::Duration::hours(1))
        .replace_nanosecond(0)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    Mock::given(method("GET"))
        .and(path("/repos/acme/shop/installation"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": 4242, "app_id": 12, "target_type": "Organization", "account": {"login": "acme"}
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/app/installations/4242/access_tokens"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "token": "ghs_installation",
            "expires_at": expires,
            "permissions": {"contents": "read", "pull_requests": "write", "statuses": "write"}
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/shop/contents/.ferry/web.yaml"))
        .and(header("authorization", "Bearer ghs_installation"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(file_answer(".ferry/web.yaml", MANIFEST)),
        )
        .expect(2)
        .mount(&server)
        .await;
    let credentials = Credentials::App {
        app_id: 12,
        private_key: include_str!("fixtures/test-app-key.pem").into(),
        installation_id: None,
    };
    let source = GitHub::new(&server.uri(), credentials).unwrap().source();
    for _ in 0..2 {
        assert_eq!(
            source
                .read_file(REPO, COMMIT, ".ferry/web.yaml")
                .await
                .unwrap()
                .as_deref(),
            Some(MANIFEST)
        );
    }
    // The app authenticated with a JWT (three base64url parts) to get its token.
    let requests = server.received_requests().await.unwrap();
    let jwt = requests
        .iter()
        .find(|request| request.url.path().ends_with("/access_tokens"))
        .and_then(|request| request.headers.get("authorization"))
        .and_then(|value| value.to_str().ok())
        .unwrap()
        .trim_start_matches("Bearer ")
        .to_string();
    assert_eq!(jwt.split('.').count(), 3);
}
