use serde_json::json;

use crate::core::gateway::codec::AttributeScope;
use crate::core::gateway::model::{Model, ModelConfig, RequestKind};
use crate::core::time::Millis;

#[test]
fn the_default_timeouts_are_20_s_for_attributes_and_10_s_for_rpc() {
    let c = ModelConfig::default();
    assert_eq!(c.attribute_request_timeout_ms, 20_000);
    assert_eq!(c.rpc_timeout_ms, 10_000);
}

#[test]
fn the_next_deadline_is_the_earliest_of_requests_and_both_inboxes() {
    let mut m = Model::default();
    assert_eq!(m.next_deadline(), None);
    m.requests_mut().start(
        Millis(0),
        RequestKind::Attributes {
            device: "A".into(),
            scope: AttributeScope::Client,
            keys: vec!["k".into()],
        },
    );
    assert_eq!(m.next_deadline(), Some(Millis(20_000)));
    m.own_mut()
        .rpc_mut()
        .push(Millis(5_000), None, 1, "m", json!(null));
    assert_eq!(m.next_deadline(), Some(Millis(15_000)));
    m.rpc_inbox_mut()
        .push(Millis(1_000), Some("A"), 1, "m", json!(null));
    assert_eq!(m.next_deadline(), Some(Millis(11_000)));
    let expired = m.expire(Millis(15_000));
    assert_eq!(
        (
            expired.requests.len(),
            expired.rpc.len(),
            expired.own_rpc.len()
        ),
        (0, 1, 1)
    );
    assert_eq!(m.next_deadline(), Some(Millis(20_000)));
    assert!(!expired.is_empty());
}

#[test]
fn echoes_are_counted() {
    let mut m = Model::default();
    m.count_echo();
    m.count_echo();
    assert_eq!(m.echoes_ignored(), 2);
}

#[test]
fn session_limits_are_kept_as_received() {
    let mut m = Model::default();
    m.own_mut()
        .set_session_limits(Millis(3), json!({"maxPayloadSize": 65536}));
    let l = m.own().session_limits().unwrap();
    assert_eq!(l.value["maxPayloadSize"], json!(65536));
    assert_eq!(l.received_at, Millis(3));
}

#[test]
fn every_devices_shared_attributes_stay_within_the_total_forgetting_the_least_recently_updated() {
    use crate::core::gateway::codec::AttributeUpdate;
    use crate::core::gateway::model::SHARED_TOTAL_BYTES;
    let mut model = Model::default();
    let update = AttributeUpdate::Updated(
        serde_json::json!({"blob": "x".repeat(64 * 1024)})
            .as_object()
            .unwrap()
            .clone(),
    );
    let mut forgotten = Vec::new();
    model.apply_shared_attributes(Millis(0), "Kept", &update);
    for i in 0..2_000u64 {
        if i % 100 == 0 {
            // Updated again and again: never the one updated longest ago.
            forgotten.extend(model.apply_shared_attributes(Millis(i), "Kept", &update));
        }
        forgotten.extend(model.apply_shared_attributes(Millis(i), &format!("D{i}"), &update));
        assert!(
            model.shared_bytes() <= SHARED_TOTAL_BYTES,
            "{} bytes after {i}",
            model.shared_bytes()
        );
    }
    let kept = model.all_shared_attributes().len() as u64;
    assert!(
        (200..256).contains(&kept),
        "kept {kept} devices of 64 KiB in 16 MiB"
    );
    assert_eq!(forgotten.len() as u64, 2_001 - kept);
    assert_eq!(model.shared_forgotten(), 2_001 - kept);
    assert_eq!(
        forgotten[0], "D0",
        "the device updated longest ago goes first"
    );
    assert!(model.shared_attributes("Kept").is_some());
    assert!(
        model.shared_attributes("D1999").is_some(),
        "the newest stays"
    );
    assert!(model.shared_attributes("D0").is_none());
}
