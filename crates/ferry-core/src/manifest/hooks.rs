//! The manifest's `hooks:` list (see [`crate::hooks`]).

use saphyr::{MarkedYaml, YamlData};

use super::reader::{Reader, describe};
use crate::hooks::{
    DEFAULT_HOOK_TIMEOUT_SECONDS, FunctionHook, Hook, HookKind, HookStage, HttpHook,
    MAX_HOOK_TIMEOUT_SECONDS, OnHookFailure, TEST_URL, TaskHook,
};

const HOOK_FIELDS: &[&str] = &[
    "name",
    "stage",
    "http",
    "lambda",
    "task",
    "timeout",
    "onFailure",
];
const KINDS: &[&str] = &["http", "lambda", "task"];
/// How long an `http` hook waits between attempts when the manifest does not say.
const DEFAULT_INTERVAL_SECONDS: u64 = 5;

/// What the rest of the manifest tells the hooks.
pub(super) struct Context<'a> {
    /// `container.name`: a `task` hook's container when it names none.
    pub container: Option<&'a str>,
    /// Whether `traffic.testListener` is set (what `${TEST_URL}` needs).
    pub test_listener: Option<bool>,
}

pub(super) fn hooks(
    reader: &mut Reader<'_>,
    node: &MarkedYaml<'_>,
    context: &Context<'_>,
) -> Option<Vec<Hook>> {
    let YamlData::Sequence(items) = &node.data else {
        reader.report(
            node,
            "hooks",
            format!(
                "expected a list of hooks ({{name, stage, http | lambda | task, timeout, onFailure}}), found {}",
                describe(node)
            ),
        );
        return None;
    };
    let mut found = Vec::new();
    let mut ok = true;
    for (index, item) in items.iter().enumerate() {
        match hook(reader, item, &format!("hooks[{index}]"), context) {
            Some(hook) => {
                if found.iter().any(|other: &Hook| other.name == hook.name) {
                    reader.report(
                        item,
                        &format!("hooks[{index}].name"),
                        format!(
                            "a hook named `{}` is listed twice; names must be unique",
                            hook.name
                        ),
                    );
                    ok = false;
                } else {
                    found.push(hook);
                }
            }
            None => ok = false,
        }
    }
    ok.then_some(found)
}

