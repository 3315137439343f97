//! Runs a sans-IO [`Protocol`] over a browser WebSocket.
//!
//! The link owns the socket, the protocol's single timer and the reconnect
//! timer. After every input (socket open, data, close, timer) it feeds the
//! protocol, writes what the protocol queued as ONE WebSocket message, re-arms
//! the timer and calls `on_change` so the application can drain the
//! protocol's events. Calls made through [`Link::with`] in one turn of the
//! event loop are flushed together from a microtask, so packets produced in the
//! same turn share one WebSocket frame (the browser's cost is per frame).

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use gloo::timers::callback::Timeout;

use super::clock::now;
use super::socket::{Socket, SocketEvent};
use crate::core::protocol::Protocol;
use crate::core::reconnect::Reconnect;
use crate::core::time::Millis;

/// Where to connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkConfig {
    /// `ws://` or `wss://` URL of the relay or broker.
    pub url: String,
    /// WebSocket subprotocol to offer: `mqtt` (default), `mqttv3.1` or `binary`.
    pub subprotocol: String,
    /// Whether to reconnect with backoff after the connection drops.
    pub reconnect: bool,
}

impl LinkConfig {
    /// A config for `url` with the `mqtt` subprotocol and reconnect on.
    pub fn new(url: impl Into<String>) -> Self {
        LinkConfig {
            url: url.into(),
            subprotocol: "mqtt".into(),
            reconnect: true,
        }
    }
}

/// The transport's state as a person sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkStatus {
    /// Never connected.
    Idle,
    /// The WebSocket is opening, or open with the MQTT session not yet accepted.
    Connecting,
    /// The MQTT session is accepted.
    Connected,
    /// Waiting to reconnect after a failure.
    Reconnecting {
        /// When the next attempt starts (compare with [`super::clock::now`]).
        at: Millis,
        /// Attempt number, from 1.
        attempt: u32,
        /// Why the last connection ended.
        error: String,
    },
    /// Stopped: by the person (`error` is `None`) or after a failure that
    /// retrying cannot fix.
    Closed {
        /// Why, if it was not asked for.
        error: Option<String>,
    },
    /// Stopped because another client holds the session (the server said
    /// so, or it kept closing the connection right after accepting it):
    /// reconnecting would evict that client, so the person decides
    /// ([`Link::take_over`]).
    TakenOver {
        /// What happened, in words.
        error: String,
    },
}

struct Inner<P> {
    protocol: RefCell<P>,
    socket: RefCell<Option<Socket>>,
    config: RefCell<Option<LinkConfig>>,
    status: RefCell<LinkStatus>,
    reconnect: RefCell<Reconnect>,
    timer: RefCell<Option<(Millis, Timeout)>>,
    reconnect_timer: RefCell<Option<Timeout>>,
    flush_scheduled: Cell<bool>,
    /// The zero-delay timer of [`schedule_reply_flush`], kept until it
    /// fires so that its closure is freed then (a forgotten `Timeout` keeps
    /// its closure, on the JS side and in wasm memory, forever).
    reply_flush_timer: RefCell<Option<Timeout>>,
    ws_open: Cell<bool>,
    last_error: RefCell<Option<String>>,
    on_change: RefCell<Option<Rc<dyn Fn()>>>,
    frames_out: Cell<u64>,
    frames_in: Cell<u64>,
}

/// A protocol endpoint running over a WebSocket. Cheap to clone (shared).
pub struct Link<P: Protocol + 'static> {
    inner: Rc<Inner<P>>,
}

impl<P: Protocol + 'static> Clone for Link<P> {
    fn clone(&self) -> Self {
        Link {
            inner: self.inner.clone(),
        }
    }
}

