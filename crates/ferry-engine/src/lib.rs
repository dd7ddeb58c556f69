//! placeholder
pub mod choice;
mod digest;
pub mod error;
pub mod intrinsics;
pub mod path;
pub mod payload;
pub mod template;
pub mod timestamp;