fn hook(
    reader: &mut Reader<'_>,
    node: &MarkedYaml<'_>,
    field: &str,
    context: &Context<'_>,
) -> Option<Hook> {
    let fields = reader.mapping(node, field, HOOK_FIELDS)?;
    let name = reader
        .required(&fields, "name", "a name such as smoke")
        .and_then(|node| {
            let name = reader.string(node, &fields.path("name"), "a name such as smoke")?;
            let valid = name.len() <= 64
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !valid {
                reader.report(
                    node,
                    &fields.path("name"),
                    format!("expected up to 64 letters, digits, hyphens and underscores, found \"{name}\""),
                );
                return None;
            }
            Some(name)
        });
    let stages: Vec<&str> = HookStage::ALL.iter().map(|stage| stage.name()).collect();
    let stage = reader
        .required(&fields, "stage", &stages.join(" | "))
        .and_then(|node| {
            let text = reader.string(node, &fields.path("stage"), &stages.join(" | "))?;
            let stage = HookStage::from_name(&text);
            if stage.is_none() {
                reader.report(
                    node,
                    &fields.path("stage"),
                    format!("expected one of {}, found \"{text}\"", stages.join(", ")),
                );
            }
            stage
        });
    let timeout_seconds = match fields.get("timeout") {
        Some(node) => reader
            .duration(node, &fields.path("timeout"), MAX_HOOK_TIMEOUT_SECONDS)
            .and_then(|seconds| {
                if seconds == 0 {
                    reader.report(node, &fields.path("timeout"), "must be longer than 0s");
                    None
                } else {
                    Some(seconds)
                }
            }),
        None => Some(DEFAULT_HOOK_TIMEOUT_SECONDS),
    };
    let on_failure = match fields.get("onFailure") {
        Some(node) => match reader
            .string(node, &fields.path("onFailure"), "rollback or continue")
            .as_deref()
        {
            Some("rollback") => Some(OnHookFailure::Rollback),
            Some("continue") => Some(OnHookFailure::Continue),
            Some(other) => {
                reader.report(
                    node,
                    &fields.path("onFailure"),
                    format!("expected rollback or continue, found \"{other}\""),
                );
                None
            }
            None => None,
        },
        None => Some(OnHookFailure::Rollback),
    };

    let given: Vec<&str> = KINDS
        .iter()
        .copied()
        .filter(|kind| fields.get(kind).is_some())
        .collect();
    let kind = match given.as_slice() {
        ["http"] => http(reader, fields.get("http")?, &fields.path("http"), context),
        ["lambda"] => lambda(reader, fields.get("lambda")?, &fields.path("lambda")),
        ["task"] => task(reader, fields.get("task")?, &fields.path("task"), context),
        [] => {
            reader.report(
                node,
                field,
                "expected one of http, lambda or task: what the hook checks",
            );
            None
        }
        several => {
            reader.report(
                node,
                field,
                format!(
                    "expected one of http, lambda or task, found {}: one hook checks one thing",
                    several.join(" and ")
                ),
            );
            None
        }
    };

    if let (Some(HookKind::Http(http)), Some(timeout)) = (&kind, timeout_seconds) {
        let retrying = u64::from(http.retries) * http.interval_seconds;
        if retrying >= timeout {
            let at = fields.get("http").unwrap_or(node);
            reader.report(
                at,
                &fields.path("http"),
                format!(
                    "{} retries every {} take {}, not less than the hook's timeout of {}: lower them or raise timeout",
                    http.retries,
                    crate::duration::format_duration(http.interval_seconds),
                    crate::duration::format_duration(retrying),
                    crate::duration::format_duration(timeout)
                ),
            );
            return None;
        }
    }

    Some(Hook {
        name: name?,
        stage: stage?,
        kind: kind?,
        timeout_seconds: timeout_seconds?,
        on_failure: on_failure?,
    })
}

fn http(
    reader: &mut Reader<'_>,
    node: &MarkedYaml<'_>,
    field: &str,
    context: &Context<'_>,
) -> Option<HookKind> {
    let fields = reader.mapping(
        node,
        field,
        &["url", "expectStatus", "bodyContains", "retries", "interval"],
    )?;
    let expected_url = "a URL: ${TEST_URL}/path (the test listener) or http(s)://...";
    let url = reader
        .required(&fields, "url", expected_url)
        .and_then(|node| {
            let url = reader.string(node, &fields.path("url"), expected_url)?;
            let rest = url.strip_prefix(TEST_URL);
            let problem = match rest {
                Some(path) if !(path.is_empty() || path.starts_with('/') || path.starts_with('?')) => {
                    Some(format!("expected a path after {TEST_URL} (such as {TEST_URL}/healthz), found \"{url}\""))
                }
                Some(_) if context.test_listener == Some(false) => Some(format!(
                    "{TEST_URL} is the test listener's address, but traffic.testListener is not set: set it, or use a literal URL"
                )),
                Some(_) => None,
                None if url.contains(TEST_URL) => Some(format!(
                    "{TEST_URL} may only start the URL, found \"{url}\""
                )),
                None if !(url.starts_with("http://") || url.starts_with("https://")) => {
                    Some(format!("expected {expected_url}, found \"{url}\""))
                }
                None => None,
            };
            match problem {
                Some(message) => {
                    reader.report(node, &fields.path("url"), message);
                    None
                }
                None => Some(url),
            }
        });
    let expect_status = match fields.get("expectStatus") {
        Some(node) => reader
            .integer(node, &fields.path("expectStatus"), 100..=599)
            .map(|status| status as u16),
        None => Some(200),
    };
    let body_contains = match fields.get("bodyContains") {
        Some(node) => reader
            .string(
                node,
                &fields.path("bodyContains"),
                "text the body must contain",
            )
            .map(Some),
        None => Some(None),
    };
    let retries = match fields.get("retries") {
        Some(node) => reader
            .integer(node, &fields.path("retries"), 0..=100)
            .map(|retries| retries as u32),
        None => Some(0),
    };
    let interval_seconds = match fields.get("interval") {
        Some(node) => reader
            .duration(node, &fields.path("interval"), 15 * 60)
            .and_then(|seconds| {
                if seconds == 0 {
                    reader.report(node, &fields.path("interval"), "must be at least 1s");
                    None
                } else {
                    Some(seconds)
                }
            }),
        None => Some(DEFAULT_INTERVAL_SECONDS),
    };
    Some(HookKind::Http(HttpHook {
        url: url?,
        expect_status: expect_status?,
        body_contains: body_contains?,
        retries: retries?,
        interval_seconds: interval_seconds?,
    }))
}

