//! What an MQTT 5 reason code means, in words a user can act on.
//!
//! MQTT 5 shares one table of reason codes between CONNACK, PUBACK, SUBACK
//! and DISCONNECT (each packet uses a subset, with the same meaning), and
//! ThingsBoard reuses the same numbers in its `v1/gateway/disconnect`
//! notices. One function explains them all.

/// Explain an MQTT 5 reason code (from a PUBACK, SUBACK, DISCONNECT or
/// CONNACK, or a ThingsBoard `v1/gateway/disconnect` notice) in words a user
/// can act on. Codes below 0x80 are successes; an unknown code says so.
pub fn explain_reason(code: u8) -> &'static str {
    match code {
        0x00 => "success",
        0x01 => "granted at QoS 1",
        0x02 => "granted at QoS 2",
        0x04 => "disconnected, with the will message sent",
        0x10 => "accepted, but no one is subscribed to the topic",
        0x80 => "unspecified error: the server gave no reason",
        0x81 => "malformed packet: the server could not read what was sent",
        0x82 => "protocol error: the server did not expect what was sent",
        0x83 => "the server rejected the message: a required field is missing or it is not valid",
        0x84 => "the server does not accept MQTT 5: choose MQTT 3.1.1 in the profile",
        0x85 => "client id rejected: check the client id",
        0x86 => "bad user name or password: check the access token or credentials",
        0x87 => "not authorized: check the access token and what it may do",
        0x88 => "server unavailable: the broker or ThingsBoard behind it is down",
        0x89 => "server busy: try again later",
        0x8A => "banned: the server refuses this client",
        0x8B => "the server is shutting down",
        0x8C => "bad authentication method",
        0x8D => "keepalive timeout: the server heard nothing for 1.5 times the keepalive",
        0x8E => "session taken over: another client connected with the same credentials",
        0x8F => "topic filter invalid: the server does not accept this subscription",
        0x90 => "topic name invalid: the server does not accept this topic",
        0x91 => "packet id in use: the server still holds a message with this id",
        0x92 => "packet id not found",
        0x93 => "receive maximum exceeded: too many messages awaiting acknowledgement",
        0x94 => "topic alias invalid",
        0x95 => "packet too large: the message is over the server's size limit",
        0x96 => "message rate too high: the server's rate limit was exceeded",
        0x97 => "quota exceeded: rate limit or device limit reached",
        0x98 => "administrative action: an administrator closed the connection",
        0x99 => "payload format invalid: the server cannot read the payload (is it valid JSON?)",
        0x9A => "the server does not support retained messages",
        0x9B => "the server does not support this QoS",
        0x9C => "use another server: the server asks the client to connect elsewhere for now",
        0x9D => "server moved: the server asks the client to connect elsewhere",
        0x9E => "the server does not support shared subscriptions",
        0x9F => "connection rate exceeded: too many connects in a short time, wait before retrying",
        0xA0 => "maximum connect time reached",
        0xA1 => "the server does not support subscription identifiers",
        0xA2 => "the server does not support wildcard subscriptions",
        _ => "unknown reason code",
    }
}

/// Whether `code` is one [`explain_reason`] knows.
pub(crate) fn is_known(code: u8) -> bool {
    explain_reason(code) != explain_reason(0xFF)
}

/// `explain_reason(code)`, followed by the server's own words (its Reason
/// String property) when it sent some.
pub(crate) fn explain_with(code: u8, server_says: Option<&str>) -> String {
    match server_says {
        Some(words) if !words.is_empty() => {
            format!("{} (the server says: {words})", explain_reason(code))
        }
        _ => explain_reason(code).to_string(),
    }
}
