//! Browser tests of the view's components: each renders into a div of the
//! test page (`yew::Renderer::with_root_and_props`) under a real controller,
//! is driven through the DOM (clicks, input and key events) and waits for
//! renders with `yew::scheduler::flush` and one animation frame (the
//! controller renders at most once per frame): no sleeps, no network. Run by
//! `wasm-pack test --headless --chrome` like the link's tests.
#![cfg(target_arch = "wasm32")]

use std::rc::Rc;

use browser_gateway::console::removal::Removal;
use browser_gateway::core::gateway::model::DeviceState;
use browser_gateway::core::mqtt::{Direction, Event, PacketLog};
use browser_gateway::shell::clock::{epoch_ms, now};
use browser_gateway::view::components::device::rpc_tab::RpcTab;
use browser_gateway::view::components::device_list::DeviceList;
use browser_gateway::view::components::tabs::Tabs;
use browser_gateway::view::components::traffic_log::TrafficLog;
use browser_gateway::view::context::Console;
use browser_gateway::view::controller::Controller;
use bytes::Bytes;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{
    Element, HtmlElement, HtmlInputElement, HtmlTextAreaElement, KeyboardEvent, KeyboardEventInit,
};
use yew::prelude::*;

wasm_bindgen_test_configure!(run_in_browser);

/// The controller a test renders under (compared by pointer).
#[derive(Clone)]
struct Shared(Rc<Controller>);

