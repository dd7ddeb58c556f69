//! From raw request to verdict, synchronously and without I/O: the size limit, the signature
//! (before anything is parsed), the headers, the body's encoding, the payload, the relevance
//! pre-filter. What `webhook-intake`, `ferry serve`, the fuzz target and the benchmark share.

use std::borrow::Cow;
use std::collections::BTreeSet;

use ferry_core::events::{PullRequestDetail, WebhookPushDetail};
use ferry_core::trigger::{PULL_REQUEST, PUSH, PushDetail};
use http::HeaderMap;

use crate::payload;
use crate::relevance::Relevance;
use crate::signature::{self, SignatureError};

/// GitHub's cap on a webhook payload: bigger ones are never sent.
pub const MAX_BODY_BYTES: usize = 25 * 1024 * 1024;
/// GitHub lists at most this many commits in a push; a push that lists as many may have more.
pub const MAX_LISTED_COMMITS: usize = 2048;
/// A head commit message longer than this is cut (on a character boundary).
pub const MAX_MESSAGE_BYTES: usize = 4096;

pub const SIGNATURE_HEADER: &str = "x-hub-signature-256";
pub const EVENT_HEADER: &str = "x-github-event";
pub const DELIVERY_HEADER: &str = "x-github-delivery";

/// The pull request actions Ferry acts on.
pub const PULL_REQUEST_ACTIONS: &[&str] = &["opened", "reopened", "synchronize", "closed"];

/// A request refused before anything was done, with its HTTP status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// 401.
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// 413.
    #[error("the body is {size} bytes, over GitHub's limit of {limit} bytes for a webhook payload")]
    TooLarge { size: usize, limit: usize },
    /// 400.
    #[error("no {0} header: this is not a GitHub webhook delivery")]
    MissingHeader(&'static str),
    /// 415.
    #[error(
        "content type {0} is not one GitHub sends; set the webhook's content type to application/json"
    )]
    UnsupportedContentType(String),
    /// 400.
    #[error("{0}")]
    Malformed(String),
}

impl Refusal {
    pub fn status(&self) -> u16 {
        match self {
            Refusal::Signature(_) => 401,
            Refusal::TooLarge { .. } => 413,
            Refusal::UnsupportedContentType(_) => 415,
            Refusal::MissingHeader(_) | Refusal::Malformed(_) => 400,
        }
    }
}

/// What to do with a verified delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// `ping`: the webhook was just created. Answer 200.
    Ping {
        zen: Option<String>,
        hook_id: Option<u64>,
    },
    /// Put this on the bus (after de-duplicating the delivery).
    Publish(Publication),
    /// Answer 2xx with the reason; emit nothing.
    Ignored(String),
}

/// An event to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Publication {
    Push(Box<WebhookPushDetail>),
    PullRequest(Box<PullRequestDetail>),
}

impl Publication {
    /// The event's `detail-type`: the GitHub event name.
    pub fn detail_type(&self) -> &'static str {
        match self {
            Publication::Push(_) => PUSH,
            Publication::PullRequest(_) => PULL_REQUEST,
        }
    }
}

/// A verified, classified delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspection<'a> {
    /// `X-GitHub-Event`.
    pub event: String,
    /// `X-GitHub-Delivery`: required for what is published.
    pub delivery: Option<String>,
    pub verdict: Verdict,
    /// The payload JSON (the `payload` field of a form-encoded body, decoded), for the archive.
    pub payload: Cow<'a, [u8]>,
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h [u8]> {
    headers.get(name).map(|value| value.as_bytes())
}

fn header_text(headers: &HeaderMap, name: &'static str) -> Result<Option<String>, Refusal> {
    match headers.get(name) {
        None => Ok(None),
        Some(value) => value
            .to_str()
            .map(|text| Some(text.trim().to_string()))
            .map_err(|_| Refusal::Malformed(format!("the {name} header is not text"))),
    }
}

