//! A JSON text area that says whether its text is valid JSON as the person
//! types, so nothing invalid is ever sent.
//!
//! Invalid text marks the text area `aria-invalid` and describes it by the
//! error (`aria-describedby`): a screen reader reads the error when the
//! person is on the field, instead of an alert interrupting every keystroke.

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

/// A labelled text area with a validity line under it that describes it.
#[function_component(JsonEditor)]
pub fn json_editor(props: &JsonEditorProps) -> Html {
    let oninput = {
        let on_change = props.on_change.clone();
        Callback::from(move |e: InputEvent| {
            on_change.emit(e.target_unchecked_into::<HtmlTextAreaElement>().value())
        })
    };
    let check_id = format!("{}-check", props.id);
    let error = if props.value.trim().is_empty() {
        None
    } else {
        parse_json(&props.value).err()
    };
    let check = match (&error, props.value.trim().is_empty()) {
        (_, true) => html! { <span id={check_id.clone()} class="json-check"></span> },
        (None, false) => {
            html! { <span id={check_id.clone()} class="json-check json-ok">{ "valid JSON" }</span> }
        }
        (Some(e), false) => {
            html! { <span id={check_id.clone()} class="json-check json-bad">{ e.clone() }</span> }
        }
    };
    html! {
        <div class="json-editor">
            <label for={props.id.clone()}>{ props.label.clone() }</label>
            <textarea id={props.id.clone()} rows={props.rows.to_string()} spellcheck="false"
                aria-invalid={error.is_some().to_string()} aria-describedby={check_id}
                value={props.value.clone()} {oninput} />
            { check }
        </div>
    }
}
