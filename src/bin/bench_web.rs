//! The wasm side of the browser benchmark that `scripts/bench` runs: our MQTT
//! link, driven from JavaScript, measured side by side with MQTT.js in the
//! same headless Chromium against the same mosquitto.
//!
//! trunk builds this binary into `bench/web/index.html`
//! (`<link data-trunk rel="rust" data-bin="bench_web">`); the page's driver
//! (`bench/web/bench.js`) calls the functions exported here through
//! `window.wasmBindings`, and runs MQTT.js through the same steps.
//!
//! Both scenarios use a `Link` over a `Session` as the app does:
//! `Link::connect`, an `on_change` callback that drains
//! `Session::poll_event`, and `Link::with` for `subscribe` and `publish`.
//!
//! - `bench_receive`: subscribe at QoS 1, then count N incoming QoS 1
//!   messages (the session acknowledges each); the time runs from the first
//!   message drained to the N-th.
//! - `bench_publish`: publish N QoS 1 messages in one go and wait for
//!   every PUBACK; the time runs from the first `publish` call to the last
//!   acknowledgement drained.
//!
//! Each takes two JavaScript callbacks, called at the same points as on the
//! MQTT.js side: `ready()` once connected (and subscribed), before the
//! payloads are built and the clock starts (the driver takes its "before"
//! memory snapshot there and, when receiving, holds the page until the broker
//! has all N messages queued) and `done()` just after the last message (the
//! "after" snapshot, taken while the connection is still up).
//!
//! A counting global allocator reports the wasm heap (bytes live, peak) next
//! to the size of the wasm linear memory (`wasm_memory`); it costs a
//! few additions per allocation.

#[cfg(target_arch = "wasm32")]
mod web {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::RefCell;
    use std::rc::Rc;
    use std::sync::atomic::{AtomicIsize, AtomicU64, Ordering::Relaxed};

    use browser_gateway::core::mqtt::{ConnectOptions, Credentials, Event, QoS, Session};
    use browser_gateway::shell::clock::now;
    use browser_gateway::shell::link::{Link, LinkConfig, LinkStatus};
    use bytes::Bytes;
    use js_sys::{Function, Object, Promise, Reflect};
    use wasm_bindgen::prelude::*;
    use wasm_bindgen::JsCast;
    use wasm_bindgen_futures::JsFuture;

    /// The program's allocator: [`System`] (dlmalloc on wasm32) plus counters.
    struct Counting;

    static ALLOCATED: AtomicU64 = AtomicU64::new(0);
    static LIVE: AtomicIsize = AtomicIsize::new(0);
    static PEAK: AtomicIsize = AtomicIsize::new(0);

    impl Counting {
        fn record(size: usize, delta: isize) {
            ALLOCATED.fetch_add(size as u64, Relaxed);
            let live = LIVE.fetch_add(delta, Relaxed) + delta;
            PEAK.fetch_max(live, Relaxed);
        }
    }

