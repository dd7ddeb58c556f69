//! A task definition document, in the JSON shape `aws ecs register-task-definition
//! --cli-input-json` accepts, turned into the SDK's request.
//!
//! Every field is either mapped or refused by name. Dropping a field silently (a secret, a
//! health check, a mount) would ship a task that differs from what the repository says, so an
//! unknown or unmapped field is an `Invalid` error naming its path, e.g.
//! `containerDefinitions[0].firelensConfiguration`. Enumerations are checked against the values
//! the SDK knows, so a typo fails here with the accepted values listed, not later in ECS.

use std::collections::{BTreeSet, HashMap};

use aws_sdk_ecs::operation::register_task_definition::builders::RegisterTaskDefinitionInputBuilder;
use aws_sdk_ecs::types::{
    ApplicationProtocol, Compatibility, ContainerCondition, ContainerDefinition,
    ContainerDependency, ContainerRestartPolicy, CpuArchitecture, DockerVolumeConfiguration,
    EfsAuthorizationConfig, EfsAuthorizationConfigIam, EfsTransitEncryption,
    EfsVolumeConfiguration, EnvironmentFile, EnvironmentFileType, EphemeralStorage, HealthCheck,
    HostEntry, HostVolumeProperties, IpcMode, KernelCapabilities, KeyValuePair, LinuxParameters,
    LogConfiguration, LogDriver, MountPoint, NetworkMode, OsFamily, PidMode, PortMapping,
    ProxyConfiguration, ProxyConfigurationType, RepositoryCredentials, RuntimePlatform, Scope,
    Secret, SystemControl, Tag, TaskDefinitionPlacementConstraint,
    TaskDefinitionPlacementConstraintType, Tmpfs, TransportProtocol, Ulimit, UlimitName,
    VersionConsistency, Volume, VolumeFrom,
};
use aws_smithy_types::error::operation::BuildError;
use ferry_core::ports::{PortError, PortResult};
use serde_json::{Map, Value};

use ferry_core::manifest::READ_ONLY_FIELDS;

/// Converts the document into the RegisterTaskDefinition request.
pub(crate) fn register_request(document: &Value) -> PortResult<RegisterTaskDefinitionInputBuilder> {
    let mut doc = Fields::root(document)?;
    let family = doc
        .string("family")?
        .ok_or_else(|| invalid("task definition has no `family`"))?;
    let containers = doc.objects("containerDefinitions")?;
    if containers.is_empty() {
        return Err(invalid("task definition has no `containerDefinitions`"));
    }
    let builder = RegisterTaskDefinitionInputBuilder::default()
        .family(family)
        .set_task_role_arn(doc.string("taskRoleArn")?)
        .set_execution_role_arn(doc.string("executionRoleArn")?)
        .set_network_mode(doc.enumeration::<NetworkMode>("networkMode", NetworkMode::values())?)
        .set_cpu(doc.size("cpu")?)
        .set_memory(doc.size("memory")?)
        .set_requires_compatibilities(
            doc.enumerations::<Compatibility>("requiresCompatibilities", Compatibility::values())?,
        )
        .set_runtime_platform(
            doc.object("runtimePlatform")?
                .map(runtime_platform)
                .transpose()?,
        )
        .set_ephemeral_storage(
            doc.object("ephemeralStorage")?
                .map(ephemeral_storage)
                .transpose()?,
        )
        .set_pid_mode(doc.enumeration::<PidMode>("pidMode", PidMode::values())?)
        .set_ipc_mode(doc.enumeration::<IpcMode>("ipcMode", IpcMode::values())?)
        .set_enable_fault_injection(doc.bool("enableFaultInjection")?)
        .set_tags(doc.list("tags", tag)?)
        .set_volumes(doc.list("volumes", volume)?)
        .set_placement_constraints(doc.list("placementConstraints", placement_constraint)?)
        .set_proxy_configuration(
            doc.object("proxyConfiguration")?
                .map(proxy_configuration)
                .transpose()?,
        )
        .set_container_definitions(Some(
            containers
                .into_iter()
                .map(container_definition)
                .collect::<PortResult<Vec<_>>>()?,
        ));
    doc.finish()?;
    Ok(builder)
}

