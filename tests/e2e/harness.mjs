// Shared by the end-to-end tests: serves the built app, launches Debian's
// chromium through playwright-core, and starts the platform emulator (the
// MQTT server the page connects to, and ThingsBoard's REST API), websockify
// and mosquitto on free loopback ports.
// The environment comes from scripts/test: BG_DIST (the built app),
// BG_EMULATOR_BIN (the platform-emulator binary), BG_MOSQUITTO.
import { createServer } from 'node:http';
import { readFile, mkdir, mkdtemp } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import { extname, join, normalize } from 'node:path';
import { execFile, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { createServer as netServer, connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';
import { rest } from './tb.mjs';

const run = promisify(execFile);

// Children this process started, killed when it exits however it exits, so a
// failed or interrupted run leaves no broker or emulator behind.
// Not SIGPIPE: node ignores it (a write to a closed socket or pipe is an
// EPIPE error), and a listener for it would install a real handler, so that
// any socket write racing a peer's close (a relay dropping its connections,
// a restarted emulator) would end the whole run with 130.
const children = new Set();
// Directories this process made for emulator state files, removed at exit.
const stateDirs = new Set();
function track(proc) {
  children.add(proc);
  proc.once('exit', () => children.delete(proc));
  return proc;
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(signal, () => process.exit(130));
}
process.on('exit', () => {
  for (const c of children) c.kill();
  for (const d of stateDirs) rmSync(d, { recursive: true, force: true });
});

export const env = {
  get dist() { return must('BG_DIST'); },
  emulatorBin: process.env.BG_EMULATOR_BIN ?? new URL('../../target/debug/platform-emulator', import.meta.url).pathname,
  mosquitto: process.env.BG_MOSQUITTO ?? 'mosquitto',
  shots: new URL('./screenshots/', import.meta.url).pathname,
};

function must(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the end-to-end tests through scripts/test`);
  return v;
}

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.css': 'text/css' };

/** Serve `env.dist` statically on a free loopback port; resolves to its URL. */
export async function serveApp() {
  const server = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
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
  return { url: `http://127.0.0.1:${server.address().port}/`, close: () => server.close() };
}

/** Debian's chromium, headless, with the flags that keep it off the closed network. */
export async function launch() {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/**
 * A page on the app that records console errors and uncaught exceptions.
 * `browser` is a Browser (the page gets a context of its own, as a separate
 * browser would) or a BrowserContext (another tab of that browser).
 */
export async function openApp(browser, appUrl) {
  const page = typeof browser.pages === 'function'
    ? await browser.newPage()
    : await browser.newPage({ viewport: { width: 1360, height: 1200 } });
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(String(e)));
  page.on('dialog', (d) => { page.errors.push(`dialog opened: ${d.message()}`); d.dismiss(); });
  await page.goto(appUrl);
  await page.getByRole('button', { name: 'Connect', exact: true }).waitFor();
  return page;
}

/** A file-name-safe short form of a test name. */
export function slug(name) {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60);
}

/** Save a screenshot named `name` under tests/e2e/screenshots/. */
export async function screenshot(page, name) {
  await mkdir(env.shots, { recursive: true });
  // The viewport only: a full-page capture scrolls, and the sticky status bar
  // would be painted in the middle of the picture.
  await page.screenshot({ path: join(env.shots, `${name}.png`) });
}

/** Fill the connect form and connect (the caller waits for the outcome). */
export async function connect(page, { url, token = 'e2e-gateway-token', subprotocol = 'mqtt', profile, remember, mqtt, bridged, expiry, keepalive } = {}) {
  if (!url) throw new Error('connect: no url');
  if (profile) await page.getByLabel('Profile name').fill(profile);
  await page.getByLabel('URL').fill(url);
  await page.getByLabel('Subprotocol').selectOption(subprotocol);
  if (mqtt !== undefined) await page.getByLabel('MQTT version').selectOption(mqtt);
  if (bridged !== undefined) await page.getByLabel(/Bridged broker/).setChecked(bridged);
  if (expiry !== undefined) await page.getByLabel('Sub-device expiry (s)').fill(String(expiry));
  if (keepalive !== undefined) await page.getByLabel('Keepalive (s)').fill(String(keepalive));
  await page.getByLabel('Authentication').selectOption('token');
  await page.getByLabel('Access token').fill(token);
  if (remember !== undefined) await page.getByLabel('Remember the secret in this browser').setChecked(remember);
  await page.getByRole('button', { name: /^(Connect|Reconnect)$/ }).click();
}

/** The status line's "Connected", to wait for. */
export const connectedStatus = (page) =>
  page.getByRole('status', { name: 'Connection status' }).getByText('Connected', { exact: true });

/** Wait until `probe()` returns a truthy value, polling every 100 ms, failing after `ms`. */
export async function until(what, probe, ms = 10_000) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try { last = await probe(); if (last) return last; } catch (e) { last = e; }
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what} (last: ${last})`);
    await new Promise((ok) => setTimeout(ok, 100));
  }
}

/** A TCP port on loopback that nothing listens on now. */
export async function freePort() {
  return new Promise((ok) => { const s = netServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => ok(p)); }); });
}

async function portOpen(port) {
  return new Promise((ok) => { const c = netConnect(port, '127.0.0.1', () => { c.end(); ok(true); }); c.on('error', () => ok(false)); });
}

/**
 * The platform emulator (BG_EMULATOR_BIN) on free loopback ports: MQTT over
 * TCP, MQTT over WebSocket (what the page connects to) and the REST API.
 * It is ready when it has printed its three "listening" lines on stdout.
 *
 * Options: `acceptAnyToken` (default true: any token at CONNECT becomes a
 * gateway device "Gateway TOKEN"), `gateways` (tokens passed as --gateway),
 * `state` (true: the tenant is kept in a state file, `--state`, in a
 * directory of its own removed when the tests end), `args` (more flags).
 *
 * Resolves to { tcp, ws, http, wsUrl, url, tb (the REST client of tb.mjs),
 * log() (its stderr so far, over every start), stateFile, stop() (SIGTERM;
 * resolves to the exit, { code, signal }, once the process has exited),
 * start() (again on the same ports, after stop()), restart() (stop, then
 * start again on the same ports: with `state`, the tenant it saved at the
 * stop; without, an empty one) }.
 */
export async function startEmulator({ acceptAnyToken = true, gateways = [], args = [], state = false } = {}) {
  const emu = { tcp: 0, ws: 0, http: 0, stderr: '' };
  if (state) {
    const dir = await mkdtemp(join(tmpdir(), 'bg-emulator-state-'));
    stateDirs.add(dir);
    emu.stateFile = join(dir, 'tenant.json');
  }
  const start = async () => {
    const argv = ['--mqtt', `127.0.0.1:${emu.tcp}`, '--ws', `127.0.0.1:${emu.ws}`, '--http', `127.0.0.1:${emu.http}`,
      ...gateways.flatMap((g) => ['--gateway', g]), ...(acceptAnyToken ? ['--accept-any-token'] : []),
      ...(emu.stateFile ? ['--state', emu.stateFile] : []), ...args];
    const proc = track(spawn(env.emulatorBin, argv, { stdio: ['ignore', 'pipe', 'pipe'] }));
    emu.proc = proc;
    proc.stderr.on('data', (d) => { emu.stderr += d; });
    const exited = new Promise((ok) => proc.once('exit', (code, signal) => ok({ code, signal })));
    emu.exited = exited;
    // The ready lines, in order, http last:
    //   emulator: mqtt listening on 127.0.0.1:P
    //   emulator: ws listening on ws://127.0.0.1:P
    //   emulator: http listening on http://127.0.0.1:P
    const ready = new Promise((ok, fail) => {
      const lines = createInterface({ input: proc.stdout });
      lines.on('line', (line) => {
        const m = /^emulator: (mqtt|ws|http) listening on (?:\w+:\/\/)?([^\s]+?):(\d+)\/?$/.exec(line.trim());
        if (!m) return;
        emu[m[1] === 'mqtt' ? 'tcp' : m[1]] = Number(m[3]);
        if (m[1] === 'http') ok();
      });
      exited.then(({ code, signal }) => fail(new Error(`the emulator exited (${code ?? signal}) before it was ready:\n${emu.stderr}`)));
    });
    const timeout = new Promise((_, fail) => setTimeout(() => fail(new Error(`the emulator was not ready in 20 s:\n${emu.stderr}`)), 20_000).unref());
    await Promise.race([ready, timeout]);
    emu.wsUrl = `ws://127.0.0.1:${emu.ws}`;
    emu.url = `http://127.0.0.1:${emu.http}`;
    emu.tb ??= rest(emu.url);
  };
  emu.stop = async () => {
    if (emu.proc.exitCode === null && emu.proc.signalCode === null) emu.proc.kill('SIGTERM');
    return emu.exited;
  };
  emu.restart = async () => { await emu.stop(); await start(); };
  emu.start = start;
  emu.log = () => emu.stderr;
  await start();
  return emu;
}

