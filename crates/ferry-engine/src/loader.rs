//! Parsing and validating a state machine definition into the typed structs of
//! [`crate::definition`].
//!
//! Everything is checked at load time, and every problem is reported (not just the first), each
//! naming the state, the field and what is wrong: unknown fields, missing or dangling
//! transitions, unreachable states, malformed paths, templates, intrinsics and choice rules,
//! and every construct this engine does not implement (JSONata, variables, Distributed Map,
//! resources other than Lambda, ...).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::choice::parse_choice;
use crate::definition::*;
use crate::error::names;
use crate::intrinsics;
use crate::path::{Path, Segment};
use crate::payload::Template;
use crate::timestamp;

/// Largest value AWS accepts for the second-counting fields.
const MAX_SECONDS: u64 = 99_999_999;

/// Where a path appears, which decides what it may reference.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    /// InputPath, OutputPath, ItemsPath: the state input only.
    InputOnly,
    /// Parameters and friends: the context object too.
    WithContext,
    /// Parameters of a `.waitForTaskToken` task: `$$.Task.Token` too.
    WithTaskToken,
    /// A Map's ItemSelector: `$$.Map.Item` too.
    WithMapItem,
}

#[derive(Default)]
pub(crate) struct Loader {
    pub(crate) problems: Vec<String>,
    /// Every state name seen, to enforce machine-wide uniqueness.
    names: BTreeSet<String>,
}

/// Reads the fields of one JSON object, remembering which were consumed.
struct Fields<'a> {
    map: &'a Map<String, Value>,
    at: String,
    used: BTreeSet<&'static str>,
}

impl<'a> Fields<'a> {
    fn new(map: &'a Map<String, Value>, at: String) -> Self {
        Self {
            map,
            at,
            used: BTreeSet::new(),
        }
    }

    fn get(&mut self, key: &'static str) -> Option<&'a Value> {
        self.used.insert(key);
        self.map.get(key)
    }

    fn has(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    fn problem(&self, field: &str, message: impl std::fmt::Display) -> String {
        format!("{}, field {field:?}: {message}", self.at)
    }

    /// Report every field that was not consumed.
    fn finish(self, loader: &mut Loader, kind: &str) {
        for key in self.map.keys() {
            if self.used.contains(key.as_str()) {
                continue;
            }
            let why = match key.as_str() {
                "Arguments" | "Output" | "Items" => {
                    "JSONata fields are not supported (this engine implements the JSONPath query language only)".to_string()
                }
                "Assign" => "workflow variables (Assign) are not supported".to_string(),
                "Credentials" => "cross-account task Credentials are not supported".to_string(),
                "ItemReader" | "ItemBatcher" | "ResultWriter" | "ToleratedFailureCount"
                | "ToleratedFailurePercentage" | "ToleratedFailureCountPath"
                | "ToleratedFailurePercentagePath" | "Label" => {
                    "Distributed Map is not supported (only inline Map)".to_string()
                }
                "MaxConcurrencyPath" => "MaxConcurrencyPath is not supported; use MaxConcurrency".to_string(),
                "Retry" | "Catch" | "ResultSelector" | "Parameters" | "ResultPath" | "Next"
                | "End" | "InputPath" | "OutputPath" => {
                    format!("not allowed on a {kind}")
                }
                _ => format!("unknown field (not part of a {kind})"),
            };
            loader
                .problems
                .push(format!("{}, field {key:?}: {why}", self.at));
        }
    }
}

impl Loader {
    fn push(&mut self, problem: String) {
        self.problems.push(problem);
    }

    pub(crate) fn machine(&mut self, value: &Value) -> Option<StateMachine> {
        let Value::Object(map) = value else {
            self.push("state machine: the definition must be a JSON object".into());
            return None;
        };
        let mut f = Fields::new(map, "state machine".into());
        let comment = self.string_field(&mut f, "Comment");
        if let Some(v) = f.get("Version")
            && v != "1.0"
        {
            self.push(f.problem("Version", "only \"1.0\" is defined"));
        }
        self.query_language(&mut f);
        let timeout_seconds = self.seconds_field(&mut f, "TimeoutSeconds", false);
        let root = self.scope(&mut f);
        f.finish(self, "state machine");
        Some(StateMachine {
            comment,
            timeout_seconds,
            root: Arc::new(root?),
        })
    }

    fn query_language(&mut self, f: &mut Fields) {
        if let Some(v) = f.get("QueryLanguage")
            && v != "JSONPath"
        {
            let p = f.problem(
                "QueryLanguage",
                format!("{v} is not supported; this engine implements JSONPath only"),
            );
            self.push(p);
        }
    }

    /// `StartAt` + `States` of the machine, a branch or a Map processor.
    fn scope(&mut self, f: &mut Fields) -> Option<Scope> {
        let start_at = match f.get("StartAt") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                self.push(f.problem("StartAt", "must be a string"));
                None
            }
            None => {
                self.push(f.problem("StartAt", "is required"));
                None
            }
        };
        let Some(Value::Object(states_json)) = f.get("States") else {
            self.push(f.problem("States", "is required and must be an object of states"));
            return None;
        };
        if states_json.is_empty() {
            self.push(f.problem("States", "must contain at least one state"));
        }
        let mut states = BTreeMap::new();
        for (name, state_json) in states_json {
            if !self.names.insert(name.clone()) {
                self.push(format!(
                    "state {name:?}: state names must be unique across the whole state machine"
                ));
            }
            if name.is_empty() || name.chars().count() > 80 {
                self.push(format!(
                    "state {name:?}: a state name must have 1 to 80 characters"
                ));
            }
            if let Some(state) = self.state(name, state_json) {
                states.insert(name.clone(), state);
            }
        }
        let start_at = start_at?;
        if !states_json.contains_key(&start_at) {
            let p = f.problem(
                "StartAt",
                format!("{start_at:?} is not a state in this scope"),
            );
            self.push(p);
            return None;
        }
        // Transition targets must exist in the same scope; every state must be reachable.
        let mut ok = true;
        for state in states.values() {
            for (field, target) in targets(state) {
                if !states_json.contains_key(target) {
                    ok = false;
                    self.push(format!(
                        "state {:?}, field {field:?}: the target {target:?} is not a state in this scope",
                        state.name
                    ));
                }
            }
        }
        if ok {
            let mut seen = BTreeSet::new();
            let mut todo = vec![start_at.as_str()];
            while let Some(name) = todo.pop() {
                if seen.insert(name)
                    && let Some(state) = states.get(name)
                {
                    todo.extend(targets(state).into_iter().map(|(_, t)| t));
                }
            }
            for name in states.keys() {
                if !seen.contains(name.as_str()) {
                    self.push(format!(
                        "state {name:?}: unreachable from StartAt {start_at:?}"
                    ));
                }
            }
        }
        Some(Scope { start_at, states })
    }

