//! Shared test setup: the moto emulator, SDK clients pointed at it, and a seeded environment.
//!
//! ```ignore
//! let clients = helpers::clients().await;            // moto starts on first use
//! let env = helpers::seed_environment(&clients, &helpers::unique_prefix("web")).await;
//! let ecs = clients.aws.task_sets();                  // ferry-aws adapters, as in Lambda
//! ```
//!
//! - **moto** runs once per test binary, on a port the OS picks, inside a small Python wrapper
//!   that exits as soon as its stdin closes. The test process holds the other end of that pipe,
//!   so however the process ends (pass, panic, Ctrl-C, SIGKILL) the OS closes it and moto goes
//!   too: no orphan survives a run. `FERRY_TEST_PYTHON` picks another interpreter (a venv).
//! - **Clients** are built per test: each `#[tokio::test]` has its own runtime, and a client's
//!   connection pool must not outlive the runtime it was made in. The endpoint, region
//!   (`eu-west-1`) and dummy credentials are set on the config, not in the process environment,
//!   so parallel tests never race on `std::env`.
//! - **Names** are unique per test ([`unique_prefix`]), so tests share one moto and run in
//!   parallel. Nothing is cleaned up: moto's state dies with it.
//! - **Logs** are silent unless `TEST_LOG` is set (`TEST_LOG=1`, or a filter such as
//!   `TEST_LOG=ferry_aws=debug`).
//!
//! # moto quirks met here (moto 5.2)
//!
//! - Checked and *not* needed with moto 5.2.1, but seeded anyway because older releases wanted
//!   them and they are realistic: `memory` on every container (task-level memory is enough, as
//!   in AWS), security groups in a task set's awsvpc configuration, DNS hostnames on the VPC.
//! - ECS task sets are `STEADY_STATE` at once, with running count 0; nothing ever runs. Their
//!   `computedDesiredCount` is never set (reads 0), so `wait-stable` finds green stable on the
//!   first poll. Their platform version reads `LATEST` when none was given.
//! - ECS `UpdateServicePrimaryTaskSet` only works with the task set's ARN; given an id it makes
//!   every task set ACTIVE and none PRIMARY (the adapter resolves ids to ARNs).
//! - ECS `DeleteTaskSet` ignores `force` and deletes at once (AWS drains first).
//! - CloudWatch `DescribeAlarms` with alarm names ignores the state filter and `AlarmTypes`,
//!   and never paginates. New alarms start `OK` (AWS: `INSUFFICIENT_DATA`).
//! - CloudWatch only speaks the Query protocol, hence aws-sdk-cloudwatch is pinned to 1.99.
//! - Step Functions `SendTaskSuccess`/`SendTaskFailure` accept any token and do nothing.
//! - DynamoDB TTL is recorded but never deletes anything.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_ecs::config::{Credentials, Region};
use ferry_aws::AwsClients;
use ferry_core::ports::{NetworkConfig, NewTaskSet, Placement, RouteRef, Split};
use serde_json::{Value, json};

/// The region every test uses.
pub const REGION: &str = "eu-west-1";
/// moto's default account.
pub const ACCOUNT: &str = "123456789012";

// ---------------------------------------------------------------------------------------------
// moto

/// Starts moto inside Python, prints the port the OS gave it, and exits when stdin closes.
const MOTO_WRAPPER: &str = r#"
import logging, os, sys
try:
    from moto.server import ThreadedMotoServer
except ImportError as error:
    print("MISSING", error, flush=True)
    sys.exit(3)
logging.getLogger("werkzeug").setLevel(logging.ERROR)
server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
print(server.get_host_and_port()[1], flush=True)
sys.stdin.read()
os._exit(0)
"#;

struct Moto {
    endpoint: String,
    /// Never dropped (statics are not): kept so the pipe to moto's stdin stays open while the
    /// test process lives, and closes when it ends.
    _process: Mutex<Child>,
}

static MOTO: OnceLock<Moto> = OnceLock::new();

