//! The seeded environment itself, as later handler tests will use it.

use crate::helpers::{clients, seed_environment, unique_prefix};

#[tokio::test]
async fn the_seeded_environment_yields_a_manifest_that_validates() {
    let clients = clients().await;
    let env = seed_environment(&clients, &unique_prefix("seed")).await;
    let yaml = env.manifest_yaml("canary: { weight: 10, bake: 1m }", "../ecs/web.json");

    let manifest = ferry_core::manifest::parse_manifest(".ferry/web.yaml", &yaml)
        .and_then(|draft| draft.complete(Ok(Some(env.task_definition.to_string()))))
        .unwrap_or_else(|problems| panic!("{problems:?}\n{yaml}"));

    assert_eq!(manifest.service, env.service);
    assert_eq!(manifest.plan().steps.len(), 2);
}
