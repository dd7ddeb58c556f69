//! Ferry's GitHub adapters, over the REST API with [octocrab](https://docs.rs/octocrab)'s HTTP
//! stack (rustls, timeouts):
//!
//! | port | adapter | API |
//! | --- | --- | --- |
//! | [`GitSource`](ferry_core::ports::GitSource) | [`GithubSource`] | contents at a commit (base64, raw over 1 MB) |
//! | [`BranchHeads`](ferry_core::ports::BranchHeads) | [`GithubSource`] | git refs with `If-None-Match`, compare |
//! | [`PullRequests`](ferry_core::ports::PullRequests) | [`GithubPullRequests`] | issue comments (upsert by marker), commit statuses |
//! | [`Notifier`](ferry_core::ports::Notifier) | [`GithubEvidence`] | deployments and their statuses, the `ferry/deploy` commit status |
//!
//! Build one [`GitHub`] per cold start with [`Credentials`] (a token, or a GitHub App whose
//! installation tokens are cached until shortly before they expire) and an API URL
//! ([`DEFAULT_API_URL`], a GitHub Enterprise Server's `https://HOST/api/v3`, or a test server).
//! Rate limits and other failures become classified
//! [`PortError`](ferry_core::ports::PortError)s, as described in [`api`].

pub mod api;
pub mod auth;
mod error;
pub mod evidence;
mod pulls;
mod source;

pub use api::{DEFAULT_API_URL, GitHub};
pub use auth::Credentials;
pub use error::GithubError;
pub use evidence::GithubEvidence;
pub use pulls::{GithubPullRequests, MAX_COMMENT_CHARS};
pub use source::GithubSource;