/** Start Debian's websockify relaying a free loopback port to `tcpPort` (README setup A). */
export async function startRelay(tcpPort) {
  const port = await freePort();
  const proc = track(spawn('websockify', [`127.0.0.1:${port}`, `127.0.0.1:${tcpPort}`], { stdio: ['ignore', 'ignore', 'pipe'] }));
  let log = '';
  proc.stderr.on('data', (d) => { log += d; });
  await until('websockify to listen', async () => {
    if (proc.exitCode !== null) throw new Error(`websockify exited: ${log}`);
    return portOpen(port);
  });
  return { url: `ws://127.0.0.1:${port}`, stop: () => proc.kill() };
}

/**
 * A mosquitto bridged to the emulator's TCP port with mosquitto/bridge.conf.in
 * (the README's setup B, the emulator standing for ThingsBoard): browsers
 * connect to its websockets listener, and one bridge session with the
 * gateway token `token` carries the gateway topics upstream. Resolves to
 * { url, tcp (its local plain listener), stop }.
 */
export async function startBridge(emulator, token) {
  const { writeFile, mkdtemp } = await import('node:fs/promises');
  const dir = await mkdtemp(join(tmpdir(), 'bg-bridge-'));
  const tcp = await freePort();
  const ws = await freePort();
  const template = await readFile(new URL('../../mosquitto/bridge.conf.in', import.meta.url), 'utf8');
  const conf = join(dir, 'bridge.conf');
  await writeFile(conf, template.replace('@TCP_PORT@', tcp).replace('@WS_PORT@', ws)
    .replace('@UPSTREAM_PORT@', emulator.tcp).replace('@GATEWAY_TOKEN@', token));
  let log = '';
  const proc = track(spawn(env.mosquitto, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] }));
  proc.stderr.on('data', (d) => { log += d; });
  await until('the bridge broker to listen', async () => {
    if (proc.exitCode !== null) throw new Error(`mosquitto exited: ${log}`);
    return (await portOpen(tcp)) && (await portOpen(ws));
  });
  return { url: `ws://127.0.0.1:${ws}`, tcp, log: () => log, stop: () => proc.kill() };
}

