use super::*;

const TASK_DEFINITION: &str = r#"{
  "family": "web",
  "containerDefinitions": [
    { "name": "web", "image": "nginx", "memory": 256, "portMappings": [{ "containerPort": 8080 }] }
  ]
}"#;

const LISTENER: &str = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2";
const BLUE: &str =
    "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web-blue/6d0ecf831eec9f09";
const GREEN: &str =
    "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web-green/a8d4b3e1f2c7d6e5";

fn manifest_text(strategy: &str) -> String {
    format!(
        "service: web\ncluster: shop\ntaskDefinition: ../ecs/web.json\ncontainer: {{ name: web, port: 8080 }}\ntraffic:\n  listener: {LISTENER}\n  targetGroups: [{BLUE}, {GREEN}]\nstrategy:\n{strategy}\n"
    )
}

fn validate(text: &str) -> Result<Manifest, Problems> {
    parse_manifest(".ferry/web.yaml", text)?.complete(Ok(Some(TASK_DEFINITION.to_string())))
}

fn problems(text: &str) -> Vec<String> {
    match validate(text) {
        Ok(_) => panic!("expected problems for:\n{text}"),
        Err(problems) => problems.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn a_minimal_manifest_is_valid_and_resolves_its_task_definition() {
    let draft = parse_manifest(
        ".ferry/web.yaml",
        &manifest_text("  canary: { weight: 10, bake: 5m }"),
    )
    .unwrap();
    assert_eq!(draft.task_definition_path, "ecs/web.json");
    let manifest = draft.complete(Ok(Some(TASK_DEFINITION.into()))).unwrap();
    assert_eq!(manifest.service, "web");
    assert_eq!(
        manifest.strategy,
        Strategy::Canary {
            weight: 10,
            bake_seconds: 300
        }
    );
    assert_eq!(
        manifest.rollback.keep_old_for_seconds,
        DEFAULT_KEEP_OLD_FOR_SECONDS
    );
    assert!(manifest.rollback.on_alarm);
    assert_eq!(manifest.approval.on_timeout, OnTimeout::Rollback);
}

#[test]
fn the_canary_weight_out_of_range_is_located_at_the_value() {
    let text = manifest_text("  canary: { weight: 150, bake: 5m }");
    assert_eq!(
        problems(&text),
        [".ferry/web.yaml:9:21: strategy.canary.weight: must be between 1 and 99, found 150"]
    );
}

#[test]
fn every_problem_is_reported_not_only_the_first() {
    let text = "service: web\ncluster: shop\ntaskDefinition: ../ecs/web.json\ncontainer: { name: web, port: 0 }\ntraffic:\n  listener: nope\n  targetGroups: [a]\nstrategy:\n  linear: { step: 20, interval: 60 }\nalarms: web-5xx\n";
    let found = problems(text);
    assert_eq!(found.len(), 5, "{found:#?}");
    assert!(
        found[0].starts_with(
            ".ferry/web.yaml:4:31: container.port: must be between 1 and 65535, found 0"
        ),
        "{found:#?}"
    );
    assert!(found[1].starts_with(".ferry/web.yaml:6:13: traffic.listener: expected an ARN like"));
    assert!(found[2].starts_with(
        ".ferry/web.yaml:7:17: traffic.targetGroups: expected exactly two target groups"
    ));
    assert!(found[3].contains("strategy.linear.interval: expected a duration like 90s, 5m or 1h30m, found the bare number 60"));
    assert!(
        found[4]
            .starts_with(".ferry/web.yaml:10:9: alarms: expected a list of CloudWatch alarm names")
    );
}

#[test]
fn unknown_keys_are_errors_with_a_suggestion() {
    let text = manifest_text("  canary: { weight: 10, bake: 5m }") + "alarm: [x]\n";
    assert_eq!(
        problems(&text),
        [".ferry/web.yaml:10:1: alarm: unknown field `alarm`, did you mean `alarms`?"]
    );
    let nested = manifest_text("  canary: { wieght: 10, bake: 5m }");
    let found = problems(&nested);
    assert!(
        found[1].contains("strategy.canary.wieght: unknown field `wieght`, did you mean `weight`?"),
        "{found:?}"
    );
    assert!(
        found[0].contains("strategy.canary.weight: required field is missing"),
        "{found:?}"
    );
}

#[test]
fn missing_required_fields_are_named() {
    let found = problems("service: web\n");
    let fields: Vec<&str> = found
        .iter()
        .map(|line| line.split(": ").nth(1).unwrap_or(""))
        .collect();
    assert_eq!(
        fields,
        [
            "cluster",
            "taskDefinition",
            "container",
            "traffic",
            "strategy"
        ],
        "{found:#?}"
    );
    assert!(
        found
            .iter()
            .all(|line| line.starts_with(".ferry/web.yaml:1:1: "))
    );
}

#[test]
fn strategy_must_be_exactly_one_kind() {
    let both = manifest_text("  canary: { weight: 10, bake: 5m }\n  allAtOnce: {}");
    assert_eq!(
        problems(&both),
        [
            ".ferry/web.yaml:10:3: strategy.allAtOnce: expected exactly one strategy, found allAtOnce as well as canary"
        ]
    );
    let none = manifest_text("  {}");
    assert!(problems(&none)[0].contains(
        "strategy: expected exactly one of allAtOnce, canary, linear, steps, preset, found none"
    ));
}

#[test]
fn custom_steps_must_increase_and_end_at_100() {
    let decreasing = manifest_text(
        "  steps:\n    - { weight: 25 }\n    - { weight: 20 }\n    - { weight: 100 }",
    );
    assert_eq!(
        problems(&decreasing),
        [
            ".ferry/web.yaml:11:17: strategy.steps[1].weight: must be greater than the previous step's 25, found 20"
        ]
    );
    let short = manifest_text(
        "  steps:\n    - { weight: 25, bake: 1m, approve: true }\n    - { weight: 50 }",
    );
    assert!(problems(&short)[0].contains(
        "strategy.steps[1].weight: the last step must send 100 percent to green, found 50"
    ));
    let valid = validate(&manifest_text(
        "  steps:\n    - { weight: 5, bake: 2m }\n    - { weight: 25, bake: 5m, approve: true }\n    - { weight: 100 }",
    ))
    .unwrap();
    let plan = valid.plan();
    assert_eq!(plan.steps.len(), 3);
    assert!(plan.steps[1].approve);
    assert_eq!(plan.min_duration_seconds(), 420);
}

#[test]
fn presets_are_named_positions() {
    let manifest = validate(&manifest_text("  preset: green-80")).unwrap();
    assert_eq!(manifest.strategy, Strategy::Preset(Preset::Green80));
    assert!(
        problems(&manifest_text("  preset: purple"))[0]
            .contains("expected one of blue, blue-80, split, green-80, green, found \"purple\"")
    );
}

#[test]
fn arns_must_be_of_the_right_kind_and_agree() {
    let text = format!(
        "service: web\ncluster: shop\nregion: us-east-1\ntaskDefinition: ../ecs/web.json\ncontainer: {{ name: web, port: 8080 }}\ntraffic:\n  listener: {LISTENER}\n  testListener: {LISTENER}\n  targetGroups: [{BLUE}, {BLUE}]\nstrategy:\n  allAtOnce: {{}}\n"
    );
    let found = problems(&text);
    assert!(
        found
            .iter()
            .any(|line| line.contains("traffic.testListener: must differ from traffic.listener")),
        "{found:#?}"
    );
    assert!(
        found
            .iter()
            .any(|line| line
                .contains("traffic.targetGroups[1]: expected two different target groups")),
        "{found:#?}"
    );
    let wrong_kind = manifest_text("  allAtOnce: {}").replace(
        &format!("listener: {LISTENER}"),
        &format!("listener: {BLUE}"),
    );
    assert!(problems(&wrong_kind)[0].contains("(that is a elasticloadbalancing targetgroup ARN)"));
    let other_region = manifest_text("  allAtOnce: {}")
        .replace("service: web\n", "service: web\nregion: us-east-1\n");
    let found = problems(&other_region);
    assert!(
        found.iter().all(|line| line
            .contains("expected an ARN in us-east-1 (from region), found one in eu-west-1")),
        "{found:#?}"
    );
}

#[test]
fn the_container_must_exist_in_the_task_definition_with_that_port() {
    let wrong_name =
        manifest_text("  allAtOnce: {}").replace("name: web, port: 8080", "name: app, port: 8080");
    assert_eq!(
        problems(&wrong_name),
        [
            ".ferry/web.yaml:4:20: container.name: expected a container of ecs/web.json (web), found \"app\""
        ]
    );
    let wrong_port = manifest_text("  allAtOnce: {}").replace("port: 8080", "port: 80");
    assert_eq!(
        problems(&wrong_port),
        [
            ".ferry/web.yaml:4:31: container.port: expected a containerPort of \"web\" in ecs/web.json (8080), found 80"
        ]
    );
}

#[test]
fn a_missing_task_definition_file_is_reported_at_the_field() {
    let draft = parse_manifest(".ferry/web.yaml", &manifest_text("  allAtOnce: {}")).unwrap();
    let found = draft.complete(Ok(None)).unwrap_err().to_string();
    assert_eq!(
        found,
        ".ferry/web.yaml:3:17: taskDefinition: expected a task definition file, found nothing at ecs/web.json (resolved from the manifest's folder)"
    );
}

#[test]
fn yaml_syntax_errors_keep_the_parser_position() {
    let found = parse_manifest(".ferry/web.yaml", "service: web\ncluster: [shop\n")
        .unwrap_err()
        .to_string();
    assert!(
        found.starts_with(".ferry/web.yaml:3:1: (yaml): invalid YAML"),
        "{found}"
    );
    let duplicate = parse_manifest(".ferry/web.yaml", "service: web\nservice: api\n")
        .unwrap_err()
        .to_string();
    assert!(
        duplicate.contains(
            ":2:1: (yaml): invalid YAML: the key `service` appears twice in the same mapping"
        ),
        "{duplicate}"
    );
    let nested = parse_manifest(
        ".ferry/web.yaml",
        "service: web\ntraffic:\n  listener: a\n  \"listener\": b\n",
    )
    .unwrap_err()
    .to_string();
    assert!(
        nested.contains(":4:3: (yaml): invalid YAML: the key `listener` appears twice"),
        "{nested}"
    );
    let flow = parse_manifest(".ferry/web.yaml", "container: { name: web, name: api }\n")
        .unwrap_err()
        .to_string();
    assert!(flow.contains("the key `name` appears twice"), "{flow}");
}

#[test]
fn empty_and_non_mapping_documents_are_refused() {
    for text in ["", "   \n", "# just a comment\n"] {
        let found = parse_manifest("m.yaml", text).unwrap_err().to_string();
        assert_eq!(
            found,
            "m.yaml:1:1: (yaml): expected a manifest, found an empty file"
        );
    }
    let list = parse_manifest("m.yaml", "- a\n- b\n")
        .unwrap_err()
        .to_string();
    assert!(
        list.starts_with("m.yaml:1:1: (document): expected a mapping of service, cluster"),
        "{list}"
    );
    let two = parse_manifest("m.yaml", "a: 1\n---\nb: 2\n")
        .unwrap_err()
        .to_string();
    assert!(
        two.contains("expected one YAML document, found several"),
        "{two}"
    );
}

#[test]
fn approval_settings_are_checked() {
    let text = manifest_text("  allAtOnce: {}")
        + "approval: { beforeTraffic: yes, approvers: [alice], timeout: 0s, onTimeout: wait }\n";
    let found = problems(&text);
    assert_eq!(found.len(), 4, "{found:#?}");
    assert!(found[0].contains("approval.beforeTraffic: expected true or false, found \"yes\""));
    assert!(found[1].contains(
        "approval.approvers[0]: expected a Slack user id like U0123ABC, github:LOGIN, email:ADDRESS or an IAM ARN, found \"alice\""
    ));
    assert!(found[2].contains("approval.timeout: must be at least 1s, found 0s"));
    assert!(found[3].contains("approval.onTimeout: expected continue or rollback, found \"wait\""));
    let codedeploy_style = manifest_text("  allAtOnce: {}")
        + "approval: { beforeTraffic: true, timeout: 5m, onTimeout: continue }\n";
    let manifest = validate(&codedeploy_style).unwrap();
    assert_eq!(manifest.approval.on_timeout, OnTimeout::Continue);
    assert!(manifest.plan().steps[0].approve);
}

#[test]
fn insufficient_data_is_a_choice_with_pass_as_default() {
    use crate::analysis::OnInsufficientData;
    let default = validate(&manifest_text("  allAtOnce: {}")).unwrap();
    assert_eq!(
        default.rollback.on_insufficient_data,
        OnInsufficientData::Pass
    );
    let strict = manifest_text("  allAtOnce: {}") + "rollback: { onInsufficientData: rollback }\n";
    assert_eq!(
        validate(&strict).unwrap().rollback.on_insufficient_data,
        OnInsufficientData::Rollback
    );
    let wrong = manifest_text("  allAtOnce: {}") + "rollback: { onInsufficientData: wait }\n";
    let found = problems(&wrong);
    assert!(
        found[0].contains("rollback.onInsufficientData: expected pass or rollback, found \"wait\""),
        "{found:#?}"
    );
}

#[test]
fn duplicate_alarms_and_bad_branches_are_refused() {
    let text =
        manifest_text("  allAtOnce: {}") + "alarms: [a, a]\nbranches: [main, 'bad branch']\n";
    let found = problems(&text);
    assert!(
        found[0].contains("alarms[1]: `a` is listed twice"),
        "{found:#?}"
    );
    assert!(
        found[1].contains("branches[1]: expected a Git branch name, found \"bad branch\""),
        "{found:#?}"
    );
}

#[test]
fn the_examples_are_valid() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/shop/.ferry");
    let mut count = 0;
    for entry in std::fs::read_dir(&root).unwrap() {
        let path = entry.unwrap().path();
        if let Err(problems) = load(&path) {
            panic!("{} is invalid:\n{problems}", path.display());
        }
        count += 1;
    }
    assert_eq!(count, 3);
}

#[test]
fn paths_resolve_relative_to_the_manifest() {
    assert_eq!(
        resolve(".ferry/web.yaml", "../ecs/web.json"),
        "ecs/web.json"
    );
    assert_eq!(
        resolve("app/.ferry/web.yaml", "../ecs/web.json"),
        "app/ecs/web.json"
    );
    assert_eq!(resolve("web.yaml", "../ecs/web.json"), "../ecs/web.json");
    assert_eq!(
        resolve("/repo/.ferry/web.yaml", "./td.json"),
        "/repo/.ferry/td.json"
    );
}

#[test]
fn on_newer_push_and_slack_verbosity_are_choices_with_defaults() {
    use crate::convergence::OnNewerPush;
    use crate::lifecycle::Verbosity;
    let default = validate(&manifest_text("  allAtOnce: {}")).unwrap();
    assert_eq!(default.on_newer_push, OnNewerPush::Wait);
    assert_eq!(default.slack_verbosity, Verbosity::Normal);
    let chosen = manifest_text("  allAtOnce: {}")
        + "onNewerPush: cancel\nnotify: { slack: { channel: C0123ABC, verbosity: quiet } }\n";
    let manifest = validate(&chosen).unwrap();
    assert_eq!(manifest.on_newer_push, OnNewerPush::Cancel);
    assert_eq!(manifest.slack_verbosity, Verbosity::Quiet);
    assert_eq!(manifest.slack_channel.as_deref(), Some("C0123ABC"));
    let wrong = manifest_text("  allAtOnce: {}")
        + "onNewerPush: later\nnotify: { slack: { channel: C0123ABC, verbosity: chatty } }\n";
    let found = problems(&wrong);
    assert!(
        found.iter().any(
            |problem| problem.contains("onNewerPush: expected wait or cancel, found \"later\"")
        ),
        "{found:#?}"
    );
    assert!(
        found.iter().any(|problem| problem.contains(
            "notify.slack.verbosity: expected quiet, normal or verbose, found \"chatty\""
        )),
        "{found:#?}"
    );
}

#[test]
fn rollback_by_is_anyone_or_approvers() {
    let default = validate(&manifest_text("  allAtOnce: {}")).unwrap();
    assert!(!default.approval.rollback_by_approvers);
    let strict = manifest_text("  allAtOnce: {}")
        + "approval: { beforeTraffic: true, approvers: [U0123ABC], rollbackBy: approvers }\n";
    assert!(validate(&strict).unwrap().approval.rollback_by_approvers);
    let wrong = manifest_text("  allAtOnce: {}") + "approval: { rollbackBy: nobody }\n";
    let found = problems(&wrong);
    assert!(
        found.iter().any(|problem| problem
            .contains("approval.rollbackBy: expected anyone or approvers, found \"nobody\"")),
        "{found:#?}"
    );
}

#[test]
fn network_says_where_tasks_run() {
    let text = manifest_text("  canary: { weight: 10, bake: 5m }")
        + "network:\n  subnets: [subnet-1, subnet-2]\n  securityGroups: [sg-1]\n  assignPublicIp: true\n  capacityProviders:\n    - { capacityProvider: FARGATE_SPOT, weight: 3 }\n    - { capacityProvider: FARGATE, base: 1 }\n  platformVersion: LATEST\n";
    let placement = validate(&text).unwrap().network.unwrap();
    let network = placement.network.unwrap();
    assert_eq!(network.subnets, ["subnet-1", "subnet-2"]);
    assert_eq!(network.security_groups, ["sg-1"]);
    assert!(network.assign_public_ip);
    assert_eq!(placement.launch_type, None);
    assert_eq!(placement.capacity_providers.len(), 2);
    assert_eq!(placement.capacity_providers[0].weight, 3);
    assert_eq!(placement.capacity_providers[1].base, 1);
    assert_eq!(placement.platform_version.as_deref(), Some("LATEST"));
    assert!(
        validate(&manifest_text("  canary: { weight: 10, bake: 5m }"))
            .unwrap()
            .network
            .is_none()
    );
}

#[test]
fn a_bad_network_is_reported_where_it_is_wrong() {
    let found = problems(
        &(manifest_text("  canary: { weight: 10, bake: 5m }")
            + "network:\n  subnets: [vpc-1]\n  launchType: FARGATE\n  capacityProviders: [{ capacityProvider: FARGATE }]\n  assignPublicIp: sometimes\n"),
    );
    let text = found.join("\n");
    for expected in [
        "network.subnets[0]: expected an id starting subnet-, found \"vpc-1\"",
        "network.securityGroups: required field is missing",
        "network.assignPublicIp",
    ] {
        assert!(text.contains(expected), "{expected}\n{text}");
    }
    let both = problems(
        &(manifest_text("  canary: { weight: 10, bake: 5m }")
            + "network:\n  subnets: [subnet-1]\n  securityGroups: [sg-1]\n  launchType: EC2\n  capacityProviders: [{ capacityProvider: FARGATE }]\n"),
    )
    .join("\n");
    assert!(
        both.contains("either launchType or capacityProviders"),
        "{both}"
    );
    let kind = problems(
        &(manifest_text("  canary: { weight: 10, bake: 5m }")
            + "network:\n  subnets: [subnet-1]\n  securityGroups: [sg-1]\n  launchType: LAMBDA\n"),
    )
    .join("\n");
    assert!(kind.contains("expected FARGATE, EC2 or EXTERNAL"), "{kind}");
}

const TEST_LISTENER: &str = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/shop/50dc6c495c0c9188/0467ef3c8400ae65";

fn with_test_listener(text: String) -> String {
    text.replace(
        "  targetGroups:",
        &format!("  testListener: {TEST_LISTENER}\n  targetGroups:"),
    )
}

#[test]
fn hooks_are_read_with_their_defaults() {
    use crate::hooks::*;
    let text = with_test_listener(manifest_text("  canary: { weight: 10, bake: 5m }"))
        + "hooks:\n  - name: smoke\n    stage: afterTestTraffic\n    http: { url: \"${TEST_URL}/healthz\", expectStatus: 200, retries: 3, interval: 5s }\n    timeout: 2m\n    onFailure: rollback\n  - name: status\n    stage: afterStep\n    http: { url: \"https://status.example.com/ok\", bodyContains: \"green\" }\n    onFailure: continue\n  - name: verify\n    stage: afterTraffic\n    lambda: { function: \"arn:aws:lambda:eu-west-1:123456789012:function:verify:live\" }\n  - name: migrate\n    stage: beforeStep\n    task: { taskDefinition: \"web-migrate:3\", command: [\"./migrate\", \"--check\"] }\n";
    let manifest = validate(&text).unwrap_or_else(|problems| panic!("{problems}"));
    assert_eq!(manifest.hooks.len(), 4);
    assert_eq!(
        manifest.hooks[0],
        Hook {
            name: "smoke".into(),
            stage: HookStage::AfterTestTraffic,
            kind: HookKind::Http(HttpHook {
                url: "${TEST_URL}/healthz".into(),
                expect_status: 200,
                body_contains: None,
                retries: 3,
                interval_seconds: 5,
            }),
            timeout_seconds: 120,
            on_failure: OnHookFailure::Rollback,
        }
    );
    assert!(matches!(
        &manifest.hooks[1].kind,
        HookKind::Http(http) if http.expect_status == 200 && http.retries == 0 && http.interval_seconds == 5 && http.body_contains.as_deref() == Some("green")
    ));
    assert_eq!(
        manifest.hooks[1].timeout_seconds,
        DEFAULT_HOOK_TIMEOUT_SECONDS
    );
    assert_eq!(manifest.hooks[1].on_failure, OnHookFailure::Continue);
    assert!(
        matches!(&manifest.hooks[2].kind, HookKind::Lambda(f) if f.function.ends_with(":verify:live"))
    );
    assert_eq!(
        manifest.hooks[3].kind,
        HookKind::Task(TaskHook {
            task_definition: Some("web-migrate:3".into()),
            container: "web".into(),
            command: vec!["./migrate".into(), "--check".into()],
        })
    );
}

#[test]
fn bad_hooks_are_reported_where_they_are_wrong() {
    let text = manifest_text("  canary: { weight: 10, bake: 5m }")
        + "hooks:\n  - name: smoke\n    stage: afterTest\n    http: { url: \"${TEST_URL}/healthz\" }\n  - name: two\n    stage: afterStep\n    http: { url: \"https://a\" }\n    lambda: { function: f }\n  - name: none\n    stage: afterStep\n  - name: smoke\n    stage: afterStep\n    http: { url: \"ftp://x\", expectStatus: 700, retries: 10, interval: 1m }\n    timeout: 5m\n  - name: \"bad name!\"\n    stage: afterTraffic\n    lambda: { function: \"not a function\" }\n    onFailure: ignore\n    timeout: 2h\n";
    let found = problems(&text).join("\n");
    for expected in [
        "hooks[0].stage: expected one of afterTestTraffic, beforeStep, afterStep, afterTraffic, found \"afterTest\"",
        "hooks[0].http.url: ${TEST_URL} is the test listener's address, but traffic.testListener is not set",
        "hooks[1]: expected one of http, lambda or task, found http and lambda",
        "hooks[2]: expected one of http, lambda or task: what the hook checks",
        "hooks[3].http.url: expected a URL",
        "hooks[3].http.expectStatus: must be between 100 and 599, found 700",
        "hooks[4].name: expected up to 64 letters",
        "hooks[4].lambda.function: expected a Lambda function name or ARN",
        "hooks[4].onFailure: expected rollback or continue, found \"ignore\"",
        "hooks[4].timeout: must be at most 1h",
    ] {
        assert!(found.contains(expected), "{expected}\n{found}");
    }
    let retries = problems(
        &(manifest_text("  canary: { weight: 10, bake: 5m }")
            + "hooks:\n  - name: slow\n    stage: afterStep\n    http: { url: \"https://a\", retries: 10, interval: 1m }\n    timeout: 5m\n"),
    )
    .join("\n");
    assert!(
        retries.contains("10 retries every 1m take 10m, not less than the hook's timeout of 5m"),
        "{retries}"
    );
    let twice = problems(
        &(manifest_text("  canary: { weight: 10, bake: 5m }")
            + "hooks:\n  - name: a\n    stage: afterStep\n    http: { url: \"https://a\" }\n  - name: a\n    stage: afterTraffic\n    http: { url: \"https://b\" }\n"),
    )
    .join("\n");
    assert!(
        twice.contains("hooks[1].name: a hook named `a` is listed twice"),
        "{twice}"
    );
}
