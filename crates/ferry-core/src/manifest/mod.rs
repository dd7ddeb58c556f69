//! The deployment manifest: `.ferry/<service>.yaml` in the application's repository.
//!
//! Validation reports every problem it finds, each located (`file:line:column: field: ...`),
//! and never panics. It happens in two phases because the task definition may have to be
//! fetched from elsewhere (a Git host) between them:
//!
//! 1. [`parse_manifest`] reads the YAML into a [`Draft`] that knows where its task definition is;
//! 2. [`Draft::complete`] takes that file's text and checks the two together.
//!
//! [`load`] does both from the local file system.

pub mod codedeploy;
mod hooks;
pub mod live;
mod problem;
mod reader;
mod task_definition;
mod written;

use std::path::{Component, Path, PathBuf};

use saphyr::{LoadableYamlNode, MarkedYaml, YamlData};

pub use problem::{Problem, Problems};
pub use task_definition::{ContainerDefinition, READ_ONLY_FIELDS, TaskDefinition};

use crate::analysis::OnInsufficientData;
use crate::arn::{self, ResourceKind};
use crate::control::Identity;
use crate::convergence::OnNewerPush;
use crate::deployment::OnTimeout;
use crate::lifecycle::Verbosity;
use crate::plan::{Plan, Preset, StepSpec, Strategy};
use crate::ports::{CapacityProviderItem, NetworkConfig, Placement};
use reader::{Fields, Reader, describe};

/// How long an approval waits when the manifest does not say.
pub const DEFAULT_APPROVAL_TIMEOUT_SECONDS: u64 = 3600;
/// How long blue is kept warm after a successful deployment when the manifest does not say.
pub const DEFAULT_KEEP_OLD_FOR_SECONDS: u64 = 300;

const TOP_LEVEL: &[&str] = &[
    "service",
    "cluster",
    "region",
    "taskDefinition",
    "container",
    "traffic",
    "strategy",
    "approval",
    "alarms",
    "rollback",
    "notify",
    "branches",
    "onNewerPush",
    "network",
    "hooks",
];
const STRATEGIES: &[&str] = &["allAtOnce", "canary", "linear", "steps", "preset"];

/// The container behind the load balancer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerTarget {
    pub name: String,
    pub port: u16,
}

/// Where traffic is shifted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Traffic {
    pub listener: String,
    pub rule: Option<String>,
    pub test_listener: Option<String>,
    /// The two target groups blue and green alternate between.
    pub target_groups: [String; 2],
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    pub before_traffic: bool,
    /// Who may approve, reject, promote or move traffic, written as identities (Slack user
    /// ids, `github:LOGIN`, IAM ARNs; see [`crate::control::Identity`]); empty means anyone who
    /// can reach the controls.
    pub approvers: Vec<String>,
    pub timeout_seconds: u64,
    pub on_timeout: OnTimeout,
    /// Whether the commit's author may approve it (default true).
    pub self_approval: bool,
    /// `approval.rollbackBy: approvers`: only approvers may roll back (default: anyone who can
    /// reach the controls, since rolling back is the safe direction).
    pub rollback_by_approvers: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rollback {
    pub on_alarm: bool,
    pub keep_old_for_seconds: u64,
    pub on_insufficient_data: OnInsufficientData,
}

/// A validated manifest with its task definition.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    /// The manifest file, as the user named it.
    pub path: String,
    pub service: String,
    pub cluster: String,
    pub region: Option<String>,
    pub task_definition: TaskDefinition,
    pub container: ContainerTarget,
    pub traffic: Traffic,
    pub strategy: Strategy,
    pub approval: Approval,
    pub alarms: Vec<String>,
    pub rollback: Rollback,
    pub slack_channel: Option<String>,
    /// Which events get a reply in the deployment's Slack thread.
    pub slack_verbosity: Verbosity,
    /// Branches whose pushes deploy; empty means the repository's default branch.
    pub branches: Vec<String>,
    /// What a newer push does to a deployment of this service still running.
    pub on_newer_push: OnNewerPush,
    /// `network:`: where green's tasks run. Required for the first deployment of a service
    /// (no task set to copy from); otherwise it replaces what blue uses.
    pub network: Option<Placement>,
    /// `hooks:`: checks run at fixed stages of the deployment, in the order written.
    pub hooks: Vec<crate::hooks::Hook>,
}

impl Manifest {
    pub fn plan(&self) -> Plan {
        Plan::new(&self.strategy, self.approval.before_traffic)
    }
}

/// A manifest whose YAML is valid, waiting for its task definition.
#[derive(Debug)]
pub struct Draft {
    path: String,
    /// The task definition path as written, relative to the manifest.
    pub task_definition_ref: String,
    /// That path resolved against the manifest's directory (normalised, `/`-separated).
    pub task_definition_path: String,
    fields: Option<DraftFields>,
    problems: Vec<Problem>,
    /// Where `container.name` and `container.port` are, to report mismatches with the task
    /// definition at the right place.
    container_name_at: (usize, usize),
    container_port_at: (usize, usize),
    task_definition_at: (usize, usize),
}

#[derive(Debug)]
struct DraftFields {
    service: String,
    cluster: String,
    region: Option<String>,
    container: ContainerTarget,
    traffic: Traffic,
    strategy: Strategy,
    approval: Approval,
    alarms: Vec<String>,
    rollback: Rollback,
    slack_channel: Option<String>,
    slack_verbosity: Verbosity,
    branches: Vec<String>,
    on_newer_push: OnNewerPush,
    network: Option<Placement>,
    hooks: Vec<crate::hooks::Hook>,
}

