//! The ECS task definition a manifest points at, in the shape
//! `aws ecs register-task-definition --cli-input-json` accepts.

use saphyr::{LoadableYamlNode, MarkedYaml, YamlData};
use serde_json::Value;

use super::problem::{Problem, Problems};
use super::reader::{Reader, describe};

/// Top-level fields `register-task-definition` accepts.
const ACCEPTED_FIELDS: &[&str] = &[
    "family",
    "taskRoleArn",
    "executionRoleArn",
    "networkMode",
    "containerDefinitions",
    "volumes",
    "placementConstraints",
    "requiresCompatibilities",
    "cpu",
    "memory",
    "tags",
    "pidMode",
    "ipcMode",
    "proxyConfiguration",
    "inferenceAccelerators",
    "ephemeralStorage",
    "runtimePlatform",
    "enableFaultInjection",
];

/// Fields `describe-task-definition` prints that registering refuses: a common copy-paste slip.
pub const READ_ONLY_FIELDS: &[&str] = &[
    "taskDefinitionArn",
    "revision",
    "status",
    "requiresAttributes",
    "compatibilities",
    "registeredAt",
    "registeredBy",
    "deregisteredAt",
];

/// One container of the task definition, as far as Ferry needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerDefinition {
    pub name: String,
    pub image: String,
    /// `containerPort` of each port mapping.
    pub ports: Vec<u16>,
}

/// A validated task definition document.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskDefinition {
    /// The file it came from, as the user would name it.
    pub path: String,
    pub family: String,
    pub containers: Vec<ContainerDefinition>,
    /// The document itself, sent to ECS as is (after `${...}` substitution at deploy time).
    pub document: Value,
}

impl TaskDefinition {
    pub fn container(&self, name: &str) -> Option<&ContainerDefinition> {
        self.containers
            .iter()
            .find(|container| container.name == name)
    }

    /// Parses and validates the JSON text of a task definition file.
    pub fn parse(path: &str, text: &str) -> Result<TaskDefinition, Problems> {
        // serde_json first: it is the authority on JSON syntax and gives exact positions.
        let document: Value = serde_json::from_str(text).map_err(|error| Problem {
            file: path.to_string(),
            line: error.line().max(1),
            column: error.column().max(1),
            field: "(json)".into(),
            message: format!("not valid JSON: {}", strip_position(&error.to_string())),
        })?;
        // JSON is YAML, and the YAML tree carries positions for field-level problems.
        let tree = match MarkedYaml::load_from_str(text) {
            Ok(mut documents) if !documents.is_empty() => documents.swap_remove(0),
            _ => MarkedYaml::value_from_str(""),
        };
        let mut reader = Reader::new(path);
        let result = check(&mut reader, &tree, document);
        if reader.problems.is_empty()
            && let Some(task_definition) = result
        {
            return Ok(task_definition);
        }
        if reader.problems.is_empty() {
            reader.report_at(1, 1, "(document)", "task definition could not be read");
        }
        Err(Problems(reader.problems).sorted())
    }
}

