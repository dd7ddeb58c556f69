//! A typed walk over a YAML tree that keeps positions and collects every problem.

use saphyr::{MarkedYaml, Scalar, YamlData};

use super::problem::Problem;
use crate::duration::{MAX_SECONDS, parse_duration};

/// Collects problems for one file.
pub(crate) struct Reader<'f> {
    pub file: &'f str,
    pub problems: Vec<Problem>,
}

/// A mapping whose keys have been checked against the allowed ones.
pub(crate) struct Fields<'n, 'i> {
    pub node: &'n MarkedYaml<'i>,
    pub field: String,
    entries: Vec<(String, &'n MarkedYaml<'i>, &'n MarkedYaml<'i>)>,
}

impl<'n, 'i> Fields<'n, 'i> {
    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&'n MarkedYaml<'i>> {
        self.entries
            .iter()
            .find(|(name, _, _)| name == key)
            .map(|(_, _, value)| *value)
    }

    /// The key node of `key` (for problems about the key itself).
    pub fn key_node(&self, key: &str) -> Option<&'n MarkedYaml<'i>> {
        self.entries
            .iter()
            .find(|(name, _, _)| name == key)
            .map(|(_, key, _)| *key)
    }

    /// Present keys, in file order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(name, _, _)| name.as_str())
    }

    /// `parent.key`.
    pub fn path(&self, key: &str) -> String {
        join(&self.field, key)
    }
}

pub(crate) fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// How a value reads in "found ..." messages.
pub(crate) fn describe(node: &MarkedYaml<'_>) -> String {
    match &node.data {
        YamlData::Value(Scalar::Null) => "nothing (null)".into(),
        YamlData::Value(Scalar::Boolean(value)) => format!("`{value}`"),
        YamlData::Value(Scalar::Integer(value)) => format!("{value}"),
        YamlData::Value(Scalar::FloatingPoint(value)) => format!("{value}"),
        YamlData::Value(Scalar::String(value)) => format!("\"{}\"", shorten(value)),
        YamlData::Representation(value, _, _) => format!("\"{}\"", shorten(value)),
        YamlData::Sequence(_) => "a list".into(),
        YamlData::Mapping(_) => "a mapping".into(),
        YamlData::Tagged(tag, _) => format!("a value tagged {tag}"),
        YamlData::Alias(_) | YamlData::BadValue => "an unreadable value".into(),
    }
}

fn shorten(text: &str) -> String {
    const LIMIT: usize = 60;
    if text.chars().count() > LIMIT {
        let cut: String = text.chars().take(LIMIT).collect();
        format!("{cut}...")
    } else {
        text.to_string()
    }
}

fn scalar_text<'n>(node: &'n MarkedYaml<'_>) -> Option<&'n str> {
    match &node.data {
        YamlData::Value(Scalar::String(text)) => Some(text),
        YamlData::Representation(text, _, _) => Some(text),
        _ => None,
    }
}

impl<'f> Reader<'f> {
    pub fn new(file: &'f str) -> Self {
        Self {
            file,
            problems: Vec::new(),
        }
    }

    /// Records a problem at `node`'s position.
    pub fn report(&mut self, node: &MarkedYaml<'_>, field: &str, message: impl Into<String>) {
        self.report_at(
            node.span.start.line(),
            node.span.start.col() + 1,
            field,
            message,
        );
    }

    pub fn report_at(
        &mut self,
        line: usize,
        column: usize,
        field: &str,
        message: impl Into<String>,
    ) {
        self.problems.push(Problem {
            file: self.file.to_string(),
            line: line.max(1),
            column: column.max(1),
            field: field.to_string(),
            message: message.into(),
        });
    }

    /// Checks `node` is a mapping with string keys among `allowed`; reports the others.
    pub fn mapping<'n, 'i>(
        &mut self,
        node: &'n MarkedYaml<'i>,
        field: &str,
        allowed: &[&str],
    ) -> Option<Fields<'n, 'i>> {
        let YamlData::Mapping(map) = &node.data else {
            self.report(
                node,
                field_or_root(field),
                format!(
                    "expected a mapping of {}, found {}",
                    allowed.join(", "),
                    describe(node)
                ),
            );
            return None;
        };
        let mut entries = Vec::new();
        for (key, value) in map {
            let Some(name) = scalar_text(key) else {
                self.report(
                    key,
                    field_or_root(field),
                    format!("expected a field name, found {}", describe(key)),
                );
                continue;
            };
            if !allowed.contains(&name) {
                let message = match suggestion(name, allowed) {
                    Some(close) => format!("unknown field `{name}`, did you mean `{close}`?"),
                    None => format!(
                        "unknown field `{name}`, expected one of: {}",
                        allowed.join(", ")
                    ),
                };
                self.report(key, &join(field, name), message);
                continue;
            }
            entries.push((name.to_string(), key, value));
        }
        Some(Fields {
            node,
            field: field.to_string(),
            entries,
        })
    }