impl Draft {
    /// The service's key (`<cluster>/<service>`), when the YAML's fields could be read.
    pub fn service_key(&self) -> Option<String> {
        self.fields
            .as_ref()
            .map(|fields| crate::deployment::service_key(&fields.cluster, &fields.service))
    }

    /// The manifest's `branches`, as written (empty: the repository's default branch), or
    /// `None` when the YAML had problems that left the fields unread.
    pub fn branches(&self) -> Option<&[String]> {
        self.fields
            .as_ref()
            .map(|fields| fields.branches.as_slice())
    }

    /// Checks the task definition text (or its absence) and the pair together.
    /// `task_definition_text` is `None` when the file does not exist; `Err` carries a read error.
    pub fn complete(
        self,
        task_definition_text: Result<Option<String>, String>,
    ) -> Result<Manifest, Problems> {
        let mut problems = self.problems;
        let (line, column) = self.task_definition_at;
        let located = |message: String| Problem {
            file: self.path.clone(),
            line,
            column,
            field: "taskDefinition".into(),
            message,
        };
        let task_definition = match task_definition_text {
            Ok(Some(text)) => match TaskDefinition::parse(&self.task_definition_path, &text) {
                Ok(task_definition) => Some(task_definition),
                Err(found) => {
                    problems.extend(found.0);
                    None
                }
            },
            Ok(None) => {
                problems.push(located(format!(
                    "expected a task definition file, found nothing at {} (resolved from the manifest's folder)",
                    self.task_definition_path
                )));
                None
            }
            Err(error) => {
                problems.push(located(format!(
                    "cannot read {}: {error}",
                    self.task_definition_path
                )));
                None
            }
        };
        if let (Some(fields), Some(task_definition)) = (&self.fields, &task_definition) {
            match task_definition.container(&fields.container.name) {
                None => {
                    let names: Vec<&str> = task_definition
                        .containers
                        .iter()
                        .map(|c| c.name.as_str())
                        .collect();
                    problems.push(Problem {
                        file: self.path.clone(),
                        line: self.container_name_at.0,
                        column: self.container_name_at.1,
                        field: "container.name".into(),
                        message: format!(
                            "expected a container of {} ({}), found \"{}\"",
                            task_definition.path,
                            names.join(", "),
                            fields.container.name
                        ),
                    });
                }
                Some(container) if !container.ports.contains(&fields.container.port) => {
                    let message = if container.ports.is_empty() {
                        format!(
                            "container \"{}\" in {} has no portMappings; add {{\"containerPort\": {}}} so the load balancer can reach it",
                            container.name, task_definition.path, fields.container.port
                        )
                    } else {
                        let ports: Vec<String> =
                            container.ports.iter().map(u16::to_string).collect();
                        format!(
                            "expected a containerPort of \"{}\" in {} ({}), found {}",
                            container.name,
                            task_definition.path,
                            ports.join(", "),
                            fields.container.port
                        )
                    };
                    problems.push(Problem {
                        file: self.path.clone(),
                        line: self.container_port_at.0,
                        column: self.container_port_at.1,
                        field: "container.port".into(),
                        message,
                    });
                }
                Some(_) => {}
            }
        }
        if !problems.is_empty() {
            return Err(Problems(problems).sorted());
        }
        let (Some(fields), Some(task_definition)) = (self.fields, task_definition) else {
            return Err(Problems(vec![located("manifest could not be read".into())]));
        };
        Ok(Manifest {
            path: self.path,
            service: fields.service,
            cluster: fields.cluster,
            region: fields.region,
            task_definition,
            container: fields.container,
            traffic: fields.traffic,
            strategy: fields.strategy,
            approval: fields.approval,
            alarms: fields.alarms,
            rollback: fields.rollback,
            slack_channel: fields.slack_channel,
            slack_verbosity: fields.slack_verbosity,
            branches: fields.branches,
            on_newer_push: fields.on_newer_push,
            network: fields.network,
            hooks: fields.hooks,
        })
    }
}

/// Reads a manifest and its task definition from the file system.
pub fn load(path: &Path) -> Result<Manifest, Problems> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|error| Problem {
        file: shown.clone(),
        line: 1,
        column: 1,
        field: "(file)".into(),
        message: format!("cannot read the manifest: {error}"),
    })?;
    let draft = parse_manifest(&shown, &text)?;
    let task_definition_file = PathBuf::from(&draft.task_definition_path);
    let task_definition_text = match std::fs::read_to_string(&task_definition_file) {
        Ok(text) => Ok(Some(text)),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error.to_string()),
    };
    draft.complete(task_definition_text)
}

/// The mapping key written at `line` (1-based) and `column` (0-based, in characters) of
/// `text`: up to its `:`, without quotes.
fn key_at(text: &str, line: usize, column: usize) -> Option<String> {
    let rest: String = text
        .lines()
        .nth(line.checked_sub(1)?)?
        .chars()
        .skip(column)
        .collect();
    let key = match rest.chars().next()? {
        quote @ ('"' | '\'') => rest[1..].split(quote).next()?.to_string(),
        _ => rest.split(':').next()?.trim().to_string(),
    };
    (!key.is_empty()).then_some(key)
}

