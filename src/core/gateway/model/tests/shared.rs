use serde_json::json;

use crate::core::gateway::codec::AttributeUpdate;
use crate::core::gateway::model::SharedAttributes;
use crate::core::time::Millis;

#[test]
fn shared_attributes_keep_the_last_value_with_its_time() {
    let mut s = SharedAttributes::new();
    let map = json!({"a": 1, "b": 2}).as_object().unwrap().clone();
    s.apply(Millis(1), &AttributeUpdate::Updated(map));
    let map = json!({"a": 3}).as_object().unwrap().clone();
    s.apply(Millis(2), &AttributeUpdate::Updated(map));
    assert_eq!(s.get("a").unwrap().value, json!(3));
    assert_eq!(s.get("a").unwrap().at, Millis(2));
    assert_eq!(s.get("b").unwrap().at, Millis(1));
}

#[test]
fn a_deletion_removes_the_value_and_is_remembered_until_set_again() {
    let mut s = SharedAttributes::new();
    let map = json!({"a": 1}).as_object().unwrap().clone();
    s.apply(Millis(1), &AttributeUpdate::Updated(map.clone()));
    s.apply(Millis(2), &AttributeUpdate::Deleted(vec!["a".into()]));
    assert!(s.get("a").is_none());
    assert_eq!(s.deleted().get("a"), Some(&Millis(2)));
    s.apply(Millis(3), &AttributeUpdate::Updated(map));
    assert!(s.deleted().is_empty());
    assert!(!s.is_empty());
}

fn blob(key: &str, bytes: usize) -> crate::core::gateway::codec::Attributes {
    json!({ key: "x".repeat(bytes) })
        .as_object()
        .unwrap()
        .clone()
}

#[test]
fn a_value_too_heavy_to_keep_whole_is_kept_truncated_with_its_size() {
    use crate::core::gateway::model::{SHARED_PREVIEW_BYTES, SHARED_VALUE_BYTES};
    let mut s = SharedAttributes::new();
    s.update(Millis(1), &blob("config", 300 * 1024));
    s.update(Millis(1), &blob("small", 10));
    let config = s.get("config").unwrap();
    assert_eq!(
        config.truncated,
        Some(300 * 1024 + 2),
        "its JSON text's length"
    );
    let shown = config.shown();
    assert!(
        shown.starts_with("\"xxx")
            && shown.ends_with("… (truncated: 300 KiB received, the first 1 KiB kept)"),
        "{}",
        &shown[shown.len() - 80..]
    );
    assert!(shown.len() < SHARED_PREVIEW_BYTES + 100);
    assert!(s.bytes() < 4 * 1024, "{} bytes kept", s.bytes());
    assert_eq!(s.get("small").unwrap().truncated, None);
    assert_eq!(
        s.get("small").unwrap().shown(),
        format!("\"{}\"", "x".repeat(10))
    );
    s.update(Millis(2), &blob("config", SHARED_VALUE_BYTES / 2));
    assert_eq!(
        s.get("config").unwrap().truncated,
        None,
        "a lighter value is whole again"
    );
}

#[test]
fn one_devices_attributes_stay_within_their_bytes_forgetting_the_oldest() {
    use crate::core::gateway::model::SHARED_DEVICE_BYTES;
    let mut s = SharedAttributes::new();
    for i in 0..10_000u64 {
        s.update(Millis(i), &blob(&format!("key{i}"), 64 * 1024));
        assert!(
            s.bytes() <= SHARED_DEVICE_BYTES,
            "{} bytes after {i}",
            s.bytes()
        );
    }
    let kept = s.values().len() as u64;
    assert!(
        (10..16).contains(&kept),
        "kept {kept} values of 64 KiB in 1 MiB"
    );
    assert_eq!(s.dropped(), 10_000 - kept);
    assert!(s.get("key9999").is_some(), "the newest stays");
    assert!(s.get("key0").is_none(), "the oldest went first");
    s.delete(Millis(20_000), &["key9999".to_string()]);
    assert!(
        s.bytes() < SHARED_DEVICE_BYTES - 64 * 1024,
        "a deletion gives its bytes back"
    );
    assert_eq!(s.deleted().len(), 1);
}
