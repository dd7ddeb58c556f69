//! Just enough ARN parsing to check that a manifest names the right kind of resource.

/// The parts of an ARN: `arn:partition:service:region:account:resource`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arn<'a> {
    pub partition: &'a str,
    pub service: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub resource: &'a str,
}

impl<'a> Arn<'a> {
    pub fn parse(text: &'a str) -> Option<Arn<'a>> {
        let mut parts = text.splitn(6, ':');
        if parts.next()? != "arn" {
            return None;
        }
        let partition = parts.next()?;
        let service = parts.next()?;
        let region = parts.next()?;
        let account = parts.next()?;
        let resource = parts.next()?;
        let valid_partition = partition.starts_with("aws");
        let valid_account = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
        if !valid_partition || service.is_empty() || !valid_account || resource.is_empty() {
            return None;
        }
        Some(Arn {
            partition,
            service,
            region,
            account,
            resource,
        })
    }
}

/// The kinds of resources a manifest refers to by ARN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceKind {
    /// `elasticloadbalancing ... listener/app/NAME/ID/ID`
    AlbListener,
    /// `elasticloadbalancing ... listener-rule/app/NAME/ID/ID/ID`
    AlbListenerRule,
    /// `elasticloadbalancing ... targetgroup/NAME/ID`
    TargetGroup,
    /// `ecs ... cluster/NAME`
    EcsCluster,
}

impl ResourceKind {
    /// What a person should have written, for error messages.
    pub fn example(self) -> &'static str {
        match self {
            ResourceKind::AlbListener => {
                "arn:aws:elasticloadbalancing:REGION:ACCOUNT:listener/app/NAME/ID/ID"
            }
            ResourceKind::AlbListenerRule => {
                "arn:aws:elasticloadbalancing:REGION:ACCOUNT:listener-rule/app/NAME/ID/ID/ID"
            }
            ResourceKind::TargetGroup => {
                "arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID"
            }
            ResourceKind::EcsCluster => "arn:aws:ecs:REGION:ACCOUNT:cluster/NAME",
        }
    }

    fn matches(self, arn: &Arn<'_>) -> bool {
        let segments: Vec<&str> = arn.resource.split('/').collect();
        let filled = |range: std::ops::Range<usize>| segments[range].iter().all(|s| !s.is_empty());
        match self {
            ResourceKind::AlbListener => {
                arn.service == "elasticloadbalancing"
                    && segments.len() == 5
                    && segments[0] == "listener"
                    && segments[1] == "app"
                    && filled(2..5)
            }
            ResourceKind::AlbListenerRule => {
                arn.service == "elasticloadbalancing"
                    && segments.len() == 6
                    && segments[0] == "listener-rule"
                    && segments[1] == "app"
                    && filled(2..6)
            }
            ResourceKind::TargetGroup => {
                arn.service == "elasticloadbalancing"
                    && segments.len() == 3
                    && segments[0] == "targetgroup"
                    && filled(1..3)
            }
            ResourceKind::EcsCluster => {
                arn.service == "ecs"
                    && segments.len() == 2
                    && segments[0] == "cluster"
                    && filled(1..2)
            }
        }
    }
}

/// Parses `text` as an ARN of `kind`.
pub fn parse_as(text: &str, kind: ResourceKind) -> Option<Arn<'_>> {
    Arn::parse(text).filter(|arn| kind.matches(arn))
}

/// The listener a listener rule belongs to: `listener-rule/app/a/b/c/d` → `listener/app/a/b/c`.
pub fn listener_of_rule(rule_arn: &str) -> Option<String> {
    let arn = parse_as(rule_arn, ResourceKind::AlbListenerRule)?;
    let resource = arn.resource.strip_prefix("listener-rule/")?;
    let listener_part = &resource[..resource.rfind('/')?];
    Some(format!(
        "arn:{}:{}:{}:{}:listener/{}",
        arn.partition, arn.service, arn.region, arn.account, listener_part
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LISTENER: &str = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2";
    const RULE: &str = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee";
    const TG: &str =
        "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web-blue/6d0ecf831eec9f09";

    #[test]
    fn recognises_each_kind_and_rejects_the_others() {
        assert!(parse_as(LISTENER, ResourceKind::AlbListener).is_some());
        assert!(parse_as(RULE, ResourceKind::AlbListenerRule).is_some());
        assert!(parse_as(TG, ResourceKind::TargetGroup).is_some());
        assert!(parse_as(TG, ResourceKind::AlbListener).is_none());
        assert!(parse_as(LISTENER, ResourceKind::TargetGroup).is_none());
        assert!(
            parse_as(
                "arn:aws:ecs:eu-west-1:123456789012:cluster/prod",
                ResourceKind::EcsCluster
            )
            .is_some()
        );
        assert!(parse_as("not an arn", ResourceKind::AlbListener).is_none());
        assert!(
            parse_as(
                "arn:aws:elasticloadbalancing:eu-west-1:12345:targetgroup/a/b",
                ResourceKind::TargetGroup
            )
            .is_none()
        );
    }

    #[test]
    fn finds_the_listener_of_a_rule() {
        assert_eq!(listener_of_rule(RULE).as_deref(), Some(LISTENER));
        assert_eq!(listener_of_rule(LISTENER), None);
    }
}
