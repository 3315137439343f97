//! The seam between a sans-IO protocol and the shell that does its I/O.

use crate::core::gateway::Gateway;
use crate::core::mqtt::{is_transient_refusal, Session, SessionError, SessionState};

/// MQTT 5's DISCONNECT reason for a session another client took over (the
/// same credentials connected elsewhere).
pub const TAKEN_OVER: u8 = 142;
use crate::core::time::Millis;

/// A sans-IO protocol endpoint that a transport driver (the browser shell, or a
/// test harness) can run. Implemented by the MQTT [`Session`] and by the
/// gateway client over it.
pub trait Protocol {
    /// The transport opened.
    fn handle_open(&mut self, now: Millis);
    /// The transport delivered bytes.
    fn handle_data(&mut self, now: Millis, data: &[u8]);
    /// The transport closed without being asked to.
    fn handle_close(&mut self, now: Millis, why: &str);
    /// The time from [`Protocol::poll_timeout`] has come.
    fn handle_timeout(&mut self, now: Millis);
    /// When [`Protocol::handle_timeout`] is next needed.
    fn poll_timeout(&self) -> Option<Millis>;
    /// Bytes to write, as one transport message.
    fn poll_transmit(&mut self) -> Option<Vec<u8>>;
    /// Ask the session to end: queue DISCONNECT (then the driver closes the transport).
    fn disconnect(&mut self, now: Millis);
    /// Whether the MQTT session is connecting or connected (false once it ended).
    fn is_active(&self) -> bool;
    /// Whether the broker has accepted the session (CONNACK 0) and it still stands.
    fn is_connected(&self) -> bool;
    /// Whether reconnecting after the last close can help (false after the
    /// broker refused the credentials: retrying would only repeat the refusal).
    fn should_retry(&self) -> bool;
    /// Whether the last session ended because another client took it over
    /// (MQTT 5 DISCONNECT 142).
    fn taken_over(&self) -> bool;
    /// Why the last session ended, in words, if it was not asked to.
    fn last_error_text(&self) -> Option<String>;
}

impl Protocol for Session {
    fn last_error_text(&self) -> Option<String> {
        self.last_error().map(|e| e.to_string())
    }
    fn taken_over(&self) -> bool {
        matches!(
            self.last_error(),
            Some(SessionError::ServerDisconnected {
                reason: TAKEN_OVER,
                ..
            })
        )
    }
    fn handle_open(&mut self, now: Millis) {
        Session::handle_open(self, now)
    }
    fn handle_data(&mut self, now: Millis, data: &[u8]) {
        Session::handle_data(self, now, data)
    }
    fn handle_close(&mut self, now: Millis, why: &str) {
        Session::handle_close(self, now, why)
    }
    fn handle_timeout(&mut self, now: Millis) {
        Session::handle_timeout(self, now)
    }
    fn poll_timeout(&self) -> Option<Millis> {
        Session::poll_timeout(self)
    }
    fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        Session::poll_transmit(self)
    }
    fn disconnect(&mut self, now: Millis) {
        Session::disconnect(self, now)
    }
    fn is_active(&self) -> bool {
        self.state() != SessionState::Disconnected
    }
    fn is_connected(&self) -> bool {
        self.state() == SessionState::Connected
    }
    fn should_retry(&self) -> bool {
        // Server unavailable or busy, and too many connections (3, 136,
        // 137, 159) may clear up; the other refusals are about what we
        // sent, and repeating it only repeats the refusal (and may get the
        // address blocked for wrong credentials).
        // A session taken over (MQTT 5 DISCONNECT 142) belongs to another
        // client now: reconnecting would take it back, and the two would
        // evict each other forever. The person decides.
        !matches!(
            self.last_error(),
            Some(SessionError::Refused { code, .. }) if !is_transient_refusal(*code)
        ) && !matches!(
            self.last_error(),
            Some(SessionError::ServerDisconnected {
                reason: TAKEN_OVER,
                ..
            })
        )
    }
}

impl Protocol for Gateway {
    fn taken_over(&self) -> bool {
        Protocol::taken_over(self.session())
    }
    fn last_error_text(&self) -> Option<String> {
        Protocol::last_error_text(self.session())
    }
    fn handle_open(&mut self, now: Millis) {
        Gateway::handle_open(self, now)
    }
    fn handle_data(&mut self, now: Millis, data: &[u8]) {
        Gateway::handle_data(self, now, data)
    }
    fn handle_close(&mut self, now: Millis, why: &str) {
        Gateway::handle_close(self, now, why)
    }
    fn handle_timeout(&mut self, now: Millis) {
        Gateway::handle_timeout(self, now)
    }
    fn poll_timeout(&self) -> Option<Millis> {
        Gateway::poll_timeout(self)
    }
    fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        Gateway::poll_transmit(self)
    }
    fn disconnect(&mut self, now: Millis) {
        Gateway::disconnect(self, now)
    }
    fn is_active(&self) -> bool {
        Protocol::is_active(self.session())
    }
    fn is_connected(&self) -> bool {
        Gateway::is_connected(self)
    }
    fn should_retry(&self) -> bool {
        Protocol::should_retry(self.session())
    }
}
