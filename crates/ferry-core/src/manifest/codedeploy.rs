//! From CodeDeploy to Ferry, offline: an ECS AppSpec (`appspec.yaml`, YAML or JSON), the task
//! definition (`taskdef.json`) and what the deployment group says (listeners, target groups,
//! deployment configuration, the reroute and termination waits, alarms) become a manifest and
//! a task definition file `register-task-definition` accepts. What cannot be carried is said,
//! with why.
//!
//! CodeDeploy's deployment configurations map onto Ferry's strategies one for one:
//!
//! | CodeDeploy | Ferry |
//! | --- | --- |
//! | `CodeDeployDefault.ECSAllAtOnce` | `allAtOnce: {}` |
//! | `CodeDeployDefault.ECSCanary10Percent5Minutes` | `canary: { weight: 10, bake: 5m }` |
//! | `CodeDeployDefault.ECSCanary10Percent15Minutes` | `canary: { weight: 10, bake: 15m }` |
//! | `CodeDeployDefault.ECSLinear10PercentEvery1Minutes` | `linear: { step: 10, interval: 1m }` |
//! | `CodeDeployDefault.ECSLinear10PercentEvery3Minutes` | `linear: { step: 10, interval: 3m }` |
//! | a custom `TimeBasedCanary` (percentage, interval in minutes), `canary:P:M` | `canary: { weight: P, bake: Mm }` |
//! | a custom `TimeBasedLinear`, `linear:P:M` | `linear: { step: P, interval: Mm }` |

use saphyr::{LoadableYamlNode, MarkedYaml, YamlData};
use serde_json::Value;

use super::reader::{Reader, describe};
use super::written::{Head, minutes, network_yaml, task_definition_file, without_read_only_fields};
use super::{ContainerTarget, Problem, Problems};
use crate::hooks::HookStage;
use crate::plan::Strategy;
use crate::ports::{CapacityProviderItem, NetworkConfig, Placement};

/// What an ECS AppSpec says about the service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppSpec {
    pub container: ContainerTarget,
    /// `NetworkConfiguration`, `CapacityProviderStrategy`, `PlatformVersion`, when given.
    pub placement: Option<Placement>,
    /// `(lifecycle event, Lambda function)` in the order written.
    pub hooks: Vec<(String, String)>,
}

/// The ECS AppSpec hooks, in the order CodeDeploy runs them.
pub const HOOK_EVENTS: &[&str] = &[
    "BeforeInstall",
    "AfterInstall",
    "AfterAllowTestTraffic",
    "BeforeAllowTraffic",
    "AfterAllowTraffic",
];

/// Reads an ECS AppSpec. Problems are located like the manifest's.
pub fn parse_appspec(path: &str, text: &str) -> Result<AppSpec, Problems> {
    let located = |line: usize, column: usize, message: String| Problem {
        file: path.to_string(),
        line: line.max(1),
        column: column.max(1),
        field: "(yaml)".into(),
        message,
    };
    let mut documents = MarkedYaml::load_from_str(text).map_err(|error| {
        located(
            error.marker().line(),
            error.marker().col() + 1,
            format!("invalid YAML: {}", error.info()),
        )
    })?;
    let Some(root) = documents.pop() else {
        return Err(located(1, 1, "expected an AppSpec, found an empty file".into()).into());
    };
    let mut reader = Reader::new(path);
    let top = reader
        .mapping(&root, "", &["version", "Resources", "Hooks"])
        .ok_or_else(|| Problems(std::mem::take(&mut reader.problems)))?;
    let resources = reader.required(&top, "Resources", "a list with one TargetService");
    let service = resources.and_then(|node| target_service(&mut reader, node));
    let hooks = match top.get("Hooks") {
        Some(node) => hooks(&mut reader, node),
        None => Some(Vec::new()),
    };
    match (service, hooks) {
        (Some((container, placement)), Some(hooks)) if reader.problems.is_empty() => Ok(AppSpec {
            container,
            placement,
            hooks,
        }),
        _ => Err(Problems(reader.problems).sorted()),
    }
}

