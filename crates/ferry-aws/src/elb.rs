//! [`TrafficRouter`] on Application Load Balancer forward actions.
//!
//! The weights live in the forward action of a listener's default actions or of one listener
//! rule. A write replaces the whole action list (that is how ModifyListener and ModifyRule
//! work), so every other action is sent back as read: authenticate actions keep their order and
//! settings, and the forward action keeps its target-group stickiness. Rule conditions and
//! listener settings are not part of the request and stay untouched.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_sdk_elasticloadbalancingv2::Client;
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, ForwardActionConfig, ProtocolEnum, TargetGroupTuple,
};
use ferry_core::ports::{
    ListenerAddresses, PortError, PortResult, RouteRef, Split, TargetGroupWeight, TrafficRouter,
};
use tracing::{debug, info};

use crate::error::port_error;

/// The ALB adapter.
#[derive(Debug, Clone)]
pub struct AlbRouter {
    client: Client,
    /// Listener addresses already read (`ListenerAddresses`), with when: run-hooks asks on every
    /// call of a hook that uses `${TEST_URL}`, and a warm function need not ask ELB each time.
    addresses: Arc<Mutex<HashMap<String, (Instant, String)>>>,
}

/// How long a listener's address is kept: a listener's port or protocol may change, rarely.
const ADDRESS_KEPT_FOR: Duration = Duration::from_secs(300);

/// A target group as the planner checks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetGroupSummary {
    pub arn: String,
    pub name: String,
    /// `ip` for awsvpc tasks, `instance` for bridge/host networking.
    pub target_type: Option<String>,
    pub protocol: Option<String>,
    pub port: Option<i32>,
    pub vpc_id: Option<String>,
    /// The load balancers that route to it (empty when no listener or rule forwards to it).
    pub load_balancer_arns: Vec<String>,
}

impl AlbRouter {
    pub fn new(client: Client) -> Self {
        Self {
            client,
            addresses: Arc::default(),
        }
    }

    /// The target groups named by `arns`. `NotFound` when any of them does not exist.
    pub async fn describe_target_groups(
        &self,
        arns: &[String],
    ) -> PortResult<Vec<TargetGroupSummary>> {
        if arns.is_empty() {
            return Ok(Vec::new());
        }
        let output = self
            .client
            .describe_target_groups()
            .set_target_group_arns(Some(arns.to_vec()))
            .send()
            .await
            .map_err(|error| {
                port_error(
                    "DescribeTargetGroups",
                    &format!("target groups {}", arns.join(", ")),
                    error,
                )
            })?;
        Ok(output
            .target_groups()
            .iter()
            .map(|group| TargetGroupSummary {
                arn: group.target_group_arn.clone().unwrap_or_default(),
                name: group.target_group_name.clone().unwrap_or_default(),
                target_type: group
                    .target_type
                    .as_ref()
                    .map(|kind| kind.as_str().to_string()),
                protocol: group
                    .protocol
                    .as_ref()
                    .map(|protocol| protocol.as_str().to_string()),
                port: group.port,
                vpc_id: group.vpc_id.clone(),
                load_balancer_arns: group.load_balancer_arns.clone().unwrap_or_default(),
            })
            .collect())
    }

    /// The actions of the route as the ALB holds them, and whether they are the listener's
    /// default actions (a listener's default rule counts: only ModifyListener may change it).
    async fn actions(&self, route: &RouteRef) -> PortResult<(Vec<Action>, bool)> {
        match &route.rule_arn {
            None => {
                let output = self
                    .client
                    .describe_listeners()
                    .listener_arns(&route.listener_arn)
                    .send()
                    .await
                    .map_err(|error| port_error("DescribeListeners", &describe(route), error))?;
                let listener = output.listeners().first().ok_or_else(|| {
                    PortError::NotFound(format!(
                        "{} (DescribeListeners: empty answer)",
                        describe(route)
                    ))
                })?;
                Ok((listener.default_actions().to_vec(), true))
            }
            Some(rule_arn) => {
                check_rule_of_listener(&route.listener_arn, rule_arn)?;
                let output = self
                    .client
                    .describe_rules()
                    .rule_arns(rule_arn)
                    .send()
                    .await
                    .map_err(|error| port_error("DescribeRules", &describe(route), error))?;
                let rule = output.rules().first().ok_or_else(|| {
                    PortError::NotFound(format!(
                        "{} (DescribeRules: empty answer)",
                        describe(route)
                    ))
                })?;
                Ok((rule.actions().to_vec(), rule.is_default() == Some(true)))
            }
        }
    }
}

