//! `push-deploy`: a push to a branch makes its commit the desired state of every service whose
//! manifest it touches, and deploys it unless the service is busy.
//!
//! The `github-push` rule (`infra/terraform/rules/github-push.json`) sends every `push` event on
//! Ferry's bus here, whoever saw it (`webhook-intake` or the `poller`); `ferry serve` calls the
//! same function for the local engine. The webhook made the cheap half of the relevance
//! decision (tracked branches, watched paths) without reading Git; this is the exact half,
//! with the files at the pushed commit:
//!
//! - every `.ferry/<name>.yaml` (or `.yml`) at the commit is a candidate;
//! - it deploys from this branch when its `branches` list names the branch, or, with no list,
//!   when the branch is the repository's default branch (a push from the poller does not say
//!   which that is, and the operator chose the polled branches, so it counts);
//! - it is touched when the push changed the manifest or its task definition, or when the
//!   push's paths are unknown (too many commits);
//! - a manifest the push broke is deployed all the same (on the default branch when it cannot
//!   tell its branches), so `plan` fails with the located error instead of the push being
//!   skipped in silence.
//!
//! Each touched service then follows [`crate::converge`]: the push becomes the service's
//! desired commit unless a newer one is desired already (a retry or redelivery of an older push
//! changes nothing), and is deployed now when nothing else deploys the service, or queued
//! behind the deployment that does, superseding any commit queued before it. A manifest too
//! broken to name its service has no desired state: its commit is started directly, under
//! [`deployment_execution_name`], for `plan` to report the located error.

use ferry_core::convergence::{Accepted, Push};
use ferry_core::deployment::short_commit;
use ferry_core::manifest;
use ferry_core::ports::{PortError, Workflow};
use ferry_core::trigger::{PushDetail, deployment_execution_name};
use serde::{Deserialize, Serialize};
use tracing::info;

use crate::converge::{Convergence, Recorded, reconcile, record_push};
use crate::error::port;
use crate::plan::PlanInput;
use crate::pr_plan::MANIFEST_FOLDER;
use crate::{Deps, HandlerError};

/// A `push` event's detail, as `webhook-intake` and the `poller` publish it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PushInput {
    #[serde(flatten)]
    pub push: PushDetail,
    /// The repository's default branch, when the publisher knew it (the webhook does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_branch: Option<String>,
    /// The head commit's author, when known; the pusher is recorded otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// The webhook delivery (`X-GitHub-Delivery`) that brought the push, when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_id: Option<String>,
}

