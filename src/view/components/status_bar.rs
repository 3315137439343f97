//! The connection status, always visible: every state named, with the reason
//! for the last failure and the message counters.
//!
//! Screen readers hear changes of state, not the clock: the state and its
//! reason are a live region (`role="status"`), while the reconnect countdown
//! and the counters, which change every second, are outside it.

use yew::prelude::*;

use crate::console::slices::Slice;
use crate::shell::clock::now;
use crate::shell::link::LinkStatus;
use crate::view::context::use_slices;

/// The status line at the top of the page.
#[function_component(StatusBar)]
pub fn status_bar() -> Html {
    let console = use_slices(&[Slice::Status]);
    let controller = console.controller.clone();
    let status = controller.status();
    // Re-render every second while a countdown or the rates are on screen.
    let tick = use_state(|| 0u32);
    {
        let tick = tick.clone();
        use_effect_with((), move |_| {
            let interval =
                gloo::timers::callback::Interval::new(1_000, move || tick.set(*tick + 1));
            move || drop(interval)
        });
    }
    let t = now();
    let (per_in, per_out, total_in, total_out, errors, echoes, last_error) = {
        let store = controller.store();
        (
            store.rate_in.per_second(t),
            store.rate_out.per_second(t),
            store.rate_in.total(),
            store.rate_out.total(),
            store.errors,
            store.echoes,
            store.last_error.clone(),
        )
    };
    // What waits in the outbox (offline, for the session limits, or for
    // room in a rate limit), and how near the nearest rate limit is.
    let dropped = controller.gateway(|g| g.outbox_dropped());
    let (held, held_bytes, awaiting_limits, (own_usage, gateway_usage)) = controller.gateway(|g| {
        (
            g.offline_len(),
            g.offline_bytes(),
            g.awaiting_limits(),
            g.limit_usage(t),
        )
    });
    let usage = own_usage.into_iter().chain(gateway_usage).reduce(f64::max);
    // The countdown, shown beside the state but not announced.
    let mut countdown = None;
    let (class, text, actions) = match &status {
        LinkStatus::Idle => ("idle", "Not connected".to_string(), html! {}),
        LinkStatus::Connecting => ("connecting", "Connecting…".to_string(), html! {}),
        LinkStatus::Connected => ("connected", "Connected".to_string(), html! {}),
        LinkStatus::Reconnecting { at, attempt, error } => {
            let secs = at.since(t).div_ceil(1000);
            let why = last_error.clone().unwrap_or_else(|| error.clone());
            let cancel = {
                let c = controller.clone();
                Callback::from(move |_| c.cancel_reconnect())
            };
            let retry = {
                let c = controller.clone();
                Callback::from(move |_| c.reconnect_now())
            };
            countdown = Some(format!("next try in {secs} s"));
            (
                "reconnecting",
                format!("Reconnecting (attempt {attempt}): {why}"),
                html! {
                    <>
                        <button type="button" onclick={retry}>{ "Retry now" }</button>
                        <button type="button" onclick={cancel}>{ "Cancel reconnect" }</button>
                    </>
                },
            )
        }
        LinkStatus::TakenOver { error } => {
            let take_over = {
                let c = controller.clone();
                Callback::from(move |_| c.take_over())
            };
            (
                "failed",
                format!("Taken over: {error}"),
                html! {
                    <button type="button" onclick={take_over}
                        title="Connect again: the other client holding this gateway's token will be disconnected">
                        { "Take over" }
                    </button>
                },
            )
        }
        LinkStatus::Closed { error: None } => ("closed", "Disconnected".to_string(), html! {}),
        LinkStatus::Closed { error: Some(error) } => {
            let why = last_error.clone().unwrap_or_else(|| error.clone());
            ("failed", format!("Closed: {why}"), html! {})
        }
    };
    html! {
        <div class="status-bar">
            <span class={classes!("status", class)} role="status" aria-label="Connection status">{ text }</span>
            if let Some(countdown) = countdown {
                <span class="countdown" role="timer" aria-label="Reconnect countdown">{ countdown }</span>
            }
            { actions }
            <span class="counters" aria-label="Message counters">
                { format!("in {per_in}/s ({total_in}) · out {per_out}/s ({total_out}) · errors {errors}") }
                if held > 0 {
                    <span title="messages waiting to be sent: while offline, until the server's session limits are known, or for room in a rate limit">
                        { format!(" · waiting {held} ({} KiB){}", held_bytes.div_ceil(1024), if awaiting_limits { ", for the session limits" } else { "" }) }
                    </span>
                }
                if dropped > 0 {
                    <span title="messages the full outbox dropped, oldest first, to make room for the newest">
                        { format!(" · dropped {dropped} (outbox full)") }
                    </span>
                }
                if let Some(usage) = usage {
                    <span title="how near the nearest of the server's rate limits is (the gateway keeps to 80 % of each)">
                        { format!(" · rate limit {:.0} %", usage * 100.0) }
                    </span>
                }
                if echoes > 0 {
                    <span title="our own publishes that a bridged broker sent back, recognised and ignored">
                        { format!(" · own echoes ignored {echoes}") }
                    </span>
                }
            </span>
        </div>
    }
}
