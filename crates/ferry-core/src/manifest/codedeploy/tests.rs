use super::*;
use crate::manifest::READ_ONLY_FIELDS;

/// The workshop's shape: one TargetService with its load balancer, Fargate networking, and
/// the five hooks.
const APPSPEC: &str = r#"version: 0.0
Resources:
  - TargetService:
      Type: AWS::ECS::Service
      Properties:
        TaskDefinition: <TASK_DEFINITION>
        LoadBalancerInfo:
          ContainerName: "web"
          ContainerPort: 8080
        PlatformVersion: "LATEST"
        NetworkConfiguration:
          AwsvpcConfiguration:
            Subnets: ["subnet-0a1", "subnet-0b2"]
            SecurityGroups: ["sg-0c3"]
            AssignPublicIp: "DISABLED"
Hooks:
  - BeforeInstall: "ferry-before-install"
  - AfterAllowTestTraffic: "arn:aws:lambda:eu-west-1:123456789012:function:smoke-test"
"#;

/// As `aws ecs describe-task-definition` prints it, with CodePipeline's image placeholder.
const TASKDEF: &str = r#"{"taskDefinition": {
  "taskDefinitionArn": "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:7",
  "family": "web", "revision": 7, "status": "ACTIVE",
  "requiresAttributes": [{"name": "com.amazonaws.ecs.capability.docker-remote-api.1.18"}],
  "compatibilities": ["EC2", "FARGATE"], "registeredAt": "2026-11-01T10:00:00Z",
  "registeredBy": "arn:aws:sts::123456789012:assumed-role/deployer/ci",
  "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512",
  "executionRoleArn": "arn:aws:iam::123456789012:role/web-execution",
  "containerDefinitions": [{"name": "web", "image": "<IMAGE1_NAME>", "essential": true,
    "portMappings": [{"containerPort": 8080, "protocol": "tcp"}]}]
}}"#;

const LISTENER: &str = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2";
const TEST_LISTENER: &str = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/shop/50dc6c495c0c9188/0467ef3c8400ae65";
const BLUE: &str =
    "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web-blue/6d0ecf831eec9f09";
const GREEN: &str =
    "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web-green/a8d4b3e1f2c7d6e5";

fn group(config: &str) -> DeploymentGroup {
    DeploymentGroup {
        cluster: "shop".into(),
        service: "web".into(),
        region: Some("eu-west-1".into()),
        listener: LISTENER.into(),
        test_listener: Some(TEST_LISTENER.into()),
        target_groups: [BLUE.into(), GREEN.into()],
        deployment_config: config.into(),
        reroute_wait_seconds: Some(30 * 60),
        continue_after_wait: false,
        termination_wait_seconds: Some(60 * 60),
        alarms: vec!["web-5xx".into()],
        image: Some("123456789012.dkr.ecr.eu-west-1.amazonaws.com/web:${GIT_SHA}".into()),
    }
}

#[test]
fn the_appspec_gives_the_container_the_network_and_the_hooks() {
    let appspec = parse_appspec("appspec.yaml", APPSPEC).unwrap();
    assert_eq!(
        appspec.container,
        ContainerTarget {
            name: "web".into(),
            port: 8080
        }
    );
    let placement = appspec.placement.unwrap();
    let network = placement.network.unwrap();
    assert_eq!(network.subnets, ["subnet-0a1", "subnet-0b2"]);
    assert!(!network.assign_public_ip);
    assert_eq!(placement.platform_version.as_deref(), Some("LATEST"));
    assert_eq!(
        appspec.hooks,
        [
            (
                "BeforeInstall".to_string(),
                "ferry-before-install".to_string()
            ),
            (
                "AfterAllowTestTraffic".to_string(),
                "arn:aws:lambda:eu-west-1:123456789012:function:smoke-test".to_string()
            )
        ]
    );
}

#[test]
fn a_json_appspec_reads_the_same() {
    let json = r#"{"version": 0.0, "Resources": [{"TargetService": {"Type": "AWS::ECS::Service",
      "Properties": {"TaskDefinition": "x", "LoadBalancerInfo": {"ContainerName": "web", "ContainerPort": 80}}}}]}"#;
    let appspec = parse_appspec("appspec.json", json).unwrap();
    assert_eq!(appspec.container.port, 80);
    assert!(appspec.placement.is_none() && appspec.hooks.is_empty());
}

