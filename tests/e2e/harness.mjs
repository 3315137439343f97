// Shared by the end-to-end tests: serves the built app, launches Debian's
// chromium through playwright-core, and talks to mosquitto and the emulator.
// The environment comes from scripts/test: BG_DIST, BG_WS_URL, BG_TCP_PORT,
// BG_EMULATOR_URL, BG_LOG_DIR.
import { createServer } from 'node:http';
import { readFile, mkdir } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';

const run = promisify(execFile);

// Children this process started, killed when it exits however it exits, so a
// failed or interrupted run leaves no broker or emulator behind.
const children = new Set();
function track(proc) {
  children.add(proc);
  proc.once('exit', () => children.delete(proc));
  return proc;
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGPIPE']) {
  process.once(signal, () => process.exit(130));
}
process.on('exit', () => { for (const c of children) c.kill(); });

export const env = {
  dist: must('BG_DIST'),
  wsUrl: must('BG_WS_URL'),
  tcpPort: must('BG_TCP_PORT'),
  emulator: process.env.BG_EMULATOR_URL,
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

/** A page on the app that records console errors and uncaught exceptions. */
export async function openApp(browser, appUrl) {
  const page = await browser.newPage({ viewport: { width: 1360, height: 1200 } });
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

/** Publish with the real mosquitto_pub to the test broker. */
export async function mosquittoPub(topic, message, extra = [], port = env.tcpPort) {
  await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-q', '1', '-t', topic, '-m', message, ...extra]);
}

/** Publish every line of `lines` as one message with the real mosquitto_pub (-l). */
export async function mosquittoPubLines(topic, lines, port = env.tcpPort) {
  const { spawn } = await import('node:child_process');
  const proc = spawn('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-q', '1', '-t', topic, '-l'], { stdio: ['pipe', 'ignore', 'inherit'] });
  const done = new Promise((ok, fail) => proc.on('exit', (code) => (code === 0 ? ok() : fail(new Error(`mosquitto_pub exited ${code}`)))));
  proc.stdin.end(lines.join('\n') + '\n');
  await done;
}

/** Fill the connect form and connect; waits for "Connected". */
export async function connect(page, { url = env.wsUrl, token = 'e2e-gateway-token', subprotocol = 'mqtt', profile, remember } = {}) {
  if (profile) await page.getByLabel('Profile name').fill(profile);
  await page.getByLabel('URL').fill(url);
  await page.getByLabel('Subprotocol').selectOption(subprotocol);
  await page.getByLabel('Authentication').selectOption('token');
  await page.getByLabel('Access token').fill(token);
  if (remember !== undefined) await page.getByLabel('Remember the secret in this browser').setChecked(remember);
  await page.getByRole('button', { name: /^(Connect|Reconnect)$/ }).click();
}

/** Start Debian's websockify relaying a free loopback port to the broker's TCP port. */
export async function startRelay() {
  const { spawn } = await import('node:child_process');
  const { createServer: netServer, connect: netConnect } = await import('node:net');
  const port = await new Promise((ok) => { const s = netServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => ok(p)); }); });
  const proc = track(spawn('websockify', [`127.0.0.1:${port}`, `127.0.0.1:${env.tcpPort}`], { stdio: ['ignore', 'ignore', 'pipe'] }));
  let log = '';
  proc.stderr.on('data', (d) => { log += d; });
  const deadline = Date.now() + 10_000;
  for (;;) {
    const up = await new Promise((ok) => { const c = netConnect(port, '127.0.0.1', () => { c.end(); ok(true); }); c.on('error', () => ok(false)); });
    if (up) break;
    if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`websockify did not start: ${log}`);
    await new Promise((ok) => setTimeout(ok, 100));
  }
  return { url: `ws://127.0.0.1:${port}`, stop: () => proc.kill() };
}

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

async function freePort() {
  const { createServer: netServer } = await import('node:net');
  return new Promise((ok) => { const s = netServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => ok(p)); }); });
}

async function portOpen(port) {
  const { connect: netConnect } = await import('node:net');
  return new Promise((ok) => { const c = netConnect(port, '127.0.0.1', () => { c.end(); ok(true); }); c.on('error', () => ok(false)); });
}

/**
 * A broker and a platform emulator of this test file's own, on free ports,
 * so a test may restart the broker. BG_EMULATOR_BIN names the emulator binary.
 */