impl<P: Protocol + 'static> Link<P> {
    /// A link around `protocol`, idle until [`Link::connect`].
    pub fn new(protocol: P) -> Self {
        Link {
            inner: Rc::new(Inner {
                protocol: RefCell::new(protocol),
                socket: RefCell::new(None),
                config: RefCell::new(None),
                status: RefCell::new(LinkStatus::Idle),
                reconnect: RefCell::new(Reconnect::default()),
                timer: RefCell::new(None),
                reconnect_timer: RefCell::new(None),
                flush_scheduled: Cell::new(false),
                reply_flush_timer: RefCell::new(None),
                ws_open: Cell::new(false),
                last_error: RefCell::new(None),
                on_change: RefCell::new(None),
                frames_out: Cell::new(0),
                frames_in: Cell::new(0),
            }),
        }
    }

    /// Set the callback run after every change (new events to drain, status).
    /// It runs with nothing borrowed, so it may call [`Link::with`].
    pub fn set_on_change(&self, f: impl Fn() + 'static) {
        *self.inner.on_change.borrow_mut() = Some(Rc::new(f));
    }

    /// Connect to `config.url`, replacing any current connection.
    pub fn connect(&self, config: LinkConfig) {
        self.stop_transport();
        self.inner.reconnect.borrow_mut().restart();
        *self.inner.config.borrow_mut() = Some(config);
        open_socket(&self.inner);
        notify(&self.inner);
    }

    /// End the session cleanly (DISCONNECT), close the socket and stop reconnecting.
    pub fn disconnect(&self) {
        let t = now();
        let was_open = self.inner.socket.borrow().is_some();
        if was_open {
            self.inner.protocol.borrow_mut().disconnect(t);
            flush(&self.inner);
        }
        self.stop_transport();
        *self.inner.status.borrow_mut() = LinkStatus::Closed { error: None };
        notify(&self.inner);
    }

    /// Stop a pending reconnect; the link stays closed with the last error.
    pub fn cancel_reconnect(&self) {
        if self.inner.reconnect_timer.borrow_mut().take().is_some() {
            let error = self.inner.last_error.borrow().clone();
            *self.inner.status.borrow_mut() = LinkStatus::Closed { error };
            notify(&self.inner);
        }
    }

    /// Let the session go because another client takes it over (another
    /// tab of this browser): end it cleanly and say so, without
    /// reconnecting.
    pub fn yield_session(&self, why: String) {
        self.disconnect();
        *self.inner.status.borrow_mut() = LinkStatus::TakenOver { error: why };
        notify(&self.inner);
    }

    /// Connect again after [`LinkStatus::TakenOver`], evicting the other
    /// client, with a fresh reconnect history.
    pub fn take_over(&self) {
        self.inner.reconnect.borrow_mut().restart();
        self.reconnect_now();
    }

    /// Reconnect now instead of waiting for the backoff.
    pub fn reconnect_now(&self) {
        if self.inner.config.borrow().is_some() && self.inner.socket.borrow().is_none() {
            self.inner.reconnect_timer.borrow_mut().take();
            open_socket(&self.inner);
            notify(&self.inner);
        }
    }

    /// Run `f` on the protocol (e.g. to publish), then flush what it queued
    /// from a microtask, together with everything else queued in this turn.
    pub fn with<R>(&self, f: impl FnOnce(&mut P) -> R) -> R {
        let r = f(&mut self.inner.protocol.borrow_mut());
        schedule_flush(&self.inner);
        r
    }

    /// Run `f` on the protocol without scheduling a flush (to drain its events).
    pub fn drain<R>(&self, f: impl FnOnce(&mut P) -> R) -> R {
        f(&mut self.inner.protocol.borrow_mut())
    }

    /// Read the protocol without changing it.
    pub fn read<R>(&self, f: impl FnOnce(&P) -> R) -> R {
        f(&self.inner.protocol.borrow())
    }

    /// The current status.
    pub fn status(&self) -> LinkStatus {
        self.inner.status.borrow().clone()
    }

    /// The configuration of the current or last connection.
    pub fn config(&self) -> Option<LinkConfig> {
        self.inner.config.borrow().clone()
    }

    /// WebSocket messages sent and received so far.
    pub fn frames(&self) -> (u64, u64) {
        (self.inner.frames_out.get(), self.inner.frames_in.get())
    }

    fn stop_transport(&self) {
        self.inner.reconnect_timer.borrow_mut().take();
        self.inner.timer.borrow_mut().take();
        drop_socket(&self.inner);
        let t = now();
        let active = self.inner.protocol.borrow().is_active();
        if active {
            self.inner
                .protocol
                .borrow_mut()
                .handle_close(t, "closed by the user");
        }
    }
}

