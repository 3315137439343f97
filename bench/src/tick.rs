//! Scenario 3: load-test ticks through the gateway to bytes, the work the
//! page does on its main thread for every data point it sends at
//! 800,000 points/s (1,000 devices, a random walk of 80 keys, one message
//! per device every 100 ms; `bench/web/longtasks.mjs` runs the same in the
//! browser).
//!
//! Ours: the load-test engine ([`Run`]) generates each 100 ms tick (1,000
//! messages of 80 data points), `Gateway::send_telemetry_batch` encodes,
//! splits and publishes it, the session's bytes are taken with
//! `poll_transmit`, every PUBLISH is acknowledged and each acknowledgement
//! handed back to the run, as the controller does. Peer: the floor, the
//! same values from the same generator and seed (the run's own `Payloads`)
//! serialized once with `serde_json` as one `{"Dev": [{"ts", "values"}]}`
//! object, with nothing else: no gateway, no MQTT, no counting.
//!
//! Scenario 4 is scenario 3 with rate limits from `getSessionLimits` (far
//! above the run's rate): the gateway then also counts each message's
//! device entries and data points for its token buckets.

use std::hint::black_box;

use bytes::BytesMut;
use rumqttc::{Packet, PubAck, Publish, SubAck, SubscribeReasonCode};
use serde_json::{Map, Value};

use browser_gateway::console::loadtest::generator::Context;
use browser_gateway::console::loadtest::rng::Rng;
use browser_gateway::console::loadtest::{
    Action, Observed, Rate, Run, RunSettings, Stop, Template,
};
use browser_gateway::core::gateway::{Gateway, GatewayEvent};
use browser_gateway::core::mqtt::{ConnectOptions, Credentials, Event, Protocol};
use browser_gateway::core::time::Millis;

use crate::workload::{CONNACK, MAX_PACKET};
use crate::Tally;

/// Devices of the run.
pub const DEVICES: u64 = 1_000;
/// Keys of the random walk (data points per message).
pub const KEYS: u64 = 80;
/// Ms between two messages of one device.
const EVERY_MS: u64 = 100;
/// The seed of every run (the same values on both sides and every pass).
const SEED: u64 = 7;
/// The wall clock of the first tick.
const WALL0: u64 = 1_767_225_600_000;

/// The run's settings for `ticks` ticks.
fn settings(ticks: u64) -> RunSettings {
    RunSettings {
        devices: format!("Meter-{{1..{DEVICES}}}"),
        template: Template::RandomWalk {
            keys: (0..KEYS).map(|i| format!("k{i}")).collect(),
        },
        rate: Rate::PerDevice { every_ms: EVERY_MS },
        stop: Stop::Count {
            messages: ticks * DEVICES,
        },
        create_devices: true,
        ..RunSettings::default()
    }
}

/// Data points the run sends in `ticks` ticks.
pub fn points(ticks: u64) -> u64 {
    ticks * DEVICES * KEYS
}

/// What the broker answers `getSessionLimits` with in scenario 4: rate
/// limits far above what the run sends, so the gateway counts every
/// message for them (as against ThingsBoard with its default tenant
/// profile's limits) but never waits.
const LIMITS: &str = r#"{"maxPayloadSize": 65536, "maxInflightMessages": 100,
    "rateLimits": {"messages": "1000000000:1"},
    "gatewayRateLimits": {"messages": "1000000000:1", "telemetryMessages": "1000000000:1",
        "telemetryDataPoints": "100000000000:1"}}"#;

/// A scripted broker: it reads what the gateway wrote and answers SUBACK
/// and PUBACK at once, and `getSessionLimits` with [`LIMITS`] if `limits`.
struct Broker {
    rx: BytesMut,
    tx: BytesMut,
    written: u64,
    limits: bool,
}

impl Broker {
    /// Take everything the gateway wrote and write the broker's answers.
    fn exchange(&mut self, gw: &mut Gateway, now: Millis) {
        while let Some(bytes) = gw.poll_transmit() {
            self.written += bytes.len() as u64;
            self.rx.extend_from_slice(&bytes);
            loop {
                match Packet::read(&mut self.rx, MAX_PACKET * 2) {
                    Ok(Packet::Publish(p)) if p.pkid != 0 => {
                        black_box(&p.payload);
                        PubAck::new(p.pkid)
                            .write(&mut self.tx)
                            .expect("a PUBACK encodes");
                        let call = p.topic.strip_prefix("v1/devices/me/rpc/request/");
                        if let (true, Some(id)) = (self.limits, call) {
                            let topic = format!("v1/devices/me/rpc/response/{id}");
                            Publish::new(topic, rumqttc::QoS::AtMostOnce, LIMITS.as_bytes())
                                .write(&mut self.tx)
                                .expect("a PUBLISH encodes");
                        }
                    }
                    Ok(Packet::Subscribe(s)) => {
                        let codes = s
                            .filters
                            .iter()
                            .map(|_| SubscribeReasonCode::Success(rumqttc::QoS::AtLeastOnce))
                            .collect();
                        SubAck::new(s.pkid, codes)
                            .write(&mut self.tx)
                            .expect("a SUBACK encodes");
                    }
                    Ok(_) => {}
                    Err(rumqttc::Error::InsufficientBytes(_)) => break,
                    Err(e) => panic!("the gateway's stream does not decode: {e:?}"),
                }
            }
            if !self.tx.is_empty() {
                let answers = self.tx.split();
                gw.handle_data(now, &answers);
            }
        }
    }
}