/// Checks and classifies one delivery. Nothing in `body` is looked at before its signature is
/// verified.
pub fn inspect<'a>(
    secret: &[u8],
    headers: &HeaderMap,
    body: &'a [u8],
    relevance: &Relevance,
) -> Result<Inspection<'a>, Refusal> {
    if body.len() > MAX_BODY_BYTES {
        return Err(Refusal::TooLarge {
            size: body.len(),
            limit: MAX_BODY_BYTES,
        });
    }
    signature::verify(secret, header(headers, SIGNATURE_HEADER), body)?;

    let event = header_text(headers, EVENT_HEADER)?
        .filter(|event| !event.is_empty())
        .ok_or(Refusal::MissingHeader("X-GitHub-Event"))?;
    let delivery = header_text(headers, DELIVERY_HEADER)?.filter(|id| !id.is_empty());
    let payload = decode_body(headers, body)?;
    let verdict = classify(&event, &payload, relevance, delivery.as_deref())?;
    if matches!(verdict, Verdict::Publish(_)) && delivery.is_none() {
        return Err(Refusal::MissingHeader("X-GitHub-Delivery"));
    }
    Ok(Inspection {
        event,
        delivery,
        verdict,
        payload,
    })
}

/// The payload JSON of a body sent as `application/json` or as
/// `application/x-www-form-urlencoded` (the JSON in the `payload` field).
fn decode_body<'a>(headers: &HeaderMap, body: &'a [u8]) -> Result<Cow<'a, [u8]>, Refusal> {
    let content_type = header_text(headers, "content-type")?.unwrap_or_default();
    let media_type = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match media_type.as_str() {
        // GitHub always says; a body without a type is taken for JSON.
        "" | "application/json" => Ok(Cow::Borrowed(body)),
        "application/x-www-form-urlencoded" => form_urlencoded::parse(body)
            .find(|(name, _)| name == "payload")
            .map(|(_, value)| Cow::Owned(value.into_owned().into_bytes()))
            .ok_or_else(|| {
                Refusal::Malformed("the form-encoded body has no `payload` field".into())
            }),
        _ => Err(Refusal::UnsupportedContentType(content_type)),
    }
}

fn parse<'de, T: serde::Deserialize<'de>>(event: &str, payload: &'de [u8]) -> Result<T, Refusal> {
    serde_json::from_slice(payload).map_err(|error| {
        Refusal::Malformed(format!(
            "the {event} payload is not what GitHub sends: {error}"
        ))
    })
}

/// The verdict on a verified payload of `event`.
pub fn classify(
    event: &str,
    payload: &[u8],
    relevance: &Relevance,
    delivery: Option<&str>,
) -> Result<Verdict, Refusal> {
    match event {
        "ping" => {
            let ping: payload::Ping = parse(event, payload)?;
            Ok(Verdict::Ping {
                zen: ping.zen,
                hook_id: ping.hook_id,
            })
        }
        PUSH => classify_push(parse(event, payload)?, relevance, delivery),
        PULL_REQUEST => classify_pull_request(parse(event, payload)?, relevance, delivery),
        other => {
            // Not parsed beyond its action: an ignored event must stay cheap.
            let action = serde_json::from_slice::<payload::AnyEvent>(payload)
                .ok()
                .and_then(|any| any.action)
                .map(|action| format!(" ({action})"))
                .unwrap_or_default();
            Ok(Verdict::Ignored(format!(
                "event {other}{action} is not one Ferry acts on (push, pull_request, ping)"
            )))
        }
    }
}

fn is_zero_sha(sha: &str) -> bool {
    !sha.is_empty() && sha.bytes().all(|byte| byte == b'0')
}

