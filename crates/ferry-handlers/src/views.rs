//! What the web UI shows, read over the ports: the deployments across services, one
//! deployment as it stands now (the load balancer's weights, blue and green task sets, the
//! alarms), and one service. Read-only: acting goes through [`crate::control::act`].
//!
//! A live read that fails (the load balancer throttles, a task set is gone) does not fail the
//! view: its part carries the error in words and the rest is shown.

use std::collections::BTreeSet;

use ferry_core::control::offered_actions;
use ferry_core::convergence::Desired;
use ferry_core::deployment::{Deployment, TaskSetRef, short_commit};
use ferry_core::plan::Step;
use ferry_core::ports::{
    AlarmStatus, ContainerImage, PortError, PortResult, RouteRef, TaskSetInfo, TaskSetStatus,
};
use serde::Serialize;
use time::OffsetDateTime;

use crate::Deps;

/// Deployments listed at most.
pub const MAX_ROWS: usize = 100;

/// One deployment in a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    pub id: String,
    /// `cluster/service`.
    pub service: String,
    pub repository: String,
    pub commit: String,
    pub short_commit: String,
    pub author: Option<String>,
    pub message: Option<String>,
    pub branch: Option<String>,
    pub strategy: String,
    pub status: &'static str,
    pub in_flight: bool,
    pub green_weight: u8,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub finished_at: Option<OffsetDateTime>,
    /// Until it ended, or until `now` while it runs.
    pub duration_seconds: i64,
}

impl Row {
    pub fn of(deployment: &Deployment, now: OffsetDateTime) -> Row {
        let ended = deployment.finished_at.unwrap_or(now);
        Row {
            id: deployment.id.clone(),
            service: deployment.service_key(),
            repository: deployment.source.repository.clone(),
            commit: deployment.source.commit.clone(),
            short_commit: short_commit(&deployment.source.commit).to_string(),
            author: deployment.source.author.clone(),
            message: deployment.source.message.clone(),
            branch: deployment.source.branch.clone(),
            strategy: deployment.plan.strategy_label(),
            status: deployment.status.name(),
            in_flight: !deployment.status.is_terminal(),
            green_weight: deployment.green_weight,
            created_at: deployment.created_at,
            finished_at: deployment.finished_at,
            duration_seconds: (ended - deployment.created_at).whole_seconds().max(0),
        }
    }
}

/// Which deployments a list shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// `cluster/service`.
    pub service: Option<String>,
    /// A status name (`baking`, `rolled-back`, ...), or `in-flight` / `ended`.
    pub status: Option<String>,
    pub limit: usize,
}

impl Filter {
    fn keeps(&self, deployment: &Deployment) -> bool {
        let service = self
            .service
            .as_ref()
            .is_none_or(|service| *service == deployment.service_key());
        let status = match self.status.as_deref() {
            None | Some("") => true,
            Some("in-flight") => !deployment.status.is_terminal(),
            Some("ended") => deployment.status.is_terminal(),
            Some(name) => deployment.status.name() == name,
        };
        service && status
    }
}

/// The deployments page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Overview {
    /// In flight first (latest first), then the ended ones, latest first.
    pub deployments: Vec<Row>,
    /// Every service seen, to filter by.
    pub services: Vec<String>,
}

/// The deployments across services, in flight first.
pub async fn overview(deps: &Deps, filter: &Filter) -> PortResult<Overview> {
    let limit = filter.limit.clamp(1, MAX_ROWS);
    let (in_flight, recent) = futures_util::future::join(deps.store.list_in_flight(), async {
        match &filter.service {
            Some(service) => deps.store.list_for_service(service, MAX_ROWS).await,
            None => deps.store.list_recent(MAX_ROWS).await,
        }
    })
    .await;
    let (in_flight, recent) = (in_flight?, recent?);
    let services: BTreeSet<String> = in_flight
        .iter()
        .chain(&recent)
        .map(Deployment::service_key)
        .collect();
    let now = deps.clock.now();
    let mut seen = BTreeSet::new();
    let mut listed: Vec<&Deployment> = in_flight
        .iter()
        // The index of recent deployments may lag: the in-flight one is the later read.
        .chain(
            recent
                .iter()
                .filter(|deployment| deployment.status.is_terminal()),
        )
        .filter(|deployment| filter.keeps(deployment))
        .filter(|deployment| seen.insert(deployment.id.clone()))
        .collect();
    listed.sort_by(|a, b| {
        (a.status.is_terminal().cmp(&b.status.is_terminal()))
            .then(b.created_at.cmp(&a.created_at))
            .then(b.id.cmp(&a.id))
    });
    Ok(Overview {
        deployments: listed
            .into_iter()
            .take(limit)
            .map(|deployment| Row::of(deployment, now))
            .collect(),
        services: services.into_iter().collect(),
    })
}

/// Which side of the deployment a task set or target group is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Role {
    Blue,
    Green,
    /// A service's primary task set (the service view).
    Current,
    /// Anything else the route forwards to.
    Other,
}