fn open_socket<P: Protocol + 'static>(inner: &Rc<Inner<P>>) {
    let Some(config) = inner.config.borrow().clone() else {
        return;
    };
    let weak = Rc::downgrade(inner);
    match Socket::open(&config.url, &config.subprotocol, move |event| {
        if let Some(inner) = weak.upgrade() {
            on_socket_event(&inner, event);
        }
    }) {
        Ok(socket) => {
            *inner.socket.borrow_mut() = Some(socket);
            *inner.status.borrow_mut() = LinkStatus::Connecting;
        }
        Err(error) => {
            *inner.last_error.borrow_mut() = Some(error.clone());
            *inner.status.borrow_mut() = LinkStatus::Closed { error: Some(error) };
        }
    }
}

fn on_socket_event<P: Protocol + 'static>(inner: &Rc<Inner<P>>, event: SocketEvent) {
    let t = now();
    // What incoming data produces (PUBACKs) may wait for the next task, so
    // the acknowledgements of a burst share a WebSocket message; only while
    // the page is visible, since a hidden tab's timers run late.
    let gather = matches!(event, SocketEvent::Data(_)) && page_visible();
    match event {
        SocketEvent::Open => {
            inner.ws_open.set(true);
            inner.protocol.borrow_mut().handle_open(t);
        }
        SocketEvent::Data(bytes) => {
            inner.frames_in.set(inner.frames_in.get() + 1);
            inner.protocol.borrow_mut().handle_data(t, &bytes);
        }
        SocketEvent::Text(text) => {
            let why = format!(
                "the server sent a text frame ({} chars); MQTT over WebSocket is binary: is this an MQTT endpoint?",
                text.chars().count()
            );
            drop_socket(inner);
            inner.protocol.borrow_mut().handle_close(t, &why);
            after_close(inner, why);
        }
        SocketEvent::Closed { why, .. } => {
            drop_socket(inner);
            let active = inner.protocol.borrow().is_active();
            if active {
                inner.protocol.borrow_mut().handle_close(t, &why);
            }
            after_close(inner, why);
        }
    }
    if gather {
        schedule_reply_flush(inner);
        after_flush(inner);
    } else {
        after_input(inner);
    }
}

/// Write what the protocol queued, notice a session that ended, re-arm the timer, notify.
fn after_input<P: Protocol + 'static>(inner: &Rc<Inner<P>>) {
    flush(inner);
    after_flush(inner);
}

/// Everything of [`after_input`] but the write.
fn after_flush<P: Protocol + 'static>(inner: &Rc<Inner<P>>) {
    let (active, connected) = {
        let p = inner.protocol.borrow();
        (p.is_active(), p.is_connected())
    };
    if connected {
        // The backoff is reset only when this session ends having lived a
        // while (see core::reconnect): a server that closes right after
        // CONNACK is not reconnected to once a second.
        inner.reconnect.borrow_mut().connected(now());
        if *inner.status.borrow() != LinkStatus::Connected {
            *inner.status.borrow_mut() = LinkStatus::Connected;
            inner.last_error.borrow_mut().take();
        }
    }
    if inner.ws_open.get() && !active {
        // The session ended on its own (refused, keepalive timeout, protocol
        // error): close the transport and decide whether to retry.
        drop_socket(inner);
        let why = inner
            .protocol
            .borrow()
            .last_error_text()
            .unwrap_or_else(|| "the MQTT session ended".into());
        after_close(inner, why);
    }
    arm_timer(inner);
    notify(inner);
}

