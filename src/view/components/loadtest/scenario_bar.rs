//! The scenario as a whole: export it as a file, import one, make a link
//! that opens it; and what it holds besides the runs (devices, rules).

use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::console::auto_reply::Reply;
use crate::console::loadtest::Scenario;
use crate::console::slices::Slice;
use crate::shell::files;
use crate::view::context::use_slices;

/// Export, import and link, with the devices and rules a scenario carries.
#[function_component(ScenarioBar)]
pub fn scenario_bar() -> Html {
    let console = use_slices(&[Slice::LoadTest]);
    let controller = console.controller.clone();
    let error = use_state(|| None::<String>);
    let link = use_state(|| None::<String>);
    let on_export = {
        let (c, error) = (controller.clone(), error.clone());
        Callback::from(move |_| {
            let text = c.scenario().to_json();
            error.set(files::download("scenario.json", "application/json", &text).err());
        })
    };
    let on_import = {
        let (c, error) = (controller.clone(), error.clone());
        Callback::from(move |e: Event| {
            let input: HtmlInputElement = e.target_unchecked_into();
            let Some(file) = input.files().and_then(|f| f.get(0)) else {
                return;
            };
            input.set_value("");
            let (c, error) = (c.clone(), error.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match files::read_text(&file)
                    .await
                    .and_then(|t| Scenario::from_json(&t))
                {
                    Ok(scenario) => {
                        error.set(None);
                        c.load_scenario(scenario);
                    }
                    Err(problem) => error.set(Some(format!("{}: {problem}", file.name()))),
                }
            });
        })
    };
    let on_link = {
        let (c, link) = (controller.clone(), link.clone());
        Callback::from(move |_| link.set(Some(c.scenario_link())))
    };
    let devices = controller.gateway(|g| g.model().devices().iter().count());
    let rules = controller.store().auto_replies.rules().to_vec();
    html! {
        <section class="scenario-bar" aria-label="Scenario">
            <h3>{ "Scenario" }</h3>
            <div class="row">
                <button type="button" onclick={on_export}>{ "Export scenario" }</button>
                <label for="scenario-file" class="file-button">{ "Import scenario" }</label>
                <input id="scenario-file" type="file" accept=".json,application/json" onchange={on_import} />
                <button type="button" onclick={on_link}>{ "Make link" }</button>
            </div>
            if let Some(url) = (*link).clone() {
                <div class="row">
                    <label for="scenario-link">{ "Scenario link" }</label>
                    <input id="scenario-link" type="text" readonly=true value={url.clone()} />
                    <a href={url} target="_blank" rel="noopener">{ "Open" }</a>
                </div>
                <p class="hint">{ "The scenario travels in the link's #fragment, which browsers never send to a server." }</p>
            }
            if let Some(message) = (*error).clone() {
                <p class="form-error" role="alert">{ message }</p>
            }
            <p aria-label="Scenario devices">{ format!("Devices of this gateway: {devices}") }</p>
            <ul class="scenario-rules" aria-label="Auto-reply rules">
                { for rules.iter().map(|r| {
                    let reply = match &r.reply {
                        Reply::Fixed(v) => v.to_string(),
                        Reply::EchoParams => "the params".into(),
                    };
                    let to = r.device.clone().unwrap_or_else(|| "any device".into());
                    html! { <li>{ format!("{} on {to} → {reply} after {} ms", r.method, r.delay_ms) }</li> }
                }) }
            </ul>
        </section>
    }
}
