//! Model tests, one file per model module.
mod devices;
mod model;
mod requests;
mod rpc_inbox;
mod shared;
