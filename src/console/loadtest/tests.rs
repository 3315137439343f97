//! The engine driven as the controller drives it: through a real
//! [`Gateway`](crate::core::gateway::Gateway) and the core's scriptable
//! broker (which acknowledges every publish), on a simulated clock; and
//! with a fake gateway where the broker's answers must be chosen.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::*;
use crate::core::gateway::client::tests::harness::Harness;
use crate::core::gateway::client::SentTelemetry;
use crate::core::gateway::model::DeviceState;
use crate::core::gateway::GatewayEvent;
use crate::core::mqtt::{Event, PublishId};
use crate::core::time::Millis;

const WALL0: u64 = 1_767_225_600_000;
const TELEMETRY: &str = "v1/gateway/telemetry";

/// What the controller sees of the gateway.
fn observe(h: &Harness, devices: &[String]) -> Observed {
    let registered = devices
        .iter()
        .filter(|d| {
            h.gw.model()
                .devices()
                .get(d)
                .is_some_and(|d| d.state == DeviceState::Connected)
        })
        .count();
    Observed {
        connected: h.gw.is_connected(),
        registered,
        outbox: h.gw.offline_len(),
        held_by_limits: h.gw.offline_len() > 0,
    }
}

/// Drive `tests` through the harness's gateway, 100 ms a tick, until no
/// run is left or `max_ms` passed.
fn drive(h: &mut Harness, tests: &mut LoadTests, max_ms: u64) {
    drive_in_slices(h, tests, max_ms, engine::MAX_PER_TICK);
}

/// [`drive`], with at most `max` messages per action: each 100 ms tick's
/// work is handed out in slices, as the controller does, until nothing
/// due is left.
fn drive_in_slices(h: &mut Harness, tests: &mut LoadTests, max_ms: u64, max: u64) {
    let start = h.now;
    while tests.is_active() && h.now.since(start) < max_ms {
        slice(h, tests, max);
        while tests.backlog(h.now) > 0 {
            slice(h, tests, max);
        }
        h.advance(100);
    }
}

/// One action of the engine, carried out through the harness's gateway.
fn slice(h: &mut Harness, tests: &mut LoadTests, max: u64) {
    {
        let devices = tests
            .current()
            .map(|(_, r)| r.plan().devices.clone())
            .unwrap_or_default();
        let wall = WALL0 + h.now.0;
        let seen = observe(h, &devices);
        match tests.tick_at_most(h.now, wall, seen, max) {
            Some(Action::Register {
                devices,
                device_type,
            }) => {
                for d in &devices {
                    h.gw.connect_device(h.now, d, device_type.as_deref())
                        .unwrap();
                }
            }
            Some(Action::Send(batch)) => match h.gw.send_telemetry_batch(h.now, &batch) {
                Ok(sent) => tests.on_sent(h.now, &sent),
                Err(e) => tests.on_send_failed(h.now, e.to_string()),
            },
            Some(Action::Remove(devices)) => {
                for d in &devices {
                    h.gw.remove_device(h.now, d).unwrap();
                }
            }
            None => {}
        }
        for event in h.take_events() {
            match event {
                GatewayEvent::Settled(Event::Acked(id)) => tests.on_acked(h.now, id),
                GatewayEvent::Settled(Event::Rejected {
                    id, explanation, ..
                }) => tests.on_rejected(h.now, id, &explanation),
                GatewayEvent::Settled(Event::AckTimedOut { id, .. }) => {
                    tests.on_timed_out(h.now, id)
                }
                _ => {}
            }
        }
    }
}

fn meters(devices: &str, every_ms: u64, stop: Stop) -> RunSettings {
    RunSettings {
        devices: devices.into(),
        rate: Rate::PerDevice { every_ms },
        stop,
        ..RunSettings::default()
    }
}

