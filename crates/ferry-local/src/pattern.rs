//! EventBridge event patterns, matched locally with the very files Terraform gives EventBridge
//! (`infra/terraform/rules/*.json`), so that the local runtime routes events as AWS would.
//!
//! Supported, as AWS documents them ("Creating event patterns", "Comparison operators"):
//!
//! | in the pattern | matches a field whose value |
//! | --- | --- |
//! | `["a", 1, true, null]` | equals one of them (numbers compare as numbers) |
//! | `[{"prefix": "a"}]`, `[{"suffix": "a"}]` | is a string starting / ending with it; either may be `{"equals-ignore-case": "a"}` |
//! | `[{"equals-ignore-case": "a"}]` | is that string in any case |
//! | `[{"wildcard": "a*b"}]` | matches, `*` standing for any characters (`\*` for a star) |
//! | `[{"anything-but": x}]` | exists and is none of `x`: a value, a list of values, or `{"prefix"}`, `{"suffix"}`, `{"equals-ignore-case"}`, `{"wildcard"}` |
//! | `[{"numeric": [">", 0, "<=", 5]}]` | is a number within all the bounds (`<`, `<=`, `=`, `>=`, `>`) |
//! | `[{"exists": true}]` / `[{"exists": false}]` | is present / absent |
//! | `{"$or": [pattern, ...]}` | at least one of the patterns matches |
//!
//! A nested object in the pattern matches the nested object of the event. When the event's
//! value is an array, the field matches when one of its elements does (for nested objects:
//! one of the objects). Every key of a pattern must match. Anything else (`cidr`, an empty
//! array, a value that is neither an object nor an array) is refused when the pattern is
//! parsed, loudly, instead of silently matching differently from AWS.

use serde_json::Value;

/// A pattern that EventBridge would refuse, or that this matcher does not implement.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event pattern {path}: {problem}")]
pub struct PatternError {
    pub path: String,
    pub problem: String,
}

fn refuse(path: &str, problem: impl Into<String>) -> PatternError {
    PatternError {
        path: if path.is_empty() {
            "(top level)".into()
        } else {
            path.to_string()
        },
        problem: problem.into(),
    }
}

/// A parsed event pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct EventPattern {
    fields: Vec<(String, Node)>,
    any_of: Vec<Vec<EventPattern>>,
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Nested(EventPattern),
    OneOf(Vec<Matcher>),
}

#[derive(Debug, Clone, PartialEq)]
enum Text {
    Exact(String),
    IgnoreCase(String),
}

#[derive(Debug, Clone, PartialEq)]
enum Matcher {
    Value(Value),
    Prefix(Text),
    Suffix(Text),
    EqualsIgnoreCase(String),
    Wildcard(String),
    AnythingBut(Vec<Matcher>),
    Numeric(Vec<(Comparison, f64)>),
    Exists(bool),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Comparison {
    Less,
    LessOrEqual,
    Equal,
    GreaterOrEqual,
    Greater,
}

impl EventPattern {
    /// Parses a pattern file's text.
    pub fn parse(text: &str) -> Result<EventPattern, PatternError> {
        let value: Value =
            serde_json::from_str(text).map_err(|error| refuse("", format!("not JSON: {error}")))?;
        EventPattern::from_value(&value)
    }

    pub fn from_value(value: &Value) -> Result<EventPattern, PatternError> {
        parse_object(value, "")
    }

    /// Whether `event` (the whole event: `source`, `detail-type`, `detail`, ...) matches.
    pub fn matches(&self, event: &Value) -> bool {
        let Some(object) = event.as_object() else {
            return false;
        };
        self.fields.iter().all(|(key, node)| {
            let value = object.get(key);
            match node {
                Node::Nested(pattern) => match value {
                    Some(Value::Array(items)) => items.iter().any(|item| pattern.matches(item)),
                    Some(inner) => pattern.matches(inner),
                    None => pattern.matches_absent(),
                },
                Node::OneOf(matchers) => matchers.iter().any(|matcher| match value {
                    None => matcher.matches_absent(),
                    Some(Value::Array(items)) => {
                        items.iter().any(|item| matcher.matches_value(item))
                    }
                    Some(value) => matcher.matches_value(value),
                }),
            }
        }) && self
            .any_of
            .iter()
            .all(|alternatives| alternatives.iter().any(|pattern| pattern.matches(event)))
    }

