//! The `ferry` binary, run as a user runs it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/shop")
}

fn ferry(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(args)
        .current_dir(examples())
        .output()
        .expect("ferry runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn validate_accepts_the_examples_folder() {
    let output = ferry(&["validate", "."]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert_eq!(stdout.lines().count(), 3, "{stdout}");
    assert!(
        stdout.contains("ok  ./.ferry/web.yaml (web on shop, 2 steps)"),
        "{stdout}"
    );
}

#[test]
fn plan_json_is_exactly_the_documented_shape() {
    let cases = [
        (
            ".ferry/web.yaml",
            serde_json::json!({"service": "web", "cluster": "shop",
                "testListener": "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/shop/50dc6c495c0c9188/0467ef3c8400ae65",
                "steps": [
                {"weight": 10, "bakeSeconds": 300, "approve": false},
                {"weight": 100, "bakeSeconds": 0, "approve": false}
            ], "hooks": [
                {"name": "smoke", "stage": "afterTestTraffic", "kind": "http",
                 "url": "${TEST_URL}/healthz", "expectStatus": 200, "retries": 3,
                 "intervalSeconds": 5, "timeoutSeconds": 120, "onFailure": "rollback"}
            ], "minDurationSeconds": 300}),
        ),
        (
            ".ferry/api.yaml",
            serde_json::json!({"service": "api", "cluster": "arn:aws:ecs:eu-west-1:123456789012:cluster/shop", "steps": [
                {"weight": 20, "bakeSeconds": 60, "approve": false},
                {"weight": 40, "bakeSeconds": 60, "approve": false},
                {"weight": 60, "bakeSeconds": 60, "approve": false},
                {"weight": 80, "bakeSeconds": 60, "approve": false},
                {"weight": 100, "bakeSeconds": 0, "approve": false}
            ], "minDurationSeconds": 240}),
        ),
        (
            ".ferry/checkout.yaml",
            serde_json::json!({"service": "checkout", "cluster": "shop", "steps": [
                {"weight": 5, "bakeSeconds": 120, "approve": false},
                {"weight": 25, "bakeSeconds": 300, "approve": true},
                {"weight": 100, "bakeSeconds": 0, "approve": false}
            ], "hooks": [
                {"name": "integration", "stage": "afterTestTraffic", "kind": "task",
                 "container": "checkout", "command": ["npm", "run", "test:integration"],
                 "timeoutSeconds": 900, "onFailure": "rollback"},
                {"name": "payments-check", "stage": "afterStep", "kind": "lambda",
                 "function": "checkout-verify", "timeoutSeconds": 300, "onFailure": "rollback"}
            ], "minDurationSeconds": 420}),
        ),
    ];
    for (manifest, expected) in cases {
        let output = ferry(&["plan", manifest, "--format", "json"]);
        assert!(output.status.success(), "{}", text(&output.stderr));
        let actual: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(actual, expected, "{manifest}");
    }
}

#[test]
fn plan_text_is_a_readable_schedule() {
    let output = ferry(&["plan", ".ferry/checkout.yaml"]);
    assert!(output.status.success());
    let stdout = text(&output.stdout);
    assert!(
        stdout.starts_with("checkout on shop: 3 custom steps"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "-- wait for approval from U0123ABC, U0456DEF (timeout 30m, then roll back) --"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("     2    25%   75%  5m      2m"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Minimum duration: 7m (plus provisioning and approvals)."),
        "{stdout}"
    );
}

#[test]
fn plan_shows_each_hook_where_it_runs_in_the_schedule() {
    let output = ferry(&["plan", ".ferry/checkout.yaml"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    let integration = "        -- hook integration (afterTestTraffic): run green's task definition (checkout) and expect exit 0; timeout 15m, then roll back --";
    let after_step = "        -- hook payments-check (afterStep): invoke checkout-verify; timeout 5m, then roll back --";
    let first = stdout
        .find(integration)
        .unwrap_or_else(|| panic!("{stdout}"));
    let step_1 = stdout.find("     1 ").unwrap_or_else(|| panic!("{stdout}"));
    let step_2 = stdout.find("     2 ").unwrap_or_else(|| panic!("{stdout}"));
    assert!(first < step_1, "{stdout}");
    let after_1 = stdout[step_1..].find(after_step).unwrap() + step_1;
    assert!(after_1 < step_2, "{stdout}");
    assert_eq!(
        stdout.matches(after_step).count(),
        3,
        "after each of the 3 steps: {stdout}"
    );

    let web = text(&ferry(&["plan", ".ferry/web.yaml"]).stdout);
    assert!(
        web.contains("-- hook smoke (afterTestTraffic): GET ${TEST_URL}/healthz expects 200, 3 retries every 5s; timeout 2m, then roll back --"),
        "{web}"
    );
}

#[test]
fn plan_shows_the_test_traffic_before_the_steps() {
    let output = ferry(&["plan", ".ferry/web.yaml"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    let test = stdout
        .find("-- test traffic: listener shop/…/0467ef3c8400ae65 sends everything to green once it is stable; production stays on blue --")
        .unwrap_or_else(|| panic!("{stdout}"));
    let first_step = stdout.find("     1 ").unwrap_or_else(|| panic!("{stdout}"));
    assert!(test < first_step, "{stdout}");
    assert!(
        stdout.contains(
            "at the end on what production runs (green after success, blue after a rollback)"
        ),
        "{stdout}"
    );
    let json = ferry(&["plan", ".ferry/web.yaml", "--format", "json"]);
    let actual: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(
        actual["testListener"],
        "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/shop/50dc6c495c0c9188/0467ef3c8400ae65"
    );
}

#[test]
fn invalid_manifests_exit_1_with_located_messages_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join(".ferry");
    std::fs::create_dir(&folder).unwrap();
    std::fs::write(
        folder.join("web.yaml"),
        "service: web\ncluster: shop\ntaskDefinition: web.json\ncontainer: {name: web, port: 80}\ntraffic: {}\nstrategy:\n  canary: {weight: 150, bake: 5m}\n",
    )
    .unwrap();
    std::fs::write(folder.join("ok.yml"), "service: [").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(["validate", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("ok.yml:2:1: (yaml): invalid YAML"),
        "{stderr}"
    );
    assert!(
        stderr.contains("web.yaml:5:10: traffic.listener: required field is missing"),
        "{stderr}"
    );
    assert!(
        stderr
            .contains("web.yaml:7:20: strategy.canary.weight: must be between 1 and 99, found 150"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "web.yaml:3:17: taskDefinition: expected a task definition file, found nothing at"
        ),
        "{stderr}"
    );
    assert!(
        stderr.ends_with("2 of 2 manifests are invalid\n"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());
}

#[test]
fn a_missing_path_is_an_error() {
    let output = ferry(&["validate", "does-not-exist.yaml"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("does-not-exist.yaml: no such file or directory"));
}

/// A one-request HTTP server on loopback that answers `status` and `body`, and hands back the
/// request it received (head and body).
fn one_request_server(
    status: u16,
    body: &'static str,
) -> (String, std::thread::JoinHandle<String>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut head = String::new();
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = value.trim().parse().unwrap();
            }
            if line == "\r\n" {
                break;
            }
            head.push_str(&line);
        }
        let mut content = vec![0; length];
        reader.read_exact(&mut content).unwrap();
        let mut stream = stream;
        write!(
            stream,
            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        format!("{head}\n{}", String::from_utf8_lossy(&content))
    });
    (url, handle)
}

fn ferry_against(url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(args)
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_PROFILE")
        .env("FERRY_CONTROL_URL", url)
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "secret")
        .env("AWS_REGION", "eu-west-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("ferry runs")
}

#[test]
fn approve_against_aws_is_a_signed_request_to_the_control_url_and_a_refusal_exits_1() {
    let (url, server) = one_request_server(
        403,
        r#"{"refusal":"notApprover","actor":"arn:aws:iam::123456789012:user/bob","service":"shop/web","approvers":["U0123ABC"],"message":"…"}"#,
    );
    let output = ferry_against(&url, &["approve", "web-1"]);
    let request = server.join().unwrap();
    assert!(
        request.starts_with("POST /api/deployments/web-1/actions HTTP/1.1"),
        "{request}"
    );
    assert!(
        request.contains("Credential=AKIDEXAMPLE/")
            && request.contains("/eu-west-1/lambda/aws4_request"),
        "{request}"
    );
    assert!(request.ends_with(r#"{"action":"approve"}"#), "{request}");
    assert_eq!(output.status.code(), Some(1));
    insta::assert_snapshot!("not_an_approver", text(&output.stderr));
}

#[test]
fn a_rollback_outcome_is_printed_and_as_is_refused_outside_local_mode() {
    let (url, server) = one_request_server(
        200,
        r#"{"outcome":"trafficStarted","deploymentId":"web-1","request":{"deploymentId":"web-1","action":"rollback","reason":"bad"},"execution":"arn:aws:states:eu-west-1:123456789012:execution:ferry-traffic:web-1-rollback-1"}"#,
    );
    let output = ferry_against(&url, &["rollback", "web-1", "--reason", "bad"]);
    let request = server.join().unwrap();
    assert!(
        request.ends_with(r#"{"action":"rollback","reason":"bad"}"#),
        "{request}"
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout).trim(), "rolling back web-1");

    let output = ferry_against(&url, &["approve", "web-1", "--as", "U0123ABC"]);
    assert_eq!(output.status.code(), Some(2), "a usage error");
    assert!(text(&output.stderr).contains("--as works with --local only"));
}

#[test]
fn a_closed_pipe_ends_the_program_quietly() {
    use std::os::unix::process::ExitStatusExt;
    // `| head -0`: the reader is gone before the first write.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let output = Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(["validate", "."])
        .current_dir(examples())
        .stdout(writer)
        .output()
        .expect("ferry runs");
    let stderr = text(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_ne!(output.status.code(), Some(101), "{stderr}");
    // Ended by SIGPIPE, as `cat` or `git` are.
    assert_eq!(
        output.status.signal(),
        Some(13),
        "{:?} {stderr}",
        output.status
    );
}

#[test]
fn local_mode_without_the_emulator_is_one_line_that_says_what_to_do_and_exits_2() {
    let output = Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(["rollback", "web-1", "--local"])
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("RUST_LOG")
        .output()
        .expect("ferry runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    insta::assert_snapshot!("local_without_emulator", stderr);
}

#[test]
fn without_the_control_url_an_aws_action_says_where_it_comes_from() {
    let output = Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(["approve", "web-1"])
        .env_remove("FERRY_CONTROL_URL")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .output()
        .expect("ferry runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "no library noise: {stderr}");
    insta::assert_snapshot!("no_control_url", stderr);
    assert!(
        !stderr.contains('\u{1b}'),
        "no colour codes into a pipe: {stderr}"
    );
}

#[test]
fn an_endpoint_that_does_not_answer_is_named_in_one_line() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let endpoint = format!("http://127.0.0.1:{port}");
    let output = Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(["status"])
        .env("AWS_ENDPOINT_URL", &endpoint)
        .env("AWS_ACCESS_KEY_ID", "local")
        .env("AWS_SECRET_ACCESS_KEY", "local")
        .env("AWS_REGION", "eu-west-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("RUST_LOG")
        .env_remove("FERRY_CONTROL_URL")
        .output()
        .expect("ferry runs");
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    insta::assert_snapshot!(
        "endpoint_not_answering",
        stderr.replace(&endpoint, "http://127.0.0.1:PORT")
    );
}

#[test]
fn no_credentials_names_where_the_sdk_looks() {
    let stderr = one_line_configuration_error(&[("AWS_REGION", "eu-west-1")]);
    insta::assert_snapshot!("no_credentials", stderr);
}

/// `ferry status` with nothing of the caller's environment but `PATH`, an empty home (no AWS
/// profile) and `env`: a configuration problem, said in one line on stderr, exit 2.
fn one_line_configuration_error(env: &[(&str, &str)]) -> String {
    let home = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(["status"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .envs(env.iter().copied())
        .output()
        .expect("ferry runs");
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    stderr
}

#[test]
fn completions_and_a_version_with_the_commit() {
    let output = ferry(&["completions", "bash"]);
    assert!(output.status.success());
    let script = text(&output.stdout);
    assert!(
        script.contains("_ferry()") && script.contains("rollback"),
        "{script}"
    );
    let version = text(&ferry(&["--version"]).stdout);
    assert!(version.starts_with("ferry 0.1.0"), "{version}");
}

#[test]
fn the_manual_pages_come_from_the_same_definitions_as_help() {
    let page = text(&ferry(&["man"]).stdout);
    assert!(
        page.starts_with(".ie") || page.contains(".TH ferry"),
        "{page}"
    );
    assert!(
        page.contains("sandbox") && page.contains("rollback"),
        "{page}"
    );
    let dir = tempfile::tempdir().unwrap();
    let written = ferry(&["man", "--dir", dir.path().to_str().unwrap()]);
    assert!(written.status.success(), "{}", text(&written.stderr));
    let deploy = std::fs::read_to_string(dir.path().join("ferry-deploy.1")).unwrap();
    assert!(deploy.contains(".TH ferry-deploy"), "{deploy}");
    assert!(deploy.contains("time\\-scale"), "{deploy}");
    assert!(dir.path().join("ferry.1").exists());
}

/// `ferry sandbox` then `ferry deploy --local` on its example, as the README's quick start
/// says, then `--stop`: the emulator is gone and a second stop says there is nothing to stop.
#[test]
fn the_sandbox_deploys_its_example_and_stops() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = dir.path().join("shop");
    let started = ferry(&["sandbox", "--dir", sandbox.to_str().unwrap()]);
    assert!(started.status.success(), "{}", text(&started.stderr));
    let exports = text(&started.stdout);
    let first = exports.lines().next().unwrap();
    assert!(
        first.starts_with("export AWS_ENDPOINT_URL=http://127.0.0.1:"),
        "{exports}"
    );
    let vars: Vec<(String, String)> = first
        .trim_start_matches("export ")
        .split_whitespace()
        .filter_map(|pair| pair.split_once('='))
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect();
    assert!(
        exports.contains("ferry deploy .ferry/web.yaml --local"),
        "{exports}"
    );
    let stop = || {
        Command::new(env!("CARGO_BIN_EXE_ferry"))
            .args(["sandbox", "--stop", "--dir", sandbox.to_str().unwrap()])
            .output()
            .unwrap()
    };
    let deployed = Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args([
            "deploy",
            ".ferry/web.yaml",
            "--local",
            "--time-scale",
            "0.001",
            "--format",
            "json",
        ])
        .envs(vars.iter().map(|(name, value)| (name, value)))
        .env_remove("AWS_PROFILE")
        .current_dir(&sandbox)
        .output()
        .unwrap();
    let stopped = stop();
    let again = stop();

    assert!(
        deployed.status.success(),
        "{}{}",
        text(&deployed.stdout),
        text(&deployed.stderr)
    );
    assert!(text(&deployed.stdout).contains("\"event\":\"succeeded\""));
    assert!(stopped.status.success(), "{}", text(&stopped.stderr));
    let endpoint = vars
        .iter()
        .find(|(name, _)| name == "AWS_ENDPOINT_URL")
        .unwrap();
    let port: u16 = endpoint.1.rsplit(':').next().unwrap().parse().unwrap();
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the emulator still answers after --stop"
    );
    assert_eq!(again.status.code(), Some(2), "{}", text(&again.stderr));
    assert_eq!(text(&again.stderr).lines().count(), 1);
    assert!(
        sandbox.join(".ferry/web.yaml").exists(),
        "the repository is left as it was"
    );
}

/// `ferry status` against AWS whose DynamoDB is a stand-in answering `body` with `status`
/// (`AWS_ENDPOINT_URL_DYNAMODB`: the SDK's own per-service endpoint setting, so Ferry is in AWS
/// mode).
fn status_against_dynamodb(args: &[&str], status: u16, body: &'static str) -> Output {
    let (url, _request) = one_request_server(status, body);
    Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(args)
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("FERRY_CONTROL_URL")
        .env_remove("AWS_PROFILE")
        .env_remove("RUST_LOG")
        .env("AWS_ENDPOINT_URL_DYNAMODB", &url)
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "secret")
        .env("AWS_REGION", "eu-west-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("ferry runs")
}

#[test]
fn ferry_not_installed_in_the_account_points_to_the_install_guide() {
    let output = status_against_dynamodb(
        &["status"],
        400,
        r#"{"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException","message":"Requested resource not found"}"#,
    );
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    insta::assert_snapshot!("not_installed", stderr);
}

#[test]
fn access_denied_names_the_action_and_the_principal() {
    let output = status_against_dynamodb(
        &["status"],
        400,
        r#"{"__type":"com.amazon.coral.service#AccessDeniedException","Message":"User: arn:aws:iam::123456789012:user/alice is not authorized to perform: dynamodb:Query on resource: arn:aws:dynamodb:eu-west-1:123456789012:table/ferry/index/gsi1 because no identity-based policy allows the dynamodb:Query action"}"#,
    );
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    insta::assert_snapshot!("access_denied", stderr);
}

#[test]
fn a_deployment_that_does_not_exist_suggests_ferry_status() {
    let output = status_against_dynamodb(
        &["status", "web-20261122T100000Z-0123456-abcdef"],
        200,
        "{}",
    );
    let stderr = text(&output.stderr);
    // A wrong argument: a usage problem.
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    insta::assert_snapshot!("deployment_not_found", stderr);
}

#[test]
fn no_region_says_where_to_set_one() {
    let stderr = one_line_configuration_error(&[
        ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", "secret"),
    ]);
    insta::assert_snapshot!("no_region", stderr);
}

#[test]
fn init_turns_a_codedeploy_setup_into_a_manifest_that_validates_and_plans() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/codedeploy");
    let dir = tempfile::tempdir().unwrap();
    let listener = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2";
    let groups = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web-blue/6d0ecf831eec9f09,arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web-green/a8d4b3e1f2c7d6e5";
    let init = |extra: &[&str]| {
        let mut args = vec![
            "init".to_string(),
            "--cluster".into(),
            "shop".into(),
            "--service".into(),
            "web".into(),
            "--from-appspec".into(),
            fixtures.join("appspec.yaml").display().to_string(),
            "--taskdef".into(),
            fixtures.join("taskdef.json").display().to_string(),
            "--listener".into(),
            listener.into(),
            "--target-groups".into(),
            groups.into(),
            "--deployment-config".into(),
            "CodeDeployDefault.ECSCanary10Percent5Minutes".into(),
            "--reroute-wait".into(),
            "30m".into(),
            "--termination-wait".into(),
            "1h".into(),
            "--dir".into(),
            dir.path().display().to_string(),
        ];
        args.extend(extra.iter().map(|arg| arg.to_string()));
        Command::new(env!("CARGO_BIN_EXE_ferry"))
            .args(&args)
            .output()
            .expect("ferry runs")
    };

    let no_image = init(&[]);
    assert_eq!(
        no_image.status.code(),
        Some(2),
        "{}",
        text(&no_image.stdout)
    );
    assert!(
        text(&no_image.stderr).contains("<IMAGE1_NAME>"),
        "{}",
        text(&no_image.stderr)
    );
    assert!(!dir.path().join(".ferry").exists(), "nothing written");

    let done = init(&[
        "--image",
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web:${GIT_SHA}",
    ]);
    let stdout = text(&done.stdout);
    assert!(done.status.success(), "{stdout}\n{}", text(&done.stderr));
    assert!(stdout.contains("ok  "), "{stdout}");
    assert!(
        !stdout.contains("not carried: the AfterAllowTestTraffic hook"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "note: the hooks' functions report with PutLifecycleEventHookExecutionStatus"
        ),
        "{stdout}"
    );
    let manifest = dir.path().join(".ferry/web.yaml");
    let plan = Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(["plan", &manifest.display().to_string()])
        .output()
        .unwrap();
    let planned = text(&plan.stdout);
    assert!(plan.status.success(), "{}", text(&plan.stderr));
    assert!(
        planned.starts_with("web on shop: canary 10% for 5m"),
        "{planned}"
    );
    assert!(
        planned.contains("-- wait for approval (timeout 30m, then continue) --"),
        "{planned}"
    );

    let again = init(&["--image", "web:1"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(text(&again.stderr).contains("--force replaces it"));
}

#[test]
fn plan_says_where_green_runs_and_what_a_first_deployment_does() {
    let dir = tempfile::tempdir().unwrap();
    let ferry_dir = dir.path().join(".ferry");
    std::fs::create_dir_all(&ferry_dir).unwrap();
    std::fs::create_dir_all(dir.path().join("ecs")).unwrap();
    std::fs::copy(
        examples().join("ecs/web.json"),
        dir.path().join("ecs/web.json"),
    )
    .unwrap();
    let manifest = std::fs::read_to_string(examples().join(".ferry/web.yaml")).unwrap()
        + "network:\n  subnets: [subnet-0a1, subnet-0b2]\n  securityGroups: [sg-0c3]\n  launchType: FARGATE\n";
    std::fs::write(ferry_dir.join("web.yaml"), manifest).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(["plan", ".ferry/web.yaml"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(
        stdout.contains("Green runs in subnet-0a1, subnet-0b2 (sg-0c3), FARGATE. On a service with no task set yet (its first deployment) there is nothing to compare with: no canary"),
        "{stdout}"
    );
}