fn start_moto() -> Moto {
    let python = std::env::var("FERRY_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let mut child = Command::new(&python)
        .args(["-c", MOTO_WRAPPER])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|error| {
            panic!("cannot run {python} to start moto: {error}; install Python 3 and `pip install 'moto[server]'`")
        });
    let mut line = String::new();
    let stdout = child.stdout.take().expect("piped stdout");
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("reading moto's port");
    let line = line.trim();
    if line.starts_with("MISSING") || line.is_empty() {
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "moto is not installed for {python} ({line}); run `pip install 'moto[server]'` \
             (the Makefile's test setup does) or point FERRY_TEST_PYTHON at a Python that has it"
        );
    }
    let port: u16 = line
        .parse()
        .unwrap_or_else(|_| panic!("moto wrapper printed {line:?}, expected a port"));
    let endpoint = format!("http://127.0.0.1:{port}");
    wait_until_listening(port);
    Moto {
        endpoint,
        _process: Mutex::new(child),
    }
}

fn wait_until_listening(port: u16) {
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    for _ in 0..100 {
        if std::net::TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("moto did not listen on {address} within 10 seconds");
}

/// The emulator's URL, starting it on first use.
pub fn moto_endpoint() -> &'static str {
    &MOTO.get_or_init(start_moto).endpoint
}

// ---------------------------------------------------------------------------------------------
// Tracing and clients

static TRACING: OnceLock<()> = OnceLock::new();

/// Logs to the test output when `TEST_LOG` is set; silent otherwise.
pub fn init_tracing() {
    TRACING.get_or_init(|| {
        let Ok(filter) = std::env::var("TEST_LOG") else {
            return;
        };
        let filter = if filter.is_empty() || filter == "1" || filter == "true" {
            "info".to_string()
        } else {
            filter
        };
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_test_writer()
            .try_init();
    });
}

/// An SDK config for moto: endpoint, region and test credentials set here, not in `std::env`.
/// Every request goes through the fault layer ([`crate::faults`]), which injects nothing here
/// and records which AWS actions Ferry's functions call.
pub async fn sdk_config() -> SdkConfig {
    sdk_config_with_faults(crate::faults::FaultPlan::new(0)).await
}

/// [`sdk_config`] whose requests meet the faults of `plan`.
pub async fn sdk_config_with_faults(plan: Arc<crate::faults::FaultPlan>) -> SdkConfig {
    init_tracing();
    let endpoint = moto_endpoint();
    let base = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new(
            "testing",
            "testing",
            None,
            None,
            "ferry-tests",
        ))
        // A wedged emulator must fail a test, not hang the run.
        .timeout_config(
            TimeoutConfig::builder()
                .operation_timeout(Duration::from_secs(60))
                .build(),
        )
        .load()
        .await;
    // moto speaks plain HTTP on loopback.
    let inner = aws_smithy_http_client::Builder::new().build_http();
    base.into_builder()
        .http_client(crate::faults::FaultyClient { inner, plan })
        .build()
}

/// Everything a test talks to: Ferry's clients plus EC2 for seeding.
#[derive(Debug, Clone)]
pub struct Clients {
    pub sdk: SdkConfig,
    pub aws: AwsClients,
    pub ec2: aws_sdk_ec2::Client,
}

/// Clients for moto, built for the calling test's runtime.
pub async fn clients() -> Clients {
    let sdk = sdk_config().await;
    Clients {
        aws: AwsClients::new(&sdk),
        ec2: aws_sdk_ec2::Client::new(&sdk),
        sdk,
    }
}

/// A short name prefix unique in this run: `{label}-{8 hex}`. Keep `label` short (up to 10
/// characters): ALB and target group names stop at 32.
pub fn unique_prefix(label: &str) -> String {
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    let label: String = label
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(10)
        .collect();
    format!("{label}-{}", &nonce[..8])
}

// ---------------------------------------------------------------------------------------------
// The seeded environment

