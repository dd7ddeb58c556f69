//! The engine's integration tests: one binary, one module per capability.

mod helpers;

mod callbacks;
mod executions;
mod processing;
mod refusals;
mod retries;
mod statemachines;
mod states;
mod tasks;