impl PartialEq for Shared {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

#[derive(Properties, PartialEq)]
struct HostProps {
    controller: Shared,
    /// Which component to render.
    show: &'static str,
}

/// What `App` does for its children: the console context (each component
/// re-renders for the slices it shows).
#[function_component(Host)]
fn host(props: &HostProps) -> Html {
    let console = Console {
        controller: props.controller.0.clone(),
    };
    let device = Some(AttrValue::from(RPC_DEVICE));
    html! {
        <ContextProvider<Console> context={console}>
            { match props.show {
                "devices" => html! { <DeviceList /> },
                "rpc" => html! { <RpcTab {device} /> },
                _ => html! { <TrafficLog /> },
            } }
        </ContextProvider<Console>>
    }
}

const RPC_DEVICE: &str = "Rpc Pump";

/// A fresh controller (nothing kept from an earlier test) and a div on the
/// page with `show` rendered into it.
async fn mount(show: &'static str) -> (Rc<Controller>, Element) {
    let storage = gloo::utils::window().local_storage().unwrap().unwrap();
    storage.clear().unwrap();
    let controller = Controller::new();
    let root = gloo::utils::document().create_element("div").unwrap();
    gloo::utils::body().append_child(&root).unwrap();
    yew::Renderer::<Host>::with_root_and_props(
        root.clone(),
        HostProps {
            controller: Shared(controller.clone()),
            show,
        },
    )
    .render();
    settle().await;
    (controller, root)
}

/// Wait for the next animation frame, then for Yew to finish rendering.
async fn settle() {
    yew::scheduler::flush().await;
    let frame = js_sys::Promise::new(&mut |resolve, _| {
        gloo::utils::window()
            .request_animation_frame(&resolve)
            .unwrap();
    });
    wasm_bindgen_futures::JsFuture::from(frame).await.unwrap();
    yew::scheduler::flush().await;
}

fn find(root: &Element, selector: &str) -> HtmlElement {
    root.query_selector(selector)
        .unwrap()
        .unwrap_or_else(|| panic!("nothing matches {selector}"))
        .unchecked_into()
}

fn all(root: &Element, selector: &str) -> Vec<HtmlElement> {
    let list = root.query_selector_all(selector).unwrap();
    (0..list.length())
        .filter_map(|i| list.item(i))
        .map(|n| n.unchecked_into())
        .collect()
}

/// The button whose text is `text`.
fn button(root: &Element, text: &str) -> HtmlElement {
    all(root, "button")
        .into_iter()
        .find(|b| b.text_content().as_deref().map(str::trim) == Some(text))
        .unwrap_or_else(|| panic!("no button {text:?}"))
}

fn focused() -> Option<Element> {
    gloo::utils::document().active_element()
}

/// Type `text` into an input as a person would (the value, then an `input` event).
fn type_into(input: &HtmlElement, text: &str) {
    if let Some(i) = input.dyn_ref::<HtmlInputElement>() {
        i.set_value(text);
    } else if let Some(t) = input.dyn_ref::<HtmlTextAreaElement>() {
        t.set_value(text);
    }
    let event = web_sys::InputEvent::new("input").unwrap();
    input.dispatch_event(&event).unwrap();
}

#[wasm_bindgen_test]
async fn removing_selected_devices_asks_with_the_count_and_can_be_undone() {
    let (controller, root) = mount("devices").await;
    controller
        .add_devices(&["Rm A".into(), "Rm B".into()], Some("Pump"))
        .unwrap();
    controller
        .add_devices(
            &["Rm C with a very long name that would push the checkbox aside".into()],
            None,
        )
        .unwrap();
    controller
        .act("disconnect", |g, t| g.disconnect_device(t, "Rm B"))
        .unwrap();
    settle().await;
    let long = find(&root, "button[aria-label^='Open Rm C']");
    assert_eq!(
        long.get_attribute("title").as_deref(),
        Some("Rm C with a very long name that would push the checkbox aside"),
        "a long name keeps its full text in a title"
    );

    find(&root, "input[aria-label='Select all shown']").click();
    settle().await;
    button(&root, "Remove selected").click();
    settle().await;
    let question = find(&root, "[role=alertdialog]");
    assert_eq!(
        question.text_content().unwrap().split('?').next().unwrap(),
        "Remove 3 devices",
        "{}",
        Removal::confirm_text(3)
    );
    assert_eq!(
        focused().and_then(|f| f.text_content()).as_deref(),
        Some("Remove 3 devices"),
        "the confirm button has the focus"
    );
    button(&root, "Cancel").click();
    settle().await;
    assert!(root.query_selector("[role=alertdialog]").unwrap().is_none());
    assert_eq!(
        controller.gateway(|g| g.model().devices().len()),
        3,
        "cancel removes nothing"
    );

    button(&root, "Remove selected").click();
    settle().await;
    button(&root, "Remove 3 devices").click();
    settle().await;
    assert_eq!(controller.gateway(|g| g.model().devices().len()), 0);
    let status = find(&root, "[role=status][aria-label=Removal]");
    assert!(status
        .text_content()
        .unwrap()
        .contains("Removed 3 devices."));
    assert_eq!(
        focused().and_then(|f| f.text_content()).as_deref(),
        Some("Undo"),
        "Undo has the focus"
    );

    button(&root, "Undo").click();
    settle().await;
    controller.gateway(|g| {
        let devices = g.model().devices();
        assert_eq!(devices.len(), 3, "every device is back");
        let a = devices.get("Rm A").unwrap();
        assert_eq!(a.device_type.as_deref(), Some("Pump"), "with its type");
        assert!(a.state.wants_connection(), "registered again");
        assert_eq!(
            devices.get("Rm B").unwrap().state,
            DeviceState::Disconnected,
            "and disconnected where it was"
        );
    });
    assert_eq!(controller.store().checked.len(), 3, "ticked as they were");
    assert!(
        all(&root, "button")
            .iter()
            .all(|b| b.text_content().as_deref() != Some("Undo")),
        "undone once"
    );
}

/// A PUBLISH of MQTT 5 (QoS 0, no properties) as the server sends it.
fn publish_v5(topic: &str, payload: &str) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&(topic.len() as u16).to_be_bytes());
    body.extend_from_slice(topic.as_bytes());
    body.push(0); // properties
    body.extend_from_slice(payload.as_bytes());
    let mut packet = vec![0x30];
    let mut len = body.len();
    loop {
        let mut byte = (len % 128) as u8;
        len /= 128;
        if len > 0 {
            byte |= 0x80;
        }
        packet.push(byte);
        if len == 0 {
            break;
        }
    }
    packet.extend_from_slice(&body);
    packet
}

