//! What people may do to a deployment, decided without ports: who is asking ([`Actor`]), what
//! they ask ([`Action`]), and either what must happen ([`Effect`]) or why not ([`Refusal`]).
//!
//! Every front end (the CLI, Slack, the web UI) authenticates its user into an [`Actor`] and
//! calls the same actions (`ferry_handlers::actions`), which apply these rules over the ports.
//! Nothing here trusts a name the caller merely declares: an [`Identity`] is only ever built by
//! the code that verified it (a Slack signature, the UI's session, the AWS IAM principal of a
//! signed request), or locally, where whoever runs the CLI owns the emulator anyway.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::deployment::{Deployment, DeploymentStatus, TokenKind};
use crate::plan::Preset;

/// Who someone is, as the front end that authenticated them knows them. Written as in the
/// manifest's `approvers`: `U0123ABC` (Slack), `github:alice`, an IAM ARN, `local:alice`,
/// `email:alice@example.com`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Identity {
    /// A Slack user id (`U…` or `W…`), from a request whose Slack signature was verified.
    Slack(String),
    /// A GitHub login, from the UI's GitHub sign-in.
    GitHub(String),
    /// The IAM principal of a SigV4-signed request: a user ARN or an STS assumed-role ARN.
    Iam(String),
    /// The operating-system user (or `--as`) of a local CLI: trusted, as the emulator is theirs.
    Local(String),
    /// The verified email of a person the web UI's load balancer signed in (OIDC).
    Email(String),
}

impl Identity {
    /// Parses an identity as the manifest and `--as` write it.
    pub fn parse(text: &str) -> Result<Identity, String> {
        let text = text.trim();
        if let Some(login) = text.strip_prefix("github:") {
            let valid = !login.is_empty()
                && login.len() <= 39
                && !login.starts_with('-')
                && login.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
            return if valid {
                Ok(Identity::GitHub(login.to_string()))
            } else {
                Err(format!(
                    "expected a GitHub login after github:, found \"{login}\""
                ))
            };
        }
        if let Some(user) = text.strip_prefix("local:") {
            return if user.is_empty() {
                Err("expected a user name after local:".into())
            } else {
                Ok(Identity::Local(user.to_string()))
            };
        }
        if let Some(address) = text.strip_prefix("email:") {
            let valid = address
                .split_once('@')
                .is_some_and(|(user, domain)| !user.is_empty() && domain.contains('.'))
                && !address.chars().any(|c| c.is_whitespace() || c.is_control());
            return if valid {
                Ok(Identity::Email(address.to_string()))
            } else {
                Err(format!(
                    "expected an email address after email:, found \"{address}\""
                ))
            };
        }
        if text.starts_with("arn:") {
            return if iam_principal(text).is_some() {
                Ok(Identity::Iam(text.to_string()))
            } else {
                Err(format!(
                    "expected an IAM user or role ARN (arn:aws:iam::ACCOUNT:user/NAME, arn:aws:iam::ACCOUNT:role/NAME) or an assumed-role ARN, found \"{text}\""
                ))
            };
        }
        let slack = text.len() >= 3
            && (text.starts_with('U') || text.starts_with('W'))
            && text
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        if slack {
            return Ok(Identity::Slack(text.to_string()));
        }
        Err(format!(
            "expected a Slack user id like U0123ABC, github:LOGIN, email:ADDRESS or an IAM ARN, found \"{text}\""
        ))
    }

    /// A local actor (`--as`, `X-Ferry-As`): written as in `approvers`, or a bare name for a
    /// local user.
    pub fn parse_local(text: &str) -> Result<Identity, String> {
        let text = text.trim();
        match Identity::parse(text) {
            Ok(identity) => Ok(identity),
            Err(_) if !text.is_empty() && !text.contains(':') => {
                Ok(Identity::Local(text.to_string()))
            }
            Err(problem) if text.is_empty() => Err(format!("expected a name: {problem}")),
            Err(problem) => Err(problem),
        }
    }

