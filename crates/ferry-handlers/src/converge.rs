//! `converge`: each service deploys the commit its branch says, the latest push, once.
//!
//! The rules are [`ferry_core::convergence`]'s; this module carries them out over the ports:
//!
//! - [`record_push`] (called by `push-deploy` for every manifest a push touches) records the
//!   push as the service's desired state when it is newer than the desired commit, ordered by
//!   Git ancestry and, when ancestry cannot decide, by the branch head.
//! - [`reconcile`] deploys a service's desired commit when it waits and nothing else deploys
//!   the service: it starts the deploy execution named for the desired generation (so two
//!   callers start it once). While another deployment holds the service it does nothing; that
//!   deployment's end brings it back. With `onNewerPush: cancel` it rolls that deployment back.
//! - [`handle`] reconciles every service whose desired commit waits. In AWS, EventBridge calls
//!   it whenever a deploy execution ends (`rules/deploy-ended.json`); `ferry serve` calls it
//!   on a timer.
//! - `plan` deploys a pushed commit only while it is still desired
//!   ([`check_still_desired`]), and settles its generation in the same write that takes the
//!   service lock, so a generation deploys at most once whoever started it.

use ferry_core::control::{Action, Actor, Channel, Identity};
use ferry_core::convergence::{Accepted, Desired, OnNewerPush, Push, order_by_head};
use ferry_core::deployment::{Deployment, DeploymentStatus, short_commit};
use ferry_core::manifest;
use ferry_core::ports::{PortError, Workflow};
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use crate::error::port;
use crate::plan::PlanInput;
use crate::{Deps, ErrorKind, HandlerError};

/// Conditional writes lost to someone else before giving up (the caller's retry goes on).
const ROUNDS: usize = 4;
/// How many recent deployments of a service are read to find what production runs.
const PRODUCTION_LOOKBACK: usize = 25;

/// What became of a service's desired commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    rename_all = "camelCase",
    tag = "outcome",
    rename_all_fields = "camelCase"
)]
pub enum Convergence {
    /// Nothing waits: no push recorded, or its commit was deployed (or refused) already.
    Settled,
    /// The deploy execution for the desired commit was started (or found running).
    Started {
        execution_name: String,
        execution_arn: String,
    },
    /// Another deployment holds the service: the desired commit deploys when it ends.
    Waiting { behind: String },
    /// `onNewerPush: cancel`: the running deployment is being rolled back; the desired commit
    /// deploys when the rollback ends.
    Cancelling { deployment_id: String },
}

/// The function's input: anything (EventBridge's "Step Functions Execution Status Change",
/// a schedule), since every waiting service is reconciled; or one service.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConvergeInput {
    /// Only this service (`<cluster>/<service>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceConvergence {
    pub service_key: String,
    #[serde(flatten)]
    pub convergence: Convergence,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConvergeOutput {
    pub services: Vec<ServiceConvergence>,
}

/// Reconciles the one service named, or every service whose desired commit waits. One
/// service failing does not stop the others; then the call fails, so that Lambda's retry
/// reconciles again (each reconcile is idempotent).
pub async fn handle(deps: &Deps, input: ConvergeInput) -> Result<ConvergeOutput, HandlerError> {
    let keys = match input.service_key {
        Some(key) => vec![key],
        None => deps
            .store
            .list_pending_desired()
            .await
            .map_err(port("listing the services with a push waiting"))?
            .into_iter()
            .map(|desired| desired.service_key)
            .collect(),
    };
    let mut output = ConvergeOutput::default();
    let mut failure = None;
    for key in keys {
        match reconcile(deps, &key).await {
            Ok(convergence) => output.services.push(ServiceConvergence {
                service_key: key,
                convergence,
            }),
            Err(error) => {
                warn!(service = %key, %error, "could not converge");
                failure = Some(error);
            }
        }
    }
    match failure {
        Some(error) => Err(error),
        None => Ok(output),
    }
}

/// What [`record_push`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// The push is the desired commit now (or was already).
    Desired(Accepted),
    /// An older commit than the desired one: passed over, never deployed.
    Older { desired: String },
}

