//! The thin browser shell: the I/O the pure core leaves to its caller.
//!
//! - [`clock`]: the time, read from the browser and handed to the core.
//! - [`socket`]: one binary WebSocket with its event handlers.
//! - [`storage`]: localStorage for connection profiles.
//! - [`tabs`]: the BroadcastChannel the tabs of this browser agree over.
//! - [`outbox_db`]: the durable outbox in IndexedDB.
//! - [`location`]: the page's address and its fragment (shared scenarios).
//! - [`next_task`]: run a callback in a task of its own (work in slices).
//! - [`files`]: downloads through Blob URLs, and reading picked files.
//! - [`link`]: runs a sans-IO [`crate::core::protocol::Protocol`] over a
//!   socket: timers, batching of outgoing packets, reconnect with backoff.
pub mod clock;
pub mod files;
pub mod link;
pub mod location;
pub mod next_task;
pub mod outbox_db;
pub mod socket;
pub mod storage;
pub mod tabs;
