//! The gateway itself: the session limits the server reported, its
//! client-side RPC calls, and its own telemetry, attributes, RPC and claim.

use web_sys::HtmlInputElement;
use yew::prelude::*;

use super::device::page::DevicePage;
use super::device::telemetry_tab::result_line;
use super::json_editor::{parse_json, JsonEditor};
use crate::console::answers::Outcome;
use crate::console::slices::Slice;
use crate::view::context::use_slices;
use crate::view::format::{clock_time, wall_of};

/// The gateway page.
#[function_component(GatewayPage)]
pub fn gateway_page() -> Html {
    let console = use_slices(&[Slice::Gateway, Slice::Status]);
    let controller = console.controller.clone();
    let method = use_state(|| "getCurrentTime".to_string());
    let params = use_state(|| "{}".to_string());
    let result = use_state(|| None::<Result<String, String>>);
    let limits = controller.gateway(|g| {
        g.model().own().session_limits().map(|l| {
            (
                serde_json::to_string_pretty(&l.value).unwrap_or_default(),
                wall_of(l.received_at),
            )
        })
    });
    let rejected: Vec<_> = controller
        .store()
        .rejected
        .iter()
        .rev()
        .take(50)
        .cloned()
        .collect();
    let calls: Vec<_> = controller
        .store()
        .answers
        .iter()
        .rev()
        .filter(|a| a.method.is_some())
        .take(20)
        .cloned()
        .collect();
    let on_call = {
        let (controller, method, params, result) = (
            controller.clone(),
            method.clone(),
            params.clone(),
            result.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let p = match parse_json(&params) {
                Ok(p) => p,
                Err(message) => return result.set(Some(Err(message))),
            };
            result.set(Some(
                controller
                    .call_own_rpc(method.trim(), p)
                    .map(|_| "call sent".to_string()),
            ));
        })
    };
    html! {
        <div class="gateway-page">
            <section class="panel" aria-label="Session limits">
                <h3>{ "Session limits" }</h3>
                { match limits {
                    Some((text, at)) => html! { <><time>{ clock_time(at) }</time><pre>{ text }</pre></> },
                    None => html! { <p class="empty">{ "Not reported yet (asked with getSessionLimits after each connect)." }</p> },
                } }
            </section>
            <section class="panel" aria-label="Rejected messages">
                <h3>{ "Rejected messages" }</h3>
                if rejected.is_empty() {
                    <p class="empty">{ "None. A message the server refuses three times (an error acknowledgement, or the connection closed right after it) is set aside here, and the rest keeps flowing." }</p>
                } else {
                    <table class="rejected">
                        <thead><tr><th>{ "Time" }</th><th>{ "Topic" }</th><th>{ "Code" }</th><th>{ "Why" }</th></tr></thead>
                        <tbody>
                            { for rejected.into_iter().map(|r| html! {
                                <tr>
                                    <td><time>{ clock_time(r.time_ms) }</time></td>
                                    <td>{ r.topic }</td>
                                    <td>{ r.reason }</td>
                                    <td>{ r.explanation }</td>
                                </tr>
                            }) }
                        </tbody>
                    </table>
                }
            </section>
            <section class="panel" aria-label="Client-side RPC">
                <h3>{ "Call a client-side RPC" }</h3>
                <form onsubmit={on_call} aria-label="Call RPC">
                    <label for="call-method">{ "Method" }</label>
                    <input id="call-method" type="text" value={(*method).clone()}
                        oninput={let m = method.clone(); Callback::from(move |e: InputEvent| m.set(e.target_unchecked_into::<HtmlInputElement>().value()))} />
                    <JsonEditor id="call-params" label="Params JSON" rows={2} value={(*params).clone()}
                        on_change={let p = params.clone(); Callback::from(move |v| p.set(v))} />
                    <button type="submit">{ "Call" }</button>
                    { result_line(&result) }
                </form>
                <ul aria-label="Calls">
                    { for calls.into_iter().map(|a| {
                        let outcome = match &a.outcome {
                            Outcome::Pending => "waiting…".to_string(),
                            Outcome::Answered(v) => v.to_string(),
                            Outcome::TimedOut => "no answer: timed out".to_string(),
                            Outcome::Found(v) => serde_json::Value::Object(v.clone()).to_string(),
                            Outcome::NotFound => "not found".to_string(),
                        };
                        html! { <li key={a.id}><time>{ clock_time(a.sent_ms) }</time>{ format!(" #{} {} → {outcome}", a.id, a.method.clone().unwrap_or_default()) }</li> }
                    }) }
                </ul>
            </section>
            <DevicePage device={None::<AttrValue>} />
        </div>
    }
}