/** Publish with the real mosquitto_pub to the broker on `port`. */
export async function mosquittoPub(port, topic, message) {
  await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-q', '1', '-t', topic, '-m', message]);
}

/** Run `body(emulator)` with an emulator started with `args`, stopped afterwards whatever happens. */
export async function withEmulator(args, body) {
  const emulator = await startEmulator({ args });
  try {
    return await body(emulator);
  } finally {
    await emulator.stop();
  }
}

/**
 * How many sessions the emulator has opened for `device` so far (its log's
 * "session N opened for ..." lines). The log masks tokens, inside the names
 * of gateways made for them too.
 */
export function sessionsOpened(emulator, device) {
  const logged = device.replace(/^Gateway (.{0,2}).*$/, 'Gateway $1***');
  const quoted = JSON.stringify(logged).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return (emulator.log().match(new RegExp(`session \\d+ opened for ${quoted}`, 'g')) ?? []).length;
}

/** The emulator's open sessions of `device`. */
export async function sessionsOf(emulator, device) {
  return (await emulator.tb.sessions()).filter((s) => s.deviceName === device);
}

/** The status line and the message counters of a page. */
export const statusLine = (page) => page.getByRole('status', { name: 'Connection status' });
export const counters = (page) => page.getByLabel('Message counters');

