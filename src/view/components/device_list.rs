//! The device list: filter, sort, add one device or many from a pattern,
//! act on the ticked ones. Virtualized, so ten thousand devices stay smooth.

use std::rc::Rc;

use web_sys::{HtmlElement, HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use super::simulator_panel::SimulatorPanel;
use super::virtual_list::VirtualList;
use crate::console::natural::natural_cmp;
use crate::console::pattern;
use crate::console::removal::{devices_text, Removal, RemovedDevice, UNDO_MS};
use crate::console::slices::Slice;
use crate::core::gateway::model::{Device, DeviceState, Expiry};
use crate::core::gateway::Gateway;
use crate::core::time::Millis;
use crate::shell::clock::{epoch_ms, now};
use crate::view::context::use_slices;
use crate::view::controller::Controller;
use crate::view::format::ago;

/// What the list is sorted by (names break ties, in natural order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    /// Natural name order (`Sensor-2` before `Sensor-10`).
    Name,
    /// Connection state.
    State,
    /// Device type.
    Type,
    /// Most recent activity first.
    Activity,
}

impl SortKey {
    /// Every key, in the order the menu shows them.
    pub const ALL: [SortKey; 4] = [
        SortKey::Name,
        SortKey::State,
        SortKey::Type,
        SortKey::Activity,
    ];

    /// Its value in the menu.
    pub fn value(self) -> &'static str {
        match self {
            SortKey::Name => "name",
            SortKey::State => "state",
            SortKey::Type => "type",
            SortKey::Activity => "activity",
        }
    }

    /// Its words in the menu.
    pub fn label(self) -> &'static str {
        match self {
            SortKey::Activity => "last activity",
            other => other.value(),
        }
    }

    /// The key with menu value `value` (name for anything else).
    pub fn from_value(value: &str) -> SortKey {
        SortKey::ALL
            .into_iter()
            .find(|k| k.value() == value)
            .unwrap_or(SortKey::Name)
    }
}

/// The list's order, cached between renders.
struct Order {
    len: usize,
    filter: String,
    sort: SortKey,
    at: Millis,
    names: Rc<Vec<String>>,
}

/// What "Connect selected" and "Disconnect selected" do to each ticked
/// device (removal asks first: see [`remove_checked`]).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Bulk {
    Connect,
    Disconnect,
}

/// Remove every ticked device, remembering each (type, registration) so
/// that the removal can be undone for a while.
fn remove_checked(controller: &Controller) {
    let names: Vec<String> = controller.store().checked.iter().cloned().collect();
    let kept: Vec<RemovedDevice> = controller.gateway(|g| {
        names
            .iter()
            .filter_map(|name| g.model().devices().get(name))
            .map(|d| RemovedDevice {
                name: d.name.clone(),
                device_type: d.device_type.clone(),
                registered: d.state.wants_connection(),
            })
            .collect()
    });
    for name in &names {
        let _ = controller.act(&format!("remove {name}"), |g, t| {
            g.remove_device(t, name).map(|_| ())
        });
    }
    let mut store = controller.store_mut();
    store.checked.clear();
    if store.selected.as_ref().is_some_and(|s| names.contains(s)) {
        store.selected = None;
    }
    store.undo_removal.removed(kept, epoch_ms());
    drop(store);
    controller.request_render();
}

/// Bring removed devices back: registered again with their types, and
/// disconnected again where they were, ticked as they were.
fn restore(controller: &Controller, removal: Removal) {
    for d in &removal.devices {
        let added = controller.act(&format!("restore {}", d.name), |g, t| {
            g.connect_device(t, &d.name, d.device_type.as_deref())
                .map(|_| ())
        });
        if added.is_ok() && !d.registered {
            let _ = controller.act(&format!("disconnect {}", d.name), |g, t| {
                g.disconnect_device(t, &d.name).map(|_| ())
            });
        }
    }
    let mut store = controller.store_mut();
    store
        .checked
        .extend(removal.devices.iter().map(|d| d.name.clone()));
    drop(store);
    controller.request_render();
}

/// Names of the devices whose name contains `filter` (any case), in `sort` order.
fn sorted_names(g: &Gateway, filter: &str, sort: SortKey, t: Millis) -> Vec<String> {
    let needle = filter.to_lowercase();
    let mut rows: Vec<Row> = g
        .model()
        .devices()
        .iter()
        .filter(|d| needle.is_empty() || d.name.to_lowercase().contains(&needle))
        .map(|d| Row::of(d, t, g.model().config().session_inactivity_ms))
        .collect();
    match sort {
        SortKey::Activity => rows.sort_by(|a, b| {
            a.idle_ms
                .cmp(&b.idle_ms)
                .then_with(|| natural_cmp(&a.name, &b.name))
        }),
        SortKey::State => rows.sort_by(|a, b| {
            a.state
                .cmp(&b.state)
                .then_with(|| natural_cmp(&a.name, &b.name))
        }),
        SortKey::Type => rows.sort_by(|a, b| {
            a.device_type
                .cmp(&b.device_type)
                .then_with(|| natural_cmp(&a.name, &b.name))
        }),
        SortKey::Name => rows.sort_by(|a, b| natural_cmp(&a.name, &b.name)),
    }
    rows.into_iter().map(|r| r.name).collect()
}

