// Long tasks on the app's main thread while a load test sends at 100,000,
// 400,000 and 800,000 data points/s (issue 9, point 4). For each rate and
// each build given (e.g. the code before a change and after it, interleaved
// so both see the same machine), a fresh page of the built app connects to
// mosquitto (no rate limits: the page waits 5 s for getSessionLimits, gets
// no answer and then paces nothing), and runs one load test: 1,000 devices
// created at the start, a random walk of K keys, one message per device
// every 100 ms (10,000 messages/s), K = rate / 10,000, for DURATION s.
// While the run is sending it records:
//   - every long task (PerformanceObserver 'longtask', buffered, installed
//     with page.addInitScript before the app loads): count per minute, max;
//   - main-thread busy %: the renderer's TaskDuration (CDP
//     Performance.getMetrics) over wall time in the same window;
//   - frames painted per second (a requestAnimationFrame loop) and the
//     longest gap between two frames;
// and from the run's exported summary: data points sent and acknowledged,
// and the points/s achieved.
// The window starts 2 s after the live results say "sending" and ends 2 s
// before the run's duration is up, so registration and drain stay out.
//
// Run it through `scripts/bench longtasks`. Environment:
//   BENCH_LT_BUILDS     label=dir[,label=dir…]: built apps (trunk dist dirs)
//   BENCH_LT_WS         mosquitto's websockets URL
//   BENCH_LT_RATES      data points/s, comma-separated (100000,400000,800000)
//   BENCH_LT_SECS       how long each run sends (25)
//   BENCH_RESULTS       where to write the results (Markdown; unset: nowhere)
//   BENCH_COMMAND       the command line to print in the results
//   BENCH_LT_PROFILE    a directory: also sample the main thread with the CDP
//                       profiler in the window (1 ms), write each run's
//                       .cpuprofile there and log its self time by function
//                       and by kind (wasm, JS, GC, other); the profiler's
//                       overhead makes that run's busy % higher
import { createServer } from 'node:http';
import { readFile, writeFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { extname, join, normalize } from 'node:path';
import { createRequire } from 'node:module';
import os from 'node:os';

const require = createRequire(new URL('../../tests/e2e/package.json', import.meta.url));
const { chromium } = require('playwright-core');

function must(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the benchmark through scripts/bench longtasks`);
  return v;
}
const builds = must('BENCH_LT_BUILDS').split(',').map((s) => {
  const [label, dir] = s.split('=');
  return { label, dir };
});
const WS = must('BENCH_LT_WS');
const RATES = (process.env.BENCH_LT_RATES || '100000,400000,800000').split(',').map(Number);
const SECS = Number(process.env.BENCH_LT_SECS || 25);
const DEVICES = 1000;
const EVERY_MS = 100;
const log = (...args) => console.error('[bench-longtasks]', ...args);
const PROFILE = process.env.BENCH_LT_PROFILE || '';

/** Self time (ms) of a CDP profile by function and by kind, largest first. */
function selfTimes(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = (profile.timeDeltas[i + 1] ?? 0) / 1000;
    const id = profile.samples[i];
    self.set(id, (self.get(id) ?? 0) + dt);
  }
  const fns = new Map();
  const kinds = new Map();
  for (const [id, ms] of self) {
    const f = byId.get(id).callFrame;
    const file = f.url.split('/').pop();
    const name = `${f.functionName || '(anonymous)'} ${file}`.trim();
    fns.set(name, (fns.get(name) ?? 0) + ms);
    const kind = f.url.endsWith('.wasm') || /^(\$|wasm-function)/.test(f.functionName) ? 'wasm'
      : f.functionName === '(garbage collector)' ? 'GC'
        : f.functionName === '(idle)' ? 'idle'
          : f.functionName === '(program)' ? 'program (browser work outside JS)'
            : 'JS';
    kinds.set(kind, (kinds.get(kind) ?? 0) + ms);
  }
  const top = (m, n) => [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => `${v.toFixed(0)} ms ${k}`);
  return { kinds: top(kinds, 10), functions: top(fns, 30) };
}

// ---- Serving every build, each on its own port ----

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.css': 'text/css' };
const servers = [];
for (const b of builds) {
  const server = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
    const file = join(b.dir, path.endsWith('/') ? path + 'index.html' : path);
    try {
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404).end('not found');
    }
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  b.url = `http://127.0.0.1:${server.address().port}/`;
  servers.push(server);
}

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

// Installed before the app's scripts: long tasks and frames from the start.
const INIT = () => {
  window.__lt = { tasks: [], frames: [] };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) window.__lt.tasks.push([e.startTime, e.duration]);
  }).observe({ type: 'longtask', buffered: true });
  const frame = (t) => { window.__lt.frames.push(t); requestAnimationFrame(frame); };
  requestAnimationFrame(frame);
};

