//! Ferry's local Step Functions engine.
//!
//! It runs the very files in `statemachines/*.asl.json` (Amazon States Language, JSONPath query
//! language, Standard workflows) in-process, dispatching Task states to a [`TaskDispatcher`] the
//! caller implements. Production runs on AWS Step Functions, so the rule is **fidelity over
//! breadth**: every construct the engine accepts behaves as on AWS, and everything else is
//! refused at load time with the state name, the field and what is unsupported.
//!
//! ```no_run
//! # use std::{collections::BTreeMap, sync::Arc};
//! # use ferry_engine::*;
//! # async fn demo(dispatcher: Arc<dyn TaskDispatcher>, template: &str, bindings: BTreeMap<String, String>) -> Result<(), EngineError> {
//! let machine = load(&bind_placeholders(template, &bindings)?)?;
//! let executor = Executor::new(machine, dispatcher, EngineOptions { time_scale: 0.001, ..Default::default() });
//! let execution = executor.start("deploy-web-42", serde_json::json!({"service": "web"}))?;
//! let outcome = execution.wait().await;
//! assert!(outcome.succeeded());
//! # Ok(()) }
//! ```
//!
//! # Supported
//!
//! - **States**: Pass (Result, Parameters, ResultPath), Task, Choice, Wait (Seconds,
//!   SecondsPath, Timestamp, TimestampPath), Succeed, Fail (Error/Cause, ErrorPath/CausePath),
//!   Parallel, inline Map (ItemProcessor or legacy Iterator, ItemsPath, ItemSelector or legacy
//!   Parameters, MaxConcurrency).
//! - **Input/output processing** in AWS order: InputPath → Parameters → task → ResultSelector →
//!   ResultPath → OutputPath, with `null` InputPath/OutputPath (`{}`) and ResultPath (discard).
//! - **Paths**: `$`, `$.a.b`, `$['a']`, `$.a[0]`, `$.a[-1]`; context object `$$.Execution.Id|Name|
//!   Input|StartTime|RoleArn`, `$$.State.Name|EnteredTime|RetryCount`, `$$.StateMachine.Id|Name`,
//!   `$$.Task.Token` (in a `.waitForTaskToken` task's Parameters), `$$.Map.Item.Index|Value`
//!   (in ItemSelector). A path that matches nothing fails with `States.Runtime`.
//! - **Intrinsic functions**: all of them (Format, StringToJson, JsonToString, Array,
//!   ArrayPartition, ArrayContains, ArrayRange, ArrayGetItem, ArrayLength, ArrayUnique, JsonMerge,
//!   MathAdd, MathRandom, StringSplit, UUID, Hash, Base64Encode, Base64Decode), with AWS's
//!   argument checks (`States.IntrinsicFailure` on misuse).
//! - **Choice rules**: every String/Numeric/Timestamp comparison and BooleanEquals, each with its
//!   `…Path` variant, StringMatches, IsPresent/IsNull/IsNumeric/IsString/IsBoolean/IsTimestamp,
//!   And/Or/Not, Default, `States.NoChoiceMatched`.
//! - **Tasks**: a Lambda function ARN (output = the function's result), `lambda:invoke`
//!   (output = the Invoke API response with `Payload`), `lambda:invoke.waitForTaskToken`
//!   (completed through [`TaskTokens`]); TimeoutSeconds(Path) on every task, HeartbeatSeconds(Path)
//!   on callback tasks.
//! - **Errors**: Retry (IntervalSeconds, MaxAttempts, BackoffRate, MaxDelaySeconds,
//!   JitterStrategy; one attempt counter per retrier, first matching retrier wins) and Catch
//!   (ResultPath, `{"Error", "Cause"}`), `States.ALL` (alone, last), `States.TaskFailed` (all but
//!   `States.Timeout`); `States.Runtime` is terminal, never retried or caught.
//! - **Executions**: machine TimeoutSeconds, abort, history with timestamps, live events, and a
//!   billable state-transition count (see [`executor`] for the rule and its source).
//!
//! # Refused at load time
//!
//! JSONata (`QueryLanguage: JSONata`, Arguments, Output, Condition), variables (Assign),
//! Distributed Map (ItemReader, ItemBatcher, ResultWriter, tolerated failures, non-INLINE
//! ProcessorConfig), MaxConcurrencyPath, Credentials, every resource other than the three Lambda
//! forms (activities, `.sync`, other service integrations, AWS SDK integrations), lambda:invoke
//! parameters other than FunctionName and Payload (both required), HeartbeatSeconds on non-callback tasks,
//! multi-value JSONPath (wildcards, deep scan, slices, unions, filters, functions), unknown
//! fields, dangling or missing transitions and unreachable states.

pub mod choice;
pub mod definition;
mod digest;
pub mod error;
pub mod executor;
pub mod history;
pub mod intrinsics;
pub mod loader;
pub mod path;
pub mod payload;
mod run;
pub mod template;
pub mod timestamp;
pub mod tokens;

pub use definition::{StateMachine, check_supported};
pub use error::{AslError, EngineError};
pub use executor::{
    AbortHandle, EngineOptions, Execution, ExecutionOutcome, ExecutionStatus, Executor,
    TaskDispatcher, TaskFailure,
};
pub use history::{EventKind, HistoryEvent};
pub use template::{bind_placeholders, placeholders};
pub use tokens::{PendingTask, TaskResult, TaskTokens};

/// Parse and validate a definition whose placeholders are already bound.
pub fn load(definition_json: &str) -> Result<StateMachine, EngineError> {
    StateMachine::from_json(definition_json)
}

/// Bind a `templatefile`-style definition, then load it.
pub fn load_template(
    template: &str,
    bindings: &std::collections::BTreeMap<String, String>,
) -> Result<StateMachine, EngineError> {
    load(&bind_placeholders(template, bindings)?)
}
