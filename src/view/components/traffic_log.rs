//! The traffic log: every packet in and out, newest first, filterable,
//! pausable, capped, virtualized.

use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use super::virtual_list::VirtualList;
use crate::console::store::LogEntry;
use crate::core::mqtt::Direction;
use crate::view::app::use_console;
use crate::view::format::{clock_time, payload_preview, pretty_payload};

const ROW_HEIGHT: u32 = 24;

/// Whether `entry` passes the filters: direction, and `text` found in its
/// topic or its payload (where device names are).
fn matches(entry: &LogEntry, text: &str, direction: &str) -> bool {
    let dir_ok = match direction {
        "in" => entry.packet.direction == Direction::In,
        "out" => entry.packet.direction == Direction::Out,
        _ => true,
    };
    dir_ok
        && (text.is_empty()
            || entry.packet.topic.contains(text)
            || entry
                .packet
                .payload
                .windows(text.len())
                .any(|w| w == text.as_bytes()))
}

/// The traffic log panel.
#[function_component(TrafficLog)]
pub fn traffic_log() -> Html {
    let console = use_console();
    let controller = console.controller.clone();
    let topic_filter = use_state(String::new);
    let direction = use_state(|| "all".to_string());
    let selected = use_state(|| None::<u64>);

    // Only indices are collected per render; rows borrow the store when drawn.
    let store = controller.store();
    let rows: std::rc::Rc<Vec<usize>> = std::rc::Rc::new(
        (0..store.log.len())
            .rev()
            .filter(|&i| {
                store
                    .log
                    .get(i)
                    .is_some_and(|e| matches(e, &topic_filter, &direction))
            })
            .collect(),
    );
    let paused = store.log_paused;
    let dropped = store.log.dropped();
    let kept = store.log.len();
    drop(store);

    let on_topic = {
        let f = topic_filter.clone();
        Callback::from(move |e: InputEvent| {
            f.set(e.target_unchecked_into::<HtmlInputElement>().value())
        })
    };
    let on_direction = {
        let d = direction.clone();
        Callback::from(move |e: Event| {
            d.set(e.target_unchecked_into::<HtmlSelectElement>().value())
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
            c.store_mut().log.clear();
            selected.set(None);
            c.request_render();
        })
    };
    let row = {
        let rows = rows.clone();
        let selected = selected.clone();
        let controller = controller.clone();
        Callback::from(move |i: usize| {
            let store = controller.store();
            let Some(e) = rows.get(i).and_then(|&at| store.log.get(at)) else {
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
                <input id="log-topic" type="search" placeholder="filter by topic or device"
                    value={(*topic_filter).clone()} oninput={on_topic} />
                <label for="log-direction">{ "Direction" }</label>
                <select id="log-direction" onchange={on_direction}>
                    <option value="all" selected={*direction == "all"}>{ "all" }</option>
                    <option value="in" selected={*direction == "in"}>{ "in" }</option>
                    <option value="out" selected={*direction == "out"}>{ "out" }</option>
                </select>
                <button type="button" onclick={on_pause} aria-pressed={paused.to_string()}>
                    { if paused { "Resume" } else { "Pause" } }
                </button>
                <button type="button" onclick={on_clear}>{ "Clear" }</button>
                <span class="log-count" aria-label="Log size">
                    { format!("{} shown · {kept} kept · {dropped} dropped", rows.len()) }
                </span>
            </div>
            <VirtualList len={rows.len()} row_height={ROW_HEIGHT} {row} label="Packets" class="log-list" />
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
