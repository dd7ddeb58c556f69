//! Reading a live service for `ferry init` (and, with `--from-codedeploy`, its CodeDeploy
//! deployment group: `GetDeploymentGroup`, `GetDeploymentConfig`, `ListDeployments`,
//! `GetDeployment`): the service and its primary task set, the task
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
use ferry_core::manifest::codedeploy::DeploymentGroup;
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

/// What a CodeDeploy deployment group of an ECS service says, for `ferry init --from-codedeploy`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeDeploySetup {
    /// The deployment group's settings (no image: the live task definition has it).
    pub group: DeploymentGroup,
    /// The AppSpec of the group's latest successful deployment, when CodeDeploy holds its
    /// content (a revision given as a string, as CodePipeline gives it); `None` for an S3 one.
    pub appspec: Option<String>,
}

/// Reads deployment group `group` of CodeDeploy application `application`: its ECS service,
/// target group pair (ARNs, the one production uses now first), listeners, deployment
/// configuration (a custom one read back as `canary:P:M` / `linear:P:M`), waits and alarms, and
/// the AppSpec of its latest successful deployment.
pub async fn codedeploy_setup(
    config: &aws_config::SdkConfig,
    clients: &AwsClients,
    application: &str,
    group: &str,
    region: Option<String>,
) -> PortResult<CodeDeploySetup> {
    let codedeploy = aws_sdk_codedeploy::Client::new(config);
    let subject = format!("deployment group {group} of CodeDeploy application {application}");
    let info = codedeploy
        .get_deployment_group()
        .application_name(application)
        .deployment_group_name(group)
        .send()
        .await
        .map_err(|error| port_error("GetDeploymentGroup", &subject, error))?
        .deployment_group_info
        .ok_or_else(|| PortError::NotFound(subject.clone()))?;
    let ecs = info
        .ecs_services()
        .first()
        .ok_or_else(|| PortError::Invalid(format!("{subject} deploys no ECS service")))?;
    let (cluster, service) = (
        ecs.cluster_name().unwrap_or_default().to_string(),
        ecs.service_name().unwrap_or_default().to_string(),
    );
    let pair = info
        .load_balancer_info()
        .and_then(|balancer| balancer.target_group_pair_info_list().first())
        .ok_or_else(|| PortError::Invalid(format!("{subject} has no target group pair")))?;
    let names: Vec<String> = pair
        .target_groups()
        .iter()
        .filter_map(|group| group.name().map(str::to_string))
        .collect();
    let listener = pair
        .prod_traffic_route()
        .and_then(|route| route.listener_arns().first())
        .cloned()
        .ok_or_else(|| PortError::Invalid(format!("{subject} has no production listener")))?;
    let test_listener = pair
        .test_traffic_route()
        .and_then(|route| route.listener_arns().first())
        .cloned();
    // Target groups by name, then ordered: the one the production listener forwards to first.
    let described = clients
        .elb
        .describe_target_groups()
        .set_names(Some(names.clone()))
        .send()
        .await
        .map_err(|error| port_error("DescribeTargetGroups", &subject, error))?;
    let mut arns: Vec<String> = names
        .iter()
        .filter_map(|name| {
            described
                .target_groups()
                .iter()
                .find(|found| found.target_group_name() == Some(name.as_str()))
                .and_then(|found| found.target_group_arn().map(str::to_string))
        })
        .collect();
    if arns.len() != 2 {
        return Err(PortError::Invalid(format!(
            "{subject}: expected a pair of target groups, found {}",
            names.join(", ")
        )));
    }
    let listeners = clients
        .elb
        .describe_listeners()
        .listener_arns(&listener)
        .send()
        .await
        .map_err(|error| port_error("DescribeListeners", &listener, error))?;
    let forwarded = listeners
        .listeners()
        .first()
        .map(|found| forwards(found.default_actions()))
        .unwrap_or_default();
    let serves = |arn: &str| {
        forwarded
            .iter()
            .any(|(forwarded, weight)| forwarded == arn && *weight > 0)
    };
    if !serves(&arns[0]) && serves(&arns[1]) {
        arns.swap(0, 1);
    }
    let config_name = info
        .deployment_config_name()
        .unwrap_or("CodeDeployDefault.ECSAllAtOnce")
        .to_string();
    let deployment_config = if config_name.starts_with("CodeDeployDefault.") {
        config_name
    } else {
        custom_config(&codedeploy, &config_name).await?
    };
    let blue_green = info.blue_green_deployment_configuration();
    let ready = blue_green.and_then(|config| config.deployment_ready_option());
    let wait_minutes = ready.map_or(0, |ready| ready.wait_time_in_minutes());
    let stop = ready
        .and_then(|ready| ready.action_on_timeout())
        .is_some_and(|action| action.as_str() == "STOP_DEPLOYMENT");
    let termination = blue_green
        .and_then(|config| config.terminate_blue_instances_on_deployment_success())
        .map(|terminate| {
            u64::try_from(terminate.termination_wait_time_in_minutes()).unwrap_or(0) * 60
        });
    let alarms = info
        .alarm_configuration()
        .filter(|alarms| alarms.enabled())
        .map(|alarms| {
            alarms
                .alarms()
                .iter()
                .filter_map(|alarm| alarm.name().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let appspec = latest_appspec(&codedeploy, application, group).await?;
    Ok(CodeDeploySetup {
        group: DeploymentGroup {
            cluster,
            service,
            region,
            listener,
            test_listener,
            target_groups: [arns[0].clone(), arns[1].clone()],
            deployment_config,
            reroute_wait_seconds: (wait_minutes > 0)
                .then(|| u64::try_from(wait_minutes).unwrap_or(0) * 60),
            continue_after_wait: !stop,
            termination_wait_seconds: termination,
            alarms,
            image: None,
        },
        appspec,
    })
}

/// A custom deployment configuration, written as `ferry init` reads it: `canary:P:M`,
/// `linear:P:M` or `allAtOnce`.
async fn custom_config(codedeploy: &aws_sdk_codedeploy::Client, name: &str) -> PortResult<String> {
    let subject = format!("deployment configuration {name}");
    let info = codedeploy
        .get_deployment_config()
        .deployment_config_name(name)
        .send()
        .await
        .map_err(|error| port_error("GetDeploymentConfig", &subject, error))?
        .deployment_config_info
        .ok_or_else(|| PortError::NotFound(subject.clone()))?;
    let routing = info.traffic_routing_config();
    if let Some(canary) = routing.and_then(|routing| routing.time_based_canary()) {
        return Ok(format!(
            "canary:{}:{}",
            canary.canary_percentage(),
            canary.canary_interval()
        ));
    }
    if let Some(linear) = routing.and_then(|routing| routing.time_based_linear()) {
        return Ok(format!(
            "linear:{}:{}",
            linear.linear_percentage(),
            linear.linear_interval()
        ));
    }
    Ok("allAtOnce".into())
}

/// The AppSpec content of the group's latest successful deployment (or, when none succeeded,
/// its latest), if CodeDeploy holds it.
async fn latest_appspec(
    codedeploy: &aws_sdk_codedeploy::Client,
    application: &str,
    group: &str,
) -> PortResult<Option<String>> {
    let subject = format!("deployments of {application}/{group}");
    let ids = codedeploy
        .list_deployments()
        .application_name(application)
        .deployment_group_name(group)
        .send()
        .await
        .map_err(|error| port_error("ListDeployments", &subject, error))?
        .deployments()
        .to_vec();
    // (succeeded, created at, content): the greatest wins.
    let mut latest: Option<(bool, i64, Option<String>)> = None;
    for id in ids.iter().take(25) {
        let Some(info) = codedeploy
            .get_deployment()
            .deployment_id(id)
            .send()
            .await
            .map_err(|error| port_error("GetDeployment", &subject, error))?
            .deployment_info
        else {
            continue;
        };
        let succeeded = info.status().map(|status| status.as_str()) == Some("Succeeded");
        let created = info.create_time().map_or(0, |time| time.secs());
        let content = info
            .revision()
            .and_then(|revision| revision.app_spec_content())
            .and_then(|appspec| appspec.content())
            .map(str::to_string);
        if latest
            .as_ref()
            .is_none_or(|(best_succeeded, best_created, _)| {
                (succeeded, created) >= (*best_succeeded, *best_created)
            })
        {
            latest = Some((succeeded, created, content));
        }
    }
    Ok(latest.and_then(|(_, _, content)| content))
}
