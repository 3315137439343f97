//! Tabs by the WAI-ARIA tabs pattern: a `tablist` of `tab` buttons and the
//! selected tab's `tabpanel`.
//!
//! - Each tab says whether it is selected (`aria-selected`) and which panel
//!   it controls (`aria-controls`); the panel is named by its tab
//!   (`aria-labelledby`).
//! - Roving tabindex: only the selected tab is in the Tab order; Tab moves
//!   from it into the panel.
//! - Left and Right move to the previous and next tab (wrapping), Home and
//!   End to the first and last; the tab moved to is selected at once
//!   (automatic activation) and gets the focus.

use wasm_bindgen::JsCast;
use web_sys::{HtmlElement, KeyboardEvent};
use yew::prelude::*;

/// Props of [`Tabs`].
#[derive(Properties, PartialEq)]
pub struct TabsProps {
    /// Accessible name of the tab list.
    pub label: AttrValue,
    /// Prefix of the element ids of the tabs and the panel (unique on the page).
    pub id: AttrValue,
    /// Tab names.
    pub names: Vec<&'static str>,
    /// The selected tab.
    pub selected: &'static str,
    /// Called with the tab chosen.
    pub on_select: Callback<&'static str>,
    /// The selected tab's panel content.
    #[prop_or_default]
    pub children: Html,
    /// Extra class for the panel.
    #[prop_or_default]
    pub panel_class: Classes,
}

/// The tab to move to from `at` (of `len`) on `key`, if the key moves.
pub fn next_tab(key: &str, at: usize, len: usize) -> Option<usize> {
    if len == 0 {
        return None;
    }
    match key {
        "ArrowRight" => Some((at + 1) % len),
        "ArrowLeft" => Some((at + len - 1) % len),
        "Home" => Some(0),
        "End" => Some(len - 1),
        _ => None,
    }
}

/// The element id of tab `index` under `prefix`.
fn tab_id(prefix: &str, index: usize) -> String {
    format!("{prefix}-tab-{index}")
}

/// A tab list and the selected tab's panel.
#[function_component(Tabs)]
pub fn tabs(props: &TabsProps) -> Html {
    let prefix = props.id.to_string();
    let panel_id = format!("{prefix}-panel");
    let selected_index = props
        .names
        .iter()
        .position(|n| *n == props.selected)
        .unwrap_or(0);
    let onkeydown = {
        let (names, on_select, prefix) =
            (props.names.clone(), props.on_select.clone(), prefix.clone());
        Callback::from(move |e: KeyboardEvent| {
            let Some(at) = e
                .target()
                .and_then(|t| t.dyn_into::<HtmlElement>().ok())
                .and_then(|t| t.get_attribute("data-index"))
                .and_then(|i| i.parse::<usize>().ok())
            else {
                return;
            };
            let Some(to) = next_tab(&e.key(), at, names.len()) else {
                return;
            };
            e.prevent_default();
            on_select.emit(names[to]);
            if let Some(tab) = gloo::utils::document()
                .get_element_by_id(&tab_id(&prefix, to))
                .and_then(|t| t.dyn_into::<HtmlElement>().ok())
            {
                let _ = tab.focus();
            }
        })
    };
    html! {
        <>
            <div class="tabs" role="tablist" aria-label={props.label.clone()} onkeydown={onkeydown}>
                { for props.names.iter().enumerate().map(|(i, name)| {
                    let name = *name;
                    let on_select = props.on_select.clone();
                    let selected = i == selected_index;
                    html! {
                        <button type="button" role="tab" id={tab_id(&prefix, i)} data-index={i.to_string()}
                            aria-selected={selected.to_string()} aria-controls={panel_id.clone()}
                            tabindex={if selected { "0" } else { "-1" }}
                            class={classes!("tab", selected.then_some("selected"))}
                            onclick={Callback::from(move |_| on_select.emit(name))}>{ name }</button>
                    }
                }) }
            </div>
            <div class={classes!("tab-body", props.panel_class.clone())} role="tabpanel" id={panel_id.clone()}
                aria-labelledby={tab_id(&prefix, selected_index)} tabindex="0">
                { props.children.clone() }
            </div>
        </>
    }
}
