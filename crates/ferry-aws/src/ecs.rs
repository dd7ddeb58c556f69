//! [`TaskSetDeployer`] on Amazon ECS task sets (services with the `EXTERNAL` deployment
//! controller).
//!
//! Every write can be repeated: creating a task set first looks for one with the same external
//! id (the deployment id), deleting one that is gone is `Ok`, promoting the primary again and
//! scaling to the current scale are no-ops in ECS itself.

mod task_definition;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, CapacityProviderStrategyItem, LaunchType, LoadBalancer,
    NetworkConfiguration, Scale, ScaleUnit, StabilityStatus, TaskSet,
};
use ferry_core::ports::{
    CapacityProviderItem, ContainerImage, NetworkConfig, NewTaskSet, Placement, PortError,
    PortResult, ServiceInfo, TaskDefinitionInfo, TaskSetDeployer, TaskSetInfo, TaskSetStatus,
};
use tracing::{debug, info};

use crate::error::{code_of, port_error};

/// The ECS adapter.
#[derive(Debug, Clone)]
pub struct EcsTaskSets {
    client: Client,
    /// Task definitions already described, by ARN: a registered revision never changes, and
    /// the web UI asks for blue's and green's on every poll.
    task_definitions: Arc<Mutex<HashMap<String, TaskDefinitionInfo>>>,
}

/// Revisions kept at most (a long-running UI sees every deployment's).
const KEPT_TASK_DEFINITIONS: usize = 256;

impl EcsTaskSets {
    pub fn new(client: Client) -> Self {
        Self {
            client,
            task_definitions: Arc::default(),
        }
    }