/// Phase one: the manifest's YAML. `path` is how the file is named in problems and the base
/// against which `taskDefinition` is resolved.
pub fn parse_manifest(path: &str, text: &str) -> Result<Draft, Problems> {
    let syntax = |line: usize, column: usize, message: String| Problem {
        file: path.to_string(),
        line: line.max(1),
        column: column.max(1),
        field: "(yaml)".into(),
        message,
    };
    let mut documents = MarkedYaml::load_from_str(text).map_err(|error| {
        let (line, column) = (error.marker().line(), error.marker().col());
        let message = match key_at(text, line, column) {
            // The parser says only "duplicated key in mapping"; the key is where it points.
            Some(key) if error.info().contains("duplicated key") => {
                format!("invalid YAML: the key `{key}` appears twice in the same mapping")
            }
            _ => format!("invalid YAML: {}", error.info()),
        };
        syntax(line, column + 1, message)
    })?;
    if documents.len() > 1 {
        let second = &documents[1];
        return Err(syntax(
            second.span.start.line(),
            second.span.start.col() + 1,
            "expected one YAML document, found several (remove the `---` separator)".into(),
        )
        .into());
    }
    let Some(root) = documents.pop() else {
        return Err(syntax(1, 1, "expected a manifest, found an empty file".into()).into());
    };
    if matches!(root.data, YamlData::Value(saphyr::Scalar::Null)) {
        return Err(syntax(1, 1, "expected a manifest, found an empty file".into()).into());
    }

    let mut reader = Reader::new(path);
    let Some(top) = reader.mapping(&root, "", TOP_LEVEL) else {
        return Err(Problems(reader.problems));
    };

    let service = reader
        .required(&top, "service", "the ECS service name")
        .and_then(|node| {
            let name = reader.string(node, "service", "the ECS service name")?;
            valid_resource_name(&name).then_some(name.clone()).or_else(|| {
                reader.report(
                    node,
                    "service",
                    format!("expected up to 255 letters, digits, hyphens and underscores, found \"{name}\""),
                );
                None
            })
        });
    let cluster = reader
        .required(&top, "cluster", "the ECS cluster name or ARN")
        .and_then(|node| cluster(&mut reader, node));
    let region = top.get("region").and_then(|node| {
        let region = reader.string(node, "region", "an AWS region such as eu-west-1")?;
        if valid_region(&region) {
            Some(region)
        } else {
            reader.report(
                node,
                "region",
                format!("expected an AWS region such as eu-west-1, found \"{region}\""),
            );
            None
        }
    });

    let task_definition_node = reader.required(
        &top,
        "taskDefinition",
        "a path to an ECS task definition JSON file",
    );
    let task_definition_ref = task_definition_node.and_then(|node| {
        reader.string(
            node,
            "taskDefinition",
            "a path to an ECS task definition JSON file, relative to this manifest",
        )
    });
    let task_definition_at = task_definition_node
        .or(Some(top.node))
        .map(position)
        .unwrap_or((1, 1));

    let (container, container_name_at, container_port_at) =
        match reader.required(&top, "container", "{name, port}") {
            Some(node) => container(&mut reader, node),
            None => (None, (1, 1), (1, 1)),
        };
    let traffic = reader
        .required(&top, "traffic", "{listener, targetGroups: [blue, green]}")
        .and_then(|node| traffic(&mut reader, node));
    let strategy = reader
        .required(
            &top,
            "strategy",
            "exactly one of allAtOnce, canary, linear, steps, preset",
        )
        .and_then(|node| strategy(&mut reader, node));
    let approval = match top.get("approval") {
        Some(node) => approval(&mut reader, node),
        None => Some(Approval {
            before_traffic: false,
            approvers: Vec::new(),
            timeout_seconds: DEFAULT_APPROVAL_TIMEOUT_SECONDS,
            on_timeout: OnTimeout::Rollback,
            self_approval: true,
            rollback_by_approvers: false,
        }),
    };
    let alarms = match top.get("alarms") {
        Some(node) => reader.string_list(node, "alarms", "CloudWatch alarm names", |name| {
            (name.len() > 255).then(|| "alarm names are at most 255 characters".to_string())
        }),
        None => Some(Vec::new()),
    };
    let rollback = match top.get("rollback") {
        Some(node) => rollback(&mut reader, node),
        None => Some(Rollback {
            on_alarm: true,
            keep_old_for_seconds: DEFAULT_KEEP_OLD_FOR_SECONDS,
            on_insufficient_data: OnInsufficientData::default(),
        }),
    };
    let slack = match top.get("notify") {
        Some(node) => notify(&mut reader, node),
        None => Some(None),
    };
    let slack_verbosity = slack
        .as_ref()
        .and_then(|slack| slack.as_ref().map(|(_, verbosity)| *verbosity))
        .unwrap_or_default();
    let slack_channel = slack.map(|slack| slack.map(|(channel, _)| channel));
    let branches = match top.get("branches") {
        Some(node) => reader.string_list(node, "branches", "branch names", branch_problem),
        None => Some(Vec::new()),
    };
    let on_newer_push = match top.get("onNewerPush") {
        Some(node) => match reader
            .string(node, "onNewerPush", "wait or cancel")
            .as_deref()
        {
            Some("wait") => Some(OnNewerPush::Wait),
            Some("cancel") => Some(OnNewerPush::Cancel),
            Some(other) => {
                reader.report(
                    node,
                    "onNewerPush",
                    format!("expected wait or cancel, found \"{other}\""),
                );
                None
            }
            None => None,
        },
        None => Some(OnNewerPush::default()),
    };

    let network = match top.get("network") {
        Some(node) => network(&mut reader, node).map(Some),
        None => Some(None),
    };
    let hooks = match top.get("hooks") {
        Some(node) => hooks::hooks(
            &mut reader,
            node,
            &hooks::Context {
                container: container.as_ref().map(|container| container.name.as_str()),
                test_listener: traffic
                    .as_ref()
                    .map(|traffic| traffic.test_listener.is_some()),
            },
        ),
        None => Some(Vec::new()),
    };

    if let (Some(strategy), Some(approval)) = (&strategy, &approval)
        && let Some(node) = top.get("approval")
        && !approval.before_traffic
        && !matches!(strategy, Strategy::Steps(steps) if steps.iter().any(|step| step.approve))
        && !approval.approvers.is_empty()
    {
        reader.report(
            node,
            "approval",
            "approvers are listed but nothing waits for approval; set beforeTraffic: true or approve: true on a step",
        );
    }
    if let (Some(traffic), Some(cluster)) = (&traffic, &cluster) {
        check_regions(&mut reader, &top, region.as_deref(), cluster, traffic);
    }

    let task_definition_ref = task_definition_ref.unwrap_or_default();
    let task_definition_path = resolve(path, &task_definition_ref);
    let problems = std::mem::take(&mut reader.problems);
    let fields = match (
        service,
        cluster,
        container,
        traffic,
        strategy,
        approval,
        alarms,
        rollback,
        slack_channel,
        branches,
        on_newer_push,
        network,
        hooks,
    ) {
        (
            Some(service),
            Some(cluster),
            Some(container),
            Some(traffic),
            Some(strategy),
            Some(approval),
            Some(alarms),
            Some(rollback),
            Some(slack_channel),
            Some(branches),
            Some(on_newer_push),
            Some(network),
            Some(hooks),
        ) if problems.is_empty() => Some(DraftFields {
            service,
            cluster,
            region,
            container,
            traffic,
            strategy,
            approval,
            alarms,
            rollback,
            slack_channel,
            slack_verbosity,
            branches,
            on_newer_push,
            network,
            hooks,
        }),
        _ => None,
    };
    Ok(Draft {
        path: path.to_string(),
        task_definition_ref,
        task_definition_path,
        fields,
        problems,
        container_name_at,
        container_port_at,
        task_definition_at,
    })
}