fn container_definition(mut c: Fields<'_>) -> PortResult<ContainerDefinition> {
    let definition = ContainerDefinition::builder()
        .set_name(c.string("name")?)
        .set_image(c.string("image")?)
        .set_repository_credentials(
            c.object("repositoryCredentials")?
                .map(repository_credentials)
                .transpose()?,
        )
        .set_cpu(c.int("cpu")?)
        .set_memory(c.int("memory")?)
        .set_memory_reservation(c.int("memoryReservation")?)
        .set_essential(c.bool("essential")?)
        .set_command(c.strings("command")?)
        .set_entry_point(c.strings("entryPoint")?)
        .set_working_directory(c.string("workingDirectory")?)
        .set_environment(c.list("environment", key_value)?)
        .set_environment_files(c.list("environmentFiles", environment_file)?)
        .set_secrets(c.list("secrets", secret)?)
        .set_port_mappings(c.list("portMappings", port_mapping)?)
        .set_log_configuration(
            c.object("logConfiguration")?
                .map(log_configuration)
                .transpose()?,
        )
        .set_health_check(c.object("healthCheck")?.map(health_check).transpose()?)
        .set_depends_on(c.list("dependsOn", dependency)?)
        .set_mount_points(c.list("mountPoints", mount_point)?)
        .set_volumes_from(c.list("volumesFrom", volume_from)?)
        .set_ulimits(c.list("ulimits", ulimit)?)
        .set_user(c.string("user")?)
        .set_readonly_root_filesystem(c.bool("readonlyRootFilesystem")?)
        .set_stop_timeout(c.int("stopTimeout")?)
        .set_start_timeout(c.int("startTimeout")?)
        .set_docker_labels(c.string_map("dockerLabels")?)
        .set_linux_parameters(
            c.object("linuxParameters")?
                .map(linux_parameters)
                .transpose()?,
        )
        .set_links(c.strings("links")?)
        .set_hostname(c.string("hostname")?)
        .set_disable_networking(c.bool("disableNetworking")?)
        .set_privileged(c.bool("privileged")?)
        .set_dns_servers(c.strings("dnsServers")?)
        .set_dns_search_domains(c.strings("dnsSearchDomains")?)
        .set_extra_hosts(c.list("extraHosts", host_entry)?)
        .set_docker_security_options(c.strings("dockerSecurityOptions")?)
        .set_interactive(c.bool("interactive")?)
        .set_pseudo_terminal(c.bool("pseudoTerminal")?)
        .set_system_controls(c.list("systemControls", system_control)?)
        .set_version_consistency(c.enumeration::<VersionConsistency>(
            "versionConsistency",
            VersionConsistency::values(),
        )?)
        .set_restart_policy(c.object("restartPolicy")?.map(restart_policy).transpose()?)
        .build();
    if definition.name().is_none() {
        return Err(invalid(format!("`{}` has no `name`", c.path)));
    }
    if definition.image().is_none() {
        return Err(invalid(format!("`{}` has no `image`", c.path)));
    }
    c.finish()?;
    Ok(definition)
}

fn port_mapping(mut f: Fields<'_>) -> PortResult<PortMapping> {
    let mapping = PortMapping::builder()
        .set_container_port(f.int("containerPort")?)
        .set_host_port(f.int("hostPort")?)
        .set_protocol(f.enumeration::<TransportProtocol>("protocol", TransportProtocol::values())?)
        .set_name(f.string("name")?)
        .set_app_protocol(
            f.enumeration::<ApplicationProtocol>("appProtocol", ApplicationProtocol::values())?,
        )
        .set_container_port_range(f.string("containerPortRange")?)
        .build();
    f.finish()?;
    Ok(mapping)
}

fn log_configuration(mut f: Fields<'_>) -> PortResult<LogConfiguration> {
    let built = LogConfiguration::builder()
        .set_log_driver(f.enumeration::<LogDriver>("logDriver", LogDriver::values())?)
        .set_options(f.string_map("options")?)
        .set_secret_options(f.list("secretOptions", secret)?)
        .build();
    f.finish_built(built)
}

