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
    let dropped = inbox.push(Millis(2), Some("A"), 3, "m", json!(null));
    assert_eq!(dropped.iter().map(|e| e.id).collect::<Vec<_>>(), vec![2]);
    let dropped = inbox.push(Millis(3), Some("A"), 4, "m", json!(null));
    assert_eq!(dropped.iter().map(|e| e.id).collect::<Vec<_>>(), vec![1]);
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
        .is_empty());
    assert_eq!(inbox.len(), 1);
    let e = inbox.get(Some("A"), 0).unwrap();
    assert_eq!((e.method.as_str(), e.status), ("new", RpcStatus::Pending));
    assert_eq!(inbox.dropped(), 0);
}

#[test]
fn ten_thousand_rpcs_of_64_kib_stay_within_the_byte_bound_and_are_counted() {
    use crate::core::gateway::model::{RPC_INBOX_BYTES, RPC_INBOX_CAPACITY};
    let mut inbox = RpcInbox::new(RPC_INBOX_CAPACITY, 10_000);
    let params = json!({"blob": "x".repeat(64 * 1024)});
    let mut dropped = 0;
    for id in 0..10_000u64 {
        dropped += inbox
            .push(Millis(id), Some("Pump 7"), id, "setBlob", params.clone())
            .len();
        assert!(
            inbox.bytes() <= RPC_INBOX_BYTES,
            "{} bytes after {id}",
            inbox.bytes()
        );
    }
    let kept = inbox.len();
    assert!(
        (50..64).contains(&kept),
        "kept {kept} requests of 64 KiB in 4 MiB"
    );
    assert_eq!(dropped as u64, 10_000 - kept as u64);
    assert_eq!(inbox.dropped(), 10_000 - kept as u64);
    assert_eq!(
        inbox.iter().last().map(|e| e.id),
        Some(9_999),
        "the newest stays"
    );
}

#[test]
fn past_the_byte_bound_answered_requests_go_before_pending_ones() {
    let mut inbox = RpcInbox::new(100, 10_000).with_byte_cap(10_000);
    let params = json!("x".repeat(3_000));
    inbox.push(Millis(0), Some("A"), 1, "m", params.clone());
    inbox.push(Millis(0), Some("A"), 2, "m", params.clone());
    inbox.push(Millis(0), Some("A"), 3, "m", params.clone());
    inbox.mark_replied(Millis(1), Some("A"), 2).unwrap();
    let dropped = inbox.push(Millis(2), Some("A"), 4, "m", params.clone());
    assert_eq!(dropped.iter().map(|e| e.id).collect::<Vec<_>>(), vec![2]);
    assert!(inbox.bytes() <= 10_000);
    let huge = inbox.push(Millis(3), Some("A"), 5, "m", json!("y".repeat(50_000)));
    assert_eq!(
        huge.iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![1, 3, 4],
        "a request heavier than the bound drops every other one"
    );
    assert_eq!(inbox.len(), 1, "and is kept itself");
    assert_eq!(inbox.dropped(), 4);
    inbox.push(Millis(4), Some("A"), 6, "m", json!(null));
    assert_eq!(inbox.iter().map(|e| e.id).collect::<Vec<_>>(), vec![6]);
    assert!(
        inbox.bytes() < 1_000,
        "the heavy one's bytes are given back"
    );
}
