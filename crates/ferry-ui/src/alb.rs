//! Who is asking, behind the load balancer's sign-in (`authenticate-oidc` or
//! `authenticate-cognito`): the ALB passes the user's claims in `x-amzn-oidc-data`, a JWT signed
//! with ES256 by a key of the region, published at
//! `https://public-keys.auth.elb.REGION.amazonaws.com/KEY-ID`. Nothing is trusted until the
//! signature verifies against that key, the header names this load balancer as its signer, and
//! the token has not expired.
//!
//! The ALB's token is not quite a standard JWT: its parts are base64url *with* padding, and the
//! signature covers them as sent. So the signing input is the two parts exactly as received.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use bytes::Bytes;
use ferry_core::control::{Actor, Channel, Identity};
use ferry_http::{Authenticate, Unauthenticated};
use http::request::Parts;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;

/// The header the load balancer puts the signed claims in.
pub const CLAIMS_HEADER: &str = "x-amzn-oidc-data";

/// Where a key id's public key is read from.
#[async_trait]
pub trait PublicKeys: Send + Sync {
    /// The PEM of key `kid`.
    async fn pem(&self, kid: &str) -> Result<String, String>;
}

/// The region's ELB public keys, over HTTPS.
pub struct ElbPublicKeys {
    base: String,
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Empty<Bytes>>,
}

impl ElbPublicKeys {
    /// The keys of `region` (`https://public-keys.auth.elb.REGION.amazonaws.com`).
    pub fn for_region(region: &str) -> Result<ElbPublicKeys, String> {
        if region.is_empty()
            || !region
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(format!("{region:?} is not an AWS region"));
        }
        ElbPublicKeys::at(&format!(
            "https://public-keys.auth.elb.{region}.amazonaws.com"
        ))
    }

    /// Keys served at `base` (tests).
    pub fn at(base: &str) -> Result<ElbPublicKeys, String> {
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|error| format!("no root certificates: {error}"))?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(ElbPublicKeys {
            base: base.trim_end_matches('/').to_string(),
            client: Client::builder(TokioExecutor::new()).build(connector),
        })
    }
}

#[async_trait]
impl PublicKeys for ElbPublicKeys {
    async fn pem(&self, kid: &str) -> Result<String, String> {
        let url = format!("{}/{kid}", self.base);
        let uri: http::Uri = url.parse().map_err(|error| format!("{url}: {error}"))?;
        let fetch = async {
            let response = self
                .client
                .get(uri)
                .await
                .map_err(|error| format!("reading {url}: {error}"))?;
            let status = response.status();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|error| format!("reading {url}: {error}"))?
                .to_bytes();
            if !status.is_success() {
                return Err(format!("{url} answered {status}"));
            }
            String::from_utf8(body.to_vec()).map_err(|_| format!("{url} is not text"))
        };
        tokio::time::timeout(Duration::from_secs(3), fetch)
            .await
            .map_err(|_| format!("{url} did not answer in 3 s"))?
    }
}

/// Verifies the load balancer's claims; the actor is the claims' verified `email`.
pub struct AlbOidc {
    /// The load balancer the token must name as its signer.
    alb_arn: String,
    keys: Arc<dyn PublicKeys>,
    /// Keys by id: a key never changes, and the ALB uses few.
    cache: Mutex<HashMap<String, Arc<DecodingKey>>>,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: String,
    signer: String,
}

#[derive(Deserialize)]
struct Claims {
    exp: Option<i64>,
    email: Option<String>,
    email_verified: Option<serde_json::Value>,
}

impl AlbOidc {
    pub fn new(alb_arn: &str, keys: Arc<dyn PublicKeys>) -> AlbOidc {
        AlbOidc {
            alb_arn: alb_arn.to_string(),
            keys,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The identity in `token`, if it verifies at `now` (Unix seconds).
    pub async fn verify(&self, token: &str, now: i64) -> Result<Identity, Unauthenticated> {
        let refuse = |why: &str| Unauthenticated(format!("the sign-in token {why}"));
        let mut parts = token.trim().split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(refuse("is not a JWT (three parts)"));
        };
        let header: Header =
            serde_json::from_slice(&decode(header).ok_or_else(|| refuse("header is not base64"))?)
                .map_err(|_| refuse("header is not the load balancer's"))?;
        if header.alg != "ES256" {
            return Err(refuse(&format!("is signed with {}, not ES256", header.alg)));
        }
        if header.signer != self.alb_arn {
            return Err(refuse("was signed for another load balancer"));
        }
        let key = self.key(&header.kid).await?;
        let message = &token.trim()[..header_and_payload_len(token.trim())];
        let signature = signature.trim_end_matches('=');
        let verified =
            jsonwebtoken::crypto::verify(signature, message.as_bytes(), &key, Algorithm::ES256)
                .unwrap_or(false);
        if !verified {
            return Err(refuse("signature does not verify"));
        }
        let claims: Claims = serde_json::from_slice(
            &decode(payload).ok_or_else(|| refuse("claims are not base64"))?,
        )
        .map_err(|_| refuse("claims are not JSON"))?;
        if claims.exp.is_none_or(|exp| exp <= now) {
            return Err(refuse("has expired: reload the page to sign in again"));
        }
        let unverified = matches!(&claims.email_verified, Some(serde_json::Value::Bool(false)))
            || matches!(&claims.email_verified, Some(serde_json::Value::String(text)) if text == "false");
        let email = claims.email.filter(|_| !unverified).ok_or_else(|| {
            refuse("has no verified email: ask the identity provider for the `email` scope")
        })?;
        Identity::parse(&format!("email:{email}")).map_err(Unauthenticated)
    }

    async fn key(&self, kid: &str) -> Result<Arc<DecodingKey>, Unauthenticated> {
        let valid = !kid.is_empty()
            && kid.len() <= 128
            && kid.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !valid {
            return Err(Unauthenticated(
                "the sign-in token names no valid key".into(),
            ));
        }
        if let Some(key) = lock(&self.cache).get(kid) {
            return Ok(key.clone());
        }
        let pem = self.keys.pem(kid).await.map_err(|error| {
            Unauthenticated(format!(
                "the load balancer's key could not be read: {error}"
            ))
        })?;
        let key = Arc::new(DecodingKey::from_ec_pem(pem.as_bytes()).map_err(|error| {
            Unauthenticated(format!("the load balancer's key is not an EC key: {error}"))
        })?);
        lock(&self.cache).insert(kid.to_string(), key.clone());
        Ok(key)
    }
}

#[async_trait]
impl Authenticate for AlbOidc {
    async fn authenticate(&self, request: &Parts) -> Result<Actor, Unauthenticated> {
        let token = request
            .headers
            .get(CLAIMS_HEADER)
            .and_then(|value| value.to_str().ok())
            .ok_or_else(|| {
                Unauthenticated(
                    "not signed in: Ferry's UI is reached through its load balancer, which signs people in"
                        .into(),
                )
            })?;
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        Ok(Actor {
            identity: self.verify(token, now).await?,
            via: Channel::Ui,
        })
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The length of `header.payload`, the signing input, as sent.
fn header_and_payload_len(token: &str) -> usize {
    token.rfind('.').unwrap_or(token.len())
}

/// base64url with or without padding (the ALB pads), or the standard alphabet.
fn decode(part: &str) -> Option<Vec<u8>> {
    let unpadded: String = part
        .trim_end_matches('=')
        .chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            other => other,
        })
        .collect();
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(unpadded)
        .ok()
}

#[cfg(test)]
mod tests;
