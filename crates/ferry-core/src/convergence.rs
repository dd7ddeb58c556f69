//! GitOps convergence: for each service, the commit its branch says should run, and the rules
//! that keep production moving forward to it.
//!
//! - Every push that touches a service records it as the service's [`Desired`] state, unless it
//!   is older than what is desired already ([`order`]). Pushes are ordered by Git ancestry, and
//!   by the branch head when ancestry cannot decide (a force-push, another branch), never by
//!   arrival: a retried or redelivered older push changes nothing.
//! - A service deploys one desired state at a time. A push that arrives while the service is
//!   deploying waits; when the deployment ends the newest desired commit is deployed, and the
//!   commits it superseded are kept in [`Desired::passed_over`], never deployed.
//! - Each desired state is deployed at most once: the deployment that takes the service's lock
//!   also *settles* its generation, in the same write ([`Desired::is_pending`]).
//! - What a newer push does to a running deployment is the manifest's `onNewerPush`
//!   ([`OnNewerPush`]): wait for it (default) or cancel it (roll it back) and go on at once.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::deployment::short_commit;

/// How many passed-over pushes a desired state remembers (newest first).
pub const PASSED_OVER_KEPT: usize = 20;

/// What a newer push does to a deployment of the same service that is still running
/// (`onNewerPush` in the manifest).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum OnNewerPush {
    /// Let it finish; the newer push deploys next.
    #[default]
    Wait,
    /// Roll it back now (unless blue's removal began: then it finishes) and deploy the newer
    /// push as soon as the rollback ends.
    Cancel,
}

/// One push as the desired state records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Push {
    pub branch: String,
    pub commit: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// GitHub's `X-GitHub-Delivery` of the webhook that brought it, when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<String>,
    /// `webhook` or `poller`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seen_by: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub pushed_at: OffsetDateTime,
}

/// Why a push was not deployed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "reason")]
pub enum PassOver {
    /// A newer push for the service arrived before this one could deploy.
    Superseded { by: String },
    /// It arrived after a newer commit was already desired (a retry, a redelivery, a late
    /// poll).
    Older { than: String },
    /// Plan refused it (no longer the branch head, older than production).
    Refused { message: String },
}

/// A push that was not deployed, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PassedOver {
    #[serde(flatten)]
    pub push: Push,
    #[serde(flatten)]
    pub why: PassOver,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// How a desired generation was settled: once settled it is never deployed again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Settled {
    pub generation: u64,
    /// The deployment that took it; `None` when plan refused it (see `passed_over`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_id: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// The commit a service should run, as the latest push to its branch says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Desired {
    /// `<cluster>/<service>`, as the service lock.
    pub service_key: String,
    pub repository: String,
    pub manifest_path: String,
    pub push: Push,
    /// Bumped by every push that replaces the desired commit.
    pub generation: u64,
    /// The last generation a deployment took (or plan refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settled: Option<Settled>,
    /// Executions started for this generation so far, minus one: a start whose execution had
    /// already ended without settling it (plan lost the lock race) starts the next attempt.
    #[serde(default)]
    pub attempt: u32,
    /// The running deployment this generation asked to roll back (`onNewerPush: cancel`), so
    /// that it is asked once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelling: Option<String>,
    /// Pushes not deployed, newest first (at most [`PASSED_OVER_KEPT`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub passed_over: Vec<PassedOver>,
    /// Optimistic concurrency, as deployment records: 0 before the first write.
    #[serde(default)]
    pub version: u64,
}

/// How the incoming commit relates to the desired one, as Git sees it (GitHub's compare API
/// with the desired commit as base and the incoming one as head).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Relation {
    Identical,
    /// The incoming commit descends from the desired one.
    Ahead,
    /// The incoming commit is an ancestor of the desired one.
    Behind,
    /// Neither descends from the other (a force-push, another branch), or one is unknown.
    Diverged,
}

/// Where an incoming push stands against the desired state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// The same commit (a redelivery, the webhook and the poller both saw it).
    Same,
    Newer,
    Older,
}

impl Relation {
    /// The order ancestry alone decides; `None` when the branch head must decide.
    pub fn order(self) -> Option<Order> {
        match self {
            Relation::Identical => Some(Order::Same),
            Relation::Ahead => Some(Order::Newer),
            Relation::Behind | Relation::Diverged => None,
        }
    }
}

/// The order when ancestry could not decide: an incoming commit that is its branch's head now
/// is what the branch says (a force-push back or onto another history); one that is not is a
/// late copy of a push the branch has moved past.
pub fn order_by_head(is_branch_head: bool) -> Order {
    if is_branch_head {
        Order::Newer
    } else {
        Order::Older
    }
}

