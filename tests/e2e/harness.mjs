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
  const page = await browser.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(String(e)));
  page.on('dialog', (d) => { page.errors.push(`dialog opened: ${d.message()}`); d.dismiss(); });
  await page.goto(appUrl);
  await page.getByRole('button', { name: 'Connect', exact: true }).waitFor();
  return page;
}

/** Save a screenshot named `name` under tests/e2e/screenshots/. */
export async function screenshot(page, name) {
  await mkdir(env.shots, { recursive: true });
  await page.screenshot({ path: join(env.shots, `${name}.png`), fullPage: true });
}

/** Publish with the real mosquitto_pub to the test broker. */
export async function mosquittoPub(topic, message, extra = []) {
  await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', env.tcpPort, '-q', '1', '-t', topic, '-m', message, ...extra]);
}

/** Fill the connect form and connect; waits for "Connected". */
export async function connect(page, { url = env.wsUrl, token = 'e2e-gateway-token', subprotocol = 'mqtt' } = {}) {
  await page.getByLabel('URL').fill(url);
  await page.getByLabel('Subprotocol').selectOption(subprotocol);
  await page.getByLabel('Authentication').selectOption('token');
  await page.getByLabel('Access token').fill(token);
  await page.getByRole('button', { name: /^(Connect|Reconnect)$/ }).click();
}

/** Start Debian's websockify relaying a free loopback port to the broker's TCP port. */
export async function startRelay() {
  const { spawn } = await import('node:child_process');
  const { createServer: netServer, connect: netConnect } = await import('node:net');
  const port = await new Promise((ok) => { const s = netServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => ok(p)); }); });
  const proc = spawn('websockify', [`127.0.0.1:${port}`, `127.0.0.1:${env.tcpPort}`], { stdio: ['ignore', 'ignore', 'pipe'] });
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
