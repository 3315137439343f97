//! The byte pipe under one MQTT connection: a TCP stream, or the binary
//! messages of a WebSocket (a packet may span messages, and a message may
//! hold several packets, so both are just a stream of bytes here).

use bytes::BytesMut;
use futures_util::{SinkExt, StreamExt};
use std::io;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// Most bytes taken from the socket per read (the read buffer then holds at
/// most one partial packet, bounded by the packet size limit, plus this).
pub const READ_CHUNK: usize = 16 * 1024;

/// What a read brought.
#[derive(Debug)]
pub enum Read {
    /// Some bytes were appended to the buffer.
    Data,
    /// The peer closed the connection.
    Closed,
    /// A WebSocket message larger than the server accepts (it is refused by
    /// its header, before being buffered).
    TooLarge,
}

/// A connection's transport.
pub trait Link: Send {
    /// Appends what arrives next to `buf`. Cancel-safe: nothing is lost if
    /// the future is dropped before it completes.
    fn read(
        &mut self,
        buf: &mut BytesMut,
    ) -> impl std::future::Future<Output = io::Result<Read>> + Send;
    /// Writes one or more whole packets.
    fn write(&mut self, bytes: &[u8]) -> impl std::future::Future<Output = io::Result<()>> + Send;
    /// Closes the transport (flushing what was written).
    fn close(&mut self) -> impl std::future::Future<Output = ()> + Send;
}

/// MQTT over TCP.
pub struct TcpLink(pub TcpStream);

impl Link for TcpLink {
    async fn read(&mut self, buf: &mut BytesMut) -> io::Result<Read> {
        buf.reserve(READ_CHUNK);
        let mut limited = (&mut self.0).take(READ_CHUNK as u64);
        match limited.read_buf(buf).await? {
            0 => Ok(Read::Closed),
            _ => Ok(Read::Data),
        }
    }

    async fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.0.write_all(bytes).await
    }

    async fn close(&mut self) {
        let _ = self.0.shutdown().await;
    }
}

/// MQTT over WebSocket: binary messages carry the bytes.
pub struct WsLink(pub WebSocketStream<TcpStream>);

impl Link for WsLink {
    async fn read(&mut self, buf: &mut BytesMut) -> io::Result<Read> {
        use tokio_tungstenite::tungstenite::error::{CapacityError, Error};
        loop {
            match self.0.next().await {
                None | Some(Ok(Message::Close(_))) => return Ok(Read::Closed),
                Some(Ok(Message::Binary(data))) => {
                    buf.extend_from_slice(&data);
                    return Ok(Read::Data);
                }
                Some(Ok(Message::Text(_))) => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "a text WebSocket message (MQTT needs binary)",
                    ))
                }
                // Pings are answered by tungstenite itself.
                Some(Ok(_)) => continue,
                Some(Err(Error::Capacity(CapacityError::MessageTooLong { .. }))) => {
                    return Ok(Read::TooLarge)
                }
                Some(Err(Error::ConnectionClosed | Error::AlreadyClosed)) => {
                    return Ok(Read::Closed)
                }
                Some(Err(e)) => return Err(io::Error::other(e.to_string())),
            }
        }
    }

    async fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.0
            .send(Message::binary(bytes.to_vec()))
            .await
            .map_err(|e| io::Error::other(e.to_string()))
    }

    async fn close(&mut self) {
        let _ = self.0.close(None).await;
    }
}
