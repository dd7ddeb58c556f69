use serde_json::json;
use time::macros::datetime;

use super::*;
use crate::control::{Actor, Channel, Identity};

const AT: OffsetDateTime = datetime!(2026-11-22 10:05:00 UTC);

fn deployment(strategy_steps: serde_json::Value, holds_at: Option<u8>) -> Deployment {
    serde_json::from_value(json!({
        "id": "d1", "service": "web", "cluster": "shop",
        "source": {"repository": "acme/shop", "commit": "0123456789abcdef0123456789abcdef01234567",
                   "manifestPath": ".ferry/web.yaml", "author": "alice"},
        "status": {"state": "pending"},
        "plan": {"steps": strategy_steps, "holdsAt": holds_at},
        "policy": {"alarms": [], "rollbackOnAlarm": true, "keepOldForSeconds": 300, "approvers": ["U0123ABC"],
                   "approvalTimeoutSeconds": 3600, "onApprovalTimeout": "rollback"},
        "traffic": {"listenerArn": "l"}, "blueTargetGroup": "b", "greenTargetGroup": "g",
        "taskDefinition": {}, "containerName": "web", "containerPort": 80, "greenWeight": 0,
        "history": [], "createdAt": "2026-11-22T10:00:00Z", "updatedAt": "2026-11-22T10:00:00Z",
        "version": 0
    }))
    .unwrap()
}

fn canary() -> Deployment {
    deployment(
        json!([{"weight": 10, "bakeSeconds": 300, "approve": true}, {"weight": 100, "bakeSeconds": 0, "approve": false}]),
        None,
    )
}

fn green() -> TaskSetRef {
    TaskSetRef {
        id: "ecs-svc/green".into(),
        arn: "arn:green".into(),
        task_definition_arn: "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:7".into(),
        target_group_arn: "g".into(),
    }
}

#[test]
fn a_deployment_runs_through_its_transitions_and_records_each() {
    let mut deployment = canary();
    deployment.planned(AT);
    deployment.green_created(AT, green());
    assert_eq!(deployment.status, DeploymentStatus::Provisioning);
    assert!(deployment.green_stable(AT, 2, 2).is_some());
    assert!(deployment.green_stable(AT, 2, 2).is_none(), "recorded once");
    let asked = deployment.awaiting_approval(AT, 0, "t1".into());
    assert_eq!(
        asked,
        Event::AwaitingApproval {
            step: 0,
            weight: 10,
            approvers: vec!["U0123ABC".into()]
        }
    );
    assert_eq!(
        deployment.status,
        DeploymentStatus::AwaitingApproval { step: 0 }
    );
    let shifted = deployment.shifted(AT, 0, 10);
    assert_eq!(deployment.status, DeploymentStatus::Shifting { step: 0 });
    assert_eq!(deployment.green_weight, 10);
    assert!(deployment.pending_token.is_none());
    assert_eq!(
        shifted.describe(&deployment),
        "shop/web: 10% of traffic on green (step 1 of 2)"
    );
    deployment.baking(AT, 0, "t2".into());
    assert_eq!(deployment.status, DeploymentStatus::Baking { step: 0 });
    deployment.shifted(AT, 1, 100);
    deployment.promoted(AT);
    assert_eq!(deployment.status, DeploymentStatus::Finalizing);
    deployment.keeping_blue_warm(AT, "t3".into());
    deployment.cleanup_started(AT);
    assert!(deployment.cleanup_started);
    let done = deployment.succeeded(datetime!(2026-11-22 10:15:00 UTC));
    assert_eq!(deployment.status, DeploymentStatus::Succeeded);
    assert!(
        done.describe(&deployment)
            .starts_with("shop/web now runs arn:aws:ecs:eu-west-1:123456789012:task-definition/web:7 (0123456), in 15m"),
        "{}",
        done.describe(&deployment)
    );
    let names: Vec<&str> = deployment
        .history
        .iter()
        .map(|entry| entry.event.name())
        .collect();
    assert_eq!(
        names,
        [
            "planned",
            "task-set-created",
            "task-set-stable",
            "awaiting-approval",
            "shifted",
            "baking",
            "shifted",
            "promoted",
            "keeping-blue-warm",
            "cleanup-started",
            "succeeded"
        ]
    );
}

