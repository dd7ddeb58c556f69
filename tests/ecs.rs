//! `EcsTaskSets` against moto's ECS.

use ferry_core::ports::{PortError, TaskSetDeployer, TaskSetStatus};
use serde_json::json;

use crate::helpers::{clients, seed_environment, task_definition_document, unique_prefix};

#[tokio::test]
async fn describing_the_seeded_service_finds_the_primary_task_set_and_its_placement() {
    let clients = clients().await;
    let env = seed_environment(&clients, &unique_prefix("ecs")).await;
    let ecs = clients.aws.task_sets();

    let service = ecs
        .describe_service(&env.cluster, &env.service)
        .await
        .unwrap();

    assert_eq!(service.name, env.service);
    assert_eq!(service.arn, env.service_arn);
    assert_eq!(service.cluster_arn, env.cluster_arn);
    assert_eq!(service.deployment_controller, "EXTERNAL");
    assert_eq!(service.status, "ACTIVE");
    assert_eq!(service.desired_count, 2);
    let blue = service.primary_task_set().expect("a primary task set");
    assert_eq!(blue.id, env.blue_task_set_id);
    assert_eq!(blue.arn, env.blue_task_set_arn);
    assert_eq!(
        blue.external_id.as_deref(),
        Some(env.blue_external_id.as_str())
    );
    assert_eq!(blue.task_definition_arn, env.task_definition_arn);
    assert_eq!(
        blue.target_group_arns,
        vec![env.blue_target_group_arn.clone()]
    );
    assert!(blue.steady);
    assert_eq!(blue.scale_percent, 100.0);
    assert_eq!(blue.placement.launch_type.as_deref(), Some("FARGATE"));
    let network = blue.placement.network.as_ref().expect("awsvpc network");
    assert_eq!(network.subnets, env.subnet_ids);
    assert_eq!(network.security_groups, vec![env.security_group_id.clone()]);
    assert!(!network.assign_public_ip);
}

#[tokio::test]
async fn describing_the_service_by_cluster_arn_finds_the_same_service() {
    let clients = clients().await;
    let env = seed_environment(&clients, &unique_prefix("ecs")).await;
    let ecs = clients.aws.task_sets();

    let service = ecs
        .describe_service(&env.cluster_arn, &env.service)
        .await
        .unwrap();

    assert_eq!(service.arn, env.service_arn);
}

#[tokio::test]
async fn describing_a_missing_service_or_cluster_is_not_found() {
    let clients = clients().await;
    let env = seed_environment(&clients, &unique_prefix("ecs")).await;
    let ecs = clients.aws.task_sets();

    let missing_service = ecs.describe_service(&env.cluster, "no-such-service").await;
    assert!(
        matches!(missing_service, Err(PortError::NotFound(ref message)) if message.contains("no-such-service")),
        "{missing_service:?}"
    );
    let missing_cluster = ecs.describe_service("no-such-cluster", &env.service).await;
    assert!(
        matches!(missing_cluster, Err(PortError::NotFound(_))),
        "{missing_cluster:?}"
    );
}

