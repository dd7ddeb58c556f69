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
            serde_json::json!({"service": "web", "cluster": "shop", "steps": [
                {"weight": 10, "bakeSeconds": 300, "approve": false},
                {"weight": 100, "bakeSeconds": 0, "approve": false}
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
