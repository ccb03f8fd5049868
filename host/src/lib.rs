//! gauntlet: a plugin host that grades backend-engineering projects written
//! as WebAssembly components. See ARCHITECTURE.md for the map.

pub mod bindings;
pub mod check;
pub mod commands;
pub mod componentize;
pub mod concurrent;
pub mod diff;
pub mod engine;
pub mod error;
pub mod html;
pub mod langs;
pub mod linearize;
pub mod plugin;
pub mod replica;
pub mod report;
pub mod runner;
pub mod sandbox;
pub mod scaffold;
pub mod scenario;
pub mod sched;
pub mod sim;
pub mod store;
pub mod toolchain;
pub mod track;

pub use error::{Error, ExitCode, Result};