    /// A nested pattern against a missing object: only `exists: false` everywhere matches.
    fn matches_absent(&self) -> bool {
        self.fields.iter().all(|(_, node)| match node {
            Node::Nested(pattern) => pattern.matches_absent(),
            Node::OneOf(matchers) => matchers.iter().any(Matcher::matches_absent),
        }) && self
            .any_of
            .iter()
            .all(|alternatives| alternatives.iter().any(EventPattern::matches_absent))
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn parse_object(value: &Value, path: &str) -> Result<EventPattern, PatternError> {
    let object = value
        .as_object()
        .ok_or_else(|| refuse(path, "must be a JSON object"))?;
    let mut pattern = EventPattern {
        fields: Vec::new(),
        any_of: Vec::new(),
    };
    for (key, value) in object {
        let here = join(path, key);
        if key == "$or" {
            let alternatives = value
                .as_array()
                .filter(|items| items.len() >= 2)
                .ok_or_else(|| refuse(&here, "$or takes an array of at least two patterns"))?;
            pattern.any_of.push(
                alternatives
                    .iter()
                    .map(|alternative| parse_object(alternative, &here))
                    .collect::<Result<_, _>>()?,
            );
            continue;
        }
        let node = match value {
            Value::Object(_) => Node::Nested(parse_object(value, &here)?),
            Value::Array(items) if items.is_empty() => {
                return Err(refuse(&here, "empty arrays are not allowed"));
            }
            Value::Array(items) => Node::OneOf(
                items
                    .iter()
                    .map(|item| parse_matcher(item, &here))
                    .collect::<Result<_, _>>()?,
            ),
            _ => return Err(refuse(&here, "must be an object or an array")),
        };
        pattern.fields.push((key.clone(), node));
    }
    Ok(pattern)
}

fn text_operand(value: &Value, path: &str, operator: &str) -> Result<Text, PatternError> {
    match value {
        Value::String(text) => Ok(Text::Exact(text.clone())),
        Value::Object(inner) if inner.len() == 1 => match inner.get("equals-ignore-case") {
            Some(Value::String(text)) => Ok(Text::IgnoreCase(text.clone())),
            _ => Err(refuse(
                path,
                format!("{operator} takes a string or {{\"equals-ignore-case\": string}}"),
            )),
        },
        _ => Err(refuse(
            path,
            format!("{operator} takes a string or {{\"equals-ignore-case\": string}}"),
        )),
    }
}

fn string_operand(value: &Value, path: &str, operator: &str) -> Result<String, PatternError> {
    value
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| refuse(path, format!("{operator} takes a string")))
}

fn parse_matcher(item: &Value, path: &str) -> Result<Matcher, PatternError> {
    let Value::Object(object) = item else {
        return Ok(Matcher::Value(item.clone()));
    };
    if object.len() != 1 {
        return Err(refuse(path, "a comparison object has exactly one operator"));
    }
    let (operator, operand) = object.iter().next().expect("one entry");
    Ok(match operator.as_str() {
        "prefix" => Matcher::Prefix(text_operand(operand, path, "prefix")?),
        "suffix" => Matcher::Suffix(text_operand(operand, path, "suffix")?),
        "equals-ignore-case" => {
            Matcher::EqualsIgnoreCase(string_operand(operand, path, "equals-ignore-case")?)
        }
        "wildcard" => Matcher::Wildcard(string_operand(operand, path, "wildcard")?),
        "exists" => Matcher::Exists(
            operand
                .as_bool()
                .ok_or_else(|| refuse(path, "exists takes true or false"))?,
        ),
        "numeric" => Matcher::Numeric(parse_numeric(operand, path)?),
        "anything-but" => Matcher::AnythingBut(match operand {
            Value::Array(values) if values.is_empty() => {
                return Err(refuse(path, "anything-but takes a non-empty list"));
            }
            Value::Array(values) => values
                .iter()
                .map(|value| match value {
                    Value::String(_) | Value::Number(_) => Ok(Matcher::Value(value.clone())),
                    _ => Err(refuse(path, "anything-but lists strings or numbers")),
                })
                .collect::<Result<_, _>>()?,
            Value::String(_) | Value::Number(_) => vec![Matcher::Value(operand.clone())],
            Value::Object(inner) if inner.len() == 1 => {
                let (name, value) = inner.iter().next().expect("one entry");
                let strings = |value: &Value| -> Result<Vec<String>, PatternError> {
                    match value {
                        Value::String(text) => Ok(vec![text.clone()]),
                        Value::Array(items) if !items.is_empty() => items
                            .iter()
                            .map(|item| string_operand(item, path, name))
                            .collect(),
                        _ => Err(refuse(path, format!("anything-but {name} takes strings"))),
                    }
                };
                match name.as_str() {
                    "prefix" => vec![Matcher::Prefix(Text::Exact(string_operand(
                        value, path, "prefix",
                    )?))],
                    "suffix" => vec![Matcher::Suffix(Text::Exact(string_operand(
                        value, path, "suffix",
                    )?))],
                    "equals-ignore-case" => strings(value)?
                        .into_iter()
                        .map(Matcher::EqualsIgnoreCase)
                        .collect(),
                    "wildcard" => strings(value)?.into_iter().map(Matcher::Wildcard).collect(),
                    other => {
                        return Err(refuse(path, format!("anything-but does not take {other}")));
                    }
                }
            }
            _ => {
                return Err(refuse(
                    path,
                    "anything-but takes a value, a list or one operator",
                ));
            }
        }),
        other => {
            return Err(refuse(
                path,
                format!("operator {other} is not supported by Ferry's local matcher"),
            ));
        }
    })
}

fn parse_numeric(operand: &Value, path: &str) -> Result<Vec<(Comparison, f64)>, PatternError> {
    let items = operand
        .as_array()
        .filter(|items| !items.is_empty() && items.len() % 2 == 0 && items.len() <= 4)
        .ok_or_else(|| {
            refuse(
                path,
                "numeric takes [op, number] or [op, number, op, number]",
            )
        })?;
    items
        .chunks(2)
        .map(|pair| {
            let comparison = match pair[0].as_str() {
                Some("<") => Comparison::Less,
                Some("<=") => Comparison::LessOrEqual,
                Some("=") => Comparison::Equal,
                Some(">=") => Comparison::GreaterOrEqual,
                Some(">") => Comparison::Greater,
                _ => return Err(refuse(path, "numeric operators are <, <=, =, >=, >")),
            };
            let bound = pair[1]
                .as_f64()
                .ok_or_else(|| refuse(path, "numeric bounds are numbers"))?;
            Ok((comparison, bound))
        })
        .collect()
}

fn wildcard_matches(pattern: &str, text: &str) -> bool {
    // Tokens: literal characters and `*`; `\*` is a literal star.
    let mut tokens: Vec<Option<char>> = Vec::new();
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if matches!(chars.peek(), Some('*') | Some('\\')) => {
                tokens.push(chars.next());
            }
            '*' => tokens.push(None),
            other => tokens.push(Some(other)),
        }
    }
    let text: Vec<char> = text.chars().collect();
    // Classic two-pointer glob matching with backtracking to the last star.
    let (mut t, mut p) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match tokens.get(p) {
            Some(Some(c)) if *c == text[t] => {
                t += 1;
                p += 1;
            }
            Some(None) => {
                star = Some((p, t));
                p += 1;
            }
            _ => match star {
                Some((star_p, star_t)) => {
                    p = star_p + 1;
                    t = star_t + 1;
                    star = Some((star_p, star_t + 1));
                }
                None => return false,
            },
        }
    }
    tokens[p..].iter().all(Option::is_none)
}