    /// Whether this identity is the approver written as `approver`. GitHub logins compare
    /// without case; an IAM role ARN stands for every session of that role.
    pub fn is(&self, approver: &Identity) -> bool {
        match (self, approver) {
            (Identity::GitHub(me), Identity::GitHub(them)) => me.eq_ignore_ascii_case(them),
            (Identity::Email(me), Identity::Email(them)) => me.eq_ignore_ascii_case(them),
            (Identity::Iam(me), Identity::Iam(them)) => {
                me == them
                    || matches!(
                        (iam_principal(me), iam_principal(them)),
                        (Some(IamPrincipal::Session { account, role, .. }), Some(IamPrincipal::Role { account: a, role: r }))
                            if account == a && role == r
                    )
            }
            (me, them) => me == them,
        }
    }

    /// The name a person goes by, to compare with a commit's author (self-approval).
    pub fn person(&self) -> &str {
        match self {
            Identity::Slack(id) => id,
            Identity::GitHub(login) => login,
            Identity::Local(user) => user,
            // The part before the @, as Git authors often go by it.
            Identity::Email(address) => address.split('@').next().unwrap_or(address),
            Identity::Iam(arn) => match iam_principal(arn) {
                Some(IamPrincipal::User { name, .. }) => name,
                Some(IamPrincipal::Session { session, .. }) => session,
                _ => arn,
            },
        }
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Identity::Slack(id) => write!(f, "{id}"),
            Identity::GitHub(login) => write!(f, "github:{login}"),
            Identity::Iam(arn) => write!(f, "{arn}"),
            Identity::Local(user) => write!(f, "local:{user}"),
            Identity::Email(address) => write!(f, "email:{address}"),
        }
    }
}

impl Serialize for Identity {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Identity {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Identity::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, PartialEq, Eq)]
enum IamPrincipal<'a> {
    User {
        name: &'a str,
    },
    Role {
        account: &'a str,
        role: &'a str,
    },
    Session {
        account: &'a str,
        role: &'a str,
        session: &'a str,
    },
}

/// `arn:PARTITION:iam::ACCOUNT:user/[path/]NAME`, `…:role/[path/]NAME` or
/// `arn:PARTITION:sts::ACCOUNT:assumed-role/ROLE/SESSION`.
fn iam_principal(arn: &str) -> Option<IamPrincipal<'_>> {
    fn last(path: &str) -> Option<&str> {
        path.rsplit('/').next().filter(|name| !name.is_empty())
    }
    let mut parts = arn.splitn(6, ':');
    let (_, _partition, service, region, account, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    if !region.is_empty() || account.len() != 12 || !account.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    match (service, resource.split_once('/')) {
        ("iam", Some(("user", path))) => Some(IamPrincipal::User { name: last(path)? }),
        ("iam", Some(("role", path))) => Some(IamPrincipal::Role {
            account,
            role: last(path)?,
        }),
        ("sts", Some(("assumed-role", rest))) => {
            let (role, session) = rest.split_once('/')?;
            (!role.is_empty() && !session.is_empty()).then_some(IamPrincipal::Session {
                account,
                role,
                session,
            })
        }
        _ => None,
    }
}

/// A person whose identity a front end verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Actor {
    pub identity: Identity,
    /// Where the request came from: `cli`, `slack`, `ui`.
    pub via: Channel,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Channel {
    Cli,
    Slack,
    Ui,
    /// A newer push to the branch (`onNewerPush: cancel`), by its pusher.
    Push,
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let via = match self.via {
            Channel::Cli => "CLI",
            Channel::Slack => "Slack",
            Channel::Ui => "web UI",
            Channel::Push => "a newer push",
        };
        write!(f, "{} via {via}", self.identity)
    }
}

