//! `AlbRouter` against moto's ELBv2.

use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, ForwardActionConfig, PathPatternConditionConfig, RedirectActionConfig,
    RedirectActionStatusCodeEnum, RuleCondition, TargetGroupStickinessConfig, TargetGroupTuple,
};
use ferry_core::ports::{PortError, RouteRef, TargetGroupWeight, TrafficRouter};

use crate::helpers::{Clients, Environment, clients, seed_environment, unique_prefix};

/// Adds a rule on `/api/*` to the production listener with the given actions.
async fn create_rule(
    clients: &Clients,
    env: &Environment,
    priority: i32,
    actions: Vec<Action>,
) -> RouteRef {
    let created = clients
        .aws
        .elb
        .create_rule()
        .listener_arn(&env.production_listener_arn)
        .priority(priority)
        .conditions(
            RuleCondition::builder()
                .field("path-pattern")
                .path_pattern_config(
                    PathPatternConditionConfig::builder()
                        .values("/api/*")
                        .build(),
                )
                .build(),
        )
        .set_actions(Some(actions))
        .send()
        .await
        .expect("create rule");
    RouteRef {
        listener_arn: env.production_listener_arn.clone(),
        rule_arn: Some(created.rules()[0].rule_arn().expect("rule ARN").to_string()),
    }
}

fn weighted_forward(env: &Environment, blue: i32, green: i32, sticky: bool) -> Action {
    let mut config = ForwardActionConfig::builder()
        .target_groups(
            TargetGroupTuple::builder()
                .target_group_arn(&env.blue_target_group_arn)
                .weight(blue)
                .build(),
        )
        .target_groups(
            TargetGroupTuple::builder()
                .target_group_arn(&env.green_target_group_arn)
                .weight(green)
                .build(),
        );
    if sticky {
        config = config.target_group_stickiness_config(
            TargetGroupStickinessConfig::builder()
                .enabled(true)
                .duration_seconds(300)
                .build(),
        );
    }
    Action::builder()
        .r#type(ActionTypeEnum::Forward)
        .order(1)
        .forward_config(config.build())
        .build()
}

fn weight(arn: &str, weight: u32) -> TargetGroupWeight {
    TargetGroupWeight {
        target_group_arn: arn.to_string(),
        weight,
    }
}

#[tokio::test]
async fn the_seeded_production_listener_sends_everything_to_blue() {
    let clients = clients().await;
    let env = seed_environment(&clients, &unique_prefix("elb")).await;
    let router = clients.aws.router();

    let weights = router.read_weights(&env.production_route()).await.unwrap();

    assert_eq!(
        weights,
        vec![
            weight(&env.blue_target_group_arn, 100),
            weight(&env.green_target_group_arn, 0)
        ]
    );
    assert!(env.split(0).matches(&weights));
}

#[tokio::test]
async fn setting_and_reading_back_weights_on_the_listener() {
    let clients = clients().await;
    let env = seed_environment(&clients, &unique_prefix("elb")).await;
    let router = clients.aws.router();
    let route = env.production_route();

    router.set_weights(&route, &env.split(10)).await.unwrap();
    let canary = router.read_weights(&route).await.unwrap();
    router.set_weights(&route, &env.split(100)).await.unwrap();
    let all_green = router.read_weights(&route).await.unwrap();

    assert_eq!(
        canary,
        vec![
            weight(&env.blue_target_group_arn, 90),
            weight(&env.green_target_group_arn, 10)
        ]
    );
    assert!(env.split(100).matches(&all_green));
    // The test listener is untouched.
    let test_listener = RouteRef {
        listener_arn: env.test_listener_arn.clone(),
        rule_arn: None,
    };
    let test_weights = router.read_weights(&test_listener).await.unwrap();
    assert_eq!(test_weights, vec![weight(&env.green_target_group_arn, 1)]);
}

#[tokio::test]
async fn setting_weights_already_in_place_is_ok() {
    let clients = clients().await;
    let env = seed_environment(&clients, &unique_prefix("elb")).await;
    let router = clients.aws.router();

    router
        .set_weights(&env.production_route(), &env.split(0))
        .await
        .unwrap();
    router
        .set_weights(&env.production_route(), &env.split(0))
        .await
        .unwrap();

    let weights = router.read_weights(&env.production_route()).await.unwrap();
    assert!(env.split(0).matches(&weights));
}

#[tokio::test]
async fn setting_weights_on_a_rule_keeps_its_conditions_and_stickiness() {
    let clients = clients().await;
    let env = seed_environment(&clients, &unique_prefix("elb")).await;
    let router = clients.aws.router();
    let route = create_rule(
        &clients,
        &env,
        10,
        vec![weighted_forward(&env, 100, 0, true)],
    )
    .await;

    router.set_weights(&route, &env.split(25)).await.unwrap();

    let weights = router.read_weights(&route).await.unwrap();
    assert_eq!(
        weights,
        vec![
            weight(&env.blue_target_group_arn, 75),
            weight(&env.green_target_group_arn, 25)
        ]
    );
    let rules = clients
        .aws
        .elb
        .describe_rules()
        .rule_arns(route.rule_arn.clone().unwrap())
        .send()
        .await
        .unwrap();
    let rule = &rules.rules()[0];
    assert_eq!(rule.priority(), Some("10"));
    assert_eq!(rule.conditions()[0].field(), Some("path-pattern"));
    let stickiness = rule.actions()[0]
        .forward_config()
        .and_then(|config| config.target_group_stickiness_config())
        .expect("stickiness kept");
    assert_eq!(stickiness.enabled(), Some(true));
    assert_eq!(stickiness.duration_seconds(), Some(300));
    // The listener's default action is another route and did not move.
    let default = router.read_weights(&env.production_route()).await.unwrap();
    assert!(env.split(0).matches(&default));
}