/// `Resources: [{TargetService: {Type: AWS::ECS::Service, Properties: {...}}}]`.
fn target_service(
    reader: &mut Reader<'_>,
    node: &MarkedYaml<'_>,
) -> Option<(ContainerTarget, Option<Placement>)> {
    let YamlData::Sequence(items) = &node.data else {
        reader.report(
            node,
            "Resources",
            format!(
                "expected a list with one TargetService, found {}",
                describe(node)
            ),
        );
        return None;
    };
    let [item] = items.as_slice() else {
        reader.report(
            node,
            "Resources",
            format!(
                "expected one TargetService, found {} resources",
                items.len()
            ),
        );
        return None;
    };
    let wrapper = reader.mapping(item, "Resources[0]", &["TargetService"])?;
    let target = reader.required(&wrapper, "TargetService", "{Type, Properties}")?;
    let fields = reader.mapping(target, "TargetService", &["Type", "Properties"])?;
    if let Some(kind) = fields.get("Type")
        && let Some(text) = reader.string(kind, "TargetService.Type", "AWS::ECS::Service")
        && text != "AWS::ECS::Service"
    {
        reader.report(
            kind,
            "TargetService.Type",
            format!("expected AWS::ECS::Service (an ECS AppSpec), found \"{text}\""),
        );
        return None;
    }
    let properties = reader.required(&fields, "Properties", "the service's properties")?;
    let properties = reader.mapping(
        properties,
        "TargetService.Properties",
        &[
            "TaskDefinition",
            "LoadBalancerInfo",
            "PlatformVersion",
            "NetworkConfiguration",
            "CapacityProviderStrategy",
        ],
    )?;
    let balancer = reader.required(
        &properties,
        "LoadBalancerInfo",
        "{ContainerName, ContainerPort}",
    )?;
    let balancer = reader.mapping(
        balancer,
        "LoadBalancerInfo",
        &["ContainerName", "ContainerPort"],
    )?;
    let name = reader
        .required(
            &balancer,
            "ContainerName",
            "the container behind the load balancer",
        )
        .and_then(|node| reader.string(node, "LoadBalancerInfo.ContainerName", "a container name"));
    let port = reader
        .required(&balancer, "ContainerPort", "its port")
        .and_then(|node| reader.integer(node, "LoadBalancerInfo.ContainerPort", 1..=65535));
    let mut placement = Placement::default();
    let mut any = false;
    if let Some(node) = properties.get("NetworkConfiguration") {
        placement.network = Some(network_configuration(reader, node)?);
        any = true;
    }
    if let Some(node) = properties.get("CapacityProviderStrategy") {
        placement.capacity_providers = capacity_provider_strategy(reader, node)?;
        any = true;
    }
    if let Some(node) = properties.get("PlatformVersion") {
        placement.platform_version =
            Some(reader.string(node, "PlatformVersion", "a platform version such as LATEST")?);
        any = true;
    }
    Some((
        ContainerTarget {
            name: name?,
            port: u16::try_from(port?).ok()?,
        },
        any.then_some(placement),
    ))
}

/// `NetworkConfiguration: {AwsvpcConfiguration: {Subnets, SecurityGroups, AssignPublicIp}}`.
fn network_configuration(reader: &mut Reader<'_>, node: &MarkedYaml<'_>) -> Option<NetworkConfig> {
    let outer = reader.mapping(node, "NetworkConfiguration", &["AwsvpcConfiguration"])?;
    let inner = reader.required(&outer, "AwsvpcConfiguration", "{Subnets, SecurityGroups}")?;
    let fields = reader.mapping(
        inner,
        "AwsvpcConfiguration",
        &["Subnets", "SecurityGroups", "AssignPublicIp"],
    )?;
    let subnets = reader
        .required(&fields, "Subnets", "subnet ids")
        .and_then(|node| {
            reader.string_list(node, "AwsvpcConfiguration.Subnets", "subnet ids", |_| None)
        });
    let security_groups = match fields.get("SecurityGroups") {
        Some(node) => reader.string_list(
            node,
            "AwsvpcConfiguration.SecurityGroups",
            "security group ids",
            |_| None,
        ),
        None => Some(Vec::new()),
    };
    let assign_public_ip = match fields.get("AssignPublicIp") {
        Some(node) => match reader
            .string(
                node,
                "AwsvpcConfiguration.AssignPublicIp",
                "ENABLED or DISABLED",
            )
            .as_deref()
        {
            Some("ENABLED") => Some(true),
            Some("DISABLED") => Some(false),
            Some(other) => {
                reader.report(
                    node,
                    "AwsvpcConfiguration.AssignPublicIp",
                    format!("expected ENABLED or DISABLED, found \"{other}\""),
                );
                None
            }
            None => None,
        },
        None => Some(false),
    };
    Some(NetworkConfig {
        subnets: subnets?,
        security_groups: security_groups?,
        assign_public_ip: assign_public_ip?,
    })
}

