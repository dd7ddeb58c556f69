//! `${name}` placeholders, bound the way Terraform's `templatefile` binds them.
//!
//! Supported: `${name}` (whitespace inside the braces allowed), `$${` for a literal `${`,
//! `%%{` for a literal `%{`. Refused: any other expression (`${var.x}`, `${f(x)}`) and
//! `%{...}` directives, which the state machine files have no use for.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::EngineError;

enum Piece<'a> {
    Text(&'a str),
    Placeholder(&'a str),
}

fn scan(template: &str) -> Result<Vec<Piece<'_>>, EngineError> {
    let bytes = template.as_bytes();
    let mut pieces = Vec::new();
    let mut text_start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let rest = &bytes[i..];
        if rest.starts_with(b"$${") || rest.starts_with(b"%%{") {
            pieces.push(Piece::Text(&template[text_start..i + 1]));
            // Skip the doubled sigil; the `{` starts the next text run.
            i += 2;
            text_start = i;
        } else if rest.starts_with(b"%{") {
            return Err(EngineError::UnsupportedTemplate {
                offset: i,
                message: "template directives `%{...}` are not supported".into(),
            });
        } else if rest.starts_with(b"${") {
            let close =
                template[i..]
                    .find('}')
                    .ok_or_else(|| EngineError::UnsupportedTemplate {
                        offset: i,
                        message: "unterminated `${`".into(),
                    })?;
            let inner = template[i + 2..i + close].trim();
            if !is_identifier(inner) {
                return Err(EngineError::UnsupportedTemplate {
                    offset: i,
                    message: format!("`${{{inner}}}` is not a plain variable name"),
                });
            }
            pieces.push(Piece::Text(&template[text_start..i]));
            pieces.push(Piece::Placeholder(inner));
            i += close + 1;
            text_start = i;
        } else {
            i += 1;
        }
    }
    pieces.push(Piece::Text(&template[text_start..]));
    Ok(pieces)
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Replace every `${name}` with its binding. An unbound placeholder is an error naming it,
/// as with `templatefile`. Bindings that the template does not use are ignored.
pub fn bind_placeholders(
    template: &str,
    bindings: &BTreeMap<String, String>,
) -> Result<String, EngineError> {
    let mut out = String::with_capacity(template.len());
    for piece in scan(template)? {
        match piece {
            Piece::Text(text) => out.push_str(text),
            Piece::Placeholder(name) => match bindings.get(name) {
                Some(value) => out.push_str(value),
                None => {
                    return Err(EngineError::UnboundPlaceholder { name: name.into() });
                }
            },
        }
    }
    Ok(out)
}

/// The names of every `${name}` placeholder in a template (empty when the template is malformed;
/// [`bind_placeholders`] reports why).
pub fn placeholders(template: &str) -> BTreeSet<String> {
    scan(template)
        .map(|pieces| {
            pieces
                .into_iter()
                .filter_map(|p| match p {
                    Piece::Placeholder(name) => Some(name.to_string()),
                    Piece::Text(_) => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bindings(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn placeholders_are_replaced_by_their_bindings() {
        let out = bind_placeholders(
            r#"{"Resource": "${plan_fn}", "x": "${ other }"}"#,
            &bindings(&[
                ("plan_fn", "arn:aws:lambda:eu-west-1:1:function:plan"),
                ("other", "y"),
            ]),
        )
        .unwrap();
        assert_eq!(
            out,
            r#"{"Resource": "arn:aws:lambda:eu-west-1:1:function:plan", "x": "y"}"#
        );
    }

    #[test]
    fn an_unbound_placeholder_is_an_error_naming_it() {
        let err = bind_placeholders("${a} ${b}", &bindings(&[("a", "1")])).unwrap_err();
        assert_eq!(err, EngineError::UnboundPlaceholder { name: "b".into() });
        assert!(err.to_string().contains("${b}"));
    }

    #[test]
    fn context_object_paths_and_escapes_are_left_alone() {
        let out = bind_placeholders(
            r#"{"TaskToken.$": "$$.Task.Token", "lit": "$${x} %%{y}"}"#,
            &BTreeMap::new(),
        )
        .unwrap();
        assert_eq!(
            out,
            r#"{"TaskToken.$": "$$.Task.Token", "lit": "${x} %{y}"}"#
        );
    }

    #[test]
    fn expressions_and_directives_are_refused() {
        assert!(matches!(
            bind_placeholders("${var.x}", &BTreeMap::new()),
            Err(EngineError::UnsupportedTemplate { .. })
        ));
        assert!(matches!(
            bind_placeholders("%{ if x }", &BTreeMap::new()),
            Err(EngineError::UnsupportedTemplate { .. })
        ));
    }

    #[test]
    fn placeholders_lists_every_name_once() {
        let names = placeholders("${a} ${b} ${a} $${c}");
        assert_eq!(names.into_iter().collect::<Vec<_>>(), vec!["a", "b"]);
    }
}