/// What [`seed_environment`] created. Blue runs on target group A and takes all production
/// traffic; target group B is idle, waiting for green.
#[derive(Debug, Clone)]
pub struct Environment {
    pub prefix: String,
    pub vpc_id: String,
    pub subnet_ids: Vec<String>,
    pub security_group_id: String,
    pub load_balancer_arn: String,
    /// Port 80, forwarding 100/0 to blue/green.
    pub production_listener_arn: String,
    /// Port 8080, forwarding to green only (checks before real traffic).
    pub test_listener_arn: String,
    pub blue_target_group_arn: String,
    pub green_target_group_arn: String,
    pub cluster: String,
    pub cluster_arn: String,
    pub service: String,
    pub service_arn: String,
    pub container_name: String,
    pub container_port: u16,
    /// The task definition document blue runs, as a repository would hold it.
    pub task_definition: Value,
    pub task_definition_arn: String,
    pub blue_task_set_id: String,
    pub blue_task_set_arn: String,
    pub blue_external_id: String,
    /// Two metric alarms, both OK.
    pub alarm_names: Vec<String>,
    /// A DynamoDB table of this environment's own, made by `ferry_aws::ensure_table`.
    pub table: String,
}

impl Environment {
    /// `cluster/service`, the key of the lock and of the service's history.
    pub fn service_key(&self) -> String {
        ferry_core::deployment::service_key(&self.cluster, &self.service)
    }

    /// The production listener's default action.
    pub fn production_route(&self) -> RouteRef {
        RouteRef {
            listener_arn: self.production_listener_arn.clone(),
            rule_arn: None,
        }
    }

    /// Blue on A, green on B, `green_weight` percent to green.
    pub fn split(&self, green_weight: u8) -> Split {
        Split {
            blue_target_group: self.blue_target_group_arn.clone(),
            green_target_group: self.green_target_group_arn.clone(),
            green_weight,
        }
    }

    /// Where blue runs, for green to run alike.
    pub fn placement(&self) -> Placement {
        Placement {
            network: Some(NetworkConfig {
                subnets: self.subnet_ids.clone(),
                security_groups: vec![self.security_group_id.clone()],
                assign_public_ip: false,
            }),
            launch_type: Some("FARGATE".into()),
            capacity_providers: Vec::new(),
            platform_version: None,
        }
    }

    /// A green task set request on the idle target group.
    pub fn green_task_set(&self, external_id: &str, task_definition_arn: &str) -> NewTaskSet {
        NewTaskSet {
            cluster: self.cluster.clone(),
            service: self.service.clone(),
            task_definition_arn: task_definition_arn.to_string(),
            external_id: external_id.to_string(),
            target_group_arn: self.green_target_group_arn.clone(),
            container_name: self.container_name.clone(),
            container_port: self.container_port,
            placement: self.placement(),
            scale_percent: 100.0,
        }
    }

    /// A deployment manifest (`.ferry/<service>.yaml`) for this environment. `strategy` is the
    /// YAML of the strategy's value, e.g. `"canary: { weight: 10, bake: 1m }"`;
    /// `task_definition` is the path written in the manifest.
    pub fn manifest_yaml(&self, strategy: &str, task_definition: &str) -> String {
        format!(
            "service: {service}\n\
             cluster: {cluster}\n\
             region: {REGION}\n\
             taskDefinition: {task_definition}\n\
             container: {{ name: {container}, port: {port} }}\n\
             traffic:\n  \
               listener: {listener}\n  \
               testListener: {test_listener}\n  \
               targetGroups:\n    \
                 - {blue}\n    \
                 - {green}\n\
             strategy:\n  {strategy}\n\
             alarms: [{alarms}]\n\
             rollback: {{ onAlarm: true, keepOldFor: 1m }}\n",
            service = self.service,
            cluster = self.cluster,
            container = self.container_name,
            port = self.container_port,
            listener = self.production_listener_arn,
            test_listener = self.test_listener_arn,
            blue = self.blue_target_group_arn,
            green = self.green_target_group_arn,
            alarms = self.alarm_names.join(", "),
        )
    }
}

