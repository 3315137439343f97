//! RPC of one device (or of the gateway itself): the inbox with each
//! request's status, replies by hand (validated JSON, or quick success and
//! error), and auto-reply rules that answer while nobody watches.

use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use super::telemetry_tab::result_line;
use crate::console::auto_reply::{Reply, Rule};
use crate::console::slices::Slice;
use crate::console::store::OWN;
use crate::core::gateway::model::RpcStatus;
use crate::core::weight::bytes_in_words;
use crate::view::components::json_editor::{parse_json, JsonEditor};
use crate::view::context::use_slices;
use crate::view::format::{clock_time, wall_of};

/// Props of [`RpcTab`].
#[derive(Properties, PartialEq)]
pub struct RpcTabProps {
    /// The device, or `None` for the gateway itself.
    pub device: Option<AttrValue>,
}

/// The RPC inbox, the reply editor and the auto-reply rules.
#[function_component(RpcTab)]
pub fn rpc_tab(props: &RpcTabProps) -> Html {
    let console = use_slices(&[Slice::Device, Slice::Gateway]);
    let controller = console.controller.clone();
    let device = props.device.as_ref().map(|d| d.to_string());
    let reply_json = use_state(|| "{\"success\": true}".to_string());
    let result = use_state(|| None::<Result<String, String>>);

    let (mut entries, dropped, capacity, byte_cap): (Vec<_>, _, _, _) = controller.gateway(|g| {
        let inbox = match &device {
            Some(_) => g.model().rpc_inbox(),
            None => g.model().own().rpc(),
        };
        (
            inbox
                .iter()
                .filter(|e| e.device == device)
                .cloned()
                .collect(),
            inbox.dropped(),
            inbox.capacity(),
            inbox.byte_cap(),
        )
    });
    entries.reverse();
    entries.truncate(100);

    let reply = |id: u64, data: Option<serde_json::Value>| {
        let (controller, device, reply_json, result) = (
            controller.clone(),
            device.clone(),
            reply_json.clone(),
            result.clone(),
        );
        Callback::from(move |_| {
            let data = match data
                .clone()
                .map(Ok)
                .unwrap_or_else(|| parse_json(&reply_json))
            {
                Ok(d) => d,
                Err(message) => return result.set(Some(Err(message))),
            };
            result.set(Some(
                controller
                    .reply_rpc(device.as_deref(), id, data, false)
                    .map(|_| format!("reply to {id} sent")),
            ));
        })
    };

    html! {
        <div class="rpc-tab">
            <JsonEditor id="rpc-reply" label="Reply JSON" value={(*reply_json).clone()}
                on_change={let r = reply_json.clone(); Callback::from(move |v| r.set(v))} />
            { result_line(&result) }
            if dropped > 0 {
                <p class="rpc-dropped" title="wasm memory never shrinks, so the inbox is bounded">
                    { format!(
                        "{dropped} older {} dropped to make room (the inbox keeps {capacity} requests or {} of params{}, answered and expired ones go first)",
                        if dropped == 1 { "request" } else { "requests" },
                        bytes_in_words(byte_cap),
                        if device.is_some() { " for all devices together" } else { "" },
                    ) }
                </p>
            }
            if entries.is_empty() {
                <p class="empty">{ "No RPC received yet." }</p>
            } else {
                <table class="rpc-inbox" aria-label="RPC inbox">
                    <thead><tr><th>{ "Id" }</th><th>{ "Method" }</th><th>{ "Params" }</th><th>{ "Time" }</th><th>{ "Status" }</th><th>{ "Reply" }</th></tr></thead>
                    <tbody>
                        { for entries.into_iter().map(|e| {
                            let sent = controller.store().reply_to(device.as_deref(), e.id).map(|r| (r.data.to_string(), r.auto));
                            let status = match (&e.status, sent) {
                                (RpcStatus::Pending, _) => "pending".to_string(),
                                (RpcStatus::Replied { .. }, Some((data, auto))) =>
                                    format!("replied{}: {data}", if auto { " by rule" } else { "" }),
                                (RpcStatus::Replied { .. }, None) => "replied".to_string(),
                                (RpcStatus::Expired { .. }, _) => "expired".to_string(),
                            };
                            let open = !matches!(e.status, RpcStatus::Replied { .. });
                            html! {
                                <tr key={e.id.to_string()} class={classes!("rpc", if open { "open" } else { "done" })}>
                                    <td>{ e.id }</td>
                                    <td>{ e.method.clone() }</td>
                                    <td class="value">{ e.params.to_string() }</td>
                                    <td><time>{ clock_time(wall_of(e.received_at)) }</time></td>
                                    <td class="rpc-status">{ status }</td>
                                    <td class="buttons">
                                        if open {
                                            <button type="button" onclick={reply(e.id, None)} aria-label={format!("Send reply to {}", e.id)}>{ "Send reply" }</button>
                                            <button type="button" onclick={reply(e.id, Some(serde_json::json!({"success": true})))} aria-label={format!("Reply success to {}", e.id)}>{ "Success" }</button>
                                            <button type="button" onclick={reply(e.id, Some(serde_json::json!({"success": false, "error": "rejected by browser-gateway"})))} aria-label={format!("Reply error to {}", e.id)}>{ "Error" }</button>
                                        }
                                    </td>
                                </tr>
                            }
                        }) }
                    </tbody>
                </table>
            }
            <AutoReplyRules device={props.device.clone()} />
        </div>
    }
}

