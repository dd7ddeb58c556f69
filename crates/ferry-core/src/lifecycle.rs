//! One vocabulary for what happens to a deployment: the [`Event`]s its record's history holds,
//! that notifiers turn into messages, and that the web UI shows as a timeline.
//!
//! A state transition is a method of [`Deployment`] that changes the record and returns the
//! event it recorded, so a handler writes `let event = deployment.shifted(now, step, weight)`,
//! saves, and hands the event to the notifier. The transitions are tested here, without ports.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::control::{Answer, Answered};
use crate::deployment::{
    Deployment, DeploymentStatus, MAX_DETAIL_CHARS, PendingToken, Side, TaskSetRef, TokenKind,
    short_commit,
};
use crate::hooks::{Hook, HookOutcome, HookStage, OnHookFailure};

/// Something that happened to a deployment. Serialized as `{"event": "<kebab-case name>", ...}`,
/// the names the history has always used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "event",
    rename_all = "kebab-case",
    rename_all_fields = "camelCase"
)]
pub enum Event {
    /// Recorded and locked: the plan is fixed.
    Planned {
        manifest_path: String,
        commit: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        author: Option<String>,
        steps: usize,
    },
    /// Something people should know that does not stop the deployment.
    Warning { message: String },
    /// Green was created at 0 % of traffic.
    TaskSetCreated {
        task_set: String,
        task_definition: String,
    },
    /// Green runs its desired count.
    TaskSetStable {
        running: i32,
        desired: i32,
        waited_seconds: i64,
    },
    /// The test listener forwards everything to `to` (read back): to green once it is stable,
    /// before any production traffic moves; to whatever production runs when it ends.
    TestTraffic { to: Side },
    /// Waiting for a person before `weight` percent goes to green.
    AwaitingApproval {
        step: usize,
        weight: u8,
        approvers: Vec<String>,
    },
    /// A person answered a wait (approved, rejected, or asked for a rollback).
    Answered {
        step: usize,
        answer: Answer,
        by: String,
        reason: String,
    },
    /// `weight` percent of production traffic on green, read back from the load balancer.
    Shifted { step: usize, weight: u8, of: usize },
    /// A held deployment moved to another position by hand.
    Moved { weight: u8 },
    /// A step's weight applied; alarms watched for `seconds`.
    Baking { step: usize, seconds: u64 },
    /// An alarm fired, and `rollback.onAlarm: false` let the deployment go on.
    AlarmIgnored { step: usize, cause: String },
    /// A verification hook passed: its answer (the response, the function's verdict, the
    /// task's exit code) and how long it took.
    HookPassed {
        hook: String,
        stage: HookStage,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        step: Option<usize>,
        seconds: i64,
        detail: String,
    },
    /// A verification hook failed or timed out; `rolls_back` unless its `onFailure` is
    /// `continue`.
    HookFailed {
        hook: String,
        stage: HookStage,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        step: Option<usize>,
        seconds: i64,
        detail: String,
        rolls_back: bool,
    },
    /// Green is primary; blue is kept warm, alarms still watched.
    Promoted {
        task_set: String,
        keep_blue_seconds: u64,
    },
    /// The keep-warm wait began.
    KeepingBlueWarm { seconds: u64 },
    /// Blue's removal began: from here the deployment only rolls forward.
    CleanupStarted,
    /// Blue removed; green serves everything.
    Succeeded {
        task_definition: String,
        duration_seconds: i64,
    },
    /// A rollback began.
    RollingBack { reason: String },
    /// All traffic on blue, green removed.
    RolledBack { reason: String },
    /// A rollback found blue's removal begun and finished the deployment instead.
    RolledForward { reason: String },
    /// The deployment could not finish; where traffic is and how to recover.
    Failed { error: String },
    /// Older entries were dropped to keep the record small.
    HistoryTruncated { dropped: usize },
    /// An entry written by an earlier version of Ferry, kept as it was.
    #[serde(skip)]
    Earlier { name: String, detail: String },
}