fn lambda(reader: &mut Reader<'_>, node: &MarkedYaml<'_>, field: &str) -> Option<HookKind> {
    let fields = reader.mapping(node, field, &["function"])?;
    let expected = "a Lambda function name or ARN";
    let function = reader
        .required(&fields, "function", expected)
        .and_then(|node| {
            let function = reader.string(node, &fields.path("function"), expected)?;
            if valid_function(&function) {
                Some(function)
            } else {
                reader.report(
                    node,
                    &fields.path("function"),
                    format!("expected {expected} (letters, digits, hyphens and underscores, up to 64; or arn:aws:lambda:...), found \"{function}\""),
                );
                None
            }
        });
    Some(HookKind::Lambda(FunctionHook {
        function: function?,
    }))
}

/// A function name (`name`, `name:alias`) or ARN, as Lambda's `Invoke` accepts it.
fn valid_function(function: &str) -> bool {
    if function.starts_with("arn:") {
        return function.split(':').nth(2) == Some("lambda") && function.contains(":function:");
    }
    let (name, qualifier) = function.split_once(':').unwrap_or((function, ""));
    let word = |text: &str| {
        !text.is_empty()
            && text.len() <= 64
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    };
    word(name) && (qualifier.is_empty() || word(qualifier))
}

fn task(
    reader: &mut Reader<'_>,
    node: &MarkedYaml<'_>,
    field: &str,
    context: &Context<'_>,
) -> Option<HookKind> {
    let fields = reader.mapping(node, field, &["taskDefinition", "container", "command"])?;
    let task_definition = match fields.get("taskDefinition") {
        Some(node) => reader
            .string(
                node,
                &fields.path("taskDefinition"),
                "a task definition: family, family:revision or ARN",
            )
            .map(Some),
        None => Some(None),
    };
    let container = match fields.get("container") {
        Some(node) => reader.string(node, &fields.path("container"), "a container name"),
        // The manifest's own container; when it is missing, that is reported there.
        None => context.container.map(str::to_string),
    };
    let command = match fields.get("command") {
        Some(node) => match &node.data {
            YamlData::Sequence(items) => {
                let mut words = Vec::new();
                for (index, item) in items.iter().enumerate() {
                    words.push(reader.string(
                        item,
                        &format!("{}[{index}]", fields.path("command")),
                        "a word of the command",
                    ));
                }
                words.into_iter().collect::<Option<Vec<_>>>()
            }
            _ => {
                reader.report(
                    node,
                    &fields.path("command"),
                    format!(
                        "expected a list of words such as [\"npm\", \"run\", \"smoke\"], found {}",
                        describe(node)
                    ),
                );
                None
            }
        },
        None => Some(Vec::new()),
    };
    Some(HookKind::Task(TaskHook {
        task_definition: task_definition?,
        container: container?,
        command: command?,
    }))
}
