//! The seeded world of `ferry-testing` with the handlers' ports, for unit tests.

use std::ops::Deref;

pub use ferry_testing::world::*;

use crate::plan::PlanInput;
use crate::shift_weights::ShiftInput;
use crate::{DeploymentRef, Deps, Settings, create_taskset, plan};

/// [`Fakes`] and the [`Deps`] over them (short verify delays and fence lease, so tests run
/// fast). Derefs to the fakes: `world.alb`, `world.green_weight()`.
pub struct World {
    pub fakes: Fakes,
    pub deps: Deps,
}

impl Deref for World {
    type Target = Fakes;

    fn deref(&self) -> &Fakes {
        &self.fakes
    }
}

impl World {
    pub fn new(manifest_text: &str) -> World {
        let fakes = Fakes::new(manifest_text);
        let deps = Deps {
            ecs: fakes.ecs.clone(),
            traffic: fakes.alb.clone(),
            alarms: fakes.alarms.clone(),
            store: fakes.store.clone(),
            workflows: fakes.workflows.clone(),
            git: fakes.git.clone(),
            notifier: fakes.notifier.clone(),
            clock: fakes.clock.clone(),
            settings: Settings {
                stabilization_timeout_seconds: 600,
                verify_attempts: 2,
                verify_delay: std::time::Duration::from_millis(1),
                fence_lease: std::time::Duration::from_millis(20),
            },
            github: None,
            hooks: Some(std::sync::Arc::new(crate::HookPorts {
                http: fakes.hooks.clone(),
                functions: fakes.hooks.clone(),
                tasks: fakes.hooks.clone(),
                listeners: fakes.hooks.clone(),
            })),
        };
        World { fakes, deps }
    }

    pub fn plan_input(&self, id: &str) -> PlanInput {
        PlanInput {
            deployment_id: Some(id.into()),
            repository: REPO.into(),
            commit: COMMIT.into(),
            manifest_path: MANIFEST_PATH.into(),
            branch: Some("main".into()),
            author: Some("alice".into()),
            image: None,
            desired_generation: None,
        }
    }
}

/// The input of `shift-weights` for a plan step.
pub fn shift(deployment: &str, step: usize) -> ShiftInput {
    ShiftInput {
        deployment_id: deployment.into(),
        step,
        weight: None,
    }
}

pub fn id(value: &str) -> DeploymentRef {
    DeploymentRef {
        deployment_id: value.into(),
    }
}

/// `plan` then `create-taskset`, both expected to pass.
pub async fn planned_and_created(world: &World, deployment: &str) {
    plan::handle(&world.deps, world.plan_input(deployment))
        .await
        .unwrap();
    create_taskset::handle(&world.deps, id(deployment))
        .await
        .unwrap();
}