/// What a person asks of a deployment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "action",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum Action {
    /// Let the deployment go on past the approval it waits for.
    Approve,
    /// Refuse the approval it waits for: it rolls back.
    Reject {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// A held deployment: all traffic to green, then finish. While blue is kept warm: remove
    /// blue now.
    Promote,
    /// All traffic back to blue, green removed. Anyone who may act on the deployment may ask:
    /// it is the safe direction.
    Rollback {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// A held deployment: move to another traffic position and hold there.
    MoveTo { preset: Preset },
}

impl Action {
    pub fn name(&self) -> &'static str {
        match self {
            Action::Approve => "approve",
            Action::Reject { .. } => "reject",
            Action::Promote => "promote",
            Action::Rollback { .. } => "rollback",
            Action::MoveTo { .. } => "move",
        }
    }

    /// Actions that let a deployment go on are for its approvers; stopping it is for anyone.
    fn needs_approver(&self) -> bool {
        !matches!(self, Action::Rollback { .. })
    }
}

/// Why an action was not taken. Nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(
    tag = "refusal",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum Refusal {
    #[error("deployment {deployment_id} does not exist (`ferry status` lists them)")]
    NotFound { deployment_id: String },
    #[error("cannot {action} deployment {deployment_id}: it is {status}; {hint}")]
    NotAllowed {
        deployment_id: String,
        action: String,
        status: String,
        hint: String,
    },
    #[error("{actor} is not an approver of {service} (approvers: {})", approvers.join(", "))]
    NotApprover {
        actor: String,
        service: String,
        approvers: Vec<String>,
    },
    #[error(
        "{actor} pushed this commit and {service} forbids approving one's own push (approval.selfApproval: false)"
    )]
    SelfApproval { actor: String, service: String },
    #[error("the wait of deployment {deployment_id} was already answered: {decision}")]
    AlreadyDecided {
        deployment_id: String,
        decision: String,
    },
}

/// How a person answered a wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Answer {
    /// Go on (an approval given, a bake or keep-warm ended early by a promotion).
    Approved,
    Rejected,
    /// Stopped to roll back.
    Aborted,
}

impl Answer {
    /// The past tense used in records and messages.
    pub fn name(self) -> &'static str {
        match self {
            Answer::Approved => "approved",
            Answer::Rejected => "rejected",
            Answer::Aborted => "aborted",
        }
    }

    /// The error name the waiting task fails with (`None`: it succeeds).
    pub fn error(self) -> Option<&'static str> {
        match self {
            Answer::Approved => None,
            Answer::Rejected => Some("Rejected"),
            Answer::Aborted => Some("Aborted"),
        }
    }
}

/// The answer given to a pending wait, stored with its token before the token is used, so that
/// exactly one answer is ever sent, and a retry of the same answer sends it again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Answered {
    pub answer: Answer,
    pub by: Actor,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The cause a failed task carries (rejection and abort reasons).
    pub reason: String,
}

/// What an allowed action must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Answer the pending wait (task token) with `answer`, once.
    AnswerWait { answer: Answer, reason: String },
    /// Start the traffic workflow with this request.
    StartTraffic(TrafficRequest),
}

/// The traffic workflow's input (`statemachines/traffic.asl.json`): move a held deployment to
/// a preset, promote it, or roll it back. Published as `docs/schemas/traffic-input.schema.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(title = "Ferry traffic workflow input")]
pub struct TrafficRequest {
    /// The deployment (`ferry status` lists them).
    pub deployment_id: String,
    pub action: TrafficAction,
    /// Green's weight, 0 to 100 (`preset` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = 100))]
    pub weight: Option<u8>,
    /// Why (a rollback's recorded reason).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What the traffic workflow does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum TrafficAction {
    /// Move a deployment that holds at a preset to `weight` percent on green, and hold.
    Preset,
    /// All traffic to green, green primary, blue removed after `rollback.keepOldFor`.
    Promote,
    /// All traffic to blue, green removed; also finishes a stuck or failed deployment.
    Rollback,
}

