//! Who is asking: each mount of the control API says how it knows.

use async_trait::async_trait;
use ferry_core::control::{Actor, Channel, Identity};
use http::request::Parts;

/// The request names no one this mount can vouch for (401).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unauthenticated(pub String);

/// How a mount turns a request into an [`Actor`].
#[async_trait]
pub trait Authenticate: Send + Sync {
    async fn authenticate(&self, request: &Parts) -> Result<Actor, Unauthenticated>;
}

/// The caller's IAM principal, as AWS verified it: put in the request's extensions by
/// [`crate::lambda`] from a function URL's authorizer context (auth type `AWS_IAM`). An
/// extension, not a header: nothing a client sends can set it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsPrincipal(pub String);

/// The control function behind an `AWS_IAM` function URL: the actor is the signed request's
/// IAM principal.
pub struct AwsIam;

#[async_trait]
impl Authenticate for AwsIam {
    async fn authenticate(&self, request: &Parts) -> Result<Actor, Unauthenticated> {
        let Some(AwsPrincipal(arn)) = request.extensions.get::<AwsPrincipal>() else {
            return Err(Unauthenticated(
                "no IAM principal: call the control URL with a SigV4-signed request (`ferry` does)"
                    .into(),
            ));
        };
        let identity = Identity::parse(arn)
            .ok()
            .filter(|identity| matches!(identity, Identity::Iam(_)))
            .ok_or_else(|| Unauthenticated(format!("{arn} is not an IAM user or role session")))?;
        Ok(Actor {
            identity,
            via: Channel::Cli,
        })
    }
}

/// `ferry serve` on a loopback address: whoever can reach it runs the emulator (or holds the
/// AWS credentials it uses) too, so the `X-Ferry-As` header (written as in `approvers`) is
/// trusted, and the server's operating-system user (or `--user`) is the default.
///
/// A web page elsewhere must not borrow that trust: a request whose `Host` is not a loopback
/// name is refused (a DNS-rebinding page reaches 127.0.0.1 under its own name), and actions
/// refuse cross-site requests (see [`crate::same_origin`]).
pub struct LocalTrusted {
    pub default_user: String,
}

/// The header naming the local actor.
pub const AS_HEADER: &str = "x-ferry-as";

#[async_trait]
impl Authenticate for LocalTrusted {
    async fn authenticate(&self, request: &Parts) -> Result<Actor, Unauthenticated> {
        if let Some(host) = request.headers.get(http::header::HOST)
            && !is_loopback_host(host.to_str().unwrap_or_default())
        {
            return Err(Unauthenticated(format!(
                "this local server answers requests to localhost or 127.0.0.1 only, not to {}",
                host.to_str().unwrap_or("a host that is not text")
            )));
        }
        let identity = match request.headers.get(AS_HEADER) {
            Some(value) => {
                let text = value
                    .to_str()
                    .map_err(|_| Unauthenticated(format!("{AS_HEADER} is not text")))?;
                Identity::parse_local(text).map_err(Unauthenticated)?
            }
            None => Identity::Local(self.default_user.clone()),
        };
        Ok(Actor {
            identity,
            via: if from_browser(request) {
                Channel::Ui
            } else {
                Channel::Cli
            },
        })
    }
}

/// Browsers mark every request they send with `Sec-Fetch-Mode`; scripts and the CLI do not.
pub fn from_browser(request: &Parts) -> bool {
    request.headers.contains_key("sec-fetch-mode")
}

/// `localhost`, `127.0.0.1` (any 127/8) or `[::1]`, with or without a port.
fn is_loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|address| address.is_loopback())
}

#[cfg(test)]
#[test]
fn loopback_hosts_are_told_from_others() {
    for host in [
        "localhost",
        "localhost:8080",
        "127.0.0.1:1",
        "127.1.2.3",
        "[::1]:80",
        "[::1]",
    ] {
        assert!(is_loopback_host(host), "{host}");
    }
    for host in [
        "evil.example",
        "evil.example:8080",
        "10.0.0.1:80",
        "localhost.evil.example",
        "",
    ] {
        assert!(!is_loopback_host(host), "{host}");
    }
}
