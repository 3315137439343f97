// The app's memory under a long run: the built console (index.html: gateway,
// store, traffic log, notices, device list, a render per frame) receives
// 1,000,000 server-shaped messages from mosquitto while the wasm linear
// memory and the JS heap are sampled every second. Writes the figures, the
// cap and its make-up to bench/web/APP-MEMORY.md.
//
// Run it through `scripts/bench app`, which builds the app with trunk and
// starts mosquitto. Environment:
//   BENCH_APP_DIST          the built app (target/app-dist)
//   BENCH_WS_URL            the WebSocket URL the page connects to: websockify
//                           relaying to mosquitto's TCP listener (see below)
//   BENCH_WS_SUBPROTOCOL    the page's WebSocket subprotocol (binary for
//                           websockify, mqtt for mosquitto's own listener)
//   BENCH_TCP_PORT          its TCP listener, for the publisher
//   BENCH_APP_MESSAGES      how many messages (1000000)
//   BENCH_RESULTS           where to write the results (unset: nowhere)
//   BENCH_COMMAND           the command line to print in the results
//   BENCH_RAW               where to write every sample as JSON (optional)
//   BENCH_APP_HEAP_SNAPSHOT a directory: at each checkpoint, after the forced
//                           GC, write the page's JS heap snapshot there
//                           (heap-<messages>.heapsnapshot, through the
//                           DevTools protocol); compare two with
//                           bench/web/heapdiff.mjs (optional, slow: seconds
//                           per snapshot)
import { createServer } from 'node:http';
import { readFile, writeFile, stat, readdir, mkdir } from 'node:fs/promises';
import { readFileSync, createWriteStream } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { extname, join, normalize } from 'node:path';
import { createRequire } from 'node:module';
import os from 'node:os';

const require = createRequire(new URL('../../tests/e2e/package.json', import.meta.url));
const { chromium } = require('playwright-core');
const mqtt = require('mqtt');

