//! Device names from a pattern: `Sensor-{1..500}` is Sensor-1 … Sensor-500.

/// The most names one pattern may produce.
pub const MAX_NAMES: usize = 10_000;

/// Expand `pattern`: one `{a..b}` range of whole numbers (a leading zero on
/// `a` pads every number to its width, as in `{001..120}`), or a plain name.
/// Errors say what is wrong in words.
pub fn expand(pattern: &str) -> Result<Vec<String>, String> {
    let pattern = pattern.trim();
    if pattern.is_empty() {
        return Err("enter a device name or a pattern such as Sensor-{1..500}".into());
    }
    let Some(open) = pattern.find('{') else {
        return Ok(vec![pattern.to_string()]);
    };
    let close = pattern[open..]
        .find('}')
        .map(|i| open + i)
        .ok_or_else(|| format!("\"{pattern}\": a '{{' without its '}}'"))?;
    let (prefix, range, suffix) = (
        &pattern[..open],
        &pattern[open + 1..close],
        &pattern[close + 1..],
    );
    if suffix.contains('{') {
        return Err(format!("\"{pattern}\": only one {{a..b}} range is allowed"));
    }
    let (a, b) = range
        .split_once("..")
        .ok_or_else(|| format!("\"{{{range}}}\" is not a range: write it as {{1..500}}"))?;
    let parse = |s: &str| {
        s.trim()
            .parse::<u64>()
            .map_err(|_| format!("\"{s}\" in {{{range}}} is not a whole number"))
    };
    let (from, to) = (parse(a)?, parse(b)?);
    if from > to {
        return Err(format!(
            "{{{range}}} counts down: the first number must not be larger"
        ));
    }
    let count = (to - from).saturating_add(1);
    if count > MAX_NAMES as u64 {
        return Err(format!(
            "{{{range}}} makes {count} names; at most {MAX_NAMES} at once"
        ));
    }
    let a = a.trim();
    let width = if a.len() > 1 && a.starts_with('0') {
        a.len()
    } else {
        0
    };
    Ok((from..=to)
        .map(|n| format!("{prefix}{n:0width$}{suffix}"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::expand;

    #[test]
    fn a_range_expands_to_every_number_in_it() {
        let names = expand("Sensor-{1..500}").unwrap();
        assert_eq!(names.len(), 500);
        assert_eq!(names[0], "Sensor-1");
        assert_eq!(names[499], "Sensor-500");
    }

    #[test]
    fn a_leading_zero_pads_and_a_suffix_is_kept() {
        assert_eq!(
            expand("P{08..10}-x").unwrap(),
            vec!["P08-x", "P09-x", "P10-x"]
        );
    }

    #[test]
    fn a_plain_name_is_one_device() {
        assert_eq!(expand("  Pump 7 ").unwrap(), vec!["Pump 7"]);
    }

    #[test]
    fn bad_patterns_say_what_is_wrong() {
        assert!(expand("").unwrap_err().contains("enter a device name"));
        assert!(expand("S-{1..").unwrap_err().contains("without its"));
        assert!(expand("S-{a..3}")
            .unwrap_err()
            .contains("not a whole number"));
        assert!(expand("S-{5..1}").unwrap_err().contains("counts down"));
        assert!(expand("S-{1-5}").unwrap_err().contains("not a range"));
        assert!(expand("S-{1..20000}")
            .unwrap_err()
            .contains("at most 10000"));
        assert!(expand("S-{1..2}-{1..2}").unwrap_err().contains("only one"));
    }
}
