// Driver of the browser benchmark: serves the page trunk built from
// bench/web/index.html, starts Debian's chromium through playwright-core and
// runs both sides (our wasm link and MQTT.js) through every scenario in
// interleaved rounds. Prints a Markdown table and writes it, with the method
// and the conditions, to the results file (bench/web/RESULTS.md).
//
// Run it through scripts/bench, which builds the page and starts the brokers.
// Environment:
//   BENCH_DIST                 the built page (target/bench-dist)
//   BENCH_WS_URL, BENCH_TCP_PORT
//                              mosquitto with the project's configuration
//                              (websockets URL for the page, TCP port for the publisher)
//   BENCH_NOWINDOW_WS_URL, BENCH_NOWINDOW_TCP_PORT
//                              the same plus `max_inflight_messages 0`; optional
//   BENCH_MESSAGES (20000), BENCH_ROUNDS (3)
//   BENCH_RESULTS              where to write the results (unset: nowhere)
//   BENCH_COMMAND              the command line to print in the results
//   BENCH_RAW                  where to write every run's figures as JSON (optional)
import { createServer } from 'node:http';
import { readFile, writeFile, stat, readdir } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { extname, join, normalize } from 'node:path';
import { createRequire } from 'node:module';
import os from 'node:os';

// playwright-core and mqtt live in tests/e2e/node_modules (scripts/setup).
const require = createRequire(new URL('../../tests/e2e/package.json', import.meta.url));
const { chromium } = require('playwright-core');
const mqtt = require('mqtt');
const mqttVersion = JSON.parse(readFileSync(require.resolve('mqtt/package.json'), 'utf8')).version;

function must(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the benchmark through scripts/bench`);
  return v;
}

const env = {
  dist: must('BENCH_DIST'),
  messages: Number(process.env.BENCH_MESSAGES || 20000),
  rounds: Number(process.env.BENCH_ROUNDS || 3),
  results: process.env.BENCH_RESULTS,
  command: process.env.BENCH_COMMAND || 'scripts/bench',
};
const brokers = {
  project: { ws: must('BENCH_WS_URL'), tcp: must('BENCH_TCP_PORT') },
};
if (process.env.BENCH_NOWINDOW_WS_URL) {
  brokers.nowindow = { ws: must('BENCH_NOWINDOW_WS_URL'), tcp: must('BENCH_NOWINDOW_TCP_PORT') };
}

const N = env.messages.toLocaleString('en');
const SCENARIOS = [
  {
    key: 'receive', kind: 'receive', broker: 'project', topic: 'v1/gateway/rpc',
    name: `1. Receive ${N} QoS 1 PUBLISH, PUBACK each`,
  },
  {
    key: 'receive-nowindow', kind: 'receive', broker: 'nowindow', topic: 'v1/gateway/rpc',
    name: `2. The same, broker with no in-flight window`,
  },
  {
    key: 'publish', kind: 'publish', broker: 'project', topic: 'v1/gateway/telemetry',
    name: `3. Publish ${N} QoS 1, wait for every PUBACK`,
  },
].filter((s) => brokers[s.broker]);

const log = (...args) => console.error('[bench-web]', ...args);
const RUN_TIMEOUT_MS = 120_000;

/** The payload of message `i`: the same ~100-byte JSON as both sides build (bench/web/bench.js). */
function payload(i) {
  const pad = String(i % 1000).padStart(5, '0');
  return `{"device":"Thermostat ${pad}","data":{"id":${i},"method":"setTemperature","params":{"value":${15 + (i % 10)}.${i % 10}}}}`;
}

// The publishers of the receive scenarios: MQTT.js in node over plain TCP,
// one connection per broker for the whole run. Each publishes N QoS 1
// messages at once (MQTT.js keeps no in-flight cap) and answers once
// mosquitto has acknowledged all of them, i.e. queued them for the page.
for (const [name, broker] of Object.entries(brokers)) {
  broker.publisher = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.tcp}`, {
    protocolVersion: 4,
    clean: true,
    clientId: `bench-publisher-${name}-${process.pid}`,
    reconnectPeriod: 0,
  });
}

async function publishAll(broker, topic, n) {
  const start = performance.now();
  await new Promise((resolve, reject) => {
    let acked = 0;
    for (let i = 0; i < n; i++) {
      broker.publisher.publish(topic, payload(i), { qos: 1 }, (err) => {
        if (err) return reject(err);
        if (++acked === n) resolve();
      });
    }
  });
  const ms = performance.now() - start;
  return { ms, rate: (n / ms) * 1000 };
}