    fn state(&mut self, name: &str, value: &Value) -> Option<State> {
        let at = format!("state {name:?}");
        let Value::Object(map) = value else {
            self.push(format!("{at}: a state must be a JSON object"));
            return None;
        };
        let mut f = Fields::new(map, at.clone());
        let comment = self.string_field(&mut f, "Comment");
        self.query_language(&mut f);
        let kind_name = match f.get("Type") {
            Some(Value::String(t)) => t.clone(),
            _ => {
                self.push(f.problem("Type", "is required and must be a string"));
                return None;
            }
        };
        let kind = match kind_name.as_str() {
            "Pass" => {
                let io = self.io(&mut f);
                let parameters = self.template(&mut f, "Parameters", Place::WithContext);
                let result = f.get("Result").cloned();
                let result_path = self.result_path(&mut f, "ResultPath");
                let transition = self.transition(&mut f);
                StateKind::Pass(PassState {
                    io,
                    parameters,
                    result,
                    result_path,
                    transition: transition?,
                })
            }
            "Task" => StateKind::Task(self.task(&mut f)?),
            "Choice" => {
                let io = self.io(&mut f);
                let mut choices = Vec::new();
                match f.get("Choices") {
                    Some(Value::Array(items)) if !items.is_empty() => {
                        for (i, item) in items.iter().enumerate() {
                            match parse_choice(item, &format!("{at}, field \"Choices\"[{i}]")) {
                                Ok(choice) => {
                                    for path in choice.rule.paths() {
                                        self.check_path(&f, "Choices", path, Place::WithContext);
                                    }
                                    choices.push(choice);
                                }
                                Err(e) => self.push(e),
                            }
                        }
                    }
                    _ => {
                        self.push(f.problem("Choices", "is required and must be a non-empty array"))
                    }
                }
                let default = self.string_field(&mut f, "Default");
                if f.has("End") || f.has("Next") {
                    self.push(f.problem(
                        "Next/End",
                        "a Choice state transitions through Choices and Default only",
                    ));
                    f.used.insert("End");
                    f.used.insert("Next");
                }
                StateKind::Choice(ChoiceState {
                    io,
                    choices,
                    default,
                })
            }
            "Wait" => {
                let io = self.io(&mut f);
                let present: Vec<&str> = ["Seconds", "SecondsPath", "Timestamp", "TimestampPath"]
                    .into_iter()
                    .filter(|k| f.has(k))
                    .collect();
                let wait = if present.len() != 1 {
                    self.push(f.problem(
                        "Seconds/SecondsPath/Timestamp/TimestampPath",
                        format!("exactly one is required, found {present:?}"),
                    ));
                    None
                } else if f.has("Seconds") {
                    self.seconds_field(&mut f, "Seconds", true)
                        .map(WaitFor::Seconds)
                } else if f.has("Timestamp") {
                    match f
                        .get("Timestamp")
                        .and_then(Value::as_str)
                        .and_then(timestamp::parse)
                    {
                        Some(t) => Some(WaitFor::Timestamp(t)),
                        None => {
                            self.push(f.problem(
                                "Timestamp",
                                "must be an RFC 3339 timestamp with an uppercase T and Z, e.g. 2016-03-14T01:59:00Z",
                            ));
                            None
                        }
                    }
                } else if f.has("SecondsPath") {
                    self.path_field(&mut f, "SecondsPath", Place::WithContext)
                        .map(WaitFor::SecondsPath)
                } else {
                    self.path_field(&mut f, "TimestampPath", Place::WithContext)
                        .map(WaitFor::TimestampPath)
                };
                let transition = self.transition(&mut f);
                StateKind::Wait(WaitState {
                    io,
                    wait: wait?,
                    transition: transition?,
                })
            }
            "Succeed" => StateKind::Succeed(SucceedState {
                io: self.io(&mut f),
            }),
            "Fail" => {
                let error = self.fail_text(&mut f, "Error", "ErrorPath");
                let cause = self.fail_text(&mut f, "Cause", "CausePath");
                StateKind::Fail(FailState { error, cause })
            }
            "Parallel" => {
                let io = self.io(&mut f);
                let mut branches = Vec::new();
                match f.get("Branches") {
                    Some(Value::Array(items)) if !items.is_empty() => {
                        for (i, item) in items.iter().enumerate() {
                            let bat = format!("{at}, branch {i}");
                            let Value::Object(bmap) = item else {
                                self.push(format!("{bat}: a branch must be an object"));
                                continue;
                            };
                            let mut bf = Fields::new(bmap, bat);
                            self.string_field(&mut bf, "Comment");
                            self.query_language(&mut bf);
                            if let Some(scope) = self.scope(&mut bf) {
                                branches.push(Arc::new(scope));
                            }
                            bf.finish(self, "Parallel branch");
                        }
                    }
                    _ => self
                        .push(f.problem("Branches", "is required and must be a non-empty array")),
                }
                let parameters = self.template(&mut f, "Parameters", Place::WithContext);
                let result_selector = self.template(&mut f, "ResultSelector", Place::WithContext);
                let result_path = self.result_path(&mut f, "ResultPath");
                let retry = self.retriers(&mut f);
                let catch = self.catchers(&mut f);
                let transition = self.transition(&mut f);
                StateKind::Parallel(ParallelState {
                    io,
                    branches,
                    parameters,
                    result_selector,
                    result_path,
                    retry,
                    catch,
                    transition: transition?,
                })
            }
            "Map" => StateKind::Map(self.map(&mut f)?),
            other => {
                self.push(f.problem(
                    "Type",
                    format!(
                        "{other:?} is not supported (Pass, Task, Choice, Wait, Succeed, Fail, Parallel and Map are)"
                    ),
                ));
                return None;
            }
        };
        f.finish(self, &format!("{kind_name} state"));
        Some(State {
            name: name.to_string(),
            comment,
            kind,
        })
    }