/// What recording a push did to the desired state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accepted {
    /// It is now the desired commit; `superseded` is the earlier desired commit it replaced
    /// before that one deployed.
    Desired { superseded: Option<String> },
    /// Already the desired commit: nothing changed.
    Same,
    /// Older than the desired commit: recorded as passed over.
    Older,
}

impl Desired {
    /// The first desired state of a service.
    pub fn new(service_key: &str, repository: &str, manifest_path: &str, push: Push) -> Self {
        Desired {
            service_key: service_key.to_string(),
            repository: repository.to_string(),
            manifest_path: manifest_path.to_string(),
            push,
            generation: 1,
            settled: None,
            attempt: 0,
            cancelling: None,
            passed_over: Vec::new(),
            version: 0,
        }
    }

    /// Whether the desired commit still waits to be deployed.
    pub fn is_pending(&self) -> bool {
        self.settled
            .as_ref()
            .is_none_or(|settled| settled.generation != self.generation)
    }

    /// Records `push`, ordered against the desired commit as `order` says.
    pub fn accept(
        &mut self,
        push: Push,
        repository: &str,
        manifest_path: &str,
        order: Order,
        now: OffsetDateTime,
    ) -> Accepted {
        match order {
            Order::Same => Accepted::Same,
            Order::Older => {
                let than = self.push.commit.clone();
                self.pass_over(push, PassOver::Older { than }, now);
                Accepted::Older
            }
            Order::Newer => {
                let previous = std::mem::replace(&mut self.push, push);
                let superseded = self.is_pending().then(|| previous.commit.clone());
                if superseded.is_some() {
                    let by = self.push.commit.clone();
                    self.pass_over(previous, PassOver::Superseded { by }, now);
                }
                self.repository = repository.to_string();
                self.manifest_path = manifest_path.to_string();
                self.generation += 1;
                self.attempt = 0;
                self.cancelling = None;
                Accepted::Desired { superseded }
            }
        }
    }

    /// Marks the desired generation deployed by `deployment_id`. Stores do this atomically
    /// with taking the service lock (`create_with_lock`); this is their shared rule.
    pub fn settle(&mut self, generation: u64, deployment_id: Option<&str>, at: OffsetDateTime) {
        self.settled = Some(Settled {
            generation,
            deployment_id: deployment_id.map(str::to_string),
            at,
        });
    }

    /// Plan refused the desired commit: it will not be tried again; the next push will.
    pub fn refuse(&mut self, generation: u64, message: &str, at: OffsetDateTime) {
        if generation != self.generation || !self.is_pending() {
            return;
        }
        self.settle(generation, None, at);
        let push = self.push.clone();
        self.pass_over(
            push,
            PassOver::Refused {
                message: message.to_string(),
            },
            at,
        );
    }

    fn pass_over(&mut self, push: Push, why: PassOver, at: OffsetDateTime) {
        self.passed_over.insert(0, PassedOver { push, why, at });
        self.passed_over.truncate(PASSED_OVER_KEPT);
    }

    /// The deploy execution's name (and deployment id) for the desired generation's current
    /// attempt: the same for everyone who starts it, so starting it twice runs it once.
    pub fn execution_name(&self) -> String {
        desired_execution_name(
            &self.service_key,
            &self.push.commit,
            self.generation,
            self.attempt,
        )
    }
}

