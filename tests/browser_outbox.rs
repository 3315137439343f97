//! Browser tests of the durable outbox's storage: IndexedDB in the real
//! browser, run by `wasm-pack test --headless --chrome`.
#![cfg(target_arch = "wasm32")]

use browser_gateway::shell::outbox_db::{record_key, DbOp, OutboxDb};
use bytes::Bytes;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn put(session: &str, seq: u64, payload: &str) -> DbOp {
    DbOp::Put {
        key: record_key(session, seq),
        topic: "v1/gateway/telemetry".into(),
        payload: Bytes::from(payload.to_string()),
    }
}

#[wasm_bindgen_test]
async fn stored_uplinks_come_back_in_order_per_session_until_deleted() {
    let db = OutboxDb::open().await.expect("IndexedDB opens");
    let (a, b) = ("test-session-a", "test-session-b");
    // Sequences of different widths still sort in order (zero-padded).
    db.apply(&[
        put(a, 9, r#"{"A":[{"n":1}]}"#),
        put(a, 10, r#"{"A":[{"n":2}]}"#),
        put(b, 1, r#"{"B":[{"n":1}]}"#),
        put(a, 1_000_000, r#"{"A":[{"n":3}]}"#),
    ])
    .await
    .expect("written");
    // A second handle, as a reloaded page has, sees the same records.
    let reopened = OutboxDb::open().await.expect("IndexedDB opens again");
    let loaded = reopened.load(a).await.expect("read");
    let payloads: Vec<&[u8]> = loaded.iter().map(|s| s.payload.as_ref()).collect();
    assert_eq!(
        payloads,
        [
            br#"{"A":[{"n":1}]}"#.as_slice(),
            br#"{"A":[{"n":2}]}"#.as_slice(),
            br#"{"A":[{"n":3}]}"#.as_slice()
        ]
    );
    assert!(loaded.iter().all(|s| s.topic == "v1/gateway/telemetry"));
    db.apply(&[DbOp::Delete {
        key: record_key(a, 10),
    }])
    .await
    .expect("deleted");
    let left: Vec<String> = reopened
        .load(a)
        .await
        .expect("read")
        .into_iter()
        .map(|s| s.key)
        .collect();
    assert_eq!(left, [record_key(a, 9), record_key(a, 1_000_000)]);
    assert_eq!(reopened.load(b).await.expect("read").len(), 1);
    // Clean up for the next run.
    db.apply(&[
        DbOp::Delete {
            key: record_key(a, 9),
        },
        DbOp::Delete {
            key: record_key(a, 1_000_000),
        },
        DbOp::Delete {
            key: record_key(b, 1),
        },
    ])
    .await
    .expect("cleaned");
    assert!(reopened.load(a).await.expect("read").is_empty());
}
