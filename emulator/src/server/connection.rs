//! One MQTT connection, from its first byte to its close: CONNECT within a
//! deadline, CONNACK as the platform decides, then a loop over the socket
//! and the platform's effects for that session.

use super::connect::{decode_connect, Connect};
use super::frame::{frame, Framing};
use super::link::{Link, Read};
use super::packets::{self, Inbound};
use crate::hub::{log, Hub};
use crate::platform::session::{version_name, ConnectRequest, Effect, MqttVersion, SessionId};
use bytes::{Bytes, BytesMut};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::timeout;

/// How long a new connection may take to send its CONNECT.
pub const CONNECT_DEADLINE: Duration = Duration::from_secs(10);

/// How long one write may block (a peer that stops reading is closed).
pub const WRITE_DEADLINE: Duration = Duration::from_secs(30);

/// MQTT 5 reason: malformed packet.
pub const REASON_MALFORMED: u8 = 0x81;
/// MQTT 5 reason: protocol error.
pub const REASON_PROTOCOL_ERROR: u8 = 0x82;
/// MQTT 5 reason for a packet over the size limit: ThingsBoard's decoder
/// fails on it, and the session closes with MALFORMED_PACKET (contract §4),
/// not MQTT 5's PACKET_TOO_LARGE (149).
pub const REASON_PACKET_TOO_LARGE: u8 = REASON_MALFORMED;
/// MQTT 5 reason: quota exceeded.
pub const REASON_QUOTA_EXCEEDED: u8 = 0x97;

/// Connections currently open (TCP and WebSocket, CONNECT or not).
static OPEN: AtomicUsize = AtomicUsize::new(0);

/// How many connections are open right now.
pub fn open_connections() -> usize {
    OPEN.load(Ordering::Relaxed)
}

/// Counts a connection as open while alive.
struct OpenCount;

impl OpenCount {
    fn new() -> Self {
        OPEN.fetch_add(1, Ordering::Relaxed);
        OpenCount
    }
}

