//! The traffic log: every packet in and out, newest first, filterable (any
//! case, by topic or payload, and by direction), pausable, capped,
//! virtualized. The filter's matches are indexed in the store as packets
//! arrive (`console::log_filter`), so a frame never rescans the log.

use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use super::virtual_list::VirtualList;
use crate::console::log_filter::{DirectionFilter, LogQuery};
use crate::console::slices::Slice;
use crate::console::store::LogEntry;
use crate::core::mqtt::Direction;
use crate::view::context::use_slices;
use crate::view::format::{clock_time, payload_preview, pretty_payload};

const ROW_HEIGHT: u32 = 24;

/// The traffic log panel.
#[function_component(TrafficLog)]
pub fn traffic_log() -> Html {
    let console = use_slices(&[Slice::Log]);
    let controller = console.controller.clone();
    let selected = use_state(|| None::<u64>);

    // The matching packets are indexed in the store as they arrive; a
    // render only reads how many there are, and rows fetch theirs.
    let store = controller.store();
    let query = store.log_index.query().clone();
    let shown = store.log_index.len();
    let paused = store.log_paused;
    let dropped = store.log.dropped();
    let kept = store.log.len();
    drop(store);

    let on_topic = {
        let c = controller.clone();
        Callback::from(move |e: InputEvent| {
            let text = e.target_unchecked_into::<HtmlInputElement>().value();
            let mut store = c.store_mut();
            let direction = store.log_index.query().direction;
            store.set_log_query(LogQuery { text, direction });
            drop(store);
            c.request_render();
        })
    };
    let on_direction = {
        let c = controller.clone();
        Callback::from(move |e: Event| {
            let value = e.target_unchecked_into::<HtmlSelectElement>().value();
            let mut store = c.store_mut();
            let text = store.log_index.query().text.clone();
            store.set_log_query(LogQuery {
                text,
                direction: DirectionFilter::from_value(&value),
            });
            drop(store);
            c.request_render();
        })
    };
    let on_pause = {
        let c = controller.clone();
        Callback::from(move |_| {
            let mut store = c.store_mut();
            store.log_paused = !store.log_paused;
            drop(store);
            c.request_render();
        })
    };
    let on_clear = {
        let c = controller.clone();
        let selected = selected.clone();
        Callback::from(move |_| {
            c.store_mut().clear_log();
            selected.set(None);
            c.request_render();
        })
    };
    let row = {
        let selected = selected.clone();
        let controller = controller.clone();
        Callback::from(move |i: usize| {
            let store = controller.store();
            let Some(e) = store
                .log_index
                .newest_first(i, &store.log)
                .and_then(|at| store.log.get(at))
            else {
                return html! {};
            };
            let seq = e.seq;
            let onclick = {
                let selected = selected.clone();
                Callback::from(move |_| selected.set(Some(seq)))
            };
            let arrow = if e.packet.direction == Direction::In {
                "⬇ in"
            } else {
                "⬆ out"
            };
            html! {
                <button type="button" class={classes!("log-row", if *selected == Some(seq) { "selected" } else { "" })}
                    {onclick} aria-label={format!("{} {} {}", arrow, e.packet.kind, e.packet.topic)}>
                    <span class="log-time">{ clock_time(e.time_ms) }</span>
                    <span class={classes!("log-dir", if e.packet.direction == Direction::In { "in" } else { "out" })}>{ arrow }</span>
                    <span class="log-kind">{ e.packet.kind }</span>
                    <span class="log-topic">{ e.packet.topic.clone() }</span>
                    <span class="log-meta">{ meta(e) }</span>
                    <span class="log-payload">{ payload_preview(&e.packet.payload, 160) }</span>
                </button>
            }
        })
    };
    let detail = (*selected).and_then(|seq| {
        controller
            .store()
            .log
            .iter()
            .find(|e| e.seq == seq)
            .cloned()
    });

    html! {
        <div class="traffic-log">
            <div class="toolbar" role="toolbar" aria-label="Log controls">
                <label for="log-topic">{ "Topic or device" }</label>
                <input id="log-topic" type="search" placeholder="filter by topic or device (any case)"
                    value={query.text.clone()} oninput={on_topic} />
                <label for="log-direction">{ "Direction" }</label>
                <select id="log-direction" onchange={on_direction}>
                    { for [DirectionFilter::All, DirectionFilter::In, DirectionFilter::Out].into_iter().map(|d| html! {
                        <option value={d.value()} selected={query.direction == d}>{ d.value() }</option>
                    }) }
                </select>
                <button type="button" onclick={on_pause} aria-pressed={paused.to_string()}>
                    { if paused { "Resume" } else { "Pause" } }
                </button>
                <button type="button" onclick={on_clear}>{ "Clear" }</button>
                <span class="log-count" aria-label="Log size">
                    { format!("{shown} shown · {kept} kept · {dropped} dropped") }
                </span>
            </div>
            <VirtualList len={shown} row_height={ROW_HEIGHT} {row} label="Packets" class="log-list" />
            if let Some(e) = detail {
                <section class="log-detail" aria-label="Packet detail">
                    <h3>{ e.packet.kind }{ " " }<bdi>{ e.packet.topic.clone() }</bdi>{ " " }{ meta(&e) }</h3>
                    <pre>{ pretty_payload(&e.packet.payload) }</pre>
                </section>
            }
        </div>
    }
}

fn meta(e: &LogEntry) -> String {
    let mut parts = Vec::new();
    if let Some(q) = e.packet.qos {
        parts.push(format!("QoS {q}"));
    }
    if let Some(id) = e.packet.pkid {
        parts.push(format!("id {id}"));
    }
    if e.packet.dup {
        parts.push("DUP".into());
    }
    parts.join(" · ")
}