    fn task(&mut self, f: &mut Fields) -> Option<TaskState> {
        let io = self.io(f);
        let resource_arn = match f.get("Resource") {
            Some(Value::String(s)) => Some(s.clone()),
            _ => {
                self.push(f.problem("Resource", "is required and must be a string"));
                None
            }
        };
        let resource = resource_arn
            .as_deref()
            .and_then(|arn| match parse_resource(arn) {
                Ok(r) => Some(r),
                Err(e) => {
                    self.push(f.problem("Resource", e));
                    None
                }
            });
        let callback = resource == Some(Resource::LambdaInvokeWaitForTaskToken);
        let place = if callback {
            Place::WithTaskToken
        } else {
            Place::WithContext
        };
        let parameters = self.template(f, "Parameters", place);
        if matches!(
            resource,
            Some(Resource::LambdaInvoke | Resource::LambdaInvokeWaitForTaskToken)
        ) {
            self.check_invoke_parameters(f, parameters.as_ref(), callback);
        }
        let result_selector = self.template(f, "ResultSelector", Place::WithContext);
        let result_path = self.result_path(f, "ResultPath");
        let retry = self.retriers(f);
        let catch = self.catchers(f);
        let timeout = self.seconds_or_path(f, "TimeoutSeconds", "TimeoutSecondsPath");
        let heartbeat = self.seconds_or_path(f, "HeartbeatSeconds", "HeartbeatSecondsPath");
        if heartbeat.is_some() && !callback && resource.is_some() {
            self.push(f.problem(
                "HeartbeatSeconds",
                "heartbeats only apply to .waitForTaskToken tasks here (a plain Lambda invocation cannot send heartbeats)",
            ));
        }
        if let (Some(Seconds::Fixed(h)), Some(Seconds::Fixed(t))) = (&heartbeat, &timeout)
            && h >= t
        {
            self.push(f.problem(
                "HeartbeatSeconds",
                format!("must be smaller than TimeoutSeconds ({h} >= {t})"),
            ));
        }
        let transition = self.transition(f);
        Some(TaskState {
            io,
            resource_arn: resource_arn?,
            resource: resource?,
            parameters,
            result_selector,
            result_path,
            retry,
            catch,
            timeout,
            heartbeat,
            transition: transition?,
        })
    }