/// The auto-reply rules for this device (and the ones for every device).
#[function_component(AutoReplyRules)]
fn auto_reply_rules(props: &RpcTabProps) -> Html {
    let console = use_slices(&[Slice::Device, Slice::Gateway]);
    let controller = console.controller.clone();
    let method = use_state(String::new);
    let mode = use_state(|| "fixed".to_string());
    let json = use_state(|| "{\"success\": true}".to_string());
    let delay = use_state(|| "0".to_string());
    let all_devices = use_state(|| false);
    let result = use_state(|| None::<Result<String, String>>);
    let own_key = props
        .device
        .as_ref()
        .map(|d| d.to_string())
        .unwrap_or_else(|| OWN.to_string());

    let rules: Vec<(usize, Rule)> = controller
        .store()
        .auto_replies
        .rules()
        .iter()
        .cloned()
        .enumerate()
        .filter(|(_, r)| r.device.is_none() || r.device.as_deref() == Some(own_key.as_str()))
        .collect();

    let on_add = {
        let (controller, method, mode, json, delay, all_devices, result, own_key) = (
            controller.clone(),
            method.clone(),
            mode.clone(),
            json.clone(),
            delay.clone(),
            all_devices.clone(),
            result.clone(),
            own_key.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let m = method.trim();
            if m.is_empty() {
                return result.set(Some(Err(
                    "enter a method name, or * for every method".into()
                )));
            }
            let reply = if *mode == "echo" {
                Reply::EchoParams
            } else {
                match parse_json(&json) {
                    Ok(v) => Reply::Fixed(v),
                    Err(message) => return result.set(Some(Err(message))),
                }
            };
            let Ok(delay_ms) = delay.trim().parse::<u64>() else {
                return result.set(Some(Err("delay must be whole milliseconds".into())));
            };
            controller.store_mut().auto_replies.add(Rule {
                method: m.to_string(),
                device: (!*all_devices).then(|| own_key.clone()),
                reply,
                delay_ms,
            });
            result.set(Some(Ok(format!("rule for {m} added"))));
            controller.request_render();
        })
    };

    html! {
        <section class="auto-reply" aria-label="Auto-reply rules">
            <h3>{ "Auto-reply rules" }</h3>
            <form onsubmit={on_add} aria-label="Add auto-reply rule">
                <label for="rule-method">{ "Method" }</label>
                <input id="rule-method" type="text" placeholder="setSpeed or *" value={(*method).clone()}
                    oninput={let m = method.clone(); Callback::from(move |e: InputEvent| m.set(e.target_unchecked_into::<HtmlInputElement>().value()))} />
                <label for="rule-mode">{ "Answer with" }</label>
                <select id="rule-mode" onchange={let m = mode.clone(); Callback::from(move |e: Event| m.set(e.target_unchecked_into::<HtmlSelectElement>().value()))}>
                    <option value="fixed" selected={*mode == "fixed"}>{ "fixed JSON" }</option>
                    <option value="echo" selected={*mode == "echo"}>{ "the request's params" }</option>
                </select>
                if *mode == "fixed" {
                    <JsonEditor id="rule-json" label="Rule reply JSON" rows={2} value={(*json).clone()}
                        on_change={let j = json.clone(); Callback::from(move |v| j.set(v))} />
                }
                <label for="rule-delay">{ "Delay (ms)" }</label>
                <input id="rule-delay" type="number" min="0" value={(*delay).clone()}
                    oninput={let d = delay.clone(); Callback::from(move |e: InputEvent| d.set(e.target_unchecked_into::<HtmlInputElement>().value()))} />
                <label class="inline"><input type="checkbox" checked={*all_devices}
                    onchange={let a = all_devices.clone(); Callback::from(move |e: Event| a.set(e.target_unchecked_into::<HtmlInputElement>().checked()))} />
                    { " For every device" }</label>
                <button type="submit">{ "Add rule" }</button>
                { result_line(&result) }
            </form>
            <ul aria-label="Rules">
                { for rules.into_iter().map(|(i, r)| {
                    let remove = {
                        let c = controller.clone();
                        Callback::from(move |_| { c.store_mut().auto_replies.remove(i); c.request_render(); })
                    };
                    let answer = match &r.reply { Reply::Fixed(v) => v.to_string(), Reply::EchoParams => "the params".into() };
                    html! {
                        <li key={i}>
                            { format!("{} on {} → {} after {} ms ", r.method, r.device.clone().map(|d| if d.is_empty() { "the gateway".to_string() } else { d }).unwrap_or_else(|| "every device".into()), answer, r.delay_ms) }
                            <button type="button" onclick={remove} aria-label={format!("Remove rule {}", r.method)}>{ "Remove" }</button>
                        </li>
                    }
                }) }
            </ul>
        </section>
    }
}
