//! The messages, in Block Kit: a deployment's parent message (kept current with `chat.update`)
//! and the replies in its thread.
//!
//! Built by hand with `serde_json`: Ferry needs five block types, and slack-morphism's Block Kit
//! models come with its whole API model (hundreds of types, a long build) for no more checking
//! than [`check_limits`] gives. Every text is cut to Slack's limits.

use ferry_core::control::{Answer, Identity};
use ferry_core::deployment::{Deployment, DeploymentStatus, short_commit};
use ferry_core::lifecycle::Event;
pub use ferry_core::text::cut;
use serde_json::{Value, json};

/// Slack's limits for what Ferry sends (api.slack.com/reference/block-kit).
pub mod limits {
    pub const SECTION_TEXT: usize = 3000;
    pub const CONTEXT_TEXT: usize = 2000;
    pub const BUTTON_TEXT: usize = 75;
    pub const ACTION_ID: usize = 255;
    pub const BUTTON_VALUE: usize = 2000;
    pub const BLOCKS: usize = 50;
    pub const ACTIONS_ELEMENTS: usize = 25;
    /// The `text` fallback of a message (notifications, screen readers).
    pub const MESSAGE_TEXT: usize = 4000;
}

/// The `action_id`s of Ferry's buttons; the button's `value` is the deployment id.
pub mod actions {
    pub const APPROVE: &str = "ferry_approve";
    pub const REJECT: &str = "ferry_reject";
    pub const PROMOTE: &str = "ferry_promote";
    pub const ROLLBACK: &str = "ferry_rollback";
}

/// A message: the text fallback and its blocks.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub text: String,
    pub blocks: Vec<Value>,
}

/// How a person reads in Slack: a Slack user as a mention, anyone else by name.
pub fn mention(identity: &Identity) -> String {
    match identity {
        Identity::Slack(id) => format!("<@{id}>"),
        other => other.to_string(),
    }
}

fn section(text: &str) -> Value {
    json!({"type": "section", "text": {"type": "mrkdwn", "text": cut(text, limits::SECTION_TEXT)}})
}

fn context(text: &str) -> Value {
    json!({"type": "context", "elements": [{"type": "mrkdwn", "text": cut(text, limits::CONTEXT_TEXT)}]})
}

fn button(text: &str, action_id: &str, deployment_id: &str, style: Option<&str>) -> Value {
    let mut button = json!({
        "type": "button",
        "text": {"type": "plain_text", "text": cut(text, limits::BUTTON_TEXT)},
        "action_id": action_id,
        "value": cut(deployment_id, limits::BUTTON_VALUE),
    });
    if let Some(style) = style {
        button["style"] = json!(style);
    }
    button
}

/// Roll back asks once more: it moves production traffic.
fn rollback_button(deployment_id: &str) -> Value {
    let mut button = button(
        "Roll back",
        actions::ROLLBACK,
        deployment_id,
        Some("danger"),
    );
    button["confirm"] = json!({
        "title": {"type": "plain_text", "text": "Roll back?"},
        "text": {"type": "plain_text", "text": "All production traffic goes back to blue now, and green is removed."},
        "confirm": {"type": "plain_text", "text": "Roll back"},
        "deny": {"type": "plain_text", "text": "Cancel"},
    });
    button
}

/// `blue ████████░░ green` (blue's share, then green's, in tenths).
pub fn weights_bar(green: u8) -> String {
    let green_tenths = usize::from(green.min(100)).div_ceil(10);
    format!(
        "blue {}{} green",
        "█".repeat(10 - green_tenths),
        "░".repeat(green_tenths)
    )
}

fn state_line(deployment: &Deployment) -> String {
    let steps = deployment.plan.steps.len();
    match deployment.status {
        DeploymentStatus::Pending | DeploymentStatus::Provisioning => "starting green".into(),
        DeploymentStatus::AwaitingApproval { step } => {
            format!("waiting for approval before step {} of {steps}", step + 1)
        }
        DeploymentStatus::Shifting { step } => {
            format!("moving traffic, step {} of {steps}", step + 1)
        }
        DeploymentStatus::Baking { step } => format!("baking step {} of {steps}", step + 1),
        DeploymentStatus::Holding { step } => format!("holding at step {} of {steps}", step + 1),
        DeploymentStatus::Finalizing => "green is primary; blue kept warm".into(),
        DeploymentStatus::CleaningUp => "removing blue".into(),
        DeploymentStatus::Succeeded => ":white_check_mark: succeeded".into(),
        DeploymentStatus::RollingBack => ":rewind: rolling back".into(),
        DeploymentStatus::RolledBack => ":leftwards_arrow_with_hook: rolled back".into(),
        DeploymentStatus::Failed => ":x: failed".into(),
    }
}

fn plan_line(deployment: &Deployment) -> String {
    let steps: Vec<String> = deployment
        .plan
        .steps
        .iter()
        .map(|step| {
            let approve = if step.approve { "approval, " } else { "" };
            if step.bake_seconds > 0 {
                format!(
                    "{approve}{}% {}",
                    step.weight,
                    ferry_core::duration::format_duration(step.bake_seconds)
                )
            } else {
                format!("{approve}{}%", step.weight)
            }
        })
        .collect();
    steps.join(" → ")
}

