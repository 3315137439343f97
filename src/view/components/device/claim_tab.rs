//! Claiming: publish a claim with a secret key and a duration.

use web_sys::HtmlInputElement;
use yew::prelude::*;

use super::telemetry_tab::result_line;
use crate::console::slices::Slice;
use crate::view::context::use_slices;

/// Props of [`ClaimTab`].
#[derive(Properties, PartialEq)]
pub struct ClaimTabProps {
    /// The device, or `None` for the gateway itself.
    pub device: Option<AttrValue>,
}

/// The claim form.
#[function_component(ClaimTab)]
pub fn claim_tab(props: &ClaimTabProps) -> Html {
    let console = use_slices(&[Slice::Device, Slice::Gateway]);
    let controller = console.controller.clone();
    let secret = use_state(String::new);
    let duration = use_state(|| "60000".to_string());
    let result = use_state(|| None::<Result<String, String>>);
    let on_submit = {
        let (controller, secret, duration, result) = (
            controller.clone(),
            secret.clone(),
            duration.clone(),
            result.clone(),
        );
        let device = props.device.as_ref().map(|d| d.to_string());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let duration_ms = match duration.trim() {
                "" => None,
                d => match d.parse::<u64>() {
                    Ok(ms) => Some(ms),
                    Err(_) => return result.set(Some(Err("duration must be whole milliseconds, or empty for the server's default (24 h)".into()))),
                },
            };
            let key = (!secret.is_empty()).then(|| (*secret).clone());
            let outcome = match &device {
                Some(d) => controller.act("claim", |g, t| g.claim(t, d, key, duration_ms)),
                None => {
                    controller.act("claim the gateway", |g, t| g.claim_own(t, key, duration_ms))
                }
            };
            result.set(Some(outcome.map(|_| "claim sent".to_string())));
        })
    };
    html! {
        <form class="claim" onsubmit={on_submit} aria-label="Claim">
            <p>{ "Lets a ThingsBoard customer claim this device with the secret key, within the duration." }</p>
            <label for="claim-secret">{ "Secret key" }</label>
            <input id="claim-secret" type="text" autocomplete="off" value={(*secret).clone()}
                oninput={let s = secret.clone(); Callback::from(move |e: InputEvent| s.set(e.target_unchecked_into::<HtmlInputElement>().value()))} />
            <label for="claim-duration">{ "Duration (ms)" }</label>
            <input id="claim-duration" type="number" min="0" value={(*duration).clone()}
                oninput={let d = duration.clone(); Callback::from(move |e: InputEvent| d.set(e.target_unchecked_into::<HtmlInputElement>().value()))} />
            <button type="submit">{ "Send claim" }</button>
            { result_line(&result) }
        </form>
    }
}
