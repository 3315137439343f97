//! The thin browser shell: the I/O the pure core leaves to its caller.
//!
//! - [`clock`]: the time, read from the browser and handed to the core.
//! - [`socket`]: one binary WebSocket with its event handlers.
//! - [`storage`]: localStorage for connection profiles.
//! - [`tabs`]: the BroadcastChannel the tabs of this browser agree over.
//! - [`outbox_db`]: the durable outbox in IndexedDB.
//! - [`link`]: runs a sans-IO [`crate::core::protocol::Protocol`] over a
//!   socket: timers, batching of outgoing packets, reconnect with backoff.
pub mod clock;
pub mod link;
pub mod outbox_db;
pub mod socket;
pub mod storage;
pub mod tabs;