fn after_close<P: Protocol + 'static>(inner: &Rc<Inner<P>>, why: String) {
    inner.timer.borrow_mut().take();
    *inner.last_error.borrow_mut() = Some(why.clone());
    let retry = inner.protocol.borrow().should_retry()
        && inner.config.borrow().as_ref().is_some_and(|c| c.reconnect);
    if !retry {
        *inner.status.borrow_mut() = if inner.protocol.borrow().taken_over() {
            LinkStatus::TakenOver { error: why }
        } else {
            LinkStatus::Closed { error: Some(why) }
        };
        return;
    }
    let (delay, attempt, short_sessions) = {
        let mut r = inner.reconnect.borrow_mut();
        let delay = r.closed(now(), js_sys::Math::random());
        (
            delay,
            r.attempt(),
            r.should_give_up().then(|| r.short_sessions()),
        )
    };
    if let Some(n) = short_sessions {
        *inner.status.borrow_mut() = LinkStatus::TakenOver {
            error: format!(
                "stopped reconnecting: the server accepted the connection and closed it {n} times \
                 in a row within {} s. Another client may be using this gateway's credentials \
                 (ThingsBoard keeps one session per token), or the server rejects what is sent \
                 (see the traffic log). Last: {why}",
                Reconnect::SHORT_MS / 1000
            ),
        };
        return;
    }
    let at = now().after_ms(delay);
    *inner.status.borrow_mut() = LinkStatus::Reconnecting {
        at,
        attempt,
        error: why,
    };
    let weak: Weak<Inner<P>> = Rc::downgrade(inner);
    let timeout = Timeout::new(delay.min(u32::MAX as u64) as u32, move || {
        if let Some(inner) = weak.upgrade() {
            inner.reconnect_timer.borrow_mut().take();
            open_socket(&inner);
            notify(&inner);
        }
    });
    *inner.reconnect_timer.borrow_mut() = Some(timeout);
}

fn drop_socket<P>(inner: &Inner<P>) {
    inner.ws_open.set(false);
    inner.socket.borrow_mut().take();
}

fn flush<P: Protocol>(inner: &Inner<P>) {
    let bytes = inner.protocol.borrow_mut().poll_transmit();
    if let Some(bytes) = bytes {
        if let Some(socket) = inner.socket.borrow().as_ref() {
            if socket.send(&bytes).is_ok() {
                inner.frames_out.set(inner.frames_out.get() + 1);
            }
        }
    }
}

/// Write what is queued from a zero-delay timer: socket events already queued
/// run first, and their replies join this write.
fn schedule_reply_flush<P: Protocol + 'static>(inner: &Rc<Inner<P>>) {
    if inner.reply_flush_timer.borrow().is_some() {
        return;
    }
    let weak = Rc::downgrade(inner);
    let timeout = Timeout::new(0, move || {
        if let Some(inner) = weak.upgrade() {
            // Dropping the timer frees this closure once it returns.
            inner.reply_flush_timer.borrow_mut().take();
            flush(&inner);
        }
    });
    *inner.reply_flush_timer.borrow_mut() = Some(timeout);
}

fn page_visible() -> bool {
    web_sys::window()
        .and_then(|w| w.document())
        .is_some_and(|d| !d.hidden())
}

fn schedule_flush<P: Protocol + 'static>(inner: &Rc<Inner<P>>) {
    if inner.flush_scheduled.replace(true) {
        return;
    }
    let weak = Rc::downgrade(inner);
    wasm_bindgen_futures::spawn_local(async move {
        if let Some(inner) = weak.upgrade() {
            inner.flush_scheduled.set(false);
            after_input(&inner);
        }
    });
}

fn arm_timer<P: Protocol + 'static>(inner: &Rc<Inner<P>>) {
    let wanted = inner.protocol.borrow().poll_timeout();
    let current = inner.timer.borrow().as_ref().map(|(at, _)| *at);
    if wanted == current {
        return;
    }
    inner.timer.borrow_mut().take();
    if let Some(at) = wanted {
        let delay = at.since(now()).min(u32::MAX as u64) as u32;
        let weak = Rc::downgrade(inner);
        let timeout = Timeout::new(delay, move || {
            if let Some(inner) = weak.upgrade() {
                inner.timer.borrow_mut().take();
                inner.protocol.borrow_mut().handle_timeout(now());
                after_input(&inner);
            }
        });
        *inner.timer.borrow_mut() = Some((at, timeout));
    }
}

fn notify<P>(inner: &Inner<P>) {
    let cb = inner.on_change.borrow().clone();
    if let Some(cb) = cb {
        cb();
    }
}
