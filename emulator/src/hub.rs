//! The running platform shared between the MQTT and HTTP sides: the
//! [`Platform`] behind a lock, the queue of messages to publish, change
//! notifications and the log.

use crate::platform::{Outgoing, Platform};
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, watch};

/// Wall-clock time, epoch milliseconds.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Writes one log line to stderr: `emulator: [HH:MM:SS.mmm] text` (UTC).
pub fn log(text: &str) {
    let ms = now_ms();
    let secs = ms / 1000;
    eprintln!(
        "emulator: [{:02}:{:02}:{:02}.{:03}] {text}",
        (secs / 3600) % 24,
        (secs / 60) % 60,
        secs % 60,
        ms % 1000
    );
}

/// State of the emulator's own broker connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrokerState {
    /// Not connected yet, or reconnecting.
    Connecting,
    /// Connected; subscriptions not acknowledged yet.
    Connected,
    /// Connected and every subscription granted: ready.
    Subscribed,
}

impl BrokerState {
    /// Lower-case name for `/api/health`.
    pub fn name(self) -> &'static str {
        match self {
            BrokerState::Connecting => "connecting",
            BrokerState::Connected => "connected",
            BrokerState::Subscribed => "subscribed",
        }
    }
}

/// Shared by every task.
#[derive(Debug)]
pub struct Hub {
    platform: Mutex<Platform>,
    outgoing: mpsc::UnboundedSender<Outgoing>,
    changes: watch::Sender<u64>,
    broker: watch::Sender<BrokerState>,
}

impl Hub {
    /// A hub around `platform`, and the receiving end of its publish queue
    /// (for the MQTT side).
    pub fn new(platform: Platform) -> (Hub, mpsc::UnboundedReceiver<Outgoing>) {
        let (outgoing, rx) = mpsc::unbounded_channel();
        let hub = Hub {
            platform: Mutex::new(platform),
            outgoing,
            changes: watch::channel(0).0,
            broker: watch::channel(BrokerState::Connecting).0,
        };
        (hub, rx)
    }

    fn lock(&self) -> MutexGuard<'_, Platform> {
        // A panic while holding the lock cannot leave the platform half
        // updated in a way that matters more than stopping would.
        self.platform.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs a command that changes the platform. The messages it returns are
    /// queued for publishing in order (under the lock), its log lines are
    /// written, and waiters are woken.
    pub fn apply<R>(&self, f: impl FnOnce(&mut Platform, u64) -> (R, Vec<Outgoing>)) -> R {
        let mut platform = self.lock();
        let (result, out) = f(&mut platform, now_ms());
        for line in platform.take_log() {
            log(&line);
        }
        for message in out {
            // The receiver lives as long as the MQTT task; after shutdown
            // there is nothing left to publish to.
            let _ = self.outgoing.send(message);
        }
        drop(platform);
        self.changes.send_modify(|v| *v = v.wrapping_add(1));
        result
    }

    /// Reads the platform.
    pub fn read<R>(&self, f: impl FnOnce(&Platform) -> R) -> R {
        f(&self.lock())
    }

    /// A receiver woken after every [`Hub::apply`].
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// Sets the broker connection state.
    pub fn set_broker_state(&self, state: BrokerState) {
        self.broker.send_replace(state);
    }

    /// The broker connection state.
    pub fn broker_state(&self) -> BrokerState {
        *self.broker.borrow()
    }

    /// A receiver of broker state changes.
    pub fn broker_states(&self) -> watch::Receiver<BrokerState> {
        self.broker.subscribe()
    }
}
