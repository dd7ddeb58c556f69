//! How long validating a manifest takes: parse the YAML, check every field, parse and check
//! the task definition, and derive the plan. Run with `make bench`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use ferry_core::manifest::parse_manifest;

const MANIFEST: &str = include_str!("../../../examples/shop/.ferry/checkout.yaml");
const TASK_DEFINITION: &str = include_str!("../../../examples/shop/ecs/checkout.json");

fn validate(c: &mut Criterion) {
    c.bench_function("validate checkout manifest with task definition", |b| {
        b.iter(|| {
            let draft = parse_manifest(".ferry/checkout.yaml", black_box(MANIFEST)).unwrap();
            let manifest = draft
                .complete(Ok(Some(black_box(TASK_DEFINITION).to_string())))
                .unwrap();
            black_box(manifest.plan())
        })
    });
    let broken = MANIFEST
        .replace("weight: 25", "weight: 250")
        .replace("timeout: 30m", "timeout: 30");
    c.bench_function("validate a manifest with errors", |b| {
        b.iter(|| {
            let problems = parse_manifest(".ferry/checkout.yaml", black_box(&broken))
                .and_then(|draft| draft.complete(Ok(Some(TASK_DEFINITION.to_string()))))
                .unwrap_err();
            black_box(problems)
        })
    });
}

criterion_group!(benches, validate);
criterion_main!(benches);
