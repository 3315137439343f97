//! The connect form: where to connect and how to authenticate.

use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use crate::console::profiles::{AuthMode, MqttVersion, Profile};
use crate::console::slices::Slice;
use crate::core::mqtt::{Credentials, Protocol};
use crate::shell::link::LinkStatus;
use crate::view::context::use_slices;
use crate::view::controller::ConnectSettings;
use crate::view::format::clock_time;

#[derive(Clone, PartialEq)]
struct Form {
    name: String,
    remember: bool,
    url: String,
    auth: String,
    token: String,
    client_id: String,
    username: String,
    password: String,
    keep_alive: String,
    subprotocol: String,
    mqtt: String,
    bridged: bool,
    expiry: String,
}

impl Default for Form {
    fn default() -> Self {
        Form {
            name: "local".into(),
            remember: false,
            url: "ws://127.0.0.1:9001".into(),
            auth: "token".into(),
            token: String::new(),
            client_id: String::new(),
            username: String::new(),
            password: String::new(),
            keep_alive: "60".into(),
            subprotocol: "mqtt".into(),
            mqtt: "5".into(),
            bridged: false,
            expiry: "600".into(),
        }
    }
}

impl Form {
    fn from_profile(p: &Profile) -> Form {
        let auth = match p.auth {
            AuthMode::Token => "token",
            AuthMode::Basic => "basic",
            AuthMode::None => "none",
        };
        Form {
            name: p.name.clone(),
            remember: p.remember_secret,
            url: p.url.clone(),
            auth: auth.into(),
            token: if p.auth == AuthMode::Token {
                p.secret.clone()
            } else {
                String::new()
            },
            client_id: p.client_id.clone(),
            username: p.username.clone(),
            password: if p.auth == AuthMode::Basic {
                p.secret.clone()
            } else {
                String::new()
            },
            keep_alive: p.keep_alive_secs.to_string(),
            subprotocol: p.subprotocol.clone(),
            mqtt: match p.mqtt {
                MqttVersion::V5 => "5",
                MqttVersion::V311 => "3.1.1",
            }
            .into(),
            bridged: p.bridged,
            expiry: p.sub_device_expiry_secs.to_string(),
        }
    }

    fn profile(&self) -> Profile {
        let auth = match self.auth.as_str() {
            "basic" => AuthMode::Basic,
            "none" => AuthMode::None,
            _ => AuthMode::Token,
        };
        Profile {
            name: self.name.trim().to_string(),
            url: self.url.trim().to_string(),
            auth,
            client_id: self.client_id.trim().to_string(),
            username: self.username.clone(),
            keep_alive_secs: self.keep_alive.trim().parse().unwrap_or(60),
            subprotocol: self.subprotocol.clone(),
            mqtt: self.version(),
            bridged: self.bridged,
            sub_device_expiry_secs: self.expiry.trim().parse().unwrap_or(600),
            remember_secret: self.remember,
            secret: match auth {
                AuthMode::Token => self.token.trim().to_string(),
                AuthMode::Basic => self.password.clone(),
                AuthMode::None => String::new(),
            },
        }
    }

    fn version(&self) -> MqttVersion {
        if self.mqtt == "3.1.1" {
            MqttVersion::V311
        } else {
            MqttVersion::V5
        }
    }

    fn settings(&self) -> Result<ConnectSettings, String> {
        let expiry_secs: u32 = self.expiry.trim().parse().map_err(|_| {
            "the sub-device session expiry must be a whole number of seconds (0: never)".to_string()
        })?;
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
            protocol: match self.version() {
                MqttVersion::V5 => Protocol::V5,
                MqttVersion::V311 => Protocol::V311,
            },
            bridged: self.bridged,
            sub_device_expiry_ms: u64::from(expiry_secs) * 1000,
        })
    }
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

