//! Connects the view to the gateway: owns the link, applies events to the
//! store as they arrive, answers RPCs by the auto-reply rules, and asks Yew
//! to render at most once per animation frame.

use std::cell::{Cell, Ref, RefCell, RefMut};
use std::collections::{HashMap, HashSet};
use std::rc::{Rc, Weak};

use bytes::Bytes;
use serde_json::Value;
use yew::Callback;

mod loadtest;
mod slices;

use super::frame::FrameScheduler;
use crate::console::answers::{Answer, Outcome, SentReply};
use crate::console::loadtest::{LoadTests, Scenario};
use crate::console::profiles::{self, Profiles};
use crate::console::simulator::{SimConfig, Simulator};
use crate::console::slices::{Slice, Slices};
use crate::console::store::{Store, OWN};
use crate::console::tabs::{session_key, TabAction, TabMessage, Tabs};
use crate::console::workspace::{self, SimSettings, Workspace};
use crate::core::gateway::client::JournalOp;
use crate::core::gateway::codec::{AttributeScope, Attributes, TelemetryEntry};
use crate::core::gateway::model::ModelConfig;
use crate::core::gateway::{Gateway, GatewayError, GatewayEvent};
use crate::core::mqtt::{ConnectOptions, Credentials, Protocol, PublishId};
use crate::core::time::Millis;
use crate::shell::clock::{epoch_ms, now};
use crate::shell::link::{Link, LinkConfig, LinkStatus};
use crate::shell::outbox_db::{record_key, DbOp, OutboxDb, Stored};
use crate::shell::storage;
use crate::shell::tabs::TabChannel;

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
    /// MQTT version.
    pub protocol: Protocol,
    /// Whether the URL is a broker bridged to ThingsBoard.
    pub bridged: bool,
    /// After how long (ms) the server drops a quiet sub-device; 0: never
    /// (no keep-alives).
    pub sub_device_expiry_ms: u64,
}

/// The console's controller, shared by the components through a context.
pub struct Controller {
    link: Link<Gateway>,
    store: RefCell<Store>,
    profiles: RefCell<Profiles>,
    frame: FrameScheduler,
    /// The slices changed since the last frame's render.
    dirty: Cell<Slices>,
    /// The components to wake, with the slices each shows.
    subscribers: RefCell<Vec<(u64, Slices, Callback<()>)>>,
    next_subscriber: Cell<u64>,
    me: RefCell<Weak<Controller>>,
    simulator: RefCell<Option<Simulator>>,
    sim_timer: RefCell<Option<gloo::timers::callback::Interval>>,
    /// This tab's part in agreeing with the other tabs of this browser
    /// on who holds a gateway session.
    tabs: RefCell<Tabs>,
    tab_channel: RefCell<Option<TabChannel>>,
    /// A connect waiting for the other tabs' answer (or the person's
    /// decision), with its session key.
    pending: RefCell<Option<Pending>>,
    /// The session key of the last connect, for a later take-over.
    last_key: RefCell<Option<String>>,
    /// The durable outbox, once IndexedDB is open.
    outbox_db: RefCell<Option<Rc<OutboxDb>>>,
    /// Whether IndexedDB is still opening; a connect asked meanwhile waits
    /// here, so what an earlier page kept is not skipped.
    db_opening: Cell<bool>,
    connect_after_open: RefCell<Option<(ConnectSettings, String)>>,
    /// The stored key of each journaled uplink still waiting.
    durable_keys: RefCell<HashMap<PublishId, String>>,
    /// Sessions whose stored uplinks were given back to the gateway.
    restored: RefCell<HashSet<String>>,
    /// The next stored uplink's sequence number (grows across page loads:
    /// it starts from the time, in µs).
    next_seq: Cell<u64>,
    /// The simulator's settings as typed, kept across reloads.
    sim_settings: RefCell<SimSettings>,
    /// The workspace JSON last written, to write only changes.
    saved_workspace: RefCell<String>,
    workspace_timer: RefCell<Option<gloo::timers::callback::Interval>>,
    /// The load tests (runs, the one going, reports), driven by
    /// `loadtest_timer` while a run goes (see `controller/loadtest.rs`).
    loadtest: RefCell<LoadTests>,
    loadtest_timer: RefCell<Option<gloo::timers::callback::Interval>>,
    /// The simulator's and the load test's work in slices (see
    /// `controller/slices.rs`).
    sim_slices: slices::Sliced,
    loadtest_slices: slices::Sliced,
    /// The scenario the page's link carried, until the person answers.
    scenario_offer: RefCell<Option<Result<Scenario, String>>>,
}