impl TrafficRequest {
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("a traffic request is plain JSON")
    }
}

/// Decides whether `actor` may take `action` on `deployment` now, and what it takes.
/// `self_approval` is the manifest's `approval.selfApproval` (recorded in the policy).
pub fn decide(deployment: &Deployment, actor: &Actor, action: &Action) -> Result<Effect, Refusal> {
    let status = deployment.status;
    let not_allowed = |hint: &str| Refusal::NotAllowed {
        deployment_id: deployment.id.clone(),
        action: action.name().to_string(),
        status: status.name().to_string(),
        hint: hint.to_string(),
    };
    if status.is_terminal() {
        return Err(not_allowed(match action {
            Action::Rollback { .. } if status == DeploymentStatus::Failed => {
                "it ended failed; `ferry rollback` finishes it"
            }
            Action::Rollback { .. } => {
                "there is nothing to roll back (deploy the previous commit to go back)"
            }
            _ => "it has ended",
        }));
    }
    // A rollback is for anyone, unless the manifest says approvers only; a newer push that
    // cancels the deployment (`onNewerPush: cancel`) acts on the manifest's own word.
    let restricted_rollback = matches!(action, Action::Rollback { .. })
        && deployment.policy.rollback_by_approvers
        && actor.via != Channel::Push;
    if action.needs_approver() || restricted_rollback {
        check_approver(deployment, actor)?;
    }
    let pending = deployment.pending_token.as_ref();
    let answered = pending.and_then(|token| token.answered.as_ref());
    let already = |answered: &Answered| Refusal::AlreadyDecided {
        deployment_id: deployment.id.clone(),
        decision: format!("{} by {}", answered.answer.name(), answered.by),
    };
    let rollback_reason = |reason: &Option<String>| {
        reason
            .clone()
            .unwrap_or_else(|| format!("rolled back by {actor}"))
    };
    match action {
        Action::Approve | Action::Reject { .. } => {
            let Some(token) = pending.filter(|token| token.kind == TokenKind::Approval) else {
                return Err(not_allowed("it waits for no approval"));
            };
            if let Some(answered) = &token.answered {
                // The same answer asked again (a retry after a lost reply) is sent again.
                let same = answered.by.identity == actor.identity
                    && (answered.answer == Answer::Approved) == matches!(action, Action::Approve);
                if !same {
                    return Err(already(answered));
                }
            }
            if matches!(action, Action::Approve) && !deployment.policy.self_approval {
                check_not_author(deployment, actor)?;
            }
            Ok(match action {
                Action::Approve => Effect::AnswerWait {
                    answer: Answer::Approved,
                    reason: format!("approved by {actor}"),
                },
                Action::Reject { reason } => Effect::AnswerWait {
                    answer: Answer::Rejected,
                    reason: reason
                        .clone()
                        .unwrap_or_else(|| format!("rejected by {actor}")),
                },
                _ => unreachable!("matched above"),
            })
        }
        Action::Rollback { reason } => match (pending, answered) {
            // A wait nobody answered yet: fail it, and the deploy workflow rolls back.
            (Some(_), None) if status.moves_forward() => Ok(Effect::AnswerWait {
                answer: Answer::Aborted,
                reason: rollback_reason(reason),
            }),
            // Otherwise (nothing waits, the wait was answered, or the deploy workflow is gone)
            // the traffic workflow rolls back; the rollback handler is safe to run beside
            // another (fenced) and finishes a stuck one.
            _ => Ok(Effect::StartTraffic(TrafficRequest {
                deployment_id: deployment.id.clone(),
                action: TrafficAction::Rollback,
                weight: None,
                reason: Some(rollback_reason(reason)),
            })),
        },
        Action::Promote => match (status, pending) {
            (DeploymentStatus::Holding { .. }, _) => Ok(Effect::StartTraffic(TrafficRequest {
                deployment_id: deployment.id.clone(),
                action: TrafficAction::Promote,
                weight: None,
                reason: None,
            })),
            (DeploymentStatus::Finalizing, Some(token)) if token.kind == TokenKind::KeepWarm => {
                match &token.answered {
                    Some(answered) if answered.by.identity != actor.identity => {
                        Err(already(answered))
                    }
                    _ => Ok(Effect::AnswerWait {
                        answer: Answer::Approved,
                        reason: format!("blue removed early by {actor}"),
                    }),
                }
            }
            _ => Err(not_allowed(
                "promote works on a deployment that holds at a preset, or keeps blue warm",
            )),
        },
        Action::MoveTo { preset } => match status {
            DeploymentStatus::Holding { .. } => Ok(Effect::StartTraffic(TrafficRequest {
                deployment_id: deployment.id.clone(),
                action: TrafficAction::Preset,
                weight: Some(preset.green_weight()),
                reason: None,
            })),
            _ => Err(not_allowed(
                "moving to a preset works on a deployment that holds at one",
            )),
        },
    }
}

