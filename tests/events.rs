//! The sample events under `events/<function>/<case>.json`: every one is a valid input of its
//! function, and every function has at least one. No emulator: the handlers run against the
//! in-memory fakes, where the deployment the samples name does not exist.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ferry_handlers::{ErrorKind, FUNCTIONS, Invoked};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::helpers::memory_deps;

fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the repository")
        .to_path_buf()
}

/// Names of the directories directly under `folder`.
fn directories(folder: &Path) -> BTreeSet<String> {
    std::fs::read_dir(folder)
        .unwrap_or_else(|error| panic!("reading {}: {error}", folder.display()))
        .map(|entry| entry.expect("directory entry"))
        .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_dir()))
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect()
}

/// Functions behind a Lambda function URL rather than `dispatch`: their samples are HTTP
/// requests, checked by their own test modules (`webhook.rs`, `control.rs`), not here.
fn is_http_function(name: &str) -> bool {
    ferry_handlers::function(name).is_some_and(|function| function.invoked == Invoked::Http)
}

/// Every `events/<function>/<case>.json` of a dispatched function, as (function, case file,
/// parsed JSON).
fn sample_events() -> Vec<(String, PathBuf, Value)> {
    let events = repository_root().join("events");
    let mut found = Vec::new();
    for function in directories(&events) {
        if is_http_function(&function) {
            continue;
        }
        let mut files: Vec<PathBuf> = std::fs::read_dir(events.join(&function))
            .expect("reading an events folder")
            .map(|entry| entry.expect("directory entry").path())
            .collect();
        files.sort();
        for path in files {
            assert_eq!(
                path.extension().and_then(|ext| ext.to_str()),
                Some("json"),
                "{} is not a .json sample event",
                path.display()
            );
            let text = std::fs::read_to_string(&path).expect("reading a sample event");
            let value: Value = serde_json::from_str(&text)
                .unwrap_or_else(|error| panic!("{} is not JSON: {error}", path.display()));
            found.push((function.clone(), path, value));
        }
    }
    found
}

/// GitHub ports with nothing in them.
fn empty_github() -> ferry_handlers::GithubDeps {
    use ferry_testing::memory::{
        MemoryBranches, MemoryEvents, MemoryPollState, MemoryPullRequests,
    };
    ferry_handlers::GithubDeps {
        pulls: Arc::new(MemoryPullRequests::new()),
        branches: Arc::new(MemoryBranches::new()),
        poll_state: Arc::new(MemoryPollState::new()),
        events: Arc::new(MemoryEvents::new()),
        tracked: Vec::new(),
    }
}

/// Parses `value` as `T` and writes it back: a key of the sample that the type drops is a typo
/// serde would silently ignore (`"weigth": 80`), so it fails here.
fn round_trip<T: DeserializeOwned + Serialize>(path: &Path, value: &Value) -> Value {
    let typed: T = serde_json::from_value(value.clone())
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    let back = serde_json::to_value(typed).expect("input types serialize");
    for key in value.as_object().expect("a JSON object").keys() {
        assert!(
            back.get(key).is_some(),
            "{}: `{key}` is not a field of the input type",
            path.display()
        );
    }
    back
}

/// The input type the Lambda binary of `function` deserializes.
fn parse_as_the_function_does(function: &str, path: &Path, value: &Value) {
    use ferry_handlers::{
        DeploymentRef, check_alarms, finalize, plan, rollback, shift_weights, wait_token,
    };
    match function {
        "plan" => drop(round_trip::<plan::PlanInput>(path, value)),
        "create-taskset" | "wait-stable" => drop(round_trip::<DeploymentRef>(path, value)),
        "approval" | "bake" => drop(round_trip::<wait_token::WaitTokenInput>(path, value)),
        "shift-weights" => drop(round_trip::<shift_weights::ShiftInput>(path, value)),
        "check-alarms" => drop(round_trip::<check_alarms::CheckAlarmsInput>(path, value)),
        "run-hooks" => drop(round_trip::<ferry_handlers::run_hooks::RunHooksInput>(
            path, value,
        )),
        "finalize" => drop(round_trip::<finalize::FinalizeInput>(path, value)),
        "rollback" => drop(round_trip::<rollback::RollbackInput>(path, value)),
        "pr-plan" => drop(round_trip::<ferry_handlers::pr_plan::PrPlanInput>(
            path, value,
        )),
        "poller" => drop(round_trip::<ferry_handlers::poll::PollInput>(path, value)),
        "push-deploy" => {
            // The detail of a push on the bus, which carries more than push-deploy reads: it
            // must be exactly what its publisher makes.
            let input: ferry_handlers::push_deploy::PushInput =
                serde_json::from_value(value.clone())
                    .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
            match input.push.seen_by.as_deref() {
                Some("webhook") => drop(round_trip::<ferry_core::events::WebhookPushDetail>(
                    path, value,
                )),
                Some("poller") => assert_eq!(
                    value,
                    &ferry_handlers::poll::push_detail(
                        &input.push.repository,
                        &input.push.branch,
                        &input.push.before,
                        &input.push.after,
                        input.push.changed_paths.clone(),
                    ),
                    "{}: not what the poller publishes",
                    path.display()
                ),
                other => panic!("{}: seenBy {other:?}", path.display()),
            }
        }
        "converge" => {
            // The whole EventBridge event of a deploy execution's end; the function reads its
            // detail, and reconciles every waiting service whatever the detail says.
            assert_eq!(value["source"], "aws.states", "{}", path.display());
            assert_eq!(
                value["detail-type"],
                "Step Functions Execution Status Change",
                "{}",
                path.display()
            );
            let rule =
                ferry_local::EventPattern::parse(ferry_local::RuleFiles::DEPLOY_ENDED).unwrap();
            assert!(
                rule.matches(value),
                "{}: deploy-ended.json misses it",
                path.display()
            );
            let input: ferry_handlers::converge::ConvergeInput =
                serde_json::from_value(value["detail"].clone())
                    .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
            assert_eq!(input.service_key, None, "{}", path.display());
        }
        "alarm-watch" => {
            // functions/alarm-watch takes the whole EventBridge event and hands on its detail.
            use aws_lambda_events::event::cloudwatch_events::CloudWatchEvent;
            let event: CloudWatchEvent<ferry_handlers::alarm_watch::AlarmStateChange> =
                serde_json::from_value(value.clone())
                    .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
            assert_eq!(
                event.detail_type.as_deref(),
                Some("CloudWatch Alarm State Change")
            );
            assert_eq!(event.source.as_deref(), Some("aws.cloudwatch"));
            let detail = event.detail.expect("the event has a detail");
            assert!(
                event
                    .resources
                    .iter()
                    .any(|arn| arn.ends_with(&format!(":alarm:{}", detail.alarm_name))),
                "{}: resources name the alarm",
                path.display()
            );
            for key in ["version", "id", "account", "time", "region"] {
                assert!(value.get(key).is_some(), "{}: no `{key}`", path.display());
            }
            for key in ["state", "previousState"] {
                for field in ["value", "reason", "reasonData", "timestamp"] {
                    assert!(
                        value["detail"][key].get(field).is_some(),
                        "{}: no detail.{key}.{field}",
                        path.display()
                    );
                }
            }
            assert!(value["detail"].get("configuration").is_some());
        }
        other => panic!("no input type known for function {other}"),
    }
}