fn strip_position(message: &str) -> &str {
    message.split(" at line ").next().unwrap_or(message)
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn check(
    reader: &mut Reader<'_>,
    tree: &MarkedYaml<'_>,
    document: Value,
) -> Option<TaskDefinition> {
    if !document.is_object() {
        reader.report(
            tree,
            "(document)",
            format!(
                "expected a JSON object with family and containerDefinitions, found {}",
                describe(tree)
            ),
        );
        return None;
    }
    let mut allowed: Vec<&str> = ACCEPTED_FIELDS.to_vec();
    allowed.extend_from_slice(READ_ONLY_FIELDS);
    let fields = reader.mapping(tree, "", &allowed)?;
    for read_only in READ_ONLY_FIELDS {
        if let Some(key) = fields.key_node(read_only) {
            reader.report(
                key,
                read_only,
                "is set by ECS and refused by register-task-definition; remove it (it comes from describe-task-definition output)",
            );
        }
    }

    let family = reader
        .required(&fields, "family", "the task definition family name")
        .and_then(|node| {
            let family = reader.string(node, "family", "a family name")?;
            if valid_name(&family) {
                Some(family)
            } else {
                reader.report(
                    node,
                    "family",
                    format!("expected up to 255 letters, digits, hyphens and underscores, found \"{family}\""),
                );
                None
            }
        });

    let containers = reader
        .required(&fields, "containerDefinitions", "a list of containers")
        .and_then(|node| containers(reader, node));

    Some(TaskDefinition {
        path: reader.file.to_string(),
        family: family?,
        containers: containers?,
        document,
    })
}

fn containers(reader: &mut Reader<'_>, node: &MarkedYaml<'_>) -> Option<Vec<ContainerDefinition>> {
    let YamlData::Sequence(items) = &node.data else {
        reader.report(
            node,
            "containerDefinitions",
            format!("expected a list of containers, found {}", describe(node)),
        );
        return None;
    };
    if items.is_empty() {
        reader.report(
            node,
            "containerDefinitions",
            "expected at least one container, found an empty list",
        );
        return None;
    }
    let mut found = Vec::new();
    let mut seen_names: Vec<String> = Vec::new();
    let mut ok = true;
    for (index, item) in items.iter().enumerate() {
        let field = format!("containerDefinitions[{index}]");
        let YamlData::Mapping(map) = &item.data else {
            reader.report(
                item,
                &field,
                format!("expected a container object, found {}", describe(item)),
            );
            ok = false;
            continue;
        };
        let get = |key: &str| {
            map.iter()
                .find(|(k, _)| matches!(&k.data, YamlData::Value(saphyr::Scalar::String(s)) if s == key))
                .map(|(_, v)| v)
        };
        let name = match get("name") {
            Some(value) => reader.string(value, &format!("{field}.name"), "a container name"),
            None => {
                reader.report(
                    item,
                    &format!("{field}.name"),
                    "required field is missing, expected a container name",
                );
                None
            }
        };
        if let (Some(name), Some(value)) = (&name, get("name")) {
            if !valid_name(name) {
                reader.report(
                    value,
                    &format!("{field}.name"),
                    format!("expected up to 255 letters, digits, hyphens and underscores, found \"{name}\""),
                );
                ok = false;
            } else if seen_names.contains(name) {
                reader.report(
                    value,
                    &format!("{field}.name"),
                    format!("container name \"{name}\" is used twice"),
                );
                ok = false;
            }
        }
        if let Some(name) = &name {
            seen_names.push(name.clone());
        }
        let image = match get("image") {
            Some(value) => reader.string(value, &format!("{field}.image"), "an image reference"),
            None => {
                reader.report(
                    item,
                    &format!("{field}.image"),
                    "required field is missing, expected an image reference such as repo/app:tag",
                );
                None
            }
        };
        let mut ports = Vec::new();
        if let Some(mappings) = get("portMappings") {
            match &mappings.data {
                YamlData::Sequence(entries) => {
                    for (port_index, entry) in entries.iter().enumerate() {
                        let port_field =
                            format!("{field}.portMappings[{port_index}].containerPort");
                        let port_node = match &entry.data {
                            YamlData::Mapping(entry_map) => entry_map
                                .iter()
                                .find(|(k, _)| matches!(&k.data, YamlData::Value(saphyr::Scalar::String(s)) if s == "containerPort"))
                                .map(|(_, v)| v),
                            _ => None,
                        };
                        match port_node {
                            Some(port) => match reader.integer(port, &port_field, 1..=65535) {
                                Some(port) => ports.push(port as u16),
                                None => ok = false,
                            },
                            None => {
                                reader.report(entry, &port_field, "required field is missing, expected a port between 1 and 65535");
                                ok = false;
                            }
                        }
                    }
                }
                _ => {
                    reader.report(
                        mappings,
                        &format!("{field}.portMappings"),
                        format!(
                            "expected a list of port mappings, found {}",
                            describe(mappings)
                        ),
                    );
                    ok = false;
                }
            }
        }
        match (name, image) {
            (Some(name), Some(image)) => found.push(ContainerDefinition { name, image, ports }),
            _ => ok = false,
        }
    }
    ok.then_some(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{
  "family": "web",
  "containerDefinitions": [
    { "name": "web", "image": "nginx:1.27", "memory": 256, "portMappings": [{ "containerPort": 8080 }] }
  ]
}"#;

    #[test]
    fn reads_family_containers_and_ports() {
        let task_definition = TaskDefinition::parse("ecs/web.json", GOOD).unwrap();
        assert_eq!(task_definition.family, "web");
        assert_eq!(task_definition.containers[0].ports, [8080]);
        assert_eq!(
            task_definition.container("web").unwrap().image,
            "nginx:1.27"
        );
    }

    #[test]
    fn json_syntax_errors_name_the_file_line_and_column() {
        let problems =
            TaskDefinition::parse("ecs/web.json", "{\n  \"family\": \"web\",\n}").unwrap_err();
        let text = problems.to_string();
        assert!(
            text.starts_with("ecs/web.json:3:1: (json): not valid JSON"),
            "{text}"
        );
    }

    #[test]
    fn every_problem_is_reported_with_its_position() {
        let text = r#"{
  "family": "bad family",
  "taskDefinitionArn": "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:3",
  "containerDefinitions": [
    { "name": "web" },
    { "name": "web", "image": "x", "portMappings": [{ "containerPort": 70000 }] }
  ]
}"#;
        let problems = TaskDefinition::parse("web.json", text)
            .unwrap_err()
            .to_string();
        let lines: Vec<&str> = problems.lines().collect();
        assert_eq!(lines.len(), 5, "{problems}");
        assert!(lines[0].starts_with("web.json:2:13: family: expected up to 255 letters"));
        assert!(lines[1].starts_with("web.json:3:3: taskDefinitionArn: is set by ECS"));
        assert!(
            lines[2].starts_with(
                "web.json:5:5: containerDefinitions[0].image: required field is missing"
            )
        );
        assert!(
            lines[3].contains("containerDefinitions[1].name: container name \"web\" is used twice")
        );
        assert!(lines[4].contains("containerPort: must be between 1 and 65535, found 70000"));
    }

    #[test]
    fn unknown_top_level_fields_are_refused_with_a_suggestion() {
        let text = r#"{"family": "web", "containerDefinitions": [{"name": "a", "image": "b"}], "memroy": "512"}"#;
        let problems = TaskDefinition::parse("web.json", text)
            .unwrap_err()
            .to_string();
        assert!(
            problems.contains("memroy: unknown field `memroy`, did you mean `memory`?"),
            "{problems}"
        );
    }
}
