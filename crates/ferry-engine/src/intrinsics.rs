//! Intrinsic functions (`"x.$": "States.Format('{}-{}', $.a, $.b)"`): the argument grammar,
//! load-time checks, and evaluation with AWS's argument rules. Misuse at run time fails the
//! state with `States.IntrinsicFailure`; a path argument that matches nothing with `States.Runtime`.

use serde_json::{Map, Number, Value};

use crate::digest;
use crate::error::AslError;
use crate::path::{Path, type_name};

/// AWS allows at most 10 nested intrinsic functions in one field.
const MAX_NESTING: usize = 10;
/// Size limit AWS applies to the string arguments of Base64Encode/Base64Decode/Hash.
const MAX_STRING_ARG: usize = 10_000;
/// ArrayRange may produce at most 1000 items.
const MAX_RANGE_ITEMS: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    Format,
    StringToJson,
    JsonToString,
    Array,
    ArrayPartition,
    ArrayContains,
    ArrayRange,
    ArrayGetItem,
    ArrayLength,
    ArrayUnique,
    JsonMerge,
    MathAdd,
    MathRandom,
    StringSplit,
    Uuid,
    Hash,
    Base64Encode,
    Base64Decode,
}

impl Func {
    fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "States.Format" => Self::Format,
            "States.StringToJson" => Self::StringToJson,
            "States.JsonToString" => Self::JsonToString,
            "States.Array" => Self::Array,
            "States.ArrayPartition" => Self::ArrayPartition,
            "States.ArrayContains" => Self::ArrayContains,
            "States.ArrayRange" => Self::ArrayRange,
            "States.ArrayGetItem" => Self::ArrayGetItem,
            "States.ArrayLength" => Self::ArrayLength,
            "States.ArrayUnique" => Self::ArrayUnique,
            "States.JsonMerge" => Self::JsonMerge,
            "States.MathAdd" => Self::MathAdd,
            "States.MathRandom" => Self::MathRandom,
            "States.StringSplit" => Self::StringSplit,
            "States.UUID" => Self::Uuid,
            "States.Hash" => Self::Hash,
            "States.Base64Encode" => Self::Base64Encode,
            "States.Base64Decode" => Self::Base64Decode,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Format => "States.Format",
            Self::StringToJson => "States.StringToJson",
            Self::JsonToString => "States.JsonToString",
            Self::Array => "States.Array",
            Self::ArrayPartition => "States.ArrayPartition",
            Self::ArrayContains => "States.ArrayContains",
            Self::ArrayRange => "States.ArrayRange",
            Self::ArrayGetItem => "States.ArrayGetItem",
            Self::ArrayLength => "States.ArrayLength",
            Self::ArrayUnique => "States.ArrayUnique",
            Self::JsonMerge => "States.JsonMerge",
            Self::MathAdd => "States.MathAdd",
            Self::MathRandom => "States.MathRandom",
            Self::StringSplit => "States.StringSplit",
            Self::Uuid => "States.UUID",
            Self::Hash => "States.Hash",
            Self::Base64Encode => "States.Base64Encode",
            Self::Base64Decode => "States.Base64Decode",
        }
    }

    /// (minimum, maximum) argument count.
    fn arity(self) -> (usize, usize) {
        match self {
            Self::Format => (1, usize::MAX),
            Self::Array => (0, usize::MAX),
            Self::Uuid => (0, 0),
            Self::StringToJson
            | Self::JsonToString
            | Self::ArrayLength
            | Self::ArrayUnique
            | Self::Base64Encode
            | Self::Base64Decode => (1, 1),
            Self::ArrayPartition
            | Self::ArrayContains
            | Self::ArrayGetItem
            | Self::MathAdd
            | Self::StringSplit
            | Self::Hash => (2, 2),
            Self::MathRandom => (2, 3),
            Self::ArrayRange | Self::JsonMerge => (3, 3),
        }
    }
}

