//! The BroadcastChannel the tabs of this browser talk over, carrying
//! [`TabMessage`]s as JSON (see `console::tabs`).

use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{BroadcastChannel, MessageEvent};

use crate::console::tabs::TabMessage;

/// The channel's name.
pub const CHANNEL: &str = "browser-gateway.tabs";

/// This tab's end of the channel; closed when dropped.
pub struct TabChannel {
    channel: BroadcastChannel,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
}

impl TabChannel {
    /// Open the channel; `on_message` gets every message of the other tabs
    /// that reads as a [`TabMessage`] (others are ignored: an older or
    /// newer page may speak differently). `None` where the browser has no
    /// BroadcastChannel.
    pub fn open(on_message: impl Fn(TabMessage) + 'static) -> Option<TabChannel> {
        let channel = BroadcastChannel::new(CHANNEL).ok()?;
        let handler = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let Some(text) = event.data().as_string() else {
                return;
            };
            if let Ok(message) = serde_json::from_str::<TabMessage>(&text) {
                on_message(message);
            }
        });
        channel.set_onmessage(Some(handler.as_ref().unchecked_ref()));
        Some(TabChannel {
            channel,
            _on_message: handler,
        })
    }

    /// Post `message` to every other tab.
    pub fn post(&self, message: &TabMessage) {
        if let Ok(text) = serde_json::to_string(message) {
            let _ = self.channel.post_message(&JsValue::from_str(&text));
        }
    }
}

impl Drop for TabChannel {
    fn drop(&mut self) {
        self.channel.set_onmessage(None);
        self.channel.close();
    }
}