impl Drop for OpenCount {
    fn drop(&mut self) {
        OPEN.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A secret as it may be logged: its first 2 characters, then `***`.
pub fn mask(secret: Option<&str>) -> String {
    match secret {
        None => "(none)".into(),
        Some(s) => format!("{}***", s.chars().take(2).collect::<String>()),
    }
}

/// At most 64 characters of a client-chosen string, for a log line.
fn short(s: &str) -> String {
    if s.chars().count() <= 64 {
        format!("{s:?}")
    } else {
        format!(
            "{:?}... ({} bytes)",
            s.chars().take(64).collect::<String>(),
            s.len()
        )
    }
}

/// Ends a session exactly once, whichever way the task ends (a panic
/// included): stops routing effects to it and tells the platform.
struct SessionGuard {
    hub: Arc<Hub>,
    session: SessionId,
    who: String,
    why: String,
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        self.hub.detach(self.session);
        let (session, why) = (self.session, std::mem::take(&mut self.why));
        self.hub.apply(|p, now| p.close_session(session, now, &why));
        log(&format!(
            "{}: session {} closed: {why} ({} connection(s) open)",
            self.who,
            session.0,
            open_connections().saturating_sub(1)
        ));
    }
}

/// Why the loop stopped, and what to write first.
struct Stop {
    why: String,
    /// MQTT 5 DISCONNECT reason to write before closing.
    reason: Option<u8>,
}

impl Stop {
    fn new(why: impl Into<String>, reason: Option<u8>) -> Stop {
        Stop {
            why: why.into(),
            reason,
        }
    }
}

/// Serves one accepted connection until it closes. `peer` names it in logs
/// (`127.0.0.1:53412`, or `ws 127.0.0.1:53412`).
pub async fn serve<L: Link>(hub: Arc<Hub>, mut link: L, peer: String) {
    let _open = OpenCount::new();
    let mut buf = BytesMut::new();
    let connect = match timeout(CONNECT_DEADLINE, read_connect(&hub, &mut link, &mut buf)).await {
        Ok(Ok(c)) => c,
        Ok(Err(why)) => {
            log(&format!("{peer}: {why}; closed"));
            link.close().await;
            return;
        }
        Err(_) => {
            log(&format!(
                "{peer}: no CONNECT within {} s; closed",
                CONNECT_DEADLINE.as_secs()
            ));
            link.close().await;
            return;
        }
    };
    let version = connect.version;
    let who = format!(
        "{peer} MQTT {} user {}",
        version_name(version),
        mask(connect.username.as_deref())
    );
    let client_id = short(&connect.client_id);
    let request = ConnectRequest {
        client_id: connect.client_id,
        username: connect.username.clone(),
        password: connect.password,
        version,
        keep_alive: connect.keep_alive,
        peer: peer.clone(),
    };
    let (tx, rx) = mpsc::unbounded_channel();
    // Attached under the platform's lock, so no effect for the new session
    // can be routed before the connection is registered.
    let opened = hub.apply(|p, now| {
        let result = p.open_session(request, now);
        if let Ok(o) = &result {
            hub.attach(o.session, tx);
        }
        result
    });
    let opened = match opened {
        Ok(o) => o,
        Err(refusal) => {
            let code = refusal.code(version);
            log(&format!(
                "{who} client id {client_id}: refused, {refusal:?} (CONNACK {code})"
            ));
            let _ = timeout(
                WRITE_DEADLINE,
                link.write(&packets::connack(version, false, code)),
            )
            .await;
            link.close().await;
            return;
        }
    };
    let mut guard = SessionGuard {
        hub: hub.clone(),
        session: opened.session,
        who: who.clone(),
        why: String::new(),
    };
    // A gateway made for a token is named after it: mask the token there too.
    let device = match connect.username.as_deref() {
        Some(user) if !user.is_empty() => opened.device_name.replace(user, &mask(Some(user))),
        _ => opened.device_name.clone(),
    };
    log(&format!(
        "{who} client id {client_id}: session {} for {device:?}{} ({} connection(s) open)",
        opened.session.0,
        if opened.gateway { " (gateway)" } else { "" },
        open_connections()
    ));
    let ack = packets::connack(version, !connect.clean_session, 0);
    let stop = match write(&mut link, &ack).await {
        Ok(()) => {
            let mut conn = Connection {
                hub: &hub,
                session: opened.session,
                version,
                next_push: 0,
            };
            conn.run(&mut link, &mut buf, rx).await
        }
        Err(stop) => stop,
    };
    if let (Some(reason), true) = (stop.reason, version.is_v5()) {
        let _ = write(&mut link, &packets::disconnect(reason)).await;
    }
    link.close().await;
    guard.why = stop.why;
}

async fn write<L: Link>(link: &mut L, bytes: &[u8]) -> Result<(), Stop> {
    match timeout(WRITE_DEADLINE, link.write(bytes)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(Stop::new(format!("write failed: {e}"), None)),
        Err(_) => Err(Stop::new(
            "the peer stopped reading (write timed out)",
            None,
        )),
    }
}

/// Reads until a whole CONNECT is buffered, and decodes it.
async fn read_connect<L: Link>(
    hub: &Hub,
    link: &mut L,
    buf: &mut BytesMut,
) -> Result<Connect, String> {
    loop {
        if let Some(&b) = buf.first() {
            if b != 0x10 {
                return Err(format!(
                    "the first packet is not CONNECT (byte 0x{b:02x}, {} byte(s) read)",
                    buf.len()
                ));
            }
        }
        let max = hub.read(|p| p.transport_limits()).max_payload_size;
        match frame(buf) {
            Framing::Whole {
                header_len,
                remaining,
                ..
            } => {
                if remaining > max {
                    return Err(too_large(remaining, max));
                }
                let packet = buf.split_to(header_len + remaining);
                return decode_connect(&packet, header_len).map_err(|e| e.to_string());
            }
            Framing::Partial { remaining } if remaining > max => {
                return Err(too_large(remaining, max))
            }
            Framing::Malformed => return Err("malformed remaining length in CONNECT".into()),
            Framing::NeedHeader | Framing::Partial { .. } => {}
        }
        match link.read(buf).await {
            Ok(Read::Data) => {}
            Ok(Read::Closed) if buf.is_empty() => {
                return Err("closed before sending anything".into())
            }
            Ok(Read::Closed) => {
                return Err(format!(
                    "closed in the middle of CONNECT ({} byte(s) read)",
                    buf.len()
                ))
            }
            Ok(Read::TooLarge) => return Err("WebSocket message too large".into()),
            Err(e) => return Err(format!("read failed: {e}")),
        }
    }
}

fn too_large(remaining: usize, max: usize) -> String {
    format!("packet of {remaining} bytes announced, over the {max}-byte limit")
}

/// The state of an open session's loop.
struct Connection<'a> {
    hub: &'a Arc<Hub>,
    session: SessionId,
    version: MqttVersion,
    /// Server pushes so far; the packet id is this counter truncated to 16
    /// bits, as ThingsBoard's `nextMsgId` (0 appears after 65 535).
    next_push: u64,
}