/// One piece of a `States.Format` template literal: text, or a `{}` hole.
#[derive(Debug, Clone, PartialEq)]
pub enum FormatPiece {
    Text(String),
    Hole,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    /// A quoted literal: its value, and its pieces when used as a Format template
    /// (escaped `\{` `\}` are literal braces, not holes).
    Str(String, Vec<FormatPiece>),
    Number(Number),
    Bool(bool),
    Null,
    Path(Path),
    Call(Call),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub func: Func,
    pub args: Vec<Arg>,
}

/// Parse a whole field value such as `States.Format('{}', $.a)`.
pub fn parse(text: &str) -> Result<Call, String> {
    let mut parser = Parser {
        chars: text.chars().collect(),
        pos: 0,
        text,
    };
    let call = parser.call(1)?;
    parser.skip_ws();
    if parser.pos != parser.chars.len() {
        return Err(parser.err("unexpected text after the closing parenthesis"));
    }
    Ok(call)
}

struct Parser<'a> {
    chars: Vec<char>,
    pos: usize,
    text: &'a str,
}

impl Parser<'_> {
    fn err(&self, why: &str) -> String {
        format!(
            "intrinsic function {:?} at character {}: {why}",
            self.text, self.pos
        )
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn call(&mut self, depth: usize) -> Result<Call, String> {
        if depth > MAX_NESTING {
            return Err(self.err("more than 10 nested intrinsic functions"));
        }
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '.')
        {
            self.pos += 1;
        }
        let name: String = self.chars[start..self.pos].iter().collect();
        let func = Func::from_name(&name).ok_or_else(|| {
            self.err(&format!(
                "unknown or unsupported intrinsic function {name:?}"
            ))
        })?;
        self.skip_ws();
        if self.peek() != Some('(') {
            return Err(self.err(&format!("expected `(` after {name}")));
        }
        self.pos += 1;
        let mut args = Vec::new();
        self.skip_ws();
        if self.peek() == Some(')') {
            self.pos += 1;
        } else {
            loop {
                self.skip_ws();
                args.push(self.arg(depth)?);
                self.skip_ws();
                match self.peek() {
                    Some(',') => self.pos += 1,
                    Some(')') => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err(self.err("expected `,` or `)` after an argument")),
                }
            }
        }
        let (min, max) = func.arity();
        if args.len() < min || args.len() > max {
            let expected = if min == max {
                format!("{min}")
            } else if max == usize::MAX {
                format!("at least {min}")
            } else {
                format!("{min} to {max}")
            };
            return Err(self.err(&format!(
                "{name} takes {expected} argument(s), got {}",
                args.len()
            )));
        }
        let call = Call { func, args };
        check_literals(&call).map_err(|why| self.err(&why))?;
        Ok(call)
    }

    fn arg(&mut self, depth: usize) -> Result<Arg, String> {
        match self.peek() {
            Some('\'') => self.string(),
            Some('$') => {
                let start = self.pos;
                let mut bracket = 0;
                let mut quote: Option<char> = None;
                while let Some(c) = self.peek() {
                    match (quote, c) {
                        (Some(_), '\\') => self.pos += 1,
                        (Some(q), c) if c == q => quote = None,
                        (Some(_), _) => {}
                        (None, '\'' | '"') => quote = Some(c),
                        (None, '[') => bracket += 1,
                        (None, ']') => bracket -= 1,
                        (None, ',' | ')') if bracket == 0 => break,
                        _ => {}
                    }
                    self.pos += 1;
                }
                let text: String = self.chars[start..self.pos.min(self.chars.len())]
                    .iter()
                    .collect();
                Path::parse(text.trim_end())
                    .map(Arg::Path)
                    .map_err(|e| self.err(&e))
            }
            Some('S') => Ok(Arg::Call(self.call(depth + 1)?)),
            Some(c) if c == '-' || c.is_ascii_digit() => {
                let start = self.pos;
                while self
                    .peek()
                    .is_some_and(|c| c.is_ascii_digit() || "-+.eE".contains(c))
                {
                    self.pos += 1;
                }
                let text: String = self.chars[start..self.pos].iter().collect();
                serde_json::from_str::<Number>(&text)
                    .map(Arg::Number)
                    .map_err(|_| self.err(&format!("{text:?} is not a number")))
            }
            Some(_) => {
                for (word, arg) in [
                    ("true", Arg::Bool(true)),
                    ("false", Arg::Bool(false)),
                    ("null", Arg::Null),
                ] {
                    let end = self.pos + word.len();
                    if end <= self.chars.len()
                        && self.chars[self.pos..end].iter().copied().eq(word.chars())
                    {
                        self.pos = end;
                        return Ok(arg);
                    }
                }
                Err(self.err(
                    "expected an argument: a 'quoted string', a number, true, false, null, a path or an intrinsic function",
                ))
            }
            None => Err(self.err("unexpected end of text")),
        }
    }

    fn string(&mut self) -> Result<Arg, String> {
        self.pos += 1; // opening quote
        let mut value = String::new();
        let mut pieces = Vec::new();
        let mut text = String::new();
        loop {
            match self.peek() {
                None => return Err(self.err("unterminated string literal")),
                Some('\'') => {
                    self.pos += 1;
                    break;
                }
                Some('\\') => {
                    let c = self
                        .chars
                        .get(self.pos + 1)
                        .copied()
                        .ok_or_else(|| self.err("unterminated escape"))?;
                    if !"'{}\\".contains(c) {
                        return Err(self.err(&format!(
                            "invalid escape `\\{c}`: only \\' \\{{ \\}} and \\\\ are escapes"
                        )));
                    }
                    value.push(c);
                    text.push(c);
                    self.pos += 2;
                }
                Some('{') if self.chars.get(self.pos + 1) == Some(&'}') => {
                    value.push_str("{}");
                    pieces.push(FormatPiece::Text(std::mem::take(&mut text)));
                    pieces.push(FormatPiece::Hole);
                    self.pos += 2;
                }
                Some(c) => {
                    value.push(c);
                    text.push(c);
                    self.pos += 1;
                }
            }
        }
        pieces.push(FormatPiece::Text(text));
        Ok(Arg::Str(value, pieces))
    }
}

