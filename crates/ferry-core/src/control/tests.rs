use serde_json::json;
use time::macros::datetime;

use super::*;
use crate::deployment::PendingToken;

fn deployment(status: DeploymentStatus, approvers: &[&str]) -> Deployment {
    serde_json::from_value(json!({
        "id": "d1", "service": "web", "cluster": "shop",
        "source": {"repository": "acme/shop", "commit": "abc", "manifestPath": ".ferry/web.yaml", "author": "alice"},
        "status": status,
        "plan": {"steps": [{"weight": 10, "bakeSeconds": 60, "approve": true}, {"weight": 100, "bakeSeconds": 0, "approve": false}]},
        "policy": {"alarms": [], "rollbackOnAlarm": true, "keepOldForSeconds": 0, "approvers": approvers,
                   "approvalTimeoutSeconds": 3600, "onApprovalTimeout": "rollback"},
        "traffic": {"listenerArn": "l"}, "blueTargetGroup": "b", "greenTargetGroup": "g",
        "blue": {"id": "ecs-svc/blue", "arn": "arn:blue", "taskDefinitionArn": "td:1", "targetGroupArn": "b"},
        "taskDefinition": {}, "containerName": "web", "containerPort": 80, "greenWeight": 0,
        "history": [], "createdAt": "2026-11-22T10:00:00Z", "updatedAt": "2026-11-22T10:00:00Z",
        "version": 0
    }))
    .unwrap()
}

fn waiting(kind: TokenKind, approvers: &[&str]) -> Deployment {
    let status = match kind {
        TokenKind::Approval => DeploymentStatus::AwaitingApproval { step: 0 },
        TokenKind::Bake => DeploymentStatus::Baking { step: 0 },
        TokenKind::KeepWarm => DeploymentStatus::Finalizing,
    };
    let mut deployment = deployment(status, approvers);
    deployment.pending_token = Some(PendingToken {
        kind,
        step: 0,
        token: "secret-token".into(),
        since: datetime!(2026-11-22 10:00:00 UTC),
        answered: None,
    });
    deployment
}

fn actor(identity: &str) -> Actor {
    Actor {
        identity: Identity::parse(identity).unwrap(),
        via: Channel::Cli,
    }
}

fn answered_by(deployment: &mut Deployment, who: &str, answer: Answer) {
    deployment.pending_token.as_mut().unwrap().answered = Some(Answered {
        answer,
        by: actor(who),
        at: datetime!(2026-11-22 10:01:00 UTC),
        reason: String::new(),
    });
}

#[test]
fn identities_parse_as_the_manifest_writes_them_and_print_back() {
    for text in [
        "U0123ABC",
        "W0123ABC",
        "github:alice",
        "local:alice",
        "email:alice@example.com",
        "arn:aws:iam::123456789012:user/alice",
        "arn:aws:iam::123456789012:role/path/deployers",
        "arn:aws:sts::123456789012:assumed-role/deployers/alice",
    ] {
        assert_eq!(Identity::parse(text).unwrap().to_string(), text);
    }
    for bad in [
        "alice",
        "u0123abc",
        "github:",
        "github:-x",
        "email:alice",
        "email:@example.com",
        "email:a lice@example.com",
        "arn:aws:s3:::bucket",
        "arn:aws:iam::12:user/a",
        "arn:aws:sts::123456789012:assumed-role/deployers",
    ] {
        assert!(Identity::parse(bad).is_err(), "{bad} parsed");
    }
}

#[test]
fn a_role_arn_stands_for_its_sessions_and_github_logins_ignore_case() {
    let role = Identity::parse("arn:aws:iam::123456789012:role/deployers").unwrap();
    let session =
        Identity::parse("arn:aws:sts::123456789012:assumed-role/deployers/alice").unwrap();
    let other_account =
        Identity::parse("arn:aws:sts::210987654321:assumed-role/deployers/alice").unwrap();
    assert!(session.is(&role));
    assert!(!other_account.is(&role));
    assert!(!role.is(&session));
    assert!(Identity::GitHub("Alice".into()).is(&Identity::GitHub("alice".into())));
    assert!(!Identity::Local("alice".into()).is(&Identity::GitHub("alice".into())));
    assert!(
        Identity::Email("Alice@Example.com".into())
            .is(&Identity::Email("alice@example.com".into()))
    );
    assert_eq!(
        Identity::Email("alice@example.com".into()).person(),
        "alice"
    );
}

