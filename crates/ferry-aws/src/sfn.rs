//! [`WorkflowControl`] on AWS Step Functions (Standard workflows).
//!
//! Starting is idempotent by execution name. Step Functions itself returns the running execution
//! for a repeat with the same name and input; for one that has already ended it answers
//! `ExecutionAlreadyExists`, and so do emulators in more cases. Either way the existing execution
//! is looked up and returned when its input is the same: a handler retried by Step Functions
//! must not fail because its first attempt got through.

use async_trait::async_trait;
use aws_sdk_sfn::Client;
use aws_sdk_sfn::types::ExecutionStatus;
use ferry_core::ports::{ExecutionRef, PortError, PortResult, Workflow, WorkflowControl};
use serde_json::Value;
use time::OffsetDateTime;
use tracing::info;

use crate::cloudwatch::to_offset_date_time;
use crate::error::{code_of, port_error};

/// Step Functions limits for SendTaskFailure.
const MAX_ERROR_CHARS: usize = 256;
const MAX_CAUSE_CHARS: usize = 32_768;

/// The ARNs of Ferry's state machines. `None` where a function has no business starting one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateMachines {
    pub deploy: Option<String>,
    pub plan: Option<String>,
    pub traffic: Option<String>,
}

impl StateMachines {
    pub fn arn(&self, workflow: Workflow) -> PortResult<&str> {
        let (arn, variable) = match workflow {
            Workflow::Deploy => (&self.deploy, "FERRY_DEPLOY_STATE_MACHINE_ARN"),
            Workflow::Plan => (&self.plan, "FERRY_PLAN_STATE_MACHINE_ARN"),
            Workflow::Traffic => (&self.traffic, "FERRY_TRAFFIC_STATE_MACHINE_ARN"),
        };
        arn.as_deref().ok_or_else(|| {
            PortError::Invalid(format!(
                "no {workflow:?} state machine configured; set {variable}"
            ))
        })
    }
}

/// The Step Functions adapter.
#[derive(Debug, Clone)]
pub struct StepFunctions {
    client: Client,
    state_machines: StateMachines,
}

impl StepFunctions {
    pub fn new(client: Client, state_machines: StateMachines) -> Self {
        Self {
            client,
            state_machines,
        }
    }

    /// The execution named `name` of `state_machine`, if its input equals `input`.
    async fn existing(
        &self,
        state_machine: &str,
        name: &str,
        input: &Value,
    ) -> PortResult<ExecutionRef> {
        let arn = execution_arn(state_machine, name);
        let output = self
            .client
            .describe_execution()
            .execution_arn(&arn)
            .send()
            .await
            .map_err(|error| port_error("DescribeExecution", &format!("execution {arn}"), error))?;
        let same_input = output
            .input()
            .and_then(|text| serde_json::from_str::<Value>(text).ok())
            .is_some_and(|existing| &existing == input);
        if !same_input {
            return Err(PortError::Conflict(format!(
                "execution {name} of {state_machine} exists with a different input"
            )));
        }
        Ok(ExecutionRef {
            execution_arn: output.execution_arn().to_string(),
            started_at: to_offset_date_time(output.start_date())
                .unwrap_or(OffsetDateTime::UNIX_EPOCH),
            closed: output.status() != &ExecutionStatus::Running,
        })
    }
}

/// `arn:aws:states:R:A:stateMachine:M` and `N` give `arn:aws:states:R:A:execution:M:N`.
fn execution_arn(state_machine: &str, name: &str) -> String {
    format!(
        "{}:{name}",
        state_machine.replacen(":stateMachine:", ":execution:", 1)
    )
}

/// At most `max` characters, cut on a character boundary.
fn truncated(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

#[async_trait]
impl WorkflowControl for StepFunctions {
    async fn start(
        &self,
        workflow: Workflow,
        name: &str,
        input: &Value,
    ) -> PortResult<ExecutionRef> {
        let state_machine = self.state_machines.arn(workflow)?;
        let result = self
            .client
            .start_execution()
            .state_machine_arn(state_machine)
            .name(name)
            .input(input.to_string())
            .send()
            .await;
        match result {
            Ok(output) => {
                info!(workflow = ?workflow, execution = output.execution_arn(), "started execution");
                Ok(ExecutionRef {
                    execution_arn: output.execution_arn().to_string(),
                    started_at: to_offset_date_time(output.start_date())
                        .unwrap_or(OffsetDateTime::UNIX_EPOCH),
                    closed: false,
                })
            }
            Err(error) if code_of(&error) == Some("ExecutionAlreadyExists") => {
                self.existing(state_machine, name, input).await
            }
            Err(error) => Err(port_error(
                "StartExecution",
                &format!("execution {name} of {state_machine}"),
                error,
            )),
        }
    }

    async fn send_task_success(&self, token: &str, output: &Value) -> PortResult<()> {
        self.client
            .send_task_success()
            .task_token(token)
            .output(output.to_string())
            .send()
            .await
            .map_err(|error| port_error("SendTaskSuccess", "task token", error))?;
        Ok(())
    }

    async fn send_task_failure(&self, token: &str, error: &str, cause: &str) -> PortResult<()> {
        self.client
            .send_task_failure()
            .task_token(token)
            .error(truncated(error, MAX_ERROR_CHARS))
            .cause(truncated(cause, MAX_CAUSE_CHARS))
            .send()
            .await
            .map_err(|error| port_error("SendTaskFailure", "task token", error))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn execution_arns_follow_the_state_machine_arn() {
        assert_eq!(
            execution_arn(
                "arn:aws:states:eu-west-1:123456789012:stateMachine:ferry-deploy",
                "web-1"
            ),
            "arn:aws:states:eu-west-1:123456789012:execution:ferry-deploy:web-1"
        );
    }

    #[test]
    fn a_missing_state_machine_names_its_variable() {
        let error = StateMachines::default().arn(Workflow::Traffic).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("FERRY_TRAFFIC_STATE_MACHINE_ARN")
        );
    }

    #[test]
    fn failure_texts_are_cut_on_character_boundaries() {
        assert_eq!(truncated("ééé", 2), "éé");
    }
}