/// Load-time checks on literal arguments; paths and nested calls are checked at run time.
fn check_literals(call: &Call) -> Result<(), String> {
    let name = call.func.name();
    match call.func {
        Func::Format => match &call.args[0] {
            Arg::Str(_, pieces) => {
                let holes = pieces.iter().filter(|p| **p == FormatPiece::Hole).count();
                if holes != call.args.len() - 1 {
                    return Err(format!(
                        "{name}: the template has {holes} `{{}}` but {} value argument(s) follow",
                        call.args.len() - 1
                    ));
                }
            }
            Arg::Path(_) | Arg::Call(_) => {}
            _ => return Err(format!("{name}: the first argument must be a string")),
        },
        Func::JsonToString if !matches!(call.args[0], Arg::Path(_)) => {
            return Err(format!("{name}: the argument must be a path"));
        }
        Func::JsonMerge => match &call.args[2] {
            Arg::Bool(false) | Arg::Path(_) => {}
            _ => {
                return Err(format!(
                    "{name}: the third argument must be false (only shallow merge is supported by AWS)"
                ));
            }
        },
        Func::Hash => {
            if let Arg::Str(algorithm, _) = &call.args[1] {
                digest::check_algorithm(algorithm).map_err(|e| format!("{name}: {e}"))?;
            }
        }
        _ => {}
    }
    Ok(())
}

impl Call {
    /// Every path used anywhere in this call (for load-time checks of context paths).
    pub fn paths(&self) -> Vec<&Path> {
        let mut out = Vec::new();
        for arg in &self.args {
            match arg {
                Arg::Path(p) => out.push(p),
                Arg::Call(c) => out.extend(c.paths()),
                _ => {}
            }
        }
        out
    }