#[tokio::test]
async fn a_rule_forwarding_to_one_target_group_the_legacy_way_can_be_shifted() {
    let clients = clients().await;
    let env = seed_environment(&clients, &unique_prefix("elb")).await;
    let router = clients.aws.router();
    let legacy = Action::builder()
        .r#type(ActionTypeEnum::Forward)
        .target_group_arn(&env.blue_target_group_arn)
        .build();
    let route = create_rule(&clients, &env, 20, vec![legacy]).await;

    let before = router.read_weights(&route).await.unwrap();
    router.set_weights(&route, &env.split(50)).await.unwrap();
    let after = router.read_weights(&route).await.unwrap();

    assert!(env.split(0).matches(&before), "{before:?}");
    assert_eq!(
        after,
        vec![
            weight(&env.blue_target_group_arn, 50),
            weight(&env.green_target_group_arn, 50)
        ]
    );
}

#[tokio::test]
async fn a_redirect_rule_is_not_a_route_to_shift() {
    let clients = clients().await;
    let env = seed_environment(&clients, &unique_prefix("elb")).await;
    let router = clients.aws.router();
    let redirect = Action::builder()
        .r#type(ActionTypeEnum::Redirect)
        .redirect_config(
            RedirectActionConfig::builder()
                .protocol("HTTPS")
                .port("443")
                .status_code(RedirectActionStatusCodeEnum::Http301)
                .build(),
        )
        .build();
    let route = create_rule(&clients, &env, 30, vec![redirect]).await;

    let read = router.read_weights(&route).await;
    let write = router.set_weights(&route, &env.split(10)).await;

    assert!(matches!(read, Err(PortError::Invalid(_))), "{read:?}");
    assert!(matches!(write, Err(PortError::Invalid(_))), "{write:?}");
}

#[tokio::test]
async fn a_missing_listener_or_rule_is_not_found() {
    let clients = clients().await;
    let env = seed_environment(&clients, &unique_prefix("elb")).await;
    let router = clients.aws.router();
    let missing_listener = RouteRef {
        listener_arn: format!("{}0", env.production_listener_arn),
        rule_arn: None,
    };
    let missing_rule = RouteRef {
        listener_arn: env.production_listener_arn.clone(),
        rule_arn: Some(format!(
            "{}/0123456789abcdef",
            env.production_listener_arn
                .replace(":listener/", ":listener-rule/")
        )),
    };

    let listener = router.read_weights(&missing_listener).await;
    let rule = router.read_weights(&missing_rule).await;

    assert!(
        matches!(listener, Err(PortError::NotFound(_))),
        "{listener:?}"
    );
    assert!(matches!(rule, Err(PortError::NotFound(_))), "{rule:?}");
}

#[tokio::test]
async fn describing_target_groups_finds_both_and_refuses_a_missing_one() {
    let clients = clients().await;
    let env = seed_environment(&clients, &unique_prefix("elb")).await;
    let router = clients.aws.router();

    let found = router
        .describe_target_groups(&[
            env.blue_target_group_arn.clone(),
            env.green_target_group_arn.clone(),
        ])
        .await
        .unwrap();
    let missing = router
        .describe_target_groups(&[format!("{}0", env.green_target_group_arn)])
        .await;

    assert_eq!(found.len(), 2);
    assert!(
        found
            .iter()
            .all(|group| group.target_type.as_deref() == Some("ip"))
    );
    assert!(
        found
            .iter()
            .all(|group| group.vpc_id.as_deref() == Some(env.vpc_id.as_str()))
    );
    assert!(
        found[0].load_balancer_arns.contains(&env.load_balancer_arn),
        "{:?}",
        found[0]
    );
    assert!(
        matches!(missing, Err(PortError::NotFound(_))),
        "{missing:?}"
    );
}

#[tokio::test]
async fn naming_the_listeners_default_rule_shifts_its_default_action() {
    let clients = clients().await;
    let env = seed_environment(&clients, &unique_prefix("elb")).await;
    let router = clients.aws.router();
    let rules = clients
        .aws
        .elb
        .describe_rules()
        .listener_arn(&env.production_listener_arn)
        .send()
        .await
        .unwrap();
    let default_rule = rules
        .rules()
        .iter()
        .find(|rule| rule.is_default() == Some(true))
        .and_then(|rule| rule.rule_arn())
        .expect("a default rule")
        .to_string();
    let route = RouteRef {
        listener_arn: env.production_listener_arn.clone(),
        rule_arn: Some(default_rule),
    };

    router.set_weights(&route, &env.split(40)).await.unwrap();

    let listener = router.read_weights(&env.production_route()).await.unwrap();
    assert!(env.split(40).matches(&listener), "{listener:?}");
}
