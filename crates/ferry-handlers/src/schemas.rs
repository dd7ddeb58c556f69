//! The workflows' inputs as JSON Schema, generated from the serde types that decode them, so a
//! manual `aws stepfunctions start-execution` has a published contract (`docs/schemas/`).

use serde_json::Value;

use crate::plan::PlanInput;
use ferry_core::control::TrafficRequest;

/// `(file name, schema)` of each workflow's input.
pub fn workflow_input_schemas() -> Vec<(&'static str, Value)> {
    vec![
        (
            "deploy-input.schema.json",
            serde_json::to_value(schemars::schema_for!(PlanInput)).expect("a schema is JSON"),
        ),
        (
            "traffic-input.schema.json",
            serde_json::to_value(schemars::schema_for!(TrafficRequest)).expect("a schema is JSON"),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn docs() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/schemas")
    }

    /// The published schemas are the generated ones. `FERRY_UPDATE_SCHEMAS=1` rewrites them.
    #[test]
    fn the_published_schemas_are_generated_from_the_input_types() {
        for (name, schema) in workflow_input_schemas() {
            let path = docs().join(name);
            let text = serde_json::to_string_pretty(&schema).unwrap() + "\n";
            if std::env::var_os("FERRY_UPDATE_SCHEMAS").is_some() {
                std::fs::write(&path, &text).unwrap();
            }
            let published = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(
                published == text,
                "{} is out of date: run FERRY_UPDATE_SCHEMAS=1 cargo test -p ferry-handlers schemas",
                path.display()
            );
        }
    }

    /// The documented examples decode into the inputs (the engine e2e tests also run them).
    #[test]
    fn the_documented_examples_decode() {
        let read = |name: &str| -> Value {
            serde_json::from_str(
                &std::fs::read_to_string(docs().join("examples").join(name)).unwrap(),
            )
            .unwrap()
        };
        let deploy: PlanInput = serde_json::from_value(read("deploy-input.json")).unwrap();
        assert!(ferry_core::deployment::is_commit_id(&deploy.commit));
        assert!(deploy.deployment_id.is_none());
        for name in [
            "traffic-rollback.json",
            "traffic-preset.json",
            "traffic-promote.json",
        ] {
            let _: TrafficRequest = serde_json::from_value(read(name)).unwrap();
        }
    }
}