    pub fn eval(&self, input: &Value, context: &Value) -> Result<Value, AslError> {
        let name = self.func.name();
        let mut values = Vec::with_capacity(self.args.len());
        for arg in &self.args {
            values.push(match arg {
                Arg::Str(s, _) => Value::String(s.clone()),
                Arg::Number(n) => Value::Number(n.clone()),
                Arg::Bool(b) => Value::Bool(*b),
                Arg::Null => Value::Null,
                Arg::Path(p) => p.select(input, context).cloned().ok_or_else(|| {
                    AslError::runtime(format!(
                        "The JsonPath argument {p} of {name} could not be found in the input"
                    ))
                })?,
                Arg::Call(c) => c.eval(input, context)?,
            });
        }
        let fail = |why: String| AslError::intrinsic(format!("{name}: {why}"));
        match self.func {
            Func::Format => {
                let template_pieces = match (&self.args[0], &values[0]) {
                    (Arg::Str(_, pieces), _) => pieces.clone(),
                    (_, Value::String(s)) => split_holes(s),
                    (_, other) => {
                        return Err(fail(format!(
                            "the template must be a string, got a {}",
                            type_name(other)
                        )));
                    }
                };
                let holes = template_pieces
                    .iter()
                    .filter(|p| **p == FormatPiece::Hole)
                    .count();
                if holes != values.len() - 1 {
                    return Err(fail(format!(
                        "the template has {holes} `{{}}` but {} value argument(s) follow",
                        values.len() - 1
                    )));
                }
                let mut out = String::new();
                let mut next = values[1..].iter();
                for piece in template_pieces {
                    match piece {
                        FormatPiece::Text(t) => out.push_str(&t),
                        FormatPiece::Hole => match next.next().expect("counted") {
                            Value::String(s) => out.push_str(s),
                            v @ (Value::Number(_) | Value::Bool(_) | Value::Null) => {
                                out.push_str(&v.to_string())
                            }
                            v => {
                                return Err(fail(format!(
                                    "values must be strings, numbers, booleans or null, got a {}",
                                    type_name(v)
                                )));
                            }
                        },
                    }
                }
                Ok(Value::String(out))
            }
            Func::StringToJson => {
                let s = string(&values[0], "the argument").map_err(fail)?;
                serde_json::from_str(s).map_err(|e| fail(format!("not a JSON text: {e}")))
            }
            Func::JsonToString => Ok(Value::String(values[0].to_string())),
            Func::Array => Ok(Value::Array(values)),
            Func::ArrayPartition => {
                let items = array(&values[0], "the first argument").map_err(fail)?;
                let size = integer(&values[1], "the chunk size").map_err(fail)?;
                if size <= 0 {
                    return Err(fail(format!(
                        "the chunk size must be a positive integer, got {size}"
                    )));
                }
                Ok(Value::Array(
                    items
                        .chunks(size as usize)
                        .map(|c| Value::Array(c.to_vec()))
                        .collect(),
                ))
            }
            Func::ArrayContains => {
                let items = array(&values[0], "the first argument").map_err(fail)?;
                Ok(Value::Bool(items.contains(&values[1])))
            }
            Func::ArrayRange => {
                let start = integer(&values[0], "the start").map_err(fail)?;
                let end = integer(&values[1], "the end").map_err(fail)?;
                let step = integer(&values[2], "the step").map_err(fail)?;
                if step == 0 {
                    return Err(fail("the step must not be 0".into()));
                }
                let count = if (step > 0 && start > end) || (step < 0 && start < end) {
                    0
                } else {
                    ((end - start) / step) as u64 + 1
                };
                if count > MAX_RANGE_ITEMS as u64 {
                    return Err(fail(format!(
                        "the range would hold {count} items; at most {MAX_RANGE_ITEMS} are allowed"
                    )));
                }
                Ok(Value::Array(
                    (0..count as i64)
                        .map(|i| Value::from(start + i * step))
                        .collect(),
                ))
            }
            Func::ArrayGetItem => {
                let items = array(&values[0], "the first argument").map_err(fail)?;
                let index = integer(&values[1], "the index").map_err(fail)?;
                usize::try_from(index)
                    .ok()
                    .and_then(|i| items.get(i))
                    .cloned()
                    .ok_or_else(|| {
                        fail(format!(
                            "index {index} is out of bounds for an array of length {}",
                            items.len()
                        ))
                    })
            }
            Func::ArrayLength => {
                let items = array(&values[0], "the argument").map_err(fail)?;
                Ok(Value::from(items.len()))
            }
            Func::ArrayUnique => {
                let items = array(&values[0], "the argument").map_err(fail)?;
                let mut unique: Vec<Value> = Vec::new();
                for item in items {
                    if !unique.contains(item) {
                        unique.push(item.clone());
                    }
                }
                Ok(Value::Array(unique))
            }
            Func::JsonMerge => {
                let (Value::Object(a), Value::Object(b)) = (&values[0], &values[1]) else {
                    return Err(fail("the first two arguments must be JSON objects".into()));
                };
                if values[2] != Value::Bool(false) {
                    return Err(fail(
                        "the third argument must be false: only shallow merge is supported".into(),
                    ));
                }
                let mut merged: Map<String, Value> = a.clone();
                for (k, v) in b {
                    merged.insert(k.clone(), v.clone());
                }
                Ok(Value::Object(merged))
            }
            Func::MathAdd => {
                let a = int32(&values[0], "the first argument").map_err(fail)?;
                let b = int32(&values[1], "the second argument").map_err(fail)?;
                Ok(Value::from(a + b))
            }
            Func::MathRandom => {
                let start = int32(&values[0], "the start").map_err(fail)?;
                let end = int32(&values[1], "the end").map_err(fail)?;
                if start >= end {
                    return Err(fail(format!(
                        "the start ({start}) must be lower than the end ({end})"
                    )));
                }
                let n = match values.get(2) {
                    Some(seed) => {
                        use rand::{RngExt, SeedableRng};
                        let seed = integer(seed, "the seed").map_err(fail)?;
                        rand::rngs::StdRng::seed_from_u64(seed as u64).random_range(start..end)
                    }
                    None => rand::random_range(start..end),
                };
                Ok(Value::from(n))
            }
            Func::StringSplit => {
                let s = string(&values[0], "the first argument").map_err(fail)?;
                let delimiters = string(&values[1], "the delimiter").map_err(fail)?;
                Ok(Value::Array(
                    s.split(|c| delimiters.contains(c))
                        .filter(|t| !t.is_empty())
                        .map(|t| Value::String(t.into()))
                        .collect(),
                ))
            }
            Func::Uuid => Ok(Value::String(uuid::Uuid::new_v4().to_string())),
            Func::Hash => {
                let data = bounded_string(&values[0], "the data").map_err(fail)?;
                let algorithm = string(&values[1], "the algorithm").map_err(fail)?;
                digest::hash_hex(algorithm, data.as_bytes())
                    .map(Value::String)
                    .map_err(fail)
            }
            Func::Base64Encode => {
                let data = bounded_string(&values[0], "the argument").map_err(fail)?;
                Ok(Value::String(digest::base64_encode(data.as_bytes())))
            }
            Func::Base64Decode => {
                let data = bounded_string(&values[0], "the argument").map_err(fail)?;
                let bytes = digest::base64_decode(data).map_err(fail)?;
                String::from_utf8(bytes)
                    .map(Value::String)
                    .map_err(|_| fail("the decoded bytes are not UTF-8 text".into()))
            }
        }
    }
}