/// A target group's weight, as the load balancer has it now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetGroupView {
    pub arn: String,
    /// The name in the ARN (`targetgroup/NAME/id`).
    pub name: String,
    pub role: Role,
    pub weight: u32,
}

/// The production route's weights.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Weights {
    pub target_groups: Vec<TargetGroupView>,
    /// Green's share of production traffic, in percent; `None` when nothing is forwarded.
    pub green_percent: Option<f64>,
}

/// A task set as ECS reports it now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskSetView {
    pub role: Role,
    pub id: String,
    pub status: TaskSetStatus,
    /// `family:revision`.
    pub task_definition: String,
    pub task_definition_arn: String,
    pub images: Vec<ContainerImage>,
    pub running: i32,
    pub desired: i32,
    pub pending: i32,
    pub steady: bool,
}

/// Where the commit can be read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Links {
    pub commit: Option<String>,
    pub pull_requests: Option<String>,
}

impl Links {
    /// GitHub's pages for a repository written `owner/name`; none for a local folder.
    pub fn of(repository: &str, commit: &str) -> Links {
        let mut parts = repository.split('/');
        let github = matches!(
            (parts.next(), parts.next(), parts.next()),
            (Some(owner), Some(name), None)
                if !owner.is_empty() && !name.is_empty() && !owner.starts_with('.')
        ) && commit.chars().all(|c| c.is_ascii_hexdigit())
            && !commit.is_empty();
        if !github {
            return Links::default();
        }
        Links {
            commit: Some(format!("https://github.com/{repository}/commit/{commit}")),
            pull_requests: Some(format!(
                "https://github.com/{repository}/pulls?q=is%3Apr+{commit}"
            )),
        }
    }
}

/// A deployment as it stands now, beside its record.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Live {
    #[serde(with = "time::serde::rfc3339")]
    pub read_at: OffsetDateTime,
    pub status: &'static str,
    /// What the deployment's state offers now (`approve`, `reject`, `promote`, `rollback`,
    /// `moveTo`).
    pub actions: Vec<&'static str>,
    pub weights: Option<Weights>,
    pub weights_error: Option<String>,
    pub task_sets: Vec<TaskSetView>,
    pub task_sets_error: Option<String>,
    pub alarms: Vec<AlarmStatus>,
    pub alarms_error: Option<String>,
    pub links: Links,
}

/// Reads what `deployment` has in AWS now: the route's weights, its task sets, its alarms.
pub async fn live(deps: &Deps, deployment: &Deployment) -> Live {
    let route = RouteRef {
        listener_arn: deployment.traffic.listener_arn.clone(),
        rule_arn: deployment.traffic.rule_arn.clone(),
    };
    let (weights, task_sets, alarms) = futures_util::future::join3(
        deps.traffic.read_weights(&route),
        deployment_task_sets(deps, deployment),
        async {
            if deployment.policy.alarms.is_empty() {
                Ok(Vec::new())
            } else {
                deps.alarms.describe_alarms(&deployment.policy.alarms).await
            }
        },
    )
    .await;
    let (weights, weights_error) = split(weights.map(|weights| {
        let target_groups: Vec<TargetGroupView> = weights
            .into_iter()
            .map(|entry| TargetGroupView {
                name: target_group_name(&entry.target_group_arn),
                role: if entry.target_group_arn == deployment.green_target_group {
                    Role::Green
                } else if entry.target_group_arn == deployment.blue_target_group {
                    Role::Blue
                } else {
                    Role::Other
                },
                arn: entry.target_group_arn,
                weight: entry.weight,
            })
            .collect();
        let total: u32 = target_groups.iter().map(|group| group.weight).sum();
        let green: u32 = target_groups
            .iter()
            .filter(|group| group.role == Role::Green)
            .map(|group| group.weight)
            .sum();
        Weights {
            green_percent: (total > 0).then(|| f64::from(green) * 100.0 / f64::from(total)),
            target_groups,
        }
    }));
    let (task_sets, task_sets_error) = match task_sets {
        Ok((views, problem)) => (views, problem),
        Err(error) => (Vec::new(), Some(error.to_string())),
    };
    let (alarms, alarms_error) = split(alarms);
    Live {
        read_at: deps.clock.now(),
        status: deployment.status.name(),
        actions: offered_actions(deployment),
        weights,
        weights_error,
        task_sets,
        task_sets_error,
        alarms: alarms.unwrap_or_default(),
        alarms_error,
        links: Links::of(&deployment.source.repository, &deployment.source.commit),
    }
}

fn split<T>(result: PortResult<T>) -> (Option<T>, Option<String>) {
    match result {
        Ok(value) => (Some(value), None),
        Err(error) => (None, Some(error.to_string())),
    }
}

/// `…:targetgroup/NAME/0123abcd` → `NAME`.
fn target_group_name(arn: &str) -> String {
    arn.split_once(":targetgroup/")
        .and_then(|(_, rest)| rest.split('/').next())
        .unwrap_or(arn)
        .to_string()
}

