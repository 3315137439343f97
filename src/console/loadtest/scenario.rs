//! A scenario: the runs, the devices and the auto-reply rules, as a JSON
//! file to export and import, or as a link whose fragment carries it
//! (`#scenario=<base64url of the JSON>`: the fragment never leaves the
//! browser, so no server sees it).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};

use super::settings::RunSettings;
use crate::console::auto_reply::Rule;
use crate::console::workspace::SavedDevice;

/// What a scenario file says it is.
pub const FORMAT: &str = "browser-gateway/scenario";
/// The version written; files of a later version are refused.
pub const VERSION: u32 = 1;
/// The fragment's key.
pub const FRAGMENT_KEY: &str = "scenario=";

/// Runs, devices and rules that belong together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Scenario {
    /// Always [`FORMAT`].
    pub format: String,
    /// [`VERSION`] when written.
    pub version: u32,
    /// The runs, in queue order.
    #[serde(default)]
    pub runs: Vec<RunSettings>,
    /// The devices of the gateway.
    #[serde(default)]
    pub devices: Vec<SavedDevice>,
    /// The auto-reply rules.
    #[serde(default)]
    pub rules: Vec<Rule>,
}

impl Scenario {
    /// A scenario of these parts.
    pub fn new(runs: Vec<RunSettings>, devices: Vec<SavedDevice>, rules: Vec<Rule>) -> Scenario {
        Scenario {
            format: FORMAT.into(),
            version: VERSION,
            runs,
            devices,
            rules,
        }
    }

    /// The file's text: pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Read a scenario file; errors say what is wrong in words.
    pub fn from_json(text: &str) -> Result<Scenario, String> {
        let scenario: Scenario = serde_json::from_str(text.trim_start_matches('\u{feff}'))
            .map_err(|e| format!("this is not a scenario file: {e}"))?;
        if scenario.format != FORMAT {
            return Err(format!(
                "this file is a {:?}, not a {FORMAT}",
                scenario.format
            ));
        }
        if scenario.version > VERSION {
            return Err(format!(
                "this scenario is of version {}, newer than this page reads ({VERSION}): update the page",
                scenario.version
            ));
        }
        Ok(scenario)
    }

    /// The URL fragment that carries it (without the `#`).
    pub fn to_fragment(&self) -> String {
        let compact = serde_json::to_string(self).unwrap_or_default();
        format!("{FRAGMENT_KEY}{}", URL_SAFE_NO_PAD.encode(compact))
    }

    /// The scenario a URL fragment carries (`hash` with or without its
    /// `#`): `None` when it carries none, an error when it is damaged.
    pub fn from_fragment(hash: &str) -> Option<Result<Scenario, String>> {
        let hash = hash.strip_prefix('#').unwrap_or(hash);
        let encoded = hash
            .split('&')
            .find_map(|part| part.strip_prefix(FRAGMENT_KEY))?;
        let decoded = URL_SAFE_NO_PAD
            .decode(encoded.trim_end_matches('='))
            .map_err(|e| format!("the link's scenario is damaged ({e}); was it cut short?"));
        Some(decoded.and_then(|bytes| {
            let text = String::from_utf8(bytes)
                .map_err(|_| "the link's scenario is not text".to_string())?;
            Scenario::from_json(&text)
        }))
    }

    /// A one-line description: how many runs, devices and rules.
    pub fn describe(&self) -> String {
        format!(
            "{} run(s) ({}), {} device(s), {} auto-reply rule(s)",
            self.runs.len(),
            self.runs
                .iter()
                .map(RunSettings::title)
                .collect::<Vec<_>>()
                .join(", "),
            self.devices.len(),
            self.rules.len()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::auto_reply::Reply;
    use crate::console::loadtest::settings::{Rate, Stop};
    use crate::console::loadtest::template::Template;
    use serde_json::json;

    fn scenario() -> Scenario {
        Scenario::new(
            vec![
                RunSettings {
                    name: "meters".into(),
                    devices: "Meter-{1..1000}".into(),
                    rate: Rate::PerDevice { every_ms: 10_000 },
                    stop: Stop::Duration { secs: 60 },
                    ..RunSettings::default()
                },
                RunSettings {
                    template: Template::Custom {
                        json: r#"{"t": {"$random": [20, 30]}, "s": {"$choice": ["a", "b"]}}"#
                            .into(),
                    },
                    rate: Rate::Total { per_second: 50.0 },
                    stop: Stop::Count { messages: 500 },
                    ramp_up_secs: 10,
                    ..RunSettings::default()
                },
            ],
            vec![SavedDevice {
                name: "Pump 7".into(),
                device_type: Some("pump".into()),
                registered: true,
            }],
            vec![Rule {
                method: "getState".into(),
                device: None,
                reply: Reply::Fixed(json!({"on": true})),
                delay_ms: 100,
            }],
        )
    }

    #[test]
    fn a_scenario_survives_a_file_and_a_link() {
        let s = scenario();
        assert_eq!(Scenario::from_json(&s.to_json()).unwrap(), s);
        let fragment = s.to_fragment();
        assert!(fragment.starts_with("scenario="));
        assert!(fragment[FRAGMENT_KEY.len()..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_eq!(
            Scenario::from_fragment(&format!("#{fragment}")),
            Some(Ok(s.clone()))
        );
        assert_eq!(
            Scenario::from_fragment(&format!("x=1&{fragment}")),
            Some(Ok(s))
        );
        assert_eq!(Scenario::from_fragment("#other=1"), None);
        assert_eq!(Scenario::from_fragment(""), None);
    }

    #[test]
    fn damaged_or_foreign_files_and_links_say_why() {
        assert!(Scenario::from_json("{}")
            .unwrap_err()
            .contains("not a scenario file"));
        let foreign = r#"{"format": "x", "version": 1}"#;
        assert!(Scenario::from_json(foreign)
            .unwrap_err()
            .contains("not a browser-gateway/scenario"));
        let newer = r#"{"format": "browser-gateway/scenario", "version": 99}"#;
        assert!(Scenario::from_json(newer).unwrap_err().contains("newer"));
        let minimal = r#"{"format": "browser-gateway/scenario", "version": 1}"#;
        assert!(Scenario::from_json(minimal).unwrap().runs.is_empty());
        let cut = Scenario::from_fragment("#scenario=e30*")
            .unwrap()
            .unwrap_err();
        assert!(cut.contains("damaged"), "{cut}");
        assert!(scenario()
            .describe()
            .starts_with("2 run(s) (meters, CUSTOM), 1 device(s), 1 auto-reply rule(s)"));
    }
}