/// How much a channel hears about a deployment (`notify.slack.verbosity`). The parent message
/// always shows where it stands; this decides which events also get a reply in its thread.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Verbosity {
    /// What needs a person or ends the deployment: approvals, rollbacks, failure, success.
    Quiet,
    /// And each step's traffic, warnings, an alarm ignored.
    #[default]
    Normal,
    /// And every step of the way (green created and stable, bakes, promotion, blue's removal).
    Verbose,
}

impl Event {
    /// Whether a channel at `verbosity` hears about this event in the deployment's thread.
    pub fn worth_telling(&self, verbosity: Verbosity) -> bool {
        let quiet = matches!(
            self,
            Event::AwaitingApproval { .. }
                | Event::Answered { .. }
                | Event::Succeeded { .. }
                | Event::RolledBack { .. }
                | Event::RolledForward { .. }
                | Event::Failed { .. }
                | Event::HookFailed { .. }
        );
        let normal = matches!(
            self,
            Event::Shifted { .. }
                | Event::HookPassed { .. }
                | Event::Moved { .. }
                | Event::TestTraffic { .. }
                | Event::Warning { .. }
                | Event::AlarmIgnored { .. }
                | Event::RollingBack { .. }
        );
        let bookkeeping = matches!(
            self,
            Event::Planned { .. } | Event::HistoryTruncated { .. } | Event::Earlier { .. }
        );
        match verbosity {
            Verbosity::Quiet => quiet,
            Verbosity::Normal => quiet || normal,
            Verbosity::Verbose => !bookkeeping,
        }
    }

    /// The event's name, as stored (`shifted`, `rolled-back`, ...).
    pub fn name(&self) -> &str {
        match self {
            Event::Planned { .. } => "planned",
            Event::Warning { .. } => "warning",
            Event::TaskSetCreated { .. } => "task-set-created",
            Event::TaskSetStable { .. } => "task-set-stable",
            Event::TestTraffic { .. } => "test-traffic",
            Event::AwaitingApproval { .. } => "awaiting-approval",
            Event::Answered { .. } => "answered",
            Event::Shifted { .. } => "shifted",
            Event::Moved { .. } => "moved",
            Event::Baking { .. } => "baking",
            Event::AlarmIgnored { .. } => "alarm-ignored",
            Event::HookPassed { .. } => "hook-passed",
            Event::HookFailed { .. } => "hook-failed",
            Event::Promoted { .. } => "promoted",
            Event::KeepingBlueWarm { .. } => "keeping-blue-warm",
            Event::CleanupStarted => "cleanup-started",
            Event::Succeeded { .. } => "succeeded",
            Event::RollingBack { .. } => "rolling-back",
            Event::RolledBack { .. } => "rolled-back",
            Event::RolledForward { .. } => "rolled-forward",
            Event::Failed { .. } => "failed",
            Event::HistoryTruncated { .. } => "history-truncated",
            Event::Earlier { name, .. } => name,
        }
    }