/// A Fargate task definition document in the exact `register-task-definition` JSON shape, with
/// `memory` on its container too (see the moto notes above).
pub fn task_definition_document(family: &str, image: &str) -> Value {
    json!({
        "family": family,
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": "256",
        "memory": "512",
        "executionRoleArn": format!("arn:aws:iam::{ACCOUNT}:role/{family}-execution"),
        "containerDefinitions": [{
            "name": "web",
            "image": image,
            "essential": true,
            "memory": 512,
            "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
            "environment": [{"name": "PORT", "value": "8080"}]
        }]
    })
}

/// Seeds a realistic environment under `prefix` (see [`Environment`]): VPC with DNS hostnames,
/// two subnets, a security group, an internal ALB with a production (80) and a test (8080)
/// listener, two `ip` target groups, an ECS cluster and an `EXTERNAL` service whose blue task set
/// is primary on target group A, two OK metric alarms and a DynamoDB table.
pub async fn seed_environment(clients: &Clients, prefix: &str) -> Environment {
    use aws_sdk_ec2::types::AttributeBooleanValue;
    use aws_sdk_elasticloadbalancingv2::types::{
        Action, ActionTypeEnum, ForwardActionConfig, LoadBalancerSchemeEnum, LoadBalancerTypeEnum,
        ProtocolEnum, TargetGroupTuple, TargetTypeEnum,
    };

    // Network. Each environment gets its own VPC; moto does not mind overlapping CIDRs.
    let ec2 = &clients.ec2;
    let vpc_id = ec2
        .create_vpc()
        .cidr_block("10.0.0.0/16")
        .send()
        .await
        .expect("create VPC")
        .vpc()
        .and_then(|vpc| vpc.vpc_id())
        .expect("VPC id")
        .to_string();
    ec2.modify_vpc_attribute()
        .vpc_id(&vpc_id)
        .enable_dns_hostnames(AttributeBooleanValue::builder().value(true).build())
        .send()
        .await
        .expect("enable DNS hostnames");
    let mut subnet_ids = Vec::new();
    for (zone, cidr) in [("eu-west-1a", "10.0.1.0/24"), ("eu-west-1b", "10.0.2.0/24")] {
        let subnet = ec2
            .create_subnet()
            .vpc_id(&vpc_id)
            .cidr_block(cidr)
            .availability_zone(zone)
            .send()
            .await
            .expect("create subnet");
        subnet_ids.push(
            subnet
                .subnet()
                .and_then(|subnet| subnet.subnet_id())
                .expect("subnet id")
                .to_string(),
        );
    }
    let security_group_id = ec2
        .create_security_group()
        .group_name(format!("{prefix}-tasks"))
        .description("Ferry test tasks")
        .vpc_id(&vpc_id)
        .send()
        .await
        .expect("create security group")
        .group_id()
        .expect("security group id")
        .to_string();

    // Load balancer, target groups, listeners.
    let elb = &clients.aws.elb;
    let load_balancer_arn = elb
        .create_load_balancer()
        .name(format!("{prefix}-alb"))
        .r#type(LoadBalancerTypeEnum::Application)
        .scheme(LoadBalancerSchemeEnum::Internal)
        .set_subnets(Some(subnet_ids.clone()))
        .security_groups(&security_group_id)
        .send()
        .await
        .expect("create load balancer")
        .load_balancers()
        .first()
        .and_then(|lb| lb.load_balancer_arn())
        .expect("load balancer ARN")
        .to_string();
    let mut target_groups = Vec::new();
    for color in ["a", "b"] {
        let arn = elb
            .create_target_group()
            .name(format!("{prefix}-{color}"))
            .protocol(ProtocolEnum::Http)
            .port(8080)
            .vpc_id(&vpc_id)
            .target_type(TargetTypeEnum::Ip)
            .health_check_path("/health")
            .send()
            .await
            .expect("create target group")
            .target_groups()
            .first()
            .and_then(|group| group.target_group_arn())
            .expect("target group ARN")
            .to_string();
        target_groups.push(arn);
    }
    let (blue_target_group_arn, green_target_group_arn) =
        (target_groups[0].clone(), target_groups[1].clone());
    let forward = |weights: &[(&str, i32)]| {
        Action::builder()
            .r#type(ActionTypeEnum::Forward)
            .forward_config(
                ForwardActionConfig::builder()
                    .set_target_groups(Some(
                        weights
                            .iter()
                            .map(|(arn, weight)| {
                                TargetGroupTuple::builder()
                                    .target_group_arn(*arn)
                                    .weight(*weight)
                                    .build()
                            })
                            .collect(),
                    ))
                    .build(),
            )
            .build()
    };
    let production_listener_arn = elb
        .create_listener()
        .load_balancer_arn(&load_balancer_arn)
        .protocol(ProtocolEnum::Http)
        .port(80)
        .default_actions(forward(&[
            (&blue_target_group_arn, 100),
            (&green_target_group_arn, 0),
        ]))
        .send()
        .await
        .expect("create production listener")
        .listeners()
        .first()
        .and_then(|listener| listener.listener_arn())
        .expect("listener ARN")
        .to_string();
    let test_listener_arn = elb
        .create_listener()
        .load_balancer_arn(&load_balancer_arn)
        .protocol(ProtocolEnum::Http)
        .port(8080)
        .default_actions(forward(&[(&green_target_group_arn, 1)]))
        .send()
        .await
        .expect("create test listener")
        .listeners()
        .first()
        .and_then(|listener| listener.listener_arn())
        .expect("listener ARN")
        .to_string();

    // ECS: cluster, EXTERNAL service, blue task set as primary.
    let ecs = &clients.aws.ecs;
    let cluster = format!("{prefix}-cluster");
    let cluster_arn = ecs
        .create_cluster()
        .cluster_name(&cluster)
        .send()
        .await
        .expect("create cluster")
        .cluster()
        .and_then(|found| found.cluster_arn())
        .expect("cluster ARN")
        .to_string();
    let task_definition = task_definition_document(&format!("{prefix}-web"), "nginx:1.27");
    let task_definition_arn = register_task_definition_directly(ecs, &task_definition).await;
    let service = format!("{prefix}-web");
    let service_arn = ecs
        .create_service()
        .cluster(&cluster)
        .service_name(&service)
        .desired_count(2)
        .deployment_controller(
            aws_sdk_ecs::types::DeploymentController::builder()
                .r#type(aws_sdk_ecs::types::DeploymentControllerType::External)
                .build()
                .expect("deployment controller"),
        )
        .send()
        .await
        .expect("create service")
        .service()
        .and_then(|found| found.service_arn())
        .expect("service ARN")
        .to_string();
    let blue_external_id = format!("{prefix}-initial");
    let blue = aws_sdk_ecs::types::LoadBalancer::builder()
        .target_group_arn(&blue_target_group_arn)
        .container_name("web")
        .container_port(8080)
        .build();
    let network = aws_sdk_ecs::types::NetworkConfiguration::builder()
        .awsvpc_configuration(
            aws_sdk_ecs::types::AwsVpcConfiguration::builder()
                .set_subnets(Some(subnet_ids.clone()))
                .security_groups(&security_group_id)
                .assign_public_ip(aws_sdk_ecs::types::AssignPublicIp::Disabled)
                .build()
                .expect("awsvpc configuration"),
        )
        .build();
    let created = ecs
        .create_task_set()
        .cluster(&cluster)
        .service(&service)
        .task_definition(&task_definition_arn)
        .external_id(&blue_external_id)
        .load_balancers(blue)
        .network_configuration(network)
        .launch_type(aws_sdk_ecs::types::LaunchType::Fargate)
        .scale(
            aws_sdk_ecs::types::Scale::builder()
                .value(100.0)
                .unit(aws_sdk_ecs::types::ScaleUnit::Percent)
                .build(),
        )
        .send()
        .await
        .expect("create blue task set");
    let blue_set = created.task_set().expect("blue task set");
    let blue_task_set_id = blue_set.id().expect("task set id").to_string();
    let blue_task_set_arn = blue_set.task_set_arn().expect("task set ARN").to_string();
    ecs.update_service_primary_task_set()
        .cluster(&cluster)
        .service(&service)
        // The ARN, not the id: moto ignores an id here (AWS takes either).
        .primary_task_set(&blue_task_set_arn)
        .send()
        .await
        .expect("make blue primary");

    // Alarms, both OK.
    let cloudwatch = &clients.aws.cloudwatch;
    let alarm_names = vec![format!("{prefix}-5xx"), format!("{prefix}-latency")];
    for name in &alarm_names {
        put_alarm(cloudwatch, name).await;
        set_alarm_state(cloudwatch, name, aws_sdk_cloudwatch::types::StateValue::Ok).await;
    }

    // The deployment table.
    let table = format!("{prefix}-ferry");
    ferry_aws::ensure_table(&clients.aws.dynamodb, &table)
        .await
        .expect("create table");

    Environment {
        prefix: prefix.to_string(),
        vpc_id,
        subnet_ids,
        security_group_id,
        load_balancer_arn,
        production_listener_arn,
        test_listener_arn,
        blue_target_group_arn,
        green_target_group_arn,
        cluster,
        cluster_arn,
        service,
        service_arn,
        container_name: "web".into(),
        container_port: 8080,
        task_definition,
        task_definition_arn,
        blue_task_set_id,
        blue_task_set_arn,
        blue_external_id,
        alarm_names,
        table,
    }
}