#[test]
fn a_preset_below_100_holds_and_a_rollback_ends_with_its_reason() {
    let mut deployment = deployment(
        json!([{"weight": 80, "bakeSeconds": 0, "approve": false}]),
        Some(80),
    );
    deployment.shifted(AT, 0, 80);
    assert_eq!(deployment.status, DeploymentStatus::Holding { step: 0 });
    deployment.rolling_back(AT, "alarm web-5xx: 5xx");
    assert_eq!(deployment.status, DeploymentStatus::RollingBack);
    assert_eq!(deployment.reason.as_deref(), Some("alarm web-5xx: 5xx"));
    let event = deployment.rolled_back(AT, "alarm web-5xx: 5xx");
    assert_eq!(deployment.status, DeploymentStatus::RolledBack);
    assert_eq!(deployment.green_weight, 0);
    assert_eq!(
        event.describe(&deployment),
        "shop/web rolled back: alarm web-5xx: 5xx"
    );
}

#[test]
fn an_answer_is_claimed_on_the_pending_wait() {
    let mut deployment = canary();
    deployment.awaiting_approval(AT, 0, "t1".into());
    let event = deployment.answered(Answered {
        answer: Answer::Approved,
        by: Actor {
            identity: Identity::Slack("U0123ABC".into()),
            via: Channel::Slack,
        },
        at: AT,
        reason: "approved by U0123ABC via Slack".into(),
    });
    assert_eq!(deployment.answer(), Some(Answer::Approved));
    assert_eq!(event.step(), Some(0));
    assert_eq!(
        serde_json::to_value(&deployment.history[0]).unwrap(),
        json!({"at": "2026-11-22T10:05:00Z", "greenWeight": 0, "event": "awaiting-approval", "step": 0, "weight": 10, "approvers": ["U0123ABC"]})
    );
}

#[test]
fn entries_round_trip_and_entries_of_earlier_versions_stay_readable() {
    let mut deployment = canary();
    deployment.shifted(AT, 0, 10);
    let stored = serde_json::to_value(&deployment.history).unwrap();
    assert_eq!(
        stored,
        json!([{"at": "2026-11-22T10:05:00Z", "greenWeight": 10, "event": "shifted", "step": 0, "weight": 10, "of": 2}])
    );
    let back: Vec<HistoryEntry> = serde_json::from_value(stored).unwrap();
    assert_eq!(back, deployment.history);

    let earlier: Vec<HistoryEntry> = serde_json::from_value(json!([
        {"at": "2026-11-20T10:00:00Z", "event": "shifted", "step": 0, "greenWeight": 10, "detail": "10% to green"},
        {"at": "2026-11-20T10:01:00Z", "event": "approved-by-fax", "detail": "?"}
    ]))
    .unwrap();
    assert_eq!(
        earlier[0].event,
        Event::Earlier {
            name: "shifted".into(),
            detail: "10% to green".into()
        }
    );
    assert_eq!(earlier[1].event.name(), "approved-by-fax");
    assert_eq!(earlier[1].green_weight, 0);
    // And they are written back as they were.
    assert_eq!(
        serde_json::to_value(&earlier[0]).unwrap(),
        json!({"at": "2026-11-20T10:00:00Z", "greenWeight": 10, "event": "shifted", "detail": "10% to green"})
    );
}

#[test]
fn verbosity_decides_which_events_a_channel_hears() {
    use super::Verbosity;
    let shifted = Event::Shifted {
        step: 0,
        weight: 10,
        of: 2,
    };
    let baking = Event::Baking {
        step: 0,
        seconds: 60,
    };
    let rolled_back = Event::RolledBack {
        reason: "alarm".into(),
    };
    let planned = Event::Planned {
        manifest_path: ".ferry/web.yaml".into(),
        commit: "a".repeat(40),
        author: None,
        steps: 2,
    };
    let heard = |event: &Event| {
        [Verbosity::Quiet, Verbosity::Normal, Verbosity::Verbose]
            .map(|level| event.worth_telling(level))
    };
    assert_eq!(heard(&rolled_back), [true, true, true]);
    assert_eq!(heard(&shifted), [false, true, true]);
    assert_eq!(heard(&baking), [false, false, true]);
    // The parent message announces the deployment: never a reply.
    assert_eq!(heard(&planned), [false, false, false]);
}