    fn check_invoke_parameters(
        &mut self,
        f: &Fields,
        parameters: Option<&Template>,
        callback: bool,
    ) {
        let Some(Template::Object(fields)) = parameters else {
            self.push(f.problem(
                "Parameters",
                "lambda:invoke needs Parameters with FunctionName (and usually Payload)",
            ));
            return;
        };
        if !fields.iter().any(|(k, _)| k == "FunctionName") {
            self.push(f.problem("Parameters", "lambda:invoke needs FunctionName"));
        }
        if !fields.iter().any(|(k, _)| k == "Payload") {
            // What AWS sends when Payload is omitted is not documented: refuse rather than guess.
            self.push(f.problem(
                "Parameters",
                "lambda:invoke without Payload is refused here; pass it explicitly, e.g. \"Payload.$\": \"$\"",
            ));
        }
        for (key, _) in fields {
            if key != "FunctionName" && key != "Payload" {
                self.push(f.problem(
                    "Parameters",
                    format!(
                        "{key:?} is not supported for lambda:invoke here (only FunctionName and Payload)"
                    ),
                ));
            }
        }
        if callback {
            let uses_token = parameters
                .map(|t| {
                    t.all_paths().iter().any(|p| {
                        p.is_context()
                            && p.segments().first() == Some(&Segment::Field("Task".into()))
                    })
                })
                .unwrap_or(false);
            if !uses_token {
                self.push(f.problem(
                    "Parameters",
                    "a .waitForTaskToken task must pass the token, e.g. \"Payload\": {\"TaskToken.$\": \"$$.Task.Token\"}",
                ));
            }
        }
    }

    fn map(&mut self, f: &mut Fields) -> Option<MapState> {
        let io = self.io(f);
        let at = f.at.clone();
        let processor = match (f.get("ItemProcessor"), f.get("Iterator")) {
            (Some(_), Some(_)) => {
                self.push(f.problem(
                    "ItemProcessor",
                    "use either ItemProcessor or Iterator, not both",
                ));
                None
            }
            (Some(Value::Object(pmap)), None) => {
                let mut pf = Fields::new(pmap, format!("{at}, ItemProcessor"));
                self.string_field(&mut pf, "Comment");
                if let Some(config) = pf.get("ProcessorConfig") {
                    let mode = config
                        .get("Mode")
                        .and_then(Value::as_str)
                        .unwrap_or("INLINE");
                    let extra = config
                        .as_object()
                        .map(|m| m.keys().any(|k| k != "Mode"))
                        .unwrap_or(true);
                    if mode != "INLINE" || extra {
                        self.push(pf.problem(
                            "ProcessorConfig",
                            "only {\"Mode\": \"INLINE\"} is supported (Distributed Map is refused)",
                        ));
                    }
                }
                let scope = self.scope(&mut pf);
                pf.finish(self, "Map ItemProcessor");
                scope
            }
            (None, Some(Value::Object(imap))) => {
                let mut pf = Fields::new(imap, format!("{at}, Iterator"));
                self.string_field(&mut pf, "Comment");
                let scope = self.scope(&mut pf);
                pf.finish(self, "Map Iterator");
                scope
            }
            _ => {
                self.push(f.problem("ItemProcessor", "is required and must be an object"));
                None
            }
        };
        let items_path = if f.has("ItemsPath") {
            self.path_field(f, "ItemsPath", Place::InputOnly)
        } else {
            Some(Path::root())
        };
        let item_selector = match (f.has("ItemSelector"), f.has("Parameters")) {
            (true, true) => {
                self.push(f.problem(
                    "Parameters",
                    "use ItemSelector (Parameters is its legacy name), not both",
                ));
                f.used.insert("Parameters");
                f.used.insert("ItemSelector");
                None
            }
            (_, true) => self.template(f, "Parameters", Place::WithMapItem),
            _ => self.template(f, "ItemSelector", Place::WithMapItem),
        };
        let max_concurrency = match f.get("MaxConcurrency") {
            None => 0,
            Some(v) => v.as_u64().unwrap_or_else(|| {
                self.push(f.problem("MaxConcurrency", "must be a non-negative integer"));
                0
            }),
        };
        let result_selector = self.template(f, "ResultSelector", Place::WithContext);
        let result_path = self.result_path(f, "ResultPath");
        let retry = self.retriers(f);
        let catch = self.catchers(f);
        let transition = self.transition(f);
        Some(MapState {
            io,
            processor: Arc::new(processor?),
            items_path: items_path?,
            item_selector,
            max_concurrency,
            result_selector,
            result_path,
            retry,
            catch,
            transition: transition?,
        })
    }

