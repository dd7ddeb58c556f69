//! [`GitSource`] and [`BranchHeads`] over the contents, git refs and compare APIs.

use async_trait::async_trait;
use base64::Engine;
use ferry_core::convergence::Relation;
use ferry_core::ports::{BranchHead, BranchHeads, GitSource, PortError, PortResult};
use http::{Method, StatusCode};
use serde::Deserialize;
use serde_json::Value;

use crate::api::{GitHub, JSON, RAW, checked_path, checked_repository, encode, failure};

/// The compare API lists at most this many files; a longer list is cut, so it is not trusted.
const COMPARE_FILE_LIMIT: usize = 300;

/// Files of a repository at a commit, and its branch heads, read through GitHub's REST API.
///
/// - `read_file`: `GET /repos/{owner}/{repo}/contents/{path}?ref={commit}`; the JSON carries the
///   content in base64 up to 1 MB; a larger file (up to 100 MB) comes back without content and
///   is fetched again as raw bytes (`Accept: application/vnd.github.raw+json`). A missing file is
///   `Ok(None)`, a folder or submodule is `Invalid`, non-UTF-8 content is `Invalid`.
/// - `list_dir`: the same endpoint on a folder (at most 1,000 entries, GitHub's limit).
/// - `branch_head`: `GET /repos/{owner}/{repo}/git/ref/heads/{branch}` with `If-None-Match`; a
///   304 costs no rate limit.
/// - `changed_paths`: `GET /repos/{owner}/{repo}/compare/{base}...{head}`.
/// - `compare_commits`: the same endpoint's `status` (`ahead`, `behind`, `identical`,
///   `diverged`); `head_of_branch`: `branch_head` without an ETag.
#[derive(Clone)]
pub struct GithubSource {
    api: GitHub,
}

impl GithubSource {
    pub fn new(api: GitHub) -> Self {
        Self { api }
    }
}

#[derive(Deserialize)]
struct Contents {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    encoding: Option<String>,
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    size: u64,
}

fn contents_path(repository: &str, path: &str, commit: &str) -> PortResult<String> {
    let repository = checked_repository(repository)?;
    let path = checked_path(path)?;
    if commit.trim().is_empty() {
        return Err(PortError::Invalid("no commit to read at".into()));
    }
    Ok(format!(
        "/repos/{repository}/contents/{}?ref={}",
        encode(&path, true),
        encode(commit.trim(), false)
    ))
}

#[async_trait]
impl GitSource for GithubSource {
    async fn read_file(
        &self,
        repository: &str,
        commit: &str,
        path: &str,
    ) -> PortResult<Option<String>> {
        let url = contents_path(repository, path, commit)?;
        let subject = format!("{path} of {repository} at {commit}");
        let reply = self
            .api
            .send(Method::GET, repository, &url, JSON, None, None)
            .await?;
        match reply.status {
            StatusCode::NOT_FOUND => return Ok(None),
            status if !status.is_success() => return Err(failure(&reply, &subject)),
            _ => {}
        }
        let json: Value = reply.json(&subject)?;
        if json.is_array() {
            return Err(PortError::Invalid(format!(
                "{subject} is a folder, not a file"
            )));
        }
        let contents: Contents = serde_json::from_value(json).map_err(|error| {
            PortError::Transient(format!("{subject}: unexpected contents answer: {error}"))
        })?;
        if contents.kind != "file" {
            return Err(PortError::Invalid(format!(
                "{subject} is a {}, not a file",
                contents.kind
            )));
        }
        if contents.size == 0 {
            return Ok(Some(String::new()));
        }
        match (contents.encoding.as_deref(), contents.content.as_deref()) {
            (Some("base64"), Some(content)) if !content.is_empty() => {
                let compact: String = content.split_whitespace().collect();
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(compact)
                    .map_err(|error| {
                        PortError::Transient(format!("{subject}: content is not base64: {error}"))
                    })?;
                String::from_utf8(bytes)
                    .map(Some)
                    .map_err(|_| PortError::Invalid(format!("{subject} is not UTF-8 text")))
            }
            // Over 1 MB the JSON has no content (`"encoding": "none"`): ask for the raw bytes.
            _ => {
                let raw = self
                    .api
                    .send(Method::GET, repository, &url, RAW, None, None)
                    .await
                    .map_err(|error| match error {
                        PortError::Transient(message)
                            if message.contains("utf-8") || message.contains("UTF-8") =>
                        {
                            PortError::Invalid(format!("{subject} is not UTF-8 text"))
                        }
                        other => other,
                    })?;
                match raw.status {
                    StatusCode::NOT_FOUND => Ok(None),
                    status if status.is_success() => Ok(Some(raw.body)),
                    _ => Err(failure(&raw, &subject)),
                }
            }
        }
    }

