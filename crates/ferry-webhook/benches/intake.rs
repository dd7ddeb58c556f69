//! Verify and classify a realistic 25 KB push in-process: the part of the intake that runs for
//! every delivery, relevant or not. Target: under 100 µs.
//!
//!     cargo bench -p ferry-webhook --bench intake

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ferry_webhook::fixtures::{COMMITS_IN_25_KB, push_with_commits, signed_headers};
use ferry_webhook::{Relevance, Verdict, inspect};

fn intake(c: &mut Criterion) {
    let secret = "bench-secret";
    let body = push_with_commits(COMMITS_IN_25_KB).into_bytes();
    let headers = signed_headers(secret, "push", "bench-delivery", "application/json", &body);
    let relevance = Relevance::default();
    let mut group = c.benchmark_group("intake");
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_function(
        format!("verify_and_classify_push_{}_bytes", body.len()),
        |b| {
            b.iter(|| {
                let inspection = inspect(
                    black_box(secret.as_bytes()),
                    black_box(&headers),
                    black_box(&body),
                    &relevance,
                )
                .expect("a valid push");
                assert!(matches!(inspection.verdict, Verdict::Publish(_)));
                inspection
            })
        },
    );
    group.bench_function("verify_only", |b| {
        b.iter(|| {
            ferry_webhook::signature::verify(
                black_box(secret.as_bytes()),
                headers
                    .get("x-hub-signature-256")
                    .map(|value| value.as_bytes()),
                black_box(&body),
            )
        })
    });
    group.bench_function("classify_only", |b| {
        b.iter(|| {
            ferry_webhook::inspect::classify(
                "push",
                black_box(&body),
                &relevance,
                Some("bench-delivery"),
            )
            .expect("a valid push")
        })
    });
    group.finish();
}

criterion_group!(benches, intake);
criterion_main!(benches);
