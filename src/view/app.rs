//! The root component: provides the controller to every component and
//! re-renders when the controller asks (at most once per animation frame).

use std::rc::Rc;

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
use super::controller::Controller;

/// What every component gets from the context: the controller and a version
/// that changes on every render the controller asks for.
#[derive(Clone)]
pub struct Console {
    /// The shared controller.
    pub controller: Rc<Controller>,
    /// Bumped once per rendered frame, so consumers re-render.
    pub version: u64,
}

impl PartialEq for Console {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.controller, &other.controller) && self.version == other.version
    }
}

/// The whole page.
#[function_component(App)]
pub fn app() -> Html {
    let controller = use_memo((), |_| Controller::new());
    let version = use_state(|| 0u64);
    {
        let controller = controller.clone();
        let version = version.clone();
        use_effect_with((), move |_| {
            let counter = std::cell::Cell::new(0u64);
            controller.set_render(Callback::from(move |_| {
                counter.set(counter.get() + 1);
                version.set(counter.get());
            }));
        });
    }
    let page = use_state(|| "Devices");
    let console = Console {
        controller: (*controller).clone(),
        version: *version,
    };
    let selected = controller.store().selected.clone();
    let on_select = {
        let page = page.clone();
        Callback::from(move |p| page.set(p))
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
                    <Tabs label="Pages" id="page" names={vec!["Devices", "Gateway", "Load test", "Traffic log"]} selected={*page} {on_select}>
                        { match *page {
                            "Gateway" => html! { <GatewayPage /> },
                            "Load test" => html! { <LoadTestPage /> },
                            "Traffic log" => html! { <TrafficLog /> },
                            _ => html! {
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

/// The console from the context (every component is under [`App`]).
#[hook]
pub fn use_console() -> Console {
    use_context::<Console>().expect("components are rendered inside App")
}