/// Every (device, ts) of every entry published on the telemetry topic.
fn published_entries(h: &mut Harness) -> Vec<(String, u64, Value)> {
    let mut out = Vec::new();
    for body in h.take_published_on(TELEMETRY) {
        for (device, entries) in body.as_object().unwrap() {
            for e in entries.as_array().unwrap() {
                out.push((
                    device.clone(),
                    e["ts"].as_u64().unwrap(),
                    e["values"].clone(),
                ));
            }
        }
    }
    out
}

#[test]
fn a_smart_meter_run_through_the_gateway_sends_every_message_once_and_counts_every_acknowledgement()
{
    let mut h = Harness::connected();
    h.take_events();
    let mut tests = LoadTests::default();
    tests.set_runs(vec![RunSettings {
        remove_devices: true,
        ..meters("Meter-{1..100}", 1_000, Stop::Duration { secs: 5 })
    }]);
    tests.start(&[0], h.now, 1).unwrap();
    drive(&mut h, &mut tests, 120_000);
    assert!(!tests.is_active());
    let report = &tests.reports()[0];
    let s = &report.summary;
    assert_eq!((s.name.as_str(), s.devices), ("SMART_METER", 100));
    assert_eq!(s.sent.messages, 500);
    assert_eq!(s.sent.points, 1_500);
    assert_eq!(s.acked, s.sent);
    assert_eq!(
        s.unanswered.points + s.rejected.points + s.timed_out.points,
        0
    );
    // Ten ticks a second, each one publish of ten devices' entries (the
    // first tick, at 0 ms, has only the first).
    assert_eq!(s.sent.publishes, 51);
    assert_eq!(s.latency_ms.samples, 51);
    assert!(
        (4_900..=5_200).contains(&s.duration_ms),
        "{}",
        s.duration_ms
    );
    assert!(
        (280.0..=310.0).contains(&s.points_per_second),
        "{}",
        s.points_per_second
    );
    let per_second: u64 = report.series.iter().map(|x| x.acked_points).sum();
    assert_eq!(per_second, 1_500);

    let entries = published_entries(&mut h);
    assert_eq!(entries.len(), 500);
    let distinct: HashSet<(String, u64)> =
        entries.iter().map(|(d, t, _)| (d.clone(), *t)).collect();
    assert_eq!(distinct.len(), 500, "no device has two entries at one time");
    let mut per_device: HashMap<&str, usize> = HashMap::new();
    for (d, _, values) in &entries {
        *per_device.entry(d).or_default() += 1;
        assert_eq!(values.as_object().unwrap().len(), 3);
    }
    assert_eq!(per_device.len(), 100);
    assert!(per_device.values().all(|&n| n == 5));
    // Removed at the end.
    assert!(h.gw.model().devices().get("Meter-1").is_none());
}

#[test]
fn a_run_handed_out_in_small_slices_sends_every_message_once_with_each_action_within_its_cap() {
    let mut h = Harness::connected();
    h.take_events();
    let mut tests = LoadTests::default();
    tests.set_runs(vec![meters(
        "Meter-{1..100}",
        100,
        Stop::Duration { secs: 2 },
    )]);
    tests.start(&[0], h.now, 1).unwrap();
    drive_in_slices(&mut h, &mut tests, 120_000, 7);
    assert!(!tests.is_active());
    let s = &tests.reports()[0].summary;
    // 100 devices × 10 a second × 2 s, whatever the slicing.
    assert_eq!(s.sent.messages, 2_000);
    assert_eq!(s.sent.points, 6_000);
    assert_eq!(s.acked, s.sent);
    // Each publish carries one slice: at most 7 entries.
    assert!(
        s.sent.publishes >= 2_000 / 7,
        "{} publishes",
        s.sent.publishes
    );
    let entries = published_entries(&mut h);
    let distinct: HashSet<(String, u64)> =
        entries.iter().map(|(d, ts, _)| (d.clone(), *ts)).collect();
    assert_eq!(distinct.len(), entries.len(), "a (device, ts) twice");
}

