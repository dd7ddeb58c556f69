//! `pr-plan`: the deployment plan of a pull request, as a comment kept up to date and a commit
//! status.
//!
//! For every `.ferry/*.yaml` (or `.yml`) manifest in the pull request's head it validates the
//! manifest and its task definition (problems appear in the comment with file, line and
//! column), computes the step plan, and diffs the task definition against the base branch's.
//! Then it upserts one comment (found again by [`MARKER`], never duplicated) and sets the
//! `ferry/plan` status of the head commit: `failure` when a manifest is invalid, else `success`.
//!
//! # Why the diff is against the base branch
//!
//! The base branch's task definition file is what the last merge deployed: Git is the source of
//! truth, and the plan needs no AWS access at all (no ECS permissions for this function, no
//! reverse mapping of `DescribeTaskDefinition` back into the file's JSON, which ECS pads with
//! defaults and read-only fields that would drown the real change). What it cannot show is drift
//! made outside Git (`aws ecs update-service` by hand); a deployment replaces that anyway.
//! Both files are compared as pretty-printed JSON, so formatting alone never shows as a change;
//! `${GIT_SHA}` and the other variables are shown as written, since the commit a merge deploys
//! does not exist yet.
//!
//! Nothing here changes anything in AWS; it is safe to run again (the comment is updated in
//! place, the status replaced).

pub mod render;

use ferry_core::manifest::{self, Manifest};
use ferry_core::ports::{CommentRef, CommitState, CommitStatus, PortError};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tracing::info;

use crate::error::port;
use crate::{Deps, GithubDeps, HandlerError};
pub use render::MARKER;
use render::{Report, Section, ServicePlan, TaskDefinitionDiff};

/// The commit status Ferry sets on the pull request's head.
pub const STATUS_CONTEXT: &str = "ferry/plan";
/// Where manifests live.
pub const MANIFEST_FOLDER: &str = ".ferry";

/// A pull request event's detail (as `webhook-intake` publishes it; other fields are ignored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrPlanInput {
    /// `owner/name` of the base repository.
    pub repository: String,
    pub number: u64,
    /// `opened`, `reopened`, `synchronize` or `closed`; a closed pull request is not planned.
    #[serde(default = "opened")]
    pub action: String,
    /// The commit to plan.
    pub head_sha: String,
    /// The branch the pull request merges into.
    pub base_ref: String,
    /// The base branch's head when the event was sent (read at `baseRef` when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_sha: Option<String>,
    /// The repository's default branch: where a manifest without `branches` deploys from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_branch: Option<String>,
}

fn opened() -> String {
    "opened".into()
}

/// What the run did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrPlanOutput {
    pub manifests: usize,
    pub invalid: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<CommitState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<CommentRef>,
    /// Why nothing was done, when nothing was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

pub async fn handle(
    deps: &Deps,
    github: &GithubDeps,
    input: PrPlanInput,
) -> Result<PrPlanOutput, HandlerError> {
    let pr = format!("{}#{}", input.repository, input.number);
    if input.action == "closed" {
        info!(pull_request = %pr, "closed: not planned");
        return Ok(PrPlanOutput {
            manifests: 0,
            invalid: 0,
            state: None,
            comment: None,
            skipped: Some("the pull request is closed".into()),
        });
    }
    let paths: Vec<String> = deps
        .git
        .list_dir(&input.repository, &input.head_sha, MANIFEST_FOLDER)
        .await
        .map_err(port("listing the manifests of the pull request"))?
        .into_iter()
        .filter(|name| name.ends_with(".yaml") || name.ends_with(".yml"))
        .map(|name| format!("{MANIFEST_FOLDER}/{name}"))
        .collect();
    let mut sections = Vec::with_capacity(paths.len());
    for path in &paths {
        sections.push(plan_manifest(deps, &input, path).await?);
    }
    let report = Report {
        number: input.number,
        head_sha: input.head_sha.clone(),
        base_ref: input.base_ref.clone(),
        sections,
    };
    let invalid = report
        .sections
        .iter()
        .filter(|section| matches!(section, Section::Invalid { .. }))
        .count();
    let state = if invalid > 0 {
        CommitState::Failure
    } else {
        CommitState::Success
    };
    // A repository without manifests gets a status, not a comment on every pull request.
    let comment = if paths.is_empty() {
        None
    } else {
        Some(
            github
                .pulls
                .upsert_comment(
                    &input.repository,
                    input.number,
                    MARKER,
                    &render::comment(&report),
                )
                .await
                .map_err(port("writing the plan comment"))?,
        )
    };
    github
        .pulls
        .set_status(
            &input.repository,
            &input.head_sha,
            &CommitStatus {
                context: STATUS_CONTEXT.into(),
                state,
                description: render::status_line(&report),
                target_url: comment.as_ref().and_then(|comment| comment.url.clone()),
            },
        )
        .await
        .map_err(port("setting the ferry/plan status"))?;
    info!(
        pull_request = %pr,
        manifests = paths.len(),
        invalid,
        outcome = ?comment.as_ref().map(|comment| comment.outcome),
        "planned"
    );
    Ok(PrPlanOutput {
        manifests: paths.len(),
        invalid,
        state: Some(state),
        comment,
        skipped: None,
    })
}

