//! What a CONNACK return code means, in words a user can act on.

/// Explain a CONNACK return code in words a user can act on.
///
/// Codes 1 to 5 are the refusals MQTT 3.1.1 defines; 0 is acceptance; any
/// other code is reported as unknown.
pub fn explain_connack(code: u8) -> String {
    match code {
        0 => "connection accepted".to_string(),
        1 => "the broker does not accept MQTT 3.1.1 (protocol version refused)".to_string(),
        2 => "client id rejected: check the client id".to_string(),
        3 => "server unavailable: the broker or ThingsBoard behind it is down or overloaded"
            .to_string(),
        4 => "bad user name or password: check the credentials".to_string(),
        5 => "not authorized: check the access token".to_string(),
        other => format!("unknown refusal code {other}"),
    }
}
