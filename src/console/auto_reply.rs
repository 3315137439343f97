//! Auto-reply rules: answer RPCs by method without a person, so a simulated
//! device keeps answering while nobody watches.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What a rule answers with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Reply {
    /// This JSON, always.
    Fixed(Value),
    /// The request's params, as they came.
    EchoParams,
}

/// One rule: RPCs with `method` (to `device`, or to any device) get `reply`
/// after `delay_ms`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    /// Method name, or `*` for any method.
    pub method: String,
    /// Only this device (`None`: every device).
    pub device: Option<String>,
    /// The answer.
    pub reply: Reply,
    /// Wait this long before answering, in ms (under the server's 10 s timeout
    /// to be useful).
    pub delay_ms: u64,
}

impl Rule {
    /// The reply data for a request with `params`.
    pub fn answer(&self, params: &Value) -> Value {
        match &self.reply {
            Reply::Fixed(v) => v.clone(),
            Reply::EchoParams => params.clone(),
        }
    }

    fn matches(&self, device: &str, method: &str) -> bool {
        (self.method == "*" || self.method == method)
            && self.device.as_deref().is_none_or(|d| d == device)
    }
}

/// The rules in force, first match wins; device-specific rules are checked
/// before rules for every device.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AutoReplies {
    rules: Vec<Rule>,
}

impl AutoReplies {
    /// Add a rule, replacing one with the same method and device.
    pub fn add(&mut self, rule: Rule) {
        self.rules
            .retain(|r| !(r.method == rule.method && r.device == rule.device));
        self.rules.push(rule);
    }

    /// Remove the rule at `index` (in [`AutoReplies::rules`] order).
    pub fn remove(&mut self, index: usize) {
        if index < self.rules.len() {
            self.rules.remove(index);
        }
    }

    /// Every rule, in the order they were added.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The rule that answers `method` on `device`, if any.
    pub fn find(&self, device: &str, method: &str) -> Option<&Rule> {
        self.rules
            .iter()
            .filter(|r| r.device.is_some())
            .chain(self.rules.iter().filter(|r| r.device.is_none()))
            .find(|r| r.matches(device, method))
    }
}

/// Parse the JSON a person typed for a reply, with a readable error.
pub fn parse_reply_json(text: &str) -> Result<Value, String> {
    serde_json::from_str(text.trim()).map_err(|e| format!("not valid JSON: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(method: &str, device: Option<&str>, reply: Reply) -> Rule {
        Rule {
            method: method.into(),
            device: device.map(str::to_string),
            reply,
            delay_ms: 0,
        }
    }

    #[test]
    fn a_rule_answers_its_method_with_fixed_json_or_the_params() {
        let mut rules = AutoReplies::default();
        rules.add(rule("getState", None, Reply::Fixed(json!({"on": true}))));
        rules.add(rule("setSpeed", None, Reply::EchoParams));
        let r = rules.find("Pump", "getState").unwrap();
        assert_eq!(r.answer(&json!(null)), json!({"on": true}));
        let r = rules.find("Pump", "setSpeed").unwrap();
        assert_eq!(r.answer(&json!({"rpm": 5})), json!({"rpm": 5}));
        assert!(rules.find("Pump", "reboot").is_none());
    }

    #[test]
    fn a_device_rule_wins_over_a_rule_for_every_device_and_star_matches_any_method() {
        let mut rules = AutoReplies::default();
        rules.add(rule("*", None, Reply::Fixed(json!("any"))));
        rules.add(rule("get", Some("A"), Reply::Fixed(json!("mine"))));
        assert_eq!(
            rules.find("A", "get").unwrap().answer(&json!(null)),
            json!("mine")
        );
        assert_eq!(
            rules.find("B", "get").unwrap().answer(&json!(null)),
            json!("any")
        );
    }

    #[test]
    fn adding_a_rule_for_the_same_method_and_device_replaces_it() {
        let mut rules = AutoReplies::default();
        rules.add(rule("m", None, Reply::Fixed(json!(1))));
        rules.add(rule("m", None, Reply::Fixed(json!(2))));
        assert_eq!(rules.rules().len(), 1);
        rules.remove(0);
        assert!(rules.rules().is_empty());
    }

    #[test]
    fn typed_reply_json_is_validated() {
        assert_eq!(
            parse_reply_json(" {\"ok\":true} ").unwrap(),
            json!({"ok": true})
        );
        assert!(parse_reply_json("{ok}")
            .unwrap_err()
            .starts_with("not valid JSON"));
    }
}