    /// One line for a person, about `deployment` (`shop/web: 10% of traffic on green ...`).
    pub fn describe(&self, deployment: &Deployment) -> String {
        let service = deployment.service_key();
        match self {
            Event::Planned {
                manifest_path,
                commit,
                author,
                steps,
            } => format!(
                "Deploying {} ({manifest_path}) to {service} by {}: {steps} step(s)",
                short_commit(commit),
                author.as_deref().unwrap_or("unknown")
            ),
            Event::Warning { message } => format!("{service}: warning: {message}"),
            Event::TaskSetCreated {
                task_set,
                task_definition,
            } => format!("{service}: green task set {task_set} created, running {task_definition}"),
            Event::TaskSetStable {
                running,
                desired,
                waited_seconds,
            } => format!(
                "{service}: green is stable, {running} of {desired} tasks running after {waited_seconds}s"
            ),
            Event::TestTraffic { to: Side::Green } => format!(
                "{service}: the test listener sends everything to green; production is untouched"
            ),
            Event::TestTraffic { to: Side::Blue } => {
                format!("{service}: the test listener sends everything to blue again")
            }
            Event::AwaitingApproval {
                weight, approvers, ..
            } => format!(
                "{service} waits for approval before sending {weight}% to green (approvers: {}): `ferry approve {}`",
                if approvers.is_empty() {
                    "anyone with access".to_string()
                } else {
                    approvers.join(", ")
                },
                deployment.id
            ),
            Event::Answered {
                answer, by, reason, ..
            } => {
                // Default reasons already name the person ("approved by …"); a given one does not.
                let said = match answer {
                    Answer::Approved => "approved by",
                    Answer::Rejected => "rejected by",
                    Answer::Aborted => "rolled back by",
                };
                if reason.starts_with(said) || reason.starts_with("blue removed early by") {
                    format!("{service}: {reason}")
                } else {
                    format!("{service}: {said} {by}: {reason}")
                }
            }
            Event::Shifted { step, weight, of } => format!(
                "{service}: {weight}% of traffic on green (step {} of {of})",
                step + 1
            ),
            Event::Moved { weight } => format!("{service}: moved by hand to {weight}% on green"),
            Event::Baking { step, seconds } => {
                format!(
                    "{service}: baking step {} for {seconds}s, alarms watched",
                    step + 1
                )
            }
            Event::AlarmIgnored { cause, .. } => {
                format!("{service}: {cause} (ignored: rollback.onAlarm is false)")
            }
            Event::HookPassed {
                hook,
                stage,
                step,
                seconds,
                detail,
            } => format!(
                "{service}: hook {hook} passed {}in {seconds}s: {detail}",
                hook_when(*stage, *step)
            ),
            Event::HookFailed {
                hook,
                stage,
                step,
                seconds,
                detail,
                rolls_back,
            } => format!(
                "{service}: hook {hook} failed {}after {seconds}s: {detail}{}",
                hook_when(*stage, *step),
                if *rolls_back {
                    "; rolling back"
                } else {
                    " (onFailure: continue, going on)"
                }
            ),
            Event::Promoted {
                task_set,
                keep_blue_seconds,
            } => format!(
                "{service}: green {task_set} is primary; blue kept warm for {keep_blue_seconds}s"
            ),
            Event::KeepingBlueWarm { seconds } => {
                format!("{service}: keeping blue warm for {seconds}s, alarms watched")
            }
            Event::CleanupStarted => format!("{service}: removing blue"),
            Event::Succeeded {
                task_definition,
                duration_seconds,
            } => format!(
                "{service} now runs {task_definition} ({}), in {}",
                short_commit(&deployment.source.commit),
                crate::duration::format_duration(*duration_seconds as u64)
            ),
            Event::RollingBack { reason } => format!("{service} rolling back: {reason}"),
            Event::RolledBack { reason } => format!("{service} rolled back: {reason}"),
            Event::RolledForward { reason } => format!(
                "{service}: blue's removal had begun when {reason}; finished the deployment instead of rolling back"
            ),
            Event::Failed { error } => format!("{service} failed: {error}"),
            Event::HistoryTruncated { dropped } => {
                format!("{dropped} entries dropped to keep the record small")
            }
            Event::Earlier { name, detail } => format!("{service}: {name} {detail}"),
        }
    }

    /// The plan step the event is about, when it is about one.
    pub fn step(&self) -> Option<usize> {
        match self {
            Event::AwaitingApproval { step, .. }
            | Event::Answered { step, .. }
            | Event::Shifted { step, .. }
            | Event::Baking { step, .. }
            | Event::AlarmIgnored { step, .. } => Some(*step),
            Event::HookPassed { step, .. } | Event::HookFailed { step, .. } => *step,
            _ => None,
        }
    }
}

/// `after test traffic `, `before step 2 `: when a hook ran, for its event's line.
fn hook_when(stage: HookStage, step: Option<usize>) -> String {
    match (stage, step) {
        (HookStage::AfterTestTraffic, _) => {
            "after test traffic, before production traffic, ".into()
        }
        (HookStage::BeforeStep, Some(step)) => format!("before step {} ", step + 1),
        (HookStage::AfterStep, Some(step)) => format!("after step {} ", step + 1),
        (HookStage::AfterTraffic, _) => "with all traffic on green ".into(),
        (_, None) => String::new(),
    }
}

