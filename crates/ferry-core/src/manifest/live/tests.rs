use serde_json::json;

use super::*;

const PROD: &str = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2";
const TEST: &str = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/shop/50dc6c495c0c9188/0467ef3c8400ae65";
const BLUE: &str =
    "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web-blue/6d0ecf831eec9f09";
const GREEN: &str =
    "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web-green/a8d4b3e1f2c7d6e5";

fn route(listener: &str, port: u16, groups: &[(&str, u32)]) -> Route {
    Route {
        listener_arn: listener.into(),
        rule_arn: None,
        port: Some(port),
        target_groups: groups
            .iter()
            .map(|(arn, w)| (arn.to_string(), *w))
            .collect(),
    }
}

fn live() -> LiveService {
    LiveService {
        cluster: "shop".into(),
        service: "web".into(),
        region: Some("eu-west-1".into()),
        deployment_controller: "EXTERNAL".into(),
        container: Some(ContainerTarget {
            name: "web".into(),
            port: 8080,
        }),
        serving_target_group: Some(BLUE.into()),
        other_target_groups: vec![],
        routes: vec![
            route(PROD, 443, &[(BLUE, 100), (GREEN, 0)]),
            route(TEST, 8080, &[(BLUE, 1)]),
        ],
        alarms: vec!["web-5xx".into()],
        task_definition: json!({
            "taskDefinitionArn": "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:3",
            "revision": 3, "status": "ACTIVE", "family": "web",
            "containerDefinitions": [{"name": "web", "image": "shop/web:1", "memory": 256,
                                      "portMappings": [{"containerPort": 8080}]}]
        }),
        placement: None,
        has_primary: true,
    }
}

fn validated(converted: &Converted) -> crate::manifest::Manifest {
    crate::manifest::parse_manifest(".ferry/web.yaml", &converted.manifest)
        .and_then(|draft| draft.complete(Ok(Some(converted.task_definition.clone()))))
        .unwrap_or_else(|problems| panic!("{problems}\n{}", converted.manifest))
}

#[test]
fn a_live_service_becomes_a_manifest_that_validates() {
    let converted = from_live(&live(), &Choices::default(), "../ecs/web.json").unwrap();
    let manifest = validated(&converted);
    assert_eq!(manifest.traffic.listener, PROD);
    assert_eq!(manifest.traffic.test_listener.as_deref(), Some(TEST));
    assert_eq!(
        manifest.traffic.target_groups,
        [BLUE.to_string(), GREEN.to_string()]
    );
    assert_eq!(manifest.alarms, ["web-5xx"]);
    assert!(manifest.network.is_none(), "blue's placement is copied");
    let document: Value = serde_json::from_str(&converted.task_definition).unwrap();
    assert!(document.get("taskDefinitionArn").is_none() && document.get("revision").is_none());
}

#[test]
fn when_it_cannot_tell_it_asks_and_the_choice_decides() {
    let mut ambiguous = live();
    ambiguous.routes[1] = route(TEST, 8080, &[(BLUE, 1), (GREEN, 0)]);
    ambiguous.routes.push(route(
        "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/shop/50dc6c495c0c9188/99",
        8443,
        &[(BLUE, 1)],
    ));
    ambiguous.routes[0].port = Some(9000);
    let error = from_live(&ambiguous, &Choices::default(), "x").unwrap_err();
    assert!(
        error.contains("cannot tell") && error.contains("--listener"),
        "{error}"
    );
    let chosen = Choices {
        listener: Some(PROD.into()),
        target_groups: None,
    };
    let converted = from_live(&ambiguous, &chosen, "../ecs/web.json").unwrap();
    assert_eq!(validated(&converted).traffic.listener, PROD);

    let mut lonely = live();
    lonely.routes = vec![route(PROD, 443, &[(BLUE, 1)])];
    let error = from_live(&lonely, &Choices::default(), "x").unwrap_err();
    assert!(error.contains("--target-groups"), "{error}");
    let paired = Choices {
        listener: None,
        target_groups: Some([BLUE.into(), GREEN.into()]),
    };
    assert!(from_live(&lonely, &paired, "../ecs/web.json").is_ok());

    let mut elsewhere = live();
    elsewhere.container = None;
    assert!(
        from_live(&elsewhere, &Choices::default(), "x")
            .unwrap_err()
            .contains("no load balancer")
    );
}
