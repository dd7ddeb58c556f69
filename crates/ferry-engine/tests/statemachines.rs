//! Every state machine Ferry ships must be fully supported by this engine.

use std::collections::BTreeMap;
use std::path::PathBuf;

use ferry_engine::{bind_placeholders, check_supported, placeholders};

#[test]
fn every_state_machine_in_the_repository_is_fully_supported() {
    let folder = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../statemachines");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&folder)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.to_string_lossy().ends_with(".asl.json"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    let mut problems = Vec::new();
    for file in &files {
        let template = std::fs::read_to_string(file).unwrap();
        // Bind every placeholder to a dummy Lambda ARN, as Terraform binds real ones.
        let bindings: BTreeMap<String, String> = placeholders(&template)
            .into_iter()
            .map(|name| {
                let arn = format!("arn:aws:lambda:us-east-1:123456789012:function:{name}");
                (name, arn)
            })
            .collect();
        let definition = match bind_placeholders(&template, &bindings) {
            Ok(definition) => definition,
            Err(e) => {
                problems.push(format!("{}: {e}", file.display()));
                continue;
            }
        };
        if let Err(found) = check_supported(&definition) {
            problems.extend(
                found
                    .into_iter()
                    .map(|p| format!("{}: {p}", file.display())),
            );
        }
    }
    assert!(
        problems.is_empty(),
        "unsupported constructs:\n{}",
        problems.join("\n")
    );
}
