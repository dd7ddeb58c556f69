//! `create-taskset`: register the task definition and start green on the idle target group.
//!
//! Idempotent: the deployment id is the task set's external id, so a retry finds the task set
//! it already created instead of making a second one; the ECS adapter also sends a client token
//! derived from it and, when an answer is lost, looks the task set up before trying again.

use ferry_core::deployment::{FenceAction, TaskSetRef};
use ferry_core::ports::{NewTaskSet, Placement};
use serde::{Deserialize, Serialize};
use tracing::info;

use crate::error::port;
use crate::record::{load, save};
use crate::{DeploymentRef, Deps, HandlerError, fence};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateTaskSetOutput {
    pub deployment_id: String,
    pub task_set_id: String,
    pub task_definition_arn: String,
}

pub async fn handle(
    deps: &Deps,
    input: DeploymentRef,
) -> Result<CreateTaskSetOutput, HandlerError> {
    let mut deployment = load(deps, &input.deployment_id).await?;
    fence::refuse_unless_moving_forward(&deployment)?;
    if let Some(green) = &deployment.green {
        return Ok(CreateTaskSetOutput {
            deployment_id: deployment.id.clone(),
            task_set_id: green.id.clone(),
            task_definition_arn: green.task_definition_arn.clone(),
        });
    }
    let service = deps
        .ecs
        .describe_service(&deployment.cluster, &deployment.service)
        .await
        .map_err(port("describing the service"))?;

    let task_set = match service.task_set_with_external_id(&deployment.id) {
        Some(existing) => existing.clone(),
        None => {
            // A rollback that starts while this call is in flight waits for the fence, then
            // removes whatever carries the deployment id.
            fence::raise(deps, &mut deployment, FenceAction::CreateTaskSet).await?;
            let task_definition_arn = deps
                .ecs
                .register_task_definition(&deployment.task_definition)
                .await
                .map_err(port("registering the task definition"))?;
            // Green runs where the manifest's `network:` says, else where and how blue runs.
            let placement = deployment.placement.clone().unwrap_or_else(|| {
                service
                    .task_sets
                    .iter()
                    .find(|set| Some(&set.id) == deployment.blue.as_ref().map(|blue| &blue.id))
                    .or(service.primary_task_set())
                    .map(|blue| blue.placement.clone())
                    .unwrap_or_else(Placement::default)
            });
            deps.ecs
                .create_task_set(&NewTaskSet {
                    cluster: deployment.cluster.clone(),
                    service: deployment.service.clone(),
                    task_definition_arn,
                    external_id: deployment.id.clone(),
                    target_group_arn: deployment.green_target_group.clone(),
                    container_name: deployment.container_name.clone(),
                    container_port: deployment.container_port,
                    placement,
                    scale_percent: 100.0,
                })
                .await
                .map_err(port("creating the green task set"))?
        }
    };

    let now = deps.clock.now();
    let green = TaskSetRef {
        id: task_set.id.clone(),
        arn: task_set.arn.clone(),
        task_definition_arn: task_set.task_definition_arn.clone(),
        target_group_arn: deployment.green_target_group.clone(),
    };
    deployment.green_created(now, green);
    save(deps, &mut deployment).await?;
    info!(deployment = %deployment.id, task_set = %task_set.id, "green task set created");
    Ok(CreateTaskSetOutput {
        deployment_id: deployment.id,
        task_set_id: task_set.id,
        task_definition_arn: task_set.task_definition_arn,
    })
}
