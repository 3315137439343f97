//! The run going: its phase, counts, PUBACK latency, outbox, time held by
//! the limits, errors, and the last minute per second as sparklines.

use yew::prelude::*;

use super::sparkline::Sparkline;
use crate::console::loadtest::Phase;
use crate::console::slices::Slice;
use crate::shell::clock::now;
use crate::view::context::use_slices;

fn ms(v: Option<u32>) -> String {
    v.map(|v| format!("{v} ms")).unwrap_or_else(|| "–".into())
}

/// Live figures of the run going, if one is.
#[function_component(LiveResults)]
pub fn live_results() -> Html {
    let console = use_slices(&[Slice::LoadTest]);
    let tests = console.controller.loadtest();
    let Some((index, run)) = tests.current() else {
        return html! {};
    };
    let t = now();
    let p = run.progress(t);
    let s = run.summary(t);
    let recent = run.recent(60);
    let series = |f: fn(&crate::console::loadtest::stats::Second) -> u64| -> Vec<u64> {
        recent.iter().map(f).collect()
    };
    let connected = console.controller.gateway(|g| g.is_connected());
    let phase = if p.phase == Phase::Registering && !connected {
        "waiting for the connection".to_string()
    } else {
        p.phase.label().to_string()
    };
    html! {
        <section class="live-results" aria-label="Live results">
            <h3>{ format!("Run {}: {} — {phase}", index + 1, s.name) }</h3>
            if tests.queued() > 0 {
                <p>{ format!("{} more run(s) queued", tests.queued()) }</p>
            }
            <dl class="figures">
                <dt>{ "Sent" }</dt>
                <dd>{ format!("{} of {} messages · {} data points · {} publishes", p.sent.messages, p.total_messages, p.sent.points, p.sent.publishes) }</dd>
                <dt>{ "Acknowledged" }</dt>
                <dd>{ format!("{} messages · {} data points", p.acked.messages, p.acked.points) }</dd>
                <dt>{ "Waiting for PUBACK" }</dt>
                <dd>{ format!("{} publishes", p.unanswered) }</dd>
                <dt>{ "PUBACK latency p50 / p95 / p99" }</dt>
                <dd>{ format!("{} / {} / {}", ms(p.latency.p50), ms(p.latency.p95), ms(p.latency.p99)) }</dd>
                <dt>{ "Outbox" }</dt>
                <dd>{ format!("{} now · {} at most", recent.last().map(|x| x.outbox).unwrap_or(0), s.max_outbox) }</dd>
                <dt>{ "Held by the session limits" }</dt>
                <dd>{ format!("{:.1} s", s.limit_wait_ms as f64 / 1000.0) }</dd>
                <dt>{ "Rejected · timed out · refused" }</dt>
                <dd>{ format!("{} · {} · {} messages", s.rejected.messages, s.timed_out.messages, s.refused_messages) }</dd>
                <dt>{ "Elapsed" }</dt>
                <dd>{ format!("{:.1} s", p.elapsed_ms as f64 / 1000.0) }</dd>
            </dl>
            if let Some(problem) = p.last_error.clone() {
                <p class="form-error">{ format!("Last error: {problem}") }</p>
            }
            <Sparkline label="Data points sent per second" values={series(|x| x.sent_points)} />
            <Sparkline label="Data points acknowledged per second" values={series(|x| x.acked_points)} />
            <Sparkline label="Outbox depth" values={series(|x| x.outbox as u64)} />
            <Sparkline label="Ms held by limits per second" values={series(|x| x.limit_wait_ms)} />
            <Sparkline label="Errors and rejections per second" values={series(|x| x.errors + x.rejected_points + x.timed_out_points)} />
        </section>
    }
}
