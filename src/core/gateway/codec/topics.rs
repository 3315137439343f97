//! Every topic of the contract, and the parsing of incoming topic names
//! (some carry a request id as their last level).

/// Gateway → server: register a device in this session.
pub const GATEWAY_CONNECT: &str = "v1/gateway/connect";
/// Gateway → server: deregister a device; server → gateway: disconnect notices.
pub const GATEWAY_DISCONNECT: &str = "v1/gateway/disconnect";
/// Gateway → server: telemetry for many devices.
pub const GATEWAY_TELEMETRY: &str = "v1/gateway/telemetry";
/// Gateway → server: client attributes; server → gateway: shared-attribute changes.
pub const GATEWAY_ATTRIBUTES: &str = "v1/gateway/attributes";
/// Gateway → server: attribute requests.
pub const GATEWAY_ATTRIBUTES_REQUEST: &str = "v1/gateway/attributes/request";
/// Server → gateway: attribute responses.
pub const GATEWAY_ATTRIBUTES_RESPONSE: &str = "v1/gateway/attributes/response";
/// Server → gateway: RPC requests; gateway → server: RPC replies.
pub const GATEWAY_RPC: &str = "v1/gateway/rpc";
/// Gateway → server: claims.
pub const GATEWAY_CLAIM: &str = "v1/gateway/claim";

/// The gateway's own telemetry.
pub const OWN_TELEMETRY: &str = "v1/devices/me/telemetry";
/// The gateway's own client attributes (out) and shared-attribute changes (in).
pub const OWN_ATTRIBUTES: &str = "v1/devices/me/attributes";
/// Prefix of the gateway's own attribute requests; the request id follows.
pub const OWN_ATTRIBUTES_REQUEST_PREFIX: &str = "v1/devices/me/attributes/request/";
/// Prefix of the answers to the gateway's own attribute requests.
pub const OWN_ATTRIBUTES_RESPONSE_PREFIX: &str = "v1/devices/me/attributes/response/";
/// Prefix of server-side RPC requests to the gateway, and of its client-side RPC calls.
pub const OWN_RPC_REQUEST_PREFIX: &str = "v1/devices/me/rpc/request/";
/// Prefix of the gateway's replies to server RPC, and of answers to its client-side calls.
pub const OWN_RPC_RESPONSE_PREFIX: &str = "v1/devices/me/rpc/response/";
/// The gateway's own claim.
pub const OWN_CLAIM: &str = "v1/devices/me/claim";

/// Filters the gateway subscribes to after every CONNACK, in one SUBSCRIBE.
pub const SUBSCRIPTIONS: [&str; 7] = [
    GATEWAY_ATTRIBUTES,
    GATEWAY_ATTRIBUTES_RESPONSE,
    GATEWAY_RPC,
    OWN_ATTRIBUTES,
    "v1/devices/me/attributes/response/+",
    "v1/devices/me/rpc/request/+",
    "v1/devices/me/rpc/response/+",
];

/// Where a mosquitto bridge says whether it is connected to ThingsBoard
/// (`notification_topic` in the README's bridge configuration): a retained
/// `1` or `0`. Subscribed to only in bridged setups.
pub const BRIDGE_STATE: &str = "tb-bridge/state";

/// The topic of the gateway's own attribute request `id`.
pub fn own_attributes_request(id: u32) -> String {
    format!("{OWN_ATTRIBUTES_REQUEST_PREFIX}{id}")
}

/// The topic of the gateway's client-side RPC call `id`.
pub fn own_rpc_request(id: u32) -> String {
    format!("{OWN_RPC_REQUEST_PREFIX}{id}")
}

/// The topic of the gateway's reply to server RPC `id`.
pub fn own_rpc_response(id: u64) -> String {
    format!("{OWN_RPC_RESPONSE_PREFIX}{id}")
}

/// An incoming topic, recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    /// `v1/gateway/connect`
    GatewayConnect,
    /// `v1/gateway/disconnect`
    GatewayDisconnect,
    /// `v1/gateway/telemetry`
    GatewayTelemetry,
    /// `v1/gateway/attributes`
    GatewayAttributes,
    /// `v1/gateway/attributes/request`
    GatewayAttributesRequest,
    /// `v1/gateway/attributes/response`
    GatewayAttributesResponse,
    /// `v1/gateway/rpc`
    GatewayRpc,
    /// `v1/gateway/claim`
    GatewayClaim,
    /// `v1/devices/me/telemetry`
    OwnTelemetry,
    /// `v1/devices/me/attributes`
    OwnAttributes,
    /// `v1/devices/me/attributes/request/<id>`
    OwnAttributesRequest(u32),
    /// `v1/devices/me/attributes/response/<id>`
    OwnAttributesResponse(u32),
    /// `v1/devices/me/rpc/request/<id>`
    OwnRpcRequest(u64),
    /// `v1/devices/me/rpc/response/<id>`
    OwnRpcResponse(u64),
    /// `v1/devices/me/claim`
    OwnClaim,
}

impl Topic {
    /// Recognise `topic`, or say in words why it is not one of the contract's.
    pub fn parse(topic: &str) -> Result<Topic, String> {
        let fixed = match topic {
            GATEWAY_CONNECT => Some(Topic::GatewayConnect),
            GATEWAY_DISCONNECT => Some(Topic::GatewayDisconnect),
            GATEWAY_TELEMETRY => Some(Topic::GatewayTelemetry),
            GATEWAY_ATTRIBUTES => Some(Topic::GatewayAttributes),
            GATEWAY_ATTRIBUTES_REQUEST => Some(Topic::GatewayAttributesRequest),
            GATEWAY_ATTRIBUTES_RESPONSE => Some(Topic::GatewayAttributesResponse),
            GATEWAY_RPC => Some(Topic::GatewayRpc),
            GATEWAY_CLAIM => Some(Topic::GatewayClaim),
            OWN_TELEMETRY => Some(Topic::OwnTelemetry),
            OWN_ATTRIBUTES => Some(Topic::OwnAttributes),
            OWN_CLAIM => Some(Topic::OwnClaim),
            _ => None,
        };
        if let Some(t) = fixed {
            return Ok(t);
        }
        if let Some(id) = topic.strip_prefix(OWN_ATTRIBUTES_REQUEST_PREFIX) {
            return Ok(Topic::OwnAttributesRequest(parse_id(id)?));
        }
        if let Some(id) = topic.strip_prefix(OWN_ATTRIBUTES_RESPONSE_PREFIX) {
            return Ok(Topic::OwnAttributesResponse(parse_id(id)?));
        }
        if let Some(id) = topic.strip_prefix(OWN_RPC_REQUEST_PREFIX) {
            return Ok(Topic::OwnRpcRequest(parse_id(id)?));
        }
        if let Some(id) = topic.strip_prefix(OWN_RPC_RESPONSE_PREFIX) {
            return Ok(Topic::OwnRpcResponse(parse_id(id)?));
        }
        Err("not a topic of the ThingsBoard gateway contract".to_string())
    }
}

/// A request id as the last topic level: decimal digits only.
fn parse_id<T: std::str::FromStr>(text: &str) -> Result<T, String> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "the request id in the topic must be a whole number, got \"{text}\""
        ));
    }
    text.parse()
        .map_err(|_| format!("the request id {text} in the topic is too large"))
}
