//! Reading a live service for `ferry init`: the service and its primary task set, the task
//! definition as ECS registered it, the listeners and rules of its load balancer, and the
//! alarms on its target group or the service. Read-only calls (`DescribeServices`,
//! `DescribeTaskSets`, `DescribeTaskDefinition`, `DescribeTargetGroups`, `DescribeListeners`,
//! `DescribeRules`, `DescribeAlarms`), made with the caller's credentials by the CLI.
//!
//! The task definition is kept as the JSON ECS answered (captured by an interceptor on the
//! call), not rebuilt from the SDK's types: the file `ferry init` writes then holds every field
//! the service uses, in `register-task-definition`'s shape.

use std::sync::{Arc, Mutex};

use aws_sdk_cloudwatch::types::Dimension;
use aws_sdk_elasticloadbalancingv2::types::Action;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::AfterDeserializationInterceptorContextRef;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use ferry_core::manifest::ContainerTarget;
use ferry_core::manifest::live::{LiveService, Route};
use ferry_core::ports::{PortError, PortResult};
use serde_json::Value;

use crate::config::AwsClients;
use crate::error::port_error;

/// Everything `ferry init` needs to know about `cluster`/`service`.
pub async fn live_service(
    clients: &AwsClients,
    region: Option<String>,
    cluster: &str,
    service: &str,
) -> PortResult<LiveService> {
    let subject = format!("service {service} in cluster {cluster}");
    let described = clients
        .ecs
        .describe_services()
        .cluster(cluster)
        .services(service)
        .send()
        .await
        .map_err(|error| port_error("DescribeServices", &subject, error))?;
    let found = described
        .services()
        .iter()
        .find(|found| found.service_name() == Some(service) || found.service_arn() == Some(service))
        .ok_or_else(|| PortError::NotFound(subject.clone()))?;
    let controller = found
        .deployment_controller()
        .map_or("ECS", |controller| controller.r#type().as_str())
        .to_string();
    let task_sets = if controller == "ECS" {
        Vec::new()
    } else {
        clients
            .ecs
            .describe_task_sets()
            .cluster(cluster)
            .service(service)
            .send()
            .await
            .map_err(|error| port_error("DescribeTaskSets", &subject, error))?
            .task_sets()
            .to_vec()
    };
    let primary = task_sets.iter().find(|set| set.status() == Some("PRIMARY"));
    // What serves: the primary task set's load balancer and task definition, or the service's.
    let (balancer, task_definition_arn) = match primary {
        Some(set) => (set.load_balancers().first(), set.task_definition()),
        None => (found.load_balancers().first(), found.task_definition()),
    };
    let container = balancer.and_then(|lb| {
        Some(ContainerTarget {
            name: lb.container_name()?.to_string(),
            port: u16::try_from(lb.container_port()?).ok()?,
        })
    });
    let serving = balancer.and_then(|lb| lb.target_group_arn().map(str::to_string));
    let other_target_groups = task_sets
        .iter()
        .filter(|set| set.status() != Some("PRIMARY"))
        .flat_map(|set| set.load_balancers())
        .filter_map(|lb| lb.target_group_arn().map(str::to_string))
        .filter(|arn| Some(arn) != serving.as_ref())
        .collect();
    let task_definition_arn = task_definition_arn.ok_or_else(|| {
        PortError::NotFound(format!(
            "{subject}: no task definition (no task set, no service definition)"
        ))
    })?;
    let task_definition = raw_task_definition(clients, task_definition_arn).await?;
    let placement = found.network_configuration().and_then(|network| {
        let vpc = network.awsvpc_configuration()?;
        Some(ferry_core::ports::Placement {
            network: Some(ferry_core::ports::NetworkConfig {
                subnets: vpc.subnets().to_vec(),
                security_groups: vpc.security_groups().to_vec(),
                assign_public_ip: vpc.assign_public_ip().map(|ip| ip.as_str()) == Some("ENABLED"),
            }),
            launch_type: found
                .launch_type()
                .map(|launch| launch.as_str().to_string()),
            capacity_providers: Vec::new(),
            platform_version: found.platform_version().map(str::to_string),
        })
    });
    let routes = match &serving {
        Some(target_group) => routes_of(clients, target_group).await?,
        None => Vec::new(),
    };
    let alarms = match &serving {
        Some(target_group) => alarms_on(clients, target_group, cluster, service).await?,
        None => Vec::new(),
    };
    Ok(LiveService {
        cluster: cluster.to_string(),
        service: found.service_name().unwrap_or(service).to_string(),
        region,
        deployment_controller: controller,
        container,
        serving_target_group: serving,
        other_target_groups,
        routes,
        alarms,
        task_definition,
        placement,
        has_primary: primary.is_some(),
    })
}

/// Keeps the body of the answer it is attached to.
#[derive(Debug, Clone, Default)]
struct KeepBody(Arc<Mutex<Option<Vec<u8>>>>);

impl Intercept for KeepBody {
    fn name(&self) -> &'static str {
        "KeepBody"
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(bytes) = context.response().body().bytes() {
            *self
                .0
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(bytes.to_vec());
        }
        Ok(())
    }
}