    // SAFETY: every call is forwarded unchanged to `System`; the counters have
    // no effect on the memory handed out.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            Self::record(layout.size(), layout.size() as isize);
            // SAFETY: same contract as the caller's.
            unsafe { System.alloc(layout) }
        }

        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            Self::record(layout.size(), layout.size() as isize);
            // SAFETY: same contract as the caller's.
            unsafe { System.alloc_zeroed(layout) }
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            LIVE.fetch_sub(layout.size() as isize, Relaxed);
            // SAFETY: same contract as the caller's.
            unsafe { System.dealloc(ptr, layout) }
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            Self::record(new_size, new_size as isize - layout.size() as isize);
            // SAFETY: same contract as the caller's.
            unsafe { System.realloc(ptr, layout, new_size) }
        }
    }

    #[global_allocator]
    static GLOBAL: Counting = Counting;

    /// The wasm side's memory now, as `{linear, live, peak, allocated}` in
    /// bytes: the size of the linear memory (it only grows), the heap bytes
    /// live, the most live at once since [`wasm_reset_peak`], and the bytes
    /// ever requested from the allocator.
    #[wasm_bindgen]
    pub fn wasm_memory() -> JsValue {
        let linear = wasm_bindgen::memory()
            .unchecked_into::<js_sys::WebAssembly::Memory>()
            .buffer()
            .unchecked_into::<js_sys::ArrayBuffer>()
            .byte_length();
        let figures = Object::new();
        for (key, value) in [
            ("linear", f64::from(linear)),
            ("live", LIVE.load(Relaxed) as f64),
            ("peak", PEAK.load(Relaxed) as f64),
            ("allocated", ALLOCATED.load(Relaxed) as f64),
        ] {
            let _ = Reflect::set(&figures, &key.into(), &value.into());
        }
        figures.into()
    }

    /// Start a new peak: the peak becomes what is live now.
    #[wasm_bindgen]
    pub fn wasm_reset_peak() {
        PEAK.store(LIVE.load(Relaxed), Relaxed);
    }

    /// The JSON payload of message `i`: about 100 bytes, as in the native
    /// bench (`bench/src/workload.rs`) and the page's MQTT.js side.
    #[wasm_bindgen]
    pub fn bench_payload(i: u32) -> String {
        format!(
            r#"{{"device":"Thermostat {:05}","data":{{"id":{},"method":"setTemperature","params":{{"value":{}.{}}}}}}}"#,
            i % 1_000,
            i,
            15 + i % 10,
            i % 10,
        )
    }

    /// `performance.now()`, in fractional milliseconds.
    fn perf_now() -> f64 {
        web_sys::window()
            .and_then(|w| w.performance())
            .map(|p| p.now())
            .unwrap_or_else(js_sys::Date::now)
    }

    /// What the session reported during one run.
    #[derive(Default)]
    struct Tally {
        /// How many messages (or acknowledgements) end the run.
        expect: u32,
        connected: bool,
        /// The SUBACK: whether every filter was granted.
        subscribed: Option<bool>,
        received: u32,
        payload_bytes: f64,
        acked: u32,
        /// `performance.now()` at the first message drained.
        first_at: f64,
        /// `performance.now()` when the `expect`-th message or ack was drained.
        last_at: f64,
        /// Why the run cannot finish (connection lost, PUBACK timed out).
        failed: Option<String>,
    }

    /// A condition to wait for, and the promise to resolve when it holds.
    type Waiter = (Box<dyn Fn(&Tally) -> bool>, Function);

    /// One run: the link, its tally, and whoever waits on it.
    struct Run {
        link: Link<Session>,
        tally: Rc<RefCell<Tally>>,
        waiter: Rc<RefCell<Option<Waiter>>>,
    }

    impl Run {
        /// A link with a fresh session whose events feed the tally, connecting to `url`.
        fn connect(url: &str, expect: u32) -> Run {
            let client_id = format!("bench-ours-{}", (js_sys::Math::random() * 1e9) as u64);
            let link = Link::new(Session::new(ConnectOptions::new(
                client_id,
                Credentials::Anonymous,
            )));
            let tally = Rc::new(RefCell::new(Tally {
                expect,
                ..Tally::default()
            }));
            let waiter: Rc<RefCell<Option<Waiter>>> = Rc::new(RefCell::new(None));
            let (drain, sink, wake) = (link.clone(), tally.clone(), waiter.clone());
            link.set_on_change(move || {
                drain.drain(|session| {
                    let mut t = sink.borrow_mut();
                    while let Some(event) = session.poll_event() {
                        match event {
                            Event::Connected { .. } => t.connected = true,
                            Event::Subscribed { results, .. } => {
                                t.subscribed = Some(results.iter().all(|r| r.granted.is_some()))
                            }
                            Event::Message { payload, .. } => {
                                if t.received == 0 {
                                    t.first_at = perf_now();
                                }
                                t.received += 1;
                                t.payload_bytes += payload.len() as f64;
                                if t.received == t.expect {
                                    t.last_at = perf_now();
                                }
                            }
                            Event::Acked(_) => {
                                t.acked += 1;
                                if t.acked == t.expect {
                                    t.last_at = perf_now();
                                }
                            }
                            Event::AckTimedOut { id, .. } => {
                                t.failed = Some(format!("no PUBACK for publish {}", id.0))
                            }
                            Event::Closed { error: Some(e) } => t.failed = Some(e.to_string()),
                            _ => {}
                        }
                    }
                });
                let ready = {
                    let (t, w) = (sink.borrow(), wake.borrow());
                    w.as_ref()
                        .is_some_and(|(check, _)| t.failed.is_some() || check(&t))
                };
                if ready {
                    let resolve = wake.borrow_mut().take().map(|(_, resolve)| resolve);
                    if let Some(resolve) = resolve {
                        let _ = resolve.call0(&JsValue::NULL);
                    }
                }
            });
            link.connect(LinkConfig {
                url: url.to_string(),
                subprotocol: "mqtt".into(),
                reconnect: false,
            });
            if let LinkStatus::Closed { error: Some(e) } = link.status() {
                tally.borrow_mut().failed = Some(e);
            }
            Run {
                link,
                tally,
                waiter,
            }
        }

        /// Wait until `check` holds (or the run fails).
        async fn until(
            &self,
            what: &str,
            check: impl Fn(&Tally) -> bool + 'static,
        ) -> Result<(), JsValue> {
            let pending = {
                let t = self.tally.borrow();
                t.failed.is_none() && !check(&t)
            };
            if pending {
                let mut check = Some(check);
                let promise = Promise::new(&mut |resolve, _reject| {
                    if let Some(check) = check.take() {
                        *self.waiter.borrow_mut() = Some((Box::new(check), resolve));
                    }
                });
                JsFuture::from(promise).await?;
            }
            match &self.tally.borrow().failed {
                Some(why) => Err(JsValue::from_str(&format!(
                    "our link failed while waiting for {what}: {why}"
                ))),
                None => Ok(()),
            }
        }

        /// `{ms, count, bytes}` for the driver.
        fn result(&self, ms: f64, count: u32) -> JsValue {
            let figures = Object::new();
            let bytes = self.tally.borrow().payload_bytes;
            for (key, value) in [("ms", ms), ("count", f64::from(count)), ("bytes", bytes)] {
                let _ = Reflect::set(&figures, &key.into(), &value.into());
            }
            figures.into()
        }
    }

    impl Drop for Run {
        /// Disconnect cleanly (on errors too) and break the link's reference
        /// cycle through its callback.
        fn drop(&mut self) {
            self.link.disconnect();
            self.link.set_on_change(|| {});
        }
    }

    /// Connect to `url`, subscribe to `topic` at QoS 1, call `ready()`, then
    /// receive `n` messages (each acknowledged by the session) and call
    /// `done()` with the connection still up. Resolves to `{ms, count,
    /// bytes}`: the milliseconds from the first message to the `n`-th, the
    /// messages and the payload bytes received.
    #[wasm_bindgen]
    pub async fn bench_receive(
        url: String,
        topic: String,
        n: u32,
        ready: Function,
        done: Function,
    ) -> Result<JsValue, JsValue> {
        let run = Run::connect(&url, n);
        run.until("CONNACK", |t| t.connected).await?;
        run.link
            .with(|s| s.subscribe(now(), &[(topic.as_str(), QoS::AtLeastOnce)]))
            .map_err(|e| JsValue::from_str(&format!("subscribe: {e}")))?;
        run.until("SUBACK", |t| t.subscribed.is_some()).await?;
        if run.tally.borrow().subscribed != Some(true) {
            return Err(JsValue::from_str("the broker refused the subscription"));
        }
        ready.call0(&JsValue::NULL)?;
        run.until("every message", move |t| t.received >= n).await?;
        done.call0(&JsValue::NULL)?;
        let (ms, count) = {
            let t = run.tally.borrow();
            (t.last_at - t.first_at, t.received)
        };
        Ok(run.result(ms, count))
    }

    /// Connect to `url`, call `ready()`, build `n` payloads
    /// ([`bench_payload`]), then publish them on `topic` at QoS 1 in one go,
    /// wait for every PUBACK, and call `done()` with the connection still up. Resolves
    /// to `{ms, count, bytes}`: the milliseconds from the first `publish`
    /// call to the last acknowledgement, the acknowledgements and the payload
    /// bytes published.
    #[wasm_bindgen]
    pub async fn bench_publish(
        url: String,
        topic: String,
        n: u32,
        ready: Function,
        done: Function,
    ) -> Result<JsValue, JsValue> {
        let run = Run::connect(&url, n);
        run.until("CONNACK", |t| t.connected).await?;
        ready.call0(&JsValue::NULL)?;
        let payloads: Vec<Bytes> = (0..n).map(|i| Bytes::from(bench_payload(i))).collect();
        run.tally.borrow_mut().payload_bytes = payloads.iter().map(|p| p.len() as f64).sum::<f64>();
        let start = perf_now();
        for payload in payloads {
            run.link
                .with(|s| s.publish(now(), &topic, payload, QoS::AtLeastOnce))
                .map_err(|e| JsValue::from_str(&format!("publish: {e}")))?;
        }
        run.until("every PUBACK", move |t| t.acked >= n).await?;
        done.call0(&JsValue::NULL)?;
        let (ms, count) = {
            let t = run.tally.borrow();
            (t.last_at - start, t.acked)
        };
        Ok(run.result(ms, count))
    }
}

/// Nothing to start: the page's driver calls the exported functions.
#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("bench_web runs in a browser: run `scripts/bench` (it builds the page with trunk).");
    std::process::exit(2);
}