/// The connect form with Connect, Disconnect and Cancel reconnect buttons.
#[function_component(ConnectForm)]
pub fn connect_form() -> Html {
    let console = use_slices(&[Slice::Connection, Slice::Status]);
    let form = {
        let controller = console.controller.clone();
        use_state(move || {
            controller
                .profiles()
                .last_used()
                .map(Form::from_profile)
                .unwrap_or_default()
        })
    };
    let error = use_state(|| None::<String>);
    let saved: Vec<String> = console
        .controller
        .profiles()
        .list
        .iter()
        .map(|p| p.name.clone())
        .collect();

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
                    if !form.name.trim().is_empty() {
                        let profile = form.profile();
                        controller.update_profiles(|p| p.save(profile));
                    }
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
    let on_pick = {
        let form = form.clone();
        let controller = console.controller.clone();
        Callback::from(move |e: Event| {
            let name = e.target_unchecked_into::<HtmlSelectElement>().value();
            if let Some(p) = controller.profiles().get(&name) {
                form.set(Form::from_profile(p));
            }
        })
    };
    let on_save = {
        let form = form.clone();
        let error = error.clone();
        let controller = console.controller.clone();
        Callback::from(move |_| {
            if form.name.trim().is_empty() {
                return error.set(Some("give the profile a name".into()));
            }
            error.set(None);
            let profile = form.profile();
            controller.update_profiles(|p| p.save(profile));
        })
    };
    let on_delete = {
        let form = form.clone();
        let controller = console.controller.clone();
        Callback::from(move |_| {
            let name = form.name.trim().to_string();
            controller.update_profiles(|p| p.remove(&name));
        })
    };
    let status = console.controller.status();
    let busy = matches!(
        status,
        LinkStatus::Connecting | LinkStatus::Connected | LinkStatus::Reconnecting { .. }
    );

    html! {
        <form class="connect-form" onsubmit={on_submit} aria-label="Connect">
            <label for="cf-profile">{ "Saved profiles" }</label>
            <select id="cf-profile" onchange={on_pick}>
                <option value="" selected={!saved.contains(&form.name)}>{ if saved.is_empty() { "none saved yet" } else { "choose…" } }</option>
                { for saved.iter().map(|n| html! { <option value={n.clone()} selected={*n == form.name}>{ n.clone() }</option> }) }
            </select>
            <label for="cf-name">{ "Profile name" }</label>
            <input id="cf-name" type="text" value={form.name.clone()} oninput={text(|f| &mut f.name)} />
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
            <label for="cf-mqtt">{ "MQTT version" }</label>
            <select id="cf-mqtt" onchange={select(|f| &mut f.mqtt)}>
                <option value="5" selected={form.mqtt == "5"}>{ "5 (reason codes, no echoes)" }</option>
                <option value="3.1.1" selected={form.mqtt == "3.1.1"}>{ "3.1.1" }</option>
            </select>
            <label for="cf-expiry" title="ThingsBoard drops a sub-device from the gateway session after this long without a message for it (transport.sessions.inactivity_timeout); the gateway sends a keep-alive before. 0 when the gateway device has 'Overwrite activity time'.">{ "Sub-device expiry (s)" }</label>
            <input id="cf-expiry" type="number" min="0" value={form.expiry.clone()}
                oninput={text(|f| &mut f.expiry)} />
            <label class="inline bridged" title="The URL is a broker bridged to ThingsBoard (README setup B): under MQTT 3.1.1 it sends your own publishes back, which are then recognised and ignored; and the page watches the bridge's state to register every device again when it reconnects.">
                <input type="checkbox" checked={form.bridged}
                    onchange={let form = form.clone(); Callback::from(move |e: Event| {
                        let mut next = (*form).clone();
                        next.bridged = e.target_unchecked_into::<HtmlInputElement>().checked();
                        form.set(next);
                    })} />
                { " Bridged broker (mosquitto bridge to ThingsBoard)" }
            </label>
            if form.auth != "none" {
                <label class="inline remember">
                    <input type="checkbox" checked={form.remember}
                        onchange={let form = form.clone(); Callback::from(move |e: Event| {
                            let mut next = (*form).clone();
                            next.remember = e.target_unchecked_into::<HtmlInputElement>().checked();
                            form.set(next);
                        })} />
                    { " Remember the secret in this browser" }
                </label>
            }
            if let Some(message) = (*error).clone() {
                <p class="form-error" role="alert">{ message }</p>
            }
            if console.controller.asking_tabs() {
                <p class="form-ok" role="status">{ "Checking whether another tab of this browser holds this session…" }</p>
            }
            if let Some(since) = console.controller.tab_conflict() {
                <div class="tab-conflict" role="alert">
                    <p>{ format!("Another tab of this browser has held this gateway's session since {}. Connecting here disconnects it: ThingsBoard keeps one session per token.", clock_time(since)) }</p>
                    <div class="buttons">
                        <button type="button" onclick={let c = console.controller.clone(); Callback::from(move |_| c.take_over_from_tab())}>{ "Connect here" }</button>
                        <button type="button" onclick={let c = console.controller.clone(); Callback::from(move |_| c.cancel_connect())}>{ "Cancel" }</button>
                    </div>
                </div>
            }
            <div class="buttons">
                <button type="submit">{ if busy { "Reconnect" } else { "Connect" } }</button>
                <button type="button" onclick={on_disconnect} disabled={!busy}>{ "Disconnect" }</button>
                <button type="button" onclick={on_save}>{ "Save profile" }</button>
                <button type="button" onclick={on_delete} disabled={!saved.contains(&form.name)}>{ "Delete profile" }</button>
            </div>
        </form>
    }
}