#[test]
fn the_backlog_is_what_is_due_and_not_handed_out() {
    let mut h = Harness::connected();
    h.take_events();
    let mut tests = LoadTests::default();
    tests.set_runs(vec![RunSettings {
        create_devices: false,
        ..meters("Meter-{1..100}", 100, Stop::Duration { secs: 10 })
    }]);
    tests.start(&[0], h.now, 1).unwrap();
    let seen = observe(&h, &[]);
    assert_eq!(tests.backlog(h.now), 0, "nothing due before sending");
    let wall = WALL0 + h.now.0;
    assert!(
        matches!(tests.tick_at_most(h.now, wall, seen, 1), Some(Action::Send(b)) if b.entries() == 1)
    );
    h.advance(500);
    // 1,000 messages a second: 501 due by 500 ms, 1 handed out.
    assert_eq!(tests.backlog(h.now), 500);
    let Some(Action::Send(batch)) = tests.tick_at_most(h.now, WALL0 + h.now.0, seen, 300) else {
        panic!("a batch")
    };
    assert_eq!(batch.entries(), 300);
    assert_eq!(tests.backlog(h.now), 200);
    tests.stop(h.now);
    assert_eq!(tests.backlog(h.now), 0, "nothing due once stopped");
}

#[test]
fn warm_up_messages_go_first_and_stay_out_of_the_figures_and_a_ramp_starts_slowly() {
    let mut h = Harness::connected();
    h.take_events();
    let mut tests = LoadTests::default();
    tests.set_runs(vec![RunSettings {
        warm_up: true,
        ramp_up_secs: 4,
        ..meters("M-{1..10}", 100, Stop::Count { messages: 400 })
    }]);
    tests.start(&[0], h.now, 2).unwrap();
    drive(&mut h, &mut tests, 60_000);
    let report = &tests.reports()[0];
    let s = &report.summary;
    assert_eq!(s.warm_up.unwrap().messages, 10);
    assert_eq!((s.sent.messages, s.acked.messages), (400, 400));
    // 100 a second at full rate: 200 during a 4 s ramp, then 2 more seconds.
    assert!(
        (5_800..=6_300).contains(&s.duration_ms),
        "{}",
        s.duration_ms
    );
    let first = report.series.iter().find(|x| x.sent_points > 0).unwrap();
    let busiest = report.series.iter().map(|x| x.sent_points).max().unwrap();
    assert!(
        first.sent_points * 3 < busiest,
        "{} then {busiest}",
        first.sent_points
    );
    assert_eq!(published_entries(&mut h).len(), 410);
}

#[test]
fn a_device_due_several_times_in_one_tick_sends_entries_with_distinct_times_in_one_publish() {
    let mut h = Harness::connected();
    h.take_events();
    let mut tests = LoadTests::default();
    tests.set_runs(vec![meters("Fast-{1..2}", 10, Stop::Duration { secs: 1 })]);
    tests.start(&[0], h.now, 3).unwrap();
    drive(&mut h, &mut tests, 10_000);
    let s = &tests.reports()[0].summary;
    assert_eq!((s.sent.messages, s.acked.messages), (200, 200));
    let entries = published_entries(&mut h);
    let distinct: HashSet<(String, u64)> =
        entries.iter().map(|(d, t, _)| (d.clone(), *t)).collect();
    assert_eq!(distinct.len(), 200);
}

#[test]
fn queued_runs_go_one_after_another_and_each_leaves_its_report() {
    let mut h = Harness::connected();
    h.take_events();
    let mut tests = LoadTests::default();
    tests.set_runs(vec![
        meters("A-{1..5}", 500, Stop::Count { messages: 20 }),
        RunSettings {
            name: "trackers".into(),
            template: Template::SmartTracker,
            ..meters("B-{1..5}", 500, Stop::Count { messages: 30 })
        },
    ]);
    tests.start(&[0, 1], h.now, 4).unwrap();
    assert_eq!(tests.queued(), 1);
    drive(&mut h, &mut tests, 60_000);
    let reports = tests.reports();
    assert_eq!(reports.len(), 2);
    assert_eq!(reports[0].summary.acked.points, 60);
    assert_eq!(reports[1].summary.name, "trackers");
    assert_eq!(reports[1].summary.acked.points, 150);
    assert!(reports[1].summary.started_at > reports[0].summary.started_at);
}