/// One row, copied out of the model for rendering.
#[derive(Clone, PartialEq)]
struct Row {
    name: String,
    device_type: String,
    state: String,
    idle_ms: u64,
    telemetry: u64,
    attributes: u64,
    rpc: u64,
}

impl Row {
    fn of(d: &Device, t: Millis, expiry_ms: u64) -> Row {
        let state = match d.expiry(t, expiry_ms) {
            Expiry::Fine => state_text(&d.state),
            Expiry::Soon(ms) => format!("connected · expires in {} s", ms.div_ceil(1000)),
            Expiry::Expired => {
                "expired (the server dropped it; the next message registers it)".into()
            }
        };
        Row {
            name: d.name.clone(),
            device_type: d.device_type.clone().unwrap_or_default(),
            state,
            idle_ms: t.since(d.last_activity),
            telemetry: d.telemetry_sent,
            attributes: d.attributes_sent,
            rpc: d.rpc_received,
        }
    }
}

/// A device state in words.
pub fn state_text(state: &DeviceState) -> String {
    match state {
        DeviceState::Connecting => "connecting".into(),
        DeviceState::Connected => "connected".into(),
        DeviceState::Disconnected => "disconnected".into(),
        DeviceState::Renamed { to } => format!("renamed to {to}"),
        DeviceState::Deleted => "deleted".into(),
    }
}

