//! Ferry's tests' home.
//!
//! - [`memory`]: an in-memory fake of every port of `ferry_core::ports`, close enough to the
//!   real services (conditional writes conflict, a task token answers once, weights are
//!   relative) that logic tested against them holds against AWS.
//! - [`world`]: one seeded world, a service `shop/web` with a blue task set behind a listener
//!   that sends it all traffic, an OK alarm, and a manifest in a fake Git; unit tests, the
//!   engine's end-to-end tests and the integration tests' in-memory parts start from it.
//!
//! It depends on `ferry-core` only, so that `ferry-handlers`' own unit tests can use it; each
//! test suite assembles its `ferry_handlers::Deps` from [`world::Fakes`].

pub mod hooks;
pub mod memory;
pub mod world;
