//! Connects the view to the gateway: owns the link, applies events to the
//! store as they arrive, and asks Yew to render at most once per frame.

use std::cell::{Ref, RefCell, RefMut};
use std::rc::Rc;

use yew::Callback;

use super::frame::FrameScheduler;
use crate::console::store::Store;
use crate::core::mqtt::{ConnectOptions, Credentials, Event, QoS, Session};
use crate::shell::clock::{epoch_ms, now};
use crate::shell::link::{Link, LinkConfig, LinkStatus};

/// What the connect form produces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectSettings {
    /// ws:// or wss:// URL.
    pub url: String,
    /// WebSocket subprotocol.
    pub subprotocol: String,
    /// MQTT client id.
    pub client_id: String,
    /// Credentials for CONNECT.
    pub credentials: Credentials,
    /// Keepalive in seconds.
    pub keep_alive_secs: u16,
}

/// The topics a gateway subscribes to after every connect.
const SUBSCRIPTIONS: &[(&str, QoS)] = &[
    ("v1/gateway/attributes", QoS::AtLeastOnce),
    ("v1/gateway/attributes/response", QoS::AtLeastOnce),
    ("v1/gateway/rpc", QoS::AtLeastOnce),
    ("v1/devices/me/attributes", QoS::AtLeastOnce),
    ("v1/devices/me/attributes/response/+", QoS::AtLeastOnce),
    ("v1/devices/me/rpc/request/+", QoS::AtLeastOnce),
    ("v1/devices/me/rpc/response/+", QoS::AtLeastOnce),
];

/// The console's controller, shared by the components through a context.
pub struct Controller {
    link: Link<Session>,
    store: RefCell<Store>,
    frame: FrameScheduler,
    render: RefCell<Option<Callback<()>>>,
}

impl Controller {
    /// A controller with an idle link.
    pub fn new() -> Rc<Self> {
        let options = ConnectOptions::new("", Credentials::Anonymous);
        let controller = Rc::new(Controller {
            link: Link::new(Session::new(options)),
            store: RefCell::new(Store::default()),
            frame: FrameScheduler::default(),
            render: RefCell::new(None),
        });
        let weak = Rc::downgrade(&controller);
        controller.link.set_on_change(move || {
            if let Some(c) = weak.upgrade() {
                c.drain();
            }
        });
        controller
    }

    /// Set the callback that re-renders the view.
    pub fn set_render(&self, render: Callback<()>) {
        *self.render.borrow_mut() = Some(render);
    }

    /// Connect with `settings`, replacing any connection.
    pub fn connect(&self, settings: ConnectSettings) {
        let mut options = ConnectOptions::new(settings.client_id, settings.credentials);
        options.keep_alive_secs = settings.keep_alive_secs;
        self.link.with(|s| s.set_options(options));
        self.link.connect(LinkConfig {
            url: settings.url,
            subprotocol: settings.subprotocol,
            reconnect: true,
        });
    }

    /// Disconnect cleanly and stop reconnecting.
    pub fn disconnect(&self) {
        self.link.disconnect();
    }

    /// Stop waiting to reconnect.
    pub fn cancel_reconnect(&self) {
        self.link.cancel_reconnect();
    }

    /// Reconnect now rather than after the backoff.
    pub fn reconnect_now(&self) {
        self.link.reconnect_now();
    }

    /// The link's status.
    pub fn status(&self) -> LinkStatus {
        self.link.status()
    }

    /// The console state to render.
    pub fn store(&self) -> Ref<'_, Store> {
        self.store.borrow()
    }

    /// The console state, to change (e.g. pause or clear the log).
    pub fn store_mut(&self) -> RefMut<'_, Store> {
        self.store.borrow_mut()
    }

    /// Ask for a render on the next animation frame.
    pub fn request_render(&self) {
        let render = self.render.borrow().clone();
        if let Some(render) = render {
            self.frame.request(move || render.emit(()));
        }
    }

    /// Apply every event the protocol has queued, then schedule one render.
    fn drain(&self) {
        let (t, wall) = (now(), epoch_ms());
        let mut subscribe = false;
        {
            let mut store = self.store.borrow_mut();
            self.link.drain(|session| {
                while let Some(event) = session.poll_event() {
                    if matches!(event, Event::Connected { .. }) {
                        subscribe = true;
                    }
                    store.apply_session(&event, t, wall);
                }
            });
        }
        if subscribe {
            let result = self.link.with(|s| s.subscribe(t, SUBSCRIPTIONS));
            if let Err(e) = result {
                self.store.borrow_mut().notice(wall, e.to_string());
            }
        }
        self.request_render();
    }
}