/// How often the workspace (devices, rules, simulator settings) is saved if
/// it changed.
const WORKSPACE_SAVE_MS: u32 = 1_000;

/// A connect waiting: for the other tabs to answer whether one of them
/// holds the session, then (if one does) for the person to decide.
struct Pending {
    settings: ConnectSettings,
    key: String,
    /// Proceeds when no tab answered in time.
    _wait: Option<gloo::timers::callback::Timeout>,
    /// Another tab holds the session since then (ms since the epoch).
    held_since: Option<u64>,
}

/// How long a tab waits for another to say it holds the session.
const TAB_ANSWER_MS: u32 = 300;

/// The credential part of a session's name (see `console::tabs`).
fn credential_of(settings: &ConnectSettings) -> String {
    match &settings.credentials {
        Credentials::AccessToken(token) => token.clone(),
        Credentials::Basic { username, .. } => {
            format!(
                "{}\n{}",
                settings.client_id,
                username.as_deref().unwrap_or("")
            )
        }
        Credentials::Anonymous => settings.client_id.clone(),
    }
}

impl Controller {
    /// A controller with an idle link and the profiles saved in this browser.
    pub fn new() -> Rc<Self> {
        let options = ConnectOptions::new("", Credentials::Anonymous);
        let mut store = Store::default();
        let profiles = match storage::load(profiles::STORAGE_KEY) {
            Ok(Some(text)) => {
                let (profiles, problem) = Profiles::from_json(&text);
                if let Some(problem) = problem {
                    store.notice(epoch_ms(), problem);
                }
                profiles
            }
            Ok(None) => Profiles::default(),
            Err(problem) => {
                store.notice(epoch_ms(), problem);
                Profiles::default()
            }
        };
        let controller = Rc::new(Controller {
            link: Link::new(Gateway::with_config(
                options,
                ModelConfig {
                    // Each tab starts its request ids at a random point, so
                    // two tabs on one gateway rarely share an id.
                    first_request_id: 1 + (js_sys::Math::random() * 1e9) as u32,
                    ..ModelConfig::default()
                },
            )),
            store: RefCell::new(store),
            profiles: RefCell::new(profiles),
            frame: FrameScheduler::default(),
            dirty: Cell::new(Slices::NONE),
            subscribers: RefCell::new(Vec::new()),
            next_subscriber: Cell::new(0),
            me: RefCell::new(Weak::new()),
            simulator: RefCell::new(None),
            sim_timer: RefCell::new(None),
            tabs: RefCell::new(Tabs::new(format!(
                "tab-{:08x}",
                (js_sys::Math::random() * 4_294_967_295.0) as u32
            ))),
            tab_channel: RefCell::new(None),
            pending: RefCell::new(None),
            last_key: RefCell::new(None),
            outbox_db: RefCell::new(None),
            db_opening: Cell::new(true),
            connect_after_open: RefCell::new(None),
            durable_keys: RefCell::new(HashMap::new()),
            restored: RefCell::new(HashSet::new()),
            next_seq: Cell::new(epoch_ms().saturating_mul(1000)),
            sim_settings: RefCell::new(SimSettings::default()),
            saved_workspace: RefCell::new(String::new()),
            workspace_timer: RefCell::new(None),
            loadtest: RefCell::new(LoadTests::default()),
            loadtest_timer: RefCell::new(None),
            sim_slices: slices::Sliced::default(),
            loadtest_slices: slices::Sliced::default(),
            scenario_offer: RefCell::new(None),
        });
        controller.load_workspace();
        controller.read_scenario_link();
        let weak = Rc::downgrade(&controller);
        *controller.workspace_timer.borrow_mut() = Some(gloo::timers::callback::Interval::new(
            WORKSPACE_SAVE_MS,
            move || {
                if let Some(c) = weak.upgrade() {
                    c.save_workspace();
                }
            },
        ));
        // Leaving the page with unsent messages asks first (they are kept
        // in IndexedDB, but the person may not mean to leave them waiting).
        let weak = Rc::downgrade(&controller);
        let on_unload =
            wasm_bindgen::closure::Closure::<dyn FnMut(web_sys::BeforeUnloadEvent)>::new(
                move |event: web_sys::BeforeUnloadEvent| {
                    let Some(c) = weak.upgrade() else { return };
                    // What changed since the last periodic save is kept too.
                    c.save_workspace();
                    if c.unsent() > 0 {
                        event.prevent_default();
                        event.set_return_value("Messages are still waiting to be sent.");
                    }
                },
            );
        if let Some(window) = web_sys::window() {
            use wasm_bindgen::JsCast;
            let _ = window.add_event_listener_with_callback(
                "beforeunload",
                on_unload.as_ref().unchecked_ref(),
            );
        }
        // The page lives as long as the controller.
        on_unload.forget();
        let weak = Rc::downgrade(&controller);
        wasm_bindgen_futures::spawn_local(async move {
            let opened = OutboxDb::open().await;
            let Some(c) = weak.upgrade() else { return };
            c.db_opening.set(false);
            match opened {
                Ok(db) => {
                    *c.outbox_db.borrow_mut() = Some(Rc::new(db));
                    c.link.with(|g| g.set_durable(true));
                }
                Err(problem) => {
                    c.store_mut().notice(
                        epoch_ms(),
                        format!("{problem}: unsent messages will not survive a reload"),
                    );
                    c.request_render();
                }
            }
            let waiting = c.connect_after_open.borrow_mut().take();
            if let Some((settings, key)) = waiting {
                c.connect_now(settings, key);
            }
        });
        *controller.me.borrow_mut() = Rc::downgrade(&controller);
        let weak = Rc::downgrade(&controller);
        *controller.tab_channel.borrow_mut() = TabChannel::open(move |message| {
            if let Some(c) = weak.upgrade() {
                c.on_tab_message(message);
            }
        });
        let weak = Rc::downgrade(&controller);
        controller.link.set_on_change(move || {
            if let Some(c) = weak.upgrade() {
                c.drain();
            }
        });
        controller
    }