function must(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the benchmark through scripts/bench app`);
  return v;
}
const env = {
  dist: must('BENCH_APP_DIST'),
  ws: must('BENCH_WS_URL'),
  subprotocol: process.env.BENCH_WS_SUBPROTOCOL || 'binary',
  tcp: must('BENCH_TCP_PORT'),
  messages: Number(process.env.BENCH_APP_MESSAGES || 1_000_000),
  results: process.env.BENCH_RESULTS,
  command: process.env.BENCH_COMMAND || 'scripts/bench app',
  heapSnapshots: process.env.BENCH_APP_HEAP_SNAPSHOT,
};
const log = (...args) => console.error('[bench-app]', ...args);
const MiB = 1024 * 1024;
const KiB = 1024;

// ---- The workload ----

const DEVICES = 10; // Load-0 … Load-9, registered through the page first
const ATTRIBUTE_KEYS = 20; // k0 … k19 per device
// Every BLOCK_EVERY messages, BLOCK_LEN consecutive large ones (20–60 KiB):
// each block weighs about 20 MiB, more than the traffic log's 16 MiB cap.
const BLOCK_EVERY = 50_000;
const BLOCK_LEN = 500;
const LARGE_MIN = 20 * KiB;
const LARGE_MAX = 60 * KiB;
const SMALL_MIN = 100;
const SMALL_MAX = 1024;
// Pacing: at most this many QoS 1 publishes unacknowledged by mosquitto, and
// at most this many messages / bytes published that the page has not counted.
const IN_FLIGHT = 100;
const AHEAD = 4_000;
const AHEAD_BYTES = 8 * MiB;
const CHECKPOINTS = [100_000, env.messages].filter((n, i, a) => n <= env.messages && a.indexOf(n) === i);

/** A small deterministic PRNG (mulberry32), so every run sends the same bytes. */
function prng(seed) {
  return () => {
    seed |= 0; seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = prng(8);
const rpcIds = new Array(DEVICES).fill(0);

/** Message `i`: 60 % RPC requests, 40 % shared attribute updates, sizes mixed. */
function message(i) {
  const large = i % BLOCK_EVERY >= BLOCK_EVERY / 2 && i % BLOCK_EVERY < BLOCK_EVERY / 2 + BLOCK_LEN;
  const target = large
    ? LARGE_MIN + Math.floor(random() * (LARGE_MAX - LARGE_MIN))
    : SMALL_MIN + Math.floor(random() * (SMALL_MAX - SMALL_MIN));
  const d = i % DEVICES;
  const device = `Load-${d}`;
  let head, tail;
  let topic;
  if (random() < 0.6) {
    topic = 'v1/gateway/rpc';
    const id = ++rpcIds[d];
    head = `{"device":"${device}","data":{"id":${id},"method":"ping","params":{"seq":${i},"pad":"`;
    tail = '"}}}';
  } else {
    topic = 'v1/gateway/attributes';
    head = `{"device":"${device}","data":{"k${Math.floor(random() * ATTRIBUTE_KEYS)}":"`;
    tail = '"}}';
  }
  const pad = Math.max(0, target - head.length - tail.length);
  const payload = Buffer.from(head + 'x'.repeat(pad) + tail);
  return { topic, payload, large };
}

// ---- The page ----

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.css': 'text/css' };
const server = createServer(async (req, res) => {
  const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
  const file = join(env.dist, path.endsWith('/') ? path + 'index.html' : path);
  try {
    const body = await readFile(file);
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(body);
  } catch {
    res.writeHead(404).end('not found');
  }
});
await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
const appUrl = `http://127.0.0.1:${server.address().port}/`;

// The flags of tests/e2e/harness.mjs launch(), plus precise heap figures and
// window.gc for the figures taken after a forced collection.
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--enable-precise-memory-info', '--js-flags=--expose-gc'],
});
const chromiumVersion = browser.version();
const page = await browser.newPage({ viewport: { width: 1360, height: 1200 } });
const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(String(e)));
page.on('dialog', (d) => { pageErrors.push(`dialog: ${d.message()}`); d.dismiss(); });
await page.goto(appUrl);
await page.getByRole('button', { name: 'Connect', exact: true }).waitFor();

// Connect through the form: MQTT 5 (the default), not bridged.
await page.getByLabel('URL').fill(env.ws);
await page.getByLabel('Subprotocol').selectOption(env.subprotocol);
await page.getByLabel('MQTT version').selectOption('5');
await page.getByLabel(/Bridged broker/).setChecked(false);
await page.getByLabel('Authentication').selectOption('token');
await page.getByLabel('Access token').fill('bench-app-token');
await page.getByRole('button', { name: /^(Connect|Reconnect)$/ }).click();
await page.getByRole('status', { name: 'Connection status' }).getByText('Connected', { exact: true }).waitFor({ timeout: 15_000 });
await page.getByLabel('Device name or pattern').fill(`Load-{0..${DEVICES - 1}}`);
await page.getByLabel('Device type').fill('Load');
await page.getByRole('button', { name: 'Add', exact: true }).click();
await page.getByLabel('Device count').getByText(`${DEVICES} shown of ${DEVICES}`).waitFor({ timeout: 15_000 });
// The gateway waits up to 5 s for getSessionLimits (mosquitto never
// answers), then sends the device connects: let that pass.
await page.waitForTimeout(7_000);
// The traffic log's page stays open for the run: it renders the newest
// packets each frame and shows its kept and dropped counts.
await page.getByRole('tab', { name: 'Traffic log' }).click();
await page.getByLabel('Log size').waitFor();

