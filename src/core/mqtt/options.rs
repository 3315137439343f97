//! What a session connects with: protocol, client id, credentials, keepalive and limits.

/// The MQTT version a session speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    /// MQTT 5: reason codes on PUBACK, SUBACK and DISCONNECT, No Local
    /// subscriptions, and the server's limits in CONNACK. The default.
    #[default]
    V5,
    /// MQTT 3.1.1, for brokers (or bridges) that do not speak MQTT 5.
    V311,
}

impl Protocol {
    /// How the protocol is named to a user: "MQTT 5" or "MQTT 3.1.1".
    pub fn name(self) -> &'static str {
        match self {
            Protocol::V5 => "MQTT 5",
            Protocol::V311 => "MQTT 3.1.1",
        }
    }
}

/// How the gateway authenticates in CONNECT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// ThingsBoard access token, sent as the MQTT username.
    AccessToken(String),
    /// MQTT basic credentials: client id (in [`ConnectOptions::client_id`]),
    /// optional username and optional password.
    Basic {
        /// MQTT username, if any.
        username: Option<String>,
        /// MQTT password, if any.
        password: Option<String>,
    },
    /// No username or password (a plain broker).
    Anonymous,
}

/// Everything the session needs to connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectOptions {
    /// MQTT version (default [`Protocol::V5`]).
    pub protocol: Protocol,
    /// MQTT client id; may be empty with an access token.
    pub client_id: String,
    /// Authentication sent in CONNECT.
    pub credentials: Credentials,
    /// Keepalive in seconds, sent in CONNECT (default 60). 0 disables pings.
    pub keep_alive_secs: u16,
    /// Largest packet sent, in bytes (default 65 536: what ThingsBoard
    /// accepts). Under MQTT 5 a smaller Maximum Packet Size in CONNACK lowers it
    /// for that connection.
    pub max_packet_size: usize,
    /// Largest packet accepted from the server, in bytes (default 16 MiB).
    /// ThingsBoard's 64 KiB applies to what it receives, not to what it sends:
    /// an RPC or attribute response may be larger. Under MQTT 5 it is
    /// announced in CONNECT as the Maximum Packet Size.
    pub max_incoming_packet_size: usize,
    /// Most QoS 1 publishes awaiting PUBACK at once (default 50, under
    /// ThingsBoard's 100 queued packets); more wait in order behind them.
    /// Under MQTT 5 a smaller Receive Maximum in CONNACK lowers it for that
    /// connection.
    pub max_inflight: u16,
    /// How long to wait for CONNACK after the transport opens, in ms (default 10 000).
    pub connect_timeout_ms: u64,
    /// How long a QoS 1 publish may wait for its PUBACK before it is reported
    /// as unacknowledged and dropped from the in-flight table, in ms (default 30 000).
    pub puback_timeout_ms: u64,
}

impl ConnectOptions {
    /// Options with the given client id and credentials and every other field at its default.
    pub fn new(client_id: impl Into<String>, credentials: Credentials) -> Self {
        ConnectOptions {
            protocol: Protocol::V5,
            client_id: client_id.into(),
            credentials,
            keep_alive_secs: 60,
            max_packet_size: 65_536,
            max_incoming_packet_size: 16 * 1024 * 1024,
            max_inflight: 50,
            connect_timeout_ms: 10_000,
            puback_timeout_ms: 30_000,
        }
    }
}
