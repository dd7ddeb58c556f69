//! `X-Hub-Signature-256`: `sha256=` and the hex HMAC-SHA256 of the raw body under the webhook
//! secret. Verified in constant time (`Mac::verify_slice`) over the bytes exactly as received,
//! before anything is parsed.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

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
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let mut header = String::with_capacity(7 + 64);
    header.push_str("sha256=");
    for byte in digest.iter() {
        header.push(char::from(HEX[usize::from(byte >> 4)]));
        header.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    header
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

/// Checks `header` (the `X-Hub-Signature-256` value, if any) against `body`.
pub fn verify(secret: &[u8], header: Option<&[u8]>, body: &[u8]) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let hex = header
        .trim_ascii()
        .strip_prefix(b"sha256=")
        .ok_or(SignatureError::Malformed)?;
    if hex.len() != 64 {
        return Err(SignatureError::Malformed);
    }
    let mut expected = [0u8; 32];
    for (byte, pair) in expected.iter_mut().zip(hex.chunks_exact(2)) {
        let high = hex_value(pair[0]).ok_or(SignatureError::Malformed)?;
        let low = hex_value(pair[1]).ok_or(SignatureError::Malformed)?;
        *byte = (high << 4) | low;
    }
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(body);
    mac.verify_slice(&expected)
        .map_err(|_| SignatureError::Mismatch)
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
