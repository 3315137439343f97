//! One device's page: its state and actions, and the Telemetry, Attributes,
//! RPC and Claim tabs. With no device it is the gateway's own page.

use yew::prelude::*;

use super::attributes_tab::AttributesTab;
use super::claim_tab::ClaimTab;
use super::rpc_tab::RpcTab;
use super::telemetry_tab::TelemetryTab;
use crate::console::slices::Slice;
use crate::view::components::device_list::state_text;
use crate::view::components::tabs::Tabs;
use crate::view::context::use_slices;

/// Props of [`DevicePage`].
#[derive(Properties, PartialEq)]
pub struct DevicePageProps {
    /// The device, or `None` for the gateway itself.
    pub device: Option<AttrValue>,
}

/// A device's header and tabs.
#[function_component(DevicePage)]
pub fn device_page(props: &DevicePageProps) -> Html {
    let console = use_slices(&[Slice::Device, Slice::Devices, Slice::Gateway]);
    let controller = console.controller.clone();
    let tab = use_state(|| "Telemetry");
    let device = props.device.clone();
    let header = match &device {
        Some(name) => {
            let info = controller.gateway(|g| {
                g.model().devices().get(name).map(|d| {
                    (
                        state_text(&d.state),
                        d.device_type.clone().unwrap_or_else(|| "default".into()),
                    )
                })
            });
            let Some((state, device_type)) = info else {
                return html! { <p class="empty">{ format!("{name} is no longer in the list.") }</p> };
            };
            let act = |what: &'static str| {
                let (c, name) = (controller.clone(), name.to_string());
                Callback::from(move |_| {
                    let _ = match what {
                        "connect" => c.act(&format!("connect {name}"), |g, t| {
                            g.connect_device(t, &name, None).map(|_| ())
                        }),
                        "disconnect" => c.act(&format!("disconnect {name}"), |g, t| {
                            g.disconnect_device(t, &name).map(|_| ())
                        }),
                        _ => {
                            let r = c.act(&format!("remove {name}"), |g, t| {
                                g.remove_device(t, &name).map(|_| ())
                            });
                            let mut store = c.store_mut();
                            store.selected = None;
                            store.checked.remove(&name);
                            r
                        }
                    };
                    c.request_render();
                })
            };
            html! {
                <header class="device-header">
                    <h2>{ name.to_string() }</h2>
                    <span class="device-type">{ device_type }</span>
                    <span class="device-state" aria-label="Device state">{ state }</span>
                    <div class="buttons">
                        <button type="button" onclick={act("connect")}>{ "Connect device" }</button>
                        <button type="button" onclick={act("disconnect")}>{ "Disconnect device" }</button>
                        <button type="button" onclick={act("remove")}>{ "Remove device" }</button>
                    </div>
                </header>
            }
        }
        None => html! { <header class="device-header"><h2>{ "The gateway itself" }</h2></header> },
    };
    let on_select = {
        let tab = tab.clone();
        Callback::from(move |t| tab.set(t))
    };
    html! {
        <section class="device-page" aria-label={device.clone().map(|d| format!("Device {d}")).unwrap_or_else(|| "Gateway".into())}>
            { header }
            <Tabs label="Device tabs" id={if device.is_some() { "device" } else { "gateway" }} names={vec!["Telemetry", "Attributes", "RPC", "Claim"]} selected={*tab} {on_select}>
                { match *tab {
                    "Attributes" => html! { <AttributesTab device={device.clone()} /> },
                    "RPC" => html! { <RpcTab device={device.clone()} /> },
                    "Claim" => html! { <ClaimTab device={device.clone()} /> },
                    _ => html! { <TelemetryTab device={device.clone()} /> },
                } }
            </Tabs>
        </section>
    }
}
