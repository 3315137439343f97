//! A JSON text area that says whether its text is valid JSON as the person
//! types, so nothing invalid is ever sent.

use serde_json::Value;
use web_sys::HtmlTextAreaElement;
use yew::prelude::*;

/// Props of [`JsonEditor`].
#[derive(Properties, PartialEq)]
pub struct JsonEditorProps {
    /// Element id (for the label's `for`).
    pub id: AttrValue,
    /// Accessible name.
    pub label: AttrValue,
    /// The text.
    pub value: AttrValue,
    /// Called with the new text on every change.
    pub on_change: Callback<String>,
    /// Rows of the text area.
    #[prop_or(4)]
    pub rows: u32,
}

/// Parse `text` as JSON with an error a person can act on.
pub fn parse_json(text: &str) -> Result<Value, String> {
    serde_json::from_str(text.trim()).map_err(|e| format!("not valid JSON: {e}"))
}

/// A labelled text area with a live validity line under it.
#[function_component(JsonEditor)]
pub fn json_editor(props: &JsonEditorProps) -> Html {
    let oninput = {
        let on_change = props.on_change.clone();
        Callback::from(move |e: InputEvent| {
            on_change.emit(e.target_unchecked_into::<HtmlTextAreaElement>().value())
        })
    };
    let check = if props.value.trim().is_empty() {
        html! {}
    } else {
        match parse_json(&props.value) {
            Ok(_) => html! { <span class="json-ok">{ "valid JSON" }</span> },
            Err(e) => html! { <span class="json-bad" role="alert">{ e }</span> },
        }
    };
    html! {
        <div class="json-editor">
            <label for={props.id.clone()}>{ props.label.clone() }</label>
            <textarea id={props.id.clone()} rows={props.rows.to_string()} spellcheck="false"
                value={props.value.clone()} {oninput} />
            { check }
        </div>
    }
}
