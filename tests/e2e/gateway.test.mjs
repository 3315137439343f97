// The Gateway API end to end: the app in chromium, mosquitto, and the
// platform emulator playing ThingsBoard, driven as a person would.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { serveApp, launch, openApp, screenshot, slug, connect, startStack, until, dev } from './harness.mjs';

let app, browser, stack, page;

before(async () => {
  app = await serveApp();
  browser = await launch();
  stack = await startStack();
  page = await openApp(browser, app.url);
  await connect(page, { url: stack.wsUrl });
  await page.getByRole('status', { name: 'Connection status' }).getByText('Connected', { exact: true }).waitFor({ timeout: 10_000 });
});
// Every test leaves a picture of the page as it ended, passed or failed.
afterEach(async (t) => { await screenshot(page, `gateway-${slug(t.name)}`); });
after(async () => {
  await browser?.close();
  app?.close();
  await stack?.stop();
});

async function addDevice(name, type) {
  await page.getByLabel('Device name or pattern').fill(name);
  await page.getByLabel('Device type').fill(type ?? '');
  await page.getByRole('button', { name: 'Add', exact: true }).click();
}

async function openTab(name) {
  await page.getByRole('tablist', { name: 'Device tabs' }).getByRole('tab', { name }).click();
}

test('a device connected from the app appears in the emulator with its type', async () => {
  await addDevice('Pump 7', 'Water pump');
  const device = await until('Pump 7 at the emulator', async () => {
    const r = await stack.api(`/api/devices/${dev('Pump 7')}`);
    return r.status === 200 && r.body.connected && r.body;
  });
  assert.equal(device.type, 'Water pump');
  await page.getByRole('region', { name: 'Device Pump 7' }).getByText('connected', { exact: true }).waitFor();
});

test('telemetry and client attributes sent from the app arrive at the emulator', async () => {
  await openTab('Telemetry');
  await page.getByLabel('Key 1').fill('temperature');
  await page.getByLabel('Value 1').fill('21.5');
  await page.getByRole('button', { name: 'Send telemetry' }).click();
  const ts = await until('temperature at the emulator', async () => {
    const r = await stack.api(`/api/plugins/telemetry/DEVICE/${dev('Pump 7')}/values/timeseries?keys=temperature`);
    return r.status === 200 && r.body.temperature?.[0];
  });
  assert.equal(Number(ts.value), 21.5);

  await openTab('Attributes');
  await page.getByLabel('Client attributes JSON').fill('{"firmware": "1.4.2"}');
  await page.getByRole('button', { name: 'Send attributes' }).click();
  const attr = await until('firmware at the emulator', async () => {
    const r = await stack.api(`/api/plugins/telemetry/DEVICE/${dev('Pump 7')}/values/attributes/CLIENT_SCOPE?keys=firmware`);
    return r.status === 200 && r.body.find?.((a) => a.key === 'firmware');
  });
  assert.equal(attr.value, '1.4.2');
});

test('a shared-attribute update posted to the emulator reaches the app, and a request is answered', async () => {
  await openTab('Attributes');
  const r = await stack.api(`/api/plugins/telemetry/DEVICE/${dev('Pump 7')}/attributes/SHARED_SCOPE`, { method: 'POST', body: { setpoint: 42 } });
  assert.ok(r.status < 300, JSON.stringify(r));
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

test('a two-way RPC posted to the emulator is answered by hand in the app and the REST call returns the reply', async () => {
  await openTab('RPC');
  const call = stack.api(`/api/rpc/twoway/${dev('Pump 7')}`, { method: 'POST', body: { method: 'getState', params: { verbose: true } } });
  const inbox = page.getByRole('table', { name: 'RPC inbox' });
  await inbox.getByRole('row', { name: /getState/ }).waitFor({ timeout: 10_000 });
  await page.getByLabel('Reply JSON', { exact: true }).fill('{"state": "running", "rpm": 1200}');
  await inbox.getByRole('button', { name: /^Send reply to/ }).first().click();
  const r = await call;
  assert.equal(r.status, 200, JSON.stringify(r));
  assert.deepEqual(r.body, { state: 'running', rpm: 1200 });
});

test('after mosquitto restarts, the app reconnects, re-registers its devices, and still gets RPCs', async () => {
  const before = Date.now();
  await stack.stopBroker();
  await page.getByRole('status', { name: 'Connection status' }).getByText(/Reconnecting in \d+ s/).waitFor({ timeout: 10_000 });
  await stack.startBroker();
  await page.getByRole('status', { name: 'Connection status' }).getByText('Connected', { exact: true }).waitFor({ timeout: 30_000 });
  // The emulator cannot see the gateway's session drop through the broker;
  // a fresh registration after the restart shows as a newer lastConnectTime.
  await until('Pump 7 registered again at the emulator', async () => {
    const r = await stack.api(`/api/devices/${dev('Pump 7')}`);
    return r.status === 200 && r.body.connected && r.body.lastConnectTime > before;
  }, 30_000);

  await page.getByLabel('Method').fill('ping');
  await page.getByLabel('Answer with').selectOption('echo');
  await page.getByRole('button', { name: 'Add rule' }).click();
  const r = await until('the RPC after the restart to be answered', async () => {
    const res = await stack.api(`/api/rpc/twoway/${dev('Pump 7')}`, { method: 'POST', body: { method: 'ping', params: { n: 1 }, timeout: 5000 } });
    return res.status === 200 && res;
  }, 30_000);
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
  await until('the gateway telemetry at the emulator', async () => {
    const r = await stack.api('/api/gateway/values/timeseries?keys=uptime');
    return r.status === 200 && Number(r.body.uptime?.[0]?.value) === 42;
  });

  await gateway.getByRole('tab', { name: 'RPC' }).click();
  await gateway.getByLabel('Method').fill('getVersion');
  await gateway.getByLabel('Rule reply JSON').fill('{"version": "browser-gateway"}');
  await gateway.getByRole('button', { name: 'Add rule' }).click();
  const r = await stack.api('/api/gateway/rpc/twoway', { method: 'POST', body: { method: 'getVersion', params: {} } });
  assert.equal(r.status, 200, JSON.stringify(r));
  assert.deepEqual(r.body, { version: 'browser-gateway' });
});

test('a device renamed on the server is followed: the next publish uses the new name', async () => {
  await page.getByRole('tablist', { name: 'Pages' }).getByRole('tab', { name: 'Devices' }).click();
  const renamed = await stack.api(`/api/devices/${dev('Pump 7')}/rename`, { method: 'POST', body: { name: 'Pump 7 (hall)' } });
  assert.equal(renamed.status, 200, JSON.stringify(renamed));
  await page.getByRole('list', { name: 'Device list' }).getByText('renamed to Pump 7 (hall)').waitFor({ timeout: 10_000 });
  await page.getByRole('button', { name: 'Open Pump 7 (hall)' }).click();
  await page.getByRole('tablist', { name: 'Device tabs' }).getByRole('tab', { name: 'Telemetry' }).click();
  await page.getByLabel('Key 1').fill('flow');
  await page.getByLabel('Value 1').fill('7.5');
  await page.getByRole('button', { name: 'Send telemetry' }).click();
  await until('flow on the new name at the emulator', async () => {
    const r = await stack.api(`/api/plugins/telemetry/DEVICE/${dev('Pump 7 (hall)')}/values/timeseries?keys=flow`);
    return r.status === 200 && Number(r.body.flow?.[0]?.value) === 7.5;
  });
  const old = await stack.api(`/api/devices/${dev('Pump 7')}`);
  assert.equal(old.status, 404, 'publishing must not recreate the old name');
});
