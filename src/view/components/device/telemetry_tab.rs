//! Telemetry of one device (or of the gateway itself): the latest value of
//! each key, live charts of numeric keys, and a form to publish.

use std::rc::Rc;

use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::console::chart::in_time_order;
use crate::console::slices::Slice;
use crate::console::store::OWN;
use crate::console::values::{json_object, rows_to_object};
use crate::core::gateway::codec::TelemetryEntry;
use crate::view::components::chart::Chart;
use crate::view::components::json_editor::JsonEditor;
use crate::view::context::use_slices;
use crate::view::format::clock_time;

/// A chart's points: (epoch ms, value), in timestamp order.
type Points = Rc<Vec<(u64, f64)>>;

/// Props of [`TelemetryTab`].
#[derive(Properties, PartialEq)]
pub struct TelemetryTabProps {
    /// The device, or `None` for the gateway itself.
    pub device: Option<AttrValue>,
}

/// Latest values, charts and the publish form.
#[function_component(TelemetryTab)]
pub fn telemetry_tab(props: &TelemetryTabProps) -> Html {
    let console = use_slices(&[Slice::Device, Slice::Gateway]);
    let controller = console.controller.clone();
    let key = props.device.as_deref().unwrap_or(OWN).to_string();
    let (latest, series) = {
        let store = controller.store();
        let view = if props.device.is_some() {
            &store.telemetry
        } else {
            &store.own_telemetry
        };
        let latest: Vec<(String, String, u64)> = view
            .latest(&key)
            .map(|m| {
                m.iter()
                    .map(|(k, l)| (k.clone(), l.value.to_string(), l.ts))
                    .collect()
            })
            .unwrap_or_default();
        let series: Vec<(String, Points)> = view
            .series(&key)
            .map(|m| {
                m.iter()
                    .map(|(k, r)| (k.clone(), Rc::new(in_time_order(r.iter().copied()))))
                    .collect()
            })
            .unwrap_or_default();
        (latest, series)
    };
    html! {
        <div class="telemetry-tab">
            <PublishTelemetry device={props.device.clone()} />
            <h3>{ "Latest values" }</h3>
            if latest.is_empty() {
                <p class="empty">{ "No telemetry sent yet." }</p>
            } else {
                <table class="kv" aria-label="Latest telemetry">
                    <thead><tr><th>{ "Key" }</th><th>{ "Value" }</th><th>{ "Time" }</th></tr></thead>
                    <tbody>
                        { for latest.into_iter().map(|(k, v, ts)| html! {
                            <tr key={k.clone()}><td>{ k }</td><td class="value">{ v }</td><td><time>{ clock_time(ts) }</time></td></tr>
                        }) }
                    </tbody>
                </table>
            }
            if !series.is_empty() {
                <div class="charts">
                    { for series.into_iter().map(|(k, points)| {
                        let label = AttrValue::from(k.clone());
                        html! { <Chart key={k} {label} {points} /> }
                    }) }
                </div>
            }
        </div>
    }
}