fn health_check(mut f: Fields<'_>) -> PortResult<HealthCheck> {
    let built = HealthCheck::builder()
        .set_command(f.strings("command")?)
        .set_interval(f.int("interval")?)
        .set_timeout(f.int("timeout")?)
        .set_retries(f.int("retries")?)
        .set_start_period(f.int("startPeriod")?)
        .build();
    f.finish_built(built)
}

fn dependency(mut f: Fields<'_>) -> PortResult<ContainerDependency> {
    let built = ContainerDependency::builder()
        .set_container_name(f.string("containerName")?)
        .set_condition(
            f.enumeration::<ContainerCondition>("condition", ContainerCondition::values())?,
        )
        .build();
    f.finish_built(built)
}

fn mount_point(mut f: Fields<'_>) -> PortResult<MountPoint> {
    let built = MountPoint::builder()
        .set_source_volume(f.string("sourceVolume")?)
        .set_container_path(f.string("containerPath")?)
        .set_read_only(f.bool("readOnly")?)
        .build();
    f.finish()?;
    Ok(built)
}

fn volume_from(mut f: Fields<'_>) -> PortResult<VolumeFrom> {
    let built = VolumeFrom::builder()
        .set_source_container(f.string("sourceContainer")?)
        .set_read_only(f.bool("readOnly")?)
        .build();
    f.finish()?;
    Ok(built)
}

fn ulimit(mut f: Fields<'_>) -> PortResult<Ulimit> {
    let built = Ulimit::builder()
        .set_name(f.enumeration::<UlimitName>("name", UlimitName::values())?)
        .set_soft_limit(f.int("softLimit")?)
        .set_hard_limit(f.int("hardLimit")?)
        .build();
    f.finish_built(built)
}

fn linux_parameters(mut f: Fields<'_>) -> PortResult<LinuxParameters> {
    let built = LinuxParameters::builder()
        .set_init_process_enabled(f.bool("initProcessEnabled")?)
        .set_capabilities(f.object("capabilities")?.map(capabilities).transpose()?)
        .set_shared_memory_size(f.int("sharedMemorySize")?)
        .set_max_swap(f.int("maxSwap")?)
        .set_swappiness(f.int("swappiness")?)
        .set_tmpfs(f.list("tmpfs", tmpfs)?)
        .build();
    f.finish()?;
    Ok(built)
}

fn capabilities(mut f: Fields<'_>) -> PortResult<KernelCapabilities> {
    let built = KernelCapabilities::builder()
        .set_add(f.strings("add")?)
        .set_drop(f.strings("drop")?)
        .build();
    f.finish()?;
    Ok(built)
}

fn tmpfs(mut f: Fields<'_>) -> PortResult<Tmpfs> {
    let built = Tmpfs::builder()
        .set_container_path(f.string("containerPath")?)
        .set_size(f.int("size")?)
        .set_mount_options(f.strings("mountOptions")?)
        .build();
    f.finish_built(built)
}

fn key_value(mut f: Fields<'_>) -> PortResult<KeyValuePair> {
    let built = KeyValuePair::builder()
        .set_name(f.string("name")?)
        .set_value(f.string("value")?)
        .build();
    f.finish()?;
    Ok(built)
}

fn environment_file(mut f: Fields<'_>) -> PortResult<EnvironmentFile> {
    let built = EnvironmentFile::builder()
        .set_value(f.string("value")?)
        .set_type(f.enumeration::<EnvironmentFileType>("type", EnvironmentFileType::values())?)
        .build();
    f.finish_built(built)
}

fn secret(mut f: Fields<'_>) -> PortResult<Secret> {
    let built = Secret::builder()
        .set_name(f.string("name")?)
        .set_value_from(f.string("valueFrom")?)
        .build();
    f.finish_built(built)
}