impl Connection<'_> {
    async fn run<L: Link>(
        &mut self,
        link: &mut L,
        buf: &mut BytesMut,
        mut rx: mpsc::UnboundedReceiver<Effect>,
    ) -> Stop {
        loop {
            // Whatever the CONNECT's read brought along is handled first.
            let mut out = Vec::new();
            let handled = self.handle_buffer(buf, &mut out);
            if !out.is_empty() {
                if let Err(stop) = write(link, &out).await {
                    return stop;
                }
            }
            if let Err(stop) = handled {
                return stop;
            }
            tokio::select! {
                read = link.read(buf) => match read {
                    Ok(Read::Data) => {}
                    Ok(Read::Closed) => return Stop::new("closed by the client", None),
                    Ok(Read::TooLarge) => {
                        let max = self.hub.read(|p| p.transport_limits()).max_payload_size;
                        return Stop::new(
                            format!("WebSocket message over the {max}-byte limit"),
                            Some(REASON_PACKET_TOO_LARGE),
                        );
                    }
                    Err(e) => return Stop::new(format!("read failed: {e}"), None),
                },
                Some(effect) = rx.recv() => {
                    let mut out = Vec::new();
                    let mut closing = self.effect(effect, &mut out);
                    while closing.is_none() {
                        match rx.try_recv() {
                            Ok(effect) => closing = self.effect(effect, &mut out),
                            Err(_) => break,
                        }
                    }
                    if let Err(stop) = write(link, &out).await {
                        return stop;
                    }
                    if let Some(stop) = closing {
                        return stop;
                    }
                }
            }
        }
    }

    /// Encodes one effect; `Some` if it closes the connection.
    fn effect(&mut self, effect: Effect, out: &mut Vec<u8>) -> Option<Stop> {
        match effect {
            Effect::Push {
                topic,
                payload,
                qos,
                ..
            } => {
                // ThingsBoard's `nextMsgId` counts every push, QoS 0 included.
                self.next_push = self.next_push.wrapping_add(1);
                let pkid = self.next_push as u16;
                match packets::publish(self.version, qos, pkid, &topic, &payload) {
                    Some(p) => out.extend_from_slice(&p),
                    None => log(&format!(
                        "session {}: push on a topic too long to encode dropped",
                        self.session.0
                    )),
                }
                None
            }
            Effect::Close { close, why, .. } => Some(Stop::new(
                format!("closed by the platform: {why}"),
                close.disconnect_reason,
            )),
        }
    }

    /// Handles every whole packet in `buf`, appending the answers to `out`.
    fn handle_buffer(&mut self, buf: &mut BytesMut, out: &mut Vec<u8>) -> Result<(), Stop> {
        let limits = self.hub.read(|p| p.transport_limits());
        let mut batch: Vec<(Bytes, u8, usize, usize)> = Vec::new();
        let mut pending = None;
        loop {
            match frame(buf) {
                Framing::Whole {
                    byte1,
                    header_len,
                    remaining,
                } if remaining <= limits.max_payload_size => {
                    let packet = buf.split_to(header_len + remaining).freeze();
                    batch.push((packet, byte1, header_len, remaining));
                }
                Framing::Whole { remaining, .. } | Framing::Partial { remaining }
                    if remaining > limits.max_payload_size =>
                {
                    pending = Some(Stop::new(
                        too_large(remaining, limits.max_payload_size),
                        Some(REASON_PACKET_TOO_LARGE),
                    ));
                    break;
                }
                Framing::Malformed => {
                    pending = Some(Stop::new(
                        "malformed remaining length",
                        Some(REASON_MALFORMED),
                    ));
                    break;
                }
                _ => break,
            }
        }
        let unacked = batch
            .iter()
            .filter(|(_, byte1, _, _)| byte1 >> 4 == 3 && (byte1 >> 1) & 3 != 0)
            .count();
        if unacked > limits.max_inflight_messages {
            return Err(Stop::new(
                format!(
                    "{unacked} QoS 1 publishes awaiting PUBACK, over the limit of {}",
                    limits.max_inflight_messages
                ),
                Some(REASON_QUOTA_EXCEEDED),
            ));
        }
        for (packet, byte1, header_len, remaining) in batch {
            match packets::decode(self.version, packet, byte1, header_len, remaining) {
                Ok(inbound) => self.packet(inbound, out)?,
                Err(e) => {
                    return Err(Stop::new(
                        format!("malformed packet: {e}"),
                        Some(REASON_MALFORMED),
                    ))
                }
            }
        }
        match pending {
            Some(stop) => Err(stop),
            None => Ok(()),
        }
    }

    /// Handles one packet through the platform.
    fn packet(&mut self, inbound: Inbound, out: &mut Vec<u8>) -> Result<(), Stop> {
        let (session, version) = (self.session, self.version);
        match inbound {
            Inbound::Publish {
                topic,
                payload,
                qos,
                pkid,
            } => {
                let verdict = self
                    .hub
                    .apply(|p, now| p.publish(session, &topic, &payload, qos, pkid, now));
                if let Some(ack) = verdict.ack {
                    out.extend_from_slice(&packets::puback(version, ack.pkid, ack.reason));
                }
                if let Some(close) = verdict.close {
                    return Err(Stop::new(
                        format!("closed after a publish on {}", short(&topic)),
                        close.disconnect_reason,
                    ));
                }
            }
            Inbound::Subscribe { pkid, filters } => {
                let mut granted = self.hub.apply(|p, now| p.subscribe(session, &filters, now));
                granted.resize(filters.len(), None);
                out.extend_from_slice(&packets::suback(version, pkid, &granted));
            }
            Inbound::Unsubscribe { pkid, filters } => {
                out.extend_from_slice(&packets::unsuback(version, pkid, filters));
            }
            Inbound::PingReq => {
                self.hub.apply(|p, now| p.ping(session, now));
                out.extend_from_slice(&packets::pingresp());
            }
            Inbound::Disconnect => return Err(Stop::new("DISCONNECT from the client", None)),
            Inbound::Connect => {
                return Err(Stop::new(
                    "a second CONNECT (protocol error)",
                    Some(REASON_PROTOCOL_ERROR),
                ))
            }
            Inbound::Ack => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking() {
        assert_eq!(mask(Some("A1_TEST_TOKEN")), "A1***");
        assert_eq!(mask(Some("é")), "é***");
        assert_eq!(mask(None), "(none)");
        assert!(short(&"x".repeat(70_000)).ends_with("(70000 bytes)"));
    }
}
