//! The result of a run, as people compare runs: counts, latency,
//! throughput; exported as JSON (with the per-second series) or CSV.

use serde::Serialize;

use super::stats::{Latency, Second};

/// Messages (telemetry entries, one per device and time), data points and
/// MQTT publishes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    /// Telemetry entries (one device's values at one time).
    pub messages: u64,
    /// Key/value pairs over those entries.
    pub points: u64,
    /// MQTT publishes that carried them.
    pub publishes: u64,
}

impl Counts {
    /// Add one publish of `messages` entries and `points` data points.
    pub fn add(&mut self, messages: u64, points: u64) {
        self.messages += messages;
        self.points += points;
        self.publishes += 1;
    }
}

/// The end of a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// The run's name.
    pub name: String,
    /// Its template's label (SMART_METER…).
    pub template: String,
    /// How many devices.
    pub devices: usize,
    /// When sending started (ms since the epoch).
    pub started_at: u64,
    /// From the first message sent to the last acknowledgement (or the end
    /// of waiting for one), in ms.
    pub duration_ms: u64,
    /// Handed to the gateway.
    pub sent: Counts,
    /// Acknowledged by the server.
    pub acked: Counts,
    /// Refused by the server (error PUBACKs, after the gateway's retries).
    pub rejected: Counts,
    /// Never acknowledged within the session's PUBACK timeout.
    pub timed_out: Counts,
    /// Still without an answer when the run ended.
    pub unanswered: Counts,
    /// Entries the gateway refused to take (the error is in `lastError`).
    pub refused_messages: u64,
    /// PUBACK latency from hand-over to the gateway to acknowledgement.
    pub latency_ms: Latency,
    /// Acknowledged data points per second of `durationMs`.
    pub points_per_second: f64,
    /// Acknowledged messages per second of `durationMs`.
    pub messages_per_second: f64,
    /// Time the outbox held messages back for the session limits, in ms.
    pub limit_wait_ms: u64,
    /// The most messages seen waiting in the outbox.
    pub max_outbox: usize,
    /// The warm-up messages (not in the figures above), if there was one.
    pub warm_up: Option<Counts>,
    /// Whether a person stopped the run before its end.
    pub stopped: bool,
    /// The last error, in words.
    pub last_error: Option<String>,
}

/// A finished run: its summary and its seconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// The summary.
    pub summary: Summary,
    /// Every second of the run.
    pub series: Vec<Second>,
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// A CSV field, quoted when it needs to be.
fn field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// The columns of [`summaries_csv`].
const SUMMARY_COLUMNS: &str = "name,template,devices,startedAt,durationMs,sentMessages,sentPoints,sentPublishes,ackedMessages,ackedPoints,ackedPublishes,rejectedPoints,timedOutPoints,unansweredPoints,refusedMessages,latencyP50Ms,latencyP95Ms,latencyP99Ms,latencyMaxMs,latencyMeanMs,pointsPerSecond,messagesPerSecond,limitWaitMs,maxOutbox,stopped,lastError";

/// One row per run, to compare runs in a spreadsheet.
pub fn summaries_csv(summaries: &[&Summary]) -> String {
    let mut out = String::from(SUMMARY_COLUMNS);
    out.push('\n');
    for s in summaries {
        let l = &s.latency_ms;
        let row = [
            field(&s.name),
            field(&s.template),
            s.devices.to_string(),
            s.started_at.to_string(),
            s.duration_ms.to_string(),
            s.sent.messages.to_string(),
            s.sent.points.to_string(),
            s.sent.publishes.to_string(),
            s.acked.messages.to_string(),
            s.acked.points.to_string(),
            s.acked.publishes.to_string(),
            s.rejected.points.to_string(),
            s.timed_out.points.to_string(),
            s.unanswered.points.to_string(),
            s.refused_messages.to_string(),
            opt(l.p50),
            opt(l.p95),
            opt(l.p99),
            opt(l.max),
            opt(l.mean),
            format!("{:.1}", s.points_per_second),
            format!("{:.1}", s.messages_per_second),
            s.limit_wait_ms.to_string(),
            s.max_outbox.to_string(),
            s.stopped.to_string(),
            field(s.last_error.as_deref().unwrap_or("")),
        ];
        out.push_str(&row.join(","));
        out.push('\n');
    }
    out
}

/// One row per second of a run.
pub fn series_csv(series: &[Second]) -> String {
    let mut out = String::from(
        "second,sentPoints,ackedPoints,rejectedPoints,timedOutPoints,errors,outbox,limitWaitMs,latencyP50Ms,latencyP95Ms,latencyP99Ms\n",
    );
    for s in series {
        let l = &s.latency;
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{}\n",
            s.second,
            s.sent_points,
            s.acked_points,
            s.rejected_points,
            s.timed_out_points,
            s.errors,
            s.outbox,
            s.limit_wait_ms,
            opt(l.p50),
            opt(l.p95),
            opt(l.p99)
        ));
    }
    out
}

impl Report {
    /// The report as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_is_one_csv_row_under_its_header_with_awkward_names_quoted() {
        let s = Summary {
            name: "meters, \"big\"".into(),
            template: "SMART_METER".into(),
            devices: 2,
            sent: Counts {
                messages: 4,
                points: 12,
                publishes: 2,
            },
            latency_ms: Latency::of(&[3, 5]),
            points_per_second: 6.0,
            ..Summary::default()
        };
        let csv = summaries_csv(&[&s]);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 2);
        let header: Vec<&str> = lines[0].split(',').collect();
        assert!(lines[1].starts_with(r#""meters, ""big""",SMART_METER,2,"#));
        let at = |name: &str| header.iter().position(|h| *h == name).unwrap();
        // The quoted name holds one comma: skip its first half.
        let cells: Vec<&str> = lines[1].split(',').skip(1).collect();
        assert_eq!(cells[at("sentPoints")], "12");
        assert_eq!(cells[at("latencyP99Ms")], "5");
        assert_eq!(cells[at("pointsPerSecond")], "6.0");
    }

    #[test]
    fn a_report_is_json_with_camel_case_names_and_its_series() {
        let r = Report {
            summary: Summary::default(),
            series: vec![Second::default()],
        };
        let v: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(v["summary"]["sent"]["points"], 0);
        assert_eq!(v["series"][0]["ackedPoints"], 0);
        assert!(series_csv(&r.series).starts_with("second,sentPoints"));
        assert_eq!(series_csv(&r.series).lines().count(), 2);
    }
}