/// One line of the audit trail: an event, when, and green's weight at the time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    pub at: OffsetDateTime,
    pub event: Event,
    pub green_weight: u8,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredEntry {
    #[serde(with = "time::serde::rfc3339")]
    at: OffsetDateTime,
    #[serde(default)]
    green_weight: Option<u8>,
    #[serde(flatten)]
    event: serde_json::Map<String, serde_json::Value>,
}

impl Serialize for HistoryEntry {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let event = match &self.event {
            Event::Earlier { name, detail } => {
                serde_json::json!({ "event": name, "detail": detail })
            }
            event => serde_json::to_value(event).map_err(serde::ser::Error::custom)?,
        };
        let serde_json::Value::Object(event) = event else {
            return Err(serde::ser::Error::custom("an event is an object"));
        };
        StoredEntry {
            at: self.at,
            green_weight: Some(self.green_weight),
            event,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for HistoryEntry {
    /// Entries written before events were typed (`{"event": "shifted", "detail": "..."}`) read
    /// as [`Event::Earlier`], so every record stays readable.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let stored = StoredEntry::deserialize(deserializer)?;
        let fields = serde_json::Value::Object(stored.event.clone());
        let event = serde_json::from_value::<Event>(fields).unwrap_or_else(|_| Event::Earlier {
            name: stored
                .event
                .get("event")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("event")
                .to_string(),
            detail: stored
                .event
                .get("detail")
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default()
                .to_string(),
        });
        Ok(HistoryEntry {
            at: stored.at,
            event,
            green_weight: stored.green_weight.unwrap_or_default(),
        })
    }
}

/// Cuts the free text an event carries (reasons, errors) to keep records small.
fn bounded(text: impl Into<String>) -> String {
    let text = text.into();
    if text.chars().count() <= MAX_DETAIL_CHARS {
        text
    } else {
        text.chars().take(MAX_DETAIL_CHARS).chain(['…']).collect()
    }
}

/// The transitions. Each changes the record as the step it names does, records the event, and
/// returns it for the notifier.
impl Deployment {
    /// Appends `event` to the history (see [`Deployment::push_history`] for the bound) and
    /// moves `updated_at`; returns the event.
    pub fn record(&mut self, at: OffsetDateTime, event: Event) -> Event {
        self.push_history(HistoryEntry {
            at,
            event: event.clone(),
            green_weight: self.green_weight,
        });
        self.updated_at = at;
        event
    }

    /// The plan is recorded (the first entry of every deployment).
    pub fn planned(&mut self, at: OffsetDateTime) -> Event {
        let event = Event::Planned {
            manifest_path: self.source.manifest_path.clone(),
            commit: self.source.commit.clone(),
            author: self.source.author.clone(),
            steps: self.plan.steps.len(),
        };
        self.record(at, event)
    }

    pub fn warned(&mut self, at: OffsetDateTime, message: impl Into<String>) -> Event {
        self.record(
            at,
            Event::Warning {
                message: bounded(message),
            },
        )
    }

    /// Green exists at 0 %.
    pub fn green_created(&mut self, at: OffsetDateTime, green: TaskSetRef) -> Event {
        let event = Event::TaskSetCreated {
            task_set: green.id.clone(),
            task_definition: green.task_definition_arn.clone(),
        };
        self.fence = None;
        self.green = Some(green);
        self.status = DeploymentStatus::Provisioning;
        self.record(at, event)
    }

    /// When green was created (or the deployment, for a record without that event).
    pub fn green_created_at(&self) -> OffsetDateTime {
        self.history
            .iter()
            .rev()
            .find(|entry| matches!(entry.event, Event::TaskSetCreated { .. }))
            .map_or(self.created_at, |entry| entry.at)
    }