/// Blue and green as ECS reports them (a side that is gone is left out), and a problem reading
/// a task definition's images, if any.
async fn deployment_task_sets(
    deps: &Deps,
    deployment: &Deployment,
) -> PortResult<(Vec<TaskSetView>, Option<String>)> {
    let service = deps
        .ecs
        .describe_service(&deployment.cluster, &deployment.service)
        .await?;
    let is = |set: &TaskSetInfo, known: &Option<TaskSetRef>| {
        known
            .as_ref()
            .is_some_and(|known| known.id == set.id || known.arn == set.arn)
    };
    let mut sides = Vec::new();
    for set in &service.task_sets {
        let role = if is(set, &deployment.green)
            || set.external_id.as_deref() == Some(deployment.id.as_str())
        {
            Role::Green
        } else if is(set, &deployment.blue) {
            Role::Blue
        } else {
            continue;
        };
        sides.push((role, set));
    }
    // Blue first, as the weights bar reads.
    sides.sort_by_key(|(role, _)| *role != Role::Blue);
    let mut problem = None;
    let mut views = Vec::new();
    for (role, set) in sides {
        let view = task_set_view(deps, role, set).await;
        if let Err(error) = &view.1 {
            problem.get_or_insert_with(|| error.to_string());
        }
        views.push(view.0);
    }
    Ok((views, problem))
}

/// The task set, with its task definition's images when they can be read.
async fn task_set_view(
    deps: &Deps,
    role: Role,
    set: &TaskSetInfo,
) -> (TaskSetView, Result<(), PortError>) {
    let definition = deps
        .ecs
        .describe_task_definition(&set.task_definition_arn)
        .await;
    let (name, images, read) = match definition {
        Ok(definition) => (definition.name, definition.containers, Ok(())),
        Err(error) => (
            set.task_definition_arn
                .rsplit('/')
                .next()
                .unwrap_or(&set.task_definition_arn)
                .to_string(),
            Vec::new(),
            Err(error),
        ),
    };
    let view = TaskSetView {
        role,
        id: set.id.clone(),
        status: set.status,
        task_definition: name,
        task_definition_arn: set.task_definition_arn.clone(),
        images,
        running: set.running_count,
        desired: set.computed_desired_count,
        pending: set.pending_count,
        steady: set.steady,
    };
    (view, read)
}

/// The plan of a service's latest deployment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LastPlan {
    pub deployment_id: String,
    pub commit: String,
    pub strategy: String,
    pub steps: Vec<Step>,
    pub holds_at: Option<u8>,
    pub status: &'static str,
}

/// What runs a service now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Current {
    pub task_set: Option<TaskSetView>,
    /// The deployment that created the primary task set, when Ferry did.
    pub deployment_id: Option<String>,
}

/// The service page.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceView {
    /// `cluster/service`.
    pub service: String,
    pub current: Option<Current>,
    pub current_error: Option<String>,
    /// Latest first.
    pub deployments: Vec<Row>,
    pub last_plan: Option<LastPlan>,
    /// The latest push and the pushes passed over.
    pub desired: Option<Desired>,
}

/// A service (`cluster`, `service`): what runs it now, its deployments, its last plan and its
/// latest push.
pub async fn service(deps: &Deps, cluster: &str, service: &str) -> PortResult<ServiceView> {
    let key = ferry_core::deployment::service_key(cluster, service);
    let (deployments, desired, described) = futures_util::future::join3(
        deps.store.list_for_service(&key, 50),
        deps.store.get_desired(&key),
        deps.ecs.describe_service(cluster, service),
    )
    .await;
    let (deployments, desired) = (deployments?, desired?);
    let (current, current_error) = match described {
        Ok(described) => match described.primary_task_set() {
            Some(primary) => {
                let (view, read) = task_set_view(deps, Role::Current, primary).await;
                (
                    Some(Current {
                        task_set: Some(view),
                        deployment_id: primary.external_id.clone(),
                    }),
                    read.err().map(|error| error.to_string()),
                )
            }
            None => (
                Some(Current {
                    task_set: None,
                    deployment_id: None,
                }),
                None,
            ),
        },
        Err(error) => (None, Some(error.to_string())),
    };
    if deployments.is_empty() && desired.is_none() && current_error.is_some() {
        return Err(PortError::NotFound(format!(
            "service {key}: no deployments recorded, and ECS says: {}",
            current_error.unwrap_or_default()
        )));
    }
    let now = deps.clock.now();
    let last_plan = deployments.first().map(|latest| LastPlan {
        deployment_id: latest.id.clone(),
        commit: latest.source.commit.clone(),
        strategy: latest.plan.strategy_label(),
        steps: latest.plan.steps.clone(),
        holds_at: latest.plan.holds_at,
        status: latest.status.name(),
    });
    Ok(ServiceView {
        service: key,
        current,
        current_error,
        deployments: deployments
            .iter()
            .map(|deployment| Row::of(deployment, now))
            .collect(),
        last_plan,
        desired,
    })
}

#[cfg(test)]
mod tests;
