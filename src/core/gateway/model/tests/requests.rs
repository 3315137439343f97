use crate::core::gateway::codec::AttributeScope;
use crate::core::gateway::model::{PendingRequests, RequestKind};
use crate::core::time::Millis;

fn attrs_kind() -> RequestKind {
    RequestKind::Attributes {
        device: "A".into(),
        scope: AttributeScope::Shared,
        keys: vec!["k".into()],
    }
}

#[test]
fn request_ids_start_at_1_and_are_unique() {
    let mut r = PendingRequests::new(20_000, 65_000);
    let a = r.start(Millis(0), attrs_kind());
    let b = r.start(Millis(0), attrs_kind());
    assert_eq!((a, b), (1, 2));
    assert_eq!(r.len(), 2);
    assert_eq!(r.get(1).unwrap().kind, attrs_kind());
}

#[test]
fn an_attribute_request_times_out_after_20_seconds() {
    let mut r = PendingRequests::new(20_000, 65_000);
    let id = r.start(Millis(1_000), attrs_kind());
    assert_eq!(r.next_deadline(), Some(Millis(21_000)));
    assert!(r.expire(Millis(20_999)).is_empty());
    let expired = r.expire(Millis(21_000));
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0].id, id);
    assert!(r.is_empty());
    assert_eq!(r.next_deadline(), None);
}

#[test]
fn a_client_side_call_has_its_own_timeout() {
    let mut r = PendingRequests::new(20_000, 65_000);
    r.start(
        Millis(0),
        RequestKind::OwnRpcCall {
            method: "getSessionLimits".into(),
        },
    );
    assert_eq!(r.next_deadline(), Some(Millis(65_000)));
}

#[test]
fn an_answered_request_is_taken_and_no_longer_times_out() {
    let mut r = PendingRequests::new(20_000, 65_000);
    let id = r.start(Millis(0), attrs_kind());
    assert!(r.take(id).is_some());
    assert!(r.take(id).is_none());
    assert!(r.expire(Millis(100_000)).is_empty());
}

#[test]
fn ids_can_start_anywhere_and_still_wrap_to_1() {
    use crate::core::gateway::codec::uplink::MAX_REQUEST_ID;
    let mut r = PendingRequests::new(20_000, 65_000).starting_at(MAX_REQUEST_ID - 1);
    let ids: Vec<u32> = (0..3).map(|_| r.start(Millis(0), attrs_kind())).collect();
    assert_eq!(ids, vec![MAX_REQUEST_ID - 1, MAX_REQUEST_ID, 1]);
    let r = PendingRequests::new(20_000, 65_000).starting_at(0);
    let mut r = r;
    assert_eq!(r.start(Millis(0), attrs_kind()), 1, "0 is no request id");
}
