//! A virtualized list: only the rows in view (plus a few) are in the DOM, so
//! ten thousand rows cost what twenty do.

use web_sys::HtmlElement;
use yew::prelude::*;

/// Props of [`VirtualList`].
#[derive(Properties, PartialEq)]
pub struct VirtualListProps {
    /// Number of rows.
    pub len: usize,
    /// Height of every row, in CSS pixels.
    pub row_height: u32,
    /// Renders row `index`.
    pub row: Callback<usize, Html>,
    /// Accessible name of the list.
    pub label: AttrValue,
    /// Extra class for the scroll container (its height comes from CSS).
    #[prop_or_default]
    pub class: Classes,
}

const OVERSCAN: usize = 8;

/// A scrollable list that renders only the visible rows.
#[function_component(VirtualList)]
pub fn virtual_list(props: &VirtualListProps) -> Html {
    let scroll_top = use_state(|| 0u32);
    let viewport = use_state(|| 600u32);
    let node = use_node_ref();
    let onscroll = {
        let scroll_top = scroll_top.clone();
        let viewport = viewport.clone();
        Callback::from(move |e: Event| {
            let el = e.target_unchecked_into::<HtmlElement>();
            scroll_top.set(el.scroll_top().max(0) as u32);
            viewport.set(el.client_height().max(0) as u32);
        })
    };
    {
        let node = node.clone();
        let viewport = viewport.clone();
        use_effect_with((), move |_| {
            if let Some(el) = node.cast::<HtmlElement>() {
                let h = el.client_height();
                if h > 0 {
                    viewport.set(h as u32);
                }
            }
        });
    }
    let h = props.row_height.max(1) as usize;
    let first = (*scroll_top as usize / h).saturating_sub(OVERSCAN);
    let last = ((*scroll_top + *viewport) as usize / h + OVERSCAN + 1).min(props.len);
    let total = props.len * h;
    html! {
        <div ref={node} class={classes!("virtual-list", props.class.clone())} {onscroll}
            role="list" aria-label={props.label.clone()} tabindex="0">
            <div class="virtual-spacer" style={format!("height:{total}px")}>
                { for (first..last).map(|i| html! {
                    <div key={i} role="listitem" class="virtual-row"
                        style={format!("top:{}px;height:{h}px", i * h)}>
                        { props.row.emit(i) }
                    </div>
                }) }
            </div>
        </div>
    }
}