/** What the page shows and holds now. */
const probe = (gc) => page.evaluate((gc) => {
  if (gc) window.gc();
  const counters = document.querySelector('[aria-label="Message counters"]')?.textContent ?? '';
  const size = document.querySelector('[aria-label="Log size"]')?.textContent ?? '';
  const m = /in (\d+)\/s \((\d+)\)/.exec(counters);
  const l = /(\d+) kept · (\d+) dropped/.exec(size);
  const e = /errors (\d+)/.exec(counters);
  return {
    wasm: window.wasmBindings.wasm_memory_bytes(),
    held: window.wasmBindings.js_values_held?.() ?? null,
    heap: performance.memory.usedJSHeapSize,
    totalHeap: performance.memory.totalJSHeapSize,
    inRate: m ? Number(m[1]) : null,
    inTotal: m ? Number(m[2]) : null,
    kept: l ? Number(l[1]) : null,
    dropped: l ? Number(l[2]) : null,
    errors: e ? Number(e[1]) : null,
    status: document.querySelector('[aria-label="Connection status"]')?.textContent ?? '',
  };
}, gc);

/** The JS heap once the sweeping of a forced GC has finished (1 s later,
 * no new GC: V8 sweeps in the background after marking, and
 * usedJSHeapSize counts pages not yet swept, garbage included), then after
 * a second forced GC and after the DevTools protocol's collectGarbage. */
const cdp = await page.context().newCDPSession(page);
async function heapAfterMoreGc() {
  // V8's own objects and Blink's (DOM, layout: the embedder heap), apart.
  const split = async () => {
    const u = await cdp.send('Runtime.getHeapUsage');
    return { v8: u.usedSize, blink: u.embedderHeapUsedSize ?? null };
  };
  const firstSplit = await split();
  const swept = await page.evaluate(() => new Promise((ok) => setTimeout(() => ok(performance.memory.usedJSHeapSize), 1_000)));
  const second = await page.evaluate(() => { window.gc(); return performance.memory.usedJSHeapSize; });
  const secondSplit = await split();
  await cdp.send('HeapProfiler.collectGarbage');
  const third = await page.evaluate(() => performance.memory.usedJSHeapSize);
  return { swept, second, third, firstSplit, secondSplit };
}

/** Write the page's JS heap snapshot to `file` (BENCH_APP_HEAP_SNAPSHOT). */
async function heapSnapshot(file) {
  const out = createWriteStream(file);
  const onChunk = ({ chunk }) => out.write(chunk);
  cdp.on('HeapProfiler.addHeapSnapshotChunk', onChunk);
  await cdp.send('HeapProfiler.takeHeapSnapshot', { reportProgress: false, captureNumericValue: false });
  cdp.off('HeapProfiler.addHeapSnapshotChunk', onChunk);
  await new Promise((ok, fail) => out.end((e) => (e ? fail(e) : ok())));
}
if (env.heapSnapshots) await mkdir(env.heapSnapshots, { recursive: true });

/** After a forced GC, the used JS heap as V8 counts it now (the DevTools
 * protocol's Runtime.getHeapUsage): `performance.memory` does not show the
 * collection just made (measured: 23 MiB from it, 2.3 MiB from V8 right
 * after the same GC, and still 23 MiB from it 1 s later). */
async function probeAfterGc() {
  const p = await probe(true);
  const u = await cdp.send('Runtime.getHeapUsage');
  return { ...p, heap: u.usedSize, blinkHeap: u.embedderHeapUsedSize ?? null, memoryApiHeap: p.heap };
}

const baseline = await probeAfterGc();
const baseIn = baseline.inTotal ?? 0;
log(`baseline after connecting and registering ${DEVICES} devices, after GC: wasm ${(baseline.wasm / MiB).toFixed(1)} MiB, JS heap ${(baseline.heap / MiB).toFixed(1)} MiB`);
if (baseline.status !== 'Connected') throw new Error(`not connected: ${baseline.status}`);

// ---- The run ----

const publisher = await mqtt.connectAsync(`mqtt://127.0.0.1:${env.tcp}`, {
  protocolVersion: 5, clean: true, clientId: `bench-app-publisher-${process.pid}`, reconnectPeriod: 0,
});

const samples = [];
const checkpoints = {};
let published = 0; // handed to MQTT.js
let acked = 0; // acknowledged by mosquitto
let bytesPublished = 0;
let largeCount = 0;
let processed = 0; // counted by the page ("in … (total)")
let last = baseline;
const sizes = []; // payload sizes of messages published and not yet counted by the page
let sizesHead = 0;
let bytesAhead = 0;
const peak = { wasm: baseline.wasm, heap: baseline.heap, sum: baseline.wasm + baseline.heap };
const started = performance.now();
let failure = null;