fn repository_credentials(mut f: Fields<'_>) -> PortResult<RepositoryCredentials> {
    let built = RepositoryCredentials::builder()
        .set_credentials_parameter(f.string("credentialsParameter")?)
        .build();
    f.finish_built(built)
}

fn host_entry(mut f: Fields<'_>) -> PortResult<HostEntry> {
    let built = HostEntry::builder()
        .set_hostname(f.string("hostname")?)
        .set_ip_address(f.string("ipAddress")?)
        .build();
    f.finish_built(built)
}

fn system_control(mut f: Fields<'_>) -> PortResult<SystemControl> {
    let built = SystemControl::builder()
        .set_namespace(f.string("namespace")?)
        .set_value(f.string("value")?)
        .build();
    f.finish()?;
    Ok(built)
}

fn restart_policy(mut f: Fields<'_>) -> PortResult<ContainerRestartPolicy> {
    let built = ContainerRestartPolicy::builder()
        .set_enabled(f.bool("enabled")?)
        .set_ignored_exit_codes(f.ints("ignoredExitCodes")?)
        .set_restart_attempt_period(f.int("restartAttemptPeriod")?)
        .build();
    f.finish_built(built)
}

fn runtime_platform(mut f: Fields<'_>) -> PortResult<RuntimePlatform> {
    let built = RuntimePlatform::builder()
        .set_cpu_architecture(
            f.enumeration::<CpuArchitecture>("cpuArchitecture", CpuArchitecture::values())?,
        )
        .set_operating_system_family(
            f.enumeration::<OsFamily>("operatingSystemFamily", OsFamily::values())?,
        )
        .build();
    f.finish()?;
    Ok(built)
}

fn ephemeral_storage(mut f: Fields<'_>) -> PortResult<EphemeralStorage> {
    let built = EphemeralStorage::builder()
        .set_size_in_gib(f.int("sizeInGiB")?)
        .build();
    f.finish()?;
    Ok(built)
}

fn tag(mut f: Fields<'_>) -> PortResult<Tag> {
    let built = Tag::builder()
        .set_key(f.string("key")?)
        .set_value(f.string("value")?)
        .build();
    f.finish()?;
    Ok(built)
}

fn placement_constraint(mut f: Fields<'_>) -> PortResult<TaskDefinitionPlacementConstraint> {
    let built = TaskDefinitionPlacementConstraint::builder()
        .set_type(f.enumeration::<TaskDefinitionPlacementConstraintType>(
            "type",
            TaskDefinitionPlacementConstraintType::values(),
        )?)
        .set_expression(f.string("expression")?)
        .build();
    f.finish()?;
    Ok(built)
}

fn proxy_configuration(mut f: Fields<'_>) -> PortResult<ProxyConfiguration> {
    let built = ProxyConfiguration::builder()
        .set_type(
            f.enumeration::<ProxyConfigurationType>("type", ProxyConfigurationType::values())?,
        )
        .set_container_name(f.string("containerName")?)
        .set_properties(f.list("properties", key_value)?)
        .build();
    f.finish_built(built)
}

fn volume(mut f: Fields<'_>) -> PortResult<Volume> {
    let built = Volume::builder()
        .set_name(f.string("name")?)
        .set_host(f.object("host")?.map(host_volume).transpose()?)
        .set_efs_volume_configuration(
            f.object("efsVolumeConfiguration")?
                .map(efs_volume)
                .transpose()?,
        )
        .set_docker_volume_configuration(
            f.object("dockerVolumeConfiguration")?
                .map(docker_volume)
                .transpose()?,
        )
        .set_configured_at_launch(f.bool("configuredAtLaunch")?)
        .build();
    f.finish()?;
    Ok(built)
}

fn host_volume(mut f: Fields<'_>) -> PortResult<HostVolumeProperties> {
    let built = HostVolumeProperties::builder()
        .set_source_path(f.string("sourcePath")?)
        .build();
    f.finish()?;
    Ok(built)
}

