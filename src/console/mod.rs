//! The console's state: plain Rust (no browser APIs) that the view renders.
//! Events from the core are applied here as they arrive, with bounded work and
//! memory, so it is tested natively like the core.
pub mod answers;
pub mod auto_reply;
pub mod chart;
pub mod loadtest;
pub mod log_filter;
pub mod natural;
pub mod pattern;
pub mod profiles;
pub mod removal;
pub mod simulator;
pub mod slices;
pub mod slicing;
pub mod store;
pub mod tabs;
pub mod telemetry;
pub mod text;
pub mod values;
pub mod workspace;