/// What became of each manifest at the pushed commit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PushOutput {
    pub repository: String,
    pub commit: String,
    /// Deployments started by this push (or by an earlier attempt of this same call).
    pub started: Vec<StartedDeployment>,
    /// Deployments of this commit someone else started first (the poller, a redelivery), or
    /// that already ran.
    pub already_started: Vec<StartedDeployment>,
    /// Services busy with another deployment: this commit deploys when it ends (unless a newer
    /// push supersedes it first).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub queued: Vec<QueuedDeployment>,
    /// Services for which a newer commit is desired already: this one is never deployed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub passed_over: Vec<SkippedManifest>,
    /// Manifests left alone, with the reason.
    pub skipped: Vec<SkippedManifest>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueuedDeployment {
    pub manifest_path: String,
    pub service_key: String,
    /// The deployment it waits for.
    pub behind: String,
    /// That deployment is being rolled back for this push (`onNewerPush: cancel`).
    #[serde(default)]
    pub cancelling: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StartedDeployment {
    pub manifest_path: String,
    /// The execution name, which is also the deployment id.
    pub execution_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_arn: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SkippedManifest {
    pub manifest_path: String,
    pub reason: String,
}

/// Whether a manifest deploys from this push, and if not why.
enum Decision {
    /// With the service's key, when the manifest names it.
    Deploy(Option<String>),
    Skip(String),
}

pub async fn handle(deps: &Deps, input: PushInput) -> Result<PushOutput, HandlerError> {
    let push = &input.push;
    check(push)?;
    let mut output = PushOutput {
        repository: push.repository.clone(),
        commit: push.after.clone(),
        ..PushOutput::default()
    };
    let names = deps
        .git
        .list_dir(&push.repository, &push.after, MANIFEST_FOLDER)
        .await
        .map_err(port("listing the manifests"))?;
    let manifests = names
        .iter()
        .filter(|name| name.ends_with(".yaml") || name.ends_with(".yml"))
        .map(|name| format!("{MANIFEST_FOLDER}/{name}"));
    for manifest_path in manifests {
        let service_key = match decide(deps, &input, &manifest_path).await? {
            Decision::Skip(reason) => {
                info!(manifest = %manifest_path, %reason, "not deployed by this push");
                output.skipped.push(SkippedManifest {
                    manifest_path,
                    reason,
                });
                continue;
            }
            Decision::Deploy(service_key) => service_key,
        };
        match service_key {
            Some(service_key) => {
                converge(deps, &input, manifest_path, &service_key, &mut output).await?;
            }
            None => start_broken(deps, &input, manifest_path, &mut output).await?,
        }
    }
    Ok(output)
}

/// Makes the push the service's desired commit and deploys it if the service is free.
async fn converge(
    deps: &Deps,
    input: &PushInput,
    manifest_path: String,
    service_key: &str,
    output: &mut PushOutput,
) -> Result<(), HandlerError> {
    let push = &input.push;
    let desired = Push {
        branch: push.branch.clone(),
        commit: push.after.clone(),
        author: input.author.clone().or_else(|| push.pusher.clone()),
        delivery: input.delivery_id.clone(),
        seen_by: push.seen_by.clone(),
        pushed_at: deps.clock.now(),
    };
    let recorded =
        record_push(deps, service_key, &push.repository, &manifest_path, desired).await?;
    let again = match recorded {
        Recorded::Older { desired } => {
            let reason = format!(
                "older than {}, the commit {service_key} is to run already",
                short_commit(&desired)
            );
            info!(manifest = %manifest_path, %reason, "push passed over");
            output.passed_over.push(SkippedManifest {
                manifest_path,
                reason,
            });
            return Ok(());
        }
        Recorded::Desired(accepted) => accepted == Accepted::Same,
    };
    match reconcile(deps, service_key).await? {
        Convergence::Started {
            execution_name,
            execution_arn,
        } => {
            let started = StartedDeployment {
                manifest_path,
                execution_name,
                execution_arn: Some(execution_arn),
            };
            if again {
                output.already_started.push(started);
            } else {
                info!(execution = ?started.execution_arn, commit = %push.after, "push starts a deployment");
                output.started.push(started);
            }
        }
        // Deployed, or refused, already: this is a repeat of that push.
        Convergence::Settled => {
            let deployed = deps
                .store
                .get_desired(service_key)
                .await
                .map_err(port("reading the service's desired state"))?
                .and_then(|desired| desired.settled)
                .and_then(|settled| settled.deployment_id)
                .unwrap_or_default();
            output.already_started.push(StartedDeployment {
                manifest_path,
                execution_name: deployed,
                execution_arn: None,
            });
        }
        Convergence::Waiting { behind } => {
            info!(manifest = %manifest_path, %behind, "queued behind the running deployment");
            output.queued.push(QueuedDeployment {
                manifest_path,
                service_key: service_key.to_string(),
                behind,
                cancelling: false,
            });
        }
        Convergence::Cancelling { deployment_id } => {
            output.queued.push(QueuedDeployment {
                manifest_path,
                service_key: service_key.to_string(),
                behind: deployment_id,
                cancelling: true,
            });
        }
    }
    Ok(())
}

/// A manifest too broken to name its service: start its deployment directly, for `plan` to
/// report the located error (there is no service to converge).
async fn start_broken(
    deps: &Deps,
    input: &PushInput,
    manifest_path: String,
    output: &mut PushOutput,
) -> Result<(), HandlerError> {
    let push = &input.push;
    let execution_name = deployment_execution_name(&push.repository, &push.after, &manifest_path);
    let plan_input = PlanInput {
        deployment_id: None,
        repository: push.repository.clone(),
        commit: push.after.clone(),
        manifest_path: manifest_path.clone(),
        branch: Some(push.branch.clone()),
        author: input.author.clone().or_else(|| push.pusher.clone()),
        image: None,
        desired_generation: None,
    }
    .to_json();
    let started = StartedDeployment {
        manifest_path,
        execution_name,
        execution_arn: None,
    };
    match deps
        .workflows
        .start(Workflow::Deploy, &started.execution_name, &plan_input)
        .await
    {
        Ok(execution) if !execution.closed => {
            output.started.push(StartedDeployment {
                execution_arn: Some(execution.execution_arn),
                ..started
            });
        }
        // The same commit, seen by someone else first.
        Ok(_) | Err(PortError::Conflict(_)) => output.already_started.push(started),
        Err(error) => {
            return Err(HandlerError::from_port(
                &format!("starting the deployment of {}", started.manifest_path),
                error,
            ));
        }
    }
    Ok(())
}

/// Refuses details no publisher of Ferry's makes, before reading anything.
fn check(push: &PushDetail) -> Result<(), HandlerError> {
    let is_sha = push.after.len() == 40 && push.after.bytes().all(|b| b.is_ascii_hexdigit());
    if !is_sha || push.after.bytes().all(|b| b == b'0') {
        return Err(HandlerError::non_retryable(format!(
            "`after` must be the 40-hex commit the push made, found \"{}\"",
            push.after
        )));
    }
    let parts: Vec<&str> = push.repository.split('/').collect();
    if parts.len() != 2 || parts.iter().any(|part| part.is_empty()) {
        return Err(HandlerError::non_retryable(format!(
            "`repository` must be owner/name, found \"{}\"",
            push.repository
        )));
    }
    if push.branch.is_empty() {
        return Err(HandlerError::non_retryable("`branch` is empty"));
    }
    Ok(())
}

async fn decide(
    deps: &Deps,
    input: &PushInput,
    manifest_path: &str,
) -> Result<Decision, HandlerError> {
    let push = &input.push;
    let on_default_branch = input
        .default_branch
        .as_deref()
        .is_none_or(|default| default == push.branch);
    let text = deps
        .git
        .read_file(&push.repository, &push.after, manifest_path)
        .await
        .map_err(port("reading a manifest"))?;
    let Some(text) = text else {
        return Ok(Decision::Skip(
            "listed, but not readable at the commit".into(),
        ));
    };
    let changed = |path: &str| {
        push.changed_paths
            .as_ref()
            .is_none_or(|paths| paths.iter().any(|changed| changed == path))
    };
    let draft = match manifest::parse_manifest(manifest_path, &text) {
        Ok(draft) => draft,
        Err(_) if on_default_branch && changed(manifest_path) => return Ok(Decision::Deploy(None)),
        Err(_) if on_default_branch => {
            return Ok(Decision::Skip(
                "invalid YAML, and the push did not change it".into(),
            ));
        }
        Err(_) => {
            return Ok(Decision::Skip(format!(
                "invalid YAML, and {} is not the default branch",
                push.branch
            )));
        }
    };
    let deploys_from_branch = match draft.branches() {
        Some([]) => on_default_branch,
        Some(branches) => branches.iter().any(|branch| branch == &push.branch),
        // Problems in the fields: let plan report them where it deploys by default.
        None => on_default_branch,
    };
    if !deploys_from_branch {
        let wanted = match draft.branches() {
            Some(branches) if !branches.is_empty() => branches.join(", "),
            _ => "the default branch".to_string(),
        };
        return Ok(Decision::Skip(format!(
            "deploys from {wanted}, not {}",
            push.branch
        )));
    }
    let touched = changed(manifest_path) || changed(&draft.task_definition_path);
    Ok(if touched {
        Decision::Deploy(draft.service_key())
    } else {
        Decision::Skip(format!(
            "the push changed neither it nor {}",
            draft.task_definition_path
        ))
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::{Value, json};

    use super::*;
    use crate::ErrorKind;
    use crate::testing::{COMMIT, REPO, TASK_DEFINITION, World, manifest};

    /// A world whose commit holds `web` and `api`, each with its task definition; `extra` is
    /// added to web's manifest.
    fn world(web_extra: &str) -> World {
        let world = World::new(&manifest("allAtOnce: {}", web_extra));
        let api = manifest("allAtOnce: {}", "")
            .replace("../ecs/web.json", "../ecs/api.json")
            .replace("service: web", "service: api");
        world.git.put(REPO, COMMIT, ".ferry/api.yaml", &api);
        world.git.put(REPO, COMMIT, "ecs/api.json", TASK_DEFINITION);
        world
            .git
            .put(REPO, COMMIT, ".ferry/README.md", "not a manifest");
        world
    }

    fn push(branch: &str, changed: Option<&[&str]>) -> PushInput {
        serde_json::from_value(json!({
            "repository": REPO,
            "ref": format!("refs/heads/{branch}"),
            "branch": branch,
            "before": "1".repeat(40),
            "after": COMMIT,
            "changedPaths": changed,
            "pusher": "alice",
            "seenBy": "webhook",
            "defaultBranch": "main",
            "author": "bob",
            "cloneUrl": "https://github.com/acme/shop.git",
        }))
        .unwrap()
    }

    fn started(world: &World) -> Vec<(String, Value)> {
        world
            .workflows
            .started
            .lock()
            .unwrap()
            .iter()
            .map(|(workflow, name, input)| {
                assert_eq!(*workflow, Workflow::Deploy);
                (name.clone(), input.clone())
            })
            .collect()
    }

    fn skipped(output: &PushOutput) -> Vec<&str> {
        output
            .skipped
            .iter()
            .map(|skip| skip.manifest_path.as_str())
            .collect()
    }

    fn manifests(deployments: &[StartedDeployment]) -> Vec<&str> {
        deployments
            .iter()
            .map(|deployment| deployment.manifest_path.as_str())
            .collect()
    }

    #[tokio::test]
    async fn a_push_starts_the_deployment_of_the_manifest_whose_task_definition_it_changed() {
        let world = world("");

        let output = handle(&world.deps, push("main", Some(&["ecs/web.json"])))
            .await
            .unwrap();

        let name = ferry_core::convergence::desired_execution_name("shop/web", COMMIT, 1, 0);
        assert_eq!(output.started.len(), 1);
        assert_eq!(output.started[0].execution_name, name);
        assert_eq!(output.started[0].manifest_path, ".ferry/web.yaml");
        assert!(
            output.started[0]
                .execution_arn
                .as_ref()
                .unwrap()
                .ends_with(&name)
        );
        assert_eq!(skipped(&output), [".ferry/api.yaml"]);
        assert_eq!(
            output.skipped[0].reason,
            "the push changed neither it nor ecs/api.json"
        );
        assert_eq!(
            started(&world),
            [(
                name,
                json!({"repository": REPO, "commit": COMMIT, "manifestPath": ".ferry/web.yaml",
                    "branch": "main", "author": "bob", "desiredGeneration": 1})
            )]
        );
    }

    #[tokio::test]
    async fn a_retry_starts_nothing_new_and_a_second_sighting_is_already_started() {
        let world = world("");
        let first = handle(&world.deps, push("main", Some(&[".ferry/web.yaml"])))
            .await
            .unwrap();

        // Step Functions retrying this function: the same input, the same execution.
        let retry = handle(&world.deps, push("main", Some(&[".ferry/web.yaml"])))
            .await
            .unwrap();
        // The poller seeing the commit too: no author, another input, the same name.
        let mut polled = push("main", Some(&[".ferry/web.yaml"]));
        polled.author = None;
        polled.default_branch = None;
        let seen_again = handle(&world.deps, polled).await.unwrap();

        assert_eq!(retry.already_started, first.started);
        assert_eq!(seen_again.started, vec![]);
        assert_eq!(manifests(&seen_again.already_started), [".ferry/web.yaml"]);
        assert_eq!(started(&world).len(), 1);
    }

    #[tokio::test]
    async fn unknown_paths_touch_every_manifest_and_the_pusher_stands_in_for_the_author() {
        let world = world("");
        let mut input = push("main", None);
        input.author = None;

        let output = handle(&world.deps, input).await.unwrap();

        assert_eq!(output.started.len(), 2);
        assert!(output.skipped.is_empty());
        assert!(
            started(&world)
                .iter()
                .all(|(_, input)| input["author"] == "alice")
        );
    }

    #[tokio::test]
    async fn a_manifest_deploys_only_from_its_branches_or_else_the_default_branch() {
        let world = world("branches: [release]\n");
        let everything = Some(&["ecs/web.json", "ecs/api.json"][..]);

        let on_main = handle(&world.deps, push("main", everything)).await.unwrap();
        let on_release = handle(&world.deps, push("release", everything))
            .await
            .unwrap();
        let on_feature = handle(&world.deps, push("feature/x", everything))
            .await
            .unwrap();

        assert_eq!(skipped(&on_main), [".ferry/web.yaml"]);
        assert_eq!(on_main.skipped[0].reason, "deploys from release, not main");
        assert_eq!(skipped(&on_release), [".ferry/api.yaml"]);
        assert_eq!(
            on_release.skipped[0].reason,
            "deploys from the default branch, not release"
        );
        assert_eq!(skipped(&on_feature), [".ferry/api.yaml", ".ferry/web.yaml"]);
        assert_eq!(started(&world).len(), 2, "api from main, web from release");
    }

    #[tokio::test]
    async fn a_manifest_the_push_broke_is_deployed_so_that_plan_reports_where() {
        let world = world("");
        world
            .git
            .put(REPO, COMMIT, ".ferry/web.yaml", "service: [unclosed\n");
        world
            .git
            .put(REPO, COMMIT, ".ferry/api.yaml", "service: [unclosed\n");

        let output = handle(&world.deps, push("main", Some(&[".ferry/web.yaml"])))
            .await
            .unwrap();
        let elsewhere = handle(&world.deps, push("feature", Some(&[".ferry/web.yaml"])))
            .await
            .unwrap();

        assert_eq!(manifests(&output.started), [".ferry/web.yaml"]);
        assert_eq!(
            output.skipped[0].reason,
            "invalid YAML, and the push did not change it"
        );
        assert!(elsewhere.started.is_empty());
        assert_eq!(
            elsewhere.skipped[0].reason,
            "invalid YAML, and feature is not the default branch"
        );
    }

    #[tokio::test]
    async fn a_commit_without_manifests_deploys_nothing() {
        let world = world("");
        let mut input = push("main", None);
        input.push.after = "f".repeat(40);

        let output = handle(&world.deps, input).await.unwrap();

        assert_eq!(
            output,
            PushOutput {
                repository: REPO.into(),
                commit: "f".repeat(40),
                ..PushOutput::default()
            }
        );
    }

    #[tokio::test]
    async fn details_no_publisher_makes_are_refused_before_anything_is_read() {
        let mut world = world("");
        world.deps.git = Arc::new(crate::NoGitSource);
        for change in [
            json!({"after": "0".repeat(40)}),
            json!({"after": "main"}),
            json!({"repository": "shop"}),
            json!({"repository": "acme/"}),
            json!({"branch": ""}),
        ] {
            let mut input = serde_json::to_value(push("main", None)).unwrap();
            for (key, value) in change.as_object().unwrap() {
                input[key] = value.clone();
            }
            let input: PushInput = serde_json::from_value(input).unwrap();

            let error = handle(&world.deps, input).await.unwrap_err();

            assert_eq!(
                error.kind,
                ErrorKind::NonRetryable,
                "{change}: {}",
                error.message
            );
            assert!(
                !error.message.contains("Git source"),
                "{change}: {}",
                error.message
            );
        }
        assert!(started(&world).is_empty());
    }

    #[tokio::test]
    async fn a_host_that_cannot_read_git_says_so() {
        let mut world = world("");
        world.deps.git = Arc::new(crate::NoGitSource);

        let error = handle(&world.deps, push("main", None)).await.unwrap_err();

        assert_eq!(error.kind, ErrorKind::NonRetryable);
        assert!(
            error.message.starts_with("listing the manifests: "),
            "{}",
            error.message
        );
    }
}
