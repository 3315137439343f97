//! Speed and memory of our MQTT session, measured as ratios against a peer
//! run side by side: rumqttc 0.25's `MqttState`, the state machine behind
//! rumqttc's event loop.
//!
//! Run it with `cargo run --release -p bench` (options: `--messages N`,
//! `--rounds R`). It prints a Markdown table to paste into the README.
//!
//! # Method
//!
//! Both sides run in the same process on the same inputs, built once and
//! deterministically before anything is measured (see [`workload`]):
//!
//! 1. **Incoming.** The broker's byte stream of N QoS 1 PUBLISH packets
//!    (topic `v1/gateway/rpc`, ~100-byte JSON payloads), cut into 16 KiB
//!    chunks as WebSocket messages would be (packets split across chunks).
//!    Ours: a connected `Session` gets `handle_data` per chunk, then its
//!    events are drained and `poll_transmit` takes the PUBACKs, as the
//!    browser shell does. Peer: each chunk is appended to a `BytesMut`,
//!    packets are read with rumqttc's `Packet::read` and handed to
//!    `MqttState::handle_incoming_packet`, the PUBACK each returns is written
//!    into a `BytesMut` flushed once per chunk, its `events` queue drained,
//!    as rumqttc's `Network::readb` does.
//! 2. **Outgoing.** N QoS 1 publishes in batches of 50 (the in-flight cap of
//!    both sides), each batch written in one go, then its 50 PUBACKs arrive in
//!    one chunk. Ours: `publish` ×50, drain events, `poll_transmit`,
//!    `handle_data(PUBACKs)`. Peer: `handle_outgoing_packet` ×50 with each
//!    packet written into a `BytesMut`, then the PUBACKs read as above.
//!
//! Every run counts the messages delivered (or acknowledged) and the bytes
//! written and checks them against the expected figures, so neither side can
//! skip work. Each side's events are consumed (the payload of a message or
//! the id of an ack is passed to [`std::hint::black_box`]).
//!
//! **Speed:** one untimed warm-up pass, then R rounds (default 5); every round
//! runs both scenarios on both sides, interleaved, alternating which side goes
//! first. Figures are the median messages/s over the rounds; the ratio is
//! ours/peer of the medians (above 1: we are faster), with the lowest and
//! highest per-round ratio beside it.
//!
//! **Memory:** a counting global allocator ([`alloc`]), switched on only for
//! one dedicated pass per side and scenario (the timed rounds do not pay for
//! the counting). It reports bytes allocated and allocation calls per message
//! and the peak of live bytes, including each side's own state and buffers
//! (created and dropped inside the pass) but not the shared inputs. The ratio
//! is ours/peer (below 1: we use less).
//!
//! # Caveats
//!
//! - The figures time the whole pass, state construction and connection
//!   included (microseconds against a pass of tens of milliseconds or more).
//! - The build profile is the workspace's `release`, tuned for the wasm
//!   bundle (`opt-level = "z"`, LTO, one codegen unit), and it applies to
//!   both sides; rumqttc would usually be built at `opt-level = 3`. The
//!   report prints the level it was built with; the ratio at another level
//!   can differ (`CARGO_PROFILE_RELEASE_OPT_LEVEL=3` measures that, best with
//!   a separate `CARGO_TARGET_DIR`).
//! - This is native code; the product runs as wasm32 in a browser, where
//!   absolute figures are lower and ratios may shift.
//! - The sides do not do exactly the same job. Ours also keeps a traffic-log
//!   event for every packet in and out (with topic and payload), validates
//!   topics, arms a PUBACK deadline per publish and re-arms the keepalive
//!   timer on each call; it hands out 16-bit packet ids in turn and copies
//!   the pending output into a fresh `Vec` per `poll_transmit` (one WebSocket
//!   message). rumqttc reads `Instant::now()` on every packet, clones each
//!   incoming packet into its event queue, keeps a copy of each outgoing
//!   publish for resending, recycles packet ids 1..=max_inflight, and has no
//!   PUBACK timeout (its event loop handles keepalive outside the state).
//!   rumqttc's `log` calls are compiled in but no logger is installed.
//! - The connection handshake of the peer (CONNECT/CONNACK) lives in its
//!   event loop, not in `MqttState`, and is not run; ours is run once per pass.
//! - Wall-clock timing on a shared machine: each round's rates are printed,
//!   and the table gives the range of the per-round ratios next to the
//!   ratio of the medians; treat differences within that range as noise.
//! - "Bytes allocated" counts a `realloc` as an allocation of its new size,
//!   so a buffer that grows by doubling counts about twice its final size.

mod alloc;
mod ours;
mod peer;
mod report;
mod tick;
mod workload;

use std::time::{Duration, Instant};

use alloc::{measure, Counting, Usage};
use report::{Figures, Row};
use workload::Workload;

/// Every allocation of the process goes through the counting allocator.
#[global_allocator]
static GLOBAL: Counting = Counting;

/// What a pass did: messages delivered or acknowledged, bytes written to the
/// transport. Checked against the expected figures after every pass.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    /// Messages delivered to the application (scenario 1) or acknowledged (scenario 2).
    pub messages: u64,
    /// Bytes the side wrote to its transport.
    pub bytes_out: u64,
}