    /// Wake `wake` on the frame after any of `slices` changed. Returns the
    /// subscription, for [`Controller::unsubscribe`].
    pub fn subscribe(&self, slices: Slices, wake: Callback<()>) -> u64 {
        let id = self.next_subscriber.get();
        self.next_subscriber.set(id + 1);
        self.subscribers.borrow_mut().push((id, slices, wake));
        id
    }

    /// Stop waking subscription `id` (its component is gone).
    pub fn unsubscribe(&self, id: u64) {
        self.subscribers.borrow_mut().retain(|(i, _, _)| *i != id);
    }

    /// `slices` changed: their components re-render on the next animation
    /// frame (once, however many changes come before it).
    pub fn mark(&self, slices: Slices) {
        if slices.is_empty() {
            return;
        }
        self.dirty.set(self.dirty.get().union(slices));
        let me = self.me.borrow().clone();
        self.frame.request(move || {
            if let Some(c) = me.upgrade() {
                c.wake_dirty();
            }
        });
    }

    /// Wake the components of the slices changed since the last frame.
    fn wake_dirty(&self) {
        let dirty = self.dirty.replace(Slices::NONE);
        let woken: Vec<Callback<()>> = self
            .subscribers
            .borrow()
            .iter()
            .filter(|(_, slices, _)| slices.intersects(dirty))
            .map(|(_, _, wake)| wake.clone())
            .collect();
        for wake in woken {
            wake.emit(());
        }
    }

    /// Connect with `settings`, replacing any connection. The other tabs of
    /// this browser are asked first whether one holds this session; if one
    /// does, the person is asked ([`Controller::tab_conflict`]) before it is
    /// evicted.
    pub fn connect(&self, settings: ConnectSettings) {
        let key = session_key(&settings.url, &credential_of(&settings));
        let asked = self
            .tab_channel
            .borrow()
            .as_ref()
            .map(|channel| channel.post(&self.tabs.borrow_mut().ask(&key)))
            .is_some();
        if !asked {
            return self.connect_now(settings, key);
        }
        let weak = self.me.borrow().clone();
        let wait = gloo::timers::callback::Timeout::new(TAB_ANSWER_MS, move || {
            if let Some(c) = weak.upgrade() {
                c.proceed_unless_held();
            }
        });
        *self.pending.borrow_mut() = Some(Pending {
            settings,
            key,
            _wait: Some(wait),
            held_since: None,
        });
        self.request_render();
    }