/// Registers the seeding task definition with the plain SDK, so the seed does not depend on
/// the adapter under test.
async fn register_task_definition_directly(ecs: &aws_sdk_ecs::Client, document: &Value) -> String {
    use aws_sdk_ecs::types::{
        Compatibility, ContainerDefinition, KeyValuePair, NetworkMode, PortMapping,
        TransportProtocol,
    };
    let text = |key: &str| document[key].as_str().expect("text field").to_string();
    let container = &document["containerDefinitions"][0];
    ecs.register_task_definition()
        .family(text("family"))
        .network_mode(NetworkMode::Awsvpc)
        .requires_compatibilities(Compatibility::Fargate)
        .cpu(text("cpu"))
        .memory(text("memory"))
        .execution_role_arn(text("executionRoleArn"))
        .container_definitions(
            ContainerDefinition::builder()
                .name(container["name"].as_str().expect("name"))
                .image(container["image"].as_str().expect("image"))
                .essential(true)
                .memory(512)
                .port_mappings(
                    PortMapping::builder()
                        .container_port(8080)
                        .protocol(TransportProtocol::Tcp)
                        .build(),
                )
                .environment(KeyValuePair::builder().name("PORT").value("8080").build())
                .build(),
        )
        .send()
        .await
        .expect("register task definition")
        .task_definition()
        .and_then(|definition| definition.task_definition_arn())
        .expect("task definition ARN")
        .to_string()
}