/// The publish form: key/value rows or raw JSON, an optional timestamp, and
/// the choice to send to every selected device in the same message.
#[function_component(PublishTelemetry)]
fn publish_telemetry(props: &TelemetryTabProps) -> Html {
    let console = use_slices(&[Slice::Device, Slice::Gateway]);
    let controller = console.controller.clone();
    let raw_mode = use_state(|| false);
    let rows = use_state(|| vec![(String::new(), String::new())]);
    let raw = use_state(|| "{\"temperature\": 21.5}".to_string());
    let ts = use_state(String::new);
    let to_selected = use_state(|| false);
    let result = use_state(|| None::<Result<String, String>>);
    let checked = controller.store().checked.len();

    let on_submit = {
        let (controller, rows, raw, raw_mode, ts, to_selected, result) = (
            controller.clone(),
            rows.clone(),
            raw.clone(),
            raw_mode.clone(),
            ts.clone(),
            to_selected.clone(),
            result.clone(),
        );
        let device = props.device.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let values = if *raw_mode {
                json_object(&raw)
            } else {
                rows_to_object(&rows)
            };
            let values = match values {
                Ok(v) => v,
                Err(message) => return result.set(Some(Err(message))),
            };
            let entry = match ts.trim() {
                "" => TelemetryEntry::flat(values),
                "now" => TelemetryEntry::timed(crate::shell::clock::epoch_ms(), values),
                t => match t.parse::<u64>() {
                    Ok(ms) => TelemetryEntry::timed(ms, values),
                    Err(_) => return result.set(Some(Err(
                        "ts must be epoch milliseconds, \"now\", or empty for the server's time"
                            .into(),
                    ))),
                },
            };
            let outcome = match &device {
                Some(d) => {
                    let mut devices = vec![d.to_string()];
                    if *to_selected {
                        devices.extend(
                            controller
                                .store()
                                .checked
                                .iter()
                                .filter(|c| c.as_str() != d.as_str())
                                .cloned(),
                        );
                    }
                    let n = devices.len();
                    controller
                        .send_telemetry(&devices, entry)
                        .map(|_| format!("sent for {n} device(s)"))
                }
                None => controller
                    .send_own_telemetry(entry)
                    .map(|_| "sent".to_string()),
            };
            result.set(Some(outcome));
        })
    };
    let id = |s: &str| format!("tel-{s}");
    html! {
        <form class="publish" onsubmit={on_submit} aria-label="Publish telemetry">
            <div class="mode">
                <label><input type="radio" name="tel-mode" checked={!*raw_mode}
                    onchange={let m = raw_mode.clone(); Callback::from(move |_| m.set(false))} />{ " Key/value rows" }</label>
                <label><input type="radio" name="tel-mode" checked={*raw_mode}
                    onchange={let m = raw_mode.clone(); Callback::from(move |_| m.set(true))} />{ " Raw JSON" }</label>
            </div>
            if *raw_mode {
                <JsonEditor id="tel-raw" label="Telemetry JSON" value={(*raw).clone()}
                    on_change={let r = raw.clone(); Callback::from(move |v| r.set(v))} />
            } else {
                { for rows.iter().enumerate().map(|(i, (k, v))| {
                    let set = |col: usize| {
                        let rows = rows.clone();
                        Callback::from(move |e: InputEvent| {
                            let value = e.target_unchecked_into::<HtmlInputElement>().value();
                            let mut next = (*rows).clone();
                            if col == 0 { next[i].0 = value } else { next[i].1 = value }
                            rows.set(next);
                        })
                    };
                    html! {
                        <div class="kv-row" key={i}>
                            <input type="text" aria-label={format!("Key {}", i + 1)} placeholder="key" value={k.clone()} oninput={set(0)} />
                            <input type="text" aria-label={format!("Value {}", i + 1)} placeholder="value" value={v.clone()} oninput={set(1)} />
                        </div>
                    }
                }) }
                <button type="button" onclick={let rows = rows.clone(); Callback::from(move |_| {
                    let mut next = (*rows).clone(); next.push((String::new(), String::new())); rows.set(next);
                })}>{ "Add row" }</button>
            }
            <label for={id("ts")}>{ "ts (optional)" }</label>
            <input id={id("ts")} type="text" placeholder="epoch ms, now, or empty" value={(*ts).clone()}
                oninput={let t = ts.clone(); Callback::from(move |e: InputEvent| t.set(e.target_unchecked_into::<HtmlInputElement>().value()))} />
            if props.device.is_some() {
                <label class="inline"><input type="checkbox" checked={*to_selected}
                    onchange={let s = to_selected.clone(); Callback::from(move |e: Event| s.set(e.target_unchecked_into::<HtmlInputElement>().checked()))} />
                    { format!(" Also for the {checked} selected devices (one message)") }</label>
            }
            <button type="submit">{ "Send telemetry" }</button>
            { result_line(&result) }
        </form>
    }
}

/// A form's last outcome: a confirmation or an error, for screen readers too.
pub fn result_line(result: &Option<Result<String, String>>) -> Html {
    match result {
        Some(Ok(text)) => html! { <p class="form-ok" role="status">{ text.clone() }</p> },
        Some(Err(text)) => html! { <p class="form-error" role="alert">{ text.clone() }</p> },
        None => html! {},
    }
}
