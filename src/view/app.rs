//! The root component: provides the controller to every component and
//! re-renders when the controller asks (at most once per animation frame).

use yew::prelude::*;

use super::components::connect_form::ConnectForm;
use super::components::device::page::DevicePage;
use super::components::device_list::DeviceList;
use super::components::gateway_page::GatewayPage;
use super::components::loadtest::page::LoadTestPage;
use super::components::loadtest::scenario_offer::ScenarioOffer;
use super::components::notices::Notices;
use super::components::status_bar::StatusBar;
use super::components::tabs::Tabs;
use super::components::traffic_log::TrafficLog;
use super::context::Console;
use super::controller::Controller;
use crate::console::slices::{Slice, Slices};

/// The pages of the workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    /// The device list and the open device.
    Devices,
    /// The gateway itself.
    Gateway,
    /// Load-test runs and their results.
    LoadTest,
    /// Every packet in and out.
    TrafficLog,
}

impl Page {
    /// Every page, in tab order.
    pub const ALL: [Page; 4] = [
        Page::Devices,
        Page::Gateway,
        Page::LoadTest,
        Page::TrafficLog,
    ];

    /// Its tab's name.
    pub fn label(self) -> &'static str {
        match self {
            Page::Devices => "Devices",
            Page::Gateway => "Gateway",
            Page::LoadTest => "Load test",
            Page::TrafficLog => "Traffic log",
        }
    }

    /// The page whose tab is named `label` (the devices for anything else).
    pub fn from_label(label: &str) -> Page {
        Page::ALL
            .into_iter()
            .find(|p| p.label() == label)
            .unwrap_or(Page::Devices)
    }
}

/// The whole page.
#[function_component(App)]
pub fn app() -> Html {
    let controller = use_memo((), |_| Controller::new());
    // The page's frame changes with the open device only; every component
    // below re-renders for the slices it shows (see view::context).
    let force = use_force_update();
    {
        let controller = controller.clone();
        use_effect_with((), move |_| {
            let id = controller.subscribe(
                Slices::of(&[Slice::Frame, Slice::Devices]),
                Callback::from(move |_| force.force_update()),
            );
            let controller = controller.clone();
            move || controller.unsubscribe(id)
        });
    }
    let page = use_state(|| Page::Devices);
    let console = Console {
        controller: (*controller).clone(),
    };
    let selected = controller.store().selected.clone();
    let on_select = {
        let page = page.clone();
        Callback::from(move |label: &'static str| page.set(Page::from_label(label)))
    };
    html! {
        <ContextProvider<Console> context={console}>
            <header class="top">
                <h1>{ "browser-gateway" }</h1>
                <StatusBar />
            </header>
            <main class="layout">
                <section class="panel connect-panel" aria-label="Connection">
                    <ConnectForm />
                </section>
                <section class="panel work" aria-label="Workspace">
                    <Notices />
                    <ScenarioOffer />
                    <Tabs label="Pages" id="page" names={Page::ALL.iter().map(|p| p.label()).collect::<Vec<_>>()} selected={page.label()} {on_select}>
                        { match *page {
                            Page::Gateway => html! { <GatewayPage /> },
                            Page::LoadTest => html! { <LoadTestPage /> },
                            Page::TrafficLog => html! { <TrafficLog /> },
                            Page::Devices => html! {
                                <div class="devices-page">
                                    <DeviceList />
                                    { match selected {
                                        Some(d) => {
                                            let device = Some(AttrValue::from(d.clone()));
                                            html! { <DevicePage key={d} {device} /> }
                                        }
                                        None => html! { <p class="empty">{ "Add a device, or open one from the list." }</p> },
                                    } }
                                </div>
                            },
                        } }
                    </Tabs>
                </section>
            </main>
        </ContextProvider<Console>>
    }
}
