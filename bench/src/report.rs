//! Turning times and allocation counts into the printed report: the
//! conditions, one line per round, and the Markdown table.

use std::time::Duration;

use crate::alloc::Usage;
use crate::workload::{Workload, ACK_BATCH, CHUNK, MAX_INFLIGHT};

/// One side's figures for one scenario.
#[derive(Debug, Clone)]
pub struct Figures {
    /// Messages (or the scenario's unit) per second in each round, in round order.
    pub rates: Vec<f64>,
    /// Median of `rates`.
    pub rate: f64,
    /// What the counted pass allocated.
    pub usage: Usage,
    /// Messages (or the scenario's unit) per pass.
    pub messages: u64,
}

impl Figures {
    /// Figures from each round's time for `messages` messages and the counted pass.
    pub fn new(times: &[Duration], usage: Usage, messages: u64) -> Figures {
        let rates: Vec<f64> = times.iter().map(|t| rate(messages, *t)).collect();
        Figures {
            rate: median(&rates),
            rates,
            usage,
            messages,
        }
    }

    fn bytes_per_message(&self) -> f64 {
        self.usage.allocated as f64 / self.messages as f64
    }

    fn calls_per_message(&self) -> f64 {
        self.usage.calls as f64 / self.messages as f64
    }
}

/// One scenario's figures for both sides.
#[derive(Debug, Clone)]
pub struct Row {
    /// The scenario's name.
    pub scenario: &'static str,
    /// What its rate counts.
    pub unit: &'static str,
    /// Our session's figures.
    pub ours: Figures,
    /// rumqttc's figures.
    pub peer: Figures,
}

/// The median of `values` (the mean of the middle two for an even count).
fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    }
}

fn rate(messages: u64, time: Duration) -> f64 {
    messages as f64 / time.as_secs_f64()
}

/// Print what is being measured and with which build.
pub fn header(work: &Workload, rounds: usize) {
    let payload_bytes: usize = work.payloads.iter().map(|p| p.len()).sum();
    println!(
        "# browser-gateway MQTT session vs rumqttc 0.25 MqttState; load-test ticks vs serde_json"
    );
    println!();
    println!(
        "{} messages per pass, topic `{}`, payloads {:.0} bytes on average, \
         incoming stream {:.1} MiB in {} KiB chunks; outgoing in batches of {} \
         (in-flight cap {}); {} timed rounds.",
        work.messages,
        crate::workload::TOPIC,
        payload_bytes as f64 / work.messages as f64,
        work.incoming.len() as f64 / (1024.0 * 1024.0),
        CHUNK / 1024,
        ACK_BATCH,
        MAX_INFLIGHT,
        rounds,
    );
    println!(
        "Scenario 3: {} load-test ticks of {} devices × {} keys ({} data points) per pass; \
         the peer is serde_json alone writing the same values once.",
        work.ticks,
        crate::tick::DEVICES,
        crate::tick::KEYS,
        crate::tick::points(work.ticks),
    );
    println!(
        "Build: profile {}, opt-level {}, debuginfo {}; {} {}; CPU: {}.",
        env!("BENCH_PROFILE"),
        env!("BENCH_OPT_LEVEL"),
        env!("BENCH_DEBUG"),
        std::env::consts::OS,
        std::env::consts::ARCH,
        cpu_model(),
    );
    if cfg!(debug_assertions) {
        println!("WARNING: built with debug assertions; use `cargo run --release -p bench`.");
    }
    println!();
}

/// Print one round's rates (`names`: each scenario's name and count per pass).
pub fn round(round: usize, names: &[(&str, u64)], times: &[[Vec<Duration>; 2]]) {
    let mut line = format!("round {}:", round + 1);
    for ((name, messages), [ours, peer]) in names.iter().zip(times) {
        let messages = *messages;
        let (Some(ours), Some(peer)) = (ours.last(), peer.last()) else {
            continue;
        };
        let (ours, peer) = (rate(messages, *ours), rate(messages, *peer));
        let short = name.split_once(' ').map_or(*name, |(number, _)| number);
        line += &format!(
            "  {short} ours {} peer {} ratio {:.2};",
            millions(ours),
            millions(peer),
            ours / peer
        );
    }
    println!("{}", line.trim_end_matches(';'));
}

/// Print the results as a Markdown table.
pub fn table(rows: &[Row], rounds: usize) {
    println!();
    println!("| Scenario | Measure | ours | peer (rumqttc 0.25) | ours/peer |");
    println!("|---|---|--:|--:|--:|");
    for row in rows {
        let (ours, peer) = (&row.ours, &row.peer);
        let ratios: Vec<f64> = ours
            .rates
            .iter()
            .zip(&peer.rates)
            .map(|(o, p)| o / p)
            .collect();
        let lowest = ratios.iter().copied().fold(f64::INFINITY, f64::min);
        let highest = ratios.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        println!(
            "| {} | {}/s, median of {rounds} round{} | {} | {} | {:.2} (rounds {:.2}–{:.2}) |",
            row.scenario,
            row.unit,
            if rounds == 1 { "" } else { "s" },
            millions(ours.rate),
            millions(peer.rate),
            ours.rate / peer.rate,
            lowest,
            highest,
        );
        println!(
            "| | bytes allocated / {} | {:.0} | {:.0} | {:.2} |",
            singular(row.unit),
            ours.bytes_per_message(),
            peer.bytes_per_message(),
            ours.bytes_per_message() / peer.bytes_per_message(),
        );
        println!(
            "| | allocations / {} | {:.2} | {:.2} | {:.2} |",
            singular(row.unit),
            ours.calls_per_message(),
            peer.calls_per_message(),
            ours.calls_per_message() / peer.calls_per_message(),
        );
        println!(
            "| | peak live bytes | {} | {} | {:.2} |",
            kib(ours.usage.peak_live),
            kib(peer.usage.peak_live),
            ours.usage.peak_live as f64 / peer.usage.peak_live as f64,
        );
    }
    println!();
    println!(
        "Throughput: above 1 we are faster. Memory: below 1 we use less. \
         Bytes still live after a pass (0 = all freed): {}.",
        rows.iter()
            .map(|row| format!(
                "{} ours {} peer {}",
                row.scenario
                    .split_once(' ')
                    .map_or(row.scenario, |(n, _)| n),
                row.ours.usage.live_after,
                row.peer.usage.live_after
            ))
            .collect::<Vec<_>>()
            .join(", ")
    );
}

/// "messages" → "message", "data points" → "data point".
fn singular(unit: &str) -> &str {
    unit.strip_suffix('s').unwrap_or(unit)
}

fn millions(rate: f64) -> String {
    format!("{:.2} M", rate / 1e6)
}

fn kib(bytes: isize) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}

/// The CPU's model name, where Linux tells it.
fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split_once(':'))
                .map(|(_, model)| model.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}
