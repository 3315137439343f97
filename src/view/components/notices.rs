//! Errors and warnings as readable notices, newest first.

use yew::prelude::*;

use crate::console::slices::Slice;
use crate::view::context::use_slices;
use crate::view::format::clock_time;

/// The list of notices, with a button to dismiss them all.
#[function_component(Notices)]
pub fn notices() -> Html {
    let console = use_slices(&[Slice::Notices]);
    let store = console.controller.store();
    if store.notices.is_empty() {
        return html! {};
    }
    let clear = {
        let c = console.controller.clone();
        Callback::from(move |_| {
            c.store_mut().notices.clear();
            c.request_render();
        })
    };
    html! {
        <div class="notices" role="log" aria-label="Notices">
            <button type="button" class="dismiss" onclick={clear}>{ "Dismiss all" }</button>
            <ul>
                { for store.notices.iter().rev().take(5).map(|n| html! {
                    <li key={n.seq} class="notice">
                        <time>{ clock_time(n.time_ms) }</time>{ " " }{ n.text.clone() }
                    </li>
                }) }
            </ul>
        </div>
    }
}