impl Text {
    fn test(&self, value: &str, test: impl Fn(&str, &str) -> bool) -> bool {
        match self {
            Text::Exact(text) => test(value, text),
            Text::IgnoreCase(text) => test(&value.to_lowercase(), &text.to_lowercase()),
        }
    }
}

impl Matcher {
    fn matches_absent(&self) -> bool {
        matches!(self, Matcher::Exists(false))
    }

    fn matches_value(&self, value: &Value) -> bool {
        match self {
            Matcher::Value(expected) => match (expected, value) {
                (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
                (a, b) => a == b,
            },
            Matcher::Prefix(text) => value
                .as_str()
                .is_some_and(|value| text.test(value, |v, t| v.starts_with(t))),
            Matcher::Suffix(text) => value
                .as_str()
                .is_some_and(|value| text.test(value, |v, t| v.ends_with(t))),
            Matcher::EqualsIgnoreCase(text) => value
                .as_str()
                .is_some_and(|value| value.to_lowercase() == text.to_lowercase()),
            Matcher::Wildcard(pattern) => value
                .as_str()
                .is_some_and(|value| wildcard_matches(pattern, value)),
            Matcher::AnythingBut(excluded) => {
                !excluded.iter().any(|matcher| matcher.matches_value(value))
            }
            Matcher::Numeric(bounds) => value.as_f64().is_some_and(|number| {
                bounds.iter().all(|(comparison, bound)| match comparison {
                    Comparison::Less => number < *bound,
                    Comparison::LessOrEqual => number <= *bound,
                    Comparison::Equal => number == *bound,
                    Comparison::GreaterOrEqual => number >= *bound,
                    Comparison::Greater => number > *bound,
                })
            }),
            Matcher::Exists(exists) => *exists,
        }
    }
}

/// The rule files Terraform reads with `file()`, embedded at build time.
pub struct RuleFiles;

impl RuleFiles {
    pub const ALARM_STATE_CHANGE: &'static str =
        include_str!("../../../infra/terraform/rules/alarm-state-change.json");
    pub const GITHUB_PUSH: &'static str =
        include_str!("../../../infra/terraform/rules/github-push.json");
    pub const GITHUB_PULL_REQUEST: &'static str =
        include_str!("../../../infra/terraform/rules/github-pull-request.json");
    /// Terraform adds the deploy state machine's ARN; locally `ferry serve` reconciles on a
    /// timer instead ([`crate::LocalRuntime::converge`]).
    pub const DEPLOY_ENDED: &'static str =
        include_str!("../../../infra/terraform/rules/deploy-ended.json");

