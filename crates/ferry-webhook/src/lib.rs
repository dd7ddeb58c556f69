//! GitHub webhook intake: what `webhook-intake` (behind a Lambda function URL) and
//! `ferry serve` (`POST /webhooks/github`) do with a delivery; both mount it through
//! `ferry-http`.
//!
//! 1. refuse bodies over GitHub's 25 MB cap (413);
//! 2. verify `X-Hub-Signature-256` in constant time over the raw body, before parsing anything
//!    (401) — [`signature`];
//! 3. decode the body (`application/json`, or `application/x-www-form-urlencoded` with a
//!    `payload` field) and parse what Ferry needs (400 when malformed) — [`inspect`];
//! 4. classify: `ping` answers 200; `push` and `pull_request` (opened, reopened, synchronize,
//!    closed) are published when relevant ([`relevance`] holds the rule); everything else
//!    answers 200 with the reason it was ignored;
//! 5. de-duplicate `X-GitHub-Delivery` with one conditional write ([`DeliveryLog`]);
//! 6. put one event on the bus (`source` `ferry.github`, `detail-type` the GitHub event name),
//!    under EventBridge's 256 KB: an oversized push keeps its payload in the
//!    [`PayloadArchive`] — [`intake`].
//!
//! Steps 1–4 are a pure function, [`inspect::inspect`]: the fuzz target and the benchmark run it
//! as is. Nothing here talks to AWS; the ports' adapters live in `ferry-aws`.
//!
//! [`DeliveryLog`]: ferry_core::ports::DeliveryLog
//! [`PayloadArchive`]: ferry_core::ports::PayloadArchive

#[cfg(feature = "aws")]
pub mod aws;
pub mod fixtures;
pub mod inspect;
pub mod intake;
mod payload;
pub mod relevance;
pub mod secret;
pub mod signature;

pub use inspect::{Inspection, Publication, Refusal, Verdict, inspect};
pub use intake::{Intake, IntakeSettings, WebhookResponse};
pub use relevance::{PathFilter, Relevance};
pub use secret::WebhookSecret;

#[cfg(test)]
mod tests;
