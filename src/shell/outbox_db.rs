//! The durable outbox in IndexedDB (through rexie): the uplinks that wait
//! for their acknowledgement, so a reload, a closed tab or a crash loses
//! none of them.
//!
//! One object store, `outbox`, keyed by `"<session>:<sequence>"`: the
//! session is the hash of the profile's URL and credential
//! (`console::tabs::session_key`), the sequence a zero-padded number that
//! grows across page loads, so keys sort in the order the uplinks were
//! accepted. Values are the JSON text `[topic, payload]`.

use bytes::Bytes;
use rexie::{KeyRange, ObjectStore, Rexie, TransactionMode};
use wasm_bindgen::JsValue;

/// The database's name.
pub const DB_NAME: &str = "browser-gateway";
/// The object store's name.
pub const STORE: &str = "outbox";

/// One change to the stored outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbOp {
    /// Keep this uplink under `key`.
    Put {
        /// Its key ([`record_key`]).
        key: String,
        /// Topic.
        topic: String,
        /// Payload.
        payload: Bytes,
    },
    /// Forget the uplink under `key`.
    Delete {
        /// Its key.
        key: String,
    },
}

/// The key of the `sequence`-th uplink of `session`.
pub fn record_key(session: &str, sequence: u64) -> String {
    format!("{session}:{sequence:020}")
}

/// A stored uplink, as loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// Its key.
    pub key: String,
    /// Topic.
    pub topic: String,
    /// Payload.
    pub payload: Bytes,
}

/// The open database.
pub struct OutboxDb {
    db: Rexie,
}

fn failed(what: &str, e: impl std::fmt::Display) -> String {
    format!("the durable outbox (IndexedDB) could not {what}: {e}")
}

impl OutboxDb {
    /// Open (or create) the database.
    pub async fn open() -> Result<OutboxDb, String> {
        let db = Rexie::builder(DB_NAME)
            .version(1)
            .add_object_store(ObjectStore::new(STORE))
            .build()
            .await
            .map_err(|e| failed("open", e))?;
        Ok(OutboxDb { db })
    }

    /// Every uplink kept for `session`, oldest first.
    pub async fn load(&self, session: &str) -> Result<Vec<Stored>, String> {
        let tx = self
            .db
            .transaction(&[STORE], TransactionMode::ReadOnly)
            .map_err(|e| failed("read", e))?;
        let store = tx.store(STORE).map_err(|e| failed("read", e))?;
        let range = KeyRange::bound(
            &JsValue::from_str(&format!("{session}:")),
            &JsValue::from_str(&format!("{session};")),
            Some(false),
            Some(true),
        )
        .map_err(|e| failed("read", e))?;
        let pairs = store
            .scan(Some(range), None, None, None)
            .await
            .map_err(|e| failed("read", e))?;
        let mut out = Vec::with_capacity(pairs.len());
        for (key, value) in pairs {
            let (Some(key), Some(text)) = (key.as_string(), value.as_string()) else {
                continue;
            };
            // A record this page cannot read is skipped, not fatal.
            if let Ok((topic, payload)) = serde_json::from_str::<(String, String)>(&text) {
                out.push(Stored {
                    key,
                    topic,
                    payload: Bytes::from(payload),
                });
            }
        }
        Ok(out)
    }

    /// Apply `ops` in order, in one transaction.
    pub async fn apply(&self, ops: &[DbOp]) -> Result<(), String> {
        if ops.is_empty() {
            return Ok(());
        }
        let tx = self
            .db
            .transaction(&[STORE], TransactionMode::ReadWrite)
            .map_err(|e| failed("write", e))?;
        let store = tx.store(STORE).map_err(|e| failed("write", e))?;
        for op in ops {
            match op {
                DbOp::Put {
                    key,
                    topic,
                    payload,
                } => {
                    let text = serde_json::to_string(&(topic, String::from_utf8_lossy(payload)))
                        .map_err(|e| failed("write", e))?;
                    store
                        .put(&JsValue::from_str(&text), Some(&JsValue::from_str(key)))
                        .await
                        .map_err(|e| failed("write", e))?;
                }
                DbOp::Delete { key } => store
                    .delete(JsValue::from_str(key))
                    .await
                    .map_err(|e| failed("write", e))?,
            }
        }
        tx.done().await.map_err(|e| failed("write", e))?;
        Ok(())
    }
}
