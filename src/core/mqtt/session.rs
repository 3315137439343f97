//! The session state machine. See the module docs of `core::mqtt` for how a
//! caller drives it.

use bytes::Bytes;
use mqttbytes::QoS;

use super::{ConnectOptions, Event, PublishId, SessionError, SubscribeId};
use crate::core::time::Millis;

/// Where the session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    /// No transport (never opened, or closed); publishes at QoS 1 queue up.
    Disconnected,
    /// Transport open, CONNECT sent, waiting for CONNACK.
    Connecting,
    /// CONNACK accepted: traffic flows.
    Connected,
}

/// An MQTT 3.1.1 client session that does no I/O and reads no clock.
pub struct Session {
    options: ConnectOptions,
}

impl Session {
    /// A disconnected session that will connect with `options` when the transport opens.
    pub fn new(options: ConnectOptions) -> Self {
        Session { options }
    }

    /// The options this session connects with.
    pub fn options(&self) -> &ConnectOptions {
        &self.options
    }

    /// Replace the options used for the next connect (e.g. after the user edits them).
    pub fn set_options(&mut self, options: ConnectOptions) {
        self.options = options;
    }

    /// Where the session stands now.
    pub fn state(&self) -> SessionState {
        todo!()
    }

    /// Call when the transport has opened: queues CONNECT and arms the connect timeout.
    pub fn handle_open(&mut self, now: Millis) {
        let _ = now;
        todo!()
    }

    /// Call with every chunk of bytes the transport delivers, however it splits
    /// or merges packets.
    pub fn handle_data(&mut self, now: Millis, data: &[u8]) {
        let _ = (now, data);
        todo!()
    }

    /// Call when the transport closed without the session asking (`why` for the user).
    pub fn handle_close(&mut self, now: Millis, why: &str) {
        let _ = (now, why);
        todo!()
    }

    /// Call when the time from [`Session::poll_timeout`] has come (late is fine).
    pub fn handle_timeout(&mut self, now: Millis) {
        let _ = now;
        todo!()
    }

    /// When the session next needs [`Session::handle_timeout`], if ever.
    pub fn poll_timeout(&self) -> Option<Millis> {
        todo!()
    }

    /// Everything queued for the transport since the last call, as one buffer
    /// (one WebSocket message), or `None` if nothing is queued.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        todo!()
    }

    /// The next event for the application, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        todo!()
    }

    /// Queue a publish. QoS 1 is accepted in any state and sent (or resent with
    /// DUP) once connected; QoS 0 needs a connected session.
    pub fn publish(
        &mut self,
        now: Millis,
        topic: &str,
        payload: Bytes,
        qos: QoS,
    ) -> Result<PublishId, SessionError> {
        let _ = (now, topic, payload, qos);
        todo!()
    }

    /// Subscribe to `filters`; needs a connected session. The SUBACK arrives as
    /// [`Event::Subscribed`].
    pub fn subscribe(
        &mut self,
        now: Millis,
        filters: &[(&str, QoS)],
    ) -> Result<SubscribeId, SessionError> {
        let _ = (now, filters);
        todo!()
    }

    /// Send DISCONNECT and end the session; [`Event::Closed`] with no error
    /// follows. QoS 1 publishes still in flight are kept for the next connect.
    pub fn disconnect(&mut self, now: Millis) {
        let _ = now;
        todo!()
    }
}
