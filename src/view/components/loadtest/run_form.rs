//! The settings of one run. Every change is written to the controller at
//! once (the runs are kept with the workspace and go into scenarios), and
//! the run is checked as it is typed.

use std::rc::Rc;

use web_sys::{HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement};
use yew::prelude::*;

use crate::console::loadtest::{Rate, RunSettings, Stop, Template};
use crate::console::slices::Slice;
use crate::view::context::use_slices;
use crate::view::controller::Controller;

/// The form's properties.
#[derive(Properties, PartialEq)]
pub struct Props {
    /// Which run (index in the controller's runs).
    pub index: usize,
}

/// The example a new custom template starts from.
const CUSTOM_EXAMPLE: &str = r#"{"temperature": {"$random": [20, 30]}, "count": {"$seq": 1}, "state": {"$choice": ["on", "off"]}}"#;

type Edit<T> = fn(&mut RunSettings, T);

fn change(c: &Rc<Controller>, index: usize, f: impl FnOnce(&mut RunSettings)) {
    c.update_loadtest(|tests| {
        if let Some(mut s) = tests.runs().get(index).cloned() {
            f(&mut s);
            tests.update(index, s);
        }
    });
}

fn on_text(c: &Rc<Controller>, index: usize, edit: Edit<String>) -> Callback<InputEvent> {
    let c = c.clone();
    Callback::from(move |e: InputEvent| {
        let value = e.target_unchecked_into::<HtmlInputElement>().value();
        change(&c, index, |s| edit(s, value));
    })
}

fn on_number(c: &Rc<Controller>, index: usize, edit: Edit<f64>) -> Callback<InputEvent> {
    let c = c.clone();
    Callback::from(move |e: InputEvent| {
        let value = e.target_unchecked_into::<HtmlInputElement>().value();
        let number = value.trim().parse::<f64>().unwrap_or(0.0).max(0.0);
        change(&c, index, |s| edit(s, number));
    })
}

fn on_check(c: &Rc<Controller>, index: usize, edit: Edit<bool>) -> Callback<Event> {
    let c = c.clone();
    Callback::from(move |e: Event| {
        let on = e.target_unchecked_into::<HtmlInputElement>().checked();
        change(&c, index, |s| edit(s, on));
    })
}

fn on_select(c: &Rc<Controller>, index: usize, edit: Edit<String>) -> Callback<Event> {
    let c = c.clone();
    Callback::from(move |e: Event| {
        let value = e.target_unchecked_into::<HtmlSelectElement>().value();
        change(&c, index, |s| edit(s, value));
    })
}

fn set_template(s: &mut RunSettings, kind: String) {
    s.template = match kind.as_str() {
        "smartTracker" => Template::SmartTracker,
        "randomWalk" => Template::RandomWalk {
            keys: vec!["temperature".into(), "humidity".into()],
        },
        "custom" => Template::Custom {
            json: CUSTOM_EXAMPLE.into(),
        },
        _ => Template::SmartMeter,
    };
}

/// What the run will do, or what is wrong with it.
fn preview(s: &RunSettings) -> Result<String, String> {
    let plan = s.plan()?;
    let points = s.template.compile(plan.devices.len())?.points_per_message();
    let messages = plan.schedule.total();
    let secs = plan.schedule.last_offset_ms() / 1000.0;
    Ok(format!(
        "{} devices · {messages} messages · {} data points · sending for about {secs:.1} s",
        plan.devices.len(),
        messages * points
    ))
}

