//! Who is asking: each mount of the control API says how it knows.

use ferry_core::control::{Actor, Channel, Identity};
use http::request::Parts;

/// The request names no one this mount can vouch for (401).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unauthenticated(pub String);

/// How a mount turns a request into an [`Actor`].
pub trait Authenticate: Send + Sync {
    fn authenticate(&self, request: &Parts) -> Result<Actor, Unauthenticated>;
}

/// The caller's IAM principal, as AWS verified it: put in the request's extensions by
/// [`crate::lambda`] from a function URL's authorizer context (auth type `AWS_IAM`). An
/// extension, not a header: nothing a client sends can set it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsPrincipal(pub String);

/// The control function behind an `AWS_IAM` function URL: the actor is the signed request's
/// IAM principal.
pub struct AwsIam;

impl Authenticate for AwsIam {
    fn authenticate(&self, request: &Parts) -> Result<Actor, Unauthenticated> {
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

/// `ferry serve` in local mode, on a loopback address: whoever can reach it runs the emulator
/// too, so the `X-Ferry-As` header (written as in `approvers`) is trusted, and the server's
/// operating-system user is the default.
pub struct LocalTrusted {
    pub default_user: String,
}

/// The header naming the local actor.
pub const AS_HEADER: &str = "x-ferry-as";

impl Authenticate for LocalTrusted {
    fn authenticate(&self, request: &Parts) -> Result<Actor, Unauthenticated> {
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
            via: Channel::Cli,
        })
    }
}