/// Records `push` of `manifest_path` in `repository` as the desired state of `service_key`,
/// unless the desired commit is newer.
pub async fn record_push(
    deps: &Deps,
    service_key: &str,
    repository: &str,
    manifest_path: &str,
    push: Push,
) -> Result<Recorded, HandlerError> {
    for _ in 0..ROUNDS {
        let stored = deps
            .store
            .get_desired(service_key)
            .await
            .map_err(port("reading the service's desired state"))?;
        let (mut desired, accepted) = match stored {
            None => (
                Desired::new(service_key, repository, manifest_path, push.clone()),
                Accepted::Desired { superseded: None },
            ),
            Some(mut desired) => {
                let order = order_against(deps, repository, &desired, &push).await?;
                let now = deps.clock.now();
                let accepted = desired.accept(push.clone(), repository, manifest_path, order, now);
                (desired, accepted)
            }
        };
        if accepted == Accepted::Same {
            return Ok(Recorded::Desired(accepted));
        }
        if !save(deps, &mut desired).await? {
            continue;
        }
        return Ok(match accepted {
            Accepted::Older => Recorded::Older {
                desired: desired.push.commit,
            },
            accepted => Recorded::Desired(accepted),
        });
    }
    Err(HandlerError::retryable(format!(
        "the desired state of {service_key} kept changing; try again"
    )))
}

/// `Ok(false)` when someone else wrote first (read again and redo).
async fn save(deps: &Deps, desired: &mut Desired) -> Result<bool, HandlerError> {
    match deps.store.put_desired(desired).await {
        Ok(()) => Ok(true),
        Err(PortError::Conflict(_)) => Ok(false),
        Err(error) => Err(HandlerError::from_port(
            "recording the service's desired state",
            error,
        )),
    }
}

/// Orders `push` against the desired commit: by ancestry, and by the branch head when
/// ancestry cannot decide.
async fn order_against(
    deps: &Deps,
    repository: &str,
    desired: &Desired,
    push: &Push,
) -> Result<ferry_core::convergence::Order, HandlerError> {
    let relation = match deps
        .git
        .compare_commits(repository, &desired.push.commit, &push.commit)
        .await
    {
        Ok(relation) => relation,
        // A source without history (none of Ferry's): arrival order is all there is.
        Err(PortError::Invalid(reason)) => {
            warn!(%reason, "cannot order pushes by ancestry; the latest arrival wins");
            return Ok(ferry_core::convergence::Order::Newer);
        }
        Err(error) => return Err(HandlerError::from_port("comparing the commits", error)),
    };
    if let Some(order) = relation.order() {
        return Ok(order);
    }
    let head = deps
        .git
        .head_of_branch(repository, &push.branch)
        .await
        .map_err(port("reading the branch head"))?;
    Ok(order_by_head(head.is_some_and(|head| {
        head.eq_ignore_ascii_case(&push.commit)
    })))
}

/// Deploys the desired commit of `service_key` if it waits and nothing holds the service.
pub async fn reconcile(deps: &Deps, service_key: &str) -> Result<Convergence, HandlerError> {
    for _ in 0..ROUNDS {
        let Some(mut desired) = deps
            .store
            .get_desired(service_key)
            .await
            .map_err(port("reading the service's desired state"))?
        else {
            return Ok(Convergence::Settled);
        };
        if !desired.is_pending() {
            return Ok(Convergence::Settled);
        }
        if let Some(holder) = live_holder(deps, service_key).await? {
            return Ok(wait_or_cancel(deps, &holder, &desired).await);
        }
        let name = desired.execution_name();
        let input = PlanInput {
            deployment_id: None,
            repository: desired.repository.clone(),
            commit: desired.push.commit.clone(),
            manifest_path: desired.manifest_path.clone(),
            branch: Some(desired.push.branch.clone()),
            author: desired.push.author.clone(),
            image: None,
            desired_generation: Some(desired.generation),
        }
        .to_json();
        match deps.workflows.start(Workflow::Deploy, &name, &input).await {
            Ok(execution) if !execution.closed => {
                info!(service = %service_key, execution = %name, commit = %desired.push.commit, "deploying the desired commit");
                return Ok(Convergence::Started {
                    execution_name: name,
                    execution_arn: execution.execution_arn,
                });
            }
            // That attempt ended without settling the generation (its plan lost the lock to
            // another deployment): the next attempt needs a name of its own.
            Ok(_) | Err(PortError::Conflict(_)) => {
                info!(service = %service_key, execution = %name, "attempt ended unsettled; starting the next");
                desired.attempt += 1;
                save(deps, &mut desired).await?;
            }
            Err(error) => {
                return Err(HandlerError::from_port(
                    &format!("starting the deployment of {service_key}"),
                    error,
                ));
            }
        }
    }
    Err(HandlerError::retryable(format!(
        "the desired state of {service_key} kept changing; try again"
    )))
}