    fn io(&mut self, f: &mut Fields) -> Io {
        Io {
            input_path: self.nullable_path(f, "InputPath"),
            output_path: self.nullable_path(f, "OutputPath"),
        }
    }

    /// InputPath / OutputPath: absent → `$`, `null` → `None`.
    fn nullable_path(&mut self, f: &mut Fields, key: &'static str) -> Option<Path> {
        match f.get(key) {
            None => Some(Path::root()),
            Some(Value::Null) => None,
            Some(_) => self
                .path_field(f, key, Place::InputOnly)
                .or_else(|| Some(Path::root())),
        }
    }

    fn result_path(&mut self, f: &mut Fields, key: &'static str) -> Option<Path> {
        match f.get(key) {
            None => Some(Path::root()),
            Some(Value::Null) => None,
            Some(Value::String(s)) => {
                match Path::parse(s).and_then(|p| p.check_reference().map(|_| p)) {
                    Ok(p) => Some(p),
                    Err(e) => {
                        self.push(f.problem(key, e));
                        Some(Path::root())
                    }
                }
            }
            Some(_) => {
                self.push(f.problem(key, "must be a reference path string or null"));
                Some(Path::root())
            }
        }
    }

    fn path_field(&mut self, f: &mut Fields, key: &'static str, place: Place) -> Option<Path> {
        let Some(Value::String(text)) = f.get(key) else {
            self.push(f.problem(key, "must be a path string"));
            return None;
        };
        match Path::parse(text) {
            Ok(path) => {
                self.check_path(f, key, &path, place);
                Some(path)
            }
            Err(e) => {
                self.push(f.problem(key, e));
                None
            }
        }
    }

    /// Context-object paths must name something the context object has, in a place that has it.
    fn check_path(&mut self, f: &Fields, key: &str, path: &Path, place: Place) {
        if !path.is_context() {
            return;
        }
        if place == Place::InputOnly {
            self.push(f.problem(
                key,
                format!("{path}: context-object paths are not allowed here"),
            ));
            return;
        }
        let fields: Vec<&str> = path
            .segments()
            .iter()
            .map(|s| match s {
                Segment::Field(name) => name.as_str(),
                Segment::Index(_) => "[index]",
            })
            .collect();
        let known = match fields.as_slice() {
            [] => true,
            ["Execution", rest @ ..] => matches!(
                rest,
                [] | ["Id" | "Name" | "StartTime" | "RoleArn" | "RedriveCount"] | ["Input", ..]
            ),
            ["State", rest @ ..] => matches!(rest, [] | ["Name" | "EnteredTime" | "RetryCount"]),
            ["StateMachine", rest @ ..] => matches!(rest, [] | ["Id" | "Name"]),
            ["Task", rest @ ..] => {
                if place != Place::WithTaskToken {
                    self.push(f.problem(
                        key,
                        format!("{path}: the task token only exists in the Parameters of a .waitForTaskToken task"),
                    ));
                    return;
                }
                matches!(rest, [] | ["Token"])
            }
            ["Map", rest @ ..] => {
                if place != Place::WithMapItem {
                    self.push(f.problem(
                        key,
                        format!("{path}: $$.Map only exists in a Map state's ItemSelector"),
                    ));
                    return;
                }
                matches!(
                    rest,
                    [] | ["Item"] | ["Item", "Index"] | ["Item", "Value", ..]
                )
            }
            _ => false,
        };
        if !known {
            self.push(f.problem(
                key,
                format!(
                    "{path}: not a context-object field this engine provides (Execution.Id|Name|Input|StartTime|RoleArn, State.Name|EnteredTime|RetryCount, StateMachine.Id|Name, Task.Token, Map.Item.Index|Value)"
                ),
            ));
        }
    }