/// `CapacityProviderStrategy: [{CapacityProvider, Weight, Base}]`.
fn capacity_provider_strategy(
    reader: &mut Reader<'_>,
    node: &MarkedYaml<'_>,
) -> Option<Vec<CapacityProviderItem>> {
    let YamlData::Sequence(items) = &node.data else {
        reader.report(
            node,
            "CapacityProviderStrategy",
            format!("expected a list, found {}", describe(node)),
        );
        return None;
    };
    let mut providers = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let field = format!("CapacityProviderStrategy[{index}]");
        let fields = reader.mapping(item, &field, &["CapacityProvider", "Weight", "Base"])?;
        let name = reader
            .required(&fields, "CapacityProvider", "a capacity provider")
            .and_then(|node| reader.string(node, &fields.path("CapacityProvider"), "a name"))?;
        let weight = match fields.get("Weight") {
            Some(node) => reader.integer(node, &fields.path("Weight"), 0..=1000)?,
            None => 1,
        };
        let base = match fields.get("Base") {
            Some(node) => reader.integer(node, &fields.path("Base"), 0..=100_000)?,
            None => 0,
        };
        providers.push(CapacityProviderItem {
            capacity_provider: name,
            weight: weight as i32,
            base: base as i32,
        });
    }
    Some(providers)
}

/// `Hooks: [{BeforeInstall: FUNCTION}, ...]`.
fn hooks(reader: &mut Reader<'_>, node: &MarkedYaml<'_>) -> Option<Vec<(String, String)>> {
    let YamlData::Sequence(items) = &node.data else {
        reader.report(
            node,
            "Hooks",
            format!(
                "expected a list like [{{AfterAllowTestTraffic: MyFunction}}], found {}",
                describe(node)
            ),
        );
        return None;
    };
    let mut hooks = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let field = format!("Hooks[{index}]");
        let fields = reader.mapping(item, &field, HOOK_EVENTS)?;
        for event in HOOK_EVENTS {
            if let Some(function) = fields.get(event) {
                let function = reader.string(
                    function,
                    &fields.path(event),
                    "a Lambda function name or ARN",
                )?;
                hooks.push((event.to_string(), function));
            }
        }
    }
    Some(hooks)
}

/// The Ferry stage a CodeDeploy ECS lifecycle event's hook runs at, and what differs. None for
/// `BeforeInstall`: green does not exist yet, and Ferry has no stage there.
fn stage_for(event: &str) -> Option<(HookStage, Option<&'static str>)> {
    match event {
        "AfterInstall" => Some((
            HookStage::AfterTestTraffic,
            Some("it runs once green is stable, with the test listener already on green"),
        )),
        "AfterAllowTestTraffic" => Some((HookStage::AfterTestTraffic, None)),
        "BeforeAllowTraffic" => Some((
            HookStage::AfterTestTraffic,
            Some(
                "it runs before any production traffic moves, and before approval.beforeTraffic's wait",
            ),
        )),
        "AfterAllowTraffic" => Some((HookStage::AfterTraffic, None)),
        _ => None,
    }
}

/// An AppSpec's `Hooks` as the manifest's `lambda` hooks, the ones that cannot be carried, and
/// what people should know: a CodeDeploy hook function reports with
/// `PutLifecycleEventHookExecutionStatus`, which Ferry does not receive; it returns its status
/// instead (docs/hooks.md).
fn lambda_hooks(hooks: &[(String, String)]) -> (String, Vec<String>, Vec<String>) {
    let mut yaml = String::new();
    let mut not_carried = Vec::new();
    let mut notes = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for (event, function) in hooks {
        let Some((stage, difference)) = stage_for(event) else {
            not_carried.push(format!(
                "the {event} hook ({function}): it runs before green exists, where Ferry has no stage; run it from your pipeline, or as a task hook at afterTestTraffic"
            ));
            continue;
        };
        let base = kebab(event);
        let mut name = base.clone();
        let mut n = 2;
        while names.contains(&name) {
            name = format!("{base}-{n}");
            n += 1;
        }
        names.push(name.clone());
        yaml.push_str(&format!(
            "  # CodeDeploy's {event} hook.\n  - name: {name}\n    stage: {}\n    lambda: {{ function: \"{function}\" }}\n    timeout: 1h\n",
            stage.name()
        ));
        if let Some(difference) = difference {
            notes.push(format!(
                "the {event} hook ({function}) runs at {}: {difference}",
                stage.name()
            ));
        }
    }
    if !yaml.is_empty() {
        yaml.insert_str(0, "hooks:\n");
        notes.push(
            "the hooks' functions report with PutLifecycleEventHookExecutionStatus, which Ferry (not CodeDeploy) does not receive: each returns its verdict instead ({\"status\": \"Succeeded\"} or {\"hookStatus\": \"SUCCEEDED\"}; see docs/hooks.md), and the run-hooks function may invoke it (hook_function_arns in Terraform)".into(),
        );
    }
    (yaml, not_carried, notes)
}