    /// Since when another tab of this browser holds the session a connect
    /// waits for (the person must choose: take it over, or not).
    pub fn tab_conflict(&self) -> Option<u64> {
        self.pending.borrow().as_ref().and_then(|p| p.held_since)
    }

    /// Whether a connect waits for the other tabs' answer.
    pub fn asking_tabs(&self) -> bool {
        self.pending
            .borrow()
            .as_ref()
            .is_some_and(|p| p.held_since.is_none())
    }

    /// The person chose to take the session over from the other tab.
    pub fn take_over_from_tab(&self) {
        let Some(Pending { settings, key, .. }) = self.pending.borrow_mut().take() else {
            return;
        };
        if let Some(channel) = self.tab_channel.borrow().as_ref() {
            channel.post(&self.tabs.borrow_mut().take(&key));
        }
        self.connect_now(settings, key);
    }

    /// The person chose not to connect (another tab holds the session).
    pub fn cancel_connect(&self) {
        self.pending.borrow_mut().take();
        self.request_render();
    }

    fn proceed_unless_held(&self) {
        let ready = match self.pending.borrow_mut().as_mut() {
            Some(p) if p.held_since.is_none() => {
                p._wait = None;
                true
            }
            _ => false,
        };
        if ready {
            if let Some(Pending { settings, key, .. }) = self.pending.borrow_mut().take() {
                self.connect_now(settings, key);
            }
        }
    }

    fn on_tab_message(&self, message: TabMessage) {
        let action = self.tabs.borrow_mut().on_message(&message);
        match action {
            TabAction::Nothing => {}
            TabAction::Reply(reply) => {
                if let Some(channel) = self.tab_channel.borrow().as_ref() {
                    channel.post(&reply);
                }
            }
            TabAction::HeldElsewhere { since_ms } => {
                if let Some(p) = self.pending.borrow_mut().as_mut() {
                    p._wait = None;
                    p.held_since = Some(since_ms);
                }
                self.request_render();
            }
            TabAction::Yield => {
                self.link.yield_session(
                    "another tab of this browser took over this gateway's session (ThingsBoard \
                     keeps one session per token)"
                        .into(),
                );
                self.request_render();
            }
        }
    }

    fn connect_now(&self, settings: ConnectSettings, key: String) {
        if self.db_opening.get() {
            *self.connect_after_open.borrow_mut() = Some((settings, key));
            return;
        }
        self.tabs.borrow_mut().hold(&key, epoch_ms());
        *self.last_key.borrow_mut() = Some(key.clone());
        // The first connect of a session in this page gives back what an
        // earlier page kept for it, before the link opens.
        let db = self.outbox_db.borrow().clone();
        if let Some(db) = db.filter(|_| self.restored.borrow_mut().insert(key.clone())) {
            let weak = self.me.borrow().clone();
            wasm_bindgen_futures::spawn_local(async move {
                let loaded = db.load(&key).await;
                let Some(c) = weak.upgrade() else { return };
                match loaded {
                    Ok(stored) if !stored.is_empty() => c.restore(stored),
                    Ok(_) => {}
                    Err(problem) => c.store_mut().notice(epoch_ms(), problem),
                }
                c.open_link(settings);
            });
            return;
        }
        self.open_link(settings);
    }

    /// Put back the devices, rules and simulator settings this browser kept.
    fn load_workspace(&self) {
        let text = match storage::load(workspace::STORAGE_KEY) {
            Ok(Some(text)) => text,
            Ok(None) => return,
            Err(problem) => return self.store_mut().notice(epoch_ms(), problem),
        };
        let (saved, problem) = Workspace::from_json(&text);
        if let Some(problem) = problem {
            self.store_mut().notice(epoch_ms(), problem);
        }
        let t = now();
        self.link.with(|g| {
            for d in &saved.devices {
                if g.connect_device(t, &d.name, d.device_type.as_deref())
                    .is_ok()
                    && !d.registered
                {
                    let _ = g.disconnect_device(t, &d.name);
                }
            }
        });
        {
            let mut store = self.store_mut();
            for rule in saved.rules.iter().cloned() {
                store.auto_replies.add(rule);
            }
        }
        *self.sim_settings.borrow_mut() = saved.simulator.clone();
        if !saved.load_tests.is_empty() {
            self.loadtest
                .borrow_mut()
                .set_runs(saved.load_tests.clone());
        }
        *self.saved_workspace.borrow_mut() = saved.to_json();
    }

