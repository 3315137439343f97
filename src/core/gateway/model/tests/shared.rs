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