#[test]
fn a_bad_appspec_is_reported_where_it_is_wrong() {
    let bad = APPSPEC
        .replace("AWS::ECS::Service", "AWS::Lambda::Function")
        .replace("BeforeInstall", "BeforeInstal");
    let problems = parse_appspec("appspec.yaml", &bad).unwrap_err().to_string();
    assert!(
        problems.contains("expected AWS::ECS::Service"),
        "{problems}"
    );
    let typo = parse_appspec(
        "appspec.yaml",
        &APPSPEC.replace("BeforeInstall", "BeforeInstal"),
    )
    .unwrap_err()
    .to_string();
    assert!(typo.contains("did you mean `BeforeInstall`"), "{typo}");
    let no_port = parse_appspec("appspec.yaml", &APPSPEC.replace("ContainerPort: 8080", ""))
        .unwrap_err()
        .to_string();
    assert!(no_port.contains("ContainerPort"), "{no_port}");
}

#[test]
fn every_codedeploy_default_ecs_configuration_has_its_strategy() {
    let cases = [
        ("CodeDeployDefault.ECSAllAtOnce", "all at once"),
        ("CodeDeployDefault.ECSCanary10Percent5Minutes", "canary 10%"),
        (
            "CodeDeployDefault.ECSCanary10Percent15Minutes",
            "canary 10%",
        ),
        (
            "CodeDeployDefault.ECSLinear10PercentEvery1Minutes",
            "linear +10%",
        ),
        (
            "CodeDeployDefault.ECSLinear10PercentEvery3Minutes",
            "linear +10%",
        ),
        ("canary:20:10", "canary 20%"),
        ("TimeBasedLinear:25:2", "linear +25%"),
    ];
    for (config, label) in cases {
        let strategy = strategy_for(config).unwrap();
        assert_eq!(
            crate::plan::Plan::new(&strategy, false).strategy_label(),
            label,
            "{config}"
        );
    }
    assert_eq!(
        strategy_for("CodeDeployDefault.ECSCanary10Percent15Minutes").unwrap(),
        Strategy::Canary {
            weight: 10,
            bake_seconds: 900
        }
    );
    assert_eq!(
        strategy_for("CodeDeployDefault.ECSLinear10PercentEvery3Minutes").unwrap(),
        Strategy::Linear {
            step: 10,
            interval_seconds: 180
        }
    );
    for bad in [
        "CodeDeployDefault.OneAtATime",
        "canary:0:5",
        "canary:10",
        "linear:10:x",
    ] {
        assert!(strategy_for(bad).is_err(), "{bad}");
    }
}

#[test]
fn the_converted_manifest_validates_and_says_what_it_could_not_carry() {
    let appspec = parse_appspec("appspec.yaml", APPSPEC).unwrap();
    for config in [
        "CodeDeployDefault.ECSAllAtOnce",
        "CodeDeployDefault.ECSCanary10Percent5Minutes",
        "CodeDeployDefault.ECSCanary10Percent15Minutes",
        "CodeDeployDefault.ECSLinear10PercentEvery1Minutes",
        "CodeDeployDefault.ECSLinear10PercentEvery3Minutes",
    ] {
        let converted = convert(&appspec, TASKDEF, &group(config), "../ecs/web.json").unwrap();
        let manifest = crate::manifest::parse_manifest(".ferry/web.yaml", &converted.manifest)
            .unwrap_or_else(|problems| panic!("{config}: {problems}\n{}", converted.manifest))
            .complete(Ok(Some(converted.task_definition.clone())))
            .unwrap_or_else(|problems| panic!("{config}: {problems}\n{}", converted.manifest));
        assert_eq!(manifest.strategy, strategy_for(config).unwrap(), "{config}");
        assert_eq!(
            manifest.traffic.test_listener.as_deref(),
            Some(TEST_LISTENER)
        );
        assert!(manifest.approval.before_traffic);
        assert_eq!(manifest.approval.timeout_seconds, 1800);
        assert_eq!(
            manifest.approval.on_timeout,
            crate::deployment::OnTimeout::Rollback
        );
        assert_eq!(manifest.rollback.keep_old_for_seconds, 3600);
        assert_eq!(manifest.alarms, ["web-5xx"]);
        // AfterAllowTestTraffic carried as a lambda hook; BeforeInstall has no stage.
        assert_eq!(manifest.hooks.len(), 1, "{}", converted.manifest);
        let hook = &manifest.hooks[0];
        assert_eq!(hook.name, "after-allow-test-traffic");
        assert_eq!(hook.stage, crate::hooks::HookStage::AfterTestTraffic);
        assert_eq!(
            hook.kind,
            crate::hooks::HookKind::Lambda(crate::hooks::FunctionHook {
                function: "arn:aws:lambda:eu-west-1:123456789012:function:smoke-test".into()
            })
        );
        assert_eq!(hook.timeout_seconds, 3600);
        assert_eq!(
            manifest.network.unwrap().network.unwrap().subnets,
            ["subnet-0a1", "subnet-0b2"]
        );
    }
    let converted = convert(
        &appspec,
        TASKDEF,
        &group("CodeDeployDefault.ECSAllAtOnce"),
        "../ecs/web.json",
    )
    .unwrap();
    let document: Value = serde_json::from_str(&converted.task_definition).unwrap();
    for field in READ_ONLY_FIELDS {
        assert!(document.get(*field).is_none(), "{field} left in");
    }
    assert_eq!(
        document["containerDefinitions"][0]["image"],
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web:${GIT_SHA}"
    );
    let said = converted.not_carried.join("\n");
    assert!(
        said.contains("the BeforeInstall hook (ferry-before-install)"),
        "{said}"
    );
    assert!(!said.contains("the AfterAllowTestTraffic hook"), "{said}");
    let noted = converted.notes.join("\n");
    assert!(
        noted.contains("PutLifecycleEventHookExecutionStatus"),
        "{noted}"
    );
    assert!(said.contains("network.launchType"), "{said}");
}