#[test]
fn a_deployment_offers_the_actions_its_state_allows() {
    let offered = |deployment: &Deployment| offered_actions(deployment);
    let mut approval = waiting(TokenKind::Approval, &[]);
    assert_eq!(offered(&approval), ["approve", "reject", "rollback"]);
    answered_by(&mut approval, "U01", Answer::Approved);
    assert_eq!(offered(&approval), ["rollback"]);
    assert_eq!(offered(&waiting(TokenKind::Bake, &[])), ["rollback"]);
    assert_eq!(
        offered(&waiting(TokenKind::KeepWarm, &[])),
        ["promote", "rollback"]
    );
    assert_eq!(
        offered(&deployment(DeploymentStatus::Holding { step: 0 }, &[])),
        ["promote", "rollback", "moveTo"]
    );
    for ended in [
        DeploymentStatus::Succeeded,
        DeploymentStatus::RolledBack,
        DeploymentStatus::Failed,
        DeploymentStatus::RollingBack,
        DeploymentStatus::CleaningUp,
    ] {
        assert!(offered(&deployment(ended, &[])).is_empty(), "{ended:?}");
    }
    // A first deployment, promoted: nothing to roll back to, so no Roll back.
    let mut first = waiting(TokenKind::KeepWarm, &[]);
    first.blue = None;
    assert_eq!(offered(&first), ["promote"]);
    // Every action offered is one `decide` allows to an approver (none are listed here).
    for deployment in [
        waiting(TokenKind::Approval, &[]),
        waiting(TokenKind::KeepWarm, &[]),
        deployment(DeploymentStatus::Holding { step: 0 }, &[]),
        deployment(DeploymentStatus::Baking { step: 0 }, &[]),
    ] {
        for name in offered(&deployment) {
            let action: Action = serde_json::from_value(match name {
                "moveTo" => json!({"action": name, "preset": "split"}),
                _ => json!({"action": name}),
            })
            .unwrap();
            assert!(
                decide(&deployment, &actor("U01"), &action).is_ok(),
                "{name} offered on {:?} but refused",
                deployment.status
            );
        }
    }
}

#[test]
fn an_approver_approves_and_anyone_else_is_refused() {
    let deployment = waiting(TokenKind::Approval, &["U0123ABC", "github:bob"]);
    assert!(matches!(
        decide(&deployment, &actor("U0123ABC"), &Action::Approve),
        Ok(Effect::AnswerWait {
            answer: Answer::Approved,
            ..
        })
    ));
    assert!(decide(&deployment, &actor("github:BOB"), &Action::Approve).is_ok());
    let refusal = decide(&deployment, &actor("local:mallory"), &Action::Approve).unwrap_err();
    assert_eq!(
        refusal.to_string(),
        "local:mallory is not an approver of shop/web (approvers: U0123ABC, github:bob)"
    );
    // Rejecting is an approver's call too; rolling back is anyone's.
    assert!(matches!(
        decide(
            &deployment,
            &actor("local:mallory"),
            &Action::Reject { reason: None }
        ),
        Err(Refusal::NotApprover { .. })
    ));
    assert!(matches!(
        decide(
            &deployment,
            &actor("local:mallory"),
            &Action::Rollback { reason: None }
        ),
        Ok(Effect::AnswerWait {
            answer: Answer::Aborted,
            ..
        })
    ));
}

#[test]
fn a_second_answer_is_refused_but_the_same_answer_is_sent_again() {
    let mut deployment = waiting(TokenKind::Approval, &[]);
    answered_by(&mut deployment, "github:bob", Answer::Approved);
    let refusal = decide(&deployment, &actor("github:carol"), &Action::Approve).unwrap_err();
    assert_eq!(
        refusal.to_string(),
        "the wait of deployment d1 was already answered: approved by github:bob via CLI"
    );
    assert!(matches!(
        decide(
            &deployment,
            &actor("github:bob"),
            &Action::Reject { reason: None }
        ),
        Err(Refusal::AlreadyDecided { .. })
    ));
    assert!(decide(&deployment, &actor("github:bob"), &Action::Approve).is_ok());
}

#[test]
fn a_rollback_after_the_wait_was_answered_goes_through_the_traffic_workflow() {
    let mut deployment = waiting(TokenKind::Bake, &[]);
    answered_by(&mut deployment, "github:bob", Answer::Aborted);
    let Ok(Effect::StartTraffic(request)) = decide(
        &deployment,
        &actor("github:carol"),
        &Action::Rollback { reason: None },
    ) else {
        panic!("expected the traffic workflow");
    };
    assert_eq!(request.action, TrafficAction::Rollback);
    assert_eq!(
        request.reason.as_deref(),
        Some("rolled back by github:carol via CLI")
    );
}