    async fn list_dir(
        &self,
        repository: &str,
        commit: &str,
        path: &str,
    ) -> PortResult<Vec<String>> {
        let url = contents_path(repository, path, commit)?;
        let subject = format!("folder {path} of {repository} at {commit}");
        let reply = self
            .api
            .send(Method::GET, repository, &url, JSON, None, None)
            .await?;
        match reply.status {
            StatusCode::NOT_FOUND => return Ok(Vec::new()),
            status if !status.is_success() => return Err(failure(&reply, &subject)),
            _ => {}
        }
        let json: Value = reply.json(&subject)?;
        let Some(entries) = json.as_array() else {
            return Err(PortError::Invalid(format!(
                "{subject} is a file, not a folder"
            )));
        };
        let mut names: Vec<String> = entries
            .iter()
            .filter(|entry| entry.get("type").and_then(Value::as_str) == Some("file"))
            .filter_map(|entry| entry.get("name").and_then(Value::as_str))
            .map(str::to_string)
            .collect();
        names.sort();
        Ok(names)
    }

    async fn compare_commits(
        &self,
        repository: &str,
        base: &str,
        head: &str,
    ) -> PortResult<Relation> {
        if base.eq_ignore_ascii_case(head) {
            return Ok(Relation::Identical);
        }
        let repository = checked_repository(repository)?;
        // `per_page=1`: only the status is read, so list as few commits and files as allowed.
        let url = format!(
            "/repos/{repository}/compare/{}...{}?per_page=1",
            encode(base, false),
            encode(head, false)
        );
        let subject = format!("history of {repository} from {base} to {head}");
        let reply = self
            .api
            .send(Method::GET, repository, &url, JSON, None, None)
            .await?;
        match reply.status {
            // A commit GitHub no longer has (force-pushed away and collected): unrelated.
            StatusCode::NOT_FOUND => return Ok(Relation::Diverged),
            status if !status.is_success() => return Err(failure(&reply, &subject)),
            _ => {}
        }
        #[derive(Deserialize)]
        struct Compare {
            status: String,
        }
        let compare: Compare = reply.json(&subject)?;
        Ok(match compare.status.as_str() {
            "identical" => Relation::Identical,
            "ahead" => Relation::Ahead,
            "behind" => Relation::Behind,
            _ => Relation::Diverged,
        })
    }

    async fn commit_message(&self, repository: &str, commit: &str) -> PortResult<Option<String>> {
        let repository = checked_repository(repository)?;
        let url = format!("/repos/{repository}/commits/{}", encode(commit, false));
        let subject = format!("commit {commit} of {repository}");
        let reply = self
            .api
            .send(Method::GET, repository, &url, JSON, None, None)
            .await?;
        match reply.status {
            StatusCode::NOT_FOUND | StatusCode::UNPROCESSABLE_ENTITY => return Ok(None),
            status if !status.is_success() => return Err(failure(&reply, &subject)),
            _ => {}
        }
        #[derive(Deserialize)]
        struct Commit {
            commit: Message,
        }
        #[derive(Deserialize)]
        struct Message {
            message: String,
        }
        let found: Commit = reply.json(&subject)?;
        Ok(Some(found.commit.message))
    }

