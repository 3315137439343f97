//! The running platform shared by the MQTT server and the REST API: the
//! [`Platform`] behind a lock, the connections its effects are routed to,
//! change notifications and the log.

use crate::platform::session::{Effect, SessionId};
use crate::platform::Platform;
use std::collections::HashMap;
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

/// Shared by every task.
#[derive(Debug)]
pub struct Hub {
    platform: Mutex<Platform>,
    sessions: Mutex<HashMap<SessionId, mpsc::UnboundedSender<Effect>>>,
    changes: watch::Sender<u64>,
}

impl Hub {
    /// A hub around `platform`.
    pub fn new(platform: Platform) -> Hub {
        Hub {
            platform: Mutex::new(platform),
            sessions: Mutex::new(HashMap::new()),
            changes: watch::channel(0).0,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Platform> {
        // A panic while holding the lock cannot leave the platform half
        // updated in a way that matters more than stopping would.
        self.platform.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs a command that changes the platform. Its log lines are written,
    /// the effects it left are routed to their connections in order (under
    /// the lock, so two commands' effects never interleave), and waiters are
    /// woken.
    pub fn apply<R>(&self, f: impl FnOnce(&mut Platform, u64) -> R) -> R {
        let mut platform = self.lock();
        let result = f(&mut platform, now_ms());
        for line in platform.take_log() {
            log(&line);
        }
        let effects = platform.take_effects();
        if !effects.is_empty() {
            let sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
            for effect in effects {
                let session = match &effect {
                    Effect::Push { session, .. } | Effect::Close { session, .. } => *session,
                };
                // A connection that is already gone has nothing to receive:
                // ThingsBoard drops pushes to closed sessions too.
                if let Some(tx) = sessions.get(&session) {
                    let _ = tx.send(effect);
                }
            }
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

    /// Routes `session`'s effects to `tx` from now on. Call it right after
    /// [`Platform::open_session`] succeeded, before anything else can happen
    /// to that session.
    pub fn attach(&self, session: SessionId, tx: mpsc::UnboundedSender<Effect>) {
        self.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(session, tx);
    }

    /// How many connections effects are routed to (sessions whose
    /// connection has not ended yet).
    pub fn attached(&self) -> usize {
        self.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }

    /// Stops routing to `session` (its connection is gone).
    pub fn detach(&self, session: SessionId) {
        self.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&session);
    }
}