/// Ours: the whole run, registration included, through a gateway that a
/// scripted broker acknowledges (and gives rate limits to count for, if
/// `limits`). Counts the data points acknowledged and the bytes written.
pub fn ours(ticks: u64, limits: bool) -> Tally {
    let mut options = ConnectOptions::new("bench", Credentials::AccessToken("token".into()));
    options.protocol = Protocol::V311;
    options.max_packet_size = MAX_PACKET;
    let mut gw = Gateway::new(options);
    let mut broker = Broker {
        rx: BytesMut::new(),
        tx: BytesMut::new(),
        written: 0,
        limits,
    };
    let mut now = Millis(1_000);
    gw.handle_open(now);
    broker.exchange(&mut gw, now);
    gw.handle_data(now, &CONNACK);
    broker.exchange(&mut gw, now);
    // Without an answer to getSessionLimits the gateway waits for it, then
    // sends without limits (as against mosquitto).
    now = now.after_ms(browser_gateway::core::gateway::limits::LIMITS_WAIT_MS);
    gw.handle_timeout(now);
    broker.exchange(&mut gw, now);
    assert_eq!(gw.session_limits().is_some(), limits);

    let plan = settings(ticks).plan().expect("the settings are valid");
    let devices = plan.devices.clone();
    let mut run = Run::new(plan, now, SEED).expect("the template compiles");
    let mut rounds = 0;
    while !run.is_done() {
        rounds += 1;
        assert!(rounds < 100_000, "the run does not finish");
        let registered = devices
            .iter()
            .filter(|d| gw.model().devices().get(d).is_some())
            .count();
        let seen = Observed {
            connected: gw.is_connected(),
            registered,
            outbox: gw.offline_len(),
            held_by_limits: false,
        };
        match run.tick(now, WALL0 + now.0, seen) {
            Some(Action::Register {
                devices,
                device_type,
            }) => {
                for d in &devices {
                    gw.connect_device(now, d, device_type.as_deref())
                        .expect("the device registers");
                }
            }
            Some(Action::Send(batch)) => {
                let sent = gw
                    .send_telemetry_batch(now, &batch)
                    .expect("the batch is sent");
                run.on_sent(now, &sent);
            }
            Some(Action::Remove(_)) => {}
            None => now = now.after_ms(EVERY_MS),
        }
        broker.exchange(&mut gw, now);
        while let Some(event) = gw.poll_event() {
            if let GatewayEvent::Settled(Event::Acked(id)) = event {
                run.on_acked(now, id);
            }
        }
    }
    Tally {
        messages: run.progress(now).acked.points,
        bytes_out: broker.written,
    }
}

/// The peer: the same values, serialized once with `serde_json`, tick by
/// tick. Counts the data points and the JSON bytes.
pub fn peer(ticks: u64) -> Tally {
    let plan = settings(ticks).plan().expect("the settings are valid");
    let mut payloads = plan
        .settings
        .template
        .compile(plan.devices.len())
        .expect("the template compiles");
    let mut rng = Rng::new(SEED);
    let mut tally = Tally::default();
    let mut out = Vec::new();
    for tick in 0..ticks {
        let mut body = Map::new();
        for (i, device) in plan.devices.iter().enumerate() {
            let ts = WALL0 + tick * EVERY_MS;
            let ctx = Context {
                device,
                n: tick,
                ts,
            };
            let values = payloads.next(i, &ctx, &mut rng);
            tally.messages += values.len() as u64;
            let mut entry = Map::new();
            entry.insert("ts".into(), Value::from(ts));
            entry.insert("values".into(), Value::Object(values));
            let entry = Value::Object(entry);
            body.insert(device.clone(), Value::Array(vec![entry]));
        }
        out.clear();
        serde_json::to_writer(&mut out, &body).expect("a Value serializes");
        tally.bytes_out += out.len() as u64;
        black_box(&out);
    }
    tally
}
