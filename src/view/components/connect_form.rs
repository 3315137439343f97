//! The connect form: where to connect and how to authenticate.

use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use crate::core::mqtt::Credentials;
use crate::shell::link::LinkStatus;
use crate::view::app::use_console;
use crate::view::controller::ConnectSettings;

#[derive(Clone, PartialEq)]
struct Form {
    url: String,
    auth: String,
    token: String,
    client_id: String,
    username: String,
    password: String,
    keep_alive: String,
    subprotocol: String,
}

impl Default for Form {
    fn default() -> Self {
        Form {
            url: "ws://127.0.0.1:9001".into(),
            auth: "token".into(),
            token: String::new(),
            client_id: String::new(),
            username: String::new(),
            password: String::new(),
            keep_alive: "60".into(),
            subprotocol: "mqtt".into(),
        }
    }
}

impl Form {
    fn settings(&self) -> Result<ConnectSettings, String> {
        let keep_alive_secs: u16 = self.keep_alive.trim().parse().map_err(|_| {
            "keepalive must be a whole number of seconds from 0 to 65535".to_string()
        })?;
        let credentials = match self.auth.as_str() {
            "token" => {
                if self.token.trim().is_empty() {
                    return Err("enter the gateway's access token".into());
                }
                Credentials::AccessToken(self.token.trim().to_string())
            }
            "basic" => Credentials::Basic {
                username: non_empty(&self.username),
                password: non_empty(&self.password),
            },
            _ => Credentials::Anonymous,
        };
        let client_id = if self.client_id.trim().is_empty() {
            format!(
                "browser-gateway-{:06x}",
                (js_sys::Math::random() * 16_777_215.0) as u32
            )
        } else {
            self.client_id.trim().to_string()
        };
        Ok(ConnectSettings {
            url: self.url.trim().to_string(),
            subprotocol: self.subprotocol.clone(),
            client_id,
            credentials,
            keep_alive_secs,
        })
    }
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

/// The connect form with Connect, Disconnect and Cancel reconnect buttons.
#[function_component(ConnectForm)]
pub fn connect_form() -> Html {
    let console = use_console();
    let form = use_state(Form::default);
    let error = use_state(|| None::<String>);

    let text = |field: fn(&mut Form) -> &mut String| {
        let form = form.clone();
        Callback::from(move |e: InputEvent| {
            let value = e.target_unchecked_into::<HtmlInputElement>().value();
            let mut next = (*form).clone();
            *field(&mut next) = value;
            form.set(next);
        })
    };
    let select = |field: fn(&mut Form) -> &mut String| {
        let form = form.clone();
        Callback::from(move |e: Event| {
            let value = e.target_unchecked_into::<HtmlSelectElement>().value();
            let mut next = (*form).clone();
            *field(&mut next) = value;
            form.set(next);
        })
    };

    let on_submit = {
        let form = form.clone();
        let error = error.clone();
        let controller = console.controller.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            match form.settings() {
                Ok(settings) => {
                    error.set(None);
                    controller.connect(settings);
                }
                Err(message) => error.set(Some(message)),
            }
        })
    };
    let on_disconnect = {
        let controller = console.controller.clone();
        Callback::from(move |_| controller.disconnect())
    };
    let status = console.controller.status();
    let busy = matches!(
        status,
        LinkStatus::Connecting | LinkStatus::Connected | LinkStatus::Reconnecting { .. }
    );

    html! {
        <form class="connect-form" onsubmit={on_submit} aria-label="Connect">
            <label for="cf-url">{ "URL" }</label>
            <input id="cf-url" type="text" value={form.url.clone()} oninput={text(|f| &mut f.url)}
                placeholder="ws://host:port or wss://host/path" spellcheck="false" />
            <label for="cf-auth">{ "Authentication" }</label>
            <select id="cf-auth" onchange={select(|f| &mut f.auth)}>
                <option value="token" selected={form.auth == "token"}>{ "Access token" }</option>
                <option value="basic" selected={form.auth == "basic"}>{ "MQTT basic" }</option>
                <option value="none" selected={form.auth == "none"}>{ "None" }</option>
            </select>
            if form.auth == "token" {
                <label for="cf-token">{ "Access token" }</label>
                <input id="cf-token" type="password" autocomplete="off" value={form.token.clone()}
                    oninput={text(|f| &mut f.token)} />
            }
            if form.auth == "basic" {
                <label for="cf-username">{ "Username" }</label>
                <input id="cf-username" type="text" autocomplete="off" value={form.username.clone()}
                    oninput={text(|f| &mut f.username)} />
                <label for="cf-password">{ "Password" }</label>
                <input id="cf-password" type="password" autocomplete="off" value={form.password.clone()}
                    oninput={text(|f| &mut f.password)} />
            }
            <label for="cf-client-id">{ "Client ID" }</label>
            <input id="cf-client-id" type="text" value={form.client_id.clone()} placeholder="generated if empty"
                oninput={text(|f| &mut f.client_id)} />
            <label for="cf-keepalive">{ "Keepalive (s)" }</label>
            <input id="cf-keepalive" type="number" min="0" max="65535" value={form.keep_alive.clone()}
                oninput={text(|f| &mut f.keep_alive)} />
            <label for="cf-subprotocol">{ "Subprotocol" }</label>
            <select id="cf-subprotocol" onchange={select(|f| &mut f.subprotocol)}>
                { for ["mqtt", "mqttv3.1", "binary"].iter().map(|p| html! {
                    <option value={*p} selected={form.subprotocol == *p}>{ *p }</option>
                }) }
            </select>
            if let Some(message) = (*error).clone() {
                <p class="form-error" role="alert">{ message }</p>
            }
            <div class="buttons">
                <button type="submit">{ if busy { "Reconnect" } else { "Connect" } }</button>
                <button type="button" onclick={on_disconnect} disabled={!busy}>{ "Disconnect" }</button>
            </div>
        </form>
    }
}
