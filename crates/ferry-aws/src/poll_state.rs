//! [`PollState`] in Ferry's DynamoDB table: one item per polled branch.
//!
//! | `pk` | `sk` | other attributes |
//! | --- | --- | --- |
//! | `POLL#<owner/name>#<branch>` | `POLL` | `repository`, `branch`, `sha`, `etag` (when GitHub sent one), `seenAt` (RFC 3339) |
//!
//! Writes are plain puts: one scheduled poller runs at a time, and a lost update only means a
//! branch is reported again, which the deploy execution names make harmless.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use ferry_core::ports::{PollMark, PollState, PortError, PortResult};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::dynamodb::names::{PK, SK};
use crate::dynamodb::s;
use crate::error::port_error;

const POLL_SK: &str = "POLL";

/// The poller's memory in DynamoDB.
#[derive(Debug, Clone)]
pub struct DynamoPollState {
    client: Client,
    table: String,
}

impl DynamoPollState {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

/// The item's partition key.
pub fn poll_pk(repository: &str, branch: &str) -> String {
    format!("POLL#{}#{branch}", repository.to_ascii_lowercase())
}

#[async_trait]
impl PollState for DynamoPollState {
    async fn get_mark(&self, repository: &str, branch: &str) -> PortResult<Option<PollMark>> {
        let subject = format!("poll state of {repository}@{branch}");
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, s(poll_pk(repository, branch)))
            .key(SK, s(POLL_SK))
            .consistent_read(true)
            .send()
            .await
            .map_err(|error| port_error("GetItem", &subject, error))?;
        let Some(item) = output.item else {
            return Ok(None);
        };
        let text = |name: &str| item.get(name).and_then(|value| value.as_s().ok()).cloned();
        let sha = text("sha")
            .ok_or_else(|| PortError::Invalid(format!("{subject}: the item has no sha")))?;
        let seen_at = text("seenAt")
            .and_then(|at| OffsetDateTime::parse(&at, &Rfc3339).ok())
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        Ok(Some(PollMark {
            sha,
            etag: text("etag"),
            seen_at,
        }))
    }

    async fn put_mark(&self, repository: &str, branch: &str, mark: &PollMark) -> PortResult<()> {
        let subject = format!("poll state of {repository}@{branch}");
        let seen_at = mark
            .seen_at
            .format(&Rfc3339)
            .map_err(|error| PortError::Invalid(format!("{subject}: {error}")))?;
        let mut call = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(PK, s(poll_pk(repository, branch)))
            .item(SK, s(POLL_SK))
            .item("repository", s(repository))
            .item("branch", s(branch))
            .item("sha", s(&mark.sha))
            .item("seenAt", s(seen_at));
        if let Some(etag) = &mark.etag {
            call = call.item("etag", s(etag));
        }
        call.send()
            .await
            .map_err(|error| port_error("PutItem", &subject, error))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_items_are_keyed_by_repository_and_branch() {
        assert_eq!(
            poll_pk("Acme/Shop", "release/1"),
            "POLL#acme/shop#release/1"
        );
    }
}
