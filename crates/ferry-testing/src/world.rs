//! The seeded world: one ECS service ready for blue/green, in fakes.

use std::sync::Arc;

use ferry_core::ports::*;
use time::macros::datetime;

use crate::memory::*;

pub const REPO: &str = "acme/shop";
pub const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";
pub const MANIFEST_PATH: &str = ".ferry/web.yaml";
pub const CLUSTER: &str = "shop";
pub const SERVICE: &str = "web";
pub const BLUE_ID: &str = "ecs-svc/blue";
pub const LISTENER: &str = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2";
pub const BLUE_TG: &str =
    "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web-blue/6d0ecf831eec9f09";
pub const GREEN_TG: &str =
    "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web-green/a8d4b3e1f2c7d6e5";
/// The guarding alarm of the seeded manifest, OK at first.
pub const ALARM: &str = "web-5xx";

/// `ecs/web.json` at [`COMMIT`].
pub const TASK_DEFINITION: &str = r#"{"family": "web", "containerDefinitions": [{"name": "web", "image": "shop/web:${GIT_SHA}", "memory": 256, "portMappings": [{"containerPort": 8080}]}]}"#;

/// A manifest for the seeded service: `strategy` is the YAML under `strategy:`, `extra` more
/// top-level lines (approval, rollback, ...).
pub fn manifest(strategy: &str, extra: &str) -> String {
    format!(
        "service: {SERVICE}\ncluster: {CLUSTER}\ntaskDefinition: ../ecs/web.json\ncontainer: {{ name: web, port: 8080 }}\ntraffic:\n  listener: {LISTENER}\n  targetGroups: [{BLUE_TG}, {GREEN_TG}]\nstrategy:\n  {strategy}\nalarms: [{ALARM}]\n{extra}"
    )
}

/// The production listener's route.
pub fn route() -> RouteRef {
    RouteRef {
        listener_arn: LISTENER.into(),
        rule_arn: None,
    }
}

/// A test listener on the seeded load balancer (`traffic.testListener`).
pub const TEST_LISTENER: &str = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/shop/50dc6c495c0c9188/7e57c0ffee000001";

/// The test listener's route.
pub fn test_route() -> RouteRef {
    RouteRef {
        listener_arn: TEST_LISTENER.into(),
        rule_arn: None,
    }
}

/// `manifest_text` (from [`manifest`]) with `traffic.testListener: TEST_LISTENER`.
pub fn with_test_listener(manifest_text: &str) -> String {
    manifest_text.replace(
        "  listener: ",
        &format!("  testListener: {TEST_LISTENER}\n  listener: "),
    )
}

/// The test listener forwarding to blue, as production does before a deployment.
pub fn put_test_listener(alb: &MemoryAlb) {
    alb.put_route(
        test_route(),
        vec![TargetGroupWeight {
            target_group_arn: BLUE_TG.into(),
            weight: 1,
        }],
    );
}

/// The fakes of the seeded world, each shared (`Arc`) so a test can both hand it to the code
/// under test and look inside.
pub struct Fakes {
    pub ecs: Arc<MemoryEcs>,
    pub alb: Arc<MemoryAlb>,
    pub alarms: Arc<MemoryAlarms>,
    pub store: Arc<MemoryStore>,
    pub workflows: Arc<MemoryWorkflows>,
    /// Holds `manifest_text` at [`MANIFEST_PATH`] and [`TASK_DEFINITION`] at [`COMMIT`].
    pub git: Arc<MemoryGit>,
    pub notifier: Arc<MemoryNotifier>,
    /// 2026-11-22 10:00 UTC until moved.
    pub clock: Arc<FakeClock>,
    /// What verification hooks call, scripted.
    pub hooks: Arc<crate::hooks::MemoryHooks>,
}

impl Fakes {
    pub fn new(manifest_text: &str) -> Fakes {
        let fakes = Fakes {
            ecs: Arc::new(MemoryEcs::new()),
            alb: Arc::new(MemoryAlb::new()),
            alarms: Arc::new(MemoryAlarms::new()),
            store: Arc::new(MemoryStore::new()),
            workflows: Arc::new(MemoryWorkflows::new()),
            git: Arc::new(MemoryGit::new()),
            notifier: Arc::new(MemoryNotifier::new()),
            clock: Arc::new(FakeClock::at(datetime!(2026-11-22 10:00:00 UTC))),
            hooks: Arc::new(crate::hooks::MemoryHooks::new()),
        };
        fakes.ecs.put_service(CLUSTER, blue_service());
        fakes.alb.put_route(
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
        fakes.alarms.set(ALARM, AlarmState::Ok, "fine");
        fakes.git.put(REPO, COMMIT, MANIFEST_PATH, manifest_text);
        fakes.git.put(REPO, COMMIT, "ecs/web.json", TASK_DEFINITION);
        fakes
    }

    /// Green's share of the production listener, in percent.
    pub fn green_weight(&self) -> u32 {
        self.weight_of(GREEN_TG)
    }

    /// Blue's share of the production listener, in percent.
    pub fn blue_weight(&self) -> u32 {
        self.weight_of(BLUE_TG)
    }

    fn weight_of(&self, target_group: &str) -> u32 {
        self.alb
            .weights(&route())
            .unwrap_or_default()
            .iter()
            .filter(|entry| entry.target_group_arn == target_group)
            .map(|entry| entry.weight)
            .sum()
    }
}

/// `shop/web` on the EXTERNAL controller, with one blue task set, PRIMARY, steady, 2 of 2
/// running, on the blue target group.
pub fn blue_service() -> ServiceInfo {
    ServiceInfo {
        arn: "arn:aws:ecs:eu-west-1:123456789012:service/shop/web".into(),
        name: SERVICE.into(),
        cluster_arn: "arn:aws:ecs:eu-west-1:123456789012:cluster/shop".into(),
        status: "ACTIVE".into(),
        deployment_controller: "EXTERNAL".into(),
        desired_count: 2,
        task_sets: vec![TaskSetInfo {
            id: BLUE_ID.into(),
            arn: "arn:aws:ecs:eu-west-1:123456789012:task-set/shop/web/ecs-svc/blue".into(),
            external_id: None,
            status: TaskSetStatus::Primary,
            task_definition_arn: "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:1".into(),
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
    }
}