fn split_holes(s: &str) -> Vec<FormatPiece> {
    let mut pieces = Vec::new();
    let mut parts = s.split("{}").peekable();
    while let Some(part) = parts.next() {
        pieces.push(FormatPiece::Text(part.to_string()));
        if parts.peek().is_some() {
            pieces.push(FormatPiece::Hole);
        }
    }
    pieces
}

fn string<'a>(v: &'a Value, what: &str) -> Result<&'a str, String> {
    v.as_str()
        .ok_or_else(|| format!("{what} must be a string, got a {}", type_name(v)))
}

fn bounded_string<'a>(v: &'a Value, what: &str) -> Result<&'a str, String> {
    let s = string(v, what)?;
    if s.chars().count() > MAX_STRING_ARG {
        return Err(format!("{what} is longer than {MAX_STRING_ARG} characters"));
    }
    Ok(s)
}

fn array<'a>(v: &'a Value, what: &str) -> Result<&'a Vec<Value>, String> {
    v.as_array()
        .ok_or_else(|| format!("{what} must be an array, got a {}", type_name(v)))
}

fn integer(v: &Value, what: &str) -> Result<i64, String> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 9e15)
                    .map(|f| f as i64)
            })
            .ok_or_else(|| format!("{what} must be an integer, got {n}")),
        other => Err(format!(
            "{what} must be an integer, got a {}",
            type_name(other)
        )),
    }
}

