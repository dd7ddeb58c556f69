//! Choice rules: comparison operators (and their `…Path` variants), `StringMatches`, the type
//! tests, and `And` / `Or` / `Not`, evaluated with AWS semantics:
//!
//! - a comparison between values of different types is false, not an error;
//! - a `Variable` (or `…Path` operand) that matches nothing fails with `States.Runtime`,
//!   except under `IsPresent`, whose whole point is to test that;
//! - string order is UTF-16 code-unit order (Java's `compareTo`, which AWS uses).

use std::cmp::Ordering;

use serde_json::Value;

use crate::error::AslError;
use crate::path::Path;
use crate::timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    String,
    Numeric,
    Boolean,
    Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Equals,
    LessThan,
    GreaterThan,
    LessThanEquals,
    GreaterThanEquals,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Value(Value),
    Path(Path),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeTest {
    IsPresent,
    IsNull,
    IsNumeric,
    IsString,
    IsBoolean,
    IsTimestamp,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Test {
    Compare {
        kind: Kind,
        cmp: Cmp,
        operand: Operand,
    },
    StringMatches(Vec<PatternToken>),
    Type {
        test: TypeTest,
        expected: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatternToken {
    Literal(char),
    Star,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    And(Vec<Rule>),
    Or(Vec<Rule>),
    Not(Box<Rule>),
    Test { variable: Path, test: Test },
}

/// A top-level choice: a rule and the state it leads to.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    pub rule: Rule,
    pub next: String,
}

pub fn parse_choice(value: &Value, at: &str) -> Result<Choice, String> {
    let (rule, next) = parse_rule(value, true, at)?;
    Ok(Choice {
        rule,
        next: next.expect("top-level rules require Next"),
    })
}

fn parse_rule(value: &Value, top: bool, at: &str) -> Result<(Rule, Option<String>), String> {
    let Value::Object(map) = value else {
        return Err(format!("{at}: a choice rule must be an object"));
    };
    let mut next = None;
    let mut variable = None;
    let mut operators: Vec<(&String, &Value)> = Vec::new();
    for (key, v) in map {
        match key.as_str() {
            "Next" if top => {
                next = Some(
                    v.as_str()
                        .ok_or_else(|| format!("{at}.Next: must be a string"))?
                        .to_string(),
                )
            }
            "Next" => {
                return Err(format!(
                    "{at}: Next is only allowed on top-level choice rules, not inside And/Or/Not"
                ));
            }
            "Comment" => {}
            "Variable" => {
                let text = v
                    .as_str()
                    .ok_or_else(|| format!("{at}.Variable: must be a string path"))?;
                variable = Some(Path::parse(text).map_err(|e| format!("{at}.Variable: {e}"))?);
            }
            "Condition" | "Assign" | "Output" => {
                return Err(format!(
                    "{at}.{key}: not supported (JSONata and variables are refused; use JSONPath rules)"
                ));
            }
            _ => operators.push((key, v)),
        }
    }
    if top && next.is_none() {
        return Err(format!("{at}: a top-level choice rule needs Next"));
    }
    let [(op, operand)] = operators.as_slice() else {
        return Err(if operators.is_empty() {
            format!("{at}: no comparison operator")
        } else {
            format!(
                "{at}: exactly one comparison operator is allowed, found {}",
                operators
                    .iter()
                    .map(|(k, _)| k.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        });
    };
    let op = op.as_str();
    let here = format!("{at}.{op}");
    let rule = match op {
        "And" | "Or" => {
            if variable.is_some() {
                return Err(format!("{at}: Variable is not allowed with {op}"));
            }
            let Value::Array(items) = operand else {
                return Err(format!("{here}: must be a non-empty array of rules"));
            };
            if items.is_empty() {
                return Err(format!("{here}: must be a non-empty array of rules"));
            }
            let rules = items
                .iter()
                .enumerate()
                .map(|(i, r)| parse_rule(r, false, &format!("{here}[{i}]")).map(|(r, _)| r))
                .collect::<Result<Vec<_>, _>>()?;
            if op == "And" {
                Rule::And(rules)
            } else {
                Rule::Or(rules)
            }
        }
        "Not" => {
            if variable.is_some() {
                return Err(format!("{at}: Variable is not allowed with Not"));
            }
            Rule::Not(Box::new(parse_rule(operand, false, &here)?.0))
        }
        _ => {
            let variable = variable.ok_or_else(|| format!("{at}: {op} needs a Variable"))?;
            Rule::Test {
                variable,
                test: parse_test(op, operand, &here)?,
            }
        }
    };
    Ok((rule, next))
}

fn parse_test(op: &str, operand: &Value, here: &str) -> Result<Test, String> {
    let type_test = match op {
        "IsPresent" => Some(TypeTest::IsPresent),
        "IsNull" => Some(TypeTest::IsNull),
        "IsNumeric" => Some(TypeTest::IsNumeric),
        "IsString" => Some(TypeTest::IsString),
        "IsBoolean" => Some(TypeTest::IsBoolean),
        "IsTimestamp" => Some(TypeTest::IsTimestamp),
        _ => None,
    };
    if let Some(test) = type_test {
        let expected = operand
            .as_bool()
            .ok_or_else(|| format!("{here}: must be true or false"))?;
        return Ok(Test::Type { test, expected });
    }
    if op == "StringMatches" {
        let pattern = operand
            .as_str()
            .ok_or_else(|| format!("{here}: must be a string pattern"))?;
        return parse_pattern(pattern)
            .map(Test::StringMatches)
            .map_err(|e| format!("{here}: {e}"));
    }
    let unknown = || format!("{here}: unknown or unsupported comparison operator {op:?}");
    let (kind, rest) = [
        ("String", Kind::String),
        ("Numeric", Kind::Numeric),
        ("Boolean", Kind::Boolean),
        ("Timestamp", Kind::Timestamp),
    ]
    .into_iter()
    .find_map(|(prefix, kind)| op.strip_prefix(prefix).map(|rest| (kind, rest)))
    .ok_or_else(unknown)?;
    let (rest, by_path) = match rest.strip_suffix("Path") {
        Some(rest) => (rest, true),
        None => (rest, false),
    };
    let cmp = match rest {
        "Equals" => Cmp::Equals,
        "LessThan" => Cmp::LessThan,
        "GreaterThan" => Cmp::GreaterThan,
        "LessThanEquals" => Cmp::LessThanEquals,
        "GreaterThanEquals" => Cmp::GreaterThanEquals,
        _ => return Err(unknown()),
    };
    if kind == Kind::Boolean && cmp != Cmp::Equals {
        return Err(unknown());
    }
    let operand = if by_path {
        let text = operand
            .as_str()
            .ok_or_else(|| format!("{here}: must be a path string"))?;
        Operand::Path(Path::parse(text).map_err(|e| format!("{here}: {e}"))?)
    } else {
        let ok = match kind {
            Kind::String => operand.is_string(),
            Kind::Numeric => operand.is_number(),
            Kind::Boolean => operand.is_boolean(),
            Kind::Timestamp => operand.as_str().and_then(timestamp::parse).is_some(),
        };
        if !ok {
            return Err(format!(
                "{here}: expected a {} value, found {operand}",
                match kind {
                    Kind::String => "string",
                    Kind::Numeric => "number",
                    Kind::Boolean => "boolean",
                    Kind::Timestamp => "RFC 3339 timestamp (uppercase T and Z)",
                }
            ));
        }
        Operand::Value(operand.clone())
    };
    Ok(Test::Compare { kind, cmp, operand })
}

/// `*` matches any run of characters; `\*` is a literal star and `\\` a literal backslash.
fn parse_pattern(pattern: &str) -> Result<Vec<PatternToken>, String> {
    let mut tokens = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '*' => tokens.push(PatternToken::Star),
            '\\' => match chars.next() {
                Some(c @ ('*' | '\\')) => tokens.push(PatternToken::Literal(c)),
                other => {
                    return Err(format!(
                        "invalid escape `\\{}` in pattern {pattern:?}: only \\* and \\\\ are escapes",
                        other.map(String::from).unwrap_or_default()
                    ));
                }
            },
            c => tokens.push(PatternToken::Literal(c)),
        }
    }
    Ok(tokens)
}

fn matches_pattern(tokens: &[PatternToken], text: &str) -> bool {
    let text: Vec<char> = text.chars().collect();
    // Classic wildcard matching with a single backtrack point.
    let (mut t, mut p) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match tokens.get(p) {
            Some(PatternToken::Literal(c)) if *c == text[t] => {
                t += 1;
                p += 1;
            }
            Some(PatternToken::Star) => {
                star = Some((p, t));
                p += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    tokens[p..].iter().all(|t| *t == PatternToken::Star)
}

impl Rule {
    /// Every path the rule reads (for load-time checks).
    pub fn paths(&self) -> Vec<&Path> {
        match self {
            Self::And(rules) | Self::Or(rules) => rules.iter().flat_map(Rule::paths).collect(),
            Self::Not(rule) => rule.paths(),
            Self::Test { variable, test } => {
                let mut out = vec![variable];
                if let Test::Compare {
                    operand: Operand::Path(p),
                    ..
                } = test
                {
                    out.push(p);
                }
                out
            }
        }
    }

    pub fn evaluate(&self, input: &Value, context: &Value) -> Result<bool, AslError> {
        match self {
            Self::And(rules) => {
                for rule in rules {
                    if !rule.evaluate(input, context)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Self::Or(rules) => {
                for rule in rules {
                    if rule.evaluate(input, context)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Self::Not(rule) => Ok(!rule.evaluate(input, context)?),
            Self::Test { variable, test } => {
                let value = variable.select(input, context);
                if let Test::Type {
                    test: TypeTest::IsPresent,
                    expected,
                } = test
                {
                    return Ok(value.is_some() == *expected);
                }
                let value = value.ok_or_else(|| invalid_path(variable))?;
                match test {
                    Test::Type { test, expected } => {
                        let actual = match test {
                            TypeTest::IsPresent => true,
                            TypeTest::IsNull => value.is_null(),
                            TypeTest::IsNumeric => value.is_number(),
                            TypeTest::IsString => value.is_string(),
                            TypeTest::IsBoolean => value.is_boolean(),
                            TypeTest::IsTimestamp => {
                                value.as_str().and_then(timestamp::parse).is_some()
                            }
                        };
                        Ok(actual == *expected)
                    }
                    Test::StringMatches(tokens) => {
                        Ok(value.as_str().is_some_and(|s| matches_pattern(tokens, s)))
                    }
                    Test::Compare { kind, cmp, operand } => {
                        let operand = match operand {
                            Operand::Value(v) => v,
                            Operand::Path(p) => {
                                p.select(input, context).ok_or_else(|| invalid_path(p))?
                            }
                        };
                        Ok(compare(*kind, value, operand).is_some_and(|o| holds(*cmp, o)))
                    }
                }
            }
        }
    }
}

fn invalid_path(path: &Path) -> AslError {
    AslError::runtime(format!(
        "Invalid path '{path}': The choice state's condition path references an invalid value."
    ))
}

fn holds(cmp: Cmp, ordering: Ordering) -> bool {
    match cmp {
        Cmp::Equals => ordering == Ordering::Equal,
        Cmp::LessThan => ordering == Ordering::Less,
        Cmp::GreaterThan => ordering == Ordering::Greater,
        Cmp::LessThanEquals => ordering != Ordering::Greater,
        Cmp::GreaterThanEquals => ordering != Ordering::Less,
    }
}

/// `None` when the values are not both of the rule's type: the comparison is then false.
fn compare(kind: Kind, a: &Value, b: &Value) -> Option<Ordering> {
    match kind {
        Kind::String => Some(a.as_str()?.encode_utf16().cmp(b.as_str()?.encode_utf16())),
        Kind::Boolean => (a.as_bool()? == b.as_bool()?).then_some(Ordering::Equal),
        Kind::Numeric => {
            let (Value::Number(x), Value::Number(y)) = (a, b) else {
                return None;
            };
            match (x.as_i64(), y.as_i64()) {
                (Some(x), Some(y)) => Some(x.cmp(&y)),
                _ => x.as_f64()?.partial_cmp(&y.as_f64()?),
            }
        }
        Kind::Timestamp => {
            let x = timestamp::parse(a.as_str()?)?;
            let y = timestamp::parse(b.as_str()?)?;
            Some(x.cmp(&y))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn eval(rule: Value, input: Value) -> Result<bool, AslError> {
        let mut rule = rule;
        rule["Next"] = json!("X");
        parse_choice(&rule, "Choices[0]")
            .unwrap()
            .rule
            .evaluate(&input, &json!({}))
    }

    #[test]
    fn every_comparison_operator_and_its_path_variant_works() {
        let input = json!({"s": "b", "n": 5, "b": true, "t": "2024-01-02T00:00:00Z",
                           "s2": "b", "n2": 7, "b2": true, "t2": "2024-01-01T00:00:00Z"});
        let cases = [
            (
                "String",
                "s",
                json!("b"),
                "s2",
                [true, false, false, true, true],
            ),
            (
                "Numeric",
                "n",
                json!(5),
                "n",
                [true, false, false, true, true],
            ),
            (
                "Timestamp",
                "t",
                json!("2024-01-02T00:00:00Z"),
                "t",
                [true, false, false, true, true],
            ),
        ];
        let ops = [
            "Equals",
            "LessThan",
            "GreaterThan",
            "LessThanEquals",
            "GreaterThanEquals",
        ];
        for (kind, var, literal, other, expected) in cases {
            for (op, want) in ops.iter().zip(expected) {
                let rule = json!({"Variable": format!("$.{var}"), format!("{kind}{op}"): literal});
                assert_eq!(eval(rule, input.clone()).unwrap(), want, "{kind}{op}");
                let rule = json!({"Variable": format!("$.{var}"), format!("{kind}{op}Path"): format!("$.{other}")});
                assert_eq!(eval(rule, input.clone()).unwrap(), want, "{kind}{op}Path");
            }
        }
        assert!(
            eval(
                json!({"Variable": "$.n", "NumericLessThanPath": "$.n2"}),
                input.clone()
            )
            .unwrap()
        );
        assert!(
            eval(
                json!({"Variable": "$.t", "TimestampGreaterThanPath": "$.t2"}),
                input.clone()
            )
            .unwrap()
        );
        assert!(
            eval(
                json!({"Variable": "$.b", "BooleanEquals": true}),
                input.clone()
            )
            .unwrap()
        );
        assert!(
            eval(
                json!({"Variable": "$.b", "BooleanEqualsPath": "$.b2"}),
                input.clone()
            )
            .unwrap()
        );
        assert!(eval(json!({"Variable": "$.n", "NumericEquals": 5.0}), input).unwrap());
    }

    #[test]
    fn mismatched_types_compare_false_instead_of_failing() {
        let input = json!({"n": 5, "s": "5"});
        assert!(
            !eval(
                json!({"Variable": "$.s", "NumericEquals": 5}),
                input.clone()
            )
            .unwrap()
        );
        assert!(
            !eval(
                json!({"Variable": "$.n", "StringEquals": "5"}),
                input.clone()
            )
            .unwrap()
        );
        assert!(
            !eval(
                json!({"Variable": "$.s", "TimestampEquals": "2024-01-01T00:00:00Z"}),
                input
            )
            .unwrap()
        );
    }

    #[test]
    fn string_matches_supports_wildcards_and_escapes() {
        let rule = |p: &str| json!({"Variable": "$.f", "StringMatches": p});
        let f = |s: &str| json!({"f": s});
        assert!(eval(rule("log-*.txt"), f("log-2024.txt")).unwrap());
        assert!(eval(rule("*"), f("")).unwrap());
        assert!(eval(rule("a*b*c"), f("aXXbYYc")).unwrap());
        assert!(!eval(rule("a*b*c"), f("aXXbYY")).unwrap());
        assert!(eval(rule(r"a\*"), f("a*")).unwrap());
        assert!(!eval(rule(r"a\*"), f("ab")).unwrap());
        assert!(eval(rule(r"a\\b"), f(r"a\b")).unwrap());
    }

    #[test]
    fn type_tests_and_boolean_combinators() {
        let input = json!({"n": null, "x": 1, "s": "2024-01-01T00:00:00Z"});
        assert!(eval(json!({"Variable": "$.n", "IsNull": true}), input.clone()).unwrap());
        assert!(
            eval(
                json!({"Variable": "$.missing", "IsPresent": false}),
                input.clone()
            )
            .unwrap()
        );
        assert!(eval(json!({"Variable": "$.x", "IsNumeric": true}), input.clone()).unwrap());
        assert!(eval(json!({"Variable": "$.x", "IsString": false}), input.clone()).unwrap());
        assert!(
            eval(
                json!({"Variable": "$.s", "IsTimestamp": true}),
                input.clone()
            )
            .unwrap()
        );
        assert!(
            eval(
                json!({"Variable": "$.s", "IsBoolean": false}),
                input.clone()
            )
            .unwrap()
        );
        let rule = json!({"And": [
            {"Variable": "$.x", "NumericGreaterThan": 0},
            {"Not": {"Variable": "$.x", "NumericEquals": 2}},
            {"Or": [{"Variable": "$.n", "IsNull": false}, {"Variable": "$.x", "NumericEquals": 1}]}
        ]});
        assert!(eval(rule, input).unwrap());
    }

    #[test]
    fn a_missing_variable_is_a_runtime_error() {
        let err = eval(
            json!({"Variable": "$.nope", "StringEquals": "x"}),
            json!({}),
        )
        .unwrap_err();
        assert_eq!(err.error.as_deref(), Some("States.Runtime"));
    }

    #[test]
    fn malformed_rules_are_refused_with_their_location() {
        let bad = [
            json!({"Variable": "$.x", "StringEquals": 1, "Next": "X"}),
            json!({"Variable": "$.x", "NumericEquals": 1, "IsNull": true, "Next": "X"}),
            json!({"Variable": "$.x", "BooleanLessThan": true, "Next": "X"}),
            json!({"Variable": "$.x", "TimestampEquals": "2024-01-01", "Next": "X"}),
            json!({"Variable": "$.x", "StringEquals": "a"}),
            json!({"And": [{"Variable": "$.x", "IsNull": true, "Next": "Y"}], "Next": "X"}),
            json!({"Variable": "$.x", "StringMatches": "a\\b", "Next": "X"}),
            json!({"Variable": "$.x", "Nope": 1, "Next": "X"}),
        ];
        for rule in bad {
            let err = parse_choice(&rule, "state \"C\" Choices[0]").unwrap_err();
            assert!(err.starts_with("state \"C\" Choices[0]"), "{err}");
        }
    }
}