fn position(node: &MarkedYaml<'_>) -> (usize, usize) {
    (node.span.start.line().max(1), node.span.start.col() + 1)
}

/// Joins a path relative to the manifest onto the manifest's folder and removes `.` and `..`.
fn resolve(manifest_path: &str, relative: &str) -> String {
    let base = Path::new(manifest_path).parent().unwrap_or(Path::new(""));
    let joined = if Path::new(relative).is_absolute() {
        PathBuf::from(relative)
    } else {
        base.join(relative)
    };
    let mut parts: Vec<String> = Vec::new();
    let mut absolute = false;
    for component in joined.components() {
        match component {
            Component::RootDir => absolute = true,
            Component::CurDir | Component::Prefix(_) => {}
            Component::ParentDir => {
                if parts.last().is_some_and(|last| last != "..") {
                    parts.pop();
                } else if !absolute {
                    parts.push("..".into());
                }
            }
            Component::Normal(part) => parts.push(part.to_string_lossy().into_owned()),
        }
    }
    let joined = parts.join("/");
    if absolute {
        format!("/{joined}")
    } else {
        joined
    }
}

fn valid_resource_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn valid_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    parts.len() >= 3
        && parts.iter().all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|last| last.chars().all(|c| c.is_ascii_digit()))
}

fn branch_problem(name: &str) -> Option<String> {
    let bad = name.contains("..")
        || name.contains(char::is_whitespace)
        || name.contains(['~', '^', ':', '?', '*', '[', '\\'])
        || name.starts_with('/')
        || name.ends_with('/')
        || name.ends_with(".lock");
    bad.then(|| format!("expected a Git branch name, found \"{name}\""))
}

fn cluster(reader: &mut Reader<'_>, node: &MarkedYaml<'_>) -> Option<String> {
    let cluster = reader.string(node, "cluster", "the ECS cluster name or ARN")?;
    if cluster.starts_with("arn:") {
        if arn::parse_as(&cluster, ResourceKind::EcsCluster).is_none() {
            reader.report(
                node,
                "cluster",
                format!(
                    "expected a cluster name or an ARN like {}, found \"{cluster}\"",
                    ResourceKind::EcsCluster.example()
                ),
            );
            return None;
        }
    } else if !valid_resource_name(&cluster) {
        reader.report(
            node,
            "cluster",
            format!(
                "expected up to 255 letters, digits, hyphens and underscores, found \"{cluster}\""
            ),
        );
        return None;
    }
    Some(cluster)
}

fn container(
    reader: &mut Reader<'_>,
    node: &MarkedYaml<'_>,
) -> (Option<ContainerTarget>, (usize, usize), (usize, usize)) {
    let Some(fields) = reader.mapping(node, "container", &["name", "port"]) else {
        return (None, position(node), position(node));
    };
    let name_node = reader.required(&fields, "name", "the container that receives traffic");
    let port_node = reader.required(
        &fields,
        "port",
        "the container port the load balancer sends to",
    );
    let name = name_node.and_then(|node| reader.string(node, "container.name", "a container name"));
    let port = port_node.and_then(|node| reader.integer(node, "container.port", 1..=65535));
    let name_at = name_node.map(position).unwrap_or(position(node));
    let port_at = port_node.map(position).unwrap_or(position(node));
    let target = match (name, port) {
        (Some(name), Some(port)) => Some(ContainerTarget {
            name,
            port: port as u16,
        }),
        _ => None,
    };
    (target, name_at, port_at)
}