// The page, and /gate: the page's synchronous request that holds it while
// the publisher runs.
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm' };
const server = createServer(async (req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/gate') {
    try {
      const broker = brokers[url.searchParams.get('broker')];
      const figures = await publishAll(broker, url.searchParams.get('topic'), Number(url.searchParams.get('n')));
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(figures));
    } catch (e) {
      res.writeHead(500).end(String(e));
    }
    return;
  }
  const path = normalize(decodeURIComponent(url.pathname)).replace(/^(\.\.[/\\])+/, '');
  const file = join(env.dist, path.endsWith('/') ? path + 'index.html' : path);
  try {
    const body = await readFile(file);
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    res.end(body);
  } catch {
    res.writeHead(404).end('not found');
  }
});
await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
const pageUrl = `http://127.0.0.1:${server.address().port}/`;

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--enable-precise-memory-info', '--js-flags=--expose-gc'],
});
const chromiumVersion = browser.version();

/** One fresh page: a warm-up pass (a tenth of the messages), then the measured pass. */
async function measure(side, scenario, n) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  try {
    await page.goto(pageUrl);
    await page.evaluate(() => window.bench.started());
    const opts = {
      url: brokers[scenario.broker].ws,
      topic: scenario.topic,
      gateUrl: `${pageUrl}gate?broker=${scenario.broker}`,
    };
    const call = (count) => {
      const run = page.evaluate(([s, kind, o]) => window.bench.run(s, kind, o), [side, scenario.kind, { ...opts, n: count }]);
      let timer;
      const timeout = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${side} ${scenario.key}: no result after ${RUN_TIMEOUT_MS} ms`)), RUN_TIMEOUT_MS);
      });
      return Promise.race([run, timeout]).finally(() => clearTimeout(timer));
    };
    await call(Math.max(1, Math.round(n / 10)));
    return await call(n);
  } catch (e) {
    throw new Error(`${e.message}${errors.length ? `\npage errors: ${errors.join('\n')}` : ''}`);
  } finally {
    await context.close();
  }
}

// Interleaved rounds: each round runs every scenario on both sides,
// alternating which side goes first.
const started = Date.now();
const runs = Object.fromEntries(SCENARIOS.map((s) => [s.key, { ours: [], peer: [] }]));
for (let round = 0; round < env.rounds; round++) {
  const order = round % 2 === 0 ? ['ours', 'peer'] : ['peer', 'ours'];
  for (const scenario of SCENARIOS) {
    for (const side of order) {
      const r = await measure(side, scenario, env.messages);
      r.rate = (r.count / r.ms) * 1000;
      runs[scenario.key][side].push(r);
      const pub = r.publisher ? `, publisher ${Math.round(r.publisher.rate)}/s` : '';
      log(`round ${round + 1} ${scenario.key} ${side}: ${Math.round(r.rate)} messages/s (${r.ms.toFixed(0)} ms, ${r.sent} WebSocket messages sent${pub})`);
    }
  }
}
const seconds = (Date.now() - started) / 1000;
await browser.close();
for (const broker of Object.values(brokers)) await broker.publisher.endAsync();
server.close();
if (process.env.BENCH_RAW) await writeFile(process.env.BENCH_RAW, JSON.stringify(runs, null, 1));

// ---- The report ----

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const rate = (x) => (x >= 1e6 ? `${(x / 1e6).toFixed(2)} M` : `${(x / 1e3).toFixed(2)} k`);
const size = (b) => {
  const a = Math.abs(b);
  if (a >= 1024 * 1024) return `${(b / 1024 / 1024).toFixed(2)} MiB`;
  if (a >= 1024) return `${(b / 1024).toFixed(1)} KiB`;
  return `${Math.round(b)} B`;
};
const ratio = (a, b) => (a > 0 && b > 0 ? (a / b).toFixed(2) : '–');

/** The figures of one measured pass. Memory figures are growth over "before". */
function figures(r, side) {
  const wasm = side === 'ours'
    ? {
        kept: r.kept.wasm.live - r.before.wasm.live,
        peak: r.kept.wasm.peak - r.before.wasm.live,
        linear: r.kept.wasm.linear - r.before.wasm.linear,
      }
    : { kept: 0, peak: 0, linear: 0 };
  return {
    rate: r.rate,
    sent: r.sent,
    // What the page needed at most: the sampled JS heap peak, plus the wasm
    // linear memory (which only grows, so its end size is its peak).
    peak: r.peakHeap - r.before.heap + wasm.linear,
    // What stays while connected after the work: JS heap and wasm heap, after GC.
    kept: r.kept.heap - r.before.heap + wasm.kept,
    wasmPeak: wasm.peak,
    wasmLinear: wasm.linear,
  };
}

const rows = [];
for (const scenario of SCENARIOS) {
  const f = {
    ours: runs[scenario.key].ours.map((r) => figures(r, 'ours')),
    peer: runs[scenario.key].peer.map((r) => figures(r, 'peer')),
  };
  const med = (side, key) => median(f[side].map((x) => x[key]));
  const perRound = f.ours.map((o, i) => o.rate / f.peer[i].rate);
  const range = `${Math.min(...perRound).toFixed(2)}–${Math.max(...perRound).toFixed(2)}`;
  rows.push([scenario.name, `messages/s, median of ${env.rounds} rounds`, rate(med('ours', 'rate')), rate(med('peer', 'rate')),
    `**${ratio(med('ours', 'rate'), med('peer', 'rate'))}** (rounds ${range})`]);
  rows.push(['', 'WebSocket messages sent', String(Math.round(med('ours', 'sent'))), String(Math.round(med('peer', 'sent'))),
    ratio(med('ours', 'sent'), med('peer', 'sent'))]);
  rows.push(['', 'peak memory growth: JS heap (sampled) + wasm linear memory', size(med('ours', 'peak')), size(med('peer', 'peak')),
    ratio(med('ours', 'peak'), med('peer', 'peak'))]);
  rows.push(['', 'memory kept at the end, after GC: JS heap + wasm heap', size(med('ours', 'kept')), size(med('peer', 'kept')),
    ratio(med('ours', 'kept'), med('peer', 'kept'))]);
  rows.push(['', 'of ours, wasm: heap peak / linear memory growth',
    `${size(med('ours', 'wasmPeak'))} / ${size(med('ours', 'wasmLinear'))}`, '–', '–']);
}
const table = [
  `| Scenario | Measure | ours (wasm link) | peer (MQTT.js ${mqttVersion}) | ours/peer |`,
  '|---|---|--:|--:|--:|',
  ...rows.map((r) => `| ${r.join(' | ')} |`),
].join('\n');

console.log(`\n## Browser: our wasm link vs MQTT.js ${mqttVersion} (${env.messages} messages, ${env.rounds} rounds, ${seconds.toFixed(0)} s)\n`);
console.log(table);
console.log('\nFor throughput, above 1 means we are faster; for memory and messages sent, below 1 means we use less.');

if (env.results) {
  await writeFile(env.results, await report());
  log(`wrote ${env.results}`);
}

/** RESULTS.md: the command, the method, the table and the conditions. */
async function report() {
  const sh = (cmd, args) => {
    try {
      return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      return `${e.stdout ?? ''}${e.stderr ?? ''}`;
    }
  };
  const cpu = (readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/) ?? [])[1] ?? os.cpus()[0]?.model ?? '?';
  const mosquitto = (sh(process.env.BG_MOSQUITTO || 'mosquitto', ['-h']).match(/mosquitto version (\S+)/) ?? [])[1] ?? '?';
  const wasmFile = (await readdir(env.dist)).find((name) => name.endsWith('.wasm'));
  const wasmSize = wasmFile ? (await stat(join(env.dist, wasmFile))).size : 0;
  const mqttSize = (await stat(join(env.dist, 'mqtt.min.js'))).size;
  const commit = sh('git', ['rev-parse', '--short', 'HEAD']).trim() || '?';
  const dirty = sh('git', ['status', '--porcelain']).trim() ? ', with uncommitted changes' : '';
  const rx = SCENARIOS.find((s) => s.kind === 'receive')?.topic;
  const tx = SCENARIOS.find((s) => s.kind === 'publish')?.topic;
  return `## Benchmarks in the browser: our link vs MQTT.js

Our MQTT link (\`Link<Session>\` from \`src/shell/link.rs\`, compiled to wasm
as the app is) and the peer, [MQTT.js](https://github.com/mqttjs/MQTT.js)
${mqttVersion} (its browser bundle \`dist/mqtt.min.js\`), run in the same
headless Chromium against the same mosquitto websockets listener, on the
same workload, in interleaved rounds.

\`\`\`sh
${env.command}
\`\`\`

\`scripts/bench\` runs the native benchmark (\`bench/RESULTS.md\`), then this
one: it builds \`bench/web/index.html\` with trunk (release, as the app) into
\`target/bench-dist\`, starts two mosquittos from \`mosquitto/mosquitto.conf.in\`
on free loopback ports (the second with \`max_inflight_messages 0\` added) and
runs \`bench/web/run.mjs\`. \`scripts/bench web\` runs only this one;
\`BG_BENCH_MESSAGES\` (20000) and \`BG_BENCH_ROUNDS\` (3) change the workload.
The rounds of this run took ${seconds.toFixed(0)} s. Every side of every scenario gets a fresh
page: a warm-up pass with a tenth of the messages, then the measured pass.

1. **Receive.** The page connects (MQTT 3.1.1, clean session) and subscribes
   to \`${rx}\` at QoS 1. Then it holds its main thread in a synchronous
   request while a publisher (MQTT.js in node, over TCP, all ${env.messages}
   QoS 1 messages at once) gets every message acknowledged by mosquitto, so
   the broker holds all of them for the page before it reads the first. Then
   the page receives them (each a ~100-byte JSON, each acknowledged with a
   PUBACK by the client). Time: from the first message delivered to the
   application to the last. The broker runs the project's configuration, so
   it keeps mosquitto's default window of 20 QoS 1 messages in flight to a
   client.
2. **The same with no broker window.** As 1, against a mosquitto with
   \`max_inflight_messages 0\`: the broker sends everything without waiting
   for PUBACKs, so only the page's own speed counts.
3. **Publish.** The page connects, builds ${env.messages} ~100-byte JSON
   payloads, then publishes them on \`${tx}\` at QoS 1 in one go and waits
   for every PUBACK. Time: from the first \`publish\` call to the last
   acknowledgement. Ours keeps at most 50 publishes in flight (the app's
   default), MQTT.js has no cap.

Ours: \`Link::connect\`, an \`on_change\` callback that drains
\`Session::poll_event\`, and \`Link::with(|s| s.subscribe/publish(...))\`, as
the app does (\`src/bin/bench_web.rs\`). Peer: \`mqtt.connect(url,
{protocolVersion: 4, clean: true})\`, \`subscribeAsync\`, \`publish(topic,
payload, {qos: 1}, callback)\` and the \`message\` event (\`bench/web/bench.js\`).
Each side counts the messages and payload bytes, and a run fails unless both
are as expected. Messages/s is the median over the rounds; the first ratio is
ours/peer of those medians, the range beside it the lowest and highest ratio
within one round. "WebSocket messages sent" counts \`WebSocket.send\` calls in
the timed part (the page wraps it, for both sides).

Memory comes from the same passes, as growth over a "before" taken after a
forced GC, once connected and subscribed (before the publish payloads are
built): the JS heap (\`performance.memory.usedJSHeapSize\`, with
\`--enable-precise-memory-info\`) and, for our side, the wasm linear memory and
the wasm heap (a counting allocator in \`bench_web\`). "Peak" is the highest
JS heap sampled every 20 ms during the pass plus the growth of the wasm
linear memory (it never shrinks). "Kept" is measured after the last message,
after a forced GC, with the connection still up. Medians over the rounds.

${table}

For throughput, a ratio above 1 means we are faster. For memory and messages
sent, a ratio below 1 means we use less.

Conditions: Chromium ${chromiumVersion} headless (Debian), mosquitto ${mosquitto},
node ${process.version} (the publisher), ${cpu}, ${os.cpus().length} cores
shared by the browser's processes, the broker and the publisher. Our wasm:
${size(wasmSize)} (\`bench_web\`, release profile: \`opt-level = "z"\`, LTO,
wasm-opt -Oz); the MQTT.js bundle: ${size(mqttSize)}. Commit ${commit}${dirty}.

Caveats:

- The figures are end to end: they include Chromium's WebSocket machinery
  (each \`WebSocket.send\` and each message received crosses to the network
  process) and mosquitto, on a small shared machine. Rates move by tens of
  percent from run to run; the interleaved rounds share that noise between
  the sides, the ranges show what is left.
- "WebSocket messages sent" explains most of the speed difference. Our link
  writes what one event produced as one WebSocket message, so each incoming
  WebSocket message (mosquitto sends one per PUBLISH) gets its own PUBACK
  message, and each PUBACK frame from the broker lets one publish out.
  MQTT.js writes through a Node-style stream that buffers writes and hands
  them to the socket in batches (\`_writev\`), so its PUBACKs leave about a
  thousand at a time and all its publishes in one message. Each
  \`WebSocket.send\` is a round of IPC in Chromium: the number of messages,
  not their size, sets the pace.
- mosquitto ${mosquitto}'s window of 20 hardly binds: in a check with a raw
  client, each PUBACK released up to 20 more messages (one PUBACK: 20 more;
  20 PUBACKs: 400 more), however the PUBACKs were framed. Scenario 2 takes
  the window away altogether; if its figures match scenario 1's, the page,
  not the broker, sets the pace.
- The sides do not do exactly the same work. Ours also keeps a traffic-log
  event for every packet (topic and payload), validates topics, arms a
  PUBACK deadline per publish and caps publishes in flight at 50; MQTT.js
  wraps each payload in a \`Buffer\` and goes through its stream machinery.
- After a burst of publishes, ours keeps the capacity of the session's
  publish queue (a \`VecDeque\` in \`src/core/mqtt/inflight.rs\`, about 48
  bytes per queued publish on wasm32, never shrunk): that is most of its
  "kept" figure in scenario 3. MQTT.js keeps more JS heap after publishing.
- One page holds both sides (the wasm module and the MQTT.js bundle are both
  loaded), so the JS heap before the pass includes both; only growth is
  compared.
`;
}