    /// Green runs its desired count; recorded once.
    pub fn green_stable(
        &mut self,
        at: OffsetDateTime,
        running: i32,
        desired: i32,
    ) -> Option<Event> {
        let known = self.history.iter().any(|entry| {
            matches!(entry.event, Event::TaskSetStable { .. })
                || entry.event.name() == "task-set-stable"
        });
        if known {
            return None;
        }
        let waited_seconds = (at - self.green_created_at()).whole_seconds();
        Some(self.record(
            at,
            Event::TaskSetStable {
                running,
                desired,
                waited_seconds,
            },
        ))
    }

    /// Waiting for a person before `step`, with the task token that ends the wait.
    pub fn awaiting_approval(&mut self, at: OffsetDateTime, step: usize, token: String) -> Event {
        self.pending_token = Some(PendingToken {
            kind: TokenKind::Approval,
            step,
            token,
            since: at,
            answered: None,
        });
        self.status = DeploymentStatus::AwaitingApproval { step };
        let event = Event::AwaitingApproval {
            step,
            weight: self.plan.steps.get(step).map_or(0, |step| step.weight),
            approvers: self.policy.approvers.clone(),
        };
        self.record(at, event)
    }

    /// Baking `step`, with the task token an alarm can fail.
    pub fn baking(&mut self, at: OffsetDateTime, step: usize, token: String) -> Event {
        self.pending_token = Some(PendingToken {
            kind: TokenKind::Bake,
            step,
            token,
            since: at,
            answered: None,
        });
        self.status = DeploymentStatus::Baking { step };
        let seconds = self
            .plan
            .steps
            .get(step)
            .map_or(0, |step| step.bake_seconds);
        self.record(at, Event::Baking { step, seconds })
    }

    /// Keeping blue warm after green became primary, with the task token an alarm can fail.
    pub fn keeping_blue_warm(&mut self, at: OffsetDateTime, token: String) -> Event {
        self.pending_token = Some(PendingToken {
            kind: TokenKind::KeepWarm,
            step: self.applied_step.unwrap_or(0),
            token,
            since: at,
            answered: None,
        });
        let seconds = self.policy.keep_old_for_seconds;
        self.record(at, Event::KeepingBlueWarm { seconds })
    }

    /// A person's answer to the pending wait, claimed before the token is used.
    pub fn answered(&mut self, answered: Answered) -> Event {
        let at = answered.at;
        let step = self.pending_token.as_ref().map_or(0, |token| token.step);
        let event = Event::Answered {
            step,
            answer: answered.answer,
            by: answered.by.to_string(),
            reason: bounded(answered.reason.clone()),
        };
        if let Some(token) = &mut self.pending_token {
            token.answered = Some(answered);
        }
        self.record(at, event)
    }

    /// `step`'s weight is on green and verified: the deployment holds there (a preset below
    /// 100 reached) or goes on.
    pub fn shifted(&mut self, at: OffsetDateTime, step: usize, weight: u8) -> Event {
        let last = step + 1 == self.plan.steps.len();
        self.fence = None;
        self.applied_step = Some(step);
        self.green_weight = weight;
        self.pending_token = None;
        self.status = if self.plan.holds_at == Some(weight) && last {
            DeploymentStatus::Holding { step }
        } else {
            DeploymentStatus::Shifting { step }
        };
        let of = self.plan.steps.len();
        self.record(at, Event::Shifted { step, weight, of })
    }

    /// The test listener was set to forward everything to `to`, and read back.
    pub fn test_traffic_to(&mut self, at: OffsetDateTime, to: Side) -> Event {
        self.fence = None;
        self.test_traffic = Some(to);
        self.record(at, Event::TestTraffic { to })
    }

    /// A held deployment moved by hand.
    pub fn moved(&mut self, at: OffsetDateTime, weight: u8) -> Event {
        self.fence = None;
        self.green_weight = weight;
        self.record(at, Event::Moved { weight })
    }

    pub fn alarm_ignored(&mut self, at: OffsetDateTime, step: usize, cause: String) -> Event {
        self.record(
            at,
            Event::AlarmIgnored {
                step,
                cause: bounded(cause),
            },
        )
    }