/// `AfterAllowTestTraffic` → `after-allow-test-traffic`.
fn kebab(name: &str) -> String {
    let mut out = String::new();
    for (index, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && index > 0 {
            out.push('-');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// A CodeDeploy deployment configuration as a Ferry strategy: a `CodeDeployDefault.ECS*` name,
/// or a custom one written `canary:PERCENT:MINUTES` / `linear:PERCENT:MINUTES` (CodeDeploy's
/// `TimeBasedCanary` / `TimeBasedLinear`), or `allAtOnce`.
pub fn strategy_for(config: &str) -> Result<Strategy, String> {
    let name = config.trim();
    let short = name.strip_prefix("CodeDeployDefault.").unwrap_or(name);
    let custom = |kind: &str| -> Option<(u8, u64)> {
        let rest = short
            .strip_prefix(kind)
            .or_else(|| short.strip_prefix(&format!("TimeBased{}", capitalised(kind))))?;
        let rest = rest.strip_prefix(':')?;
        let (percent, minutes) = rest.split_once(':')?;
        let percent: u8 = percent.parse().ok().filter(|p| (1..=99).contains(p))?;
        let minutes: u64 = minutes.parse().ok().filter(|m| (1..=2880).contains(m))?;
        Some((percent, minutes * 60))
    };
    let strategy = match short {
        "ECSAllAtOnce" | "allAtOnce" | "AllAtOnce" => Strategy::AllAtOnce,
        "ECSCanary10Percent5Minutes" => Strategy::Canary {
            weight: 10,
            bake_seconds: 300,
        },
        "ECSCanary10Percent15Minutes" => Strategy::Canary {
            weight: 10,
            bake_seconds: 900,
        },
        "ECSLinear10PercentEvery1Minutes" => Strategy::Linear {
            step: 10,
            interval_seconds: 60,
        },
        "ECSLinear10PercentEvery3Minutes" => Strategy::Linear {
            step: 10,
            interval_seconds: 180,
        },
        _ => match (custom("canary"), custom("linear")) {
            (Some((weight, bake_seconds)), _) => Strategy::Canary {
                weight,
                bake_seconds,
            },
            (_, Some((step, interval_seconds))) => Strategy::Linear {
                step,
                interval_seconds,
            },
            _ => {
                return Err(format!(
                    "unknown deployment configuration \"{name}\": expected CodeDeployDefault.ECSAllAtOnce, ECSCanary10Percent5Minutes, ECSCanary10Percent15Minutes, ECSLinear10PercentEvery1Minutes, ECSLinear10PercentEvery3Minutes, or a custom one written canary:PERCENT:MINUTES or linear:PERCENT:MINUTES"
                ));
            }
        },
    };
    Ok(strategy)
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

/// What the deployment group says, and what the AppSpec cannot: given on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentGroup {
    pub cluster: String,
    pub service: String,
    pub region: Option<String>,
    /// The production listener (`prodTrafficRoute`).
    pub listener: String,
    /// The test listener (`testTrafficRoute`), if any.
    pub test_listener: Option<String>,
    /// The target group pair, the one production uses now first.
    pub target_groups: [String; 2],
    /// `deploymentConfigName`, or a custom one (see [`strategy_for`]).
    pub deployment_config: String,
    /// `deploymentReadyOption.waitTimeInMinutes` with `actionOnTimeout: STOP_DEPLOYMENT`:
    /// people reroute by hand, or the deployment stops (`continue_after_wait: false`); with
    /// `CONTINUE_DEPLOYMENT` it goes on by itself after the wait.
    pub reroute_wait_seconds: Option<u64>,
    pub continue_after_wait: bool,
    /// `terminateBlueInstancesOnDeploymentSuccess.terminationWaitTimeInMinutes`.
    pub termination_wait_seconds: Option<u64>,
    pub alarms: Vec<String>,
    /// Replaces the task definition's image when it is CodePipeline's `<IMAGE1_NAME>`.
    pub image: Option<String>,
}

/// The files `ferry init` writes, and what it could not carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Converted {
    pub manifest: String,
    pub task_definition: String,
    /// Each: what, and why it was not carried.
    pub not_carried: Vec<String>,
    /// Carried, but working differently: what to know.
    pub notes: Vec<String>,
}

/// The longest `rollback.keepOldFor` a manifest takes.
const MAX_KEEP_OLD_FOR_SECONDS: u64 = 24 * 3600;

/// Builds the manifest and the task definition. `task_definition_ref` is how the manifest
/// names the task definition file (relative to the manifest).
pub fn convert(
    appspec: &AppSpec,
    taskdef_text: &str,
    group: &DeploymentGroup,
    task_definition_ref: &str,
) -> Result<Converted, String> {
    let mut not_carried = Vec::new();
    let mut document: Value = serde_json::from_str(taskdef_text)
        .map_err(|error| format!("the task definition is not JSON: {error}"))?;
    // `aws ecs describe-task-definition` output wraps it.
    if let Some(inner) = document.get("taskDefinition").cloned() {
        document = inner;
    }
    without_read_only_fields(&mut document)?;
    let containers = document
        .get_mut("containerDefinitions")
        .and_then(Value::as_array_mut)
        .ok_or("the task definition has no containerDefinitions")?;
    for container in containers.iter_mut() {
        let placeholder = container["image"]
            .as_str()
            .is_some_and(|image| image.starts_with('<') && image.ends_with('>'));
        if placeholder {
            let written = container["image"].as_str().unwrap_or_default().to_string();
            match &group.image {
                Some(image) => container["image"] = Value::String(image.clone()),
                None => {
                    return Err(format!(
                        "container {}'s image is CodePipeline's placeholder {written}: give --image REPOSITORY:TAG (${{GIT_SHA}} is replaced by the commit deployed)",
                        container["name"].as_str().unwrap_or("?")
                    ));
                }
            }
        }
    }
    let strategy = strategy_for(&group.deployment_config)?;
    let (hooks_yaml, hooks_not_carried, notes) = lambda_hooks(&appspec.hooks);
    not_carried.extend(hooks_not_carried);
    let mut keep_old_for = group.termination_wait_seconds;
    if let Some(wait) = keep_old_for
        && wait > MAX_KEEP_OLD_FOR_SECONDS
    {
        not_carried.push(format!(
            "the termination wait of {} minutes: Ferry keeps blue warm for at most 24 hours (rollback.keepOldFor: 24h written)",
            wait / 60
        ));
        keep_old_for = Some(MAX_KEEP_OLD_FOR_SECONDS);
    }

    let mut manifest = Head {
        comment: "from a CodeDeploy application (AppSpec, task definition and deployment group settings)",
        service: &group.service,
        cluster: &group.cluster,
        region: group.region.as_deref(),
        task_definition_ref,
        container: &appspec.container,
        listener: &group.listener,
        rule: None,
        test_listener: group.test_listener.as_deref(),
        target_groups: &group.target_groups,
        strategy: &strategy,
    }
    .render();
    if let Some(wait) = group.reroute_wait_seconds {
        manifest.push_str(&format!(
            "# CodeDeploy's reroute wait: production moves when approved, or after the wait {}.\napproval: {{ beforeTraffic: true, timeout: {}, onTimeout: {} }}\n",
            if group.continue_after_wait {
                "by itself"
            } else {
                "the deployment stops"
            },
            minutes(wait),
            if group.continue_after_wait {
                "continue"
            } else {
                "rollback"
            }
        ));
    }
    if !group.alarms.is_empty() {
        manifest.push_str(&format!("alarms: [{}]\n", group.alarms.join(", ")));
    }
    if let Some(keep) = keep_old_for {
        manifest.push_str(&format!(
            "rollback: {{ onAlarm: true, keepOldFor: {} }}\n",
            minutes(keep)
        ));
    }
    manifest.push_str(&hooks_yaml);
    if let Some(placement) = &appspec.placement {
        manifest.push_str(&network_yaml(placement));
        if placement.capacity_providers.is_empty() {
            not_carried.push(
                "the launch type: an AppSpec takes the service's; add network.launchType (FARGATE or EC2) unless the cluster has a default capacity provider strategy".into(),
            );
        }
    }
    let task_definition = task_definition_file(&document)?;
    Ok(Converted {
        manifest,
        task_definition,
        not_carried,
        notes,
    })
}

#[cfg(test)]
mod tests;