/// The list of devices with its toolbar and add form.
#[function_component(DeviceList)]
pub fn device_list() -> Html {
    let console = use_slices(&[Slice::Devices]);
    let controller = console.controller.clone();
    let filter = use_state(String::new);
    let sort = use_state(|| SortKey::Name);
    let new_name = use_state(String::new);
    let new_type = use_state(String::new);
    let add_error = use_state(|| None::<String>);
    // The count a removal waits to be confirmed for.
    let confirming = use_state(|| None::<usize>);
    let confirm_button = use_node_ref();
    let remove_button = use_node_ref();
    let undo_button = use_node_ref();
    let undo_timer = use_mut_ref(|| None::<gloo::timers::callback::Timeout>);
    // A button to focus once the next render has put it on the page (the
    // one with the focus may be gone: after removing, Undo gets it; after
    // undoing, "Remove selected").
    let focus_next = use_mut_ref(|| None::<NodeRef>);
    {
        let focus_next = focus_next.clone();
        use_effect(move || {
            let target = focus_next.borrow().clone();
            if let Some(button) = target.and_then(|r| r.cast::<HtmlElement>()) {
                let _ = button.focus();
                focus_next.borrow_mut().take();
            }
        });
    }
    {
        // The focus goes to the question's confirm button when it is asked.
        let confirm_button = confirm_button.clone();
        use_effect_with(*confirming, move |confirming| {
            if confirming.is_some() {
                if let Some(button) = confirm_button.cast::<HtmlElement>() {
                    let _ = button.focus();
                }
            }
        });
    }

    // The order (filter + sort over every device) is the costly part with
    // thousands of devices: it is recomputed only when the device count, the
    // filter or the sort changes, or once a second; the rows in view read
    // their device live.
    let t = now();
    let order = use_mut_ref(|| None::<Order>);
    let total = controller.gateway(|g| g.model().devices().len());
    let rows: Rc<Vec<String>> = {
        let mut cached = order.borrow_mut();
        let stale = cached.as_ref().is_none_or(|o| {
            o.len != total || o.filter != *filter || o.sort != *sort || t.since(o.at) >= 1_000
        });
        if stale {
            *cached = Some(Order {
                len: total,
                filter: (*filter).clone(),
                sort: *sort,
                at: t,
                names: Rc::new(controller.gateway(|g| sorted_names(g, &filter, *sort, t))),
            });
        }
        cached.as_ref().map(|o| o.names.clone()).unwrap_or_default()
    };
    let (selected, checked) = {
        let store = controller.store();
        (store.selected.clone(), Rc::new(store.checked.clone()))
    };
    let n_checked = checked.len();

    let on_add = {
        let controller = controller.clone();
        let new_name = new_name.clone();
        let new_type = new_type.clone();
        let add_error = add_error.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let names = match pattern::expand(&new_name) {
                Ok(names) => names,
                Err(message) => return add_error.set(Some(message)),
            };
            let device_type = (!new_type.trim().is_empty()).then(|| new_type.trim().to_string());
            match controller.add_devices(&names, device_type.as_deref()) {
                Ok(()) => {
                    add_error.set(None);
                    new_name.set(String::new());
                    if names.len() == 1 {
                        let mut store = controller.store_mut();
                        store.telemetry.watch(&names[0]);
                        store.selected = Some(names[0].clone());
                    }
                }
                Err(message) => add_error.set(Some(message)),
            }
        })
    };
    let bulk = |action: Bulk| {
        let controller = controller.clone();
        Callback::from(move |_| {
            let names: Vec<String> = controller.store().checked.iter().cloned().collect();
            for name in &names {
                let _ = match action {
                    Bulk::Connect => controller.act(&format!("connect {name}"), |g, t| {
                        g.connect_device(t, name, None).map(|_| ())
                    }),
                    Bulk::Disconnect => controller.act(&format!("disconnect {name}"), |g, t| {
                        g.disconnect_device(t, name).map(|_| ())
                    }),
                };
            }
            controller.request_render();
        })
    };
    // "Remove selected" asks first, naming the count; once removed, "Undo"
    // is offered for a while.
    let ask_remove = {
        let confirming = confirming.clone();
        Callback::from(move |_| confirming.set(Some(n_checked)))
    };
    let cancel_remove = {
        let confirming = confirming.clone();
        let refocus = remove_button.clone();
        Callback::from(move |_| {
            confirming.set(None);
            if let Some(button) = refocus.cast::<HtmlElement>() {
                let _ = button.focus();
            }
        })
    };
    let do_remove = {
        let (controller, confirming, undo_timer, focus_next, undo_button) = (
            controller.clone(),
            confirming.clone(),
            undo_timer.clone(),
            focus_next.clone(),
            undo_button.clone(),
        );
        Callback::from(move |_| {
            confirming.set(None);
            remove_checked(&controller);
            *focus_next.borrow_mut() = Some(undo_button.clone());
            // Draw once more when the undo is no longer offered.
            let c = controller.clone();
            *undo_timer.borrow_mut() = Some(gloo::timers::callback::Timeout::new(
                UNDO_MS as u32 + 50,
                move || c.request_render(),
            ));
        })
    };
    let undo = {
        let (controller, focus_next, remove_button) = (
            controller.clone(),
            focus_next.clone(),
            remove_button.clone(),
        );
        Callback::from(move |_| {
            *focus_next.borrow_mut() = Some(remove_button.clone());
            let removal = controller.store_mut().undo_removal.take(epoch_ms());
            if let Some(removal) = removal {
                restore(&controller, removal);
            }
        })
    };
    let dismiss_undo = {
        let controller = controller.clone();
        Callback::from(move |_| {
            controller.store_mut().undo_removal.forget();
            controller.request_render();
        })
    };
    let undo_offer = controller
        .store()
        .undo_removal
        .offered(epoch_ms())
        .map(|r| r.done_text());
    let check_all = {
        let controller = controller.clone();
        let rows = rows.clone();
        Callback::from(move |e: Event| {
            let on = e.target_unchecked_into::<HtmlInputElement>().checked();
            let mut store = controller.store_mut();
            if on {
                store.checked.extend(rows.iter().cloned());
            } else {
                store.checked.clear();
            }
            drop(store);
            controller.request_render();
        })
    };
    let row = {
        let rows = rows.clone();
        let controller = controller.clone();
        let checked = checked.clone();
        Callback::from(move |i: usize| {
            let Some(r) = rows.get(i).and_then(|name| {
                controller.gateway(|g| {
                    g.model()
                        .devices()
                        .get(name)
                        .map(|d| Row::of(d, now(), g.model().config().session_inactivity_ms))
                })
            }) else {
                return html! {};
            };
            let name = r.name.clone();
            let open = {
                let controller = controller.clone();
                let name = name.clone();
                Callback::from(move |_| {
                    let mut store = controller.store_mut();
                    store.telemetry.watch(&name);
                    store.selected = Some(name.clone());
                    drop(store);
                    controller.request_render();
                })
            };
            let tick = {
                let controller = controller.clone();
                let name = name.clone();
                Callback::from(move |e: Event| {
                    let on = e.target_unchecked_into::<HtmlInputElement>().checked();
                    let mut store = controller.store_mut();
                    if on {
                        store.checked.insert(name.clone());
                    } else {
                        store.checked.remove(&name);
                    }
                    drop(store);
                    controller.request_render();
                })
            };
            let is_selected = selected.as_deref() == Some(name.as_str());
            html! {
                <div class={classes!("device-row", is_selected.then_some("selected"))}>
                    <input type="checkbox" aria-label={format!("Select {name}")}
                        checked={checked.contains(&name)} onchange={tick} />
                    <button type="button" class="device-name" onclick={open} title={name.clone()}
                        aria-label={format!("Open {name}")}>{ name.clone() }</button>
                    <span class="device-type">{ r.device_type.clone() }</span>
                    <span class={classes!("device-state", r.state.split(' ').next().unwrap_or("").to_string())}>{ r.state.clone() }</span>
                    <span class="device-activity">{ ago(r.idle_ms) }</span>
                    <span class="device-counts" title="telemetry · attributes · RPC">
                        { format!("{} · {} · {}", r.telemetry, r.attributes, r.rpc) }
                    </span>
                </div>
            }
        })
    };
    let simulating = controller.simulation().is_some();
    html! {
        <section class="device-list" aria-label="Devices">
            <form class="add-device" onsubmit={on_add} aria-label="Add devices">
                <label for="add-name">{ "Device name or pattern" }</label>
                <input id="add-name" type="text" placeholder="Pump 7 or Sensor-{1..500}"
                    value={(*new_name).clone()}
                    oninput={let s = new_name.clone(); Callback::from(move |e: InputEvent| s.set(e.target_unchecked_into::<HtmlInputElement>().value()))} />
                <label for="add-type">{ "Device type" }</label>
                <input id="add-type" type="text" placeholder="default"
                    value={(*new_type).clone()}
                    oninput={let s = new_type.clone(); Callback::from(move |e: InputEvent| s.set(e.target_unchecked_into::<HtmlInputElement>().value()))} />
                <button type="submit">{ "Add" }</button>
                if let Some(message) = (*add_error).clone() {
                    <p class="form-error" role="alert">{ message }</p>
                }
            </form>
            <div class="toolbar" role="toolbar" aria-label="Device list controls">
                <input type="checkbox" aria-label="Select all shown" onchange={check_all}
                    checked={n_checked > 0 && n_checked >= rows.len()} />
                <label for="device-filter">{ "Filter" }</label>
                <input id="device-filter" type="search" placeholder="name contains"
                    value={(*filter).clone()}
                    oninput={let f = filter.clone(); Callback::from(move |e: InputEvent| f.set(e.target_unchecked_into::<HtmlInputElement>().value()))} />
                <label for="device-sort">{ "Sort" }</label>
                <select id="device-sort"
                    onchange={let s = sort.clone(); Callback::from(move |e: Event| s.set(SortKey::from_value(&e.target_unchecked_into::<HtmlSelectElement>().value())))}>
                    { for SortKey::ALL.into_iter().map(|k| html! {
                        <option value={k.value()} selected={*sort == k}>{ k.label() }</option>
                    }) }
                </select>
                <span class="log-count" aria-label="Device count">{ format!("{} shown of {total} · {n_checked} selected", rows.len()) }</span>
            </div>
            if n_checked > 0 || simulating {
                <SimulatorPanel />
            }
            if n_checked > 0 {
                <div class="buttons bulk">
                    <button type="button" onclick={bulk(Bulk::Connect)}>{ "Connect selected" }</button>
                    <button type="button" onclick={bulk(Bulk::Disconnect)}>{ "Disconnect selected" }</button>
                    <button type="button" ref={remove_button} onclick={ask_remove}
                        aria-expanded={confirming.is_some().to_string()} aria-controls="remove-confirm">{ "Remove selected" }</button>
                </div>
            }
            if let Some(count) = *confirming {
                <div id="remove-confirm" class="confirm" role="alertdialog" aria-modal="false"
                    aria-labelledby="remove-confirm-text">
                    <p id="remove-confirm-text">{ Removal::confirm_text(count) }</p>
                    <div class="buttons">
                        <button type="button" class="danger" ref={confirm_button} onclick={do_remove}>
                            { format!("Remove {}", devices_text(count)) }
                        </button>
                        <button type="button" onclick={cancel_remove}>{ "Cancel" }</button>
                    </div>
                </div>
            }
            <div class="undo" role="status" aria-label="Removal">
                if let Some(text) = undo_offer {
                    <span>{ text }</span>
                    <button type="button" ref={undo_button} onclick={undo}>{ "Undo" }</button>
                    <button type="button" onclick={dismiss_undo} aria-label="Dismiss the undo">{ "×" }</button>
                }
            </div>
            <VirtualList len={rows.len()} row_height={30} {row} label="Device list" class="devices" />
        </section>
    }
}