    /// The run of `hook` in `step` ended (see [`crate::hooks::HookRun`]): its outcome is kept
    /// with the run, and the event recorded.
    pub fn hook_ended(
        &mut self,
        at: OffsetDateTime,
        hook: &Hook,
        step: Option<usize>,
        passed: bool,
        detail: String,
    ) -> Event {
        let detail = bounded(detail);
        let run = self
            .hook_runs
            .iter_mut()
            .find(|run| run.is_of(&hook.name, hook.stage, step));
        let seconds = (at - run.as_ref().map_or(at, |run| run.started_at))
            .whole_seconds()
            .max(0);
        if let Some(run) = run {
            run.next_at = None;
            run.outcome = Some(HookOutcome {
                passed,
                detail: detail.clone(),
                seconds,
                finished_at: at,
            });
        }
        let event = if passed {
            Event::HookPassed {
                hook: hook.name.clone(),
                stage: hook.stage,
                step,
                seconds,
                detail,
            }
        } else {
            Event::HookFailed {
                hook: hook.name.clone(),
                stage: hook.stage,
                step,
                seconds,
                detail,
                rolls_back: hook.on_failure == OnHookFailure::Rollback,
            }
        };
        self.record(at, event)
    }

    /// Green is primary.
    pub fn promoted(&mut self, at: OffsetDateTime) -> Event {
        self.status = DeploymentStatus::Finalizing;
        self.pending_token = None;
        let event = Event::Promoted {
            task_set: self
                .green
                .as_ref()
                .map_or_else(String::new, |green| green.id.clone()),
            keep_blue_seconds: self.policy.keep_old_for_seconds,
        };
        self.record(at, event)
    }

    /// Blue's removal begins: from here the deployment only rolls forward.
    pub fn cleanup_started(&mut self, at: OffsetDateTime) -> Event {
        self.cleanup_started = true;
        self.status = DeploymentStatus::CleaningUp;
        self.pending_token = None;
        self.record(at, Event::CleanupStarted)
    }

    /// Blue is gone; the deployment ended well.
    pub fn succeeded(&mut self, at: OffsetDateTime) -> Event {
        let event = Event::Succeeded {
            task_definition: self.green.as_ref().map_or_else(
                || "green".to_string(),
                |green| green.task_definition_arn.clone(),
            ),
            duration_seconds: (at - self.created_at).whole_seconds(),
        };
        let event = self.record(at, event);
        self.finish(at, DeploymentStatus::Succeeded, None);
        self.reason = None;
        event
    }

    /// A rollback begins (the reason is kept as the deployment's).
    pub fn rolling_back(&mut self, at: OffsetDateTime, reason: &str) -> Event {
        self.status = DeploymentStatus::RollingBack;
        self.pending_token = None;
        self.finished_at = None;
        self.reason = Some(reason.to_string());
        self.record(
            at,
            Event::RollingBack {
                reason: bounded(reason),
            },
        )
    }

    /// All traffic is on blue and green is gone.
    pub fn rolled_back(&mut self, at: OffsetDateTime, reason: &str) -> Event {
        self.green_weight = 0;
        let event = self.record(
            at,
            Event::RolledBack {
                reason: bounded(reason),
            },
        );
        self.finish(at, DeploymentStatus::RolledBack, Some(reason.to_string()));
        event
    }

    pub fn rolled_forward(&mut self, at: OffsetDateTime, reason: &str) -> Event {
        self.record(
            at,
            Event::RolledForward {
                reason: bounded(reason),
            },
        )
    }

    /// The deployment cannot finish; `error` says where traffic is and how to recover.
    pub fn failed(&mut self, at: OffsetDateTime, error: &str) -> Event {
        let event = self.record(
            at,
            Event::Failed {
                error: bounded(error),
            },
        );
        self.finish(at, DeploymentStatus::Failed, Some(error.to_string()));
        event
    }

    /// Whether a person answered the current wait (and how).
    pub fn answer(&self) -> Option<Answer> {
        self.pending_token
            .as_ref()
            .and_then(|token| token.answered.as_ref())
            .map(|answered| answered.answer)
    }
}

#[cfg(test)]
mod tests;