    fn template(&mut self, f: &mut Fields, key: &'static str, place: Place) -> Option<Template> {
        let value = f.get(key)?;
        match Template::compile(value) {
            Ok(template) => {
                for path in template.all_paths() {
                    self.check_path(f, key, path, place);
                }
                Some(template)
            }
            Err(e) => {
                self.push(f.problem(key, e));
                None
            }
        }
    }

    fn transition(&mut self, f: &mut Fields) -> Option<Transition> {
        match (f.get("Next"), f.get("End")) {
            (Some(Value::String(next)), None) => Some(Transition::Next(next.clone())),
            (None, Some(Value::Bool(true))) => Some(Transition::End),
            (Some(_), Some(_)) => {
                self.push(f.problem(
                    "Next/End",
                    "exactly one of Next and End is allowed, found both",
                ));
                None
            }
            (None, None) => {
                self.push(f.problem(
                    "Next/End",
                    "exactly one of Next and End is required, found neither",
                ));
                None
            }
            (Some(_), None) => {
                self.push(f.problem("Next", "must be a state name"));
                None
            }
            (None, Some(_)) => {
                self.push(f.problem("End", "must be true (omit it and use Next otherwise)"));
                None
            }
        }
    }

    fn string_field(&mut self, f: &mut Fields, key: &'static str) -> Option<String> {
        match f.get(key) {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                self.push(f.problem(key, "must be a string"));
                None
            }
        }
    }

    /// A non-negative integer of seconds (positive unless `allow_zero`), at most 99999999.
    fn seconds_field(
        &mut self,
        f: &mut Fields,
        key: &'static str,
        allow_zero: bool,
    ) -> Option<u64> {
        let value = f.get(key)?;
        match value.as_u64() {
            Some(n) if (allow_zero || n > 0) && n <= MAX_SECONDS => Some(n),
            _ => {
                let low = if allow_zero { 0 } else { 1 };
                self.push(f.problem(
                    key,
                    format!("must be an integer from {low} to {MAX_SECONDS}, found {value}"),
                ));
                None
            }
        }
    }

    fn seconds_or_path(
        &mut self,
        f: &mut Fields,
        key: &'static str,
        path_key: &'static str,
    ) -> Option<Seconds> {
        match (f.has(key), f.has(path_key)) {
            (true, true) => {
                self.push(f.problem(key, format!("use either {key} or {path_key}, not both")));
                f.used.insert(key);
                f.used.insert(path_key);
                None
            }
            (true, false) => self.seconds_field(f, key, false).map(Seconds::Fixed),
            (false, true) => self
                .path_field(f, path_key, Place::WithContext)
                .map(Seconds::Path),
            (false, false) => None,
        }
    }

    fn fail_text(
        &mut self,
        f: &mut Fields,
        key: &'static str,
        path_key: &'static str,
    ) -> Option<Text> {
        match (f.has(key), f.has(path_key)) {
            (true, true) => {
                self.push(f.problem(key, format!("use either {key} or {path_key}, not both")));
                f.used.insert(key);
                f.used.insert(path_key);
                None
            }
            (true, false) => self.string_field(f, key).map(Text::Literal),
            (false, true) => {
                let Some(Value::String(text)) = f.get(path_key) else {
                    self.push(
                        f.problem(path_key, "must be a path or an intrinsic function string"),
                    );
                    return None;
                };
                if text.starts_with("States.") {
                    match intrinsics::parse(text) {
                        Ok(call) => {
                            for path in call.paths() {
                                self.check_path(f, path_key, path, Place::WithContext);
                            }
                            Some(Text::Intrinsic(call))
                        }
                        Err(e) => {
                            self.push(f.problem(path_key, e));
                            None
                        }
                    }
                } else {
                    self.path_field(f, path_key, Place::WithContext)
                        .map(Text::Path)
                }
            }
            (false, false) => None,
        }
    }

    fn error_equals(&mut self, at: &str, value: Option<&Value>, last: bool) -> Vec<String> {
        let names: Vec<String> = match value {
            Some(Value::Array(items)) if !items.is_empty() => {
                let names: Vec<String> = items
                    .iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect();
                if names.len() != items.len() {
                    self.push(format!(
                        "{at}, field \"ErrorEquals\": must contain only strings"
                    ));
                }
                names
            }
            _ => {
                self.push(format!("{at}, field \"ErrorEquals\": is required and must be a non-empty array of error names"));
                return Vec::new();
            }
        };
        if names.iter().any(|n| n == names::ALL) && (names.len() != 1 || !last) {
            self.push(format!(
                "{at}, field \"ErrorEquals\": States.ALL must appear alone, in the last retrier or catcher"
            ));
        }
        names
    }

    fn retriers(&mut self, f: &mut Fields) -> Vec<Retrier> {
        let Some(value) = f.get("Retry") else {
            return Vec::new();
        };
        let Value::Array(items) = value else {
            self.push(f.problem("Retry", "must be an array of retriers"));
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let at = format!("{}, Retry[{i}]", f.at);
            let Value::Object(map) = item else {
                self.push(format!("{at}: a retrier must be an object"));
                continue;
            };
            let mut rf = Fields::new(map, at.clone());
            self.string_field(&mut rf, "Comment");
            let error_equals = self.error_equals(&at, rf.get("ErrorEquals"), i + 1 == items.len());
            let interval_seconds = if rf.has("IntervalSeconds") {
                self.seconds_field(&mut rf, "IntervalSeconds", false)
                    .unwrap_or(1)
            } else {
                1
            };
            let max_attempts = match rf.get("MaxAttempts") {
                None => 3,
                Some(v) => match v.as_u64() {
                    Some(n) if n <= MAX_SECONDS => n,
                    _ => {
                        self.push(rf.problem(
                            "MaxAttempts",
                            format!("must be an integer from 0 to {MAX_SECONDS}"),
                        ));
                        3
                    }
                },
            };
            let backoff_rate = match rf.get("BackoffRate") {
                None => 2.0,
                Some(v) => match v.as_f64() {
                    Some(r) if r >= 1.0 => r,
                    _ => {
                        self.push(rf.problem(
                            "BackoffRate",
                            "must be a number greater than or equal to 1.0",
                        ));
                        2.0
                    }
                },
            };
            let max_delay_seconds = match rf.get("MaxDelaySeconds") {
                None => None,
                Some(v) => match v.as_u64() {
                    Some(n) if n > 0 && n < 31_622_401 => Some(n),
                    _ => {
                        self.push(
                            rf.problem("MaxDelaySeconds", "must be an integer from 1 to 31622400"),
                        );
                        None
                    }
                },
            };
            let jitter = match rf.get("JitterStrategy").map(|v| v.as_str()) {
                None | Some(Some("NONE")) => Jitter::None,
                Some(Some("FULL")) => Jitter::Full,
                Some(_) => {
                    self.push(rf.problem("JitterStrategy", "must be \"FULL\" or \"NONE\""));
                    Jitter::None
                }
            };
            rf.finish(self, "retrier");
            out.push(Retrier {
                error_equals,
                interval_seconds,
                max_attempts,
                backoff_rate,
                max_delay_seconds,
                jitter,
            });
        }
        out
    }

    fn catchers(&mut self, f: &mut Fields) -> Vec<Catcher> {
        let Some(value) = f.get("Catch") else {
            return Vec::new();
        };
        let Value::Array(items) = value else {
            self.push(f.problem("Catch", "must be an array of catchers"));
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let at = format!("{}, Catch[{i}]", f.at);
            let Value::Object(map) = item else {
                self.push(format!("{at}: a catcher must be an object"));
                continue;
            };
            let mut cf = Fields::new(map, at.clone());
            self.string_field(&mut cf, "Comment");
            let error_equals = self.error_equals(&at, cf.get("ErrorEquals"), i + 1 == items.len());
            let result_path = self.result_path(&mut cf, "ResultPath");
            let next = match cf.get("Next") {
                Some(Value::String(s)) => Some(s.clone()),
                _ => {
                    self.push(cf.problem("Next", "is required and must be a state name"));
                    None
                }
            };
            cf.finish(self, "catcher");
            if let Some(next) = next {
                out.push(Catcher {
                    error_equals,
                    result_path,
                    next,
                });
            }
        }
        out
    }
}

