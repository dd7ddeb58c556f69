//! `X-Hub-Signature-256`: `sha256=` and the hex HMAC-SHA256 of the raw body under the webhook
//! secret. Verified in constant time (`ferry_core::signing`, shared with Slack's scheme) over
//! the bytes exactly as received, before anything is parsed.

use ferry_core::signing;

/// Why a signature was refused. Every case answers 401.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error(
        "no X-Hub-Signature-256 header: set a secret on the GitHub webhook (the same as Ferry's)"
    )]
    Missing,
    #[error("X-Hub-Signature-256 is not `sha256=` and 64 hex digits")]
    Malformed,
    #[error(
        "X-Hub-Signature-256 does not match the body: the webhook's secret differs from Ferry's, or the body was changed on the way"
    )]
    Mismatch,
}

/// The header value GitHub would send for `body` under `secret`.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    format!("sha256={}", signing::sign_hex(secret, &[body]))
}

/// Checks `header` (the `X-Hub-Signature-256` value, if any) against `body`.
pub fn verify(secret: &[u8], header: Option<&[u8]>, body: &[u8]) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let hex = header
        .trim_ascii()
        .strip_prefix(b"sha256=")
        .ok_or(SignatureError::Malformed)?;
    match signing::verify_hex(secret, &[body], hex) {
        Some(true) => Ok(()),
        Some(false) => Err(SignatureError::Mismatch),
        None => Err(SignatureError::Malformed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The example of GitHub's "Validating webhook deliveries" documentation.
    const SECRET: &[u8] = b"It's a Secret to Everybody";
    const BODY: &[u8] = b"Hello, World!";
    const SIGNATURE: &str =
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    #[test]
    fn signing_matches_the_example_in_githubs_documentation() {
        assert_eq!(sign(SECRET, BODY), SIGNATURE);
    }

    #[test]
    fn a_correct_signature_verifies_in_either_hex_case() {
        assert_eq!(verify(SECRET, Some(SIGNATURE.as_bytes()), BODY), Ok(()));
        let upper = format!("sha256={}", SIGNATURE[7..].to_uppercase());
        assert_eq!(verify(SECRET, Some(upper.as_bytes()), BODY), Ok(()));
    }

    #[test]
    fn a_missing_signature_is_refused() {
        assert_eq!(verify(SECRET, None, BODY), Err(SignatureError::Missing));
    }

    #[test]
    fn a_signature_that_is_not_sha256_hex_is_malformed() {
        for header in [
            "",
            "sha1=2fd4e1c67a2d28fced849ee1bb76e7391b93eb12",
            "sha256=",
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e1",
            "sha256=zz7107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17ff",
        ] {
            assert_eq!(
                verify(SECRET, Some(header.as_bytes()), BODY),
                Err(SignatureError::Malformed),
                "{header}"
            );
        }
    }

    #[test]
    fn a_tampered_body_or_another_secret_does_not_verify() {
        assert_eq!(
            verify(SECRET, Some(SIGNATURE.as_bytes()), b"Hello, World?"),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(b"another secret", Some(SIGNATURE.as_bytes()), BODY),
            Err(SignatureError::Mismatch)
        );
    }
}