/// `<service>-<7-char commit>-g<generation>[-r<attempt>]-<8 hex>`: at most 80 characters of
/// `[A-Za-z0-9_-]`, as Step Functions and ECS external ids require. The digest covers the
/// whole service key, so two clusters' `web` services never share a name.
pub fn desired_execution_name(
    service_key: &str,
    commit: &str,
    generation: u64,
    attempt: u32,
) -> String {
    let mut hasher = Sha256::new();
    for part in [
        service_key,
        &commit.to_ascii_lowercase(),
        &generation.to_string(),
        &attempt.to_string(),
    ] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    let digest: String = hasher
        .finalize()
        .iter()
        .take(4)
        .map(|byte| format!("{byte:02x}"))
        .collect();
    let retry = if attempt == 0 {
        String::new()
    } else {
        format!("-r{attempt}")
    };
    let tail = format!(
        "-{}-g{generation}{retry}-{digest}",
        short_commit(commit).to_ascii_lowercase()
    );
    let service = service_key.rsplit('/').next().unwrap_or(service_key);
    let stem: String = service
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(80usize.saturating_sub(tail.len()))
        .collect();
    format!("{stem}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-29 12:00 UTC);

    fn push(commit: &str) -> Push {
        Push {
            branch: "main".into(),
            commit: commit.repeat(40 / commit.len()),
            author: Some("alice".into()),
            delivery: None,
            seen_by: Some("webhook".into()),
            pushed_at: NOW,
        }
    }

    fn desired(commit: &str) -> Desired {
        Desired::new("shop/web", "acme/shop", ".ferry/web.yaml", push(commit))
    }

    fn newer(desired: &mut Desired, commit: &str) -> Accepted {
        desired.accept(
            push(commit),
            "acme/shop",
            ".ferry/web.yaml",
            Order::Newer,
            NOW,
        )
    }

    #[test]
    fn ancestry_decides_unless_the_branch_was_rewritten() {
        assert_eq!(Relation::Identical.order(), Some(Order::Same));
        assert_eq!(Relation::Ahead.order(), Some(Order::Newer));
        assert_eq!(Relation::Behind.order(), None);
        assert_eq!(Relation::Diverged.order(), None);
        assert_eq!(order_by_head(true), Order::Newer);
        assert_eq!(order_by_head(false), Order::Older);
    }

    #[test]
    fn a_newer_push_supersedes_a_desired_commit_that_never_deployed() {
        let mut state = desired("a");
        assert!(state.is_pending());
        assert_eq!(
            newer(&mut state, "b"),
            Accepted::Desired {
                superseded: Some("a".repeat(40))
            }
        );
        assert_eq!(state.generation, 2);
        assert_eq!(
            state.passed_over[0].why,
            PassOver::Superseded { by: "b".repeat(40) }
        );
    }

    #[test]
    fn a_newer_push_after_a_deployment_took_the_desired_commit_supersedes_nothing() {
        let mut state = desired("a");
        state.settle(1, Some("web-1"), NOW);
        assert!(!state.is_pending());
        assert_eq!(
            newer(&mut state, "b"),
            Accepted::Desired { superseded: None }
        );
        assert!(state.is_pending());
        assert!(state.passed_over.is_empty());
    }

    #[test]
    fn an_older_push_is_recorded_and_changes_nothing_else() {
        let mut state = desired("b");
        state.settle(1, Some("web-1"), NOW);
        let before = state.clone();
        let accepted = state.accept(push("a"), "acme/shop", ".ferry/web.yaml", Order::Older, NOW);
        assert_eq!(accepted, Accepted::Older);
        assert_eq!((state.generation, &state.push), (1, &before.push));
        assert!(!state.is_pending());
        assert_eq!(
            state.passed_over[0].why,
            PassOver::Older {
                than: "b".repeat(40)
            }
        );
    }

    #[test]
    fn the_same_push_twice_is_one_desired_state() {
        let mut state = desired("a");
        let accepted = state.accept(push("a"), "acme/shop", ".ferry/web.yaml", Order::Same, NOW);
        assert_eq!(accepted, Accepted::Same);
        assert_eq!(state, desired("a"));
    }

    #[test]
    fn a_refusal_settles_the_generation_and_says_why() {
        let mut state = desired("a");
        state.refuse(1, "no longer the head of main", NOW);
        assert!(!state.is_pending());
        assert!(matches!(
            &state.passed_over[0].why,
            PassOver::Refused { message } if message.contains("head")
        ));
        // A refusal of a generation already replaced changes nothing.
        newer(&mut state, "b");
        state.refuse(1, "late", NOW);
        assert!(state.is_pending());
    }

    #[test]
    fn passed_over_pushes_are_bounded() {
        let mut state = desired("a");
        for index in 0..(PASSED_OVER_KEPT + 5) {
            newer(&mut state, &format!("{:040x}", index + 16));
        }
        assert_eq!(state.passed_over.len(), PASSED_OVER_KEPT);
    }

    #[test]
    fn execution_names_differ_per_generation_and_attempt_and_fit_step_functions() {
        let mut state = desired("a");
        let first = state.execution_name();
        assert!(first.starts_with("web-aaaaaaa-g1-"), "{first}");
        assert_eq!(first, state.execution_name());
        state.attempt = 1;
        let retried = state.execution_name();
        assert!(retried.contains("-g1-r1-"), "{retried}");
        assert_ne!(first, retried);
        newer(&mut state, "b");
        assert_ne!(state.execution_name(), retried);
        let long = desired_execution_name(&format!("prod/{}", "x".repeat(200)), "ab", 9, 3);
        assert!(long.len() <= 80, "{long}");
        assert!(
            long.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_ne!(
            desired_execution_name("prod/web", "ab", 1, 0),
            desired_execution_name("staging/web", "ab", 1, 0)
        );
    }
}