/// The deployment holding the service's lock, if it is still running.
async fn live_holder(deps: &Deps, service_key: &str) -> Result<Option<Deployment>, HandlerError> {
    let Some(lock) = deps
        .store
        .get_lock(service_key)
        .await
        .map_err(port("reading the service lock"))?
    else {
        return Ok(None);
    };
    if lock.expires_at <= deps.clock.now() {
        return Ok(None);
    }
    let holder = deps
        .store
        .get(&lock.deployment_id)
        .await
        .map_err(port("reading the lock holder"))?;
    Ok(holder.filter(|holder| !holder.status.is_terminal()))
}

/// While `holder` runs, the desired commit waits; with `onNewerPush: cancel` the holder is
/// rolled back first (unless blue's removal began: forward only, so it finishes), once per
/// desired generation.
async fn wait_or_cancel(deps: &Deps, holder: &Deployment, desired: &Desired) -> Convergence {
    let waiting = Convergence::Waiting {
        behind: holder.id.clone(),
    };
    if desired.cancelling.as_deref() == Some(holder.id.as_str()) {
        return Convergence::Cancelling {
            deployment_id: holder.id.clone(),
        };
    }
    let cancellable = holder.policy.on_newer_push == OnNewerPush::Cancel
        && !holder.only_rolls_forward()
        && holder.source.commit != desired.push.commit
        && !matches!(
            holder.status,
            DeploymentStatus::RollingBack | DeploymentStatus::CleaningUp
        );
    if !cancellable {
        return waiting;
    }
    let pusher = desired
        .push
        .author
        .clone()
        .unwrap_or_else(|| "ferry".into());
    let actor = Actor {
        identity: Identity::GitHub(pusher),
        via: Channel::Push,
    };
    let reason = format!(
        "superseded by {} pushed to {} (onNewerPush: cancel)",
        short_commit(&desired.push.commit),
        desired.push.branch
    );
    let rollback = Action::Rollback {
        reason: Some(reason),
    };
    if let Err(error) = crate::control::act(deps, &actor, &holder.id, rollback).await {
        warn!(deployment = %holder.id, %error, "could not cancel for the newer push; it waits instead");
        return waiting;
    }
    info!(deployment = %holder.id, newer = %desired.push.commit, "a newer push cancels the running deployment");
    // Asked once: later calls (the next tick, a retried push) wait for that rollback. A lost
    // write only means asking again, which a rollback in progress shrugs off.
    let mut asked = desired.clone();
    asked.cancelling = Some(holder.id.clone());
    if let Err(error) = deps.store.put_desired(&mut asked).await {
        warn!(deployment = %holder.id, %error, "could not record the cancellation");
    }
    Convergence::Cancelling {
        deployment_id: holder.id.clone(),
    }
}

/// Plan's check for a pushed commit: `Superseded` unless generation `generation` of the
/// service's desired state is still the one to deploy and the commit is still what its branch
/// says. A refusal for the branch or production is recorded on the desired state, so it is
/// not tried again.
pub async fn check_still_desired(
    deps: &Deps,
    input: &PlanInput,
    service_key: &str,
    generation: u64,
) -> Result<(), HandlerError> {
    refuse_if_settled(deps, service_key, generation).await?;
    let head = match &input.branch {
        Some(branch) => match deps.git.head_of_branch(&input.repository, branch).await {
            Ok(head) => Some((branch.as_str(), head)),
            Err(PortError::Invalid(_)) => None,
            Err(error) => return Err(HandlerError::from_port("reading the branch head", error)),
        },
        None => None,
    };
    let is_head = matches!(&head, Some((_, Some(sha))) if sha.eq_ignore_ascii_case(&input.commit));
    if let Some((branch, head)) = head
        && !is_head
    {
        let refusal = match head {
            None => Some(format!(
                "branch {branch} no longer exists, so {} is not what it says",
                short_commit(&input.commit)
            )),
            Some(head) if !same_service_files(deps, input, &head).await? => Some(format!(
                "{branch} is now at {}, which changes this service; its push deploys it",
                short_commit(&head)
            )),
            // The branch moved on with commits that leave this service as it is.
            Some(_) => None,
        };
        if let Some(message) = refusal {
            return refuse(deps, service_key, generation, message).await;
        }
    }
    if !is_head
        && let Some(production) = production_commit(deps, service_key, &input.repository).await?
        && !production.eq_ignore_ascii_case(&input.commit)
    {
        let relation = deps
            .git
            .compare_commits(&input.repository, &production, &input.commit)
            .await;
        if relation == Ok(ferry_core::convergence::Relation::Behind) {
            let message = format!(
                "{} is older than {}, which production runs; deploy it on purpose with `ferry deploy --commit {}`",
                short_commit(&input.commit),
                short_commit(&production),
                input.commit
            );
            return refuse(deps, service_key, generation, message).await;
        }
    }
    Ok(())
}

