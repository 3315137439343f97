//! Tabs of one browser agreeing on who holds a gateway session.
//!
//! ThingsBoard keeps one session per token: a second tab that connects with
//! the same profile evicts the first. So before connecting, a tab asks the
//! others (over a BroadcastChannel, in the shell) whether one of them holds
//! that session, and the person is told which tab does before anything is
//! evicted. Sessions are named by a hash of the URL and the credential, so
//! no token crosses the channel. Pure: the shell carries the messages.

use serde::{Deserialize, Serialize};

/// One message between tabs, as JSON on the channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum TabMessage {
    /// "Does a tab hold this session?"
    Who {
        /// The session asked about.
        key: String,
        /// The asking tab.
        from: String,
    },
    /// "I hold it, since then."
    Held {
        /// The session.
        key: String,
        /// The holding tab.
        from: String,
        /// Since when (ms since the epoch).
        since_ms: u64,
    },
    /// "I take it over: let go."
    Take {
        /// The session.
        key: String,
        /// The taking tab.
        from: String,
    },
}

/// What a tab must do about a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TabAction {
    /// Nothing.
    Nothing,
    /// Post this answer.
    Reply(TabMessage),
    /// Another tab holds the session this tab asked about.
    HeldElsewhere {
        /// Since when (ms since the epoch).
        since_ms: u64,
    },
    /// Another tab takes over the session this tab holds: disconnect.
    Yield,
}

/// The name of a gateway session: a hash (FNV-1a, 64 bits) of the URL and
/// the credential, never the credential itself.
pub fn session_key(url: &str, credential: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in url.bytes().chain([0]).chain(credential.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// This tab's side of the agreement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tabs {
    me: String,
    held: Option<(String, u64)>,
    asking: Option<String>,
}

impl Tabs {
    /// A tab named `me` (unique per tab) that holds nothing.
    pub fn new(me: impl Into<String>) -> Self {
        Tabs {
            me: me.into(),
            held: None,
            asking: None,
        }
    }

    /// Ask whether another tab holds `key`: the message to post.
    pub fn ask(&mut self, key: &str) -> TabMessage {
        self.asking = Some(key.to_string());
        TabMessage::Who {
            key: key.to_string(),
            from: self.me.clone(),
        }
    }

    /// Take `key` over from whichever tab holds it: the message to post.
    pub fn take(&mut self, key: &str) -> TabMessage {
        TabMessage::Take {
            key: key.to_string(),
            from: self.me.clone(),
        }
    }

    /// This tab now holds `key` (it connected at `since_ms`).
    pub fn hold(&mut self, key: &str, since_ms: u64) {
        self.asking = None;
        self.held = Some((key.to_string(), since_ms));
    }

    /// This tab let its session go.
    pub fn release(&mut self) {
        self.held = None;
        self.asking = None;
    }

    /// The session this tab holds.
    pub fn held(&self) -> Option<&str> {
        self.held.as_ref().map(|(key, _)| key.as_str())
    }

    /// What to do about `message` from another tab.
    pub fn on_message(&mut self, message: &TabMessage) -> TabAction {
        let holds = |key: &str| self.held.as_ref().is_some_and(|(k, _)| k == key);
        match message {
            TabMessage::Who { from, .. }
            | TabMessage::Take { from, .. }
            | TabMessage::Held { from, .. }
                if *from == self.me =>
            {
                TabAction::Nothing
            }
            TabMessage::Who { key, .. } if holds(key) => TabAction::Reply(TabMessage::Held {
                key: key.clone(),
                from: self.me.clone(),
                since_ms: self.held.as_ref().map_or(0, |(_, since)| *since),
            }),
            TabMessage::Held { key, since_ms, .. } if self.asking.as_deref() == Some(key) => {
                TabAction::HeldElsewhere {
                    since_ms: *since_ms,
                }
            }
            TabMessage::Take { key, .. } if holds(key) => {
                self.held = None;
                TabAction::Yield
            }
            _ => TabAction::Nothing,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_tab_learns_which_tab_holds_the_session_before_connecting() {
        let key = session_key("ws://127.0.0.1:9001", "TOKEN");
        let mut first = Tabs::new("tab-1");
        let mut second = Tabs::new("tab-2");
        first.hold(&key, 1_000);
        let who = second.ask(&key);
        let TabAction::Reply(held) = first.on_message(&who) else {
            panic!("the holder answers");
        };
        assert_eq!(
            second.on_message(&held),
            TabAction::HeldElsewhere { since_ms: 1_000 }
        );
        // Taking over makes the first tab let go.
        let take = second.take(&key);
        assert_eq!(first.on_message(&take), TabAction::Yield);
        assert_eq!(first.held(), None);
        second.hold(&key, 2_000);
        assert!(matches!(
            first.on_message(&first.clone().ask(&key)),
            TabAction::Nothing
        ));
    }

    #[test]
    fn other_sessions_and_own_echoes_are_ignored() {
        let mut tab = Tabs::new("tab-1");
        tab.hold(&session_key("ws://a", "T1"), 5);
        let other = session_key("ws://a", "T2");
        assert_eq!(
            tab.on_message(&TabMessage::Who {
                key: other.clone(),
                from: "tab-2".into()
            }),
            TabAction::Nothing
        );
        assert_eq!(
            tab.on_message(&TabMessage::Take {
                key: other,
                from: "tab-2".into()
            }),
            TabAction::Nothing
        );
        let own = tab.ask(&session_key("ws://a", "T1"));
        assert_eq!(tab.on_message(&own), TabAction::Nothing);
    }

    #[test]
    fn the_session_key_hides_the_credential_and_tells_sessions_apart() {
        let key = session_key("ws://127.0.0.1:9001", "SECRET-TOKEN");
        assert_eq!(key.len(), 16);
        assert!(!key.contains("SECRET"));
        assert_ne!(key, session_key("ws://127.0.0.1:9001", "OTHER"));
        assert_ne!(key, session_key("ws://127.0.0.1:9002", "SECRET-TOKEN"));
        let json = serde_json::to_string(&TabMessage::Who {
            key: key.clone(),
            from: "t".into(),
        })
        .unwrap();
        assert_eq!(
            json,
            format!(r#"{{"kind":"who","key":"{key}","from":"t"}}"#)
        );
    }
}