    /// Save the devices, rules and simulator settings if they changed.
    fn save_workspace(&self) {
        let workspace = Workspace {
            devices: self
                .link
                .read(|g| Workspace::devices_of(g.model().devices())),
            rules: self.store().auto_replies.rules().to_vec(),
            simulator: self.sim_settings.borrow().clone(),
            load_tests: self.saved_runs(),
        };
        let json = workspace.to_json();
        if *self.saved_workspace.borrow() == json {
            return;
        }
        match storage::save(workspace::STORAGE_KEY, &json) {
            Ok(()) => *self.saved_workspace.borrow_mut() = json,
            Err(problem) => {
                // Said once: the text stays unsaved, so it would repeat.
                *self.saved_workspace.borrow_mut() = json;
                self.store_mut().notice(epoch_ms(), problem);
                self.request_render();
            }
        }
    }

    /// The simulator's settings as last typed.
    pub fn sim_settings(&self) -> SimSettings {
        self.sim_settings.borrow().clone()
    }

    /// Remember the simulator's settings (kept across reloads).
    pub fn set_sim_settings(&self, settings: SimSettings) {
        *self.sim_settings.borrow_mut() = settings;
    }

    /// How many uplinks wait: in the outbox, queued in the session, or in
    /// flight without their acknowledgement.
    pub fn unsent(&self) -> usize {
        self.link
            .read(|g| g.offline_len() + g.session().queued_len() + g.session().inflight_len())
    }

    /// Give stored uplinks back to the gateway (they go out after the next
    /// CONNACK's registrations) and remember their keys.
    fn restore(&self, stored: Vec<Stored>) {
        let count = stored.len();
        let (keys, records): (Vec<String>, Vec<(String, Bytes)>) = stored
            .into_iter()
            .map(|s| (s.key, (s.topic, s.payload)))
            .unzip();
        let ids = self.link.with(|g| g.restore(records));
        self.durable_keys
            .borrow_mut()
            .extend(ids.into_iter().zip(keys));
        self.store_mut().inform(
            epoch_ms(),
            format!("{count} message(s) kept from an earlier visit go out after connecting"),
        );
    }

    /// Write the durable outbox's changes to IndexedDB.
    fn persist_journal(&self) {
        let ops = self.link.drain(|g| g.take_journal());
        let Some(db) = self.outbox_db.borrow().clone() else {
            return;
        };
        if ops.is_empty() {
            return;
        }
        let session = self
            .last_key
            .borrow()
            .clone()
            .unwrap_or_else(|| "default".into());
        let mut keys = self.durable_keys.borrow_mut();
        let db_ops: Vec<DbOp> = ops
            .into_iter()
            .filter_map(|op| match op {
                JournalOp::Put { id, topic, payload } => {
                    // A message stored already (folded telemetry changed
                    // it) keeps its key, so its place in the order.
                    let key = keys.get(&id).cloned().unwrap_or_else(|| {
                        let seq = self.next_seq.get();
                        self.next_seq.set(seq + 1);
                        record_key(&session, seq)
                    });
                    keys.insert(id, key.clone());
                    Some(DbOp::Put {
                        key,
                        topic,
                        payload,
                    })
                }
                JournalOp::Delete { id } => keys.remove(&id).map(|key| DbOp::Delete { key }),
            })
            .collect();
        drop(keys);
        let weak = self.me.borrow().clone();
        wasm_bindgen_futures::spawn_local(async move {
            if let Err(problem) = db.apply(&db_ops).await {
                if let Some(c) = weak.upgrade() {
                    c.store_mut().notice(epoch_ms(), problem);
                    c.request_render();
                }
            }
        });
    }

