//! The accept loops: MQTT over TCP, and MQTT over WebSocket (subprotocols
//! `mqtt`, `mqttv3.1` and `binary`, on any path). Each accepted connection
//! gets its own task ([`super::connection::serve`]).

use super::connection::{serve, CONNECT_DEADLINE};
use super::link::{TcpLink, WsLink};
use crate::hub::{log, Hub};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// WebSocket subprotocols accepted (the one the client offers first is
/// echoed back).
pub const SUBPROTOCOLS: &[&str] = &["mqtt", "mqttv3.1", "binary"];

/// Largest WebSocket message or frame accepted, whatever the packet size
/// limit. A bigger one is refused from its header, never buffered; packets
/// bigger than this must span several messages.
pub const WS_MAX_MESSAGE: usize = 4 * 1024 * 1024;

/// Binds a listener (`port` 0 takes a free port) with `SO_REUSEADDR`, so
/// that an emulator restarted on the same ports binds at once: the
/// connections the previous run closed first linger in TIME_WAIT on that
/// port for a minute, and would otherwise make the bind fail with "address
/// in use". (It never lets two listeners share a port: that would take
/// `SO_REUSEPORT`.)
pub async fn bind(addr: &str) -> Result<TcpListener, String> {
    let fail = |e: std::io::Error| format!("cannot listen on {addr}: {e}");
    let mut last = None;
    for a in tokio::net::lookup_host(addr).await.map_err(fail)? {
        let socket = if a.is_ipv4() {
            TcpSocket::new_v4()
        } else {
            TcpSocket::new_v6()
        };
        let bound = socket.and_then(|s| {
            s.set_reuseaddr(true)?;
            s.bind(a)?;
            s.listen(1024)
        });
        match bound {
            Ok(listener) => return Ok(listener),
            Err(e) => last = Some(e),
        }
    }
    Err(fail(last.unwrap_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::NotFound, "the name has no address")
    })))
}

/// Which protocol a listener speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// MQTT over TCP.
    Tcp,
    /// MQTT over WebSocket.
    Ws,
}

/// Accepts connections on `listener` until `stop` turns true, serving each
/// in its own task.
pub async fn accept_loop(
    hub: Arc<Hub>,
    listener: TcpListener,
    kind: Kind,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stop.wait_for(|s| *s) => return,
        };
        match accepted {
            Ok((stream, addr)) => {
                let _ = stream.set_nodelay(true);
                let hub = hub.clone();
                match kind {
                    Kind::Tcp => {
                        tokio::spawn(serve(hub, TcpLink(stream), addr.to_string()));
                    }
                    Kind::Ws => {
                        tokio::spawn(serve_ws(hub, stream, addr));
                    }
                }
            }
            Err(e) => {
                // Out of file descriptors, typically: wait instead of spinning.
                log(&format!("accept failed: {e}"));
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// The subprotocol to answer with: the first one offered that is supported,
/// spelled as offered.
pub fn pick_subprotocol(offered: &str) -> Option<&str> {
    offered
        .split(',')
        .map(str::trim)
        .find(|p| SUBPROTOCOLS.iter().any(|s| s.eq_ignore_ascii_case(p)))
}

async fn serve_ws(hub: Arc<Hub>, stream: TcpStream, addr: SocketAddr) {
    let peer = format!("ws {addr}");
    // The signature is tungstenite's `Callback`; the error type is theirs.
    #[allow(clippy::result_large_err)]
    let callback = |req: &Request, mut resp: Response| -> Result<Response, ErrorResponse> {
        let offered = req
            .headers()
            .get("Sec-WebSocket-Protocol")
            .and_then(|v| v.to_str().ok());
        if let Some(chosen) = offered.and_then(pick_subprotocol) {
            if let Ok(v) = HeaderValue::from_str(chosen) {
                resp.headers_mut().insert("Sec-WebSocket-Protocol", v);
            }
        }
        Ok(resp)
    };
    let config = WebSocketConfig::default()
        .max_message_size(Some(WS_MAX_MESSAGE))
        .max_frame_size(Some(WS_MAX_MESSAGE));
    let handshake = tokio_tungstenite::accept_hdr_async_with_config(stream, callback, Some(config));
    match tokio::time::timeout(CONNECT_DEADLINE, handshake).await {
        Ok(Ok(ws)) => serve(hub, WsLink(ws), peer).await,
        Ok(Err(e)) => log(&format!("{peer}: WebSocket handshake failed: {e}")),
        Err(_) => log(&format!(
            "{peer}: no WebSocket handshake within {} s",
            CONNECT_DEADLINE.as_secs()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subprotocols() {
        assert_eq!(pick_subprotocol("mqtt"), Some("mqtt"));
        assert_eq!(pick_subprotocol("binary"), Some("binary"));
        assert_eq!(pick_subprotocol("foo, mqttv3.1"), Some("mqttv3.1"));
        assert_eq!(pick_subprotocol("MQTT"), Some("MQTT"));
        assert_eq!(pick_subprotocol("wamp"), None);
    }
}