fn arn_field(
    reader: &mut Reader<'_>,
    node: &MarkedYaml<'_>,
    field: &str,
    kind: ResourceKind,
) -> Option<String> {
    let text = reader.string(node, field, "an ARN")?;
    if arn::parse_as(&text, kind).is_some() {
        return Some(text);
    }
    let hint = match arn::Arn::parse(&text) {
        Some(other) => format!(
            " (that is a {} {} ARN)",
            other.service,
            other.resource.split('/').next().unwrap_or("")
        ),
        None => String::new(),
    };
    reader.report(
        node,
        field,
        format!(
            "expected an ARN like {}, found \"{text}\"{hint}",
            kind.example()
        ),
    );
    None
}

fn traffic(reader: &mut Reader<'_>, node: &MarkedYaml<'_>) -> Option<Traffic> {
    let fields = reader.mapping(
        node,
        "traffic",
        &["listener", "rule", "testListener", "targetGroups"],
    )?;
    let listener = reader
        .required(&fields, "listener", "the production listener ARN")
        .and_then(|node| arn_field(reader, node, "traffic.listener", ResourceKind::AlbListener));
    let rule = match fields.get("rule") {
        Some(node) => {
            match arn_field(reader, node, "traffic.rule", ResourceKind::AlbListenerRule) {
                Some(rule) => {
                    if let Some(listener) = &listener
                        && arn::listener_of_rule(&rule).as_deref() != Some(listener.as_str())
                    {
                        reader.report(
                            node,
                            "traffic.rule",
                            "expected a rule of traffic.listener, found a rule of another listener",
                        );
                        return None;
                    }
                    Some(Some(rule))
                }
                None => None,
            }
        }
        None => Some(None),
    };
    let test_listener = match fields.get("testListener") {
        Some(node) => match arn_field(
            reader,
            node,
            "traffic.testListener",
            ResourceKind::AlbListener,
        ) {
            Some(test) if listener.as_ref() == Some(&test) => {
                reader.report(
                    node,
                    "traffic.testListener",
                    "must differ from traffic.listener, found the same listener",
                );
                None
            }
            Some(test) => Some(Some(test)),
            None => None,
        },
        None => Some(None),
    };
    let target_groups = reader
        .required(&fields, "targetGroups", "a list of two target group ARNs")
        .and_then(|node| target_groups(reader, node));
    Some(Traffic {
        listener: listener?,
        rule: rule?,
        test_listener: test_listener?,
        target_groups: target_groups?,
    })
}

fn target_groups(reader: &mut Reader<'_>, node: &MarkedYaml<'_>) -> Option<[String; 2]> {
    let YamlData::Sequence(items) = &node.data else {
        reader.report(
            node,
            "traffic.targetGroups",
            format!(
                "expected a list of two target group ARNs, found {}",
                describe(node)
            ),
        );
        return None;
    };
    if items.len() != 2 {
        reader.report(
            node,
            "traffic.targetGroups",
            format!(
                "expected exactly two target groups (blue and green), found {}",
                items.len()
            ),
        );
        return None;
    }
    let first = arn_field(
        reader,
        &items[0],
        "traffic.targetGroups[0]",
        ResourceKind::TargetGroup,
    );
    let second = arn_field(
        reader,
        &items[1],
        "traffic.targetGroups[1]",
        ResourceKind::TargetGroup,
    );
    let (first, second) = (first?, second?);
    if first == second {
        reader.report(
            &items[1],
            "traffic.targetGroups[1]",
            "expected two different target groups, found the same one twice",
        );
        return None;
    }
    Some([first, second])
}

fn strategy(reader: &mut Reader<'_>, node: &MarkedYaml<'_>) -> Option<Strategy> {
    let fields = reader.mapping(node, "strategy", STRATEGIES)?;
    let chosen: Vec<String> = fields.keys().map(str::to_string).collect();
    match chosen.len() {
        0 => {
            reader.report(
                node,
                "strategy",
                format!(
                    "expected exactly one of {}, found none",
                    STRATEGIES.join(", ")
                ),
            );
            return None;
        }
        1 => {}
        _ => {
            let second = fields.key_node(&chosen[1]).unwrap_or(node);
            reader.report(
                second,
                &format!("strategy.{}", chosen[1]),
                format!(
                    "expected exactly one strategy, found {} as well as {}",
                    chosen[1], chosen[0]
                ),
            );
            return None;
        }
    }
    let kind = chosen[0].as_str();
    let value = fields.get(kind)?;
    let field = format!("strategy.{kind}");
    match kind {
        "allAtOnce" => {
            if !matches!(value.data, YamlData::Value(saphyr::Scalar::Null)) {
                reader.mapping(value, &field, &[])?;
            }
            Some(Strategy::AllAtOnce)
        }
        "canary" => {
            let params = reader.mapping(value, &field, &["weight", "bake"])?;
            let weight = reader
                .required(
                    &params,
                    "weight",
                    "the percent of traffic the canary gets (1-99)",
                )
                .and_then(|node| reader.integer(node, &params.path("weight"), 1..=99));
            let bake = reader
                .required(&params, "bake", "how long the canary bakes, like 5m")
                .and_then(|node| {
                    reader.duration(node, &params.path("bake"), crate::duration::MAX_SECONDS)
                });
            Some(Strategy::Canary {
                weight: weight? as u8,
                bake_seconds: bake?,
            })
        }
        "linear" => {
            let params = reader.mapping(value, &field, &["step", "interval"])?;
            let step = reader
                .required(&params, "step", "the percent added at each step (1-99)")
                .and_then(|node| reader.integer(node, &params.path("step"), 1..=99));
            let interval = reader
                .required(&params, "interval", "how long each step bakes, like 1m")
                .and_then(|node| {
                    reader.duration(node, &params.path("interval"), crate::duration::MAX_SECONDS)
                });
            Some(Strategy::Linear {
                step: step? as u8,
                interval_seconds: interval?,
            })
        }
        "steps" => steps(reader, value, &field),
        "preset" => {
            let names: Vec<&str> = Preset::ALL.iter().map(|preset| preset.name()).collect();
            let name = reader.string(value, &field, &format!("one of {}", names.join(", ")))?;
            match Preset::from_name(&name) {
                Some(preset) => Some(Strategy::Preset(preset)),
                None => {
                    reader.report(
                        value,
                        &field,
                        format!("expected one of {}, found \"{name}\"", names.join(", ")),
                    );
                    None
                }
            }
        }
        _ => None,
    }
}

