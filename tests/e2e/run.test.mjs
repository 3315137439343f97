// scripts/run as a developer starts it: the emulator and `trunk serve` (a
// debug build with live reload), on free ports, under CI=true with no stdin.
// The page it serves must not reload by itself: log lines written while it is
// open (scripts/run's own logs, a screenshot under tests/) must not trigger a
// rebuild. The first debug build of the app can take minutes on 2 cores.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFile, readFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { launch, screenshot, connect, connectedStatus, freePort, until } from './harness.mjs';

const repo = new URL('../../', import.meta.url).pathname;
// Inside the project, outside trunk's watch list, like the default target/run.
const logs = join(repo, 'target', 'run-e2e');
let run, output = '', exited, browser;

function stopRun() {
  if (run && run.exitCode === null && run.signalCode === null) {
    try { process.kill(-run.pid, 'SIGTERM'); } catch { /* already gone */ }
  }
}
process.on('exit', stopRun);

before(async () => {
  const ports = { BG_TCP_PORT: await freePort(), BG_WS_PORT: await freePort(), BG_EMULATOR_PORT: await freePort(), BG_APP_PORT: await freePort() };
  // Its own process group, so that the test can stop it and all it started.
  run = spawn(join(repo, 'scripts/run'), [], {
    cwd: repo, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, CI: 'true', BG_RUN_LOGS: logs, ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])) },
  });
  exited = new Promise((ok) => run.once('exit', (code, signal) => ok({ code, signal })));
  run.stdout.on('data', (d) => { output += d; });
  run.stderr.on('data', (d) => { output += d; });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  stopRun();
  if (run) {
    const { code, signal } = await exited;
    // scripts/run stops what it started and exits on SIGTERM.
    assert.ok(code !== null || signal !== null);
  }
});

test('scripts/run serves a page that stays put for 10 s while logs are written, and it reaches the emulator', { timeout: 20 * 60_000 }, async () => {
  const ready = await until('scripts/run to print its ready line', async () => {
    if (run.exitCode !== null) throw new Error(`scripts/run exited ${run.exitCode}:\n${output}`);
    return /ready: open (http:\/\/\S+) and connect to (ws:\/\/\S+)/.exec(output);
  }, 18 * 60_000).catch((e) => { throw new Error(`${e.message}\n--- scripts/run said:\n${output}`); });
  const [, appUrl, wsUrl] = ready;

  const page = await browser.newPage({ viewport: { width: 1360, height: 1000 } });
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(String(e)));
  let loads = 0, navigations = 0;
  page.on('load', () => { loads++; });
  page.on('framenavigated', (frame) => { if (frame === page.mainFrame()) navigations++; });
  await page.goto(appUrl);
  await page.getByRole('button', { name: 'Connect', exact: true }).waitFor({ timeout: 30_000 });
  assert.equal(await page.getByLabel('URL').inputValue(), 'ws://127.0.0.1:9001', 'the form offers scripts/run\'s default WebSocket address');

  // Connect with an unsaved token and add a device: a reload would lose both.
  await connect(page, { url: wsUrl, token: 'run-test-token' });
  await connectedStatus(page).waitFor({ timeout: 10_000 });
  await page.getByLabel('Device name or pattern').fill('Run Pump');
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  await page.getByRole('button', { name: 'Open Run Pump' }).waitFor();
  assert.equal(loads, 1);

  // 10 s with a log line every second where scripts/run logs, and a
  // screenshot under tests/; none of it may rebuild or reload the page.
  await mkdir(logs, { recursive: true });
  const builds = async () => ((await readFile(join(logs, 'trunk.log'), 'utf8')).match(/starting build/g) ?? []).length;
  const buildsBefore = await builds();
  const end = Date.now() + 10_000;
  for (let i = 0; Date.now() < end; i++) {
    await appendFile(join(logs, 'emulator.log'), `run.test: log line ${i}\n`);
    await appendFile(join(logs, 'run.test.log'), `run.test: log line ${i}\n`);
    if (i % 3 === 0) await screenshot(page, 'run-no-reload');
    await new Promise((ok) => setTimeout(ok, 1_000));
  }
  assert.equal(loads, 1, 'the page loaded once');
  assert.equal(navigations, 1, 'the page navigated once');
  await connectedStatus(page).waitFor({ timeout: 1_000 });
  await page.getByRole('button', { name: 'Open Run Pump' }).waitFor({ timeout: 1_000 });
  assert.equal(await page.getByLabel('Access token').inputValue(), 'run-test-token', 'the unsaved token is still there');
  assert.equal(await builds(), buildsBefore, 'trunk rebuilt nothing');
  assert.deepEqual(page.errors, []);
});
