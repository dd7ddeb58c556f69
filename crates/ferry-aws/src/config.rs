//! Configuration by environment, the same in Lambda and locally, and the SDK clients built once.

use aws_config::{BehaviorVersion, SdkConfig};

use crate::cloudwatch::CloudWatchAlarms;
use crate::dynamodb::DynamoStore;
use crate::ecs::EcsTaskSets;
use crate::elb::AlbRouter;
use crate::sfn::{StateMachines, StepFunctions};

/// Loads the shared SDK configuration from the standard sources: `AWS_REGION`, credentials of
/// the Lambda role (or the usual chain locally), and `AWS_ENDPOINT_URL` (set only to reach an
/// emulator such as moto; aws-config reads it, and `AWS_ENDPOINT_URL_<SERVICE>` per service).
///
/// Call it once at cold start and build every client from the result.
pub async fn load_sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

/// Every client Ferry uses, built from one [`SdkConfig`]. Clients are cheap to clone (they share
/// their connection pool), so adapters take them by value.
#[derive(Debug, Clone)]
pub struct AwsClients {
    pub ecs: aws_sdk_ecs::Client,
    pub elb: aws_sdk_elasticloadbalancingv2::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sfn: aws_sdk_sfn::Client,
}

impl AwsClients {
    pub fn new(config: &SdkConfig) -> Self {
        Self {
            ecs: aws_sdk_ecs::Client::new(config),
            elb: aws_sdk_elasticloadbalancingv2::Client::new(config),
            cloudwatch: aws_sdk_cloudwatch::Client::new(config),
            dynamodb: aws_sdk_dynamodb::Client::new(config),
            sfn: aws_sdk_sfn::Client::new(config),
        }
    }

    /// [`load_sdk_config`] then [`AwsClients::new`].
    pub async fn from_env() -> Self {
        Self::new(&load_sdk_config().await)
    }

    pub fn task_sets(&self) -> EcsTaskSets {
        EcsTaskSets::new(self.ecs.clone())
    }

    pub fn router(&self) -> AlbRouter {
        AlbRouter::new(self.elb.clone())
    }

    pub fn alarms(&self) -> CloudWatchAlarms {
        CloudWatchAlarms::new(self.cloudwatch.clone())
    }

    pub fn store(&self, resources: &Resources) -> DynamoStore {
        DynamoStore::new(self.dynamodb.clone(), resources.table.clone())
    }

    pub fn workflows(&self, resources: &Resources) -> StepFunctions {
        StepFunctions::new(self.sfn.clone(), resources.state_machines.clone())
    }
}

/// The names of the AWS resources Ferry uses (its table, bus and state machines), read from the
/// environment once per host. (The handlers' tunables are `ferry_handlers::Resources`.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resources {
    /// `FERRY_TABLE`, default `ferry`.
    pub table: String,
    /// `FERRY_EVENT_BUS`, default `ferry`.
    pub event_bus: String,
    /// `FERRY_DEPLOY_STATE_MACHINE_ARN`, `FERRY_PLAN_STATE_MACHINE_ARN`,
    /// `FERRY_TRAFFIC_STATE_MACHINE_ARN`; only the functions that start executions need them.
    pub state_machines: StateMachines,
}

impl Default for Resources {
    fn default() -> Self {
        Self {
            table: "ferry".into(),
            event_bus: "ferry".into(),
            state_machines: StateMachines::default(),
        }
    }
}

impl Resources {
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`Resources::from_env`] with any source of variables, so tests need not touch the
    /// process environment. Empty values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let get = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let defaults = Self::default();
        Self {
            table: get("FERRY_TABLE").unwrap_or(defaults.table),
            event_bus: get("FERRY_EVENT_BUS").unwrap_or(defaults.event_bus),
            state_machines: StateMachines {
                deploy: get("FERRY_DEPLOY_STATE_MACHINE_ARN"),
                plan: get("FERRY_PLAN_STATE_MACHINE_ARN"),
                traffic: get("FERRY_TRAFFIC_STATE_MACHINE_ARN"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_default_to_ferry_and_read_state_machine_arns() {
        let resources = Resources::from_lookup(|name| match name {
            "FERRY_DEPLOY_STATE_MACHINE_ARN" => {
                Some("arn:aws:states:eu-west-1:123456789012:stateMachine:ferry-deploy".into())
            }
            "FERRY_EVENT_BUS" => Some("".into()),
            _ => None,
        });
        assert_eq!(resources.table, "ferry");
        assert_eq!(resources.event_bus, "ferry");
        assert_eq!(
            resources.state_machines.deploy.as_deref(),
            Some("arn:aws:states:eu-west-1:123456789012:stateMachine:ferry-deploy")
        );
        assert_eq!(resources.state_machines.plan, None);
    }
}