#[tokio::test]
async fn registering_a_task_definition_from_a_json_document_maps_its_fields() {
    let clients = clients().await;
    let prefix = unique_prefix("taskdef");
    let ecs = clients.aws.task_sets();
    let mut document = task_definition_document(&format!("{prefix}-web"), "nginx:1.27");
    let container = &mut document["containerDefinitions"][0];
    container["secrets"] = json!([{"name": "DB_PASSWORD", "valueFrom": "arn:aws:ssm:eu-west-1:123456789012:parameter/db"}]);
    container["healthCheck"] = json!({"command": ["CMD-SHELL", "curl -f localhost:8080/health"], "interval": 15, "retries": 2});
    container["logConfiguration"] =
        json!({"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/web"}});
    container["dockerLabels"] = json!({"team": "shop"});
    container["linuxParameters"] = json!({"initProcessEnabled": true});

    let first = ecs.register_task_definition(&document).await.unwrap();
    let second = ecs.register_task_definition(&document).await.unwrap();

    assert!(
        first.ends_with(&format!("task-definition/{prefix}-web:1")),
        "{first}"
    );
    assert!(
        second.ends_with(&format!("task-definition/{prefix}-web:2")),
        "{second}"
    );
    let described = clients
        .aws
        .ecs
        .describe_task_definition()
        .task_definition(&second)
        .send()
        .await
        .unwrap();
    let registered = described.task_definition().unwrap();
    assert_eq!(registered.cpu(), Some("256"));
    assert_eq!(registered.memory(), Some("512"));
    let web = &registered.container_definitions()[0];
    assert_eq!(web.image(), Some("nginx:1.27"));
    assert_eq!(web.memory(), Some(512));
    assert_eq!(web.port_mappings()[0].container_port(), Some(8080));
    assert_eq!(web.secrets()[0].name(), "DB_PASSWORD");
    assert_eq!(web.health_check().unwrap().retries(), Some(2));
    assert_eq!(
        web.log_configuration().unwrap().log_driver().as_str(),
        "awslogs"
    );
}

#[tokio::test]
async fn registering_a_task_definition_with_an_unmapped_field_changes_nothing() {
    let clients = clients().await;
    let prefix = unique_prefix("taskdef");
    let ecs = clients.aws.task_sets();
    let mut document = task_definition_document(&format!("{prefix}-web"), "nginx:1.27");
    document["containerDefinitions"][0]["firelensConfiguration"] = json!({"type": "fluentbit"});

    let refused = ecs.register_task_definition(&document).await;

    assert!(
        matches!(refused, Err(PortError::Invalid(ref message)) if message.contains("containerDefinitions[0].firelensConfiguration")),
        "{refused:?}"
    );
    let families = clients
        .aws
        .ecs
        .list_task_definitions()
        .family_prefix(format!("{prefix}-web"))
        .send()
        .await
        .unwrap();
    assert!(families.task_definition_arns().is_empty());
}