/// The form of run `index`.
#[function_component(RunForm)]
pub fn run_form(props: &Props) -> Html {
    let console = use_slices(&[Slice::LoadTest]);
    let c = console.controller.clone();
    let i = props.index;
    let Some(s) = c.loadtest().runs().get(i).cloned() else {
        return html! {};
    };
    let template_kind = match &s.template {
        Template::SmartMeter => "smartMeter",
        Template::SmartTracker => "smartTracker",
        Template::RandomWalk { .. } => "randomWalk",
        Template::Custom { .. } => "custom",
    };
    let (rate_kind, rate_value) = match s.rate {
        Rate::PerDevice { every_ms } => ("perDevice", every_ms.to_string()),
        Rate::Total { per_second } => ("total", per_second.to_string()),
    };
    let (stop_kind, stop_value) = match s.stop {
        Stop::Duration { secs } => ("duration", secs.to_string()),
        Stop::Count { messages } => ("count", messages.to_string()),
    };
    let on_custom = {
        let c = c.clone();
        Callback::from(move |e: InputEvent| {
            let json = e.target_unchecked_into::<HtmlTextAreaElement>().value();
            change(&c, i, |s| s.template = Template::Custom { json });
        })
    };
    let check = preview(&s);
    html! {
        <form class="run-form" aria-label={format!("Run {}", i + 1)} onsubmit={Callback::from(|e: SubmitEvent| e.prevent_default())}>
            <div class="grid">
                <label for="run-name">{ "Run name" }</label>
                <input id="run-name" type="text" placeholder={s.template.label()} value={s.name.clone()}
                    oninput={on_text(&c, i, |s, v| s.name = v)} />
                <label for="run-devices">{ "Devices of the run" }</label>
                <input id="run-devices" type="text" value={s.devices.clone()} placeholder="Meter-{1..1000}"
                    oninput={on_text(&c, i, |s, v| s.devices = v)} />
                <label for="run-type">{ "Device profile of the run" }</label>
                <input id="run-type" type="text" value={s.device_type.clone()}
                    oninput={on_text(&c, i, |s, v| s.device_type = v)} />
                <label for="run-template">{ "Template" }</label>
                <select id="run-template" onchange={on_select(&c, i, set_template)}>
                    <option value="smartMeter" selected={template_kind == "smartMeter"}>{ "SMART_METER (pulseCounter, leakage, batteryLevel)" }</option>
                    <option value="smartTracker" selected={template_kind == "smartTracker"}>{ "SMART_TRACKER (latitude, longitude, speed, fuel, batteryLevel)" }</option>
                    <option value="randomWalk" selected={template_kind == "randomWalk"}>{ "Random walk" }</option>
                    <option value="custom" selected={template_kind == "custom"}>{ "Custom JSON with generators" }</option>
                </select>
                { match &s.template {
                    Template::RandomWalk { keys } => html! { <>
                        <label for="run-walk-keys">{ "Walk keys" }</label>
                        <input id="run-walk-keys" type="text" value={keys.join(", ")}
                            oninput={on_text(&c, i, |s, v| s.template = Template::RandomWalk {
                                keys: v.split(',').map(|k| k.trim().to_string()).collect() })} />
                    </> },
                    Template::Custom { json } => html! { <>
                        <label for="run-custom">{ "Custom template (JSON)" }</label>
                        <textarea id="run-custom" rows="4" value={json.clone()} oninput={on_custom}
                            aria-describedby="run-custom-help" />
                        <p id="run-custom-help" class="hint">
                            { "Generators: {\"$seq\": start} or [start, step] · {\"$random\": [min, max]} · {\"$sine\": [min, max, period_s]} · {\"$choice\": [a, b, …]} · {\"$time\": \"ms\"} · {\"$device\": \"\"}" }
                        </p>
                    </> },
                    _ => html! {},
                } }
                <label for="run-rate-kind">{ "Rate" }</label>
                <select id="run-rate-kind" onchange={on_select(&c, i, |s, v| s.rate = if v == "total" {
                        Rate::Total { per_second: 100.0 } } else { Rate::PerDevice { every_ms: 1_000 } })}>
                    <option value="perDevice" selected={rate_kind == "perDevice"}>{ "one message per device every …" }</option>
                    <option value="total" selected={rate_kind == "total"}>{ "messages per second over all devices" }</option>
                </select>
                if rate_kind == "total" {
                    <label for="run-rate">{ "Messages per second (all devices)" }</label>
                    <input id="run-rate" type="number" min="0" step="any" value={rate_value}
                        oninput={on_number(&c, i, |s, v| s.rate = Rate::Total { per_second: v })} />
                } else {
                    <label for="run-rate">{ "Every (ms) per device" }</label>
                    <input id="run-rate" type="number" min="10" value={rate_value}
                        oninput={on_number(&c, i, |s, v| s.rate = Rate::PerDevice { every_ms: v as u64 })} />
                }
                <label for="run-stop-kind">{ "Stop after" }</label>
                <select id="run-stop-kind" onchange={on_select(&c, i, |s, v| s.stop = if v == "count" {
                        Stop::Count { messages: 1_000 } } else { Stop::Duration { secs: 60 } })}>
                    <option value="duration" selected={stop_kind == "duration"}>{ "a duration" }</option>
                    <option value="count" selected={stop_kind == "count"}>{ "a number of messages" }</option>
                </select>
                if stop_kind == "count" {
                    <label for="run-stop">{ "Messages (all devices)" }</label>
                    <input id="run-stop" type="number" min="1" value={stop_value}
                        oninput={on_number(&c, i, |s, v| s.stop = Stop::Count { messages: v as u64 })} />
                } else {
                    <label for="run-stop">{ "Duration (s)" }</label>
                    <input id="run-stop" type="number" min="1" value={stop_value}
                        oninput={on_number(&c, i, |s, v| s.stop = Stop::Duration { secs: v as u64 })} />
                }
                <label for="run-ramp">{ "Ramp-up (s)" }</label>
                <input id="run-ramp" type="number" min="0" value={s.ramp_up_secs.to_string()}
                    oninput={on_number(&c, i, |s, v| s.ramp_up_secs = v as u64)} />
                <label for="run-drain">{ "Wait for acknowledgements (s)" }</label>
                <input id="run-drain" type="number" min="0" value={s.drain_secs.to_string()}
                    oninput={on_number(&c, i, |s, v| s.drain_secs = v as u64)} />
            </div>
            <div class="checks">
                <label><input type="checkbox" checked={s.create_devices}
                    onchange={on_check(&c, i, |s, v| s.create_devices = v)} />{ " Create the devices at the start" }</label>
                <label><input type="checkbox" checked={s.remove_devices}
                    onchange={on_check(&c, i, |s, v| s.remove_devices = v)} />{ " Remove the devices at the end" }</label>
                <label><input type="checkbox" checked={s.warm_up}
                    onchange={on_check(&c, i, |s, v| s.warm_up = v)} />{ " Warm up: one message per device first, outside the results" }</label>
            </div>
            { match check {
                Ok(text) => html! { <p class="hint" aria-label="Run preview">{ text }</p> },
                Err(problem) => html! { <p class="form-error" aria-label="Run preview">{ problem }</p> },
            } }
        </form>
    }
}
