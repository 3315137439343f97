// The in-page half of the browser benchmark (scripts/bench drives it through
// bench/web/run.mjs). Both sides go through the same steps, with the same
// callbacks at the same points:
//
//   receive: connect, subscribe at QoS 1, ready() [memory "before", then a
//            synchronous request that returns once the broker holds all N
//            messages for us], count N messages (each acknowledged by the
//            client), done() [memory "after"], disconnect.
//   publish: connect, ready() [memory "before"], build N payloads, publish
//            them at QoS 1 in one go, wait for every PUBACK, done()
//            [memory "after"], disconnect.
//
// Between ready() and done() the JS heap is sampled every 20 ms for its peak.
//
// "ours" is our Link<Session> in wasm (src/bin/bench_web.rs, through
// window.wasmBindings); "peer" is MQTT.js's browser bundle (window.mqtt).
// Needs chromium started with --enable-precise-memory-info and
// --js-flags=--expose-gc.

/** The payload of message `i`: the same ~100-byte JSON as the wasm side's `bench_payload`. */
function payload(i) {
  const pad = String(i % 1000).padStart(5, '0');
  return `{"device":"Thermostat ${pad}","data":{"id":${i},"method":"setTemperature","params":{"value":${15 + (i % 10)}.${i % 10}}}}`;
}

// WebSocket messages the page sends, counted for both sides alike (one
// extra call per send). MQTT.js coalesces its writes; our link writes one
// message per turn of the event loop.
let wsSent = 0;
const wsSend = WebSocket.prototype.send;
WebSocket.prototype.send = function send(data) {
  wsSent += 1;
  return wsSend.call(this, data);
};

/** A full garbage collection (twice: the second frees what the first's finalizers released). */
function collect() {
  globalThis.gc();
  globalThis.gc();
}

/** Memory now: the JS heap, and for our side the wasm figures. */
function snapshot(side) {
  const s = { heap: performance.memory.usedJSHeapSize };
  if (side === 'ours') s.wasm = window.wasmBindings.wasm_memory();
  return s;
}

/** Block this page (the main thread) until the driver's publisher has queued `n` messages at the broker. */
function gate(gateUrl, topic, n) {
  const url = new URL(gateUrl, location.href);
  url.searchParams.set('topic', topic);
  url.searchParams.set('n', String(n));
  const xhr = new XMLHttpRequest();
  xhr.open('GET', url, false);
  xhr.send();
  if (xhr.status !== 200) throw new Error(`the publisher failed: ${xhr.status} ${xhr.responseText}`);
  return JSON.parse(xhr.responseText);
}

/** MQTT.js connected to `url` as the brief's peer: MQTT 3.1.1, clean session, no reconnect. */
function peerConnect(url) {
  return new Promise((resolve, reject) => {
    const client = window.mqtt.connect(url, {
      protocolVersion: 4,
      clean: true,
      clientId: `bench-peer-${Math.floor(Math.random() * 1e9)}`,
      keepalive: 60,
      reconnectPeriod: 0,
    });
    client.once('connect', () => resolve(client));
    client.once('error', reject);
    client.once('close', () => reject(new Error('MQTT.js: the connection closed before CONNACK')));
  });
}

const peer = {
  async receive(url, topic, n, ready, done) {
    const client = await peerConnect(url);
    let count = 0;
    let bytes = 0;
    let first = 0;
    let last = 0;
    let finish;
    const finished = new Promise((resolve, reject) => {
      finish = resolve;
      client.on('close', () => reject(new Error(`MQTT.js: closed after ${count} of ${n} messages`)));
    });
    client.on('message', (_topic, message) => {
      if (count === 0) first = performance.now();
      count += 1;
      bytes += message.length;
      if (count === n) {
        last = performance.now();
        finish();
      }
    });
    const granted = await client.subscribeAsync(topic, { qos: 1 });
    if (granted[0].qos !== 1) throw new Error(`MQTT.js: subscription not granted: ${JSON.stringify(granted)}`);
    ready();
    await finished;
    done();
    client.removeAllListeners('close');
    await client.endAsync();
    return { ms: last - first, count, bytes };
  },

  async publish(url, topic, n, ready, done) {
    const client = await peerConnect(url);
    ready();
    const payloads = Array.from({ length: n }, (_, i) => payload(i));
    const bytes = payloads.reduce((sum, p) => sum + p.length, 0);
    let acked = 0;
    let last = 0;
    const start = performance.now();
    await new Promise((resolve, reject) => {
      client.on('close', () => reject(new Error(`MQTT.js: closed after ${acked} of ${n} PUBACKs`)));
      for (const p of payloads) {
        client.publish(topic, p, { qos: 1 }, (err) => {
          if (err) return reject(err);
          acked += 1;
          if (acked === n) {
            last = performance.now();
            resolve();
          }
        });
      }
    });
    done();
    client.removeAllListeners('close');
    await client.endAsync();
    return { ms: last - start, count: acked, bytes };
  },
};

const ours = {
  receive: (url, topic, n, ready, done) => window.wasmBindings.bench_receive(url, topic, n, ready, done),
  publish: (url, topic, n, ready, done) => window.wasmBindings.bench_publish(url, topic, n, ready, done),
};

/**
 * One run of `scenario` ('receive' or 'publish') by `side` ('ours' or 'peer').
 * Resolves to {ms, count, bytes, sent, before, end, kept, peakHeap,
 * publisher}: the timed milliseconds, messages, payload bytes, WebSocket
 * messages sent in the timed part, memory before (after a GC), at the end (no
 * GC) and kept at the end (after a GC, connection still up), the sampled peak
 * of the JS heap, and for 'receive' what the driver's publisher reported.
 */
async function run(side, scenario, { url, topic, n, gateUrl }) {
  let before;
  let end;
  let kept;
  let publisher = null;
  let sent = 0;
  let peakHeap = 0;
  let sampler = null;
  const sample = () => {
    peakHeap = Math.max(peakHeap, performance.memory.usedJSHeapSize);
  };
  const ready = () => {
    collect();
    before = snapshot(side);
    if (side === 'ours') window.wasmBindings.wasm_reset_peak();
    peakHeap = before.heap;
    sampler = setInterval(sample, 20);
    if (scenario === 'receive') publisher = gate(gateUrl, topic, n);
    wsSent = 0;
  };
  const done = () => {
    sent = wsSent;
    clearInterval(sampler);
    sample();
    end = snapshot(side);
    collect();
    kept = snapshot(side);
  };
  const impl = side === 'ours' ? ours : peer;
  const result = await impl[scenario](url, topic, n, ready, done);
  if (result.count !== n) throw new Error(`${side} ${scenario}: ${result.count} of ${n} messages`);
  const expectedBytes = Array.from({ length: n }, (_, i) => payload(i).length).reduce((a, b) => a + b, 0);
  if (result.bytes !== expectedBytes) {
    throw new Error(`${side} ${scenario}: ${result.bytes} payload bytes, expected ${expectedBytes}`);
  }
  return { ms: result.ms, count: result.count, bytes: result.bytes, sent, before, end, kept, peakHeap, publisher };
}

/** Resolves once the wasm module is initialised (trunk's loader sets window.wasmBindings). */
function started() {
  if (window.wasmBindings) return Promise.resolve();
  return new Promise((resolve) => addEventListener('TrunkApplicationStarted', () => resolve(), { once: true }));
}

window.bench = { run, started, payload };