/// Every transition target of a state, with the field it comes from.
fn targets(state: &State) -> Vec<(&'static str, &str)> {
    fn next(t: &Transition) -> Option<(&'static str, &str)> {
        match t {
            Transition::Next(n) => Some(("Next", n.as_str())),
            Transition::End => None,
        }
    }
    let (transition, catch): (Option<&Transition>, &[Catcher]) = match &state.kind {
        StateKind::Pass(s) => (Some(&s.transition), &[]),
        StateKind::Wait(s) => (Some(&s.transition), &[]),
        StateKind::Task(s) => (Some(&s.transition), &s.catch),
        StateKind::Parallel(s) => (Some(&s.transition), &s.catch),
        StateKind::Map(s) => (Some(&s.transition), &s.catch),
        StateKind::Succeed(_) | StateKind::Fail(_) => (None, &[]),
        StateKind::Choice(s) => {
            let mut out: Vec<(&'static str, &str)> = s
                .choices
                .iter()
                .map(|c| ("Choices", c.next.as_str()))
                .collect();
            if let Some(d) = &s.default {
                out.push(("Default", d.as_str()));
            }
            return out;
        }
    };
    let mut out: Vec<(&'static str, &str)> = transition.and_then(next).into_iter().collect();
    out.extend(catch.iter().map(|c| ("Catch.Next", c.next.as_str())));
    out
}

/// Recognise the Task resources this engine implements.
pub fn parse_resource(arn: &str) -> Result<Resource, String> {
    let supported = "supported: a Lambda function ARN (arn:aws:lambda:REGION:ACCOUNT:function:NAME), arn:aws:states:::lambda:invoke and arn:aws:states:::lambda:invoke.waitForTaskToken";
    let parts: Vec<&str> = arn.split(':').collect();
    let partition_ok = |p: &str| matches!(p, "aws" | "aws-cn" | "aws-us-gov");
    match parts.as_slice() {
        ["arn", partition, "states", "", "", "lambda", action] if partition_ok(partition) => {
            match *action {
                "invoke" => Ok(Resource::LambdaInvoke),
                "invoke.waitForTaskToken" => Ok(Resource::LambdaInvokeWaitForTaskToken),
                other => Err(format!(
                    "{arn:?}: lambda integration pattern {other:?} is not supported; {supported}"
                )),
            }
        }
        [
            "arn",
            partition,
            "lambda",
            region,
            account,
            "function",
            name,
            rest @ ..,
        ] if partition_ok(partition)
            && !region.is_empty()
            && !account.is_empty()
            && !name.is_empty()
            && rest.len() <= 1 =>
        {
            Ok(Resource::LambdaArn(arn.to_string()))
        }
        ["arn", _, "states", _, _, "activity", ..] => Err(format!(
            "{arn:?}: activities are not supported; {supported}"
        )),
        _ if arn.contains("${") => Err(format!(
            "{arn:?} still contains a ${{...}} placeholder: bind it first (bind_placeholders)"
        )),
        _ => Err(format!("{arn:?} is not a supported resource; {supported}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::EngineError;
    use serde_json::json;

    #[test]
    fn lambda_resources_are_recognised_and_others_refused() {
        assert_eq!(
            parse_resource("arn:aws:lambda:eu-west-1:123456789012:function:plan").unwrap(),
            Resource::LambdaArn("arn:aws:lambda:eu-west-1:123456789012:function:plan".into())
        );
        assert!(parse_resource("arn:aws:lambda:eu-west-1:123456789012:function:plan:live").is_ok());
        assert_eq!(
            parse_resource("arn:aws:states:::lambda:invoke").unwrap(),
            Resource::LambdaInvoke
        );
        for bad in [
            "arn:aws:states:::ecs:runTask.sync",
            "arn:aws:states:::lambda:invoke.sync",
            "arn:aws:states:eu-west-1:1:activity:x",
            "arn:aws:states:::aws-sdk:ecs:updateService",
            "${fn}",
        ] {
            assert!(parse_resource(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_problem_is_reported_not_just_the_first() {
        let definition = json!({
            "StartAt": "A",
            "States": {
                "A": {"Type": "Pass", "Next": "Nowhere", "Bogus": 1},
                "B": {"Type": "Pass", "End": true}
            }
        });
        let Err(EngineError::Definition { problems }) = StateMachine::from_value(&definition)
        else {
            panic!("expected a refusal");
        };
        assert!(
            problems
                .iter()
                .any(|p| p.contains("\"A\"") && p.contains("Bogus"))
        );
        assert!(
            problems
                .iter()
                .any(|p| p.contains("\"A\"") && p.contains("Nowhere"))
        );
    }
}