fn steps(reader: &mut Reader<'_>, node: &MarkedYaml<'_>, field: &str) -> Option<Strategy> {
    let YamlData::Sequence(items) = &node.data else {
        reader.report(
            node,
            field,
            format!(
                "expected a list of steps like {{weight: 25, bake: 5m}}, found {}",
                describe(node)
            ),
        );
        return None;
    };
    if items.is_empty() {
        reader.report(
            node,
            field,
            "expected at least one step, found an empty list",
        );
        return None;
    }
    let mut specs = Vec::new();
    let mut ok = true;
    let mut previous: Option<(u8, String)> = None;
    for (index, item) in items.iter().enumerate() {
        let step_field = format!("{field}[{index}]");
        let Some(params) = reader.mapping(item, &step_field, &["weight", "bake", "approve"]) else {
            ok = false;
            continue;
        };
        let weight_node = reader.required(
            &params,
            "weight",
            "the percent of traffic green gets at this step (1-100)",
        );
        let weight =
            weight_node.and_then(|node| reader.integer(node, &params.path("weight"), 1..=100));
        let bake = match params.get("bake") {
            Some(node) => reader.duration(node, &params.path("bake"), crate::duration::MAX_SECONDS),
            None => Some(0),
        };
        let approve = match params.get("approve") {
            Some(node) => reader.boolean(node, &params.path("approve")),
            None => Some(false),
        };
        if let (Some(weight), Some(node)) = (weight, weight_node)
            && let Some((last, _)) = &previous
            && weight as u8 <= *last
        {
            reader.report(
                node,
                &params.path("weight"),
                format!("must be greater than the previous step's {last}, found {weight}"),
            );
            ok = false;
        }
        match (weight, bake, approve) {
            (Some(weight), Some(bake_seconds), Some(approve)) => {
                previous = Some((weight as u8, params.path("weight")));
                specs.push(StepSpec {
                    weight: weight as u8,
                    bake_seconds,
                    approve,
                });
            }
            _ => ok = false,
        }
    }
    if ok && specs.last().is_some_and(|last| last.weight != 100) {
        let last = &items[items.len() - 1];
        reader.report(
            last,
            &format!("{field}[{}].weight", items.len() - 1),
            format!(
                "the last step must send 100 percent to green, found {} (to stop part-way, use `preset`)",
                specs.last().map_or(0, |step| step.weight)
            ),
        );
        ok = false;
    }
    ok.then_some(Strategy::Steps(specs))
}

fn approval(reader: &mut Reader<'_>, node: &MarkedYaml<'_>) -> Option<Approval> {
    let fields = reader.mapping(
        node,
        "approval",
        &[
            "beforeTraffic",
            "approvers",
            "timeout",
            "onTimeout",
            "selfApproval",
            "rollbackBy",
        ],
    )?;
    let before_traffic = match fields.get("beforeTraffic") {
        Some(node) => reader.boolean(node, "approval.beforeTraffic"),
        None => Some(false),
    };
    let approvers = match fields.get("approvers") {
        Some(node) => reader.string_list(
            node,
            "approval.approvers",
            "identities (Slack user ids, github:LOGIN, IAM ARNs)",
            |id| Identity::parse(id).err(),
        ),
        None => Some(Vec::new()),
    };
    let timeout = match fields.get("timeout") {
        Some(node) => reader
            .duration(node, "approval.timeout", crate::duration::MAX_SECONDS)
            .and_then(|seconds| {
                if seconds == 0 {
                    reader.report(node, "approval.timeout", "must be at least 1s, found 0s");
                    None
                } else {
                    Some(seconds)
                }
            }),
        None => Some(DEFAULT_APPROVAL_TIMEOUT_SECONDS),
    };
    let on_timeout = match fields.get("onTimeout") {
        Some(node) => match reader
            .string(node, "approval.onTimeout", "continue or rollback")
            .as_deref()
        {
            Some("continue") => Some(OnTimeout::Continue),
            Some("rollback") => Some(OnTimeout::Rollback),
            Some(other) => {
                reader.report(
                    node,
                    "approval.onTimeout",
                    format!("expected continue or rollback, found \"{other}\""),
                );
                None
            }
            None => None,
        },
        None => Some(OnTimeout::Rollback),
    };
    let self_approval = match fields.get("selfApproval") {
        Some(node) => reader.boolean(node, "approval.selfApproval"),
        None => Some(true),
    };
    let rollback_by_approvers = match fields.get("rollbackBy") {
        Some(node) => match reader
            .string(node, "approval.rollbackBy", "anyone or approvers")
            .as_deref()
        {
            Some("anyone") => Some(false),
            Some("approvers") => Some(true),
            Some(other) => {
                reader.report(
                    node,
                    "approval.rollbackBy",
                    format!("expected anyone or approvers, found \"{other}\""),
                );
                None
            }
            None => None,
        },
        None => Some(false),
    };
    Some(Approval {
        before_traffic: before_traffic?,
        approvers: approvers?,
        timeout_seconds: timeout?,
        on_timeout: on_timeout?,
        self_approval: self_approval?,
        rollback_by_approvers: rollback_by_approvers?,
    })
}

