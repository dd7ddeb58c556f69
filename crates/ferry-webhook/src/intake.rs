//! The whole intake of one delivery: verify and classify ([`crate::inspect`]), de-duplicate the
//! delivery, keep an oversized payload in the archive, put one event on the bus, answer.
//!
//! | case | status | body `status` |
//! | --- | --- | --- |
//! | over 25 MB | 413 | `refused` |
//! | signature missing or wrong | 401 | `refused` |
//! | not a webhook (no `X-GitHub-Event`), bad body | 400 | `refused` |
//! | a content type GitHub does not send | 415 | `refused` |
//! | `ping` | 200 | `pong` |
//! | other events and actions, untracked branches, unwatched paths | 200 | `ignored` + `reason` |
//! | a delivery seen before | 200 | `duplicate` |
//! | `push`, `pull_request` published | 202 | `accepted` |
//! | secret, table, archive or bus unavailable | 500 / 503 | `failed` |
//!
//! Ordering: the delivery is recorded (conditional write) before the event is published, and
//! forgotten again when publishing fails or does not finish in time, so GitHub's redelivery is
//! processed and not taken for a duplicate. Everything runs under a deadline well inside
//! GitHub's 10 s timeout; the work stops early enough to leave time for that forgetting (a
//! delivery recorded but never published would lose the push). Forgetting one whose event did
//! reach the bus costs at most a second event for the same commit, which deploys once anyway.

use std::sync::Arc;
use std::time::Duration;

use ferry_core::events::{MAX_ENTRY_BYTES, entry_size};
use ferry_core::ports::{BusEvent, Clock, DeliveryLog, EventPublisher, PayloadArchive, PortError};
use ferry_core::trigger::EVENT_SOURCE;
use http::HeaderMap;
use serde_json::{Value, json};
use tokio::time::{Instant, timeout_at};
use tracing::{info, warn};

use crate::inspect::{Inspection, Publication, Refusal, Verdict, inspect};
use crate::relevance::Relevance;
use crate::secret::WebhookSecret;
use crate::signature::SignatureError;

/// An HTTP answer: status and a JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookResponse {
    pub status: u16,
    pub body: Value,
}

impl WebhookResponse {
    pub fn refused(status: u16, reason: impl Into<String>) -> Self {
        Self {
            status,
            body: json!({"status": "refused", "reason": reason.into()}),
        }
    }

    pub fn failed(status: u16, reason: impl Into<String>) -> Self {
        Self {
            status,
            body: json!({"status": "failed", "reason": reason.into()}),
        }
    }

    fn from_refusal(refusal: &Refusal) -> Self {
        Self::refused(refusal.status(), refusal.to_string())
    }

    /// The `status` field of the body.
    pub fn outcome(&self) -> &str {
        self.body
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or("")
    }
}

/// Tunables, from the environment.
#[derive(Debug, Clone)]
pub struct IntakeSettings {
    pub relevance: Relevance,
    /// How long a delivery id is remembered. GitHub redelivers (by hand or API) deliveries of
    /// the past 3 days; a week is ample.
    pub delivery_ttl: time::Duration,
    /// Details bigger than this (as EventBridge counts) are cut and the payload archived.
    pub max_entry_bytes: usize,
    /// The answer is due within this, whatever the table or the bus do.
    pub deadline: Duration,
}

impl Default for IntakeSettings {
    fn default() -> Self {
        Self {
            relevance: Relevance::default(),
            delivery_ttl: time::Duration::days(7),
            // A margin below EventBridge's limit.
            max_entry_bytes: MAX_ENTRY_BYTES - 4 * 1024,
            deadline: Duration::from_secs(8),
        }
    }
}

impl IntakeSettings {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        Self {
            relevance: Relevance::from_lookup(lookup),
            ..Self::default()
        }
    }
}