function record(s) {
  s.t = (performance.now() - started) / 1000;
  s.published = published;
  samples.push(s);
  last = s;
  const counted = (s.inTotal ?? baseIn) - baseIn;
  while (processed < counted && sizesHead < sizes.length) { bytesAhead -= sizes[sizesHead++]; processed++; }
  processed = counted;
  if (sizesHead > 100_000) { sizes.splice(0, sizesHead); sizesHead = 0; }
  peak.wasm = Math.max(peak.wasm, s.wasm);
  peak.heap = Math.max(peak.heap, s.heap);
  if (s.wasm + s.heap > peak.sum) { peak.sum = s.wasm + s.heap; peak.sumAt = processed; }
  if (s.status !== 'Connected') failure ??= `the page left "Connected": ${s.status}`;
}

// The sampler: every second, the memory figures; in between, the page's
// count, for pacing (every 100 ms).
let sampling = true;
const sampler = (async () => {
  let next = performance.now();
  while (sampling) {
    const s = await probe(false);
    if (performance.now() >= next) {
      record(s);
      next += 1000;
      if (samples.length % 10 === 0) {
        log(`${s.t.toFixed(0)} s: page counted ${processed}, published ${published}, in ${s.inRate}/s, wasm ${(s.wasm / MiB).toFixed(1)} MiB, JS heap ${(s.heap / MiB).toFixed(1)} MiB, log ${s.kept} kept ${s.dropped} dropped`);
      }
    } else {
      const counted = (s.inTotal ?? baseIn) - baseIn;
      while (processed < counted && sizesHead < sizes.length) { bytesAhead -= sizes[sizesHead++]; processed++; }
      processed = counted;
    }
    await new Promise((ok) => setTimeout(ok, 100));
  }
})();

const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));
let inFlight = 0;
let wake = null;
const STALL_MS = 60_000;

async function waitFor(what, cond) {
  let lastProgress = performance.now();
  let lastProcessed = processed;
  while (!cond()) {
    if (failure) throw new Error(failure);
    if (processed !== lastProcessed) { lastProcessed = processed; lastProgress = performance.now(); }
    if (performance.now() - lastProgress > STALL_MS) {
      throw new Error(`no progress for ${STALL_MS / 1000} s waiting for ${what}: page counted ${processed}, published ${published}, acked ${acked}`);
    }
    await new Promise((ok) => { wake = ok; setTimeout(ok, 20); });
  }
}

try {
  for (const checkpoint of CHECKPOINTS) {
    while (published < checkpoint) {
      await waitFor('room to publish', () => inFlight < IN_FLIGHT
        && published - processed < AHEAD && bytesAhead < AHEAD_BYTES);
      const { topic, payload, large } = message(published);
      published++;
      bytesPublished += payload.length;
      if (large) largeCount++;
      sizes.push(payload.length);
      bytesAhead += payload.length;
      inFlight++;
      publisher.publish(topic, payload, { qos: 1 }, (err) => {
        if (err) failure ??= `publish failed: ${err.message}`;
        inFlight--;
        acked++;
        wake?.();
      });
    }
    await waitFor(`the page to count ${checkpoint}`, () => processed >= checkpoint);
    await sleep(1_500);
    const s = await probe(false);
    const g = await probeAfterGc();
    const more = await heapAfterMoreGc();
    record(s);
    checkpoints[checkpoint] = { sampled: s, afterGc: g, afterMoreGc: more, peakSoFar: { ...peak } };
    log(`checkpoint ${checkpoint}: wasm ${(s.wasm / MiB).toFixed(1)} MiB + JS heap ${(s.heap / MiB).toFixed(1)} MiB (after GC ${(g.heap / MiB).toFixed(1)} MiB, swept 1 s later ${(more.swept / MiB).toFixed(1)} MiB, a second GC ${(more.second / MiB).toFixed(1)} MiB, DevTools collectGarbage ${(more.third / MiB).toFixed(1)} MiB); peak sum so far ${((peak.sum) / MiB).toFixed(1)} MiB; JS values held by the wasm ${g.held}; V8 / Blink heaps after the first GC ${(more.firstSplit.v8 / MiB).toFixed(1)} / ${((more.firstSplit.blink ?? 0) / MiB).toFixed(1)} MiB, after the second ${(more.secondSplit.v8 / MiB).toFixed(1)} / ${((more.secondSplit.blink ?? 0) / MiB).toFixed(1)} MiB`);
    if (env.heapSnapshots) {
      const file = join(env.heapSnapshots, `heap-${checkpoint}.heapsnapshot`);
      await heapSnapshot(file);
      log(`checkpoint ${checkpoint}: heap snapshot in ${file}`);
    }
  }
} finally {
  sampling = false;
  await sampler;
}
const seconds = (performance.now() - started) / 1000;
const end = checkpoints[env.messages].afterGc;
await publisher.endAsync();
await browser.close();
server.close();

