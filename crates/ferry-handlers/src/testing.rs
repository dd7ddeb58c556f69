//! A world of in-memory fakes with one service ready for blue/green, for unit tests.

use std::sync::Arc;

use ferry_core::memory::*;
use ferry_core::ports::*;
use time::macros::datetime;

use crate::plan::PlanInput;
use crate::shift_weights::ShiftInput;
use crate::{DeploymentRef, Deps, Settings, create_taskset, plan};

pub const REPO: &str = "acme/shop";
pub const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";
pub const LISTENER: &str = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2";
pub const BLUE_TG: &str =
    "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web-blue/6d0ecf831eec9f09";
pub const GREEN_TG: &str =
    "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web-green/a8d4b3e1f2c7d6e5";

pub struct World {
    pub ecs: Arc<MemoryEcs>,
    pub alb: Arc<MemoryAlb>,
    pub alarms: Arc<MemoryAlarms>,
    pub store: Arc<MemoryStore>,
    pub workflows: Arc<MemoryWorkflows>,
    /// Holds `.ferry/web.yaml` and `ecs/web.json` at [`COMMIT`].
    pub git: Arc<MemoryGit>,
    pub notifier: Arc<MemoryNotifier>,
    pub clock: Arc<FakeClock>,
    pub deps: Deps,
}

pub fn manifest(strategy: &str, extra: &str) -> String {
    format!(
        "service: web\ncluster: shop\ntaskDefinition: ../ecs/web.json\ncontainer: {{ name: web, port: 8080 }}\ntraffic:\n  listener: {LISTENER}\n  targetGroups: [{BLUE_TG}, {GREEN_TG}]\nstrategy:\n  {strategy}\nalarms: [web-5xx]\n{extra}"
    )
}

pub const TASK_DEFINITION: &str = r#"{"family": "web", "containerDefinitions": [{"name": "web", "image": "shop/web:${GIT_SHA}", "memory": 256, "portMappings": [{"containerPort": 8080}]}]}"#;

pub fn route() -> RouteRef {
    RouteRef {
        listener_arn: LISTENER.into(),
        rule_arn: None,
    }
}

impl World {
    pub fn new(manifest_text: &str) -> World {
        let ecs = Arc::new(MemoryEcs::new());
        let alb = Arc::new(MemoryAlb::new());
        let alarms = Arc::new(MemoryAlarms::new());
        let store = Arc::new(MemoryStore::new());
        let workflows = Arc::new(MemoryWorkflows::new());
        let git = Arc::new(MemoryGit::new());
        let notifier = Arc::new(MemoryNotifier::new());
        let clock = Arc::new(FakeClock::at(datetime!(2026-11-22 10:00:00 UTC)));
        ecs.put_service(
            "shop",
            ServiceInfo {
                arn: "arn:aws:ecs:eu-west-1:123456789012:service/shop/web".into(),
                name: "web".into(),
                cluster_arn: "arn:aws:ecs:eu-west-1:123456789012:cluster/shop".into(),
                status: "ACTIVE".into(),
                deployment_controller: "EXTERNAL".into(),
                desired_count: 2,
                task_sets: vec![TaskSetInfo {
                    id: "ecs-svc/blue".into(),
                    arn: "arn:aws:ecs:eu-west-1:123456789012:task-set/shop/web/ecs-svc/blue".into(),
                    external_id: None,
                    status: TaskSetStatus::Primary,
                    task_definition_arn: "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:1"
                        .into(),
                    target_group_arns: vec![BLUE_TG.into()],
                    steady: true,
                    scale_percent: 100.0,
                    computed_desired_count: 2,
                    running_count: 2,
                    pending_count: 0,
                    placement: Placement {
                        network: Some(NetworkConfig {
                            subnets: vec!["subnet-1".into()],
                            security_groups: vec!["sg-1".into()],
                            assign_public_ip: false,
                        }),
                        launch_type: Some("FARGATE".into()),
                        capacity_providers: vec![],
                        platform_version: None,
                    },
                }],
            },
        );
        alb.put_route(
            route(),
            vec![
                TargetGroupWeight {
                    target_group_arn: BLUE_TG.into(),
                    weight: 100,
                },
                TargetGroupWeight {
                    target_group_arn: GREEN_TG.into(),
                    weight: 0,
                },
            ],
        );
        alarms.set("web-5xx", AlarmState::Ok, "fine");
        git.put(REPO, COMMIT, ".ferry/web.yaml", manifest_text);
        git.put(REPO, COMMIT, "ecs/web.json", TASK_DEFINITION);
        let deps = Deps {
            ecs: ecs.clone(),
            traffic: alb.clone(),
            alarms: alarms.clone(),
            store: store.clone(),
            workflows: workflows.clone(),
            git: git.clone(),
            notifier: notifier.clone(),
            clock: clock.clone(),
            settings: Settings {
                stabilization_timeout_seconds: 600,
                verify_attempts: 2,
                verify_delay: std::time::Duration::from_millis(1),
                fence_lease: std::time::Duration::from_millis(20),
            },
        };
        World {
            ecs,
            alb,
            alarms,
            store,
            workflows,
            git,
            notifier,
            clock,
            deps,
        }
    }

    pub fn plan_input(&self, id: &str) -> PlanInput {
        PlanInput {
            deployment_id: Some(id.into()),
            repository: REPO.into(),
            commit: COMMIT.into(),
            manifest_path: ".ferry/web.yaml".into(),
            branch: Some("main".into()),
            author: Some("alice".into()),
            image: None,
        }
    }

    pub fn green_weight(&self) -> u32 {
        self.alb
            .weights(&route())
            .unwrap()
            .iter()
            .filter(|entry| entry.target_group_arn == GREEN_TG)
            .map(|entry| entry.weight)
            .sum()
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
