//! HMAC-SHA256 request signatures, the scheme both GitHub (`X-Hub-Signature-256`) and Slack
//! (`X-Slack-Signature`) use: the hex digest of an HMAC over parts of the request, under a
//! shared secret, compared in constant time before anything in the request is trusted.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

const HEX: &[u8; 16] = b"0123456789abcdef";

fn mac_of(secret: &[u8], parts: &[&[u8]]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
    for part in parts {
        mac.update(part);
    }
    mac
}

/// The lowercase hex HMAC-SHA256 of `parts`, concatenated, under `secret`.
pub fn sign_hex(secret: &[u8], parts: &[&[u8]]) -> String {
    let digest = mac_of(secret, parts).finalize().into_bytes();
    let mut hex = String::with_capacity(64);
    for byte in digest.iter() {
        hex.push(char::from(HEX[usize::from(byte >> 4)]));
        hex.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    hex
}

/// Whether `hex` (64 hex digits, either case) is the HMAC-SHA256 of `parts` under `secret`,
/// compared in constant time. `None` when `hex` is not 64 hex digits.
pub fn verify_hex(secret: &[u8], parts: &[&[u8]], hex: &[u8]) -> Option<bool> {
    if hex.len() != 64 {
        return None;
    }
    let mut expected = [0u8; 32];
    for (byte, pair) in expected.iter_mut().zip(hex.chunks_exact(2)) {
        *byte = (hex_value(pair[0])? << 4) | hex_value(pair[1])?;
    }
    Some(mac_of(secret, parts).verify_slice(&expected).is_ok())
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn githubs_documented_example_verifies() {
        // GitHub's "Validating webhook deliveries" example.
        let secret = b"It's a Secret to Everybody";
        let digest = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert_eq!(sign_hex(secret, &[b"Hello, World!"]), digest);
        assert_eq!(
            verify_hex(secret, &[b"Hello, ", b"World!"], digest.as_bytes()),
            Some(true)
        );
        assert_eq!(
            verify_hex(
                secret,
                &[b"Hello, World?"],
                digest.to_uppercase().as_bytes()
            ),
            Some(false)
        );
        assert_eq!(verify_hex(secret, &[b"Hello, World!"], b"abc"), None);
        assert_eq!(verify_hex(secret, &[b"Hello, World!"], &[b'z'; 64]), None);
    }

    #[test]
    fn slacks_documented_example_verifies() {
        // Slack's "Verifying requests from Slack" example: v0:timestamp:body.
        let secret = b"8f742231b10e8888abcd99yyyzzz85a5";
        let timestamp = b"1531420618";
        let body = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
        let parts: [&[u8]; 4] = [b"v0:", timestamp, b":", body];
        assert_eq!(
            sign_hex(secret, &parts),
            "a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
        );
    }
}