    fn kept_task_definitions(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, TaskDefinitionInfo>> {
        self.task_definitions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// All task sets of a service (ECS refuses the call for services that do not use task sets).
    async fn task_sets(&self, cluster: &str, service: &str) -> PortResult<Vec<TaskSetInfo>> {
        let output = self
            .client
            .describe_task_sets()
            .cluster(cluster)
            .service(service)
            .send()
            .await
            .map_err(|error| port_error("DescribeTaskSets", &subject(cluster, service), error))?;
        output.task_sets().iter().map(task_set_info).collect()
    }

    async fn find_by_external_id(
        &self,
        cluster: &str,
        service: &str,
        external_id: &str,
    ) -> PortResult<Option<TaskSetInfo>> {
        Ok(self
            .task_sets(cluster, service)
            .await?
            .into_iter()
            .find(|set| set.external_id.as_deref() == Some(external_id)))
    }
}

/// Tries of one CreateTaskSet before the error goes back to the handler (and Step Functions).
const CREATE_ATTEMPTS: u32 = 3;

/// CreateTaskSet's idempotency token: up to 36 ASCII characters (33 to 126), the same for every
/// try of one deployment. A deployment id is up to 80 characters, so it is digested.
fn client_token(external_id: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(external_id.as_bytes())
        .iter()
        .take(18)
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn subject(cluster: &str, service: &str) -> String {
    format!("service {service} in cluster {cluster}")
}

fn task_set_subject(cluster: &str, service: &str, task_set: &str) -> String {
    format!("task set {task_set} of service {service} in cluster {cluster}")
}

fn check_percent(percent: f64) -> PortResult<()> {
    if (0.0..=100.0).contains(&percent) {
        Ok(())
    } else {
        Err(PortError::Invalid(format!(
            "task set scale must be between 0 and 100 percent, not {percent}"
        )))
    }
}

#[async_trait]
impl TaskSetDeployer for EcsTaskSets {
    async fn describe_service(&self, cluster: &str, service: &str) -> PortResult<ServiceInfo> {
        let output = self
            .client
            .describe_services()
            .cluster(cluster)
            .services(service)
            .send()
            .await
            .map_err(|error| port_error("DescribeServices", &subject(cluster, service), error))?;
        let Some(found) = output.services().iter().find(|found| {
            found.service_name() == Some(service) || found.service_arn() == Some(service)
        }) else {
            // ECS reports a missing service as a failure entry, not as an error.
            let reason = output
                .failures()
                .iter()
                .filter_map(|failure| failure.reason())
                .collect::<Vec<_>>()
                .join(", ");
            return Err(PortError::NotFound(format!(
                "{} (DescribeServices: {})",
                subject(cluster, service),
                if reason.is_empty() {
                    "no such service"
                } else {
                    &reason
                }
            )));
        };
        let deployment_controller = found
            .deployment_controller()
            .map_or("ECS", |controller| controller.r#type().as_str())
            .to_string();
        // Only EXTERNAL and CODE_DEPLOY services have task sets; ECS refuses the call otherwise.
        let task_sets = if deployment_controller == "ECS" {
            Vec::new()
        } else {
            self.task_sets(cluster, service).await?
        };
        Ok(ServiceInfo {
            arn: found.service_arn().unwrap_or_default().to_string(),
            name: found.service_name().unwrap_or(service).to_string(),
            cluster_arn: found.cluster_arn().unwrap_or_default().to_string(),
            status: found.status().unwrap_or_default().to_string(),
            deployment_controller,
            desired_count: found.desired_count(),
            task_sets,
        })
    }

    async fn register_task_definition(&self, document: &serde_json::Value) -> PortResult<String> {
        let request = task_definition::register_request(document)?;
        let family = request.get_family().clone().unwrap_or_default();
        let output = request.send_with(&self.client).await.map_err(|error| {
            port_error(
                "RegisterTaskDefinition",
                &format!("task definition family {family}"),
                error,
            )
        })?;
        let arn = output
            .task_definition()
            .and_then(|definition| definition.task_definition_arn())
            .ok_or_else(|| {
                PortError::Transient(format!(
                    "RegisterTaskDefinition for family {family} returned no ARN"
                ))
            })?
            .to_string();
        info!(family = %family, task_definition = %arn, "registered task definition");
        Ok(arn)
    }

    async fn create_task_set(&self, request: &NewTaskSet) -> PortResult<TaskSetInfo> {
        check_percent(request.scale_percent)?;
        let (cluster, service) = (request.cluster.as_str(), request.service.as_str());
        // A retry after a timeout must not create a second task set: the external id is the
        // deployment id, so a task set carrying it is the one we created.
        if let Some(existing) = self
            .find_by_external_id(cluster, service, &request.external_id)
            .await?
        {
            debug!(task_set = %existing.id, external_id = %request.external_id, "task set exists");
            return Ok(existing);
        }
        let container_port = i32::from(request.container_port);
        let mut call = self
            .client
            .create_task_set()
            .cluster(cluster)
            .service(service)
            .task_definition(&request.task_definition_arn)
            .external_id(&request.external_id)
            .load_balancers(
                LoadBalancer::builder()
                    .target_group_arn(&request.target_group_arn)
                    .container_name(&request.container_name)
                    .container_port(container_port)
                    .build(),
            )
            .scale(
                Scale::builder()
                    .value(request.scale_percent)
                    .unit(ScaleUnit::Percent)
                    .build(),
            )
            .set_platform_version(request.placement.platform_version.clone());
        if let Some(network) = &request.placement.network {
            call = call.network_configuration(network_configuration(network)?);
        }
        let (capacity_providers, launch_type) = capacity_or_launch_type(&request.placement)?;
        call = call
            .set_capacity_provider_strategy(capacity_providers)
            .set_launch_type(launch_type);
        // The SDK's own retries are off for this call: a retry after a lost answer must first
        // look for the task set the lost call created. AWS also answers a repeat with the same
        // client token with the first task set; moto ignores the token, and this loop is what
        // keeps the emulator to one green as well.
        let call = call.client_token(client_token(&request.external_id));
        let mut attempt = 0;
        let output = loop {
            attempt += 1;
            let once = call.clone().customize().config_override(
                aws_sdk_ecs::config::Config::builder()
                    .retry_config(aws_sdk_ecs::config::retry::RetryConfig::disabled()),
            );
            let error = match once.send().await {
                Ok(output) => break output,
                Err(error) => port_error("CreateTaskSet", &subject(cluster, service), error),
            };
            if !error.is_retryable() || attempt >= CREATE_ATTEMPTS {
                return Err(error);
            }
            // The call may have been applied with its answer lost.
            if let Ok(Some(existing)) = self
                .find_by_external_id(cluster, service, &request.external_id)
                .await
            {
                info!(task_set = %existing.id, external_id = %request.external_id, "found the task set a call with a lost answer created");
                return Ok(existing);
            }
            debug!(attempt, %error, "CreateTaskSet failed; trying again");
            tokio::time::sleep(std::time::Duration::from_millis(200 << attempt)).await;
        };
        let created = output.task_set().ok_or_else(|| {
            PortError::Transient(format!(
                "CreateTaskSet on {} returned no task set",
                subject(cluster, service)
            ))
        })?;
        let info = task_set_info(created)?;
        info!(cluster, service, task_set = %info.id, external_id = %request.external_id, "created task set");
        Ok(info)
    }

    async fn describe_task_set(
        &self,
        cluster: &str,
        service: &str,
        task_set: &str,
    ) -> PortResult<Option<TaskSetInfo>> {
        let result = self
            .client
            .describe_task_sets()
            .cluster(cluster)
            .service(service)
            .task_sets(task_set)
            .send()
            .await;
        let output = match result {
            Ok(output) => output,
            Err(error) if code_of(&error) == Some("TaskSetNotFoundException") => return Ok(None),
            Err(error) => {
                return Err(port_error(
                    "DescribeTaskSets",
                    &task_set_subject(cluster, service, task_set),
                    error,
                ));
            }
        };
        // A missing task set comes back as a failure entry (reason MISSING).
        output
            .task_sets()
            .iter()
            .find(|set| set.id() == Some(task_set) || set.task_set_arn() == Some(task_set))
            .map(task_set_info)
            .transpose()
    }

    async fn set_primary_task_set(
        &self,
        cluster: &str,
        service: &str,
        task_set: &str,
    ) -> PortResult<()> {
        // moto workaround: AWS takes an id or an ARN here, moto only marks a task set primary
        // when given its full ARN. Resolving the id costs one describe call in AWS too, and
        // names a missing task set clearly.
        let primary = if task_set.starts_with("arn:") {
            task_set.to_string()
        } else {
            self.describe_task_set(cluster, service, task_set)
                .await?
                .ok_or_else(|| PortError::NotFound(task_set_subject(cluster, service, task_set)))?
                .arn
        };
        self.client
            .update_service_primary_task_set()
            .cluster(cluster)
            .service(service)
            .primary_task_set(&primary)
            .send()
            .await
            .map_err(|error| {
                port_error(
                    "UpdateServicePrimaryTaskSet",
                    &task_set_subject(cluster, service, task_set),
                    error,
                )
            })?;
        info!(cluster, service, task_set, "task set is primary");
        Ok(())
    }

    async fn scale_task_set(
        &self,
        cluster: &str,
        service: &str,
        task_set: &str,
        percent: f64,
    ) -> PortResult<()> {
        check_percent(percent)?;
        self.client
            .update_task_set()
            .cluster(cluster)
            .service(service)
            .task_set(task_set)
            .scale(
                Scale::builder()
                    .value(percent)
                    .unit(ScaleUnit::Percent)
                    .build(),
            )
            .send()
            .await
            .map_err(|error| {
                port_error(
                    "UpdateTaskSet",
                    &task_set_subject(cluster, service, task_set),
                    error,
                )
            })?;
        info!(cluster, service, task_set, percent, "scaled task set");
        Ok(())
    }

    async fn delete_task_set(
        &self,
        cluster: &str,
        service: &str,
        task_set: &str,
    ) -> PortResult<()> {
        let Some(current) = self.describe_task_set(cluster, service, task_set).await? else {
            return Ok(());
        };
        if current.status == TaskSetStatus::Primary {
            // ECS refuses this too; saying so here gives the reason in Ferry's words.
            return Err(PortError::Conflict(format!(
                "{} is the primary task set; make another task set primary before deleting it",
                task_set_subject(cluster, service, task_set)
            )));
        }
        if current.status == TaskSetStatus::Draining {
            // Already being deleted.
            return Ok(());
        }
        // `force` skips ECS's guard against deleting a task set that still has tasks. Use it
        // only when the task set has not been scaled to zero; a zero-scaled one goes without.
        let force = current.scale_percent > 0.0 || current.computed_desired_count > 0;
        let result = self
            .client
            .delete_task_set()
            .cluster(cluster)
            .service(service)
            .task_set(task_set)
            .force(force)
            .send()
            .await;
        match result {
            Ok(_) => {
                info!(cluster, service, task_set, force, "deleted task set");
                Ok(())
            }
            Err(error) if code_of(&error) == Some("TaskSetNotFoundException") => Ok(()),
            Err(error) => {
                // An earlier try may have been applied with its answer lost; the SDK's retry
                // then fails (AWS: TaskSetNotFoundException; moto: ClientException). Look again.
                let error = port_error(
                    "DeleteTaskSet",
                    &task_set_subject(cluster, service, task_set),
                    error,
                );
                match self.describe_task_set(cluster, service, task_set).await {
                    Ok(None) => Ok(()),
                    Ok(Some(set)) if set.status == TaskSetStatus::Draining => Ok(()),
                    _ => Err(error),
                }
            }
        }
    }

    async fn describe_task_definition(&self, arn: &str) -> PortResult<TaskDefinitionInfo> {
        if let Some(known) = self.kept_task_definitions().get(arn) {
            return Ok(known.clone());
        }
        let subject = format!("task definition {arn}");
        let output = self
            .client
            .describe_task_definition()
            .task_definition(arn)
            .send()
            .await
            .map_err(|error| port_error("DescribeTaskDefinition", &subject, error))?;
        let definition = output
            .task_definition()
            .ok_or_else(|| PortError::NotFound(subject.clone()))?;
        let family = definition.family().unwrap_or_default();
        let info = TaskDefinitionInfo {
            arn: definition.task_definition_arn().unwrap_or(arn).to_string(),
            name: format!("{family}:{}", definition.revision()),
            containers: definition
                .container_definitions()
                .iter()
                .map(|container| ContainerImage {
                    container: container.name().unwrap_or_default().to_string(),
                    image: container.image().unwrap_or_default().to_string(),
                })
                .collect(),
        };
        // Only a full ARN with its revision names one revision for good (`family` alone moves).
        if arn.contains(":task-definition/")
            && arn
                .rsplit(':')
                .next()
                .is_some_and(|rev| rev.parse::<u64>().is_ok())
        {
            let mut kept = self.kept_task_definitions();
            if kept.len() >= KEPT_TASK_DEFINITIONS {
                kept.clear();
            }
            kept.insert(arn.to_string(), info.clone());
        }
        Ok(info)
    }
}

/// A placement's capacity provider strategy, or else its launch type: ECS refuses both together.
pub(crate) fn capacity_or_launch_type(
    placement: &Placement,
) -> PortResult<(
    Option<Vec<CapacityProviderStrategyItem>>,
    Option<LaunchType>,
)> {
    if !placement.capacity_providers.is_empty() {
        let items = placement
            .capacity_providers
            .iter()
            .map(|item| {
                CapacityProviderStrategyItem::builder()
                    .capacity_provider(&item.capacity_provider)
                    .weight(item.weight)
                    .base(item.base)
                    .build()
                    .map_err(|error| PortError::Invalid(format!("capacity provider: {error}")))
            })
            .collect::<PortResult<Vec<_>>>()?;
        return Ok((Some(items), None));
    }
    match &placement.launch_type {
        Some(launch_type) if !LaunchType::values().contains(&launch_type.as_str()) => {
            Err(PortError::Invalid(format!(
                "launch type `{launch_type}` is not one of {}",
                LaunchType::values().join(", ")
            )))
        }
        Some(launch_type) => Ok((None, Some(LaunchType::from(launch_type.as_str())))),
        None => Ok((None, None)),
    }
}

/// A `RunTask` call placed like the service's tasks (see [`capacity_or_launch_type`]).
pub(crate) fn apply_placement_to_run_task(
    call: aws_sdk_ecs::operation::run_task::builders::RunTaskFluentBuilder,
    placement: &Placement,
) -> PortResult<aws_sdk_ecs::operation::run_task::builders::RunTaskFluentBuilder> {
    let (capacity_providers, launch_type) = capacity_or_launch_type(placement)?;
    Ok(call
        .set_capacity_provider_strategy(capacity_providers)
        .set_launch_type(launch_type))
}

pub(crate) fn network_configuration(network: &NetworkConfig) -> PortResult<NetworkConfiguration> {
    let vpc = AwsVpcConfiguration::builder()
        .set_subnets(Some(network.subnets.clone()))
        .set_security_groups(Some(network.security_groups.clone()))
        .assign_public_ip(if network.assign_public_ip {
            AssignPublicIp::Enabled
        } else {
            AssignPublicIp::Disabled
        })
        .build()
        .map_err(|error| PortError::Invalid(format!("network configuration: {error}")))?;
    Ok(NetworkConfiguration::builder()
        .awsvpc_configuration(vpc)
        .build())
}

fn task_set_info(set: &TaskSet) -> PortResult<TaskSetInfo> {
    let id = set
        .id()
        .ok_or_else(|| PortError::Transient("ECS returned a task set without an id".into()))?;
    let status = match set.status() {
        Some("PRIMARY") => TaskSetStatus::Primary,
        Some("DRAINING") => TaskSetStatus::Draining,
        _ => TaskSetStatus::Active,
    };
    let network = set
        .network_configuration()
        .and_then(|config| config.awsvpc_configuration())
        .map(|vpc| NetworkConfig {
            subnets: vpc.subnets().to_vec(),
            security_groups: vpc.security_groups().to_vec(),
            assign_public_ip: vpc.assign_public_ip() == Some(&AssignPublicIp::Enabled),
        });
    Ok(TaskSetInfo {
        id: id.to_string(),
        arn: set.task_set_arn().unwrap_or_default().to_string(),
        external_id: set.external_id().map(str::to_string),
        status,
        task_definition_arn: set.task_definition().unwrap_or_default().to_string(),
        target_group_arns: set
            .load_balancers()
            .iter()
            .filter_map(|lb| lb.target_group_arn().map(str::to_string))
            .collect(),
        steady: set.stability_status() == Some(&StabilityStatus::SteadyState),
        scale_percent: set.scale().map_or(0.0, |scale| scale.value()),
        computed_desired_count: set.computed_desired_count(),
        running_count: set.running_count(),
        pending_count: set.pending_count(),
        placement: Placement {
            network,
            launch_type: set.launch_type().map(|launch| launch.as_str().to_string()),
            capacity_providers: set
                .capacity_provider_strategy()
                .iter()
                .map(|item| CapacityProviderItem {
                    capacity_provider: item.capacity_provider().to_string(),
                    weight: item.weight(),
                    base: item.base(),
                })
                .collect(),
            platform_version: set.platform_version().map(str::to_string),
        },
    })
}
