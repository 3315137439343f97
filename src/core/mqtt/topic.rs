//! Which topics and filters MQTT 3.1.1 allows (§4.7).

use super::SessionError;

/// The longest UTF-8 string MQTT can carry (its length is a u16).
const MAX_STRING: usize = u16::MAX as usize;

/// Check a topic to publish on: not empty, no wildcards, not too long.
pub(crate) fn check_topic(topic: &str) -> Result<(), SessionError> {
    if topic.is_empty() {
        return Err(SessionError::InvalidTopic(
            "a topic cannot be empty".to_string(),
        ));
    }
    if topic.contains(['+', '#']) {
        return Err(SessionError::InvalidTopic(format!(
            "\"{topic}\": wildcards '+' and '#' are only allowed in subscriptions"
        )));
    }
    check_length(topic)
}

/// Check a subscription filter: not empty, '+' only as a whole level, '#'
/// only as the whole last level, not too long.
pub(crate) fn check_filter(filter: &str) -> Result<(), SessionError> {
    if filter.is_empty() {
        return Err(SessionError::InvalidTopic(
            "a filter cannot be empty".to_string(),
        ));
    }
    let levels: Vec<&str> = filter.split('/').collect();
    let last = levels.len() - 1;
    for (i, level) in levels.iter().enumerate() {
        if level.contains('+') && *level != "+" {
            return Err(SessionError::InvalidTopic(format!(
                "\"{filter}\": '+' must fill a whole level"
            )));
        }
        if level.contains('#') && (*level != "#" || i != last) {
            return Err(SessionError::InvalidTopic(format!(
                "\"{filter}\": '#' must be the whole last level"
            )));
        }
    }
    check_length(filter)
}

fn check_length(s: &str) -> Result<(), SessionError> {
    if s.len() > MAX_STRING {
        return Err(SessionError::InvalidTopic(format!(
            "{} bytes is longer than MQTT's {MAX_STRING}-byte limit",
            s.len()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_without_wildcards_are_accepted() {
        assert!(check_topic("v1/gateway/telemetry").is_ok());
        assert!(check_topic("/").is_ok());
    }

    #[test]
    fn empty_or_wildcard_topics_are_refused() {
        for topic in ["", "a/+", "a/#", "a+b"] {
            assert!(matches!(
                check_topic(topic),
                Err(SessionError::InvalidTopic(_))
            ));
        }
    }

    #[test]
    fn well_formed_filters_are_accepted() {
        for filter in ["a/b", "+", "#", "a/+/c", "a/#", "+/+/#"] {
            assert!(check_filter(filter).is_ok(), "{filter}");
        }
    }

    #[test]
    fn ill_formed_filters_are_refused() {
        for filter in ["", "a/b#", "a/#/c", "a+/b", "##"] {
            assert!(check_filter(filter).is_err(), "{filter}");
        }
    }
}