/// `Superseded` when generation `generation` is no longer the service's desired one, or was
/// settled (deployed by another execution, or refused).
pub async fn refuse_if_settled(
    deps: &Deps,
    service_key: &str,
    generation: u64,
) -> Result<(), HandlerError> {
    let desired = deps
        .store
        .get_desired(service_key)
        .await
        .map_err(port("reading the service's desired state"))?;
    let message = match desired {
        None => format!("{service_key} has no desired state: nothing was pushed for it"),
        Some(desired) if desired.generation != generation => format!(
            "superseded: a newer push wants {} of {service_key} ({})",
            short_commit(&desired.push.commit),
            desired.push.author.as_deref().map_or_else(
                || "pushed".to_string(),
                |author| format!("pushed by {author}")
            )
        ),
        Some(desired) if !desired.is_pending() => {
            match desired.settled.and_then(|settled| settled.deployment_id) {
                Some(id) => format!(
                    "{} is deployed by {id} already",
                    short_commit(&desired.push.commit)
                ),
                None => format!(
                    "{} was refused already (`ferry status {service_key}` says why)",
                    short_commit(&desired.push.commit)
                ),
            }
        }
        Some(_) => return Ok(()),
    };
    Err(HandlerError::new(ErrorKind::Superseded, message))
}

/// Records the refusal on the desired state (best effort: a newer push replacing it is fine),
/// then refuses.
async fn refuse(
    deps: &Deps,
    service_key: &str,
    generation: u64,
    message: String,
) -> Result<(), HandlerError> {
    warn!(service = %service_key, generation, %message, "pushed commit refused");
    for _ in 0..ROUNDS {
        let Ok(Some(mut desired)) = deps.store.get_desired(service_key).await else {
            break;
        };
        desired.refuse(generation, &message, deps.clock.now());
        match deps.store.put_desired(&mut desired).await {
            Err(PortError::Conflict(_)) => continue,
            _ => break,
        }
    }
    Err(HandlerError::new(ErrorKind::Superseded, message))
}

/// Whether the manifest and its task definition read the same at `other` as at the commit.
async fn same_service_files(
    deps: &Deps,
    input: &PlanInput,
    other: &str,
) -> Result<bool, HandlerError> {
    let files = |commit: String| async move {
        let manifest_text = deps
            .git
            .read_file(&input.repository, &commit, &input.manifest_path)
            .await
            .map_err(port("reading the manifest"))?;
        let task_definition = match &manifest_text {
            Some(text) => match manifest::parse_manifest(&input.manifest_path, text) {
                Ok(draft) => deps
                    .git
                    .read_file(&input.repository, &commit, &draft.task_definition_path)
                    .await
                    .map_err(port("reading the task definition"))?,
                Err(_) => None,
            },
            None => None,
        };
        Ok::<_, HandlerError>((manifest_text, task_definition))
    };
    Ok(files(input.commit.clone()).await? == files(other.to_string()).await?)
}

/// The commit of the service's latest successful deployment from `repository`.
async fn production_commit(
    deps: &Deps,
    service_key: &str,
    repository: &str,
) -> Result<Option<String>, HandlerError> {
    let recent = deps
        .store
        .list_for_service(service_key, PRODUCTION_LOOKBACK)
        .await
        .map_err(port("reading the service's deployments"))?;
    Ok(recent
        .into_iter()
        .find(|deployment| deployment.status == DeploymentStatus::Succeeded)
        .filter(|deployment| {
            deployment
                .source
                .repository
                .eq_ignore_ascii_case(repository)
        })
        .map(|deployment| deployment.source.commit))
}

