//! The intake parser with arbitrary input: signature check, body decoding and classification
//! (`ferry_webhook::inspect`), the code every delivery from the internet reaches.
//!
//! The input is split into a header block and a body. To get past the signature check (where
//! random input would always stop), most runs sign the body with the fuzzer's key first, so the
//! decoding and classification code sees arbitrary signed bodies; the rest keep the fuzzed
//! signature header. Never panics; a refusal always maps to a 4xx status; a correctly signed body
//! is never refused for its signature; only a delivery with an id is published.
#![no_main]

use ferry_webhook::signature::sign;
use ferry_webhook::{Refusal, Relevance, Verdict, inspect};
use http::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;

const SECRET: &[u8] = b"fuzz-secret";
const EVENTS: &[&str] = &["push", "pull_request", "ping", "issues", ""];
const TYPES: &[&str] = &[
    "application/json",
    "application/x-www-form-urlencoded",
    "application/json; charset=utf-8",
    "text/plain",
    "",
];

fuzz_target!(|data: &[u8]| {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    // Optional raw header lines "name: value\n" before a blank line, then the body.
    let (header_block, body) = match rest.windows(2).position(|w| w == b"\n\n") {
        Some(at) if control & 0x80 != 0 => (&rest[..at], &rest[at + 2..]),
        _ => (&[][..], rest),
    };
    let mut headers = HeaderMap::new();
    headers.insert(
        "x-github-event",
        HeaderValue::from_static(EVENTS[usize::from(control) % EVENTS.len()]),
    );
    headers.insert(
        "content-type",
        HeaderValue::from_static(TYPES[usize::from(control >> 3) % TYPES.len()]),
    );
    if control & 0x40 == 0 {
        headers.insert(
            "x-github-delivery",
            HeaderValue::from_static("fuzz-delivery"),
        );
    }
    for line in header_block.split(|&b| b == b'\n') {
        if let Some(colon) = line.iter().position(|&b| b == b':')
            && let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(&line[..colon]),
                HeaderValue::from_bytes(line[colon + 1..].trim_ascii()),
            )
        {
            headers.insert(name, value);
        }
    }
    let mut signed = false;
    if control & 0x20 == 0
        && let Ok(value) = HeaderValue::from_str(&sign(SECRET, body))
    {
        headers.insert("x-hub-signature-256", value);
        signed = true;
    }
    match inspect(SECRET, &headers, body, &Relevance::default()) {
        Ok(inspection) => {
            // Only a delivery with an id may be published (de-duplication needs it).
            if matches!(inspection.verdict, Verdict::Publish(_)) {
                assert!(inspection.delivery.is_some());
            }
        }
        Err(refusal) => {
            // A correctly signed body is never refused for its signature.
            assert!(
                !(signed && matches!(refusal, Refusal::Signature(_))),
                "{refusal}"
            );
            let status = refusal.status();
            assert!((400..500).contains(&status), "{refusal}: {status}");
        }
    }
});