#[test]
fn self_approval_is_refused_only_when_the_manifest_forbids_it() {
    let mut deployment = waiting(TokenKind::Approval, &[]);
    assert!(decide(&deployment, &actor("github:alice"), &Action::Approve).is_ok());
    deployment.policy.self_approval = false;
    assert!(matches!(
        decide(&deployment, &actor("github:Alice"), &Action::Approve),
        Err(Refusal::SelfApproval { .. })
    ));
    assert!(decide(&deployment, &actor("github:bob"), &Action::Approve).is_ok());
}

#[test]
fn each_action_is_refused_where_it_does_not_apply() {
    let baking = waiting(TokenKind::Bake, &[]);
    let someone = actor("local:alice");
    for action in [
        Action::Approve,
        Action::Promote,
        Action::MoveTo {
            preset: Preset::Split,
        },
    ] {
        assert!(
            matches!(
                decide(&baking, &someone, &action),
                Err(Refusal::NotAllowed { .. })
            ),
            "{action:?}"
        );
    }
    let ended = deployment(DeploymentStatus::RolledBack, &[]);
    let refusal = decide(&ended, &someone, &Action::Rollback { reason: None }).unwrap_err();
    assert_eq!(
        refusal.to_string(),
        "cannot rollback deployment d1: it is rolled-back; there is nothing to roll back (deploy the previous commit to go back)"
    );
}

#[test]
fn a_held_deployment_moves_and_promotes_through_the_traffic_workflow() {
    let held = deployment(DeploymentStatus::Holding { step: 0 }, &[]);
    let someone = actor("local:alice");
    let Ok(Effect::StartTraffic(request)) = decide(
        &held,
        &someone,
        &Action::MoveTo {
            preset: Preset::Green80,
        },
    ) else {
        panic!("expected the traffic workflow");
    };
    assert_eq!(
        request.to_json(),
        json!({"deploymentId": "d1", "action": "preset", "weight": 80})
    );
    assert!(matches!(
        decide(&held, &someone, &Action::Promote),
        Ok(Effect::StartTraffic(TrafficRequest {
            action: TrafficAction::Promote,
            ..
        }))
    ));
    let warm = waiting(TokenKind::KeepWarm, &[]);
    assert!(matches!(
        decide(&warm, &someone, &Action::Promote),
        Ok(Effect::AnswerWait {
            answer: Answer::Approved,
            ..
        })
    ));
}

#[test]
fn a_token_never_shows_in_debug_output_or_the_redacted_record() {
    let deployment = waiting(TokenKind::Approval, &[]);
    assert!(!format!("{deployment:?}").contains("secret-token"));
    let shown = serde_json::to_string(&deployment.redacted()).unwrap();
    assert!(!shown.contains("secret-token"), "{shown}");
}

#[test]
fn a_local_name_is_a_local_user_even_when_it_starts_like_a_slack_id() {
    assert_eq!(
        Identity::parse_local("Walter"),
        Ok(Identity::Local("Walter".into()))
    );
    assert_eq!(
        Identity::parse_local("U0123ABC"),
        Ok(Identity::Slack("U0123ABC".into()))
    );
    assert!(Identity::parse_local("github:").is_err());
    assert!(Identity::parse_local(" ").is_err());
}

#[test]
fn rolling_back_is_for_anyone_unless_the_manifest_says_approvers() {
    let mut deployment = waiting(TokenKind::Bake, &["U0APPROVER"]);
    let rollback = Action::Rollback { reason: None };
    assert!(decide(&deployment, &actor("U0ONCALL"), &rollback).is_ok());

    deployment.policy.rollback_by_approvers = true;
    assert!(matches!(
        decide(&deployment, &actor("U0ONCALL"), &rollback),
        Err(Refusal::NotApprover { .. })
    ));
    assert!(decide(&deployment, &actor("U0APPROVER"), &rollback).is_ok());
    // A newer push cancelling it (onNewerPush: cancel) acts on the manifest's own word.
    let push = Actor {
        identity: Identity::GitHub("bob".into()),
        via: Channel::Push,
    };
    assert!(decide(&deployment, &push, &rollback).is_ok());
}
