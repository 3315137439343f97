//! Run a callback in a task of its own, after the browser has had its turn
//! (input, rendering, socket events): a `MessageChannel` message, which,
//! unlike a chain of zero-delay timeouts, is not clamped to 4 ms.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{MessageChannel, MessagePort};

type Queue = Rc<RefCell<VecDeque<Box<dyn FnOnce()>>>>;

struct Channel {
    port: MessagePort,
    queue: Queue,
    _on_message: Closure<dyn FnMut()>,
    _channel: MessageChannel,
}

thread_local! {
    static CHANNEL: Option<Channel> = open();
}

fn open() -> Option<Channel> {
    let channel = MessageChannel::new().ok()?;
    let queue: Queue = Rc::default();
    let q = queue.clone();
    let on_message = Closure::<dyn FnMut()>::new(move || {
        let next = q.borrow_mut().pop_front();
        if let Some(f) = next {
            f();
        }
    });
    channel
        .port1()
        .set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    Some(Channel {
        port: channel.port2(),
        queue,
        _on_message: on_message,
        _channel: channel,
    })
}

/// Run `f` in a later task (with a zero-delay timeout where no
/// `MessageChannel` can be made).
pub fn next_task(f: impl FnOnce() + 'static) {
    let f: Box<dyn FnOnce()> = Box::new(f);
    let f = CHANNEL.with(|c| match c {
        Some(c) => {
            c.queue.borrow_mut().push_back(f);
            if c.port.post_message(&JsValue::NULL).is_err() {
                return c.queue.borrow_mut().pop_back();
            }
            None
        }
        None => Some(f),
    });
    if let Some(f) = f {
        gloo::timers::callback::Timeout::new(0, f).forget();
    }
}
