//! One binary WebSocket (`binaryType = "arraybuffer"`) and its handlers.

use js_sys::{Array, ArrayBuffer, Uint8Array};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{BinaryType, CloseEvent, MessageEvent, WebSocket};

/// What the socket reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SocketEvent {
    /// The WebSocket handshake completed.
    Open,
    /// A binary message arrived (it may hold part of an MQTT packet, or several).
    Data(Vec<u8>),
    /// A text message arrived; MQTT never sends text, so this is an error to report.
    Text(String),
    /// The socket closed; `why` explains it to a person.
    Closed {
        /// The close code (1006 when the connection failed or dropped).
        code: u16,
        /// A readable reason.
        why: String,
    },
}

/// An open (or opening) WebSocket. Dropping it detaches the handlers and closes it.
pub struct Socket {
    ws: WebSocket,
    _on_open: Closure<dyn FnMut()>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
}

impl Socket {
    /// Open a WebSocket to `url` offering `subprotocol` (e.g. `mqtt`). Fails
    /// at once, with a readable message, when the URL is not a ws:// or wss:// URL.
    pub fn open(
        url: &str,
        subprotocol: &str,
        on_event: impl FnMut(SocketEvent) + 'static,
    ) -> Result<Socket, String> {
        let url = url.trim();
        if !(url.starts_with("ws://") || url.starts_with("wss://")) {
            return Err(format!(
                "\"{url}\" is not a WebSocket URL: it must start with ws:// or wss://"
            ));
        }
        let protocols = Array::of1(&subprotocol.into());
        let ws = if subprotocol.is_empty() {
            WebSocket::new(url)
        } else {
            WebSocket::new_with_str_sequence(url, &protocols)
        }
        .map_err(|e| format!("cannot open \"{url}\": {}", js_error_text(&e)))?;
        ws.set_binary_type(BinaryType::Arraybuffer);

        let on_event = std::rc::Rc::new(std::cell::RefCell::new(on_event));
        let target = url.to_string();
        let on_open = {
            let on_event = on_event.clone();
            Closure::<dyn FnMut()>::new(move || (on_event.borrow_mut())(SocketEvent::Open))
        };
        let on_message = {
            let on_event = on_event.clone();
            Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
                let data = e.data();
                let event = if let Some(buf) = data.dyn_ref::<ArrayBuffer>() {
                    SocketEvent::Data(Uint8Array::new(buf).to_vec())
                } else {
                    SocketEvent::Text(data.as_string().unwrap_or_default())
                };
                (on_event.borrow_mut())(event)
            })
        };
        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |e: CloseEvent| {
            let code = e.code();
            let why = close_text(&target, code, &e.reason(), e.was_clean());
            (on_event.borrow_mut())(SocketEvent::Closed { code, why })
        });
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        Ok(Socket {
            ws,
            _on_open: on_open,
            _on_message: on_message,
            _on_close: on_close,
        })
    }

    /// Send one binary message.
    pub fn send(&self, bytes: &[u8]) -> Result<(), String> {
        self.ws
            .send_with_u8_array(bytes)
            .map_err(|e| format!("send failed: {}", js_error_text(&e)))
    }

    /// The subprotocol the server chose ("" if none).
    pub fn protocol(&self) -> String {
        self.ws.protocol()
    }

    /// Bytes queued in the browser and not yet sent.
    pub fn buffered_amount(&self) -> u32 {
        self.ws.buffered_amount()
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        let _ = self.ws.close();
    }
}

fn close_text(url: &str, code: u16, reason: &str, clean: bool) -> String {
    match code {
        1000 if clean => "closed by the server".to_string(),
        1006 => format!(
            "could not reach {url} or the connection dropped (check the URL, that the relay or broker is running, and the subprotocol)"
        ),
        _ if !reason.is_empty() => format!("closed by the server (code {code}: {reason})"),
        1002 => "protocol error (code 1002): the server may not accept this subprotocol".to_string(),
        _ => format!("closed (code {code})"),
    }
}

/// A readable text for a JavaScript exception value.
pub fn js_error_text(e: &wasm_bindgen::JsValue) -> String {
    if let Some(err) = e.dyn_ref::<js_sys::Error>() {
        return String::from(err.message());
    }
    e.as_string().unwrap_or_else(|| format!("{e:?}"))
}
