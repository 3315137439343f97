// The console driven with the keyboard only, as a person who does not use a
// mouse would: Tab and Shift+Tab to move, arrows between tabs, Enter and
// Space on buttons, typing in fields. No click anywhere. It connects to the
// platform emulator, adds a device, answers an RPC that ThingsBoard's REST
// API sends, publishes telemetry and reads the chart's latest value.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { serveApp, launch, openApp, screenshot, slug, connectedStatus, startEmulator, until } from './harness.mjs';

const TOKEN = 'e2e-keyboard-token';
const DEVICE = 'Kbd Pump 1';
let app, browser, emulator, tb, page;

before(async () => {
  app = await serveApp();
  browser = await launch();
  emulator = await startEmulator();
  tb = emulator.tb;
  page = await openApp(browser, app.url);
});
afterEach(async (t) => { await screenshot(page, `keyboard-${slug(t.name)}`); });
after(async () => {
  await browser?.close();
  app?.close();
  await emulator?.stop();
});

/** What has the focus: its role, accessible name (roughly), and its tab list. */
async function focused() {
  return page.evaluate(() => {
    const el = document.activeElement;
    if (!el || el === document.body) return { role: 'body', name: '' };
    const label = el.getAttribute('aria-label') ?? el.labels?.[0]?.textContent ?? el.textContent ?? '';
    return {
      role: el.getAttribute('role') ?? el.tagName.toLowerCase(),
      name: label.trim(),
      selected: el.getAttribute('aria-selected'),
      tablist: el.closest('[role=tablist]')?.getAttribute('aria-label') ?? null,
      invalid: el.getAttribute('aria-invalid'),
      visibleFocus: el.matches(':focus-visible'),
    };
  });
}

/**
 * Press Tab (or Shift+Tab with `back`) until the focused element passes
 * `want`; fails after `max` presses. Resolves to what has the focus.
 */
async function tabTo(what, want, { back = false, max = 80 } = {}) {
  for (let i = 0; i < max; i++) {
    const now = await focused();
    if (want(now)) return now;
    await page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
  }
  throw new Error(`Tab never reached ${what} (last: ${JSON.stringify(await focused())})`);
}

const named = (name, role) => (f) => (role === undefined || f.role === role) && (name instanceof RegExp ? name.test(f.name) : f.name === name);

/** Replace the focused field's text by typing. */
async function retype(text) {
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete');
  await page.keyboard.type(text);
}

