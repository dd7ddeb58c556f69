//! The intake wired to AWS from the environment, the same in Lambda and in `ferry serve`:
//!
//! | variable | use |
//! | --- | --- |
//! | `FERRY_GITHUB_WEBHOOK_SECRET` | the secret itself (local mode) |
//! | `FERRY_GITHUB_WEBHOOK_SECRET_ARN` | otherwise: the Secrets Manager secret holding it (Lambda) |
//! | `FERRY_TABLE` | delivery ids (default `ferry`) |
//! | `FERRY_EVENT_BUS` | where events go (default `ferry`) |
//! | `FERRY_PAYLOAD_BUCKET` | optional: where oversized payloads go |
//! | `FERRY_TRACKED_BRANCHES`, `FERRY_WATCH_PATHS` | the relevance rule ([`crate::relevance`]) |

use std::sync::Arc;

use aws_config::SdkConfig;
use ferry_aws::{
    DynamoDeliveryLog, EventBridgePublisher, Resources, S3Archive, SecretsManagerReader,
};
use ferry_core::ports::{EventPublisher, SystemClock};

use crate::{Intake, IntakeSettings, WebhookSecret};

/// The secret's source from `lookup`; `None` when neither variable is set.
pub fn secret_from_lookup(
    config: &SdkConfig,
    lookup: &impl Fn(&str) -> Option<String>,
) -> Option<WebhookSecret> {
    let get = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
    if let Some(secret) = get("FERRY_GITHUB_WEBHOOK_SECRET") {
        return Some(WebhookSecret::fixed(&secret));
    }
    get("FERRY_GITHUB_WEBHOOK_SECRET_ARN")
        .map(|arn| WebhookSecret::stored(Arc::new(SecretsManagerReader::from_config(config)), arn))
}

/// The payload bucket named by `FERRY_PAYLOAD_BUCKET`, if any.
pub fn payload_bucket(lookup: &impl Fn(&str) -> Option<String>) -> Option<String> {
    lookup("FERRY_PAYLOAD_BUCKET").filter(|value| !value.trim().is_empty())
}

/// The intake on AWS (or the emulator at `AWS_ENDPOINT_URL`), publishing through `events`
/// (normally [`EventBridgePublisher`] on `FERRY_EVENT_BUS`; `ferry serve` wraps it to route
/// locally too).
pub fn intake(
    config: &SdkConfig,
    lookup: impl Fn(&str) -> Option<String>,
    events: Option<Arc<dyn EventPublisher>>,
) -> Result<Intake, String> {
    let resources = Resources::from_lookup(&lookup);
    let secret = secret_from_lookup(config, &lookup).ok_or_else(|| {
        "no webhook secret: set FERRY_GITHUB_WEBHOOK_SECRET_ARN to the Secrets Manager secret \
         (in AWS), or FERRY_GITHUB_WEBHOOK_SECRET to the secret itself (locally)"
            .to_string()
    })?;
    let events = events.unwrap_or_else(|| {
        Arc::new(EventBridgePublisher::from_config(
            config,
            resources.event_bus.clone(),
        ))
    });
    Ok(Intake {
        secret,
        deliveries: Arc::new(DynamoDeliveryLog::from_config(config, resources.table)),
        events,
        archive: payload_bucket(&lookup).map(|bucket| {
            Arc::new(S3Archive::from_config(config, bucket))
                as Arc<dyn ferry_core::ports::PayloadArchive>
        }),
        clock: Arc::new(SystemClock),
        settings: IntakeSettings::from_lookup(&lookup),
    })
}
