//! Ferry's domain core: everything that decides, nothing that talks to AWS.
//!
//! - [`manifest`]: the `.ferry/<service>.yaml` deployment manifest, parsed with located errors.
//! - [`plan`]: the step plan (what green weight next, how long to bake, where to wait for approval).
//! - [`deployment`]: the deployment record; [`lifecycle`]: what happens to it, as typed
//!   events and the transitions that record them.
//! - [`analysis`]: alarms in, verdict out.
//! - [`control`]: what people may do to a deployment (actors, actions, refusals).
//! - [`convergence`]: per service, the commit its branch says should run, and the rules that
//!   deploy the latest push, once, and never an older one.
//! - [`events`]: the GitHub events Ferry puts on its bus, as the webhook publishes them.
//! - [`ports`]: the small traits the handlers talk to (their in-memory fakes are in the
//!   `ferry-testing` crate).
//! - [`signing`]: HMAC-SHA256 request signatures (GitHub's and Slack's), checked in constant time.
//! - [`trigger`]: from a commit seen on a branch to one deploy execution, whoever saw it.
//!
//! This crate must never depend on an AWS crate: adapters live in `ferry-aws`.

pub mod analysis;
pub mod arn;
pub mod control;
pub mod convergence;
pub mod deployment;
pub mod duration;
pub mod events;
pub mod hooks;
pub mod lifecycle;
pub mod manifest;
pub mod plan;
pub mod ports;
pub mod signing;
pub mod text;
pub mod trigger;

pub use deployment::{Deployment, DeploymentStatus};
pub use manifest::Manifest;
pub use plan::{Plan, Step};
