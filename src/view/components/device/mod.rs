//! The page of one device (or of the gateway itself), one tab per file.
pub mod attributes_tab;
pub mod claim_tab;
pub mod page;
pub mod rpc_tab;
pub mod telemetry_tab;