fn efs_volume(mut f: Fields<'_>) -> PortResult<EfsVolumeConfiguration> {
    let built = EfsVolumeConfiguration::builder()
        .set_file_system_id(f.string("fileSystemId")?)
        .set_root_directory(f.string("rootDirectory")?)
        .set_transit_encryption(f.enumeration::<EfsTransitEncryption>(
            "transitEncryption",
            EfsTransitEncryption::values(),
        )?)
        .set_transit_encryption_port(f.int("transitEncryptionPort")?)
        .set_authorization_config(
            f.object("authorizationConfig")?
                .map(efs_authorization)
                .transpose()?,
        )
        .build();
    f.finish_built(built)
}

fn efs_authorization(mut f: Fields<'_>) -> PortResult<EfsAuthorizationConfig> {
    let built = EfsAuthorizationConfig::builder()
        .set_access_point_id(f.string("accessPointId")?)
        .set_iam(
            f.enumeration::<EfsAuthorizationConfigIam>("iam", EfsAuthorizationConfigIam::values())?,
        )
        .build();
    f.finish()?;
    Ok(built)
}

fn docker_volume(mut f: Fields<'_>) -> PortResult<DockerVolumeConfiguration> {
    let built = DockerVolumeConfiguration::builder()
        .set_scope(f.enumeration::<Scope>("scope", Scope::values())?)
        .set_autoprovision(f.bool("autoprovision")?)
        .set_driver(f.string("driver")?)
        .set_driver_opts(f.string_map("driverOpts")?)
        .set_labels(f.string_map("labels")?)
        .build();
    f.finish()?;
    Ok(built)
}

fn invalid(message: impl Into<String>) -> PortError {
    PortError::Invalid(message.into())
}

/// One JSON object being read. It remembers which keys were taken, so that [`Fields::finish`]
/// can refuse the ones nobody mapped.
struct Fields<'a> {
    /// Where this object is in the document, e.g. `containerDefinitions[1].healthCheck`.
    path: String,
    map: &'a Map<String, Value>,
    taken: BTreeSet<String>,
}

impl<'a> Fields<'a> {
    fn root(value: &'a Value) -> PortResult<Self> {
        Self::at(String::new(), value)
    }

    fn at(path: String, value: &'a Value) -> PortResult<Self> {
        match value {
            Value::Object(map) => Ok(Self {
                path,
                map,
                taken: BTreeSet::new(),
            }),
            other => Err(invalid(format!(
                "task definition {}: expected an object, found {}",
                if path.is_empty() { "document" } else { &path },
                kind_of(other)
            ))),
        }
    }

    fn child_path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    fn wrong_type(&self, key: &str, expected: &str, found: &Value) -> PortError {
        invalid(format!(
            "task definition field `{}`: expected {expected}, found {}",
            self.child_path(key),
            kind_of(found)
        ))
    }

