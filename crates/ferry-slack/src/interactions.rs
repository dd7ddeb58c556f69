//! `POST /slack/interactions`: a click on one of Ferry's buttons, verified as Slack signs it,
//! acted on through the typed actions as the clicking Slack user.
//!
//! - The signature (`X-Slack-Signature: v0=hex(HMAC-SHA256(secret, "v0:" + timestamp + ":" +
//!   body))`, constant time) and a timestamp within 5 minutes of now are checked before the
//!   body is read: otherwise 401 and nothing changes.
//! - The action runs before the answer (a record read, a conditional write, one Step Functions
//!   call: well under Slack's 3 seconds); what Slack should show afterwards (the parent message
//!   re-rendered with who did what, a thread reply for a rollback, an ephemeral refusal) is a
//!   [`FollowUp`] the host runs after answering.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use ferry_core::control::{Action, Actor, Channel, Identity};
use ferry_core::signing::verify_hex;
use ferry_handlers::Deps;
use ferry_handlers::control::{ActionError, act};
use serde_json::Value;
use time::OffsetDateTime;
use tracing::{info, warn};

use crate::blocks::{Message, actions, mention};
use crate::notifier::SlackNotifier;

/// How far a request's timestamp may be from now (Slack's own advice: 5 minutes).
pub const MAX_SKEW_SECONDS: i64 = 300;

/// Work to do once Slack has its answer.
pub type FollowUp = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The interactions endpoint: the ports actions use, the signing secret, and (when a bot token
/// is configured) Slack to update messages with.
pub struct Interactions {
    pub deps: Deps,
    pub signing_secret: Vec<u8>,
    pub slack: Option<SlackNotifier>,
    /// Run the follow-up before answering, bounded by [`INLINE_FOLLOW_UP`]: in Lambda, work
    /// left running after the answer would be frozen with the execution environment.
    /// `ferry serve` answers first and follows up in the background.
    pub follow_up_inline: bool,
}

/// How long a follow-up may delay the answer when it runs inline (Slack allows 3 s in all).
pub const INLINE_FOLLOW_UP: std::time::Duration = std::time::Duration::from_millis(2000);

/// The HTTP answer, and what to do after it.
pub struct Handled {
    pub status: u16,
    pub body: String,
    pub follow_up: Option<FollowUp>,
}

impl Handled {
    fn answer(status: u16, body: &str) -> Handled {
        Handled {
            status,
            body: body.to_string(),
            follow_up: None,
        }
    }
}

/// A click, as Ferry reads it from Slack's `block_actions` payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Click {
    pub user: String,
    pub channel: Option<String>,
    pub action_id: String,
    pub deployment_id: String,
    pub response_url: Option<String>,
}

impl Interactions {
    /// Handles one request: `timestamp` and `signature` are the `X-Slack-Request-Timestamp` and
    /// `X-Slack-Signature` headers, `body` the raw form-encoded body.
    pub async fn handle(
        self: &Arc<Self>,
        timestamp: Option<&str>,
        signature: Option<&str>,
        body: &[u8],
        now: OffsetDateTime,
    ) -> Handled {
        if let Err(reason) = self.verify(timestamp, signature, body, now) {
            warn!(%reason, "Slack interaction refused");
            return Handled::answer(401, reason);
        }
        let click = match parse(body) {
            Ok(Some(click)) => click,
            // Not a button of Ferry's (a view, a shortcut): nothing to do.
            Ok(None) => return Handled::answer(200, ""),
            Err(reason) => return Handled::answer(400, &reason),
        };
        let Some(action) = action_of(&click.action_id) else {
            return Handled::answer(200, "");
        };
        let actor = Actor {
            identity: Identity::Slack(click.user.clone()),
            via: Channel::Slack,
        };
        let rollback = matches!(action, Action::Rollback { .. });
        let acted = act(&self.deps, &actor, &click.deployment_id, action).await;
        let this = self.clone();
        let follow_up: FollowUp = match acted {
            Ok(outcome) => {
                info!(deployment = %click.deployment_id, user = %click.user, outcome = %outcome.describe(), "Slack action");
                // An answered wait is told in the thread by its Answered event already; only
                // what the traffic workflow does needs saying here (never twice).
                let traffic = matches!(
                    outcome,
                    ferry_handlers::control::Outcome::TrafficStarted { .. }
                );
                let say = traffic && (rollback || click.action_id == actions::PROMOTE);
                Box::pin(async move { this.after_action(&click, say).await })
            }
            Err(ActionError::Refused(refusal)) => {
                let text = format!(":no_entry: {refusal}");
                Box::pin(async move { this.tell(&click, &text).await })
            }
            Err(ActionError::Failed(error)) => {
                warn!(deployment = %click.deployment_id, %error, "Slack action failed");
                let text = format!(":warning: that did not go through: {}", error.message);
                Box::pin(async move { this.tell(&click, &text).await })
            }
        };
        Handled {
            status: 200,
            body: String::new(),
            follow_up: Some(follow_up),
        }
    }

