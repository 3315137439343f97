//! A row of tabs (ARIA tablist): the selected one is pressed.

use yew::prelude::*;

/// Props of [`Tabs`].
#[derive(Properties, PartialEq)]
pub struct TabsProps {
    /// Accessible name of the tab list.
    pub label: AttrValue,
    /// Tab names.
    pub names: Vec<&'static str>,
    /// The selected tab.
    pub selected: &'static str,
    /// Called with the tab chosen.
    pub on_select: Callback<&'static str>,
}

/// Tabs as buttons with role `tab`.
#[function_component(Tabs)]
pub fn tabs(props: &TabsProps) -> Html {
    html! {
        <div class="tabs" role="tablist" aria-label={props.label.clone()}>
            { for props.names.iter().map(|name| {
                let name = *name;
                let on_select = props.on_select.clone();
                let selected = name == props.selected;
                html! {
                    <button type="button" role="tab" aria-selected={selected.to_string()}
                        class={classes!("tab", selected.then_some("selected"))}
                        onclick={Callback::from(move |_| on_select.emit(name))}>{ name }</button>
                }
            }) }
        </div>
    }
}