    /// The value of a required key, reporting its absence at the mapping.
    pub fn required<'n, 'i>(
        &mut self,
        fields: &Fields<'n, 'i>,
        key: &str,
        expected: &str,
    ) -> Option<&'n MarkedYaml<'i>> {
        let found = fields.get(key);
        if found.is_none() {
            self.report(
                fields.node,
                &fields.path(key),
                format!("required field is missing, expected {expected}"),
            );
        }
        found
    }

    pub fn string(&mut self, node: &MarkedYaml<'_>, field: &str, expected: &str) -> Option<String> {
        match scalar_text(node) {
            Some(text) if !text.trim().is_empty() => Some(text.to_string()),
            Some(_) => {
                self.report(
                    node,
                    field,
                    format!("expected {expected}, found an empty string"),
                );
                None
            }
            None => {
                self.report(
                    node,
                    field,
                    format!("expected {expected}, found {}", describe(node)),
                );
                None
            }
        }
    }

    pub fn integer(
        &mut self,
        node: &MarkedYaml<'_>,
        field: &str,
        range: std::ops::RangeInclusive<i64>,
    ) -> Option<i64> {
        match &node.data {
            YamlData::Value(Scalar::Integer(value)) if range.contains(value) => Some(*value),
            YamlData::Value(Scalar::Integer(value)) => {
                self.report(
                    node,
                    field,
                    format!(
                        "must be between {} and {}, found {value}",
                        range.start(),
                        range.end()
                    ),
                );
                None
            }
            _ => {
                self.report(
                    node,
                    field,
                    format!(
                        "expected a whole number between {} and {}, found {}",
                        range.start(),
                        range.end(),
                        describe(node)
                    ),
                );
                None
            }
        }
    }

    pub fn boolean(&mut self, node: &MarkedYaml<'_>, field: &str) -> Option<bool> {
        if let YamlData::Value(Scalar::Boolean(value)) = &node.data {
            return Some(*value);
        }
        self.report(
            node,
            field,
            format!("expected true or false, found {}", describe(node)),
        );
        None
    }

    /// A duration such as `90s`, `5m` or `1h30m`, within `max` seconds.
    pub fn duration(&mut self, node: &MarkedYaml<'_>, field: &str, max: u64) -> Option<u64> {
        let max = max.min(MAX_SECONDS);
        let seconds = match &node.data {
            YamlData::Value(Scalar::Integer(value)) => {
                self.report(
                    node,
                    field,
                    format!("expected a duration like 90s, 5m or 1h30m, found the bare number {value} (add a unit: {value}s or {value}m)"),
                );
                return None;
            }
            _ => match scalar_text(node) {
                Some(text) => match parse_duration(text) {
                    Ok(seconds) => seconds,
                    Err(message) => {
                        self.report(node, field, message);
                        return None;
                    }
                },
                None => {
                    self.report(
                        node,
                        field,
                        format!(
                            "expected a duration like 90s, 5m or 1h30m, found {}",
                            describe(node)
                        ),
                    );
                    return None;
                }
            },
        };
        if seconds > max {
            self.report(
                node,
                field,
                format!(
                    "must be at most {}, found {}",
                    crate::duration::format_duration(max),
                    scalar_text(node).unwrap_or_default()
                ),
            );
            return None;
        }
        Some(seconds)
    }

    /// A list of non-empty strings, each checked by `check` (which returns a problem message).
    pub fn string_list(
        &mut self,
        node: &MarkedYaml<'_>,
        field: &str,
        expected: &str,
        check: impl Fn(&str) -> Option<String>,
    ) -> Option<Vec<String>> {
        let YamlData::Sequence(items) = &node.data else {
            self.report(
                node,
                field,
                format!("expected a list of {expected}, found {}", describe(node)),
            );
            return None;
        };
        let mut values: Vec<String> = Vec::new();
        let mut ok = true;
        for (index, item) in items.iter().enumerate() {
            let item_field = format!("{field}[{index}]");
            match self.string(item, &item_field, expected) {
                Some(value) => {
                    if let Some(message) = check(&value) {
                        self.report(item, &item_field, message);
                        ok = false;
                    } else if values.contains(&value) {
                        self.report(item, &item_field, format!("`{value}` is listed twice"));
                        ok = false;
                    } else {
                        values.push(value);
                    }
                }
                None => ok = false,
            }
        }
        ok.then_some(values)
    }
}

fn field_or_root(field: &str) -> &str {
    if field.is_empty() {
        "(document)"
    } else {
        field
    }
}

/// The allowed name closest to a misspelt one, if it is close enough to be a typo.
pub(crate) fn suggestion<'a>(name: &str, allowed: &[&'a str]) -> Option<&'a str> {
    let lowered = name.to_ascii_lowercase();
    allowed
        .iter()
        .map(|candidate| {
            let distance = strsim::damerau_levenshtein(&lowered, &candidate.to_ascii_lowercase());
            (distance, *candidate)
        })
        .filter(|(distance, candidate)| *distance <= 2.max(candidate.len() / 4))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}