const counted = end.inTotal - baseIn;
if (counted !== env.messages) throw new Error(`the page counted ${counted} messages, expected ${env.messages}`);
if (end.kept + end.dropped < env.messages) throw new Error(`the traffic log saw ${end.kept + end.dropped} packets, fewer than ${env.messages}`);
if (pageErrors.length) throw new Error(`page errors:\n${pageErrors.join('\n')}`);
if (process.env.BENCH_RAW) {
  await writeFile(process.env.BENCH_RAW, JSON.stringify({ baseline, checkpoints, peak, samples }, null, 1));
}

// ---- The cap ----
// What the app may hold at most, from its documented bounds, on top of the
// baseline. The byte bounds are read from the Rust sources, so the cap
// follows them: `pub const NAME: usize = 16 * 1024 * 1024;`.
function constant(file, name) {
  const text = readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8');
  const m = new RegExp(`pub const ${name}: usize = ([0-9_ *]+);`).exec(text);
  if (!m) throw new Error(`${name} not found in ${file}: update the cap in bench/web/app.mjs`);
  return m[1].split('*').reduce((a, f) => a * Number(f.trim().replaceAll('_', '')), 1);
}
const bound = (file, name) => ({ bytes: constant(file, name), where: `\`${name}\` (${file})` });
const LOG = bound('src/console/store.rs', 'LOG_BYTE_CAP');
const RPC = bound('src/core/gateway/model/rpc_inbox.rs', 'RPC_INBOX_BYTES');
const SHARED = bound('src/core/gateway/model/shared.rs', 'SHARED_TOTAL_BYTES');
const SHARED_OWN = bound('src/core/gateway/model/shared.rs', 'SHARED_DEVICE_BYTES');
const ANSWERS = bound('src/console/store.rs', 'ANSWERS_BYTE_CAP');
const REPLIES = bound('src/console/store.rs', 'REPLIES_BYTE_CAP');
const OFFLINE = bound('src/core/gateway/client/held.rs', 'OFFLINE_QUEUE_BYTES');
// [what, bytes, where it comes from, whether this run can reach it]
const capParts = [
  ['baseline after connecting (wasm linear memory + JS heap, after GC)', baseline.wasm + baseline.heap,
    'measured', true],
  ['traffic log', LOG.bytes, `${LOG.where}: payloads + topics + 128 B per entry, at most 5 000 entries`, true],
  ['device RPC inbox', RPC.bytes, `${RPC.where}: params, method and device name + 128 B per request, at most 256 requests`, true],
  ['own RPC inbox', RPC.bytes, `${RPC.where} again, for the gateway itself (not used by this workload)`, false],
  ['shared attributes of the devices', SHARED.bytes,
    `${SHARED.where}: the latest value of each key, the devices updated longest ago forgotten past it`, true],
  ['the gateway\'s own shared attributes', SHARED_OWN.bytes, `${SHARED_OWN.where} (not used by this workload)`, false],
  ['attribute answers', ANSWERS.bytes, `${ANSWERS.where}, at most 500 (the console asks none in this run)`, false],
  ['RPC replies', REPLIES.bytes, `${REPLIES.where}, at most 1 000 (none sent in this run: no auto-reply rule)`, false],
  ['offline queue', OFFLINE.bytes, `${OFFLINE.where}; empty while connected`, false],
  ['small rings', 1 * MiB,
    'notices 200 of at most 1 KiB, rejected 500, chart series 300 points × 8 watched keys (src/console/store.rs, telemetry.rs): under 1 MiB', true],
  ['JS heap garbage between collections', 16 * MiB,
    'one V8 semi-space (16 MiB on 64-bit) of short-lived objects: socket events, render diffs', true],
];
const cap = capParts.reduce((a, [, b]) => a + b, 0);
// The part of the cap this run can reach: connected (the offline queue stays
// empty), no RPC to the gateway itself, no attribute request, no RPC reply.
const capHere = capParts.reduce((a, [, b, , here]) => a + (here ? b : 0), 0);
const jsAllowance = baseline.heap + 16 * MiB;
// When the wasm linear memory grew, by messages counted.
const growth = [];
for (const s of samples) {
  if (!growth.length || s.wasm !== growth.at(-1).wasm) growth.push({ n: (s.inTotal ?? baseIn) - baseIn, wasm: s.wasm });
}