#[cfg(test)]
mod tests {
    use ferry_core::deployment::DeploymentStatus;
    use ferry_core::ports::{DeploymentStore, Workflow};
    use serde_json::json;

    use super::*;
    use crate::push_deploy::{self, PushInput, PushOutput};
    use crate::testing::{REPO, TASK_DEFINITION, World, manifest};

    const SERVICE_KEY: &str = "shop/web";

    /// A commit id made of one repeated hex digit.
    fn commit(digit: char) -> String {
        digit.to_string().repeat(40)
    }

    /// The repository holds commits `a`, `b`, `c`, ... in that order, each with web's manifest
    /// and a task definition of its own image; `main` moves as they are pushed ([`pushed`]).
    fn world(extra: &str, digits: &str) -> World {
        let world = World::new(&manifest("canary: { weight: 10, bake: 1h }", extra));
        let mut parent: Option<String> = None;
        for digit in digits.chars() {
            add_commit(&world, digit, parent.as_deref(), digit, extra);
            parent = Some(commit(digit));
        }
        world
    }

    /// Commit `digit` on `parent`, whose web files are those of commit `files_of` (its own
    /// digit, or an earlier one's for a revert or a README-only change).
    fn add_commit(world: &World, digit: char, parent: Option<&str>, files_of: char, extra: &str) {
        let sha = commit(digit);
        let text = manifest("canary: { weight: 10, bake: 1h }", extra);
        world.git.put(REPO, &sha, ".ferry/web.yaml", &text);
        let task_definition = TASK_DEFINITION.replace("${GIT_SHA}", &format!("v-{files_of}"));
        world.git.put(REPO, &sha, "ecs/web.json", &task_definition);
        if let Some(parent) = parent {
            world.git.set_parent(&sha, parent);
        }
    }

    fn push(digit: char) -> PushInput {
        serde_json::from_value(json!({
            "repository": REPO,
            "ref": "refs/heads/main",
            "branch": "main",
            "before": "1".repeat(40),
            "after": commit(digit),
            "changedPaths": ["ecs/web.json"],
            "pusher": "alice",
            "seenBy": "webhook",
            "defaultBranch": "main",
            "deliveryId": format!("delivery-{digit}"),
        }))
        .unwrap()
    }

    /// `main` moves to the commit, and GitHub delivers the push.
    async fn pushed(world: &World, digit: char) -> PushOutput {
        world.git.set_head(REPO, "main", &commit(digit));
        redelivered(world, digit).await
    }

    /// The push of that commit arrives (again), wherever `main` is now.
    async fn redelivered(world: &World, digit: char) -> PushOutput {
        push_deploy::handle(&world.deps, push(digit)).await.unwrap()
    }

    /// The deploy executions started so far, with their inputs.
    fn started(world: &World) -> Vec<(String, serde_json::Value)> {
        world
            .workflows
            .started
            .lock()
            .unwrap()
            .iter()
            .filter(|(workflow, _, _)| *workflow == Workflow::Deploy)
            .map(|(_, name, input)| (name.clone(), input.clone()))
            .collect()
    }

    /// Runs the plan of the `index`th started execution, as Step Functions would.
    async fn plan_started(world: &World, index: usize) -> Result<String, HandlerError> {
        let (name, input) = started(world)[index].clone();
        let mut input: PlanInput = serde_json::from_value(input).unwrap();
        input.deployment_id = Some(name.clone());
        crate::plan::handle(&world.deps, input)
            .await
            .map(|output| output.deployment_id)
    }

    /// What finalize or rollback leave behind: the record ended, the lock released, the
    /// execution over.
    async fn end(world: &World, id: &str, status: DeploymentStatus) {
        let mut deployment = world.store.get(id).await.unwrap().unwrap();
        deployment.status = status;
        world.store.update(&mut deployment).await.unwrap();
        crate::record::release_lock(&world.deps, &deployment)
            .await
            .unwrap();
        world.workflows.end(id);
    }

