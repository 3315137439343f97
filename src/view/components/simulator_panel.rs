//! Start and stop simulated telemetry for the selected devices.

use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::console::simulator::SimConfig;
use crate::console::slices::Slice;
use crate::console::workspace::SimSettings;
use crate::view::context::use_slices;

/// The simulator controls.
#[function_component(SimulatorPanel)]
pub fn simulator_panel() -> Html {
    let console = use_slices(&[Slice::Devices, Slice::Status]);
    let controller = console.controller.clone();
    let saved = controller.sim_settings();
    let keys = use_state(|| saved.keys.clone());
    let interval = use_state(|| saved.interval.clone());
    let error = use_state(|| None::<String>);
    let running = controller.simulation();

    let on_start = {
        let (controller, keys, interval, error) = (
            controller.clone(),
            keys.clone(),
            interval.clone(),
            error.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            controller.set_sim_settings(SimSettings {
                keys: (*keys).clone(),
                interval: (*interval).clone(),
            });
            let Ok(interval_ms) = interval.trim().parse::<u32>() else {
                return error.set(Some("the interval must be whole milliseconds".into()));
            };
            let devices: Vec<String> = controller.store().checked.iter().cloned().collect();
            let config = SimConfig {
                devices,
                keys: keys
                    .split(',')
                    .map(|k| k.trim().to_string())
                    .filter(|k| !k.is_empty())
                    .collect(),
                interval_ms,
            };
            error.set(controller.start_simulation(config).err());
        })
    };
    let on_stop = {
        let controller = controller.clone();
        Callback::from(move |_| controller.stop_simulation())
    };
    html! {
        <form class="simulator" onsubmit={on_start} aria-label="Simulate telemetry">
            <label for="sim-keys">{ "Simulated keys" }</label>
            <input id="sim-keys" type="text" value={(*keys).clone()}
                oninput={let k = keys.clone(); Callback::from(move |e: InputEvent| k.set(e.target_unchecked_into::<HtmlInputElement>().value()))} />
            <label for="sim-interval">{ "Every (ms)" }</label>
            <input id="sim-interval" type="number" min="100" value={(*interval).clone()}
                oninput={let i = interval.clone(); Callback::from(move |e: InputEvent| i.set(e.target_unchecked_into::<HtmlInputElement>().value()))} />
            <button type="submit">{ "Simulate selected" }</button>
            if let Some((config, ticks)) = running {
                // The start is announced; the tick count, which changes on
                // every tick, is shown but not announced.
                <span role="status" aria-label="Simulation">{ format!("simulating {} devices every {} ms", config.devices.len(), config.interval_ms) }</span>
                <span class="ticks" role="timer" aria-label="Simulation ticks">{ format!("· {ticks} ticks ") }</span>
                <button type="button" onclick={on_stop}>{ "Stop simulation" }</button>
            }
            if let Some(message) = (*error).clone() {
                <p class="form-error" role="alert">{ message }</p>
            }
        </form>
    }
}