test('keyboard only: connect, add a device, answer an RPC, and read the chart\'s latest value', async () => {
  // Connect: URL and access token typed, Connect pressed with Enter.
  await tabTo('the URL field', named('URL', 'input'));
  await retype(emulator.wsUrl);
  await tabTo('the access token field', named('Access token', 'input'));
  await retype(TOKEN);
  const connectButton = await tabTo('the Connect button', named('Connect', 'button'));
  assert.ok(connectButton.visibleFocus, 'the focused button shows its focus');
  await page.keyboard.press('Enter');
  await connectedStatus(page).waitFor({ timeout: 10_000 });

  // Add a device: name and type typed, Add pressed with Space.
  await tabTo('the device name field', named('Device name or pattern', 'input'));
  await page.keyboard.type(DEVICE);
  await page.keyboard.press('Tab');
  assert.equal((await focused()).name, 'Device type');
  await page.keyboard.type('Keyboard pump');
  await tabTo('the Add button', named('Add', 'button'));
  await page.keyboard.press('Space');
  await until(`${DEVICE} registered at the emulator`, async () => (await tb.connected()).has(DEVICE));
  assert.equal((await tb.device(DEVICE)).type, 'Keyboard pump');

  // The device's page opened on Telemetry; the arrows move to RPC.
  const tab = await tabTo('the selected device tab', (f) => f.role === 'tab' && f.tablist === 'Device tabs');
  assert.equal(tab.name, 'Telemetry');
  assert.equal(tab.selected, 'true', 'only the selected tab is in the Tab order');
  await page.keyboard.press('End');
  assert.equal((await focused()).name, 'Claim');
  await page.keyboard.press('ArrowRight');
  assert.equal((await focused()).name, 'Telemetry', 'the arrows wrap around');
  await page.keyboard.press('ArrowLeft');
  await page.keyboard.press('ArrowLeft');
  const rpc = await focused();
  assert.deepEqual([rpc.name, rpc.selected], ['RPC', 'true'], 'the arrows select the tab they move to');
  await page.getByRole('tabpanel', { name: 'RPC' }).waitFor();

  // An RPC from ThingsBoard's REST API, answered with JSON typed in the
  // reply editor; a typo marks the editor invalid without an alert.
  const call = tb.twoway(DEVICE, { method: 'getState', params: { verbose: true }, timeout: 10_000 });
  await page.getByRole('table', { name: 'RPC inbox' }).getByRole('row', { name: /getState/ }).waitFor({ timeout: 10_000 });
  await tabTo('the reply editor', named('Reply JSON', 'textarea'));
  await retype('{"state": "running"');
  assert.equal((await focused()).invalid, 'true', 'invalid JSON marks the editor invalid');
  assert.equal(await page.getByRole('alert').count(), 0, 'and raises no alert');
  await page.keyboard.type(', "rpm": 1200}');
  assert.equal((await focused()).invalid, 'false');
  await tabTo('the Send reply button', named(/^Send reply to \d+$/, 'button'));
  await page.keyboard.press('Enter');
  const reply = await call;
  assert.equal(reply.status, 200, JSON.stringify(reply));
  assert.deepEqual(reply.body, { state: 'running', rpm: 1200 });

  // Back to the tab list with Shift+Tab, Home to Telemetry.
  await tabTo('the selected device tab', (f) => f.role === 'tab' && f.tablist === 'Device tabs', { back: true });
  await page.keyboard.press('Home');
  assert.deepEqual(await focused().then((f) => [f.name, f.selected]), ['Telemetry', 'true']);

  // Telemetry: a value now, then an older one (an explicit earlier ts): the
  // chart draws in timestamp order, so its latest value stays the newer one.
  const now = Date.now();
  const send = async (value, ts, back) => {
    await tabTo('the first key field', named('Key 1', 'input'), { back });
    await retype('temperature');
    await page.keyboard.press('Tab');
    await retype(String(value));
    await tabTo('the ts field', named('ts (optional)', 'input'));
    await retype(String(ts));
    await page.keyboard.press('Enter');
  };
  await send(23.25, now, false);
  await send(19, now - 60_000, true);
  await until('the platform to hold the temperature', async () => {
    const r = await tb.timeseries(DEVICE, 'temperature');
    return r.status === 200 && Number(r.body.temperature?.[0]?.value) === 23.25;
  });
  const chart = page.getByRole('img', { name: /^Chart of temperature/ });
  await until('the chart to hold both points', async () => Number(await chart.getAttribute('data-points')) === 2);
  const name = await chart.getAttribute('aria-label');
  assert.match(name, /latest 23\.25 at \d\d:\d\d:\d\d/, name);
  assert.match(await page.locator('.chart-latest').innerText(), /^latest 23\.25 /);
  const latest = page.getByRole('table', { name: 'Latest telemetry' }).getByRole('row', { name: /temperature/ });
  assert.match(await latest.innerText(), /23\.25/, 'the latest value is the newest by time here too');

  // The canvas is sharp: as many pixels as its box times the device pixel ratio.
  const size = await chart.evaluate((c) => ({ w: c.width, css: c.getBoundingClientRect().width, ratio: devicePixelRatio }));
  assert.ok(Math.abs(size.w - size.css * size.ratio) <= 2, JSON.stringify(size));

  // The chart takes the theme's colours: its background is the panel's, in
  // light and, once the system turns dark, in dark.
  const corner = () => chart.evaluate((c) => Array.from(c.getContext('2d').getImageData(1, 1, 1, 1).data.slice(0, 3)));
  assert.deepEqual(await corner(), [0xff, 0xff, 0xff]);
  await page.emulateMedia({ colorScheme: 'dark' });
  await until('the chart redrawn in the dark theme', async () => (await corner()).join() === [0x16, 0x1b, 0x22].join());
  await page.emulateMedia({ colorScheme: 'light' });
  assert.deepEqual(page.errors, []);
});
