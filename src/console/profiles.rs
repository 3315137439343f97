//! Connection profiles: what the connect form remembers between visits.
//!
//! A secret (access token or password) is kept only when the person ticks
//! "remember"; otherwise it is never written anywhere and is asked for again.

use serde::{Deserialize, Serialize};

/// How the gateway authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// ThingsBoard access token as the MQTT username.
    #[default]
    Token,
    /// MQTT basic: client id, username, password.
    Basic,
    /// No credentials (a plain broker).
    None,
}

/// The MQTT version a profile connects with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum MqttVersion {
    /// MQTT 5: reason codes in words, No Local (the default).
    #[default]
    #[serde(rename = "5")]
    V5,
    /// MQTT 3.1.1, for brokers and relays in front of servers without 5.
    #[serde(rename = "3.1.1")]
    V311,
}

/// One saved connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Profile {
    /// Name shown in the profile list; unique.
    pub name: String,
    /// ws:// or wss:// URL.
    pub url: String,
    /// Authentication mode.
    pub auth: AuthMode,
    /// MQTT client id ("" = generated).
    pub client_id: String,
    /// MQTT username (basic auth).
    pub username: String,
    /// Keepalive in seconds.
    pub keep_alive_secs: u16,
    /// WebSocket subprotocol.
    pub subprotocol: String,
    /// MQTT version.
    pub mqtt: MqttVersion,
    /// Whether the URL is a broker bridged to ThingsBoard (it sends our own
    /// publishes back under 3.1.1, and says when its bridge reconnects).
    pub bridged: bool,
    /// After how long without traffic ThingsBoard drops a sub-device from
    /// the gateway session, in seconds (its
    /// `transport.sessions.inactivity_timeout`, 600 by default); 0 when the
    /// gateway device has "overwrite activity time" (no keep-alives then).
    pub sub_device_expiry_secs: u32,
    /// Whether the secret is stored with the profile.
    pub remember_secret: bool,
    /// The access token or password; stored only with `remember_secret`.
    pub secret: String,
}

impl Default for Profile {
    fn default() -> Self {
        Profile {
            name: "local".into(),
            url: "ws://127.0.0.1:9001".into(),
            auth: AuthMode::Token,
            client_id: String::new(),
            username: String::new(),
            keep_alive_secs: 60,
            subprotocol: "mqtt".into(),
            mqtt: MqttVersion::V5,
            bridged: false,
            sub_device_expiry_secs: 600,
            remember_secret: false,
            secret: String::new(),
        }
    }
}

/// Every saved profile and which one was used last.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Profiles {
    /// Saved profiles, in the order they were created.
    pub list: Vec<Profile>,
    /// Name of the profile used last.
    pub last: Option<String>,
}

/// The storage key profiles live under.
pub const STORAGE_KEY: &str = "browser-gateway.profiles.v1";

impl Profiles {
    /// Read profiles stored as JSON; anything unreadable gives no profiles
    /// and a message saying why (never a panic).
    pub fn from_json(text: &str) -> (Profiles, Option<String>) {
        match serde_json::from_str::<Profiles>(text) {
            Ok(p) => (p, None),
            Err(e) => (
                Profiles::default(),
                Some(format!(
                    "saved profiles could not be read and were ignored: {e}"
                )),
            ),
        }
    }

    /// JSON to store, with every secret left out unless its profile says remember.
    pub fn to_json(&self) -> String {
        let mut safe = self.clone();
        for p in &mut safe.list {
            if !p.remember_secret {
                p.secret.clear();
            }
        }
        serde_json::to_string(&safe).unwrap_or_default()
    }

    /// Add or replace the profile with `profile.name`, and make it the last used.
    pub fn save(&mut self, profile: Profile) {
        self.last = Some(profile.name.clone());
        match self.list.iter_mut().find(|p| p.name == profile.name) {
            Some(existing) => *existing = profile,
            None => self.list.push(profile),
        }
    }

    /// Remove the profile named `name`.
    pub fn remove(&mut self, name: &str) {
        self.list.retain(|p| p.name != name);
        if self.last.as_deref() == Some(name) {
            self.last = None;
        }
    }

    /// The profile named `name`.
    pub fn get(&self, name: &str) -> Option<&Profile> {
        self.list.iter().find(|p| p.name == name)
    }

    /// The last used profile, if it still exists.
    pub fn last_used(&self) -> Option<&Profile> {
        self.last.as_deref().and_then(|n| self.get(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(name: &str, secret: &str, remember: bool) -> Profile {
        Profile {
            name: name.into(),
            secret: secret.into(),
            remember_secret: remember,
            ..Profile::default()
        }
    }

    #[test]
    fn a_secret_is_stored_only_when_the_person_asked_to_remember_it() {
        let mut profiles = Profiles::default();
        profiles.save(profile("kept", "TOKEN-A", true));
        profiles.save(profile("asked", "TOKEN-B", false));
        let json = profiles.to_json();
        assert!(json.contains("TOKEN-A"));
        assert!(!json.contains("TOKEN-B"));
        let (back, err) = Profiles::from_json(&json);
        assert_eq!(err, None);
        assert_eq!(back.get("kept").unwrap().secret, "TOKEN-A");
        assert_eq!(back.get("asked").unwrap().secret, "");
        assert_eq!(back.last_used().unwrap().name, "asked");
    }

    #[test]
    fn saving_a_profile_with_an_existing_name_replaces_it() {
        let mut profiles = Profiles::default();
        profiles.save(profile("a", "", false));
        let mut changed = profile("a", "", false);
        changed.url = "wss://example.org/mqtt".into();
        profiles.save(changed);
        assert_eq!(profiles.list.len(), 1);
        assert_eq!(profiles.list[0].url, "wss://example.org/mqtt");
        profiles.remove("a");
        assert!(profiles.list.is_empty() && profiles.last.is_none());
    }

    #[test]
    fn profiles_saved_before_mqtt_5_read_as_mqtt_5_direct_with_the_default_expiry() {
        let old = r#"{"list":[{"name":"a","url":"ws://x","auth":"token"}],"last":"a"}"#;
        let (profiles, err) = Profiles::from_json(old);
        assert_eq!(err, None);
        let p = profiles.get("a").unwrap();
        assert_eq!(
            (p.mqtt, p.bridged, p.sub_device_expiry_secs),
            (MqttVersion::V5, false, 600)
        );
        let json = profiles.to_json();
        assert!(json.contains(r#""mqtt":"5""#), "{json}");
    }

    #[test]
    fn unreadable_storage_gives_no_profiles_and_says_why() {
        let (profiles, err) = Profiles::from_json("{not json");
        assert!(profiles.list.is_empty());
        assert!(err.unwrap().contains("could not be read"));
    }
}