#[test]
fn a_bad_run_in_a_queue_starts_none() {
    let mut tests = LoadTests::default();
    tests.set_runs(vec![
        RunSettings::default(),
        RunSettings {
            devices: "X-{5..1}".into(),
            ..RunSettings::default()
        },
    ]);
    let err = tests.start(&[0, 1], Millis(0), 1).unwrap_err();
    assert!(err.starts_with("run 2 (SMART_METER): "), "{err}");
    assert!(!tests.is_active());
}

/// A gateway that takes each batch as one publish, ids from 1.
fn fake_send(
    run: &mut Run,
    now: Millis,
    action: Option<Action>,
    next_id: &mut u64,
) -> Vec<PublishId> {
    let Some(Action::Send(batch)) = action else {
        return vec![];
    };
    let (entries, points) = (batch.entries(), batch.points());
    *next_id += 1;
    let id = PublishId(*next_id);
    run.on_sent(
        now,
        &[SentTelemetry {
            id,
            entries,
            points,
        }],
    );
    vec![id]
}

#[test]
fn rejections_timeouts_refusals_waits_and_a_stop_are_counted_apart() {
    let settings = RunSettings {
        create_devices: false,
        drain_secs: 2,
        ..meters("R-{1..10}", 1_000, Stop::Duration { secs: 10 })
    };
    let mut run = Run::new(settings.plan().unwrap(), Millis(0), 5).unwrap();
    let seen = |held| Observed {
        connected: true,
        registered: 0,
        outbox: if held { 7 } else { 0 },
        held_by_limits: held,
    };
    let mut id = 0;
    // Not connected yet: nothing happens.
    assert_eq!(run.tick(Millis(0), WALL0, Observed::default()), None);
    let a = run.tick(Millis(100), WALL0, seen(false));
    let first = fake_send(&mut run, Millis(100), a, &mut id);
    run.on_rejected(Millis(150), first[0], "PUBACK 151: quota exceeded");
    let a = run.tick(Millis(200), WALL0, seen(true));
    let second = fake_send(&mut run, Millis(200), a, &mut id);
    run.on_timed_out(Millis(300), second[0]);
    let a = run.tick(Millis(300), WALL0, seen(true));
    assert!(matches!(a, Some(Action::Send(_))));
    run.on_send_failed(Millis(300), "the outbox is full".into());
    let a = run.tick(Millis(400), WALL0, seen(false));
    let fourth = fake_send(&mut run, Millis(400), a, &mut id);
    run.stop(Millis(450));
    assert_eq!(run.tick(Millis(500), WALL0, seen(false)), None);
    assert_eq!(run.phase(), Phase::Draining);
    run.on_acked(Millis(520), fourth[0]);
    // An acknowledgement that is not the run's changes nothing.
    assert!(!run.on_acked(Millis(520), PublishId(999)));
    assert_eq!(run.tick(Millis(600), WALL0, seen(false)), None);
    assert!(run.is_done());
    let s = run.summary(Millis(600));
    assert!(s.stopped);
    assert_eq!(s.sent.publishes, 3);
    assert_eq!(s.rejected.publishes, 1);
    assert_eq!(s.timed_out.publishes, 1);
    assert_eq!(s.acked.publishes, 1);
    assert_eq!(s.acked.points, 3);
    assert_eq!(s.latency_ms.p99, Some(120));
    assert_eq!(s.refused_messages, 1);
    assert_eq!(s.limit_wait_ms, 200);
    assert_eq!(s.max_outbox, 7);
    assert_eq!(s.last_error.as_deref(), Some("the outbox is full"));
    assert_eq!(s.duration_ms, 520 - 100);
}