fn describe(route: &RouteRef) -> String {
    match &route.rule_arn {
        None => format!("listener {}", route.listener_arn),
        Some(rule) => format!("listener rule {rule}"),
    }
}

/// A rule ARN (`listener-rule/app/NAME/LB/LISTENER/RULE`) carries its listener's path; a rule of
/// another listener is a manifest mistake that must not shift the wrong traffic.
fn check_rule_of_listener(listener_arn: &str, rule_arn: &str) -> PortResult<()> {
    let Some(expected_prefix) = listener_arn
        .split_once(":listener/")
        .map(|(head, tail)| format!("{head}:listener-rule/{tail}/"))
    else {
        return Ok(());
    };
    if rule_arn.contains(":listener-rule/") && !rule_arn.starts_with(&expected_prefix) {
        return Err(PortError::Invalid(format!(
            "listener rule {rule_arn} does not belong to listener {listener_arn}"
        )));
    }
    Ok(())
}

fn is_forward(action: &Action) -> bool {
    action.r#type == Some(ActionTypeEnum::Forward)
}

/// The target groups and weights of the forward action among `actions`.
fn forward_weights(actions: &[Action], route: &RouteRef) -> PortResult<Vec<TargetGroupWeight>> {
    let Some(forward) = actions.iter().find(|action| is_forward(action)) else {
        let kinds: Vec<&str> = actions
            .iter()
            .filter_map(|action| action.r#type.as_ref().map(ActionTypeEnum::as_str))
            .collect();
        return Err(PortError::Invalid(format!(
            "{} does not forward to target groups (its actions: {}); Ferry shifts the weights of \
             a forward action",
            describe(route),
            if kinds.is_empty() {
                "none".to_string()
            } else {
                kinds.join(", ")
            }
        )));
    };
    let groups = forward
        .forward_config
        .as_ref()
        .and_then(|config| config.target_groups.as_ref())
        .filter(|groups| !groups.is_empty());
    if let Some(groups) = groups {
        return Ok(groups
            .iter()
            .filter_map(|group| {
                Some(TargetGroupWeight {
                    target_group_arn: group.target_group_arn.clone()?,
                    // The API documents weight as optional: a lone target group without one
                    // receives all traffic, as weight 1 of 1 would.
                    weight: u32::try_from(group.weight.unwrap_or(1)).unwrap_or(0),
                })
            })
            .collect());
    }
    // The legacy form: a single `TargetGroupArn` and no ForwardConfig.
    match &forward.target_group_arn {
        Some(arn) => Ok(vec![TargetGroupWeight {
            target_group_arn: arn.clone(),
            weight: 1,
        }]),
        None => Err(PortError::Invalid(format!(
            "the forward action of {} names no target group",
            describe(route)
        ))),
    }
}

/// The action list with the forward action replaced by `split`, everything else as read.
fn with_split(actions: Vec<Action>, split: &Split) -> Vec<Action> {
    actions
        .into_iter()
        .map(|mut action| {
            if is_forward(&action) {
                let stickiness = action
                    .forward_config
                    .take()
                    .and_then(|config| config.target_group_stickiness_config);
                let groups = split
                    .as_weights()
                    .into_iter()
                    .map(|entry| {
                        TargetGroupTuple::builder()
                            .target_group_arn(entry.target_group_arn)
                            .weight(i32::try_from(entry.weight).unwrap_or(i32::MAX))
                            .build()
                    })
                    .collect();
                // TargetGroupArn and a ForwardConfig with two groups are mutually exclusive.
                action.target_group_arn = None;
                action.forward_config = Some(
                    ForwardActionConfig::builder()
                        .set_target_groups(Some(groups))
                        .set_target_group_stickiness_config(stickiness)
                        .build(),
                );
            } else if let Some(oidc) = action.authenticate_oidc_config.as_mut() {
                // Describe never returns the client secret; sending the action back without one
                // is refused unless we ask the ALB to keep the secret it has.
                if oidc.client_secret.is_none() {
                    oidc.use_existing_client_secret = Some(true);
                }
            }
            action
        })
        .collect()
}

#[async_trait]
impl TrafficRouter for AlbRouter {
    async fn read_weights(&self, route: &RouteRef) -> PortResult<Vec<TargetGroupWeight>> {
        let (actions, _) = self.actions(route).await?;
        forward_weights(&actions, route)
    }

    async fn set_weights(&self, route: &RouteRef, split: &Split) -> PortResult<()> {
        if split.green_weight > 100 {
            return Err(PortError::Invalid(format!(
                "green weight must be 0 to 100 percent, not {}",
                split.green_weight
            )));
        }
        if split.blue_target_group == split.green_target_group {
            return Err(PortError::Invalid(format!(
                "blue and green must be different target groups, both are {}",
                split.blue_target_group
            )));
        }
        let (actions, default_actions) = self.actions(route).await?;
        let current = forward_weights(&actions, route)?;
        if split.matches(&current) {
            debug!(route = %describe(route), green_weight = split.green_weight, "weights already set");
            return Ok(());
        }
        let actions = with_split(actions, split);
        match &route.rule_arn {
            Some(rule_arn) if !default_actions => {
                self.client
                    .modify_rule()
                    .rule_arn(rule_arn)
                    .set_actions(Some(actions))
                    .send()
                    .await
                    .map_err(|error| port_error("ModifyRule", &describe(route), error))?;
            }
            _ => {
                self.client
                    .modify_listener()
                    .listener_arn(&route.listener_arn)
                    .set_default_actions(Some(actions))
                    .send()
                    .await
                    .map_err(|error| port_error("ModifyListener", &describe(route), error))?;
            }
        }
        info!(route = %describe(route), green_weight = split.green_weight, "weights set");
        Ok(())
    }
}

/// `${TEST_URL}` of `http` hooks: the scheme, the load balancer's DNS name and the listener's
/// port. The name is the load balancer's public one, or its internal one for an internal load
/// balancer (reachable only from its VPC: see docs/hooks.md).
#[async_trait]
impl ListenerAddresses for AlbRouter {
    async fn listener_url(&self, listener_arn: &str) -> PortResult<String> {
        let kept = self
            .addresses
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(listener_arn)
            .filter(|(at, _)| at.elapsed() < ADDRESS_KEPT_FOR)
            .map(|(_, url)| url.clone());
        if let Some(url) = kept {
            return Ok(url);
        }
        let subject = format!("listener {listener_arn}");
        let listeners = self
            .client
            .describe_listeners()
            .listener_arns(listener_arn)
            .send()
            .await
            .map_err(|error| port_error("DescribeListeners", &subject, error))?;
        let Some(listener) = listeners.listeners().first() else {
            return Err(PortError::NotFound(subject));
        };
        let scheme = match listener.protocol() {
            Some(ProtocolEnum::Https) => "https",
            _ => "http",
        };
        let port = listener
            .port()
            .unwrap_or(if scheme == "https" { 443 } else { 80 });
        let load_balancer = listener
            .load_balancer_arn()
            .ok_or_else(|| PortError::Invalid(format!("{subject} names no load balancer")))?;
        let balancers = self
            .client
            .describe_load_balancers()
            .load_balancer_arns(load_balancer)
            .send()
            .await
            .map_err(|error| {
                port_error(
                    "DescribeLoadBalancers",
                    &format!("load balancer {load_balancer}"),
                    error,
                )
            })?;
        let dns = balancers
            .load_balancers()
            .first()
            .and_then(|balancer| balancer.dns_name())
            .ok_or_else(|| PortError::NotFound(format!("load balancer {load_balancer}")))?;
        let url = format!("{scheme}://{dns}:{port}");
        self.addresses
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(listener_arn.to_string(), (Instant::now(), url.clone()));
        Ok(url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_elasticloadbalancingv2::types::{
        AuthenticateOidcActionConfig, TargetGroupStickinessConfig,
    };

    fn route() -> RouteRef {
        RouteRef {
            listener_arn:
                "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/web/1/2".into(),
            rule_arn: None,
        }
    }

    fn split(green: u8) -> Split {
        Split {
            blue_target_group: "blue".into(),
            green_target_group: "green".into(),
            green_weight: green,
        }
    }

    fn oidc_then_forward() -> Vec<Action> {
        vec![
            Action::builder()
                .r#type(ActionTypeEnum::AuthenticateOidc)
                .order(1)
                .authenticate_oidc_config(
                    AuthenticateOidcActionConfig::builder()
                        .issuer("https://idp")
                        .client_id("ferry")
                        .build(),
                )
                .build(),
            Action::builder()
                .r#type(ActionTypeEnum::Forward)
                .order(2)
                .target_group_arn("blue")
                .forward_config(
                    ForwardActionConfig::builder()
                        .target_groups(TargetGroupTuple::builder().target_group_arn("blue").build())
                        .target_group_stickiness_config(
                            TargetGroupStickinessConfig::builder()
                                .enabled(true)
                                .duration_seconds(60)
                                .build(),
                        )
                        .build(),
                )
                .build(),
        ]
    }

    #[test]
    fn a_forward_action_without_weights_sends_everything_to_its_group() {
        let weights = forward_weights(&oidc_then_forward(), &route()).unwrap();
        assert!(split(0).matches(&weights));
        let legacy = vec![
            Action::builder()
                .r#type(ActionTypeEnum::Forward)
                .target_group_arn("blue")
                .build(),
        ];
        assert!(split(0).matches(&forward_weights(&legacy, &route()).unwrap()));
    }

    #[test]
    fn replacing_the_split_keeps_stickiness_order_and_other_actions() {
        let actions = with_split(oidc_then_forward(), &split(30));
        assert_eq!(actions.len(), 2);
        let oidc = actions[0].authenticate_oidc_config.as_ref().unwrap();
        assert_eq!(oidc.use_existing_client_secret, Some(true));
        assert_eq!(actions[0].order, Some(1));
        let forward = &actions[1];
        assert_eq!(forward.order, Some(2));
        assert_eq!(forward.target_group_arn, None);
        let config = forward.forward_config.as_ref().unwrap();
        assert_eq!(
            config
                .target_group_stickiness_config
                .as_ref()
                .and_then(|stickiness| stickiness.duration_seconds),
            Some(60)
        );
        let weights = forward_weights(&actions, &route()).unwrap();
        assert_eq!(weights, split(30).as_weights());
    }

    #[test]
    fn a_redirect_is_not_a_route_ferry_can_shift() {
        let actions = vec![Action::builder().r#type(ActionTypeEnum::Redirect).build()];
        let error = forward_weights(&actions, &route()).unwrap_err();
        assert!(matches!(error, PortError::Invalid(ref message) if message.contains("redirect")));
    }

    #[test]
    fn a_rule_of_another_listener_is_refused() {
        let listener = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/web/1/2";
        assert!(
            check_rule_of_listener(
                listener,
                "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/web/1/2/9"
            )
            .is_ok()
        );
        assert!(
            check_rule_of_listener(
                listener,
                "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/web/1/3/9"
            )
            .is_err()
        );
    }
}