    /// The value of `key`, marked as taken. JSON `null` counts as absent, as in the AWS CLI.
    fn take(&mut self, key: &str) -> Option<&'a Value> {
        self.taken.insert(key.to_string());
        self.map.get(key).filter(|value| !value.is_null())
    }

    fn string(&mut self, key: &str) -> PortResult<Option<String>> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(other) => Err(self.wrong_type(key, "a string", other)),
        }
    }

    /// Task-level `cpu` and `memory` are strings in the API ("256", "1 vCPU"); a plain number
    /// is accepted too because people write it and its meaning is unambiguous.
    fn size(&mut self, key: &str) -> PortResult<Option<String>> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(Value::Number(number)) if number.is_u64() => Ok(Some(number.to_string())),
            Some(other) => Err(self.wrong_type(key, "a string such as \"256\"", other)),
        }
    }

    fn int(&mut self, key: &str) -> PortResult<Option<i32>> {
        match self.take(key) {
            None => Ok(None),
            Some(value @ Value::Number(number)) => number
                .as_i64()
                .and_then(|number| i32::try_from(number).ok())
                .map(Some)
                .ok_or_else(|| self.wrong_type(key, "a whole number", value)),
            Some(other) => Err(self.wrong_type(key, "a whole number", other)),
        }
    }

    fn bool(&mut self, key: &str) -> PortResult<Option<bool>> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::Bool(flag)) => Ok(Some(*flag)),
            Some(other) => Err(self.wrong_type(key, "true or false", other)),
        }
    }

    fn array(&mut self, key: &str) -> PortResult<Option<&'a Vec<Value>>> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::Array(items)) => Ok(Some(items)),
            Some(other) => Err(self.wrong_type(key, "a list", other)),
        }
    }

    fn strings(&mut self, key: &str) -> PortResult<Option<Vec<String>>> {
        let Some(items) = self.array(key)? else {
            return Ok(None);
        };
        items
            .iter()
            .enumerate()
            .map(|(index, item)| match item {
                Value::String(text) => Ok(text.clone()),
                other => Err(self.wrong_type(&format!("{key}[{index}]"), "a string", other)),
            })
            .collect::<PortResult<Vec<_>>>()
            .map(Some)
    }

    fn ints(&mut self, key: &str) -> PortResult<Option<Vec<i32>>> {
        let Some(items) = self.array(key)? else {
            return Ok(None);
        };
        items
            .iter()
            .enumerate()
            .map(|(index, item)| {
                item.as_i64()
                    .and_then(|number| i32::try_from(number).ok())
                    .ok_or_else(|| {
                        self.wrong_type(&format!("{key}[{index}]"), "a whole number", item)
                    })
            })
            .collect::<PortResult<Vec<_>>>()
            .map(Some)
    }

    fn string_map(&mut self, key: &str) -> PortResult<Option<HashMap<String, String>>> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::Object(map)) => map
                .iter()
                .map(|(name, value)| match value {
                    Value::String(text) => Ok((name.clone(), text.clone())),
                    other => Err(self.wrong_type(&format!("{key}.{name}"), "a string", other)),
                })
                .collect::<PortResult<HashMap<_, _>>>()
                .map(Some),
            Some(other) => Err(self.wrong_type(key, "an object of strings", other)),
        }
    }

    fn object(&mut self, key: &str) -> PortResult<Option<Fields<'a>>> {
        match self.take(key) {
            None => Ok(None),
            Some(value) => Fields::at(self.child_path(key), value).map(Some),
        }
    }

    /// The objects of a list, each with its own path (`portMappings[2]`).
    fn objects(&mut self, key: &str) -> PortResult<Vec<Fields<'a>>> {
        let Some(items) = self.array(key)? else {
            return Ok(Vec::new());
        };
        let path = self.child_path(key);
        items
            .iter()
            .enumerate()
            .map(|(index, item)| Fields::at(format!("{path}[{index}]"), item))
            .collect()
    }

    /// A list of objects converted one by one; `None` when absent so the request omits it.
    fn list<T>(
        &mut self,
        key: &str,
        convert: impl Fn(Fields<'a>) -> PortResult<T>,
    ) -> PortResult<Option<Vec<T>>> {
        if self.take(key).is_none() {
            return Ok(None);
        }
        self.objects(key)?
            .into_iter()
            .map(convert)
            .collect::<PortResult<Vec<_>>>()
            .map(Some)
    }

    /// An SDK enumeration, checked against the values this SDK release knows.
    fn enumeration<T: for<'s> From<&'s str>>(
        &mut self,
        key: &str,
        allowed: &[&str],
    ) -> PortResult<Option<T>> {
        let Some(text) = self.string(key)? else {
            return Ok(None);
        };
        if allowed.contains(&text.as_str()) {
            Ok(Some(T::from(text.as_str())))
        } else {
            Err(invalid(format!(
                "task definition field `{}`: `{text}` is not one of {}",
                self.child_path(key),
                allowed.join(", ")
            )))
        }
    }

    fn enumerations<T: for<'s> From<&'s str>>(
        &mut self,
        key: &str,
        allowed: &[&str],
    ) -> PortResult<Option<Vec<T>>> {
        let Some(texts) = self.strings(key)? else {
            return Ok(None);
        };
        texts
            .iter()
            .enumerate()
            .map(|(index, text)| {
                if allowed.contains(&text.as_str()) {
                    Ok(T::from(text.as_str()))
                } else {
                    Err(invalid(format!(
                        "task definition field `{}[{index}]`: `{text}` is not one of {}",
                        self.child_path(key),
                        allowed.join(", ")
                    )))
                }
            })
            .collect::<PortResult<Vec<_>>>()
            .map(Some)
    }

    /// Refuses every key nobody took.
    fn finish(self) -> PortResult<()> {
        let left: Vec<&String> = self
            .map
            .keys()
            .filter(|key| !self.taken.contains(key.as_str()))
            .collect();
        let Some(first) = left.first() else {
            return Ok(());
        };
        let paths: Vec<String> = left.iter().map(|key| self.child_path(key)).collect();
        let hint = if self.path.is_empty() && READ_ONLY_FIELDS.contains(&first.as_str()) {
            "it is printed by describe-task-definition but register-task-definition refuses it; \
             remove it"
        } else {
            "Ferry does not register this field yet; remove it from the task definition, or ask \
             for it to be mapped in ferry-aws"
        };
        Err(invalid(format!(
            "task definition field{} `{}`: {hint}",
            if paths.len() > 1 { "s" } else { "" },
            paths.join("`, `")
        )))
    }

    /// [`Fields::finish`] for SDK builders that check required members.
    fn finish_built<T>(self, built: Result<T, BuildError>) -> PortResult<T> {
        let path = self.path.clone();
        self.finish()?;
        built.map_err(|error| invalid(format!("task definition field `{path}`: {error}")))
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn error_of(document: Value) -> String {
        match register_request(&document) {
            Ok(_) => panic!("expected an error for {document}"),
            Err(PortError::Invalid(message)) => message,
            Err(other) => panic!("expected Invalid, got {other:?}"),
        }
    }

    fn full_document() -> Value {
        serde_json::from_str(
            r#"{
            "family": "web",
            "taskRoleArn": "arn:aws:iam::123456789012:role/web-task",
            "executionRoleArn": "arn:aws:iam::123456789012:role/web-exec",
            "networkMode": "awsvpc",
            "cpu": "256",
            "memory": 512,
            "requiresCompatibilities": ["FARGATE"],
            "runtimePlatform": {"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"},
            "ephemeralStorage": {"sizeInGiB": 30},
            "pidMode": "task",
            "ipcMode": "none",
            "tags": [{"key": "team", "value": "shop"}],
            "volumes": [
                {"name": "scratch", "host": {"sourcePath": "/tmp"}},
                {"name": "shared", "efsVolumeConfiguration": {
                    "fileSystemId": "fs-123", "rootDirectory": "/",
                    "transitEncryption": "ENABLED",
                    "authorizationConfig": {"accessPointId": "fsap-1", "iam": "ENABLED"}}}
            ],
            "placementConstraints": [{"type": "memberOf", "expression": "attribute:ecs.os-type == linux"}],
            "containerDefinitions": [{
                "name": "web",
                "image": "nginx:1",
                "cpu": 128,
                "memory": 512,
                "memoryReservation": 256,
                "essential": true,
                "command": ["nginx", "-g", "daemon off;"],
                "entryPoint": ["/docker-entrypoint.sh"],
                "workingDirectory": "/srv",
                "environment": [{"name": "PORT", "value": "8080"}],
                "environmentFiles": [{"value": "arn:aws:s3:::bucket/web.env", "type": "s3"}],
                "secrets": [{"name": "DB", "valueFrom": "arn:aws:ssm:eu-west-1:123456789012:parameter/db"}],
                "portMappings": [{"containerPort": 8080, "hostPort": 8080, "protocol": "tcp",
                                  "name": "http", "appProtocol": "http"}],
                "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/web"}},
                "healthCheck": {"command": ["CMD-SHELL", "curl -f localhost:8080"], "interval": 30,
                                "timeout": 5, "retries": 3, "startPeriod": 10},
                "dependsOn": [{"containerName": "envoy", "condition": "HEALTHY"}],
                "mountPoints": [{"sourceVolume": "scratch", "containerPath": "/scratch", "readOnly": false}],
                "ulimits": [{"name": "nofile", "softLimit": 1024, "hardLimit": 4096}],
                "user": "1000",
                "readonlyRootFilesystem": true,
                "stopTimeout": 30,
                "startTimeout": 60,
                "dockerLabels": {"team": "shop"},
                "linuxParameters": {"initProcessEnabled": true}
            }, {
                "name": "envoy", "image": "envoy:1", "memory": 128, "essential": true
            }]
        }"#,
        )
        .unwrap()
    }

    #[test]
    fn a_full_document_maps_every_field() {
        let request = register_request(&full_document()).unwrap().build().unwrap();
        assert_eq!(request.family(), Some("web"));
        assert_eq!(request.memory(), Some("512"));
        assert_eq!(request.network_mode(), Some(&NetworkMode::Awsvpc));
        assert_eq!(
            request.requires_compatibilities(),
            &[Compatibility::Fargate]
        );
        assert_eq!(request.volumes().len(), 2);
        let efs = request.volumes()[1].efs_volume_configuration().unwrap();
        assert_eq!(efs.file_system_id(), "fs-123");
        let web = &request.container_definitions()[0];
        assert_eq!(web.memory_reservation(), Some(256));
        assert_eq!(
            web.port_mappings()[0].app_protocol(),
            Some(&ApplicationProtocol::Http)
        );
        assert_eq!(web.health_check().unwrap().retries(), Some(3));
        assert_eq!(
            web.depends_on()[0].condition(),
            &ContainerCondition::Healthy
        );
        assert_eq!(web.ulimits()[0].name(), &UlimitName::Nofile);
        assert_eq!(
            web.linux_parameters().unwrap().init_process_enabled(),
            Some(true)
        );
        assert_eq!(
            web.docker_labels().unwrap().get("team").map(String::as_str),
            Some("shop")
        );
        assert_eq!(web.secrets()[0].name(), "DB");
        assert_eq!(request.container_definitions()[1].name(), Some("envoy"));
    }

    #[test]
    fn an_unmapped_field_is_refused_by_its_path() {
        let mut document = full_document();
        document["containerDefinitions"][1]["firelensConfiguration"] = json!({"type": "fluentbit"});
        let message = error_of(document);
        assert!(
            message.contains("`containerDefinitions[1].firelensConfiguration`"),
            "{message}"
        );
    }

    #[test]
    fn read_only_fields_from_describe_output_are_refused_with_a_hint() {
        let mut document = full_document();
        document["taskDefinitionArn"] =
            json!("arn:aws:ecs:eu-west-1:123456789012:task-definition/web:3");
        let message = error_of(document);
        assert!(message.contains("`taskDefinitionArn`"), "{message}");
        assert!(message.contains("describe-task-definition"), "{message}");
    }

    #[test]
    fn wrong_types_and_unknown_enumeration_values_are_refused() {
        let mut document = full_document();
        document["containerDefinitions"][0]["memory"] = json!("512");
        assert!(
            error_of(document).contains(
                "`containerDefinitions[0].memory`: expected a whole number, found a string"
            )
        );

        let mut document = full_document();
        document["networkMode"] = json!("awsvcp");
        let message = error_of(document);
        assert!(
            message.contains("`networkMode`: `awsvcp` is not one of"),
            "{message}"
        );
        assert!(message.contains("awsvpc"), "{message}");
    }

    #[test]
    fn missing_required_members_are_named() {
        let message = error_of(json!({"containerDefinitions": [{"name": "web", "image": "x"}]}));
        assert!(message.contains("`family`"), "{message}");
        let message = error_of(json!({"family": "web", "containerDefinitions": [{"name": "web"}]}));
        assert!(
            message.contains("`containerDefinitions[0]` has no `image`"),
            "{message}"
        );
        let message = error_of(json!({"family": "web", "containerDefinitions": [
            {"name": "web", "image": "x", "secrets": [{"name": "A"}]}]}));
        assert!(
            message.contains("containerDefinitions[0].secrets[0]"),
            "{message}"
        );
    }
}
