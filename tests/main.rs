//! Integration tests: Ferry's AWS adapters and handlers against the moto emulator, one module per
//! capability, and the sample events under `events/` (no emulator needed).
//! moto starts once for this binary (see `helpers`); every test seeds its own uniquely named
//! resources, so tests run in parallel.

mod faults;
mod helpers;

mod cloudwatch;
mod control;
mod dynamodb;
mod e2e;
mod ecs;
mod elb;
mod events;
mod handlers;
mod seed;
mod sfn;
mod soak;
mod webhook;