    async fn head_of_branch(&self, repository: &str, branch: &str) -> PortResult<Option<String>> {
        match BranchHeads::branch_head(self, repository, branch, None).await? {
            BranchHead::At { sha, .. } => Ok(Some(sha)),
            BranchHead::Missing => Ok(None),
            // Only an ETag makes GitHub answer 304.
            BranchHead::Unchanged => Err(PortError::Transient(format!(
                "GitHub answered Not Modified for branch {branch} of {repository} without an ETag"
            ))),
        }
    }
}

#[async_trait]
impl BranchHeads for GithubSource {
    async fn branch_head(
        &self,
        repository: &str,
        branch: &str,
        etag: Option<&str>,
    ) -> PortResult<BranchHead> {
        let repository = checked_repository(repository)?;
        let branch = checked_path(branch)?;
        let url = format!(
            "/repos/{repository}/git/ref/heads/{}",
            encode(&branch, true)
        );
        let subject = format!("branch {branch} of {repository}");
        let reply = self
            .api
            .send(
                Method::GET,
                repository,
                &url,
                JSON,
                etag.map(|etag| (&http::header::IF_NONE_MATCH, etag)),
                None,
            )
            .await?;
        match reply.status {
            StatusCode::NOT_MODIFIED => return Ok(BranchHead::Unchanged),
            // 409: the repository is empty.
            StatusCode::NOT_FOUND | StatusCode::CONFLICT => return Ok(BranchHead::Missing),
            status if !status.is_success() => return Err(failure(&reply, &subject)),
            _ => {}
        }
        #[derive(Deserialize)]
        struct Ref {
            object: Target,
        }
        #[derive(Deserialize)]
        struct Target {
            sha: String,
        }
        let found: Value = reply.json(&subject)?;
        // A prefix match answers with a list of refs: the branch itself does not exist.
        if found.is_array() {
            return Ok(BranchHead::Missing);
        }
        let found: Ref = serde_json::from_value(found).map_err(|error| {
            PortError::Transient(format!("{subject}: unexpected ref answer: {error}"))
        })?;
        Ok(BranchHead::At {
            sha: found.object.sha,
            etag: reply.header("etag").map(str::to_string),
        })
    }

    async fn changed_paths(
        &self,
        repository: &str,
        base: &str,
        head: &str,
    ) -> PortResult<Option<Vec<String>>> {
        let repository = checked_repository(repository)?;
        let url = format!(
            "/repos/{repository}/compare/{}...{}",
            encode(base, false),
            encode(head, false)
        );
        let subject = format!("changes of {repository} from {base} to {head}");
        let reply = self
            .api
            .send(Method::GET, repository, &url, JSON, None, None)
            .await?;
        match reply.status {
            // The old head is gone (a force push): nobody can tell what changed.
            StatusCode::NOT_FOUND => return Ok(None),
            status if !status.is_success() => return Err(failure(&reply, &subject)),
            _ => {}
        }
        #[derive(Deserialize)]
        struct Compare {
            #[serde(default)]
            status: String,
            #[serde(default)]
            files: Vec<File>,
        }
        #[derive(Deserialize)]
        struct File {
            filename: String,
            #[serde(default)]
            previous_filename: Option<String>,
        }
        let compare: Compare = reply.json(&subject)?;
        if compare.files.len() >= COMPARE_FILE_LIMIT || compare.status == "diverged" {
            return Ok(None);
        }
        let mut paths: Vec<String> = Vec::new();
        for file in compare.files {
            paths.extend(file.previous_filename);
            paths.push(file.filename);
        }
        paths.sort();
        paths.dedup();
        Ok(Some(paths))
    }
}
