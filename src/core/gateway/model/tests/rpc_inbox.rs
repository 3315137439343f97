use serde_json::json;

use crate::core::gateway::model::{ModelError, RpcInbox, RpcStatus};
use crate::core::time::Millis;

#[test]
fn two_devices_with_the_same_rpc_id_stay_apart() {
    let mut inbox = RpcInbox::new(10, 10_000);
    inbox.push(Millis(0), Some("A"), 0, "m", json!(1));
    inbox.push(Millis(0), Some("B"), 0, "m", json!(2));
    assert_eq!(inbox.len(), 2);
    inbox.mark_replied(Millis(1), Some("A"), 0).unwrap();
    assert!(matches!(
        inbox.get(Some("A"), 0).unwrap().status,
        RpcStatus::Replied { .. }
    ));
    assert_eq!(inbox.get(Some("B"), 0).unwrap().status, RpcStatus::Pending);
    assert_eq!(inbox.get(Some("B"), 0).unwrap().params, json!(2));
}

#[test]
fn rpc_id_0_is_an_id_like_any_other() {
    let mut inbox = RpcInbox::new(10, 10_000);
    inbox.push(Millis(0), Some("A"), 0, "m", json!(null));
    assert!(inbox.check_reply(Some("A"), 0).is_ok());
    assert!(inbox.get(Some("A"), 0).is_some());
    assert!(inbox.get(None, 0).is_none());
}

#[test]
fn an_rpc_expires_after_the_servers_10_seconds() {
    let mut inbox = RpcInbox::new(10, 10_000);
    inbox.push(Millis(500), Some("A"), 1, "m", json!(null));
    assert_eq!(inbox.next_deadline(), Some(Millis(10_500)));
    assert!(inbox.expire(Millis(10_499)).is_empty());
    let expired = inbox.expire(Millis(10_500));
    assert_eq!(expired.len(), 1);
    assert_eq!(
        inbox.get(Some("A"), 1).unwrap().status,
        RpcStatus::Expired { at: Millis(10_500) }
    );
    assert_eq!(inbox.next_deadline(), None);
    assert!(inbox.expire(Millis(20_000)).is_empty());
}

#[test]
fn a_replied_rpc_does_not_expire_and_cannot_be_replied_twice() {
    let mut inbox = RpcInbox::new(10, 10_000);
    inbox.push(Millis(0), Some("A"), 1, "m", json!(null));
    inbox.mark_replied(Millis(1), Some("A"), 1).unwrap();
    assert!(inbox.expire(Millis(20_000)).is_empty());
    assert_eq!(
        inbox.mark_replied(Millis(2), Some("A"), 1),
        Err(ModelError::RpcAlreadyReplied {
            device: Some("A".into()),
            id: 1
        })
    );
}

#[test]
fn an_unknown_rpc_cannot_be_replied() {
    let inbox = RpcInbox::new(10, 10_000);
    let err = inbox.check_reply(Some("A"), 3).unwrap_err();
    assert!(
        err.to_string().contains("no RPC request with id 3"),
        "{err}"
    );
}

#[test]
fn the_inbox_is_a_bounded_ring_that_drops_answered_entries_first_and_counts() {
    let mut inbox = RpcInbox::new(2, 10_000);
    inbox.push(Millis(0), Some("A"), 1, "m", json!(null));
    inbox.push(Millis(0), Some("A"), 2, "m", json!(null));
    inbox.mark_replied(Millis(1), Some("A"), 2).unwrap();
    let dropped = inbox
        .push(Millis(2), Some("A"), 3, "m", json!(null))
        .unwrap();
    assert_eq!(dropped.id, 2);
    let dropped = inbox
        .push(Millis(3), Some("A"), 4, "m", json!(null))
        .unwrap();
    assert_eq!(dropped.id, 1);
    assert_eq!(inbox.len(), 2);
    assert_eq!(inbox.dropped(), 2);
    assert_eq!(inbox.capacity(), 2);
    let ids: Vec<u64> = inbox.iter().map(|e| e.id).collect();
    assert_eq!(ids, vec![3, 4]);
}

#[test]
fn a_repeated_device_and_id_replaces_the_old_entry() {
    let mut inbox = RpcInbox::new(5, 10_000);
    inbox.push(Millis(0), Some("A"), 0, "old", json!(null));
    inbox.mark_replied(Millis(1), Some("A"), 0).unwrap();
    assert!(inbox
        .push(Millis(2), Some("A"), 0, "new", json!(null))
        .is_none());
    assert_eq!(inbox.len(), 1);
    let e = inbox.get(Some("A"), 0).unwrap();
    assert_eq!((e.method.as_str(), e.status), ("new", RpcStatus::Pending));
    assert_eq!(inbox.dropped(), 0);
}