#[test]
fn every_function_has_sample_events_and_every_sample_folder_is_a_function() {
    let root = repository_root();
    let functions = directories(&root.join("functions"));
    let events = directories(&root.join("events"));
    let declared: BTreeSet<String> = FUNCTIONS
        .iter()
        .map(|function| function.name.to_string())
        .collect();

    assert_eq!(events, functions, "events/ and functions/ differ");
    assert_eq!(
        declared, functions,
        "ferry_handlers::FUNCTIONS and functions/ differ"
    );
    for function in &events {
        let cases = std::fs::read_dir(root.join("events").join(function))
            .expect("reading an events folder")
            .count();
        assert!(cases > 0, "events/{function} has no sample event");
    }
}

#[test]
fn every_sample_event_parses_into_its_functions_input_type() {
    let samples = sample_events();
    assert!(samples.len() >= ferry_handlers::event_functions().count());
    for (function, path, value) in &samples {
        parse_as_the_function_does(function, path, value);
    }
}

#[tokio::test]
async fn every_sample_event_reaches_its_handler_and_fails_only_on_business_grounds() {
    for (function, path, value) in sample_events() {
        let mut deps = memory_deps();
        let shown = path.display();
        if function == "pr-plan" || function == "poller" {
            // The GitHub functions, against an empty in-memory GitHub: nothing to plan, and
            // the tracked branches do not exist.
            deps.github = Some(Arc::new(empty_github()));
            let result = ferry_handlers::dispatch(&deps, &function, value).await;
            if let Err(error) = &result {
                assert!(
                    !error.message.starts_with("invalid input for"),
                    "{shown}: {}",
                    error.message
                );
            }
            continue;
        }
        match ferry_handlers::dispatch(&deps, &function, value).await {
            // alarm-watch with nothing in flight, push-deploy at a commit without manifests,
            // converge with no push waiting.
            Ok(output) => assert!(
                function == "alarm-watch"
                    || (function == "push-deploy" && output["started"] == serde_json::json!([]))
                    || (function == "converge" && output == serde_json::json!({"services": []})),
                "{shown}: only alarm-watch, push-deploy and converge succeed with nothing there, got {output}"
            ),
            Err(error) => {
                assert!(
                    !error.message.starts_with("invalid input for"),
                    "{shown}: {}",
                    error.message
                );
                // Nothing exists in the fakes: the deployment, or for plan the manifest.
                let expected = if function == "plan" {
                    ErrorKind::InvalidManifest
                } else {
                    ErrorKind::NonRetryable
                };
                assert_eq!(error.kind, expected, "{shown}: {}", error.message);
                assert!(
                    error.message.contains("does not exist"),
                    "{shown}: {}",
                    error.message
                );
            }
        }
    }
}

#[tokio::test]
async fn the_alarm_watch_samples_name_their_alarm_and_state() {
    let deps = memory_deps();
    let root = repository_root().join("events/alarm-watch");
    for (case, state) in [("alarm.json", "ALARM"), ("ok.json", "OK")] {
        let value: Value =
            serde_json::from_str(&std::fs::read_to_string(root.join(case)).expect("sample"))
                .expect("JSON");
        assert_eq!(value["detail"]["state"]["value"], state, "{case}");
        let output = ferry_handlers::dispatch(&deps, "alarm-watch", value)
            .await
            .expect("alarm-watch with nothing in flight");
        assert_eq!(
            output,
            serde_json::json!({"alarm": "web-5xx", "failedBakes": []})
        );
    }
}