/// One pass of one scenario on one side.
type Pass = fn(&Workload) -> Tally;

/// One scenario: its name, the pass of each side, and what each pass
/// must do.
struct Scenario {
    name: &'static str,
    /// What its rate counts ("messages", "data points").
    unit: &'static str,
    /// How many of `unit` one pass moves.
    count: u64,
    ours: Pass,
    peer: Pass,
    /// The tally every pass of each side must give; `None`: the first
    /// pass's, with `count` in its `messages` (bytes not known in advance).
    expected: [Option<Tally>; 2],
}

/// Command-line options.
struct Options {
    messages: usize,
    rounds: usize,
    ticks: u64,
}

fn options() -> Options {
    let mut options = Options {
        messages: 200_000,
        rounds: 5,
        ticks: 20,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| -> usize {
            let value = args.next().unwrap_or_default();
            value.replace('_', "").parse().unwrap_or_else(|_| {
                eprintln!("{name} needs a positive number, got {value:?}");
                std::process::exit(2);
            })
        };
        match arg.as_str() {
            "--messages" => options.messages = value("--messages").max(1),
            "--rounds" => options.rounds = value("--rounds").max(1),
            "--ticks" => options.ticks = value("--ticks").max(1) as u64,
            "-h" | "--help" => {
                println!("usage: bench [--messages N] [--rounds R] [--ticks T]  (defaults: 200000, 5, 20)");
                std::process::exit(0);
            }
            _ => {
                eprintln!("usage: bench [--messages N] [--rounds R] [--ticks T]  (defaults: 200000, 5, 20)");
                std::process::exit(2);
            }
        }
    }
    options
}

fn main() {
    let started = Instant::now();
    let options = options();
    let work = Workload::new(options.messages, options.ticks);
    let n = work.messages as u64;
    let publish_bytes: u64 = (0..work.messages)
        .map(|i| work.publish_size(i) as u64)
        .sum();
    let scenarios = [
        Scenario {
            name: "1. Incoming QoS 1 PUBLISH, PUBACK out",
            unit: "messages",
            count: n,
            ours: ours::incoming,
            peer: peer::incoming,
            expected: [Some(Tally {
                messages: n,
                bytes_out: 4 * n,
            }); 2],
        },
        Scenario {
            name: "2. Outgoing QoS 1 publish, PUBACK in",
            unit: "messages",
            count: n,
            ours: ours::outgoing,
            peer: peer::outgoing,
            expected: [Some(Tally {
                messages: n,
                bytes_out: publish_bytes,
            }); 2],
        },
        Scenario {
            name: "3. Load-test ticks, 1,000 devices × 80 keys, to bytes",
            unit: "data points",
            count: tick::points(work.ticks),
            ours: |w| tick::ours(w.ticks, false),
            peer: |w| tick::peer(w.ticks),
            expected: [None, None],
        },
        Scenario {
            name: "4. The same ticks, rate limits counted",
            unit: "data points",
            count: tick::points(work.ticks),
            ours: |w| tick::ours(w.ticks, true),
            peer: |w| tick::peer(w.ticks),
            expected: [None, None],
        },
    ];

    report::header(&work, options.rounds);

    // Warm-up, check, and the memory figures: one counted pass per side
    // (it also fixes what every later pass must give, where not known).
    let mut scenarios = scenarios;
    let usage: Vec<[Usage; 2]> = scenarios
        .iter_mut()
        .map(|scenario| {
            [0, 1].map(|side| {
                let pass = [scenario.ours, scenario.peer][side];
                let (tally, usage) = measure(|| pass(&work));
                let expected = scenario.expected[side].get_or_insert(Tally {
                    bytes_out: tally.bytes_out,
                    messages: scenario.count,
                });
                check(scenario.name, *expected, tally);
                usage
            })
        })
        .collect();

    // Timed rounds, interleaved, alternating which side goes first.
    let mut times: Vec<[Vec<Duration>; 2]> = vec![Default::default(); scenarios.len()];
    for round in 0..options.rounds {
        let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for (scenario, times) in scenarios.iter().zip(&mut times) {
            for side in order {
                let pass = [scenario.ours, scenario.peer][side];
                let start = Instant::now();
                let tally = pass(&work);
                times[side].push(start.elapsed());
                check(
                    scenario.name,
                    scenario.expected[side].unwrap_or_default(),
                    tally,
                );
            }
        }
        let names: Vec<(&str, u64)> = scenarios.iter().map(|s| (s.name, s.count)).collect();
        report::round(round, &names, &times);
    }

    let rows: Vec<Row> = scenarios
        .iter()
        .zip(&times)
        .zip(&usage)
        .map(|((scenario, times), usage)| Row {
            scenario: scenario.name,
            unit: scenario.unit,
            ours: Figures::new(&times[0], usage[0], scenario.count),
            peer: Figures::new(&times[1], usage[1], scenario.count),
        })
        .collect();
    report::table(&rows, options.rounds);
    println!();
    println!(
        "Whole run (inputs, memory passes, {} timed rounds): {:.1} s",
        options.rounds,
        started.elapsed().as_secs_f64()
    );
}

/// Panic unless a pass did all the work it should have.
fn check(name: &str, expected: Tally, tally: Tally) {
    assert_eq!(
        tally, expected,
        "{name}: the pass did not do the expected work"
    );
}