    /// `(file name, text)` of every rule file.
    pub const ALL: &'static [(&'static str, &'static str)] = &[
        ("alarm-state-change.json", Self::ALARM_STATE_CHANGE),
        ("github-push.json", Self::GITHUB_PUSH),
        ("github-pull-request.json", Self::GITHUB_PULL_REQUEST),
        ("deploy-ended.json", Self::DEPLOY_ENDED),
    ];
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pattern(value: Value) -> EventPattern {
        EventPattern::from_value(&value).unwrap()
    }

    fn push(detail: Value) -> Value {
        json!({"source": "ferry.github", "detail-type": "push", "detail": detail})
    }

    #[test]
    fn every_rule_file_parses() {
        for (name, text) in RuleFiles::ALL {
            EventPattern::parse(text).unwrap_or_else(|error| panic!("{name}: {error}"));
        }
    }

    #[test]
    fn exact_values_match_any_listed_value_and_numbers_as_numbers() {
        let p = pattern(json!({"detail": {"number": [42, 43], "action": ["opened"]}}));
        assert!(p.matches(&push(json!({"number": 42.0, "action": "opened"}))));
        assert!(!p.matches(&push(json!({"number": 44, "action": "opened"}))));
        assert!(!p.matches(&push(json!({"number": 42}))));
    }