/// Reads a file of the repository; transient failures end the run (Step Functions retries it),
/// other failures are the manifest's problem and land in the comment.
async fn read(
    deps: &Deps,
    repository: &str,
    at: &str,
    path: &str,
) -> Result<Result<Option<String>, String>, HandlerError> {
    match deps.git.read_file(repository, at, path).await {
        Ok(found) => Ok(Ok(found)),
        Err(error) if error.is_retryable() => Err(HandlerError::from_port(
            "reading the pull request's files",
            error,
        )),
        Err(error) => Ok(Err(error.to_string())),
    }
}

async fn plan_manifest(
    deps: &Deps,
    input: &PrPlanInput,
    path: &str,
) -> Result<Section, HandlerError> {
    let invalid = |problems: Vec<String>| Section::Invalid {
        path: path.to_string(),
        problems,
    };
    let text = match read(deps, &input.repository, &input.head_sha, path).await? {
        Ok(Some(text)) => text,
        Ok(None) => {
            return Ok(invalid(vec![format!(
                "{path}:1:1: (file): disappeared while planning"
            )]));
        }
        Err(error) => {
            return Ok(invalid(vec![format!(
                "{path}:1:1: (file): cannot read it: {error}"
            )]));
        }
    };
    let draft = match manifest::parse_manifest(path, &text) {
        Ok(draft) => draft,
        Err(problems) => return Ok(invalid(lines(&problems))),
    };
    let task_definition_path = draft.task_definition_path.clone();
    let head_task_definition = read(
        deps,
        &input.repository,
        &input.head_sha,
        &task_definition_path,
    )
    .await?;
    let head_text = head_task_definition.clone().ok().flatten();
    let manifest = match draft.complete(head_task_definition) {
        Ok(manifest) => manifest,
        Err(problems) => return Ok(invalid(lines(&problems))),
    };
    let diff = diff_against_base(
        deps,
        input,
        path,
        &task_definition_path,
        head_text.as_deref().unwrap_or_default(),
    )
    .await?;
    Ok(Section::Valid(Box::new(service_plan(
        &manifest,
        input,
        task_definition_path,
        diff,
    ))))
}

fn lines(problems: &manifest::Problems) -> Vec<String> {
    problems.iter().map(ToString::to_string).collect()
}

fn service_plan(
    manifest: &Manifest,
    input: &PrPlanInput,
    task_definition_path: String,
    diff: TaskDefinitionDiff,
) -> ServicePlan {
    let deploys_on_merge = if manifest.branches.is_empty() {
        input
            .default_branch
            .as_deref()
            .is_none_or(|default| default == input.base_ref)
    } else {
        manifest.branches.contains(&input.base_ref)
    };
    ServicePlan {
        path: manifest.path.clone(),
        service: manifest.service.clone(),
        cluster: manifest.cluster.clone(),
        strategy: manifest.strategy.clone(),
        plan: manifest.plan(),
        alarms: manifest.alarms.clone(),
        rollback_on_alarm: manifest.rollback.on_alarm,
        approvers: manifest.approval.approvers.clone(),
        approval_timeout_seconds: manifest.approval.timeout_seconds,
        keep_old_for_seconds: manifest.rollback.keep_old_for_seconds,
        deploys_on_merge,
        branches: manifest.branches.clone(),
        task_definition_path,
        diff,
    }
}

/// The head's task definition against the one the base branch's manifest points at (the same
/// path when the base has no such manifest or cannot be parsed).
async fn diff_against_base(
    deps: &Deps,
    input: &PrPlanInput,
    manifest_path: &str,
    head_path: &str,
    head_text: &str,
) -> Result<TaskDefinitionDiff, HandlerError> {
    let base_at = input.base_sha.as_deref().unwrap_or(&input.base_ref);
    let base_manifest = read(deps, &input.repository, base_at, manifest_path).await?;
    let base_path = match base_manifest {
        Ok(Some(text)) => manifest::parse_manifest(manifest_path, &text)
            .map(|draft| draft.task_definition_path)
            .unwrap_or_else(|_| head_path.to_string()),
        Ok(None) => return Ok(TaskDefinitionDiff::New),
        Err(_) => head_path.to_string(),
    };
    let base_text = match read(deps, &input.repository, base_at, &base_path).await? {
        Ok(Some(text)) => text,
        Ok(None) => return Ok(TaskDefinitionDiff::New),
        Err(error) => {
            return Err(HandlerError::from_port(
                "reading the base branch's task definition",
                PortError::Invalid(error),
            ));
        }
    };
    let (old, new) = (canonical(&base_text), canonical(head_text));
    if old == new {
        return Ok(TaskDefinitionDiff::Unchanged);
    }
    let short = &input.head_sha[..input.head_sha.len().min(7)];
    let diff = similar::TextDiff::from_lines(&old, &new)
        .unified_diff()
        .context_radius(3)
        .header(
            &format!("{}:{base_path}", input.base_ref),
            &format!("{short}:{head_path}"),
        )
        .to_string();
    Ok(TaskDefinitionDiff::Changed(diff))
}

/// Pretty JSON with sorted keys (the text itself when it is not JSON), so that formatting and key
/// order never show as changes.
fn canonical(text: &str) -> String {
    match serde_json::from_str::<Value>(text) {
        Ok(value) => {
            let mut pretty = serde_json::to_string_pretty(&sorted(value)).unwrap_or_default();
            pretty.push('\n');
            pretty
        }
        Err(_) => text.to_string(),
    }
}

fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(key, value)| (key, sorted(value)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests;
