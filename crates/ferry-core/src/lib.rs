//! Ferry's domain core: everything that decides, nothing that talks to AWS.
//!
//! - [`manifest`]: the `.ferry/<service>.yaml` deployment manifest, parsed with located errors.
//! - [`plan`]: the step plan (what green weight next, how long to bake, where to wait for approval).
//! - [`deployment`]: the deployment record and its lifecycle.
//! - [`analysis`]: alarms in, verdict out.
//! - [`ports`]: the small traits the handlers talk to; [`memory`] holds their in-memory fakes.
//!
//! This crate must never depend on an AWS crate: adapters live in `ferry-aws`.

pub mod analysis;
pub mod arn;
pub mod deployment;
pub mod duration;
pub mod manifest;
pub mod memory;
pub mod plan;
pub mod ports;

pub use deployment::{Deployment, DeploymentStatus};
pub use manifest::Manifest;
pub use plan::{Plan, Step};