// ---- The report ----

const mib = (b) => `${(b / MiB).toFixed(1)} MiB`;
const at = (n) => {
  const c = checkpoints[n];
  return c ? `${mib(c.sampled.wasm + c.sampled.heap)} (wasm ${mib(c.sampled.wasm)} + JS ${mib(c.sampled.heap)}; JS after GC ${mib(c.afterGc.heap)})` : '–';
};
// A few points of the time series: about 12, evenly by message count.
const series = [];
for (let k = 0; k <= 10; k++) {
  const want = (env.messages * k) / 10;
  const s = samples.find((x) => (x.inTotal ?? 0) - baseIn >= want) ?? samples.at(-1);
  if (s && !series.includes(s)) series.push(s);
}
const maxSample = samples.reduce((a, s) => (s.wasm + s.heap > a.wasm + a.heap ? s : a), samples[0]);
if (!series.includes(maxSample)) series.push(maxSample);
series.sort((a, b) => a.t - b.t);
const rate = env.messages / seconds;

const figures = `| Measure | Value |
|---|--:|
| messages the page counted (status bar "in … (total)") | ${counted.toLocaleString('en')} of ${env.messages.toLocaleString('en')} |
| traffic log at the end: kept / dropped | ${end.kept.toLocaleString('en')} / ${end.dropped.toLocaleString('en')} |
| payload bytes published | ${mib(bytesPublished)} (${largeCount.toLocaleString('en')} messages of 20–60 KiB) |
| run time, average rate | ${seconds.toFixed(0)} s, ${Math.round(rate).toLocaleString('en')} messages/s |
| baseline (connected, ${DEVICES} devices, after GC): wasm + JS heap | ${mib(baseline.wasm + baseline.heap)} (wasm ${mib(baseline.wasm)} + JS ${mib(baseline.heap)}) |
| **peak wasm linear memory** | **${mib(peak.wasm)}** |
| **peak JS heap (used)** | **${mib(peak.heap)}** |
| **peak of the sum** (sampled each second) | **${mib(peak.sum)}** |
| sum at 100 000 messages | ${at(100_000)} |
| sum at ${env.messages.toLocaleString('en')} messages | ${at(env.messages)} |
| JS values held by the wasm (\`js_values_held()\`): baseline / 100 000 / end | ${baseline.held ?? '–'} / ${checkpoints[100_000]?.afterGc.held ?? '–'} / ${end.held ?? '–'} |
| **cap** | **${mib(cap)}** |
| peak sum / cap | **${(peak.sum / cap).toFixed(2)}** |
| the part of the cap this run can reach (no offline queue, own RPCs or attributes, answers, replies) / peak sum over it | ${mib(capHere)} / ${(peak.sum / capHere).toFixed(2)} |`;