/// The ports the intake uses.
pub struct Intake {
    pub secret: WebhookSecret,
    pub deliveries: Arc<dyn DeliveryLog>,
    pub events: Arc<dyn EventPublisher>,
    /// Where oversized payloads go (`FERRY_PAYLOAD_BUCKET`); without one, an oversized detail
    /// is only cut.
    pub archive: Option<Arc<dyn PayloadArchive>>,
    pub clock: Arc<dyn Clock>,
    pub settings: IntakeSettings,
}

impl Intake {
    /// Handles one delivery: `headers` as received, `body` as received (already base64-decoded
    /// when it came through a function URL).
    pub async fn handle(&self, headers: &HeaderMap, body: &[u8]) -> WebhookResponse {
        let deadline = Deadline::after(self.settings.deadline);
        let secret = match timeout_at(deadline.work, self.secret.current()).await {
            Ok(Ok(secret)) => secret,
            Err(_) => return out_of_time("reading the webhook secret"),
            Ok(Err(error)) => {
                warn!(%error, "no webhook secret");
                return WebhookResponse::failed(
                    500,
                    format!("cannot read the webhook secret: {error}"),
                );
            }
        };
        let inspection = match inspect(&secret, headers, body, &self.settings.relevance) {
            Err(Refusal::Signature(SignatureError::Mismatch)) => {
                // Perhaps the secret was rotated since it was cached.
                match timeout_at(deadline.work, self.secret.recheck()).await {
                    Ok(Ok(Some(fresh))) => inspect(&fresh, headers, body, &self.settings.relevance),
                    _ => Err(Refusal::Signature(SignatureError::Mismatch)),
                }
            }
            other => other,
        };
        let inspection = match inspection {
            Ok(inspection) => inspection,
            Err(refusal) => {
                info!(status = refusal.status(), reason = %refusal, "webhook refused");
                return WebhookResponse::from_refusal(&refusal);
            }
        };
        let Inspection {
            event,
            delivery,
            verdict,
            payload,
        } = inspection;
        match verdict {
            Verdict::Ping { zen, hook_id } => {
                info!(hook = ?hook_id, "ping");
                WebhookResponse {
                    status: 200,
                    body: json!({"status": "pong", "event": event, "zen": zen, "hookId": hook_id}),
                }
            }
            Verdict::Ignored(reason) => {
                info!(event = %event, delivery = ?delivery, reason = %reason, "ignored");
                WebhookResponse {
                    status: 200,
                    body: json!({"status": "ignored", "event": event, "delivery": delivery, "reason": reason}),
                }
            }
            Verdict::Publish(publication) => {
                let delivery = delivery.unwrap_or_default();
                self.publish(&event, &delivery, publication, &payload, deadline)
                    .await
            }
        }
    }

    async fn publish(
        &self,
        event: &str,
        delivery: &str,
        publication: Publication,
        payload: &[u8],
        deadline: Deadline,
    ) -> WebhookResponse {
        let expires_at = self.clock.now() + self.settings.delivery_ttl;
        let recorded = timeout_at(
            deadline.work,
            self.deliveries.record_first(delivery, event, expires_at),
        )
        .await;
        match recorded {
            Ok(Ok(true)) => {}
            // The conditional write may have landed after all: undo it, or the redelivery
            // would be taken for a duplicate.
            Err(_) => {
                self.forget(delivery, deadline).await;
                return out_of_time("recording the delivery");
            }
            Ok(Ok(false)) => {
                info!(event, delivery, "duplicate delivery");
                return WebhookResponse {
                    status: 200,
                    body: json!({"status": "duplicate", "event": event, "delivery": delivery,
                        "reason": "this delivery was received before; nothing was published again"}),
                };
            }
            Ok(Err(error)) => {
                warn!(%error, delivery, "cannot record the delivery");
                return WebhookResponse::failed(
                    status_of(&error),
                    format!("cannot record delivery {delivery}: {error}"),
                );
            }
        }
        let result = timeout_at(
            deadline.work,
            self.build_and_put(event, delivery, publication, payload),
        )
        .await
        .unwrap_or_else(|_| {
            Err(PortError::Transient(
                "publishing did not finish in time".into(),
            ))
        });
        match result {
            Ok((bus_event, truncated)) => {
                info!(event, delivery, detail_type = %bus_event.detail_type, truncated, "published");
                WebhookResponse {
                    status: 202,
                    body: json!({"status": "accepted", "event": event, "delivery": delivery,
                        "detailType": bus_event.detail_type, "pathsTruncated": truncated}),
                }
            }
            Err(error) => {
                warn!(%error, delivery, "cannot publish; forgetting the delivery so a redelivery counts");
                self.forget(delivery, deadline).await;
                WebhookResponse::failed(
                    status_of(&error),
                    format!("cannot publish the {event} event: {error}; redeliver it from GitHub"),
                )
            }
        }
    }