/// The actions a deployment's state offers now, by their names in [`Action`] (`approve`,
/// `reject`, `promote`, `rollback`, `moveTo`): what front ends show as buttons. Who may take
/// them is still [`decide`]'s to say; a front end shows its refusal.
pub fn offered_actions(deployment: &Deployment) -> Vec<&'static str> {
    let undecided = |kind: TokenKind| {
        deployment
            .pending_token
            .as_ref()
            .is_some_and(|token| token.kind == kind && token.answered.is_none())
    };
    // A first deployment's promoted green is all the service has: a rollback would only finish
    // it (it rolls forward), so none is offered.
    if deployment.only_rolls_forward() {
        return match deployment.status {
            DeploymentStatus::Finalizing if undecided(TokenKind::KeepWarm) => vec!["promote"],
            _ => Vec::new(),
        };
    }
    match deployment.status {
        DeploymentStatus::AwaitingApproval { .. } if undecided(TokenKind::Approval) => {
            vec!["approve", "reject", "rollback"]
        }
        DeploymentStatus::Holding { .. } => vec!["promote", "rollback", "moveTo"],
        DeploymentStatus::Finalizing if undecided(TokenKind::KeepWarm) => {
            vec!["promote", "rollback"]
        }
        DeploymentStatus::Pending
        | DeploymentStatus::Provisioning
        | DeploymentStatus::AwaitingApproval { .. }
        | DeploymentStatus::Shifting { .. }
        | DeploymentStatus::Baking { .. }
        | DeploymentStatus::Finalizing => vec!["rollback"],
        DeploymentStatus::CleaningUp
        | DeploymentStatus::RollingBack
        | DeploymentStatus::Succeeded
        | DeploymentStatus::RolledBack
        | DeploymentStatus::Failed => Vec::new(),
    }
}

fn check_approver(deployment: &Deployment, actor: &Actor) -> Result<(), Refusal> {
    let approvers = &deployment.policy.approvers;
    if approvers.is_empty() {
        return Ok(());
    }
    let listed = approvers
        .iter()
        .filter_map(|approver| Identity::parse(approver).ok())
        .any(|approver| actor.identity.is(&approver));
    if listed {
        Ok(())
    } else {
        Err(Refusal::NotApprover {
            actor: actor.identity.to_string(),
            service: deployment.service_key(),
            approvers: approvers.clone(),
        })
    }
}

fn check_not_author(deployment: &Deployment, actor: &Actor) -> Result<(), Refusal> {
    let authored = deployment
        .source
        .author
        .as_deref()
        .is_some_and(|author| author.eq_ignore_ascii_case(actor.identity.person()));
    if authored {
        Err(Refusal::SelfApproval {
            actor: actor.identity.to_string(),
            service: deployment.service_key(),
        })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests;