export async function startStack() {
  const { spawn } = await import('node:child_process');
  const { writeFile, readFile: read, mkdtemp } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const dir = await mkdtemp(join(tmpdir(), 'bg-e2e-'));
  const tcp = await freePort();
  const ws = await freePort();
  const http = await freePort();
  const template = await read(new URL('../../mosquitto/mosquitto.conf.in', import.meta.url), 'utf8');
  const conf = join(dir, 'mosquitto.conf');
  await writeFile(conf, template.replace('@TCP_PORT@', tcp).replace('@WS_PORT@', ws));
  const stack = { dir, tcp, ws, http, wsUrl: `ws://127.0.0.1:${ws}`, emulatorUrl: `http://127.0.0.1:${http}` };
  stack.startBroker = async () => {
    stack.broker = track(spawn(process.env.BG_MOSQUITTO ?? 'mosquitto', ['-c', conf], { stdio: 'ignore' }));
    await until('mosquitto to listen', async () => (await portOpen(tcp)) && (await portOpen(ws)));
  };
  stack.stopBroker = async () => {
    const exited = new Promise((ok) => stack.broker.once('exit', ok));
    stack.broker.kill();
    await exited;
  };
  await stack.startBroker();
  const bin = process.env.BG_EMULATOR_BIN ?? new URL('../../target/debug/platform-emulator', import.meta.url).pathname;
  stack.emulator = track(spawn(bin, ['--broker', `127.0.0.1:${tcp}`, '--http', `127.0.0.1:${http}`], { stdio: ['ignore', 'ignore', 'pipe'] }));
  stack.emulatorLog = '';
  stack.emulator.stderr.on('data', (d) => { stack.emulatorLog += d; });
  await until('the emulator to get ready', async () => stack.emulatorLog.includes('http listening'), 20_000);
  stack.stop = async () => { stack.emulator.kill(); await stack.stopBroker().catch(() => {}); };
  /** Call the emulator's HTTP API; resolves to { status, body }. */
  stack.api = async (path, { method = 'GET', body } = {}) => {
    const res = await fetch(stack.emulatorUrl + path, {
      method, headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed = text;
    try { parsed = JSON.parse(text); } catch { /* not JSON */ }
    return { status: res.status, body: parsed };
  };
  return stack;
}

/** The path segment of a device name in the emulator's API. */
export const dev = (name) => encodeURIComponent(name);

/**
 * A mosquitto that refuses anonymous clients and knows one user, as a
 * ThingsBoard refusing a wrong token would (CONNACK 5). Resolves to its
 * websockets URL and a stop function.
 */
export async function startAuthBroker(user, password) {
  const { spawn, execFileSync } = await import('node:child_process');
  const { writeFile, mkdtemp } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const dir = await mkdtemp(join(tmpdir(), 'bg-auth-'));
  const ws = await freePort();
  const tcp = await freePort();
  const passwords = join(dir, 'passwords');
  await writeFile(passwords, '');
  execFileSync('mosquitto_passwd', ['-b', passwords, user, password]);
  // Started as root, mosquitto reads the password file after dropping to its
  // own user: let that user reach it.
  const { chmod } = await import('node:fs/promises');
  await chmod(dir, 0o755);
  await chmod(passwords, 0o644);
  const conf = join(dir, 'mosquitto.conf');
  await writeFile(conf, [
    'per_listener_settings false', 'allow_anonymous false', `password_file ${passwords}`,
    // mosquitto 2.0.11 will not start with a websockets listener alone.
    'persistence false', 'log_dest stderr', `listener ${tcp} 127.0.0.1`, `listener ${ws}`, 'protocol websockets', '',
  ].join('\n'));
  const proc = track(spawn(process.env.BG_MOSQUITTO ?? 'mosquitto', ['-c', conf], { stdio: 'ignore' }));
  await until('the auth broker to listen', () => portOpen(ws));
  return { url: `ws://127.0.0.1:${ws}`, stop: () => proc.kill() };
}

/**
 * A second mosquitto bridged to `stack`'s broker with mosquitto/bridge.conf.in
 * (the README's setup B): browsers connect to its websockets listener, and
 * the gateway topics cross the bridge to the emulator. Resolves to its URL
 * and a stop function.
 */
export async function startBridge(stack) {
  const { spawn } = await import('node:child_process');
  const { writeFile, readFile: read } = await import('node:fs/promises');
  const tcp = await freePort();
  const ws = await freePort();
  const template = await read(new URL('../../mosquitto/bridge.conf.in', import.meta.url), 'utf8');
  const conf = join(stack.dir, 'bridge.conf');
  await writeFile(conf, template.replace('@TCP_PORT@', tcp).replace('@WS_PORT@', ws)
    .replace('@UPSTREAM_PORT@', stack.tcp).replace('@GATEWAY_TOKEN@', 'bridge-gateway-token'));
  const proc = track(spawn(process.env.BG_MOSQUITTO ?? 'mosquitto', ['-c', conf], { stdio: 'ignore' }));
  await until('the bridge broker to listen', async () => (await portOpen(tcp)) && (await portOpen(ws)));
  return { url: `ws://127.0.0.1:${ws}`, stop: () => proc.kill() };
}
