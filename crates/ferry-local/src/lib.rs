//! Ferry on one machine.
//!
//! Production runs the handlers in Lambda, the state machines in Step Functions, and learns of
//! alarms from EventBridge. Locally, [`LocalRuntime`] runs the very same `statemachines/` files
//! on `ferry-engine`, dispatches their Task states to the handler functions in-process, answers
//! task tokens through the engine, and [`AlarmWatcher`] turns alarm state changes into the
//! EventBridge event `alarm-watch` receives in AWS, so the production code path is exercised;
//! [`AnswerRelay`] delivers answers given in other processes (`ferry approve ID --local`) to
//! the waits of this process's engine.
//! [`LocalRouter`] routes events on Ferry's bus with the rule files Terraform gives EventBridge
//! ([`EventPattern`]): a push starts the deploy workflow for each manifest it touches.
//! AWS APIs themselves are whatever `AWS_ENDPOINT_URL` points at (the moto emulator).

mod alarms;
mod git;
pub mod pattern;
mod relay;
mod routing;
mod runtime;

pub use alarms::{AlarmWatcher, alarm_state_change_event};
pub use git::LocalRepository;
pub use pattern::{EventPattern, PatternError, RuleFiles};
pub use relay::AnswerRelay;
pub use routing::{LocalRouter, envelope, parse_repository_map};
pub use runtime::{
    EngineWorkflows, HandlerDispatcher, LocalRuntime, StateMachineFiles, Watching, function_arn,
};
