//! From a live service to a manifest (`ferry init --cluster C --service S`): what the service,
//! its task sets, its load balancer and its alarms say, as `ferry_aws::discover` reads them,
//! becomes a manifest and the registered task definition, read-only fields removed.
//!
//! The production listener is the one forwarding to the primary's target group (`--listener`
//! decides when several do and none is on port 443 or 80); another listener forwarding only
//! within the pair is the test listener; the idle target group is the one beside the primary's
//! in a forward action, or another task set's.

use serde_json::Value;

use super::ContainerTarget;
use super::codedeploy::Converted;
use super::written::{Head, network_yaml, task_definition_file, without_read_only_fields};
use crate::plan::Strategy;
use crate::ports::Placement;

/// A service as `ferry init` found it in AWS.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveService {
    pub cluster: String,
    pub service: String,
    pub region: Option<String>,
    /// `ECS`, `CODE_DEPLOY` or `EXTERNAL`.
    pub deployment_controller: String,
    /// The container behind the load balancer, from the primary task set (or the service).
    pub container: Option<ContainerTarget>,
    /// The target group the primary task set (or the service) serves from.
    pub serving_target_group: Option<String>,
    /// Target groups other task sets use: candidates for the idle one.
    pub other_target_groups: Vec<String>,
    /// Every listener and rule that forwards to the serving target group, and plain listeners
    /// of the same load balancers that forward elsewhere (test listener candidates).
    pub routes: Vec<Route>,
    /// Metric alarms on the serving target group, its load balancer or the service.
    pub alarms: Vec<String>,
    /// The registered task definition, as `describe-task-definition` returns it.
    pub task_definition: Value,
    /// Where the service runs when it has no task set (its network configuration).
    pub placement: Option<Placement>,
    /// Whether a primary task set exists (no: the next deployment is the first).
    pub has_primary: bool,
}

/// A listener's default action, or one of its rules, and where it forwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub listener_arn: String,
    pub rule_arn: Option<String>,
    pub port: Option<u16>,
    /// `(target group ARN, weight)`.
    pub target_groups: Vec<(String, u32)>,
}

impl Route {
    fn weight_to(&self, target_group: &str) -> u32 {
        self.target_groups
            .iter()
            .filter(|(arn, _)| arn == target_group)
            .map(|(_, weight)| weight)
            .sum()
    }

    fn describe(&self) -> String {
        match (&self.rule_arn, self.port) {
            (Some(rule), _) => format!("rule {rule}"),
            (None, Some(port)) => format!("{} (port {port})", self.listener_arn),
            (None, None) => self.listener_arn.clone(),
        }
    }
}

/// What the command line decides when the service cannot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Choices {
    /// The production listener (or rule) ARN.
    pub listener: Option<String>,
    /// The pair, the serving one first.
    pub target_groups: Option<[String; 2]>,
}

/// The manifest for `live`, its task definition file at `task_definition_ref`.
pub fn from_live(
    live: &LiveService,
    choices: &Choices,
    task_definition_ref: &str,
) -> Result<Converted, String> {
    let mut notes = Vec::new();
    let container = live.container.as_ref().ok_or_else(|| {
        format!(
            "service {} has no load balancer: Ferry shifts traffic between two target groups behind an ALB listener",
            live.service
        )
    })?;
    let serving = live
        .serving_target_group
        .as_deref()
        .ok_or_else(|| format!("service {} serves from no target group", live.service))?;
    let production = production_route(live, serving, choices.listener.as_deref())?;
    let pair = match &choices.target_groups {
        Some(pair) => pair.clone(),
        None => {
            let idle = production
                .target_groups
                .iter()
                .map(|(arn, _)| arn)
                .chain(&live.other_target_groups)
                .find(|arn| arn.as_str() != serving)
                .ok_or_else(|| {
                    format!(
                        "only one target group was found ({serving}); Ferry needs an idle one beside it: pass --target-groups {serving},IDLE-TARGET-GROUP-ARN"
                    )
                })?;
            [serving.to_string(), idle.clone()]
        }
    };
    let test_listener = live
        .routes
        .iter()
        .filter(|route| route.rule_arn.is_none() && route.listener_arn != production.listener_arn)
        .find(|route| {
            !route.target_groups.is_empty()
                && route
                    .target_groups
                    .iter()
                    .all(|(arn, _)| pair.contains(arn))
        });
    if live.deployment_controller != "EXTERNAL" {
        notes.push(format!(
            "service {} uses the {} deployment controller; Ferry deploys services on EXTERNAL: create one beside it (docs/migrating-from-codedeploy.md)",
            live.service, live.deployment_controller
        ));
    }
    notes.push(
        "strategy: a service has none; canary 10 % for 5 m is written, change it as you like"
            .into(),
    );

    let mut document = live.task_definition.clone();
    without_read_only_fields(&mut document)?;

    let comment = format!("from the live service {}/{}", live.cluster, live.service);
    let mut manifest = Head {
        comment: &comment,
        service: &live.service,
        cluster: &live.cluster,
        region: live.region.as_deref(),
        task_definition_ref,
        container,
        listener: &production.listener_arn,
        rule: production.rule_arn.as_deref(),
        test_listener: test_listener.map(|route| route.listener_arn.as_str()),
        target_groups: &pair,
        strategy: &Strategy::Canary {
            weight: 10,
            bake_seconds: 300,
        },
    }
    .render();
    if !live.alarms.is_empty() {
        manifest.push_str(&format!("alarms: [{}]\n", live.alarms.join(", ")));
    } else {
        notes.push("alarms: none watch the target group or the service; without one, nothing rolls a deployment back by itself".into());
    }
    if !live.has_primary
        && let Some(placement) = &live.placement
    {
        manifest.push_str(&network_yaml(placement));
    }
    let task_definition = task_definition_file(&document)?;
    Ok(Converted {
        manifest,
        task_definition,
        not_carried: notes,
        notes: Vec::new(),
    })
}

/// The route that sends production traffic to `serving`.
fn production_route<'a>(
    live: &'a LiveService,
    serving: &str,
    chosen: Option<&str>,
) -> Result<&'a Route, String> {
    if let Some(chosen) = chosen {
        return live
            .routes
            .iter()
            .find(|route| {
                route.rule_arn.as_deref() == Some(chosen)
                    || (route.rule_arn.is_none() && route.listener_arn == chosen)
            })
            .ok_or_else(|| {
                format!("{chosen} does not forward to the service's target group {serving}")
            });
    }
    let candidates: Vec<&Route> = live
        .routes
        .iter()
        .filter(|route| route.weight_to(serving) > 0)
        .collect();
    match candidates.as_slice() {
        [] => Err(format!(
            "no listener forwards to the service's target group {serving}: pass --listener ARN"
        )),
        [only] => Ok(only),
        several => {
            let standard: Vec<&&Route> = several
                .iter()
                .filter(|route| route.rule_arn.is_none() && matches!(route.port, Some(443 | 80)))
                .collect();
            match standard.as_slice() {
                [only] => Ok(only),
                _ => Err(format!(
                    "cannot tell which of these sends production traffic: {}; pass --listener ARN",
                    several
                        .iter()
                        .map(|route| route.describe())
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            }
        }
    }
}

#[cfg(test)]
mod tests;