    /// Commit `digit` pushed, planned as the `index`th execution, and succeeded: production runs it.
    async fn deployed(world: &World, digit: char, index: usize) -> String {
        pushed(world, digit).await;
        let id = plan_started(world, index).await.unwrap();
        end(world, &id, DeploymentStatus::Succeeded).await;
        id
    }

    async fn converge(world: &World) -> ConvergeOutput {
        handle(&world.deps, ConvergeInput::default()).await.unwrap()
    }

    async fn desired(world: &World) -> Desired {
        world.store.get_desired(SERVICE_KEY).await.unwrap().unwrap()
    }

    fn commits_started(world: &World) -> Vec<String> {
        started(world)
            .iter()
            .map(|(_, input)| input["commit"].as_str().unwrap().to_string())
            .collect()
    }

    #[tokio::test]
    async fn pushes_during_a_deployment_wait_and_only_the_latest_deploys_next() {
        let world = world("", "abcd");
        let first = pushed(&world, 'a').await;
        assert_eq!(first.started.len(), 1);
        let running = plan_started(&world, 0).await.unwrap();

        let b = pushed(&world, 'b').await;
        let c = pushed(&world, 'c').await;
        let d = pushed(&world, 'd').await;
        for output in [&b, &c, &d] {
            assert!(output.started.is_empty(), "{output:?}");
            assert_eq!(output.queued[0].behind, running);
        }
        assert_eq!(commits_started(&world), [commit('a')]);
        // The deployment's end event arriving early changes nothing either.
        assert_eq!(
            converge(&world).await.services[0].convergence,
            Convergence::Waiting {
                behind: running.clone()
            }
        );

        end(&world, &running, DeploymentStatus::Succeeded).await;
        converge(&world).await;

        assert_eq!(commits_started(&world), [commit('a'), commit('d')]);
        let next = plan_started(&world, 1).await.unwrap();
        let state = desired(&world).await;
        assert!(!state.is_pending());
        assert_eq!(state.settled.unwrap().deployment_id, Some(next));
        let superseded: Vec<(String, String)> = state
            .passed_over
            .iter()
            .map(|entry| match &entry.why {
                ferry_core::convergence::PassOver::Superseded { by } => {
                    (entry.push.commit.clone(), by.clone())
                }
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            superseded,
            [(commit('c'), commit('d')), (commit('b'), commit('c'))]
        );
        // The end of the second deployment finds nothing left to do.
        assert!(converge(&world).await.services.is_empty());
        assert_eq!(started(&world).len(), 2);
    }

    #[tokio::test]
    async fn a_head_the_poller_saw_while_a_deployment_ran_is_deployed_when_it_ends() {
        let world = world("", "ab");
        pushed(&world, 'a').await;
        let a = plan_started(&world, 0).await.unwrap();
        // The poller's event: no default branch, no author, seen by the poller.
        world.git.set_head(REPO, "main", &commit('b'));
        let polled = crate::poll::push_detail(
            REPO,
            "main",
            &commit('a'),
            &commit('b'),
            Some(vec!["ecs/web.json".into()]),
        );
        let polled: PushInput = serde_json::from_value(polled).unwrap();
        let output = push_deploy::handle(&world.deps, polled).await.unwrap();
        assert_eq!(output.queued.len(), 1, "{output:?}");
        assert_eq!(
            desired(&world).await.push.seen_by.as_deref(),
            Some("poller")
        );

        end(&world, &a, DeploymentStatus::Succeeded).await;
        converge(&world).await;

        assert_eq!(commits_started(&world), [commit('a'), commit('b')]);
        plan_started(&world, 1).await.unwrap();
    }

    #[tokio::test]
    async fn a_retried_delivery_of_an_older_push_after_a_newer_one_deployed_changes_nothing() {
        let world = world("", "ab");
        deployed(&world, 'a', 0).await;
        let b = deployed(&world, 'b', 1).await;
        let before = desired(&world).await;

        let late = redelivered(&world, 'a').await;
        converge(&world).await;

        assert!(late.started.is_empty() && late.queued.is_empty());
        assert_eq!(late.passed_over.len(), 1, "{late:?}");
        assert!(late.passed_over[0].reason.contains("older than bbbbbbb"));
        let after = desired(&world).await;
        assert_eq!(
            (after.generation, &after.push),
            (before.generation, &before.push)
        );
        assert_eq!(started(&world).len(), 2);
        // A redelivery of the newest push is the same desired state: nothing starts either.
        let again = redelivered(&world, 'b').await;
        assert!(again.started.is_empty());
        assert_eq!(again.already_started[0].execution_name, b);
        assert_eq!(started(&world).len(), 2);
    }

    #[tokio::test]
    async fn a_push_during_a_deployment_that_rolls_back_is_deployed_afterwards() {
        let world = world("", "ab");
        pushed(&world, 'a').await;
        let a = plan_started(&world, 0).await.unwrap();
        let queued = pushed(&world, 'b').await;
        assert_eq!(queued.queued.len(), 1);

        end(&world, &a, DeploymentStatus::RolledBack).await;
        converge(&world).await;

        assert_eq!(commits_started(&world), [commit('a'), commit('b')]);
        plan_started(&world, 1).await.unwrap();
    }

    #[tokio::test]
    async fn on_newer_push_cancel_rolls_the_running_deployment_back_then_deploys_the_newer() {
        let world = world("onNewerPush: cancel\n", "ab");
        pushed(&world, 'a').await;
        let a = plan_started(&world, 0).await.unwrap();

        let b = pushed(&world, 'b').await;

        assert!(b.queued[0].cancelling, "{b:?}");
        // Nothing waits on a task token yet, so the traffic workflow rolls it back.
        let traffic = world.workflows.names(Workflow::Traffic);
        assert_eq!(traffic.len(), 1, "{traffic:?}");
        // Asked once: the next converge (a tick, the push retried) waits for that rollback.
        converge(&world).await;
        redelivered(&world, 'b').await;
        assert_eq!(world.workflows.names(Workflow::Traffic).len(), 1);
        let request = world
            .workflows
            .started
            .lock()
            .unwrap()
            .iter()
            .find(|(workflow, _, _)| *workflow == Workflow::Traffic)
            .map(|(_, _, input)| input.clone())
            .unwrap();
        assert_eq!(request["action"], "rollback");
        assert!(
            request.to_string().contains("superseded by bbbbbbb"),
            "{request}"
        );
        end(&world, &a, DeploymentStatus::RolledBack).await;
        converge(&world).await;
        assert_eq!(commits_started(&world), [commit('a'), commit('b')]);
    }

    #[tokio::test]
    async fn an_attempt_that_lost_the_lock_is_started_again_under_a_new_name() {
        let world = world("", "a");
        // Someone deploys by hand between the push and its plan.
        pushed(&world, 'a').await;
        let mut by_hand = world.plan_input("web-by-hand");
        by_hand.commit = commit('a');
        crate::plan::handle(&world.deps, by_hand).await.unwrap();
        let lost = plan_started(&world, 0).await.unwrap_err();
        assert_eq!(lost.kind, ErrorKind::LockHeld);
        world.workflows.end(&started(&world)[0].0);
        assert!(desired(&world).await.is_pending());

        end(&world, "web-by-hand", DeploymentStatus::Succeeded).await;
        converge(&world).await;

        let names: Vec<String> = started(&world).into_iter().map(|(name, _)| name).collect();
        assert_eq!(names.len(), 2);
        assert!(names[1].contains("-g1-r1-"), "{names:?}");
        plan_started(&world, 1).await.unwrap();
        assert!(!desired(&world).await.is_pending());
    }

    #[tokio::test]
    async fn a_generation_deploys_once_whoever_started_it() {
        let world = world("", "a");
        pushed(&world, 'a').await;
        let first = plan_started(&world, 0).await.unwrap();
        // A second execution for the same generation (a start whose answer was lost, then a
        // new attempt): its plan finds the generation settled.
        let (_, input) = started(&world)[0].clone();
        let mut second: PlanInput = serde_json::from_value(input).unwrap();
        second.deployment_id = Some("web-aaaaaaa-g1-r1-other".into());

        let error = crate::plan::handle(&world.deps, second).await.unwrap_err();

        assert_eq!(error.kind, ErrorKind::Superseded);
        assert!(error.message.contains(&first), "{}", error.message);
        // A retry of the first plan still finds its own record.
        assert_eq!(plan_started(&world, 0).await.unwrap(), first);
    }

    #[tokio::test]
    async fn plan_refuses_a_pushed_commit_its_branch_moved_past_and_records_why() {
        let world = world("", "ab");
        pushed(&world, 'a').await;
        // The branch moved to b (which changes web) before a's plan ran, and b's push is late.
        world.git.set_head(REPO, "main", &commit('b'));
        let error = plan_started(&world, 0).await.unwrap_err();

        assert_eq!(error.kind, ErrorKind::Superseded);
        assert!(
            error.message.contains("main is now at bbbbbbb"),
            "{}",
            error.message
        );
        let state = desired(&world).await;
        assert!(!state.is_pending(), "refused once, not retried");
        assert!(matches!(
            &state.passed_over[0].why,
            ferry_core::convergence::PassOver::Refused { message } if message.contains("bbbbbbb")
        ));
        assert!(world.store.get_lock(SERVICE_KEY).await.unwrap().is_none());
        // b's push deploys b.
        pushed(&world, 'b').await;
        plan_started(&world, 1).await.unwrap();
    }

    #[tokio::test]
    async fn a_branch_that_moved_on_without_changing_the_service_still_deploys_the_commit() {
        let world = world("", "a");
        pushed(&world, 'a').await;
        // A README-only commit on top: web's files are the same.
        let readme = commit('b');
        add_commit(&world, 'b', Some(&commit('a')), 'a', "");
        world.git.set_head(REPO, "main", &readme);

        plan_started(&world, 0).await.unwrap();
    }

    #[tokio::test]
    async fn never_backwards_but_a_revert_and_a_force_push_back_deploy() {
        let world = world("", "ab");
        // b runs in production.
        deployed(&world, 'b', 0).await;

        // A revert of b (a's files again) is a new commit on top: it deploys.
        add_commit(&world, 'c', Some(&commit('b')), 'a', "");
        let revert = pushed(&world, 'c').await;
        assert_eq!(revert.started.len(), 1, "{revert:?}");
        let c = plan_started(&world, 1).await.unwrap();
        end(&world, &c, DeploymentStatus::Succeeded).await;

        // main is force-pushed back to a: the head says a, so a is what main says.
        let back = pushed(&world, 'a').await;
        assert_eq!(back.started.len(), 1, "{back:?}");
        plan_started(&world, 2).await.unwrap();
    }

    #[tokio::test]
    async fn plan_refuses_a_pushed_commit_older_than_production() {
        let world = world("", "ab");
        pushed(&world, 'a').await;
        // Production ran b, deployed by hand; then a's push is planned while main moved to
        // a commit that leaves web as b has it.
        let mut by_hand = world.plan_input("web-by-hand");
        by_hand.commit = commit('b');
        by_hand.desired_generation = None;
        crate::plan::handle(&world.deps, by_hand).await.unwrap();
        end(&world, "web-by-hand", DeploymentStatus::Succeeded).await;
        add_commit(&world, 'c', Some(&commit('b')), 'a', "");
        world.git.set_head(REPO, "main", &commit('c'));

        let error = plan_started(&world, 0).await.unwrap_err();

        assert_eq!(error.kind, ErrorKind::Superseded);
        assert!(
            error.message.contains("older than bbbbbbb")
                && error.message.contains("ferry deploy --commit"),
            "{}",
            error.message
        );
    }

    #[tokio::test]
    async fn a_deliberate_redeploy_of_an_older_commit_is_planned() {
        let world = world("", "ab");
        deployed(&world, 'b', 0).await;

        let mut redeploy = world.plan_input("web-redeploy-a");
        redeploy.commit = commit('a');

        crate::plan::handle(&world.deps, redeploy).await.unwrap();
        // The desired state is untouched: the next push moves on from b.
        assert!(!desired(&world).await.is_pending());
    }

    #[tokio::test]
    async fn pushes_from_a_rewritten_history_are_ordered_by_the_branch_head() {
        let world = world("", "ab");
        deployed(&world, 'b', 0).await;
        // A force-push replaces b with e (a sibling): ancestry cannot order them.
        add_commit(&world, 'e', Some(&commit('a')), 'e', "");

        let forced = pushed(&world, 'e').await;
        // And b's push, retried late, is not the head any more.
        let stale = redelivered(&world, 'b').await;

        assert_eq!(forced.started.len(), 1, "{forced:?}");
        assert_eq!(stale.passed_over.len(), 1, "{stale:?}");
        assert_eq!(desired(&world).await.push.commit, commit('e'));
    }
}
