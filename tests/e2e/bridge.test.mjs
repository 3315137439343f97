// The README's setup B: the page connects to a mosquitto bridged to the
// platform emulator's TCP port as it would be to ThingsBoard (one bridge
// session with the gateway's token). Under MQTT 3.1.1 the page's own
// publishes echo back through the bridge; they must never be taken for
// server messages. Under MQTT 5 No Local keeps them away. When the bridge
// reconnects, ThingsBoard has forgotten every device: the page registers
// them again.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { serveApp, launch, openApp, screenshot, slug, connect, connectedStatus, startEmulator, startBridge, until, mosquittoPub } from './harness.mjs';

const TOKEN = 'bridge-gateway-token';
let app, browser, emulator, tb, bridge, page;

before(async () => {
  app = await serveApp();
  browser = await launch();
  // As ThingsBoard: only the gateway's own token is accepted.
  emulator = await startEmulator({ acceptAnyToken: false, gateways: [TOKEN] });
  tb = emulator.tb;
  bridge = await startBridge(emulator, TOKEN);
  page = await openApp(browser, app.url);
});
afterEach(async (t) => { await screenshot(page, `bridge-${slug(t.name)}`); });
after(async () => {
  await browser?.close();
  app?.close();
  bridge?.stop();
  await emulator?.stop();
});

test('through a bridged mosquitto under MQTT 3.1.1, devices register, RPCs are answered once, and echoes are not shown as server messages', async () => {
  // The bridge holds the platform session with the gateway token; the page's
  // own credentials are mosquitto's business (anonymous here).
  await until('the bridge session at the emulator', async () =>
    (await tb.sessions()).some((s) => s.deviceName === `Gateway ${TOKEN}`), 20_000);
  await connect(page, { url: bridge.url, token: 'anything', mqtt: '3.1.1', bridged: true });
  await connectedStatus(page).waitFor({ timeout: 10_000 });
  await page.getByLabel('Device name or pattern').fill('Bridged Pump');
  await page.getByLabel('Device type').fill('Pump');
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  const device = await until('the device across the bridge', async () =>
    (await tb.connected()).has('Bridged Pump') && tb.device('Bridged Pump'), 20_000);
  assert.equal(device.type, 'Pump');

  await page.getByRole('tablist', { name: 'Device tabs' }).getByRole('tab', { name: 'RPC' }).click();
  await page.getByLabel('Method').fill('getState');
  await page.getByLabel('Rule reply JSON').fill('{"via": "bridge"}');
  await page.getByRole('button', { name: 'Add rule' }).click();
  const r = await tb.twoway('Bridged Pump', { method: 'getState', params: {} });
  assert.equal(r.status, 200, JSON.stringify(r));
  assert.deepEqual(r.body, { via: 'bridge' });

  // Our reply came back through the bridge as an echo: it is not a new request.
  await page.getByRole('tablist', { name: 'Device tabs' }).getByRole('tab', { name: 'Attributes' }).click();
  await page.getByLabel('Client attributes JSON').fill('{"firmware": "2.0"}');
  await page.getByRole('button', { name: 'Send attributes' }).click();
  await until('the attribute across the bridge', async () => {
    const a = await tb.attributes('Bridged Pump', 'CLIENT_SCOPE');
    return a.status === 200 && a.body.some?.((x) => x.key === 'firmware');
  });
  // Both our RPC reply and the upload come back through the bridge; once the
  // page has recognised them, nothing may show them as server messages.
  await until('two own echoes recognised', async () => {
    const m = /own echoes ignored (\d+)/.exec(await page.getByLabel('Message counters').innerText());
    return m && Number(m[1]) >= 2;
  });
  await page.getByRole('region', { name: 'Shared attributes' }).getByText('None received yet.').waitFor();
  await page.getByRole('tablist', { name: 'Device tabs' }).getByRole('tab', { name: 'RPC' }).click();
  assert.equal(await page.getByRole('table', { name: 'RPC inbox' }).getByRole('row', { name: /getState/ }).count(), 1);
  assert.equal(await page.getByRole('log', { name: 'Notices' }).count(), 0, 'no decode errors from our own echoes');
  assert.deepEqual(page.errors, []);
});

test('malformed JSON from another client of the bridge broker gives a readable notice and the page keeps working', async () => {
  // ThingsBoard never sends broken JSON, but anything can publish on a broker
  // in front of it: the page must say so and carry on. (On a topic bridged
  // only inward: on an outward one the bridge would carry it to the
  // platform, which closes the bridge session over it, as ThingsBoard does.)
  await mosquittoPub(bridge.tcp, 'v1/gateway/attributes/response', '{"device": "Bridged Pump", "id": 3, "value": ');
  const notices = page.getByRole('log', { name: 'Notices' });
  await notices.getByText(/bad message from the platform: v1\/gateway\/attributes\/response/).waitFor({ timeout: 10_000 });
  await connectedStatus(page).waitFor();
  // A real request still works afterwards.
  const r = await tb.twoway('Bridged Pump', { method: 'getState', params: {} });
  assert.equal(r.status, 200, JSON.stringify(r));
  assert.deepEqual(page.errors, []);
});

test('under MQTT 5 no echo comes back, and when the bridge reconnects every device is registered again', async () => {
  const fresh = await openApp(browser, app.url);
  try {
    await connect(fresh, { url: bridge.url, token: 'anything', mqtt: '5', bridged: true });
    await connectedStatus(fresh).waitFor({ timeout: 10_000 });
    await fresh.getByLabel('Device name or pattern').fill('Bridged Meter');
    await fresh.getByRole('button', { name: 'Add', exact: true }).click();
    await until('the device across the bridge', async () => (await tb.connected()).has('Bridged Meter'), 20_000);
    await fresh.getByRole('tablist', { name: 'Device tabs' }).getByRole('tab', { name: 'Attributes' }).click();
    await fresh.getByLabel('Client attributes JSON').fill('{"fw": "1"}');
    await fresh.getByRole('button', { name: 'Send attributes' }).click();
    await until('the attribute across the bridge', async () => {
      const a = await tb.attributes('Bridged Meter', 'CLIENT_SCOPE');
      return a.status === 200 && a.body.some?.((x) => x.key === 'fw');
    });
    assert.doesNotMatch(await fresh.getByLabel('Message counters').innerText(), /own echoes/, 'No Local: nothing came back');

    // The platform restarts (its tenant empty, as after a ThingsBoard
    // restart): the bridge reconnects, and the page registers the device
    // again without being asked.
    await emulator.restart();
    await until('the bridge session again', async () =>
      (await tb.sessions()).some((s) => s.deviceName === `Gateway ${TOKEN}`), 30_000);
    const again = await until('the device registered again', async () =>
      (await tb.connected()).has('Bridged Meter') && tb.device('Bridged Meter'), 20_000);
    assert.ok(again, 'the device exists again on the restarted platform');
    await connectedStatus(fresh).waitFor();
    assert.deepEqual(fresh.errors, []);
    await screenshot(fresh, 'bridge-reconnected');
  } finally {
    await fresh.close();
  }
});