/// A metric alarm on the ALB's 5xx count; its state is whatever [`set_alarm_state`] says.
pub async fn put_alarm(cloudwatch: &aws_sdk_cloudwatch::Client, name: &str) {
    put_alarm_on(cloudwatch, name, &[]).await;
}

/// [`put_alarm`] with dimensions (`(name, value)`), as alarms on a target group or a service
/// have them.
pub async fn put_alarm_on(
    cloudwatch: &aws_sdk_cloudwatch::Client,
    name: &str,
    dimensions: &[(&str, &str)],
) {
    use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, Statistic};
    cloudwatch
        .put_metric_alarm()
        .alarm_name(name)
        .namespace("AWS/ApplicationELB")
        .metric_name("HTTPCode_Target_5XX_Count")
        .set_dimensions(Some(
            dimensions
                .iter()
                .map(|(key, value)| Dimension::builder().name(*key).value(*value).build())
                .collect(),
        ))
        .statistic(Statistic::Sum)
        .period(60)
        .evaluation_periods(1)
        .threshold(1.0)
        .comparison_operator(ComparisonOperator::GreaterThanOrEqualToThreshold)
        .send()
        .await
        .expect("put metric alarm");
}

/// Forces an alarm's state, as CloudWatch would after a breach.
pub async fn set_alarm_state(
    cloudwatch: &aws_sdk_cloudwatch::Client,
    name: &str,
    state: aws_sdk_cloudwatch::types::StateValue,
) {
    cloudwatch
        .set_alarm_state()
        .alarm_name(name)
        .state_value(state.clone())
        .state_reason(format!("set to {} by a test", state.as_str()))
        .send()
        .await
        .expect("set alarm state");
}