fn cut(text: &str, limit: usize) -> String {
    if text.len() <= limit {
        return text.to_string();
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

fn classify_push(
    push: payload::Push<'_>,
    relevance: &Relevance,
    delivery: Option<&str>,
) -> Result<Verdict, Refusal> {
    let Some(branch) = push.git_ref.strip_prefix("refs/heads/") else {
        return Ok(Verdict::Ignored(format!(
            "{} is not a branch: only pushes to branches deploy",
            push.git_ref
        )));
    };
    if push.deleted || is_zero_sha(&push.after) {
        return Ok(Verdict::Ignored(format!(
            "branch {branch} was deleted: nothing to deploy"
        )));
    }
    let default_branch = push.repository.default_branch();
    if !relevance.tracks(branch, default_branch) {
        return Ok(Verdict::Ignored(format!(
            "branch {branch} is not tracked; tracked: {}",
            relevance.describe_tracked(default_branch)
        )));
    }
    let complete = !push.commits.is_empty() && push.commits.len() < MAX_LISTED_COMMITS;
    let paths: BTreeSet<&str> = push
        .commits
        .iter()
        .flat_map(|commit| {
            commit
                .added
                .iter()
                .chain(&commit.modified)
                .chain(&commit.removed)
        })
        .map(|path| path.0.as_ref())
        .collect();
    if complete && !paths.iter().any(|path| relevance.watch_paths.matches(path)) {
        return Ok(Verdict::Ignored(format!(
            "none of the {} changed paths matches the watched paths ({}; FERRY_WATCH_PATHS)",
            paths.len(),
            relevance.watch_paths.describe()
        )));
    }
    let head = push.head_commit.as_ref();
    let author = head
        .and_then(|commit| commit.author.as_ref())
        .and_then(|author| author.username.clone().or_else(|| author.name.clone()));
    let pusher = push
        .pusher
        .and_then(|pusher| pusher.name)
        .or_else(|| push.sender.and_then(|sender| sender.login));
    let detail = WebhookPushDetail {
        push: PushDetail {
            repository: push.repository.full_name.clone(),
            git_ref: push.git_ref.clone(),
            branch: branch.to_string(),
            before: push.before,
            after: push.after.clone(),
            changed_paths: complete.then(|| paths.into_iter().map(str::to_string).collect()),
            pusher,
            seen_by: Some("webhook".into()),
        },
        clone_url: push.repository.clone_url(),
        default_branch: default_branch.to_string(),
        commit: push.after,
        author,
        head_commit_message: head
            .and_then(|commit| commit.message.as_deref())
            .map(|message| cut(message, MAX_MESSAGE_BYTES)),
        paths_truncated: push.commits.len() >= MAX_LISTED_COMMITS,
        created: push.created,
        forced: push.forced,
        delivery_id: delivery.map(str::to_string),
        payload: None,
    };
    Ok(Verdict::Publish(Publication::Push(Box::new(detail))))
}

fn classify_pull_request(
    event: payload::PullRequestEvent,
    relevance: &Relevance,
    delivery: Option<&str>,
) -> Result<Verdict, Refusal> {
    let pull = event.pull_request;
    if !PULL_REQUEST_ACTIONS.contains(&event.action.as_str()) {
        return Ok(Verdict::Ignored(format!(
            "pull_request action {} is not one Ferry acts on ({})",
            event.action,
            PULL_REQUEST_ACTIONS.join(", ")
        )));
    }
    let default_branch = event.repository.default_branch();
    if !relevance.tracks(&pull.base.git_ref, default_branch) {
        return Ok(Verdict::Ignored(format!(
            "pull request #{} is into {}, which is not tracked; tracked: {}",
            event.number,
            pull.base.git_ref,
            relevance.describe_tracked(default_branch)
        )));
    }
    let detail = PullRequestDetail {
        repository: event.repository.full_name.clone(),
        clone_url: event.repository.clone_url(),
        default_branch: default_branch.to_string(),
        number: event.number,
        action: event.action,
        commit: pull.head.sha.clone(),
        head_sha: pull.head.sha,
        head_ref: pull.head.git_ref,
        head_repository: pull.head.repo.map(|repo| repo.full_name),
        base_ref: pull.base.git_ref,
        base_sha: pull.base.sha,
        title: cut(&pull.title, 1024),
        author: pull.user.and_then(|user| user.login),
        draft: pull.draft,
        merged: pull.merged.unwrap_or(false),
        html_url: pull.html_url,
        delivery_id: delivery.map(str::to_string),
    };
    Ok(Verdict::Publish(Publication::PullRequest(Box::new(detail))))
}
