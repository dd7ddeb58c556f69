//! The webhook secret: given directly (`FERRY_GITHUB_WEBHOOK_SECRET`, local mode), or read from
//! a secret store (Secrets Manager, `FERRY_GITHUB_WEBHOOK_SECRET_ARN`) and cached across
//! invocations of a warm Lambda.
//!
//! A cached value is re-read after [`REFRESH_AFTER`]; and when a signature does not match,
//! once per [`RECHECK_AFTER`] at most, in case the secret was rotated meanwhile. The value is
//! trimmed (a trailing newline from `--secret-string file://...` is not part of it).

use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_core::ports::{PortError, PortResult, SecretReader};
use tokio::sync::Mutex;

/// How long a value read from the store is used without reading it again.
pub const REFRESH_AFTER: Duration = Duration::from_secs(15 * 60);
/// After a mismatch, the store is asked again only if the cached value is older than this.
pub const RECHECK_AFTER: Duration = Duration::from_secs(60);

enum Source {
    Fixed(Arc<[u8]>),
    Stored {
        reader: Arc<dyn SecretReader>,
        id: String,
    },
}

/// Where the secret comes from, and its cached value.
pub struct WebhookSecret {
    source: Source,
    cache: Mutex<Option<(Arc<[u8]>, Instant)>>,
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.source {
            Source::Fixed(_) => f.write_str("WebhookSecret(fixed, redacted)"),
            Source::Stored { id, .. } => write!(f, "WebhookSecret(stored in {id})"),
        }
    }
}

fn checked(value: &str, origin: &str) -> PortResult<Arc<[u8]>> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        // An empty key would make every signature computable by anyone.
        return Err(PortError::Invalid(format!(
            "the webhook secret in {origin} is empty; put the secret the GitHub webhook uses there"
        )));
    }
    Ok(Arc::from(trimmed.as_bytes()))
}

impl WebhookSecret {
    /// A secret given directly.
    pub fn fixed(secret: &str) -> Self {
        Self {
            source: Source::Fixed(Arc::from(secret.trim().as_bytes())),
            cache: Mutex::new(None),
        }
    }

    /// A secret read from `reader` under `id`, when first needed.
    pub fn stored(reader: Arc<dyn SecretReader>, id: impl Into<String>) -> Self {
        Self {
            source: Source::Stored {
                reader,
                id: id.into(),
            },
            cache: Mutex::new(None),
        }
    }

    /// The secret to verify with.
    pub async fn current(&self) -> PortResult<Arc<[u8]>> {
        let (reader, id) = match &self.source {
            Source::Fixed(value) if value.is_empty() => {
                return Err(PortError::Invalid(
                    "FERRY_GITHUB_WEBHOOK_SECRET is empty; set it to the GitHub webhook's secret"
                        .into(),
                ));
            }
            Source::Fixed(value) => return Ok(value.clone()),
            Source::Stored { reader, id } => (reader, id),
        };
        let mut cache = self.cache.lock().await;
        if let Some((value, read_at)) = cache.as_ref()
            && read_at.elapsed() < REFRESH_AFTER
        {
            return Ok(value.clone());
        }
        let value = checked(&reader.read_secret(id).await?, id)?;
        *cache = Some((value.clone(), Instant::now()));
        Ok(value)
    }

    /// After a mismatch: the store's value if it was not read within [`RECHECK_AFTER`] and has
    /// changed since (the secret was rotated), `None` otherwise.
    pub async fn recheck(&self) -> PortResult<Option<Arc<[u8]>>> {
        let Source::Stored { reader, id } = &self.source else {
            return Ok(None);
        };
        let mut cache = self.cache.lock().await;
        let previous = match cache.as_ref() {
            Some((_, read_at)) if read_at.elapsed() < RECHECK_AFTER => return Ok(None),
            Some((value, _)) => Some(value.clone()),
            None => None,
        };
        let value = checked(&reader.read_secret(id).await?, id)?;
        *cache = Some((value.clone(), Instant::now()));
        Ok((previous.as_ref() != Some(&value)).then_some(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_testing::memory::MemorySecrets;

    #[tokio::test]
    async fn a_stored_secret_is_read_once_and_trimmed() {
        let store = Arc::new(MemorySecrets::new());
        store.put("arn:secret", "s3cr3t\n");
        let secret = WebhookSecret::stored(store.clone(), "arn:secret");
        assert_eq!(&*secret.current().await.unwrap(), b"s3cr3t");
        assert_eq!(&*secret.current().await.unwrap(), b"s3cr3t");
        assert_eq!(store.reads(), 1);
    }

    #[tokio::test]
    async fn a_recheck_right_after_reading_does_not_ask_the_store_again() {
        let store = Arc::new(MemorySecrets::new());
        store.put("id", "old");
        let secret = WebhookSecret::stored(store.clone(), "id");
        secret.current().await.unwrap();
        store.put("id", "new");
        assert_eq!(secret.recheck().await.unwrap(), None);
        assert_eq!(store.reads(), 1);
    }

    #[tokio::test]
    async fn an_empty_or_missing_secret_is_an_error_not_a_key() {
        let store = Arc::new(MemorySecrets::new());
        store.put("blank", "  \n");
        assert!(
            WebhookSecret::stored(store.clone(), "blank")
                .current()
                .await
                .is_err()
        );
        assert!(matches!(
            WebhookSecret::stored(store, "missing").current().await,
            Err(PortError::NotFound(_))
        ));
        assert!(WebhookSecret::fixed(" ").current().await.is_err());
    }
}