/// A trivial Standard state machine (one Pass state) in moto; returns its ARN.
pub async fn create_pass_state_machine(sfn: &aws_sdk_sfn::Client, name: &str) -> String {
    sfn.create_state_machine()
        .name(name)
        .definition(
            json!({
                "StartAt": "Done",
                "States": {"Done": {"Type": "Pass", "End": true}}
            })
            .to_string(),
        )
        .role_arn(format!("arn:aws:iam::{ACCOUNT}:role/ferry-state-machine"))
        .send()
        .await
        .expect("create state machine")
        .state_machine_arn()
        .to_string()
}

/// A deployment record for `cluster/service`, pending, version 0, created at `created_at`:
/// enough for store tests that do not go through the handlers.
pub fn deployment_record(
    cluster: &str,
    service: &str,
    id: &str,
    created_at: time::OffsetDateTime,
) -> ferry_core::Deployment {
    use ferry_core::deployment::{OnTimeout, Policy, Source, TrafficTarget};
    use ferry_core::plan::Strategy;
    ferry_core::Deployment {
        id: id.to_string(),
        service: service.to_string(),
        cluster: cluster.to_string(),
        source: Source {
            repository: "shop/web".into(),
            commit: "0123456789abcdef".into(),
            branch: Some("main".into()),
            author: None,
            message: None,
            manifest_path: format!(".ferry/{service}.yaml"),
        },
        status: ferry_core::DeploymentStatus::Pending,
        plan: ferry_core::Plan::new(
            &Strategy::Canary {
                weight: 10,
                bake_seconds: 60,
            },
            false,
        ),
        policy: Policy {
            alarms: vec![format!("{service}-5xx")],
            rollback_on_alarm: true,
            on_insufficient_data: Default::default(),
            keep_old_for_seconds: 60,
            approvers: Vec::new(),
            self_approval: true,
            rollback_by_approvers: false,
            approval_timeout_seconds: 3600,
            on_approval_timeout: OnTimeout::Rollback,
            slack_channel: None,
            slack_verbosity: Default::default(),
            on_newer_push: Default::default(),
            hooks: Vec::new(),
        },
        traffic: TrafficTarget {
            listener_arn: format!(
                "arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:listener/app/{service}/1/2"
            ),
            rule_arn: None,
            test_listener_arn: None,
        },
        blue_target_group: format!(
            "arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/{service}-a/1"
        ),
        green_target_group: format!(
            "arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/{service}-b/2"
        ),
        blue: None,
        green: None,
        task_definition: task_definition_document(service, "nginx:1.28"),
        container_name: "web".into(),
        container_port: 8080,
        applied_step: None,
        green_weight: 0,
        test_traffic: None,
        hook_runs: Vec::new(),
        placement: None,
        pending_token: None,
        cleanup_started: false,
        fence: None,
        reason: None,
        history: Vec::new(),
        history_dropped: 0,
        created_at,
        updated_at: created_at,
        finished_at: None,
        version: 0,
    }
}

/// Handler ports with nothing in them (in-memory fakes), for tests that replace the one or two
/// under test.
pub fn memory_deps() -> ferry_handlers::Deps {
    use ferry_testing::memory::{
        MemoryAlarms, MemoryAlb, MemoryEcs, MemoryGit, MemoryNotifier, MemoryStore, MemoryWorkflows,
    };
    ferry_handlers::Deps {
        ecs: Arc::new(MemoryEcs::new()),
        traffic: Arc::new(MemoryAlb::new()),
        alarms: Arc::new(MemoryAlarms::new()),
        store: Arc::new(MemoryStore::new()),
        workflows: Arc::new(MemoryWorkflows::new()),
        git: Arc::new(MemoryGit::new()),
        notifier: Arc::new(MemoryNotifier::new()),
        clock: Arc::new(ferry_core::ports::SystemClock),
        settings: ferry_handlers::Settings::default(),
        github: None,
        hooks: None,
    }
}