const capTable = `| Part | Bytes | Where it comes from |
|---|--:|---|
${capParts.map(([what, b, why]) => `| ${what} | ${mib(b)} | ${why} |`).join('\n')}
| **cap** | **${mib(cap)}** | |`;

const seriesTable = `| t (s) | messages counted | wasm | JS heap | sum | traffic log kept / dropped |
|--:|--:|--:|--:|--:|--:|
${series.map((s) => `| ${s.t.toFixed(0)} | ${((s.inTotal ?? baseIn) - baseIn).toLocaleString('en')} | ${mib(s.wasm)} | ${mib(s.heap)} | ${mib(s.wasm + s.heap)} | ${s.kept ?? '–'} / ${s.dropped ?? '–'} |`).join('\n')}`;

console.log(`\n## The app's memory over ${env.messages.toLocaleString('en')} messages (${seconds.toFixed(0)} s)\n`);
console.log(figures);
console.log(`\n${capTable}\n`);
console.log(seriesTable);

if (env.results) {
  await writeFile(env.results, await report());
  log(`wrote ${env.results}`);
}

async function report() {
  const sh = (cmd, args) => {
    try { return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }); } catch (e) { return `${e.stdout ?? ''}${e.stderr ?? ''}`; }
  };
  const cpu = (readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/) ?? [])[1] ?? '?';
  const mosquitto = (sh(process.env.BG_MOSQUITTO || 'mosquitto', ['-h']).match(/mosquitto version (\S+)/) ?? [])[1] ?? '?';
  const wasmFile = (await readdir(env.dist)).find((name) => name.endsWith('.wasm'));
  const wasmSize = wasmFile ? (await stat(join(env.dist, wasmFile))).size : 0;
  const commit = sh('git', ['rev-parse', '--short', 'HEAD']).trim() || '?';
  const dirty = sh('git', ['status', '--porcelain', '--untracked-files=no']).trim() ? ', with uncommitted changes' : '';
  return `## The app's memory over ${env.messages.toLocaleString('en')} messages

The console itself (the \`index.html\` trunk builds: gateway, store, traffic
log, notices, device list, one render per animation frame), in headless
Chromium, receives ${env.messages.toLocaleString('en')} server-shaped messages
from mosquitto, and its memory is sampled every second: the wasm linear
memory (\`wasm_memory_bytes()\`, exported by \`src/main.rs\`) and the JS heap
(\`performance.memory.usedJSHeapSize\`, with \`--enable-precise-memory-info\`).
It is a benchmark, not a test: \`scripts/test\` does not run it.

\`\`\`sh
${env.command}
\`\`\`

\`scripts/bench app\` builds the app (\`trunk build --release\` into
\`target/app-dist\`), starts mosquitto from \`mosquitto/mosquitto.conf.in\`
on free loopback ports with websockify in front of its TCP listener (the
README's setup A), and runs \`bench/web/app.mjs\`. Not mosquitto's own
websockets listener: mosquitto 2.0.11 with Debian's libwebsockets sends a
PUBLISH of more than about 4 KiB over websockets at a few per second
(measured: 200 messages of 40 000 bytes, 108 delivered in 60 s, against 200
of 1 000 bytes in 17 ms; mosquitto issues #1390 and #2252), so the first
block of large messages took minutes and measured the broker, not the page.
\`BG_BENCH_APP_MESSAGES\` changes the count (default 1 000 000).

**The run.** The page connects through its connect form (MQTT 5, not
bridged, token auth, subprotocol \`\${env.subprotocol}\`) to \`\${env.ws}\` and registers
${DEVICES} devices, \`Load-0\` … \`Load-${DEVICES - 1}\`, through its device form.
After the gateway's 5 s wait for \`getSessionLimits\` (mosquitto does not
answer it), it opens the "Traffic log" page, which stays open for the run
(it renders the newest packets each frame and shows the kept and dropped
counts), and the baseline is taken after a forced GC. A publisher (MQTT.js in
node, over TCP, MQTT 5, QoS 1) then sends, round robin over the devices:

- 60 % RPC requests on \`v1/gateway/rpc\`,
  \`{"device":"Load-N","data":{"id":k,"method":"ping","params":{"seq":i,"pad":"…"}}}\`
  (no auto-reply rule: each waits in the RPC inbox, then expires with a notice),
- 40 % attribute updates on \`v1/gateway/attributes\`,
  \`{"device":"Load-N","data":{"kJ":"…"}}\` with J among ${ATTRIBUTE_KEYS} keys,
- sizes uniform in ${SMALL_MIN} B – ${SMALL_MAX / KiB} KiB, except that in every ${BLOCK_EVERY.toLocaleString('en')}
  messages ${BLOCK_LEN} consecutive ones are ${LARGE_MIN / KiB}–${LARGE_MAX / KiB} KiB (about 20 MiB per block, more
  than the traffic log's 16 MiB: its byte cap, not its 5 000 entries, binds
  then).

Pacing: at most ${IN_FLIGHT} publishes unacknowledged by mosquitto, and at most
${AHEAD.toLocaleString('en')} messages or ${AHEAD_BYTES / MiB} MiB published that the page has not yet counted
(the status bar's "in … (total)", read every 100 ms), so the broker's queue
stays short and the page's speed sets the pace. At 100 000 and at
${env.messages.toLocaleString('en')} messages the publisher waits for the page to count
them all, then a sample is taken (and one more after a forced GC). The run
fails unless the page counts exactly ${env.messages.toLocaleString('en')} incoming PUBLISH, the
traffic log saw at least as many packets (kept + dropped), the page stays
connected and raises no error.

${figures}

The sums are wasm linear memory + used JS heap, as sampled. Wasm memory
never shrinks, so its sampled maximum is its true peak; the JS heap is
sampled once a second and may have peaked between samples.

**The cap** is what the app may hold: its documented bounds (read from the
sources by the bench), added to the baseline.

${capTable}

Within the cap, the JS heap alone peaked at ${mib(peak.heap)}: ${peak.heap > jsAllowance ? `more than its
term (baseline ${mib(baseline.heap)} + 16 MiB = ${mib(jsAllowance)}), by ${mib(peak.heap - jsAllowance)}` : `within its term (baseline ${mib(baseline.heap)} + 16 MiB = ${mib(jsAllowance)})`}.
After a forced GC the JS heap was ${mib(checkpoints[100_000]?.afterGc.heap ?? 0)} at 100 000 messages and ${mib(end.heap)} at
the end: V8's used heap read through the DevTools protocol
(\`Runtime.getHeapUsage\`) right after \`gc()\`. Not \`performance.memory\`,
which does not show the collection just made: read right after the same GC
it still gave ${mib(end.memoryApiHeap)} at the end (a second \`gc()\` brought it to
${mib(checkpoints[env.messages].afterMoreGc.second)}). What is above the after-GC figure while the run goes is garbage
V8 had not collected yet. The wasm holds ${end.held} JS values (its externref
table: DOM nodes, closures) at the end and ${baseline.held} at the baseline: a value
kept per message would show here.
The wasm linear memory grew at these counts (messages counted: size):
${growth.map((g) => `${g.n.toLocaleString('en')}: ${mib(g.wasm)}`).join('; ')}.

**Time series** (every sample is in the raw JSON, \`BENCH_RAW\`):

${seriesTable}

Conditions: Chromium ${chromiumVersion} headless (Debian), mosquitto ${mosquitto},
node ${process.version} (the publisher), ${cpu}, ${os.cpus().length} cores shared by
the browser's processes, the broker and the publisher. The app's wasm:
${mib(wasmSize)} (release profile, wasm-opt -Oz). Commit ${commit}${dirty}.
`;
}