    fn verify(
        &self,
        timestamp: Option<&str>,
        signature: Option<&str>,
        body: &[u8],
        now: OffsetDateTime,
    ) -> Result<(), &'static str> {
        let timestamp = timestamp.ok_or("missing X-Slack-Request-Timestamp")?;
        let signature = signature.ok_or("missing X-Slack-Signature")?;
        let seconds: i64 = timestamp
            .trim()
            .parse()
            .map_err(|_| "X-Slack-Request-Timestamp is not a number")?;
        if (now.unix_timestamp() - seconds).abs() > MAX_SKEW_SECONDS {
            return Err("X-Slack-Request-Timestamp is more than 5 minutes from now");
        }
        let hex = signature
            .strip_prefix("v0=")
            .ok_or("X-Slack-Signature is not v0")?;
        let parts: [&[u8]; 4] = [b"v0:", timestamp.trim().as_bytes(), b":", body];
        match verify_hex(&self.signing_secret, &parts, hex.as_bytes()) {
            Some(true) => Ok(()),
            _ => Err("X-Slack-Signature does not match"),
        }
    }

    /// The parent message shows who did what; with `say`, the thread too (a promotion or a
    /// rollback through the traffic workflow, which no Answered event tells).
    async fn after_action(&self, click: &Click, say: bool) {
        let Some(slack) = &self.slack else { return };
        let deployment = match self.deps.store.get(&click.deployment_id).await {
            Ok(Some(deployment)) => deployment,
            _ => return,
        };
        let rollback = click.action_id == actions::ROLLBACK;
        match slack.refresh(&deployment).await {
            Ok(Some(thread)) if say => {
                let text = format!(
                    "{} {} {} {} from Slack",
                    if rollback {
                        ":rewind:"
                    } else {
                        ":fast_forward:"
                    },
                    mention(&Identity::Slack(click.user.clone())),
                    if rollback { "rolled" } else { "promoted" },
                    if rollback {
                        format!("{} back", deployment.service_key())
                    } else {
                        deployment.service_key()
                    }
                );
                let reply = Message {
                    text: text.clone(),
                    blocks: vec![
                        serde_json::json!({"type": "section", "text": {"type": "mrkdwn", "text": text}}),
                    ],
                };
                if let Err(error) = slack.reply(&thread, &reply).await {
                    warn!(%error, "could not say the rollback in the thread");
                }
            }
            Ok(_) => {}
            Err(error) => warn!(%error, "could not update the Slack message"),
        }
    }

    /// Tells only the clicking user: through the interaction's `response_url`, or else an
    /// ephemeral message in the channel.
    async fn tell(&self, click: &Click, text: &str) {
        let Some(slack) = &self.slack else { return };
        let told = match (&click.response_url, &click.channel) {
            (Some(url), _) => slack.api.respond_ephemeral(url, text).await,
            (None, Some(channel)) => slack.api.post_ephemeral(channel, &click.user, text).await,
            (None, None) => return,
        };
        if let Err(error) = told {
            warn!(%error, "could not tell the Slack user");
        }
    }
}

/// Ferry's button `action_id`s to the typed actions.
fn action_of(action_id: &str) -> Option<Action> {
    Some(match action_id {
        actions::APPROVE => Action::Approve,
        actions::REJECT => Action::Reject {
            reason: Some("rejected from Slack".into()),
        },
        actions::PROMOTE => Action::Promote,
        actions::ROLLBACK => Action::Rollback {
            reason: Some("rolled back from Slack".into()),
        },
        _ => return None,
    })
}

/// The click in a form-encoded `payload=<JSON>` body, as Slack posts it. `Ok(None)` for
/// payloads that are not a click on a button.
pub fn parse(body: &[u8]) -> Result<Option<Click>, String> {
    let payload = form_urlencoded::parse(body)
        .find(|(name, _)| name == "payload")
        .map(|(_, value)| value.into_owned())
        .ok_or("the body has no payload field")?;
    let payload: Value =
        serde_json::from_str(&payload).map_err(|error| format!("payload is not JSON: {error}"))?;
    if payload["type"] != "block_actions" {
        return Ok(None);
    }
    let text = |value: &Value| value.as_str().map(str::to_string);
    let Some(action) = payload["actions"].as_array().and_then(|all| all.first()) else {
        return Ok(None);
    };
    let (Some(user), Some(action_id), Some(deployment_id)) = (
        text(&payload["user"]["id"]),
        text(&action["action_id"]),
        text(&action["value"]),
    ) else {
        return Err("payload lacks user.id, or the action its action_id or value".into());
    };
    Ok(Some(Click {
        user,
        channel: text(&payload["channel"]["id"]),
        action_id,
        deployment_id,
        response_url: text(&payload["response_url"]),
    }))
}