    /// Forgets a recorded delivery, within what is left of the deadline.
    async fn forget(&self, delivery: &str, deadline: Deadline) {
        match timeout_at(deadline.answer, self.deliveries.forget(delivery)).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => warn!(%error, delivery, "cannot forget the delivery"),
            Err(_) => warn!(delivery, "forgetting the delivery did not finish in time"),
        }
    }

    async fn build_and_put(
        &self,
        event: &str,
        delivery: &str,
        publication: Publication,
        payload: &[u8],
    ) -> Result<(BusEvent, bool), PortError> {
        let detail_type = publication.detail_type();
        let mut truncated = false;
        let detail = match publication {
            Publication::Push(mut detail) => {
                let mut value = to_value(&detail)?;
                if self.too_big(detail_type, &value) {
                    // Keep the whole payload; the event says where, and that paths are cut.
                    if let Some(archive) = &self.archive {
                        let key = format!("github/{event}/{delivery}.json");
                        detail.payload = Some(archive.store(&key, payload).await?);
                    }
                    detail.push.changed_paths = None;
                    detail.paths_truncated = true;
                    if let Some(message) = &mut detail.head_commit_message {
                        message.truncate(message.floor_char_boundary(512));
                    }
                    truncated = true;
                    value = to_value(&detail)?;
                }
                value
            }
            Publication::PullRequest(detail) => to_value(&detail)?,
        };
        let bus_event = BusEvent {
            source: EVENT_SOURCE.to_string(),
            detail_type: detail_type.to_string(),
            detail,
        };
        self.events.publish(&bus_event).await?;
        Ok((bus_event, truncated))
    }

    fn too_big(&self, detail_type: &str, detail: &Value) -> bool {
        let text = detail.to_string();
        entry_size(EVENT_SOURCE, detail_type, &text) > self.settings.max_entry_bytes
    }
}

fn to_value<T: serde::Serialize>(detail: &T) -> Result<Value, PortError> {
    serde_json::to_value(detail)
        .map_err(|error| PortError::Invalid(format!("the event detail is not JSON: {error}")))
}

/// When the answer is due, and when the work must stop to leave time for undoing it.
#[derive(Debug, Clone, Copy)]
struct Deadline {
    work: Instant,
    answer: Instant,
}

impl Deadline {
    fn after(limit: Duration) -> Deadline {
        let now = Instant::now();
        // A quarter of the time, at most 1.5 s, is kept for forgetting a delivery.
        let reserve = (limit / 4).min(Duration::from_millis(1500));
        Deadline {
            work: now + (limit - reserve),
            answer: now + limit,
        }
    }
}

fn out_of_time(doing: &str) -> WebhookResponse {
    warn!(doing, "webhook intake ran out of time");
    WebhookResponse::failed(
        503,
        format!("the intake ran out of time {doing}; nothing was published, redeliver it"),
    )
}

/// 503 for what may pass (GitHub or a person can redeliver), 500 for what will not.
fn status_of(error: &PortError) -> u16 {
    if error.is_retryable() { 503 } else { 500 }
}