/// The buttons the deployment's state offers; none once it ended.
fn buttons(deployment: &Deployment) -> Vec<Value> {
    let id = &deployment.id;
    let undecided = deployment
        .pending_token
        .as_ref()
        .is_none_or(|token| token.answered.is_none());
    match deployment.status {
        DeploymentStatus::AwaitingApproval { .. } if undecided => vec![
            button("Approve", actions::APPROVE, id, Some("primary")),
            button("Reject", actions::REJECT, id, None),
        ],
        // A first deployment's promoted green only rolls forward: no Roll back to offer.
        DeploymentStatus::Finalizing if deployment.only_rolls_forward() => {
            vec![button("Promote", actions::PROMOTE, id, Some("primary"))]
        }
        DeploymentStatus::Holding { .. } | DeploymentStatus::Finalizing => vec![
            button("Promote", actions::PROMOTE, id, Some("primary")),
            rollback_button(id),
        ],
        DeploymentStatus::Shifting { .. } | DeploymentStatus::Baking { .. } => {
            vec![rollback_button(id)]
        }
        _ => Vec::new(),
    }
}

/// Who answered the wait, and when, in place of the buttons they clicked.
fn answered_line(deployment: &Deployment) -> Option<String> {
    let answered = deployment.pending_token.as_ref()?.answered.as_ref()?;
    let what = match answered.answer {
        Answer::Approved => "approved",
        Answer::Rejected => "rejected",
        Answer::Aborted => "rolled back",
    };
    Some(format!(
        "{what} by {} at {:02}:{:02} UTC",
        mention(&answered.by.identity),
        answered.at.hour(),
        answered.at.minute()
    ))
}

/// The parent message: what is deployed where, by whom, the plan, the weights, the state, and
/// the buttons for what people may do now.
pub fn parent(deployment: &Deployment) -> Message {
    let source = &deployment.source;
    let author = source
        .author
        .as_deref()
        .map(|author| format!(" by {author}"))
        .unwrap_or_default();
    let headline = format!(
        "*{}* ← `{}`{author} ({})",
        deployment.service_key(),
        short_commit(&source.commit),
        source.manifest_path
    );
    let status = format!(
        "`{}` {}%  ·  {}",
        weights_bar(deployment.green_weight),
        deployment.green_weight,
        state_line(deployment)
    );
    let mut blocks = vec![
        section(&headline),
        context(&format!("{} · {}", deployment.id, plan_line(deployment))),
        section(&status),
    ];
    if let Some(reason) = &deployment.reason {
        blocks.push(context(reason));
    }
    if let Some(line) = answered_line(deployment) {
        blocks.push(context(&line));
    }
    let buttons = buttons(deployment);
    if !buttons.is_empty() {
        blocks.push(json!({"type": "actions", "block_id": "ferry_actions", "elements": buttons}));
    }
    Message {
        text: cut(
            &format!(
                "{} ← {}{author}: {}",
                deployment.service_key(),
                short_commit(&source.commit),
                state_line(deployment)
            ),
            limits::MESSAGE_TEXT,
        ),
        blocks,
    }
}

/// The thread reply for `event`, if the channel's verbosity (`notify.slack.verbosity`) says
/// a person needs to know it. At the default, waiting (a task set created, a bake begun, blue
/// kept warm) posts nothing: the parent message shows it.
pub fn reply(deployment: &Deployment, event: &Event) -> Option<Message> {
    if !event.worth_telling(deployment.policy.slack_verbosity) {
        return None;
    }
    let text = cut(&event.describe(deployment), limits::SECTION_TEXT);
    Some(Message {
        text: cut(&text, limits::MESSAGE_TEXT),
        blocks: vec![section(&text)],
    })
}

/// What breaks one of Slack's limits in `message`, if anything (Slack would refuse it whole).
pub fn check_limits(message: &Message) -> Result<(), String> {
    if message.blocks.len() > limits::BLOCKS {
        return Err(format!("{} blocks", message.blocks.len()));
    }
    if message.text.chars().count() > limits::MESSAGE_TEXT {
        return Err("message text too long".into());
    }
    for block in &message.blocks {
        let chars = |value: &Value| value.as_str().map_or(0, |text| text.chars().count());
        match block["type"].as_str() {
            Some("section") if chars(&block["text"]["text"]) > limits::SECTION_TEXT => {
                return Err("section text too long".into());
            }
            Some("context") => {
                for element in block["elements"].as_array().into_iter().flatten() {
                    if chars(&element["text"]) > limits::CONTEXT_TEXT {
                        return Err("context text too long".into());
                    }
                }
            }
            Some("actions") => {
                let elements = block["elements"].as_array().cloned().unwrap_or_default();
                if elements.len() > limits::ACTIONS_ELEMENTS {
                    return Err("too many buttons".into());
                }
                for element in &elements {
                    if chars(&element["text"]["text"]) > limits::BUTTON_TEXT
                        || chars(&element["action_id"]) > limits::ACTION_ID
                        || chars(&element["value"]) > limits::BUTTON_VALUE
                    {
                        return Err("a button breaks a limit".into());
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}