    fn open_link(&self, settings: ConnectSettings) {
        let mut options = ConnectOptions::new(settings.client_id, settings.credentials);
        options.keep_alive_secs = settings.keep_alive_secs;
        options.protocol = settings.protocol;
        self.link.with(|g| {
            g.set_options(options);
            g.set_bridged(settings.bridged);
            g.set_sub_device_expiry(settings.sub_device_expiry_ms);
        });
        self.link.connect(LinkConfig {
            url: settings.url,
            subprotocol: settings.subprotocol,
            reconnect: true,
        });
    }

    /// Disconnect cleanly and stop reconnecting.
    pub fn disconnect(&self) {
        self.tabs.borrow_mut().release();
        self.link.disconnect();
    }

    /// Stop waiting to reconnect.
    pub fn cancel_reconnect(&self) {
        self.link.cancel_reconnect();
    }

    /// Connect again after the session was taken over, evicting the other
    /// client (and telling another tab of this browser to let go).
    pub fn take_over(&self) {
        if let Some(key) = self.last_key.borrow().clone() {
            if let Some(channel) = self.tab_channel.borrow().as_ref() {
                channel.post(&self.tabs.borrow_mut().take(&key));
            }
            self.tabs.borrow_mut().hold(&key, epoch_ms());
        }
        self.link.take_over();
    }

    /// Reconnect now rather than after the backoff.
    pub fn reconnect_now(&self) {
        self.link.reconnect_now();
    }

    /// The link's status.
    pub fn status(&self) -> LinkStatus {
        self.link.status()
    }

    /// Read the gateway (devices, inboxes, session).
    pub fn gateway<R>(&self, f: impl FnOnce(&Gateway) -> R) -> R {
        self.link.read(f)
    }