fn rollback(reader: &mut Reader<'_>, node: &MarkedYaml<'_>) -> Option<Rollback> {
    let fields = reader.mapping(
        node,
        "rollback",
        &["onAlarm", "keepOldFor", "onInsufficientData"],
    )?;
    let on_alarm = match fields.get("onAlarm") {
        Some(node) => reader.boolean(node, "rollback.onAlarm"),
        None => Some(true),
    };
    let keep_old_for = match fields.get("keepOldFor") {
        Some(node) => reader.duration(node, "rollback.keepOldFor", 24 * 3600),
        None => Some(DEFAULT_KEEP_OLD_FOR_SECONDS),
    };
    let on_insufficient_data = match fields.get("onInsufficientData") {
        Some(node) => match reader
            .string(node, "rollback.onInsufficientData", "pass or rollback")
            .as_deref()
        {
            Some("pass") => Some(OnInsufficientData::Pass),
            Some("rollback") => Some(OnInsufficientData::Rollback),
            Some(other) => {
                reader.report(
                    node,
                    "rollback.onInsufficientData",
                    format!("expected pass or rollback, found \"{other}\""),
                );
                None
            }
            None => None,
        },
        None => Some(OnInsufficientData::default()),
    };
    Some(Rollback {
        on_alarm: on_alarm?,
        keep_old_for_seconds: keep_old_for?,
        on_insufficient_data: on_insufficient_data?,
    })
}

/// `network:` — where tasks run: the subnets, security groups and public IP of `awsvpc`, and a
/// launch type or capacity providers. Required for a service's first deployment (there is no
/// task set to copy from); on later deployments it replaces what blue uses.
fn network(reader: &mut Reader<'_>, node: &MarkedYaml<'_>) -> Option<Placement> {
    let fields = reader.mapping(
        node,
        "network",
        &[
            "subnets",
            "securityGroups",
            "assignPublicIp",
            "launchType",
            "capacityProviders",
            "platformVersion",
        ],
    )?;
    let id_list = |reader: &mut Reader<'_>, key: &str, prefix: &'static str, what: &str| {
        let node = reader.required(&fields, key, what)?;
        let values = reader.string_list(node, &fields.path(key), what, |value| {
            (!value.starts_with(prefix))
                .then(|| format!("expected an id starting {prefix}, found \"{value}\""))
        })?;
        if values.is_empty() {
            reader.report(
                node,
                &fields.path(key),
                format!("expected at least one: {what}"),
            );
            return None;
        }
        Some(values)
    };
    let subnets = id_list(reader, "subnets", "subnet-", "subnet ids (subnet-...)");
    let security_groups = id_list(
        reader,
        "securityGroups",
        "sg-",
        "security group ids (sg-...)",
    );
    let assign_public_ip = match fields.get("assignPublicIp") {
        Some(node) => reader.boolean(node, "network.assignPublicIp"),
        None => Some(false),
    };
    let launch_type = match fields.get("launchType") {
        Some(node) => match reader.string(node, "network.launchType", "FARGATE, EC2 or EXTERNAL") {
            Some(kind) if matches!(kind.as_str(), "FARGATE" | "EC2" | "EXTERNAL") => {
                Some(Some(kind))
            }
            Some(other) => {
                reader.report(
                    node,
                    "network.launchType",
                    format!("expected FARGATE, EC2 or EXTERNAL, found \"{other}\""),
                );
                None
            }
            None => None,
        },
        None => Some(None),
    };
    let capacity_providers = match fields.get("capacityProviders") {
        Some(node) => capacity_providers(reader, node),
        None => Some(Vec::new()),
    };
    if let (Some(Some(_)), Some(providers), Some(node)) = (
        &launch_type,
        &capacity_providers,
        fields.get("capacityProviders"),
    ) && !providers.is_empty()
    {
        reader.report(
            node,
            "network.capacityProviders",
            "give either launchType or capacityProviders, not both (ECS refuses both)",
        );
        return None;
    }
    let platform_version = match fields.get("platformVersion") {
        Some(node) => reader
            .string(
                node,
                "network.platformVersion",
                "a Fargate platform version such as LATEST",
            )
            .map(Some),
        None => Some(None),
    };
    Some(Placement {
        network: Some(NetworkConfig {
            subnets: subnets?,
            security_groups: security_groups?,
            assign_public_ip: assign_public_ip?,
        }),
        launch_type: launch_type?,
        capacity_providers: capacity_providers?,
        platform_version: platform_version?,
    })
}

