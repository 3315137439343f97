//! Attributes of one device (or of the gateway itself): client attributes to
//! publish, shared attributes as last received (with deletions), and
//! attribute requests with their answers.

use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use super::telemetry_tab::result_line;
use crate::console::answers::Outcome;
use crate::console::slices::Slice;
use crate::console::values::json_object;
use crate::core::gateway::codec::AttributeScope;
use crate::core::gateway::model::{SHARED_DEVICE_BYTES, SHARED_TOTAL_BYTES};
use crate::core::weight::bytes_in_words;
use crate::view::components::json_editor::JsonEditor;
use crate::view::context::use_slices;
use crate::view::format::{clock_time, wall_of};

/// Props of [`AttributesTab`].
#[derive(Properties, PartialEq)]
pub struct AttributesTabProps {
    /// The device, or `None` for the gateway itself.
    pub device: Option<AttrValue>,
}

/// Client attributes, shared attributes and requests.
#[function_component(AttributesTab)]
pub fn attributes_tab(props: &AttributesTabProps) -> Html {
    let console = use_slices(&[Slice::Device, Slice::Gateway]);
    let controller = console.controller.clone();
    let device = props.device.as_ref().map(|d| d.to_string());
    let client_json = use_state(|| "{\"firmware\": \"1.0.0\"}".to_string());
    let publish_result = use_state(|| None::<Result<String, String>>);
    let scope = use_state(|| "shared".to_string());
    let keys = use_state(String::new);
    let request_result = use_state(|| None::<Result<String, String>>);

    let (values, deleted, dropped) = controller.gateway(|g| {
        let shared = match &device {
            Some(d) => g.model().shared_attributes(d),
            None => Some(g.model().own().shared()),
        };
        shared
            .map(|s| {
                (
                    s.values()
                        .iter()
                        .map(|(k, v)| (k.clone(), v.shown(), wall_of(v.at)))
                        .collect::<Vec<_>>(),
                    s.deleted()
                        .iter()
                        .map(|(k, at)| (k.clone(), wall_of(*at)))
                        .collect::<Vec<_>>(),
                    s.dropped(),
                )
            })
            .unwrap_or_default()
    });
    // Devices whose shared attributes were forgotten to keep them all
    // within their bound (none for the gateway's own).
    let forgotten = match &device {
        Some(_) => controller.gateway(|g| g.model().shared_forgotten()),
        None => 0,
    };
    let answers: Vec<_> = controller
        .store()
        .answers
        .iter()
        .rev()
        .filter(|a| a.method.is_none() && a.device == device)
        .take(20)
        .cloned()
        .collect();

    let on_publish = {
        let (controller, client_json, publish_result, device) = (
            controller.clone(),
            client_json.clone(),
            publish_result.clone(),
            device.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let outcome = json_object(&client_json)
                .and_then(|attrs| controller.send_attributes(device.as_deref(), attrs))
                .map(|_| "sent".to_string());
            publish_result.set(Some(outcome));
        })
    };
    let on_request = {
        let (controller, scope, keys, request_result, device) = (
            controller.clone(),
            scope.clone(),
            keys.clone(),
            request_result.clone(),
            device.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let list: Vec<String> = keys
                .split(',')
                .map(|k| k.trim().to_string())
                .filter(|k| !k.is_empty())
                .collect();
            if list.is_empty() {
                return request_result.set(Some(Err(
                    "enter one or more keys, separated by commas".into(),
                )));
            }
            let s = if *scope == "client" {
                AttributeScope::Client
            } else {
                AttributeScope::Shared
            };
            request_result.set(Some(
                controller
                    .request_attributes(device.as_deref(), s, list)
                    .map(|_| "request sent".to_string()),
            ));
        })
    };

    html! {
        <div class="attributes-tab">
            <section aria-label="Shared attributes">
                <h3>{ "Shared attributes (from the server)" }</h3>
                if dropped > 0 {
                    <p class="shared-dropped">
                        { format!(
                            "{dropped} {} received longest ago not kept: each device keeps {} of shared attributes.",
                            if dropped == 1 { "attribute" } else { "attributes" },
                            bytes_in_words(SHARED_DEVICE_BYTES),
                        ) }
                    </p>
                }
                if values.is_empty() && deleted.is_empty() {
                    if forgotten > 0 {
                        <p class="empty">{ format!(
                            "None kept: none received yet, or forgotten (the shared attributes of {forgotten} {} updated longest ago were forgotten to keep all devices' within {}). Request them below.",
                            if forgotten == 1 { "device" } else { "devices" },
                            bytes_in_words(SHARED_TOTAL_BYTES),
                        ) }</p>
                    } else {
                        <p class="empty">{ "None received yet." }</p>
                    }
                } else {
                    <table class="kv" aria-label="Shared attribute values">
                        <thead><tr><th>{ "Key" }</th><th>{ "Value" }</th><th>{ "Received" }</th></tr></thead>
                        <tbody>
                            { for values.into_iter().map(|(k, v, at)| html! {
                                <tr key={k.clone()}><td>{ k }</td><td class="value">{ v }</td><td><time>{ clock_time(at) }</time></td></tr>
                            }) }
                            { for deleted.into_iter().map(|(k, at)| html! {
                                <tr key={format!("deleted-{k}")} class="deleted"><td>{ k }</td><td>{ "deleted" }</td><td><time>{ clock_time(at) }</time></td></tr>
                            }) }
                        </tbody>
                    </table>
                }
            </section>
            <form class="publish" onsubmit={on_publish} aria-label="Publish client attributes">
                <JsonEditor id="attr-client" label="Client attributes JSON" value={(*client_json).clone()}
                    on_change={let c = client_json.clone(); Callback::from(move |v| c.set(v))} />
                <button type="submit">{ "Send attributes" }</button>
                { result_line(&publish_result) }
            </form>
            <form class="request" onsubmit={on_request} aria-label="Request attributes">
                <label for="attr-scope">{ "Scope" }</label>
                <select id="attr-scope" onchange={let s = scope.clone(); Callback::from(move |e: Event| s.set(e.target_unchecked_into::<HtmlSelectElement>().value()))}>
                    <option value="shared" selected={*scope == "shared"}>{ "shared" }</option>
                    <option value="client" selected={*scope == "client"}>{ "client" }</option>
                </select>
                <label for="attr-keys">{ "Keys" }</label>
                <input id="attr-keys" type="text" placeholder="setpoint, mode" value={(*keys).clone()}
                    oninput={let k = keys.clone(); Callback::from(move |e: InputEvent| k.set(e.target_unchecked_into::<HtmlInputElement>().value()))} />
                <button type="submit">{ "Request" }</button>
                { result_line(&request_result) }
            </form>
            <ul class="answers" aria-label="Attribute answers">
                { for answers.into_iter().map(|a| {
                    let outcome = match &a.outcome {
                        Outcome::Pending => "waiting for the answer…".to_string(),
                        Outcome::Found(values) => serde_json::Value::Object(values.clone()).to_string(),
                        Outcome::NotFound => "not found".to_string(),
                        Outcome::TimedOut => "no answer: timed out".to_string(),
                        Outcome::Answered(v) => v.to_string(),
                    };
                    html! {
                        <li key={a.id} class="answer">
                            <time>{ clock_time(a.sent_ms) }</time>
                            { format!(" #{} {} [{}] → ", a.id, a.scope.map(|s| s.as_str()).unwrap_or(""), a.keys.join(", ")) }
                            <span class="value">{ outcome }</span>
                        </li>
                    }
                }) }
            </ul>
        </div>
    }
}
