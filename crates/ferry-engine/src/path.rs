//! The JSONPath subset ASL paths need: `$`, `$.a.b`, `$['a']`, `$.a[0]`, `$.a[-1]`, and
//! context-object paths `$$.Execution.Id`. Wildcards, deep scan, slices, unions, filters and
//! functions are refused at load time: they select several values, which Ferry never needs.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Field(String),
    /// Array index; negative counts from the end (`[-1]` is the last item), as in Jayway JsonPath.
    Index(i64),
}

/// A parsed path, rooted at the state's input (`$`) or at the context object (`$$`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    text: String,
    context: bool,
    segments: Vec<Segment>,
}

impl std::fmt::Display for Path {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl Path {
    /// `$`: the whole input.
    pub fn root() -> Self {
        Self {
            text: "$".into(),
            context: false,
            segments: Vec::new(),
        }
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        let (context, rest) = if let Some(rest) = text.strip_prefix("$$") {
            (true, rest)
        } else if let Some(rest) = text.strip_prefix('$') {
            (false, rest)
        } else {
            return Err(format!("path {text:?} must start with `$` or `$$`"));
        };
        let chars: Vec<char> = rest.chars().collect();
        let mut segments = Vec::new();
        let mut i = 0;
        let bad = |why: &str| format!("path {text:?}: {why}");
        while i < chars.len() {
            match chars[i] {
                '.' => {
                    i += 1;
                    if chars.get(i) == Some(&'.') {
                        return Err(bad("deep scan `..` is not supported"));
                    }
                    let start = i;
                    while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                        i += 1;
                    }
                    let name: String = chars[start..i].iter().collect();
                    if name.is_empty() {
                        return Err(bad("empty field name after `.`"));
                    }
                    if name == "*" {
                        return Err(bad("wildcard `*` is not supported"));
                    }
                    if let Some(c) = name
                        .chars()
                        .find(|c| "()*?,'\"]@".contains(*c) || c.is_whitespace())
                    {
                        return Err(bad(&format!(
                            "character {c:?} in field name {name:?} is not supported (functions, filters and wildcards are refused; quote odd names as ['name'])"
                        )));
                    }
                    segments.push(Segment::Field(name));
                }
                '[' => {
                    i += 1;
                    match chars.get(i) {
                        Some(&q @ ('\'' | '"')) => {
                            i += 1;
                            let mut name = String::new();
                            loop {
                                match chars.get(i) {
                                    None => return Err(bad("unterminated quoted name")),
                                    Some('\\') => {
                                        let Some(c) = chars.get(i + 1) else {
                                            return Err(bad("unterminated quoted name"));
                                        };
                                        name.push(*c);
                                        i += 2;
                                    }
                                    Some(c) if *c == q => {
                                        i += 1;
                                        break;
                                    }
                                    Some(c) => {
                                        name.push(*c);
                                        i += 1;
                                    }
                                }
                            }
                            if chars.get(i) != Some(&']') {
                                return Err(bad(
                                    "expected `]` after a quoted name (unions like ['a','b'] are not supported)",
                                ));
                            }
                            i += 1;
                            segments.push(Segment::Field(name));
                        }
                        _ => {
                            let start = i;
                            while i < chars.len() && chars[i] != ']' {
                                i += 1;
                            }
                            if i == chars.len() {
                                return Err(bad("unterminated `[`"));
                            }
                            let inner: String = chars[start..i].iter().collect();
                            i += 1;
                            let inner = inner.trim();
                            match inner.parse::<i64>() {
                                Ok(n) => segments.push(Segment::Index(n)),
                                Err(_) => {
                                    let what = if inner == "*" {
                                        "wildcard `[*]`"
                                    } else if inner.contains(':') {
                                        "array slices"
                                    } else if inner.starts_with('?') {
                                        "filter expressions"
                                    } else if inner.contains(',') {
                                        "unions"
                                    } else {
                                        "this subscript"
                                    };
                                    return Err(bad(&format!(
                                        "{what} ([{inner}]) is not supported"
                                    )));
                                }
                            }
                        }
                    }
                }
                c => {
                    return Err(bad(&format!(
                        "unexpected {c:?}; expected `.name`, `['name']` or `[index]`"
                    )));
                }
            }
        }
        Ok(Self {
            text: text.to_string(),
            context,
            segments,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// `$$...`: the path reads the context object, not the state input.
    pub fn is_context(&self) -> bool {
        self.context
    }

    pub fn is_root(&self) -> bool {
        !self.context && self.segments.is_empty()
    }

    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// A Reference Path (what `ResultPath` requires): rooted at `$`, non-negative indexes only.
    pub fn check_reference(&self) -> Result<(), String> {
        if self.context {
            return Err(format!(
                "{:?} is a context-object path; a reference path must start with `$.`",
                self.text
            ));
        }
        if self
            .segments
            .iter()
            .any(|s| matches!(s, Segment::Index(n) if *n < 0))
        {
            return Err(format!(
                "{:?}: negative indexes are not allowed in a reference path",
                self.text
            ));
        }
        Ok(())
    }

    /// The value the path selects, or `None` when it matches nothing.
    pub fn select<'a>(&self, input: &'a Value, context: &'a Value) -> Option<&'a Value> {
        let mut current = if self.context { context } else { input };
        for segment in &self.segments {
            current = match (segment, current) {
                (Segment::Field(name), Value::Object(map)) => map.get(name)?,
                (Segment::Index(n), Value::Array(items)) => {
                    let index = if *n < 0 {
                        items.len().checked_sub(n.unsigned_abs() as usize)?
                    } else {
                        *n as usize
                    };
                    items.get(index)?
                }
                _ => return None,
            };
        }
        Some(current)
    }

    /// Write `value` at this reference path inside `target`, creating missing objects on the way
    /// (ResultPath semantics). Fails when an existing value on the way is not an object or array.
    pub fn set(&self, mut target: Value, value: Value) -> Result<Value, String> {
        if self.segments.is_empty() {
            return Ok(value);
        }
        put(&mut target, &self.segments, value).map_err(|why| {
            format!(
                "unable to apply ResultPath {:?} to the state input: {why}",
                self.text
            )
        })?;
        Ok(target)
    }
}

fn put(slot: &mut Value, segments: &[Segment], value: Value) -> Result<(), String> {
    let (first, rest) = segments.split_first().expect("non-empty");
    match (first, slot) {
        (Segment::Field(name), Value::Object(map)) => {
            if rest.is_empty() {
                map.insert(name.clone(), value);
                Ok(())
            } else {
                let child = map
                    .entry(name.clone())
                    .or_insert_with(|| Value::Object(Default::default()));
                put(child, rest, value)
            }
        }
        (Segment::Index(n), Value::Array(items)) => {
            let len = items.len();
            let child = usize::try_from(*n)
                .ok()
                .and_then(|i| items.get_mut(i))
                .ok_or_else(|| format!("index [{n}] is out of bounds (length {len})"))?;
            if rest.is_empty() {
                *child = value;
                Ok(())
            } else {
                put(child, rest, value)
            }
        }
        (Segment::Field(name), other) => Err(format!(
            "cannot set field {name:?} on a {}",
            type_name(other)
        )),
        (Segment::Index(n), other) => {
            Err(format!("cannot index [{n}] into a {}", type_name(other)))
        }
    }
}

pub(crate) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sel(path: &str, input: &Value) -> Option<Value> {
        Path::parse(path)
            .unwrap()
            .select(input, &Value::Null)
            .cloned()
    }

    #[test]
    fn dot_bracket_and_index_notations_select_values() {
        let input = json!({"a": {"b": [1, 2, 3]}, "odd key": true});
        assert_eq!(sel("$", &input), Some(input.clone()));
        assert_eq!(sel("$.a.b", &input), Some(json!([1, 2, 3])));
        assert_eq!(sel("$.a.b[0]", &input), Some(json!(1)));
        assert_eq!(sel("$.a.b[-1]", &input), Some(json!(3)));
        assert_eq!(sel("$['a']['b'][1]", &input), Some(json!(2)));
        assert_eq!(sel("$['odd key']", &input), Some(json!(true)));
        assert_eq!(sel("$.a.c", &input), None);
        assert_eq!(sel("$.a.b[3]", &input), None);
        assert_eq!(sel("$.a.b[-4]", &input), None);
    }

    #[test]
    fn multi_value_paths_are_refused() {
        for path in [
            "$..a",
            "$.a[*]",
            "$.a.*",
            "$.a[0:2]",
            "$.a[?(@.x)]",
            "$.a.length()",
            "a",
        ] {
            assert!(Path::parse(path).is_err(), "{path} should be refused");
        }
    }

    #[test]
    fn result_path_creates_missing_objects_and_refuses_non_objects() {
        let p = Path::parse("$.x.y").unwrap();
        assert_eq!(
            p.set(json!({"a": 1}), json!(2)).unwrap(),
            json!({"a": 1, "x": {"y": 2}})
        );
        assert!(p.set(json!({"x": "str"}), json!(2)).is_err());
        assert!(
            Path::parse("$.a")
                .unwrap()
                .set(json!("str"), json!(1))
                .is_err()
        );
    }
}
