//! TODO
/// Explain a CONNACK return code in words a user can act on.
pub fn explain_connack(code: u8) -> String {
    let _ = code;
    todo!()
}
