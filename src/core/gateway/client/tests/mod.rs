//! Client tests: a real [`Session`](crate::core::mqtt::Session) inside the
//! gateway, a tiny broker in [`harness`] and a simulated clock.
mod attributes;
mod coalesce;
mod devices;
mod echo;
pub(crate) mod harness;
mod lifecycle;
mod limits;
mod offline;
mod own;
mod rpc;
mod split;
mod split_old;