    /// The console state to render.
    pub fn store(&self) -> Ref<'_, Store> {
        self.store.borrow()
    }

    /// The console state, to change (e.g. pause or clear the log).
    pub fn store_mut(&self) -> RefMut<'_, Store> {
        self.store.borrow_mut()
    }

    /// The saved profiles.
    pub fn profiles(&self) -> Ref<'_, Profiles> {
        self.profiles.borrow()
    }

    /// Change the saved profiles and write them to localStorage (secrets only
    /// where the profile says remember).
    pub fn update_profiles(&self, f: impl FnOnce(&mut Profiles)) {
        let json = {
            let mut profiles = self.profiles.borrow_mut();
            f(&mut profiles);
            profiles.to_json()
        };
        if let Err(problem) = storage::save(profiles::STORAGE_KEY, &json) {
            self.store.borrow_mut().notice(epoch_ms(), problem);
        }
        self.request_render();
    }

    /// Ask for a render of everything on the next animation frame (for
    /// changes whose reach is not narrowed down; see [`Controller::mark`]).
    pub fn request_render(&self) {
        self.mark(Slices::ALL);
    }

    /// Run a gateway action; a failure becomes a notice and comes back as text.
    pub fn act<T>(
        &self,
        what: &str,
        f: impl FnOnce(&mut Gateway, Millis) -> Result<T, GatewayError>,
    ) -> Result<T, String> {
        let result = self.link.with(|g| f(g, now()));
        let result = result.map_err(|e| {
            let text = format!("{what}: {e}");
            self.store.borrow_mut().notice(epoch_ms(), text.clone());
            text
        });
        self.request_render();
        result
    }

    /// Register `names` with `device_type` and connect them (one connect each).
    pub fn add_devices(&self, names: &[String], device_type: Option<&str>) -> Result<(), String> {
        for name in names {
            self.act(&format!("connect {name}"), |g, t| {
                g.connect_device(t, name, device_type)
            })?;
        }
        Ok(())
    }

    /// Publish the same telemetry entry for `devices` (in one message, split
    /// by the gateway only where it would be too large).
    pub fn send_telemetry(&self, devices: &[String], entry: TelemetryEntry) -> Result<(), String> {
        self.send_telemetry_batch(devices.iter().map(|d| (d.clone(), entry.clone())).collect())
    }

    /// Publish one telemetry entry per device, all in one message.
    pub fn send_telemetry_batch(&self, batch: Vec<(String, TelemetryEntry)>) -> Result<(), String> {
        let grouped: Vec<(String, Vec<TelemetryEntry>)> =
            batch.into_iter().map(|(d, e)| (d, vec![e])).collect();
        self.act("send telemetry", |g, t| g.send_telemetry(t, &grouped))?;
        let wall = epoch_ms();
        let mut store = self.store.borrow_mut();
        for (device, entries) in &grouped {
            for entry in entries {
                let ts = match entry {
                    TelemetryEntry::Timed { ts, .. } => *ts,
                    TelemetryEntry::Flat(_) => wall,
                };
                store.telemetry.record(device, ts, entry.values());
            }
        }
        drop(store);
        // The devices' counters and charts changed (the open device's page
        // may show one of them, or the gateway's own).
        self.mark(Slices::of(&[Slice::Devices, Slice::Device, Slice::Gateway]));
        Ok(())
    }

    /// Start simulating telemetry (replacing a running simulation).
    pub fn start_simulation(&self, config: SimConfig) -> Result<(), String> {
        let interval_ms = config.interval_ms;
        let sim = Simulator::new(config)?;
        *self.simulator.borrow_mut() = Some(sim);
        let me = self.me.borrow().clone();
        // Each tick is sent in slices (see `controller/slices.rs`): 1,000
        // devices of 80 keys at once would hold the page for tens of ms.
        let interval = gloo::timers::callback::Interval::new(interval_ms, move || {
            let Some(c) = me.upgrade() else { return };
            let began = match c.simulator.borrow_mut().as_mut() {
                Some(sim) => sim.begin_tick(),
                None => return,
            };
            if began {
                c.run_slice(slices::Work::Simulator);
            }
        });
        *self.sim_timer.borrow_mut() = Some(interval);
        self.request_render();
        Ok(())
    }

    /// Send the next `max` devices of the simulator's tick going. Returns
    /// how many went and whether the tick has more.
    fn simulator_chunk(&self, max: usize) -> (usize, bool) {
        let part = match self.simulator.borrow_mut().as_mut() {
            Some(sim) => sim.next_part(max, js_sys::Math::random),
            None => None,
        };
        let Some(part) = part else {
            return (0, false);
        };
        let n = part.len();
        // Stamped with the time the values were made: what waits in the
        // outbox (offline, or for a rate limit) keeps its own time, and a
        // device's waiting entries can be folded into one message.
        let wall = epoch_ms();
        let batch = part
            .into_iter()
            .map(|(d, v)| (d, TelemetryEntry::timed(wall, v)))
            .collect();
        if self.send_telemetry_batch(batch).is_err() {
            self.stop_simulation();
            return (n, false);
        }
        let more = self
            .simulator
            .borrow()
            .as_ref()
            .is_some_and(Simulator::in_tick);
        (n, more)
    }

    /// Stop the simulation, if one runs.
    pub fn stop_simulation(&self) {
        self.sim_timer.borrow_mut().take();
        self.simulator.borrow_mut().take();
        self.request_render();
    }

    /// The running simulation's devices, keys, interval and ticks so far.
    pub fn simulation(&self) -> Option<(SimConfig, u64)> {
        self.simulator
            .borrow()
            .as_ref()
            .map(|s| (s.config().clone(), s.ticks()))
    }

    /// Publish the gateway's own telemetry.
    pub fn send_own_telemetry(&self, entry: TelemetryEntry) -> Result<(), String> {
        self.act("send gateway telemetry", |g, t| {
            g.send_own_telemetry(t, std::slice::from_ref(&entry))
        })?;
        let ts = match &entry {
            TelemetryEntry::Timed { ts, .. } => *ts,
            TelemetryEntry::Flat(_) => epoch_ms(),
        };
        self.store
            .borrow_mut()
            .own_telemetry
            .record(OWN, ts, entry.values());
        Ok(())
    }

    /// Ask for attributes of `device` (or of the gateway itself when `None`).
    pub fn request_attributes(
        &self,
        device: Option<&str>,
        scope: AttributeScope,
        keys: Vec<String>,
    ) -> Result<(), String> {
        let id = match device {
            Some(d) => self.act("request attributes", |g, t| {
                g.request_attributes(t, d, scope, &keys)
            })?,
            None => {
                let (client, shared): (Vec<String>, Vec<String>) = match scope {
                    AttributeScope::Client => (keys.clone(), vec![]),
                    AttributeScope::Shared => (vec![], keys.clone()),
                };
                self.act("request gateway attributes", |g, t| {
                    g.request_own_attributes(t, &client, &shared)
                })?
            }
        };
        self.store.borrow_mut().request_sent(Answer {
            id,
            device: device.map(str::to_string),
            scope: Some(scope),
            keys,
            method: None,
            outcome: Outcome::Pending,
            sent_ms: epoch_ms(),
            done_ms: None,
        });
        Ok(())
    }

    /// Call a client-side RPC of the gateway itself.
    pub fn call_own_rpc(&self, method: &str, params: Value) -> Result<(), String> {
        let id = self.act("call RPC", |g, t| g.call_own_rpc(t, method, params))?;
        self.store.borrow_mut().request_sent(Answer {
            id,
            device: None,
            scope: None,
            keys: vec![],
            method: Some(method.to_string()),
            outcome: Outcome::Pending,
            sent_ms: epoch_ms(),
            done_ms: None,
        });
        Ok(())
    }

    /// Reply to RPC `id` of `device` (of the gateway itself when `None`).
    pub fn reply_rpc(
        &self,
        device: Option<&str>,
        id: u64,
        data: Value,
        auto: bool,
    ) -> Result<(), String> {
        match device {
            Some(d) => self.act(&format!("reply to RPC {id} of {d}"), |g, t| {
                g.reply_rpc(t, d, id, data.clone())
            })?,
            None => self.act(&format!("reply to gateway RPC {id}"), |g, t| {
                g.reply_own_rpc(t, id, data.clone())
            })?,
        };
        self.store.borrow_mut().reply_sent(SentReply {
            device: device.map(str::to_string),
            id,
            data,
            auto,
            at_ms: epoch_ms(),
        });
        Ok(())
    }

    /// Publish client attributes of `device`.
    pub fn send_attributes(
        &self,
        device: Option<&str>,
        attributes: Attributes,
    ) -> Result<(), String> {
        match device {
            Some(d) => self
                .act("send attributes", |g, t| {
                    g.send_attributes(t, &[(d, attributes)])
                })
                .map(|_| ()),
            None => self
                .act("send gateway attributes", |g, t| {
                    g.send_own_attributes(t, &attributes)
                })
                .map(|_| ()),
        }
    }

    /// Apply every event the gateway has queued, answer RPCs by rule, then
    /// schedule one render.
    fn drain(&self) {
        let (t, wall) = (now(), epoch_ms());
        let mut to_answer = Vec::new();
        // The link changed state too (status line), whatever the events.
        let mut touched = Slices::of(&[Slice::Status]);
        {
            let mut store = self.store.borrow_mut();
            self.link.drain(|g| {
                while let Some(event) = g.poll_event() {
                    touched = touched.union(Slices::of_event(&event));
                    store.apply_gateway(&event, t, wall);
                    self.loadtest_event(&event);
                    match event {
                        GatewayEvent::RpcRequest {
                            device,
                            id,
                            method,
                            params,
                        } => {
                            if let Some(rule) = store.auto_replies.find(&device, &method) {
                                to_answer.push((
                                    Some(device),
                                    id,
                                    rule.answer(&params),
                                    rule.delay_ms,
                                ));
                            }
                        }
                        GatewayEvent::OwnRpcRequest { id, method, params } => {
                            if let Some(rule) = store.auto_replies.find(OWN, &method) {
                                to_answer.push((None, id, rule.answer(&params), rule.delay_ms));
                            }
                        }
                        _ => {}
                    }
                }
            });
        }
        for (device, id, data, delay_ms) in to_answer {
            if delay_ms == 0 {
                let _ = self.reply_rpc(device.as_deref(), id, data, true);
            } else {
                let me = self.me.borrow().clone();
                wasm_bindgen_futures::spawn_local(async move {
                    gloo::timers::future::TimeoutFuture::new(delay_ms.min(u32::MAX as u64) as u32)
                        .await;
                    if let Some(c) = me.upgrade() {
                        let _ = c.reply_rpc(device.as_deref(), id, data, true);
                    }
                });
            }
        }
        self.persist_journal();
        self.mark(touched);
    }
}