    #[test]
    fn an_array_in_the_event_matches_when_one_element_does() {
        let p = pattern(json!({"detail": {"changedPaths": [{"prefix": ".ferry/"}]}}));
        assert!(p.matches(&push(
            json!({"changedPaths": ["README.md", ".ferry/web.yaml"]})
        )));
        assert!(!p.matches(&push(json!({"changedPaths": ["README.md"]}))));
        assert!(!p.matches(&push(json!({"changedPaths": []}))));
    }

    #[test]
    fn prefix_suffix_and_case_insensitive_variants() {
        let p = pattern(json!({"detail": {"ref": [{"prefix": "refs/heads/"}],
            "branch": [{"suffix": {"equals-ignore-case": "-HOTFIX"}}],
            "repository": [{"equals-ignore-case": "ACME/Shop"}]}}));
        assert!(p.matches(&push(
            json!({"ref": "refs/heads/x-hotfix", "branch": "x-hotfix", "repository": "acme/shop"})
        )));
        assert!(!p.matches(&push(
            json!({"ref": "refs/tags/v1", "branch": "x-hotfix", "repository": "acme/shop"})
        )));
    }

    #[test]
    fn anything_but_needs_the_field_and_excludes_values_or_prefixes() {
        let p = pattern(json!({"detail": {"branch": [{"anything-but": ["main", "dev"]}]}}));
        assert!(p.matches(&push(json!({"branch": "feature"}))));
        assert!(!p.matches(&push(json!({"branch": "main"}))));
        assert!(!p.matches(&push(json!({}))));
        let p = pattern(json!({"detail": {"ref": [{"anything-but": {"prefix": "refs/tags/"}}]}}));
        assert!(p.matches(&push(json!({"ref": "refs/heads/main"}))));
        assert!(!p.matches(&push(json!({"ref": "refs/tags/v1"}))));
    }

    #[test]
    fn exists_tests_presence_and_numeric_tests_ranges() {
        let p = pattern(json!({"detail": {"payload": [{"exists": false}],
            "number": [{"numeric": [">", 0, "<=", 100]}]}}));
        assert!(p.matches(&push(json!({"number": 42}))));
        assert!(!p.matches(&push(json!({"number": 42, "payload": "s3://b/k"}))));
        assert!(!p.matches(&push(json!({"number": 420}))));
        assert!(!p.matches(&push(json!({"number": "42"}))));
    }

    #[test]
    fn wildcards_match_any_characters_where_the_star_is() {
        assert!(wildcard_matches("release/*", "release/2026-11"));
        assert!(wildcard_matches("*.json", "ecs/web.json"));
        assert!(wildcard_matches("a*b*c", "a-b-b-c"));
        assert!(!wildcard_matches("a*b*c", "a-b-b-d"));
        assert!(wildcard_matches("lit\\*eral", "lit*eral"));
        assert!(!wildcard_matches("lit\\*eral", "litXeral"));
    }

    #[test]
    fn or_matches_when_one_alternative_does() {
        let p = pattern(json!({"source": ["ferry.github"], "$or": [
            {"detail-type": ["push"]},
            {"detail": {"action": ["opened"]}}
        ]}));
        assert!(p.matches(&push(json!({}))));
        assert!(p.matches(&json!({"source": "ferry.github", "detail-type": "pull_request", "detail": {"action": "opened"}})));
        assert!(!p.matches(&json!({"source": "ferry.github", "detail-type": "pull_request", "detail": {"action": "closed"}})));
    }

    #[test]
    fn patterns_eventbridge_would_refuse_are_refused_loudly() {
        for bad in [
            json!({"source": "ferry.github"}),
            json!({"source": []}),
            json!({"detail": {"ip": [{"cidr": "10.0.0.0/24"}]}}),
            json!({"detail": {"n": [{"numeric": ["~", 1]}]}}),
            json!({"$or": [{"source": ["a"]}]}),
            json!(["not an object"]),
        ] {
            assert!(EventPattern::from_value(&bad).is_err(), "{bad}");
        }
    }
}
