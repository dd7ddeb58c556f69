//! Payload templates: `Parameters`, `ResultSelector` and `ItemSelector`. Keys ending in `.$`
//! take their value from a path (`$.x`), the context object (`$$.Execution.Id`) or an intrinsic
//! function; every other value is copied as written, recursively through objects and arrays.

use serde_json::{Map, Value};

use crate::error::AslError;
use crate::intrinsics::{self, Call};
use crate::path::Path;

#[derive(Debug, Clone, PartialEq)]
pub enum Template {
    Object(Vec<(String, Template)>),
    Array(Vec<Template>),
    Literal(Value),
    Path(Path),
    Intrinsic(Call),
}

/// A path or intrinsic-function reference found in a template, for load-time checks.
pub enum Reference<'a> {
    Path(&'a Path),
    Intrinsic(&'a Call),
}

impl Template {
    /// Compile a template. Errors name the offending key (the caller adds state and field).
    pub fn compile(value: &Value) -> Result<Self, String> {
        Self::compile_at(value, "")
    }

    fn compile_at(value: &Value, at: &str) -> Result<Self, String> {
        match value {
            Value::Object(map) => {
                let mut fields = Vec::with_capacity(map.len());
                for (key, child) in map {
                    let here = format!("{at}/{key}");
                    if let Some(name) = key.strip_suffix(".$") {
                        if map.contains_key(name) {
                            return Err(format!("{here}: both {name:?} and {key:?} are present"));
                        }
                        let Value::String(text) = child else {
                            return Err(format!(
                                "{here}: a key ending in `.$` needs a string value (a path or an intrinsic function)"
                            ));
                        };
                        fields.push((
                            name.to_string(),
                            Self::dynamic(text).map_err(|e| format!("{here}: {e}"))?,
                        ));
                    } else {
                        fields.push((key.clone(), Self::compile_at(child, &here)?));
                    }
                }
                Ok(Self::Object(fields))
            }
            Value::Array(items) => Ok(Self::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| Self::compile_at(item, &format!("{at}/{i}")))
                    .collect::<Result<_, _>>()?,
            )),
            other => Ok(Self::Literal(other.clone())),
        }
    }

    fn dynamic(text: &str) -> Result<Self, String> {
        if text.starts_with('$') {
            Path::parse(text).map(Self::Path)
        } else if text.starts_with("States.") {
            intrinsics::parse(text).map(Self::Intrinsic)
        } else {
            Err(format!(
                "{text:?} is neither a path (`$...`, `$$...`) nor an intrinsic function (`States.…`)"
            ))
        }
    }

    /// Every path and intrinsic call in the template.
    pub fn references(&self) -> Vec<Reference<'_>> {
        let mut out = Vec::new();
        self.collect(&mut out);
        out
    }

    fn collect<'a>(&'a self, out: &mut Vec<Reference<'a>>) {
        match self {
            Self::Object(fields) => fields.iter().for_each(|(_, t)| t.collect(out)),
            Self::Array(items) => items.iter().for_each(|t| t.collect(out)),
            Self::Literal(_) => {}
            Self::Path(p) => out.push(Reference::Path(p)),
            Self::Intrinsic(c) => out.push(Reference::Intrinsic(c)),
        }
    }

    /// Every path, including those inside intrinsic calls.
    pub fn all_paths(&self) -> Vec<&Path> {
        self.references()
            .into_iter()
            .flat_map(|r| match r {
                Reference::Path(p) => vec![p],
                Reference::Intrinsic(c) => c.paths(),
            })
            .collect()
    }

    /// Build the payload. A path that matches nothing fails with `States.Runtime`, like AWS.
    pub fn evaluate(&self, input: &Value, context: &Value) -> Result<Value, AslError> {
        self.evaluate_at(input, context, "")
    }

    fn evaluate_at(&self, input: &Value, context: &Value, at: &str) -> Result<Value, AslError> {
        match self {
            Self::Object(fields) => {
                let mut out = Map::new();
                for (key, template) in fields {
                    let value = match template {
                        Self::Path(path) => path.select(input, context).cloned().ok_or_else(|| {
                            AslError::runtime(format!(
                                "The JSONPath '{path}' specified for the field '{key}.$' could not be found in the input '{input}'"
                            ))
                        })?,
                        Self::Intrinsic(call) => call.eval(input, context)?,
                        other => other.evaluate_at(input, context, &format!("{at}/{key}"))?,
                    };
                    out.insert(key.clone(), value);
                }
                Ok(Value::Object(out))
            }
            Self::Array(items) => Ok(Value::Array(
                items
                    .iter()
                    .map(|t| t.evaluate_at(input, context, at))
                    .collect::<Result<_, _>>()?,
            )),
            Self::Literal(value) => Ok(value.clone()),
            // Only reachable for a top-level dynamic value, which compile() never produces.
            Self::Path(path) => path.select(input, context).cloned().ok_or_else(|| {
                AslError::runtime(format!(
                    "The JSONPath '{path}' could not be found in the input"
                ))
            }),
            Self::Intrinsic(call) => call.eval(input, context),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dollar_keys_are_resolved_and_other_values_copied() {
        let template = Template::compile(&json!({
            "flagged": true,
            "parts": {"first.$": "$.vals[0]", "last3.$": "$.vals[-1]"},
            "list": [{"id.$": "$$.Execution.Id"}, 1],
            "greeting.$": "States.Format('hi {}', $.name)"
        }))
        .unwrap();
        let out = template
            .evaluate(
                &json!({"vals": [0, 10, 20], "name": "ferry"}),
                &json!({"Execution": {"Id": "arn:x"}}),
            )
            .unwrap();
        assert_eq!(
            out,
            json!({
                "flagged": true,
                "parts": {"first": 0, "last3": 20},
                "list": [{"id": "arn:x"}, 1],
                "greeting": "hi ferry"
            })
        );
    }

    #[test]
    fn a_missing_path_is_a_runtime_error_naming_the_field() {
        let template = Template::compile(&json!({"x.$": "$.nope"})).unwrap();
        let err = template.evaluate(&json!({}), &json!({})).unwrap_err();
        assert_eq!(err.error.as_deref(), Some("States.Runtime"));
        assert!(err.cause.unwrap().contains("'x.$'"));
    }

    #[test]
    fn malformed_dynamic_values_are_refused() {
        assert!(Template::compile(&json!({"x.$": 1})).is_err());
        assert!(Template::compile(&json!({"x.$": "plain"})).is_err());
        assert!(Template::compile(&json!({"x.$": "$..a"})).is_err());
        assert!(Template::compile(&json!({"x": 1, "x.$": "$"})).is_err());
    }
}