fn int32(v: &Value, what: &str) -> Result<i64, String> {
    let n = integer(v, what)?;
    if i32::try_from(n).is_err() {
        return Err(format!(
            "{what} must be between -2147483648 and 2147483647, got {n}"
        ));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn eval(expr: &str, input: Value) -> Result<Value, AslError> {
        parse(expr).unwrap().eval(&input, &json!({}))
    }

    fn failure(expr: &str, input: Value) -> String {
        eval(expr, input).unwrap_err().error.unwrap()
    }

    #[test]
    fn format_interpolates_literals_paths_and_escaped_braces() {
        let input = json!({"name": "Arnav", "template": "Hello, my name is {}.", "n": 3});
        assert_eq!(
            eval(
                "States.Format('Hello, my name is {}.', $.name)",
                input.clone()
            )
            .unwrap(),
            json!("Hello, my name is Arnav.")
        );
        assert_eq!(
            eval("States.Format($.template, $.name)", input.clone()).unwrap(),
            json!("Hello, my name is Arnav.")
        );
        assert_eq!(
            eval(r"States.Format('\{\}{} it\'s \\ {}', $.n, true)", input).unwrap(),
            json!(r"{}3 it's \ true")
        );
    }

    #[test]
    fn format_with_the_wrong_number_of_values_is_refused_at_load() {
        assert!(parse("States.Format('{} {}', $.a)").is_err());
    }

    #[test]
    fn json_string_round_trip() {
        let input = json!({"s": "{\"foo\": \"bar\"}", "o": {"foo": "bar"}});
        assert_eq!(
            eval("States.StringToJson($.s)", input.clone()).unwrap(),
            json!({"foo": "bar"})
        );
        assert_eq!(
            eval("States.JsonToString($.o)", input).unwrap(),
            json!("{\"foo\":\"bar\"}")
        );
        assert!(parse("States.JsonToString('x')").is_err());
    }

    #[test]
    fn array_functions_follow_the_aws_examples() {
        let input = json!({"a": [1, 2, 3, 4, 5, 6, 7, 8, 9], "d": [1, 2, 2, 3, 1]});
        assert_eq!(
            eval("States.Array($.a[0], 'x', null)", input.clone()).unwrap(),
            json!([1, "x", null])
        );
        assert_eq!(
            eval("States.ArrayPartition($.a, 4)", input.clone()).unwrap(),
            json!([[1, 2, 3, 4], [5, 6, 7, 8], [9]])
        );
        assert_eq!(
            eval("States.ArrayContains($.a, 5)", input.clone()).unwrap(),
            json!(true)
        );
        assert_eq!(
            eval("States.ArrayRange(1, 9, 2)", input.clone()).unwrap(),
            json!([1, 3, 5, 7, 9])
        );
        assert_eq!(
            eval("States.ArrayRange(5, 1, -2)", input.clone()).unwrap(),
            json!([5, 3, 1])
        );
        assert_eq!(
            eval("States.ArrayGetItem($.a, 5)", input.clone()).unwrap(),
            json!(6)
        );
        assert_eq!(
            eval("States.ArrayLength($.a)", input.clone()).unwrap(),
            json!(9)
        );
        assert_eq!(
            eval("States.ArrayUnique($.d)", input.clone()).unwrap(),
            json!([1, 2, 3])
        );
        assert_eq!(
            failure("States.ArrayRange(1, 2000, 1)", input.clone()),
            "States.IntrinsicFailure"
        );
        assert_eq!(
            failure("States.ArrayRange(1, 5, 0)", input.clone()),
            "States.IntrinsicFailure"
        );
        assert_eq!(
            failure("States.ArrayGetItem($.a, 9)", input.clone()),
            "States.IntrinsicFailure"
        );
        assert_eq!(
            failure("States.ArrayPartition($.a, 0)", input),
            "States.IntrinsicFailure"
        );
    }

    #[test]
    fn json_merge_is_shallow_and_requires_false() {
        let input = json!({"a": {"x": 1, "n": {"p": 1}}, "b": {"y": 2, "n": {"q": 2}}});
        assert_eq!(
            eval("States.JsonMerge($.a, $.b, false)", input).unwrap(),
            json!({"x": 1, "y": 2, "n": {"q": 2}})
        );
        assert!(parse("States.JsonMerge($.a, $.b, true)").is_err());
    }

    #[test]
    fn math_and_string_functions() {
        let input = json!({"v": 111, "s": "This.is+a,test=string"});
        assert_eq!(
            eval("States.MathAdd($.v, -1)", input.clone()).unwrap(),
            json!(110)
        );
        assert_eq!(
            failure("States.MathAdd(1.5, 1)", input.clone()),
            "States.IntrinsicFailure"
        );
        let r = eval("States.MathRandom(1, 10)", input.clone())
            .unwrap()
            .as_i64()
            .unwrap();
        assert!((1..10).contains(&r));
        assert_eq!(
            eval("States.MathRandom(1, 1000, 7)", input.clone()).unwrap(),
            eval("States.MathRandom(1, 1000, 7)", input.clone()).unwrap()
        );
        assert_eq!(
            eval("States.StringSplit($.s, '.+,=')", input.clone()).unwrap(),
            json!(["This", "is", "a", "test", "string"])
        );
        let id = eval("States.UUID()", input).unwrap();
        assert_eq!(id.as_str().unwrap().len(), 36);
    }

    #[test]
    fn encoding_and_hashing() {
        let input = json!({"s": "Data to encode"});
        assert_eq!(
            eval("States.Base64Encode($.s)", input.clone()).unwrap(),
            json!("RGF0YSB0byBlbmNvZGU=")
        );
        assert_eq!(
            eval("States.Base64Decode('RGF0YSB0byBlbmNvZGU=')", input.clone()).unwrap(),
            json!("Data to encode")
        );
        assert_eq!(
            eval("States.Hash('input data', 'SHA-1')", input.clone()).unwrap(),
            json!("aaff4a450a104cd177d28d18d74485e8cae074b7")
        );
        assert_eq!(
            eval("States.Hash('abc', 'MD5')", input.clone()).unwrap(),
            json!("900150983cd24fb0d6963f7d28e17f72")
        );
        assert_eq!(
            eval("States.Hash('abc', 'SHA-256')", input).unwrap(),
            json!("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
        assert!(parse("States.Hash('abc', 'SHA-3')").is_err());
    }

    #[test]
    fn nested_calls_and_the_aws_nesting_example_evaluate() {
        let input = json!({"ImageRecipe": {"Arn": "arn:aws:imagebuilder:us-east-1:123456789012:image-recipe/my-recipe.v1/1.0.0"}});
        let expr = "States.Format('{}.{}', States.ArrayGetItem(States.StringSplit(States.ArrayGetItem(States.StringSplit($.ImageRecipe.Arn, '/'), 2), '.'), 0), States.ArrayGetItem(States.StringSplit(States.ArrayGetItem(States.StringSplit($.ImageRecipe.Arn, '/'), 2), '.'), 1))";
        assert_eq!(eval(expr, input).unwrap(), json!("1.0"));
    }

    #[test]
    fn unknown_functions_and_bad_syntax_are_refused() {
        for bad in [
            "States.Nope()",
            "States.Format('x'",
            "States.Array($.a b)",
            "States.Format('\\n')",
            "States.UUID(1)",
            "States.Array(States.Array(States.Array(States.Array(States.Array(States.Array(States.Array(States.Array(States.Array(States.Array(States.Array()))))))))))",
        ] {
            assert!(parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn a_missing_path_argument_is_a_runtime_error() {
        assert_eq!(
            failure("States.Array($.missing)", json!({})),
            "States.Runtime"
        );
    }
}
