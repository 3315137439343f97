//! What a CONNACK return code means, in words a user can act on.

use super::reason::{explain_reason, is_known};

/// Explain a CONNACK return code in words a user can act on.
///
/// Codes 1 to 5 are the refusals MQTT 3.1.1 defines, 128 and up those of
/// MQTT 5 (see [`explain_reason`]); 0 is acceptance; any other code is
/// reported as unknown.
pub fn explain_connack(code: u8) -> String {
    match code {
        0 => "connection accepted".to_string(),
        1 => "the broker does not accept MQTT 3.1.1 (protocol version refused)".to_string(),
        2 => "client id rejected: check the client id".to_string(),
        3 => "server unavailable: the broker or ThingsBoard behind it is down or overloaded"
            .to_string(),
        4 => "bad user name or password: check the credentials".to_string(),
        5 => "not authorized: check the access token".to_string(),
        0x86 => "bad user name or password: check the access token".to_string(),
        0x87 => "not authorized: check the access token".to_string(),
        code if code >= 0x80 && is_known(code) => explain_reason(code).to_string(),
        other => format!("unknown refusal code {other}"),
    }
}

/// Whether a CONNACK refusal with `code` may clear up by itself, so that
/// connecting again later makes sense: server unavailable (3; MQTT 5: 136),
/// server busy (137) and connection rate exceeded (159). Every other refusal
/// is about what was sent (credentials, client id, protocol), and repeating
/// it only repeats the refusal.
pub fn is_transient_refusal(code: u8) -> bool {
    matches!(code, 3 | 0x88 | 0x89 | 0x9F)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_unavailable_busy_and_rate_refusals_are_transient() {
        let transient: Vec<u8> = (1..=255)
            .filter(|&code| is_transient_refusal(code))
            .collect();
        assert_eq!(transient, [3, 136, 137, 159]);
    }
}