#[wasm_bindgen_test]
async fn an_rpc_is_answered_from_the_rpc_tab_with_typed_json_and_a_bad_reply_is_marked_invalid() {
    let (controller, root) = mount("rpc").await;
    controller.add_devices(&[RPC_DEVICE.into()], None).unwrap();
    // The server's side, fed straight to the gateway: a CONNACK, then an RPC.
    controller
        .act("receive", |g, t| {
            g.handle_open(t);
            g.handle_data(t, &[0x20, 0x03, 0x00, 0x00, 0x00]);
            g.handle_data(
                t,
                &publish_v5(
                    "v1/gateway/rpc",
                    &format!(r#"{{"device":"{RPC_DEVICE}","data":{{"id":7,"method":"getState","params":{{}}}}}}"#),
                ),
            );
            Ok::<_, browser_gateway::core::gateway::GatewayError>(())
        })
        .unwrap();
    settle().await;
    let row = find(&root, "table[aria-label='RPC inbox'] tr.rpc");
    assert!(row.text_content().unwrap().contains("getState"));

    let editor = find(&root, "#rpc-reply");
    type_into(&editor, "{\"state\": ");
    settle().await;
    assert_eq!(
        editor.get_attribute("aria-invalid").as_deref(),
        Some("true")
    );
    let described = editor.get_attribute("aria-describedby").unwrap();
    let error = find(&root, &format!("#{described}"));
    assert!(error.text_content().unwrap().starts_with("not valid JSON"));
    assert!(
        root.query_selector("[role=alert]").unwrap().is_none(),
        "no alert per keystroke"
    );

    type_into(&editor, "{\"state\": \"running\"}");
    settle().await;
    assert_eq!(
        editor.get_attribute("aria-invalid").as_deref(),
        Some("false")
    );
    find(&root, "button[aria-label='Send reply to 7']").click();
    settle().await;
    let status = find(&root, "table[aria-label='RPC inbox'] .rpc-status");
    assert_eq!(
        status.text_content().as_deref(),
        Some(r#"replied: {"state":"running"}"#)
    );
    assert!(find(&root, "[role=status]")
        .text_content()
        .unwrap()
        .contains("reply to 7 sent"));
}

fn packet(direction: Direction, topic: &str, payload: &str) -> Event {
    Event::Packet(PacketLog {
        direction,
        kind: "PUBLISH",
        topic: topic.into(),
        qos: Some(1),
        pkid: Some(1),
        dup: false,
        payload: Bytes::from(payload.to_string()),
        reasons: Bytes::new(),
    })
}

#[wasm_bindgen_test]
async fn the_traffic_log_filters_in_any_case_and_keeps_up_as_packets_arrive() {
    let (controller, root) = mount("log").await;
    let log = |e: Event| {
        controller.store_mut().apply_session(&e, now(), epoch_ms());
        controller.request_render();
    };
    log(packet(
        Direction::Out,
        "v1/gateway/telemetry",
        r#"{"Pump A":[{"t":1}]}"#,
    ));
    log(packet(
        Direction::Out,
        "v1/gateway/telemetry",
        r#"{"Boiler":[{"t":1}]}"#,
    ));
    log(packet(
        Direction::In,
        "v1/gateway/rpc",
        r#"{"device":"PUMP a","data":{}}"#,
    ));
    settle().await;
    let rows = || all(&root, "[role=list][aria-label=Packets] [role=listitem]").len();
    let count = || {
        find(&root, "[aria-label='Log size']")
            .text_content()
            .unwrap()
    };
    assert_eq!(rows(), 3);

    type_into(&find(&root, "#log-topic"), "pump A");
    settle().await;
    assert_eq!(rows(), 2, "{}", count());
    assert!(count().starts_with("2 shown"));

    // New packets are tested as they arrive.
    log(packet(
        Direction::In,
        "v1/gateway/attributes",
        r#"{"device":"pump a"}"#,
    ));
    log(packet(
        Direction::In,
        "v1/gateway/attributes",
        r#"{"device":"Boiler"}"#,
    ));
    settle().await;
    assert_eq!(rows(), 3);

    let direction = find(&root, "#log-direction");
    direction
        .unchecked_ref::<web_sys::HtmlSelectElement>()
        .set_value("out");
    direction
        .dispatch_event(&web_sys::Event::new("change").unwrap())
        .unwrap();
    settle().await;
    assert_eq!(rows(), 1, "{}", count());

    button(&root, "Clear").click();
    settle().await;
    assert_eq!(rows(), 0);
    assert!(count().starts_with("0 shown · 0 kept"));
}

#[derive(Properties, PartialEq)]
struct TabsHostProps {}

#[function_component(TabsHost)]
fn tabs_host(_: &TabsHostProps) -> Html {
    let selected = use_state(|| "One");
    let on_select = {
        let selected = selected.clone();
        Callback::from(move |t| selected.set(t))
    };
    html! {
        <Tabs label="Test tabs" id="t" names={vec!["One", "Two", "Three"]} selected={*selected} {on_select}>
            <p>{ format!("panel {}", *selected) }</p>
        </Tabs>
    }
}

fn key(target: &HtmlElement, key: &str) {
    let init = KeyboardEventInit::new();
    init.set_key(key);
    init.set_bubbles(true);
    init.set_cancelable(true);
    let event = KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap();
    target.dispatch_event(&event).unwrap();
}

#[wasm_bindgen_test]
async fn tabs_follow_the_aria_pattern_with_arrows_home_and_end() {
    let root = gloo::utils::document().create_element("div").unwrap();
    gloo::utils::body().append_child(&root).unwrap();
    yew::Renderer::<TabsHost>::with_root_and_props(root.clone(), TabsHostProps {}).render();
    settle().await;
    let tabs = || all(&root, "[role=tab]");
    let state = || {
        tabs()
            .iter()
            .map(|t| {
                (
                    t.get_attribute("aria-selected").unwrap(),
                    t.get_attribute("tabindex").unwrap(),
                )
            })
            .collect::<Vec<_>>()
    };
    let on = ("true".to_string(), "0".to_string());
    let off = ("false".to_string(), "-1".to_string());
    assert_eq!(
        state(),
        vec![on.clone(), off.clone(), off.clone()],
        "roving tabindex"
    );
    let panel = find(&root, "[role=tabpanel]");
    assert_eq!(panel.id(), "t-panel");
    assert!(tabs()
        .iter()
        .all(|t| t.get_attribute("aria-controls").as_deref() == Some("t-panel")));
    assert_eq!(
        panel.get_attribute("aria-labelledby").as_deref(),
        Some(tabs()[0].id().as_str())
    );

    tabs()[0].focus().unwrap();
    key(&tabs()[0], "ArrowRight");
    settle().await;
    assert_eq!(state(), vec![off.clone(), on.clone(), off.clone()]);
    assert_eq!(
        focused().map(|f| f.id()),
        Some("t-tab-1".into()),
        "the focus moves with the selection"
    );
    assert_eq!(
        find(&root, "[role=tabpanel]").text_content().as_deref(),
        Some("panel Two")
    );
    key(&tabs()[1], "End");
    settle().await;
    assert_eq!(state()[2], on);
    key(&tabs()[2], "ArrowRight");
    settle().await;
    assert_eq!(state()[0], on, "Right wraps to the first");
    key(&tabs()[0], "ArrowLeft");
    settle().await;
    assert_eq!(state()[2], on, "Left wraps to the last");
    key(&tabs()[2], "Home");
    settle().await;
    assert_eq!(state()[0], on);
    assert_eq!(focused().map(|f| f.id()), Some("t-tab-0".into()));
}

#[derive(Properties, PartialEq)]
struct CounterProps {
    controller: Shared,
    renders: Rc<std::cell::Cell<u32>>,
}

#[function_component(CounterHost)]
fn counter_host(props: &CounterProps) -> Html {
    let console = Console {
        controller: props.controller.0.clone(),
    };
    html! {
        <ContextProvider<Console> context={console}>
            <Subscribed controller={props.controller.clone()} renders={props.renders.clone()} />
        </ContextProvider<Console>>
    }
}

/// A component that shows the device list's slice and counts its renders.
#[function_component(Subscribed)]
fn subscribed(props: &CounterProps) -> Html {
    use browser_gateway::console::slices::Slice;
    let _console = browser_gateway::view::context::use_slices(&[Slice::Devices]);
    props.renders.set(props.renders.get() + 1);
    html! { <p>{ "devices" }</p> }
}

#[wasm_bindgen_test]
async fn a_component_re_renders_only_when_a_slice_it_shows_changed() {
    use browser_gateway::console::slices::{Slice, Slices};
    let controller = Controller::new();
    let root = gloo::utils::document().create_element("div").unwrap();
    gloo::utils::body().append_child(&root).unwrap();
    let renders = Rc::new(std::cell::Cell::new(0u32));
    yew::Renderer::<CounterHost>::with_root_and_props(
        root.clone(),
        CounterProps {
            controller: Shared(controller.clone()),
            renders: renders.clone(),
        },
    )
    .render();
    settle().await;
    let first = renders.get();
    assert!(first >= 1);
    // Traffic (the log and the status) does not touch the device list.
    for _ in 0..10 {
        controller.mark(Slices::of(&[Slice::Log, Slice::Status]));
    }
    settle().await;
    settle().await;
    assert_eq!(renders.get(), first, "no render for other slices");
    // Ten changes of its slice before a frame cost one render.
    for _ in 0..10 {
        controller.mark(Slices::of(&[Slice::Devices]));
    }
    settle().await;
    settle().await;
    assert_eq!(
        renders.get(),
        first + 1,
        "one render per frame for its slice"
    );
}