const exact = { exact: true };

async function metrics(cdp) {
  const { metrics: list } = await cdp.send('Performance.getMetrics');
  return Object.fromEntries(list.map((m) => [m.name, m.value]));
}

/** One run of `rate` points/s on build `b`; resolves to its figures. */
async function measure(b, rate) {
  const keys = Math.round(rate / (DEVICES * (1000 / EVERY_MS)));
  const context = await browser.newContext({ viewport: { width: 1360, height: 1000 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.addInitScript(INIT);
  await page.goto(b.url);
  await page.getByRole('button', { name: 'Connect', exact: true }).waitFor();
  await page.getByLabel('URL').fill(WS);
  await page.getByLabel('Subprotocol').selectOption('mqtt');
  await page.getByLabel('MQTT version').selectOption('5');
  await page.getByLabel(/Bridged broker/).setChecked(false);
  await page.getByLabel('Authentication').selectOption('token');
  await page.getByLabel('Access token').fill(`bench-lt-${b.label}-${rate}`);
  await page.getByRole('button', { name: 'Connect', exact: true }).click();
  await page.getByRole('status', { name: 'Connection status' }).getByText('Connected', exact).waitFor({ timeout: 15_000 });

  await page.getByRole('tablist', { name: 'Pages' }).getByRole('tab', { name: 'Load test' }).click();
  await page.getByLabel('Devices of the run', exact).fill(`Load-{1..${DEVICES}}`);
  await page.getByLabel('Template', exact).selectOption('randomWalk');
  await page.getByLabel('Walk keys', exact).fill(Array.from({ length: keys }, (_, i) => `k${i}`).join(', '));
  await page.getByLabel('Every (ms) per device', exact).fill(String(EVERY_MS));
  await page.getByLabel('Duration (s)', exact).fill(String(SECS));
  await page.getByLabel('Wait for acknowledgements (s)', exact).fill('20');
  await page.getByRole('button', { name: 'Start run 1' }).click();
  const live = page.getByRole('region', { name: 'Live results' });
  await live.getByText(/— sending/).waitFor({ timeout: 90_000 });

  const cdp = await context.newCDPSession(page);
  await cdp.send('Performance.enable');
  await new Promise((ok) => setTimeout(ok, 2_000));
  if (PROFILE) {
    await cdp.send('Profiler.enable');
    await cdp.send('Profiler.setSamplingInterval', { interval: 1000 });
    await cdp.send('Profiler.start');
  }
  const m0 = await metrics(cdp);
  const p0 = await page.evaluate(() => performance.now());
  await new Promise((ok) => setTimeout(ok, (SECS - 4) * 1000));
  const m1 = await metrics(cdp);
  const p1 = await page.evaluate(() => performance.now());
  if (PROFILE) {
    const { profile } = await cdp.send('Profiler.stop');
    const name = `${b.label.replace(/[^\w.-]+/g, '_')}-${rate}.cpuprofile`;
    await writeFile(join(PROFILE, name), JSON.stringify(profile));
    const { kinds, functions } = selfTimes(profile);
    log(`profile ${b.label} ${rate}: ${join(PROFILE, name)}\n  by kind:\n    ${kinds.join('\n    ')}\n  by function:\n    ${functions.join('\n    ')}`);
  }
  const seen = await page.evaluate(([a, z]) => ({
    tasks: window.__lt.tasks.filter(([s, d]) => s + d > a && s < z),
    frames: window.__lt.frames.filter((t) => t >= a && t <= z),
  }), [p0, p1]);

  await page.getByRole('row', { name: 'Result 1' }).waitFor({ timeout: 120_000 });
  const [file] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Export result 1 as JSON' }).click(),
  ]);
  const summary = JSON.parse(await readFile(await file.path(), 'utf8')).summary;
  await context.close();

  const wall = (p1 - p0) / 1000;
  const durations = seen.tasks.map(([, d]) => d);
  let gap = 0;
  for (let i = 1; i < seen.frames.length; i++) gap = Math.max(gap, seen.frames[i] - seen.frames[i - 1]);
  const r = {
    build: b.label,
    rate,
    keys,
    windowSecs: wall,
    longTasks: durations.length,
    longTasksPerMin: durations.length / (wall / 60),
    maxLongTaskMs: durations.length ? Math.max(...durations) : 0,
    longTaskMs: durations.reduce((a, d) => a + d, 0),
    busyPct: (100 * (m1.TaskDuration - m0.TaskDuration)) / (m1.Timestamp - m0.Timestamp),
    fps: seen.frames.length / wall,
    maxFrameGapMs: gap,
    sentPoints: summary.sent.points,
    ackedPoints: summary.acked.points,
    pointsPerSecond: summary.pointsPerSecond,
    durationMs: summary.durationMs,
    publishes: summary.sent.publishes,
    p50: summary.latencyMs.p50,
    p99: summary.latencyMs.p99,
    errors,
  };
  log(JSON.stringify(r));
  return r;
}

const results = [];
for (const rate of RATES) {
  for (const b of builds) results.push(await measure(b, rate));
}
await browser.close();
for (const s of servers) s.close();

// ---- Report ----

const fmt = (n, d = 0) => n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
const rows = results.map((r) => `| ${r.build} | ${fmt(r.rate)} | ${fmt(r.pointsPerSecond)} | ${fmt(r.ackedPoints)} of ${fmt(r.sentPoints)} | `
  + `${fmt(r.longTasksPerMin, 1)} (${r.longTasks} in ${fmt(r.windowSecs, 1)} s) | ${fmt(r.maxLongTaskMs)} | ${fmt(r.busyPct, 1)} | `
  + `${fmt(r.fps, 1)} | ${fmt(r.maxFrameGapMs)} | ${r.p50 ?? '–'} / ${r.p99 ?? '–'} |`);
let commit = '';
try { commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim(); } catch { /* not a checkout */ }
const text = `# Long tasks under load (issue 9, point 4)

\`${process.env.BENCH_COMMAND || 'scripts/bench longtasks'}\` on ${new Date().toISOString().slice(0, 10)}, commit ${commit},
Chromium ${browser.version()} headless, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), shared.

Each row is one fresh page of the built app connected to mosquitto (MQTT 5,
its websockets listener, no rate limits), one load-test run: ${fmt(DEVICES)} devices created at
the start, a random walk of K keys, one message per device every ${EVERY_MS} ms,
K = rate / 10,000, sending for ${SECS} s. Measured in the window from 2 s after
sending starts to 2 s before its end: long tasks (PerformanceObserver
'longtask'), main-thread busy % (CDP Performance.getMetrics TaskDuration over
wall time), animation frames per second and the longest gap between frames.
"Achieved" is the run summary's data points/s; "acknowledged" its PUBACKed
points of the points sent. Builds: ${builds.map((b) => `${b.label} = \`${b.dir}\``).join(', ')}.

| Build | Requested points/s | Achieved points/s | Acknowledged points | Long tasks / min | Max long task (ms) | Busy % | Frames/s | Max frame gap (ms) | PUBACK p50 / p99 (ms) |
|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|
${rows.join('\n')}

Every figure as JSON:

\`\`\`json
${JSON.stringify(results, null, 1)}
\`\`\`
`;
console.log(text);
if (process.env.BENCH_RESULTS) await writeFile(process.env.BENCH_RESULTS, text);
