// The Gateway API end to end: the app in chromium connected straight to the
// platform emulator's WebSocket listener, the emulator playing ThingsBoard,
// and ThingsBoard's REST API (tb.mjs) checking what arrived, driven as a
// person would.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { serveApp, launch, openApp, screenshot, slug, connect, connectedStatus, startEmulator, until } from './harness.mjs';

const TOKEN = 'e2e-gateway-token';
const GATEWAY = `Gateway ${TOKEN}`;
let app, browser, emulator, tb, page;

before(async () => {
  app = await serveApp();
  browser = await launch();
  emulator = await startEmulator();
  tb = emulator.tb;
  page = await openApp(browser, app.url);
  await connect(page, { url: emulator.wsUrl, token: TOKEN });
  await connectedStatus(page).waitFor({ timeout: 10_000 });
});
// Every test leaves a picture of the page as it ended, passed or failed.
afterEach(async (t) => { await screenshot(page, `gateway-${slug(t.name)}`); });
after(async () => {
  await browser?.close();
  app?.close();
  await emulator?.stop();
});

async function addDevice(name, type) {
  await page.getByLabel('Device name or pattern').fill(name);
  await page.getByLabel('Device type').fill(type ?? '');
  await page.getByRole('button', { name: 'Add', exact: true }).click();
}

async function openTab(name) {
  await page.getByRole('tablist', { name: 'Device tabs' }).getByRole('tab', { name }).click();
}

/** The device named `name` once it exists and is registered in the gateway's session. */
const registered = (name) => until(`${name} registered at the emulator`, async () =>
  (await tb.connected()).has(name) && tb.device(name));

test('a device connected from the app appears in the platform with its type, as a device of the gateway', async () => {
  await addDevice('Pump 7', 'Water pump');
  const device = await registered('Pump 7');
  assert.equal(device.type, 'Water pump');
  assert.equal(device.id.entityType, 'DEVICE');
  const gateway = await tb.device(GATEWAY);
  assert.equal(gateway.additionalInfo?.gateway, true);
  await page.getByRole('region', { name: 'Device Pump 7' }).getByText('connected', { exact: true }).waitFor();
});

test('telemetry and client attributes sent from the app arrive in the platform', async () => {
  await openTab('Telemetry');
  await page.getByLabel('Key 1').fill('temperature');
  await page.getByLabel('Value 1').fill('21.5');
  await page.getByRole('button', { name: 'Send telemetry' }).click();
  const ts = await until('temperature in the platform', async () => {
    const r = await tb.timeseries('Pump 7', 'temperature');
    return r.status === 200 && r.body.temperature?.[0]?.value != null && r.body.temperature[0];
  });
  assert.equal(Number(ts.value), 21.5);

  await openTab('Attributes');
  await page.getByLabel('Client attributes JSON').fill('{"firmware": "1.4.2"}');
  await page.getByRole('button', { name: 'Send attributes' }).click();
  const attr = await until('firmware in the platform', async () => {
    const r = await tb.attributes('Pump 7', 'CLIENT_SCOPE', 'firmware');
    return r.status === 200 && r.body.find?.((a) => a.key === 'firmware');
  });
  assert.equal(attr.value, '1.4.2');
});

test('a shared attribute saved through the REST API reaches the app, and a request is answered', async () => {
  await openTab('Attributes');
  const r = await tb.saveShared('Pump 7', { setpoint: 42 });
  assert.equal(r.status, 200, JSON.stringify(r));
  const table = page.getByRole('table', { name: 'Shared attribute values' });
  await table.getByRole('row', { name: /setpoint 42/ }).waitFor({ timeout: 10_000 });

  await page.getByLabel('Scope').selectOption('shared');
  await page.getByLabel('Keys').fill('setpoint');
  await page.getByRole('button', { name: 'Request', exact: true }).click();
  await page.getByRole('list', { name: 'Attribute answers' }).getByText('{"setpoint":42}').waitFor({ timeout: 10_000 });

  await page.getByLabel('Keys').fill('nothing_here');
  await page.getByRole('button', { name: 'Request', exact: true }).click();
  await page.getByRole('list', { name: 'Attribute answers' }).getByText('not found').waitFor({ timeout: 10_000 });
});

test('a two-way RPC posted to the REST API is answered by hand in the app and the REST call returns the reply', async () => {
  await openTab('RPC');
  const call = tb.twoway('Pump 7', { method: 'getState', params: { verbose: true } });
  const inbox = page.getByRole('table', { name: 'RPC inbox' });
  await inbox.getByRole('row', { name: /getState/ }).waitFor({ timeout: 10_000 });
  await page.getByLabel('Reply JSON', { exact: true }).fill('{"state": "running", "rpm": 1200}');
  await inbox.getByRole('button', { name: /^Send reply to/ }).first().click();
  const r = await call;
  assert.equal(r.status, 200, JSON.stringify(r));
  assert.deepEqual(r.body, { state: 'running', rpm: 1200 });
});

