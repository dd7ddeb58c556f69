use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine;
use jsonwebtoken::EncodingKey;
use serde_json::json;

use super::*;

const ALB: &str = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/ferry-ui/50dc6c495c0c9188";
const KID: &str = "6f7d2b1c-8a9e-4c3d-9b2a-1e0f5d4c3b2a";
const PRIVATE_KEY: &str = include_str!("../testdata/alb-test-key.pem");
const PUBLIC_KEY: &str = include_str!("../testdata/alb-test-key.pub.pem");
const NOW: i64 = 1_795_000_000;

/// The test key, counting how often it is read.
#[derive(Default)]
struct TestKeys {
    reads: AtomicUsize,
}

#[async_trait]
impl PublicKeys for TestKeys {
    async fn pem(&self, kid: &str) -> Result<String, String> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        if kid == KID {
            Ok(PUBLIC_KEY.to_string())
        } else {
            Err(format!("no key {kid}"))
        }
    }
}

/// base64url with padding, as the ALB writes its parts.
fn padded(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE.encode(bytes)
}

/// A token as the load balancer signs it.
fn token(header: serde_json::Value, claims: serde_json::Value) -> String {
    let message = format!(
        "{}.{}",
        padded(header.to_string().as_bytes()),
        padded(claims.to_string().as_bytes())
    );
    let key = EncodingKey::from_ec_pem(PRIVATE_KEY.as_bytes()).unwrap();
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), &key, Algorithm::ES256).unwrap();
    // The library writes base64url without padding; the ALB pads.
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(signature)
        .unwrap();
    format!("{message}.{}", padded(&raw))
}

fn header() -> serde_json::Value {
    json!({"alg": "ES256", "kid": KID, "signer": ALB, "iss": "https://idp.example.com",
           "client": "ferry-ui", "exp": NOW + 60})
}

fn claims() -> serde_json::Value {
    json!({"sub": "1234", "email": "alice@example.com", "email_verified": "true",
           "exp": NOW + 60, "iss": "https://idp.example.com"})
}

fn verifier() -> (AlbOidc, Arc<TestKeys>) {
    let keys = Arc::new(TestKeys::default());
    (AlbOidc::new(ALB, keys.clone()), keys)
}

#[tokio::test]
async fn a_token_the_load_balancer_signed_names_its_verified_email() {
    let (alb, keys) = verifier();
    let signed = token(header(), claims());
    assert!(
        signed.contains('='),
        "the test token is padded like the ALB's"
    );
    let identity = alb.verify(&signed, NOW).await.unwrap();
    assert_eq!(identity, Identity::Email("alice@example.com".into()));
    // The key is read once, then kept.
    alb.verify(&signed, NOW).await.unwrap();
    assert_eq!(keys.reads.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn anything_else_is_refused_with_the_reason() {
    let (alb, _) = verifier();
    let good = token(header(), claims());
    let (message, _) = good.rsplit_once('.').unwrap();
    let other_signature = token(
        header(),
        json!({"email": "mallory@example.com", "exp": NOW + 60}),
    );
    let cases = [
        (
            "tampered claims",
            format!(
                "{}.{}.{}",
                good.split('.').next().unwrap(),
                padded(
                    json!({"email": "mallory@example.com", "exp": NOW + 60})
                        .to_string()
                        .as_bytes()
                ),
                good.rsplit('.').next().unwrap()
            ),
            "does not verify",
        ),
        (
            "another token's signature",
            format!("{message}.{}", other_signature.rsplit('.').next().unwrap()),
            "does not verify",
        ),
        (
            "another load balancer",
            token(
                json!({"alg": "ES256", "kid": KID, "signer": "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/other/1"}),
                claims(),
            ),
            "another load balancer",
        ),
        (
            "HS256",
            token(json!({"alg": "HS256", "kid": KID, "signer": ALB}), claims()),
            "not ES256",
        ),
        (
            "expired",
            token(
                header(),
                json!({"email": "alice@example.com", "exp": NOW - 1}),
            ),
            "expired",
        ),
        (
            "no expiry",
            token(header(), json!({"email": "alice@example.com"})),
            "expired",
        ),
        (
            "unverified email",
            token(
                header(),
                json!({"email": "alice@example.com", "email_verified": false, "exp": NOW + 60}),
            ),
            "no verified email",
        ),
        (
            "no email",
            token(header(), json!({"sub": "1234", "exp": NOW + 60})),
            "no verified email",
        ),
        (
            "unknown key",
            token(
                json!({"alg": "ES256", "kid": "other-key", "signer": ALB}),
                claims(),
            ),
            "could not be read",
        ),
        (
            "a key id that is a path",
            token(
                json!({"alg": "ES256", "kid": "../../x", "signer": ALB}),
                claims(),
            ),
            "no valid key",
        ),
        ("two parts", "abc.def".to_string(), "three parts"),
        ("not base64", "!!.!!.!!".to_string(), "not base64"),
    ];
    for (case, token, expected) in cases {
        let refused = alb.verify(&token, NOW).await.unwrap_err();
        assert!(refused.0.contains(expected), "{case}: {refused}");
    }
}

#[tokio::test]
async fn a_request_without_the_header_is_not_signed_in() {
    let (alb, _) = verifier();
    let (parts, ()) = http::Request::get("/api/me").body(()).unwrap().into_parts();
    let refused = alb.authenticate(&parts).await.unwrap_err();
    assert!(refused.0.contains("not signed in"), "{refused}");
}

#[tokio::test]
async fn the_region_keys_are_read_over_http_from_their_address() {
    let app = axum::Router::new().route(
        &format!("/{KID}"),
        axum::routing::get(|| async { PUBLIC_KEY }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let keys = ElbPublicKeys::at(&format!("http://{address}")).unwrap();
    assert_eq!(keys.pem(KID).await.unwrap(), PUBLIC_KEY);
    let missing = keys.pem("nope").await.unwrap_err();
    assert!(missing.contains("404"), "{missing}");
    assert!(ElbPublicKeys::for_region("eu-west-1").is_ok());
    assert!(ElbPublicKeys::for_region("eu-west-1/evil").is_err());
}
