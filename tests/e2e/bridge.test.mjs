// The README's setup B: the page connects to a mosquitto bridged to the
// "ThingsBoard" side (the emulator's broker). Through a bridge the page's own
// publishes echo back; they must never be taken for server messages.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { serveApp, launch, openApp, screenshot, slug, connect, startStack, startBridge, until, dev } from './harness.mjs';

let app, browser, stack, bridge, page;

before(async () => {
  app = await serveApp();
  browser = await launch();
  stack = await startStack();
  bridge = await startBridge(stack);
  page = await openApp(browser, app.url);
});
afterEach(async (t) => { await screenshot(page, `bridge-${slug(t.name)}`); });
after(async () => {
  await browser?.close();
  app?.close();
  bridge?.stop();
  await stack?.stop();
});

test('through a bridged mosquitto, devices register, RPCs are answered once, and echoes are not shown as server messages', async () => {
  await connect(page, { url: bridge.url });
  await page.getByRole('status', { name: 'Connection status' }).getByText('Connected', { exact: true }).waitFor({ timeout: 10_000 });
  await page.getByLabel('Device name or pattern').fill('Bridged Pump');
  await page.getByLabel('Device type').fill('Pump');
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  const device = await until('the device across the bridge', async () => {
    const r = await stack.api(`/api/devices/${dev('Bridged Pump')}`);
    return r.status === 200 && r.body.connected && r.body;
  }, 20_000);
  assert.equal(device.type, 'Pump');

  await page.getByRole('tablist', { name: 'Device tabs' }).getByRole('tab', { name: 'RPC' }).click();
  await page.getByLabel('Method').fill('getState');
  await page.getByLabel('Rule reply JSON').fill('{"via": "bridge"}');
  await page.getByRole('button', { name: 'Add rule' }).click();
  const r = await stack.api(`/api/rpc/twoway/${dev('Bridged Pump')}`, { method: 'POST', body: { method: 'getState', params: {} } });
  assert.equal(r.status, 200, JSON.stringify(r));
  assert.deepEqual(r.body, { via: 'bridge' });

  // Our reply came back through the bridge as an echo: it is not a new request.
  await page.getByRole('tablist', { name: 'Device tabs' }).getByRole('tab', { name: 'Attributes' }).click();
  await page.getByLabel('Client attributes JSON').fill('{"firmware": "2.0"}');
  await page.getByRole('button', { name: 'Send attributes' }).click();
  await until('the attribute across the bridge', async () => {
    const a = await stack.api(`/api/plugins/telemetry/DEVICE/${dev('Bridged Pump')}/values/attributes/CLIENT_SCOPE`);
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