test('after the emulator restarts, the app reconnects, registers its devices again, and still gets RPCs', async () => {
  await emulator.stop();
  const status = page.getByRole('status', { name: 'Connection status' });
  await status.getByText(/Reconnecting \(attempt \d+\)/).waitFor({ timeout: 10_000 });
  // The countdown is beside the status, outside its live region.
  await page.getByLabel('Reconnect countdown').getByText(/next try in \d+ s/).waitFor();
  // A restarted emulator has an empty tenant: what it knows afterwards, the
  // app told it after reconnecting.
  await emulator.restart();
  await connectedStatus(page).waitFor({ timeout: 30_000 });
  const device = await until('Pump 7 registered again', async () =>
    (await tb.connected()).has('Pump 7') && tb.device('Pump 7'), 30_000);
  assert.equal(device.type, 'Water pump', 'registered again with its type');

  await page.getByLabel('Method').fill('ping');
  await page.getByLabel('Answer with').selectOption('echo');
  await page.getByRole('button', { name: 'Add rule' }).click();
  const r = await tb.twoway('Pump 7', { method: 'ping', params: { n: 1 }, timeout: 5000 });
  assert.equal(r.status, 200, JSON.stringify(r));
  assert.deepEqual(r.body, { n: 1 });
  assert.deepEqual(page.errors, []);
});

test('the gateway itself: session limits after connecting, its own telemetry, and its own RPC answered by a rule', async () => {
  await page.getByRole('tablist', { name: 'Pages' }).getByRole('tab', { name: 'Gateway' }).click();
  await page.getByRole('region', { name: 'Session limits' }).getByText(/"maxPayloadSize": 65536/).waitFor({ timeout: 10_000 });

  const gateway = page.getByRole('region', { name: 'Gateway', exact: true });
  await gateway.getByLabel('Key 1').fill('uptime');
  await gateway.getByLabel('Value 1').fill('42');
  await gateway.getByRole('button', { name: 'Send telemetry' }).click();
  await until('the gateway telemetry in the platform', async () => {
    const r = await tb.timeseries(GATEWAY, 'uptime');
    return r.status === 200 && Number(r.body.uptime?.[0]?.value) === 42;
  });

  await gateway.getByRole('tab', { name: 'RPC' }).click();
  await gateway.getByLabel('Method').fill('getVersion');
  await gateway.getByLabel('Rule reply JSON').fill('{"version": "browser-gateway"}');
  await gateway.getByRole('button', { name: 'Add rule' }).click();
  const r = await tb.twoway(GATEWAY, { method: 'getVersion', params: {} });
  assert.equal(r.status, 200, JSON.stringify(r));
  assert.deepEqual(r.body, { version: 'browser-gateway' });
});

test('a device renamed through the REST API is followed: the next publish uses the new name', async () => {
  await page.getByRole('tablist', { name: 'Pages' }).getByRole('tab', { name: 'Devices' }).click();
  const renamed = await tb.rename('Pump 7', 'Pump 7 (hall)');
  assert.equal(renamed.status, 200, JSON.stringify(renamed));
  assert.equal(renamed.body.name, 'Pump 7 (hall)');
  await page.getByRole('list', { name: 'Device list' }).getByText('renamed to Pump 7 (hall)').waitFor({ timeout: 10_000 });
  await page.getByRole('button', { name: 'Open Pump 7 (hall)' }).click();
  await page.getByRole('tablist', { name: 'Device tabs' }).getByRole('tab', { name: 'Telemetry' }).click();
  await page.getByLabel('Key 1').fill('flow');
  await page.getByLabel('Value 1').fill('7.5');
  await page.getByRole('button', { name: 'Send telemetry' }).click();
  await until('flow on the new name in the platform', async () => {
    const r = await tb.timeseries('Pump 7 (hall)', 'flow');
    return r.status === 200 && Number(r.body.flow?.[0]?.value) === 7.5;
  });
  assert.equal(await tb.device('Pump 7'), null, 'publishing must not recreate the old name');
});

test('a device deleted through the REST API is shown as deleted in the app', async () => {
  await addDevice('Doomed 1', 'Pump');
  await registered('Doomed 1');
  const r = await tb.remove('Doomed 1');
  assert.equal(r.status, 200, JSON.stringify(r));
  await page.getByRole('list', { name: 'Device list' }).getByRole('listitem').filter({ hasText: 'Doomed 1' })
    .getByText('deleted', { exact: true }).waitFor({ timeout: 10_000 });
  assert.equal(await tb.device('Doomed 1'), null);
  assert.deepEqual(page.errors, []);
});