/// `network.capacityProviders`: `[{capacityProvider: FARGATE_SPOT, weight: 1, base: 0}, ...]`.
fn capacity_providers(
    reader: &mut Reader<'_>,
    node: &MarkedYaml<'_>,
) -> Option<Vec<CapacityProviderItem>> {
    let field = "network.capacityProviders";
    let YamlData::Sequence(items) = &node.data else {
        reader.report(
            node,
            field,
            format!(
                "expected a list like [{{capacityProvider: FARGATE_SPOT, weight: 1}}], found {}",
                describe(node)
            ),
        );
        return None;
    };
    let mut providers = Vec::new();
    let mut ok = true;
    for (index, item) in items.iter().enumerate() {
        let item_field = format!("{field}[{index}]");
        let Some(params) =
            reader.mapping(item, &item_field, &["capacityProvider", "weight", "base"])
        else {
            ok = false;
            continue;
        };
        let name = reader
            .required(&params, "capacityProvider", "a capacity provider name")
            .and_then(|node| {
                reader.string(
                    node,
                    &params.path("capacityProvider"),
                    "a capacity provider name",
                )
            });
        let weight = match params.get("weight") {
            Some(node) => reader.integer(node, &params.path("weight"), 0..=1000),
            None => Some(1),
        };
        let base = match params.get("base") {
            Some(node) => reader.integer(node, &params.path("base"), 0..=100_000),
            None => Some(0),
        };
        match (name, weight, base) {
            (Some(capacity_provider), Some(weight), Some(base)) => {
                providers.push(CapacityProviderItem {
                    capacity_provider,
                    weight: weight as i32,
                    base: base as i32,
                })
            }
            _ => ok = false,
        }
    }
    ok.then_some(providers)
}

/// `notify.slack`: the channel, and how much it hears.
fn notify(reader: &mut Reader<'_>, node: &MarkedYaml<'_>) -> Option<Option<(String, Verbosity)>> {
    let fields = reader.mapping(node, "notify", &["slack"])?;
    let Some(slack) = fields.get("slack") else {
        return Some(None);
    };
    let slack_fields: Fields<'_, '_> =
        reader.mapping(slack, "notify.slack", &["channel", "verbosity"])?;
    let verbosity = match slack_fields.get("verbosity") {
        Some(node) => match reader
            .string(node, "notify.slack.verbosity", "quiet, normal or verbose")
            .as_deref()
        {
            Some("quiet") => Some(Verbosity::Quiet),
            Some("normal") => Some(Verbosity::Normal),
            Some("verbose") => Some(Verbosity::Verbose),
            Some(other) => {
                reader.report(
                    node,
                    "notify.slack.verbosity",
                    format!("expected quiet, normal or verbose, found \"{other}\""),
                );
                None
            }
            None => None,
        },
        None => Some(Verbosity::default()),
    };
    let channel_node =
        reader.required(&slack_fields, "channel", "a Slack channel id like C0123ABC")?;
    let channel = reader.string(
        channel_node,
        "notify.slack.channel",
        "a Slack channel id like C0123ABC",
    )?;
    let valid = channel.len() >= 3
        && matches!(channel.chars().next(), Some('C' | 'G' | 'D'))
        && channel
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    if !valid {
        reader.report(
            channel_node,
            "notify.slack.channel",
            format!("expected a Slack channel id like C0123ABC (not a #name: names change, ids do not), found \"{channel}\""),
        );
        return None;
    }
    Some(Some((channel, verbosity?)))
}

/// All ARNs must live in one region (the manifest's, when it names one) and one account.
fn check_regions(
    reader: &mut Reader<'_>,
    top: &Fields<'_, '_>,
    region: Option<&str>,
    cluster: &str,
    traffic: &Traffic,
) {
    let mut arns: Vec<(&str, String)> = vec![("traffic.listener", traffic.listener.clone())];
    if let Some(rule) = &traffic.rule {
        arns.push(("traffic.rule", rule.clone()));
    }
    if let Some(test) = &traffic.test_listener {
        arns.push(("traffic.testListener", test.clone()));
    }
    arns.push(("traffic.targetGroups[0]", traffic.target_groups[0].clone()));
    arns.push(("traffic.targetGroups[1]", traffic.target_groups[1].clone()));
    if cluster.starts_with("arn:") {
        arns.push(("cluster", cluster.to_string()));
    }
    let expected_region = region
        .map(str::to_string)
        .or_else(|| arn::Arn::parse(&traffic.listener).map(|arn| arn.region.to_string()));
    let expected_account = arn::Arn::parse(&traffic.listener).map(|arn| arn.account.to_string());
    let at = |field: &str| -> (usize, usize) {
        let node = match field.split('.').next() {
            Some("cluster") => top.get("cluster"),
            _ => top.get("traffic"),
        };
        node.map(position).unwrap_or((1, 1))
    };
    for (field, text) in arns {
        let Some(parsed) = arn::Arn::parse(&text) else {
            continue;
        };
        if let Some(expected) = &expected_region
            && parsed.region != expected
        {
            let (line, column) = at(field);
            let source = if region.is_some() {
                "region"
            } else {
                "traffic.listener"
            };
            reader.report_at(
                line,
                column,
                field,
                format!(
                    "expected an ARN in {expected} (from {source}), found one in {}",
                    parsed.region
                ),
            );
        }
        if let Some(expected) = &expected_account
            && parsed.account != expected
        {
            let (line, column) = at(field);
            reader.report_at(
                line,
                column,
                field,
                format!("expected an ARN in account {expected} (from traffic.listener), found account {}", parsed.account),
            );
        }
    }
}

#[cfg(test)]
mod tests;