#[test]
fn a_placeholder_image_needs_one_and_a_long_termination_wait_is_capped() {
    let appspec = parse_appspec("appspec.yaml", APPSPEC).unwrap();
    let mut no_image = group("CodeDeployDefault.ECSAllAtOnce");
    no_image.image = None;
    let error = convert(&appspec, TASKDEF, &no_image, "../ecs/web.json").unwrap_err();
    assert!(
        error.contains("<IMAGE1_NAME>") && error.contains("--image"),
        "{error}"
    );

    let mut long = group("CodeDeployDefault.ECSAllAtOnce");
    long.termination_wait_seconds = Some(2880 * 60);
    long.continue_after_wait = true;
    let converted = convert(&appspec, TASKDEF, &long, "../ecs/web.json").unwrap();
    assert!(
        converted.manifest.contains("keepOldFor: 24h"),
        "{}",
        converted.manifest
    );
    assert!(converted.manifest.contains("onTimeout: continue"));
    assert!(
        converted
            .not_carried
            .iter()
            .any(|note| note.contains("2880 minutes"))
    );
}

#[test]
fn every_hook_after_green_exists_becomes_a_lambda_hook_at_the_matching_stage() {
    let hooks: Vec<(String, String)> = HOOK_EVENTS
        .iter()
        .map(|event| (event.to_string(), format!("fn-{event}")))
        .chain([("AfterAllowTraffic".to_string(), "fn-second".to_string())])
        .collect();
    let mut appspec = parse_appspec("appspec.yaml", APPSPEC).unwrap();
    appspec.hooks = hooks;
    let converted = convert(
        &appspec,
        TASKDEF,
        &group("CodeDeployDefault.ECSAllAtOnce"),
        "../ecs/web.json",
    )
    .unwrap();
    let manifest = crate::manifest::parse_manifest(".ferry/web.yaml", &converted.manifest)
        .unwrap_or_else(|problems| panic!("{problems}\n{}", converted.manifest))
        .complete(Ok(Some(converted.task_definition.clone())))
        .unwrap_or_else(|problems| panic!("{problems}\n{}", converted.manifest));
    let stages: Vec<(&str, &str)> = manifest
        .hooks
        .iter()
        .map(|hook| (hook.name.as_str(), hook.stage.name()))
        .collect();
    assert_eq!(
        stages,
        [
            ("after-install", "afterTestTraffic"),
            ("after-allow-test-traffic", "afterTestTraffic"),
            ("before-allow-traffic", "afterTestTraffic"),
            ("after-allow-traffic", "afterTraffic"),
            ("after-allow-traffic-2", "afterTraffic"),
        ]
    );
    let said = converted.not_carried.join("\n");
    assert!(
        said.contains("the BeforeInstall hook (fn-BeforeInstall): it runs before green exists"),
        "{said}"
    );
    let noted = converted.notes.join("\n");
    assert!(
        noted.contains("the AfterInstall hook (fn-AfterInstall) runs at afterTestTraffic: it runs once green is stable"),
        "{noted}"
    );
}