/// The `taskDefinition` object of `DescribeTaskDefinition`'s answer, as ECS wrote it.
async fn raw_task_definition(clients: &AwsClients, arn: &str) -> PortResult<Value> {
    let subject = format!("task definition {arn}");
    let kept = KeepBody::default();
    clients
        .ecs
        .describe_task_definition()
        .task_definition(arn)
        .customize()
        .interceptor(kept.clone())
        .send()
        .await
        .map_err(|error| port_error("DescribeTaskDefinition", &subject, error))?;
    let body = kept
        .0
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .take()
        .ok_or_else(|| {
            PortError::Transient(format!("{subject}: the answer's body was not kept"))
        })?;
    let answer: Value = serde_json::from_slice(&body).map_err(|error| {
        PortError::Transient(format!("{subject}: the answer is not JSON: {error}"))
    })?;
    answer
        .get("taskDefinition")
        .cloned()
        .ok_or_else(|| PortError::Transient(format!("{subject}: the answer has no taskDefinition")))
}

/// The listeners (default actions and rules) of the target group's load balancers.
async fn routes_of(clients: &AwsClients, target_group: &str) -> PortResult<Vec<Route>> {
    let subject = format!("target group {target_group}");
    let groups = clients
        .elb
        .describe_target_groups()
        .target_group_arns(target_group)
        .send()
        .await
        .map_err(|error| port_error("DescribeTargetGroups", &subject, error))?;
    let mut balancers: Vec<String> = groups
        .target_groups()
        .iter()
        .flat_map(|group| group.load_balancer_arns())
        .cloned()
        .collect();
    // A target group used by several listeners of one load balancer may name it more than once.
    balancers.sort();
    balancers.dedup();
    let mut routes = Vec::new();
    for balancer in balancers {
        let listeners = clients
            .elb
            .describe_listeners()
            .load_balancer_arn(&balancer)
            .send()
            .await
            .map_err(|error| port_error("DescribeListeners", &balancer, error))?;
        for listener in listeners.listeners() {
            let Some(listener_arn) = listener.listener_arn() else {
                continue;
            };
            let port = listener.port().and_then(|port| u16::try_from(port).ok());
            routes.push(Route {
                listener_arn: listener_arn.to_string(),
                rule_arn: None,
                port,
                target_groups: forwards(listener.default_actions()),
            });
            let rules = clients
                .elb
                .describe_rules()
                .listener_arn(listener_arn)
                .send()
                .await
                .map_err(|error| port_error("DescribeRules", listener_arn, error))?;
            for rule in rules.rules() {
                if rule.is_default() == Some(true) {
                    continue;
                }
                let target_groups = forwards(rule.actions());
                if target_groups.iter().any(|(arn, _)| arn == target_group) {
                    routes.push(Route {
                        listener_arn: listener_arn.to_string(),
                        rule_arn: rule.rule_arn().map(str::to_string),
                        port,
                        target_groups,
                    });
                }
            }
        }
    }
    Ok(routes)
}

/// The target groups and weights of the forward action among `actions`.
fn forwards(actions: &[Action]) -> Vec<(String, u32)> {
    let Some(forward) = actions
        .iter()
        .find(|action| action.r#type().map(|kind| kind.as_str()) == Some("forward"))
    else {
        return Vec::new();
    };
    match forward.forward_config() {
        Some(config) if !config.target_groups().is_empty() => config
            .target_groups()
            .iter()
            .filter_map(|tuple| {
                Some((
                    tuple.target_group_arn()?.to_string(),
                    u32::try_from(tuple.weight().unwrap_or(1)).unwrap_or(0),
                ))
            })
            .collect(),
        _ => forward
            .target_group_arn()
            .map(|arn| vec![(arn.to_string(), 1)])
            .unwrap_or_default(),
    }
}

/// Metric alarms whose dimensions name the target group, or the service in its cluster.
async fn alarms_on(
    clients: &AwsClients,
    target_group: &str,
    cluster: &str,
    service: &str,
) -> PortResult<Vec<String>> {
    // CloudWatch names a target group `targetgroup/NAME/ID` (the ARN's resource).
    let group_dimension = target_group
        .split_once(":targetgroup/")
        .map(|(_, rest)| format!("targetgroup/{rest}"));
    let cluster_name = cluster.rsplit('/').next().unwrap_or(cluster);
    let watches = |dimensions: &[Dimension]| {
        let value = |name: &str| {
            dimensions
                .iter()
                .find(|dimension| dimension.name() == Some(name))
                .and_then(Dimension::value)
        };
        value("TargetGroup").is_some_and(|value| Some(value) == group_dimension.as_deref())
            || (value("ServiceName") == Some(service) && value("ClusterName") == Some(cluster_name))
    };
    let mut names = Vec::new();
    let mut next = None;
    loop {
        let page = clients
            .cloudwatch
            .describe_alarms()
            .set_next_token(next.take())
            .send()
            .await
            .map_err(|error| port_error("DescribeAlarms", "the account's alarms", error))?;
        for alarm in page.metric_alarms() {
            if watches(alarm.dimensions())
                && let Some(name) = alarm.alarm_name()
            {
                names.push(name.to_string());
            }
        }
        match page.next_token() {
            Some(token) if !token.is_empty() => next = Some(token.to_string()),
            _ => break,
        }
    }
    names.sort();
    names.dedup();
    Ok(names)
}
