//! Integration tests: Ferry's AWS adapters against the moto emulator, one module per capability.
//! moto starts once for this binary (see `helpers`); every test seeds its own uniquely named
//! resources, so tests run in parallel.

mod helpers;

mod cloudwatch;
mod dynamodb;
mod ecs;
mod elb;
mod seed;
mod sfn;