#[tokio::test]
async fn creating_a_green_task_set_on_the_idle_target_group_and_finding_it_again_by_external_id() {
    let clients = clients().await;
    let env = seed_environment(&clients, &unique_prefix("ecs")).await;
    let ecs = clients.aws.task_sets();
    let green_definition = task_definition_document(&format!("{}-web", env.prefix), "nginx:1.28");
    let green_definition_arn = ecs
        .register_task_definition(&green_definition)
        .await
        .unwrap();
    let request = env.green_task_set("deployment-1", &green_definition_arn);

    let green = ecs.create_task_set(&request).await.unwrap();

    assert_eq!(green.external_id.as_deref(), Some("deployment-1"));
    assert_eq!(green.status, TaskSetStatus::Active);
    assert_eq!(green.task_definition_arn, green_definition_arn);
    assert_eq!(
        green.target_group_arns,
        vec![env.green_target_group_arn.clone()]
    );
    assert_eq!(green.placement.network, env.placement().network);
    assert_eq!(green.placement.launch_type.as_deref(), Some("FARGATE"));
    let service = ecs
        .describe_service(&env.cluster, &env.service)
        .await
        .unwrap();
    assert_eq!(service.task_sets.len(), 2);
    let found = service.task_set_with_external_id("deployment-1").unwrap();
    assert_eq!(found.id, green.id);
    assert_eq!(service.primary_task_set().unwrap().id, env.blue_task_set_id);
    let described = ecs
        .describe_task_set(&env.cluster, &env.service, &green.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(described.arn, green.arn);
}

#[tokio::test]
async fn creating_the_same_task_set_again_returns_the_first_one() {
    let clients = clients().await;
    let env = seed_environment(&clients, &unique_prefix("ecs")).await;
    let ecs = clients.aws.task_sets();
    let request = env.green_task_set("deployment-2", &env.task_definition_arn);

    let first = ecs.create_task_set(&request).await.unwrap();
    let again = ecs.create_task_set(&request).await.unwrap();

    assert_eq!(again.id, first.id);
    let service = ecs
        .describe_service(&env.cluster, &env.service)
        .await
        .unwrap();
    assert_eq!(service.task_sets.len(), 2);
}

#[tokio::test]
async fn promoting_green_scaling_blue_down_and_deleting_it_twice() {
    let clients = clients().await;
    let env = seed_environment(&clients, &unique_prefix("ecs")).await;
    let ecs = clients.aws.task_sets();
    let green = ecs
        .create_task_set(&env.green_task_set("deployment-3", &env.task_definition_arn))
        .await
        .unwrap();

    ecs.set_primary_task_set(&env.cluster, &env.service, &green.id)
        .await
        .unwrap();
    ecs.scale_task_set(&env.cluster, &env.service, &env.blue_task_set_id, 0.0)
        .await
        .unwrap();

    let service = ecs
        .describe_service(&env.cluster, &env.service)
        .await
        .unwrap();
    assert_eq!(service.primary_task_set().unwrap().id, green.id);
    let blue = service
        .task_sets
        .iter()
        .find(|set| set.id == env.blue_task_set_id)
        .unwrap();
    assert_eq!(blue.status, TaskSetStatus::Active);
    assert_eq!(blue.scale_percent, 0.0);

    ecs.delete_task_set(&env.cluster, &env.service, &env.blue_task_set_id)
        .await
        .unwrap();
    ecs.delete_task_set(&env.cluster, &env.service, &env.blue_task_set_id)
        .await
        .unwrap();
    assert_eq!(
        ecs.describe_task_set(&env.cluster, &env.service, &env.blue_task_set_id)
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn deleting_the_primary_task_set_is_refused() {
    let clients = clients().await;
    let env = seed_environment(&clients, &unique_prefix("ecs")).await;
    let ecs = clients.aws.task_sets();

    let refused = ecs
        .delete_task_set(&env.cluster, &env.service, &env.blue_task_set_id)
        .await;

    assert!(
        matches!(refused, Err(PortError::Conflict(_))),
        "{refused:?}"
    );
    assert!(
        ecs.describe_task_set(&env.cluster, &env.service, &env.blue_task_set_id)
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn describing_a_task_set_that_never_existed_is_none() {
    let clients = clients().await;
    let env = seed_environment(&clients, &unique_prefix("ecs")).await;
    let ecs = clients.aws.task_sets();

    let missing = ecs
        .describe_task_set(&env.cluster, &env.service, "ecs-svc/0000000000000000000")
        .await
        .unwrap();

    assert_eq!(missing, None);
}

/// A task definition revision never changes: the adapter describes each once (the web UI asks
/// for blue's and green's on every poll). A family without a revision is asked every time.
#[tokio::test]
async fn a_task_definition_revision_is_described_once() {
    use std::sync::atomic::Ordering;
    let clients = clients().await;
    let env = seed_environment(&clients, &unique_prefix("tdcache")).await;
    let plan = crate::faults::FaultPlan::new(1);
    let config = crate::helpers::sdk_config_with_faults(plan.clone()).await;
    let ecs = ferry_aws::EcsTaskSets::new(aws_sdk_ecs::Client::new(&config));

    let before = plan.requests.load(Ordering::SeqCst);
    let first = ecs
        .describe_task_definition(&env.task_definition_arn)
        .await
        .unwrap();
    let again = ecs
        .describe_task_definition(&env.task_definition_arn)
        .await
        .unwrap();
    assert_eq!(first, again);
    assert_eq!(
        plan.requests.load(Ordering::SeqCst) - before,
        1,
        "one DescribeTaskDefinition"
    );
    let family = first.name.split(':').next().unwrap().to_string();
    ecs.describe_task_definition(&family).await.unwrap();
    ecs.describe_task_definition(&family).await.unwrap();
    assert_eq!(
        plan.requests.load(Ordering::SeqCst) - before,
        3,
        "a family is asked each time"
    );
}
