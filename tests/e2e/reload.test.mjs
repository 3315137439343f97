// Nothing is lost to a reload: what waits to be sent is kept in IndexedDB
// and goes out, in order, after the next connect (a request among it is
// answered in the new page); the devices and the auto-reply rules are back
// too.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { serveApp, launch, screenshot, connect, connectedStatus, startEmulator, until } from './harness.mjs';

const TOKEN = 'e2e-reload-token';
let app, browser, emulator;

before(async () => {
  app = await serveApp();
  browser = await launch();
  emulator = await startEmulator();
});
after(async () => {
  await browser?.close();
  app?.close();
  await emulator?.stop();
});

test('a reload while offline loses nothing: queued telemetry, attributes and a request arrive in order after reconnecting, the request is answered, and the devices and rules are back', async () => {
  const context = await browser.newContext({ viewport: { width: 1360, height: 1200 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  // Leaving with unsent messages asks first: that question is expected here.
  const asked = [];
  page.on('dialog', (d) => { asked.push(d.type()); d.accept(); });
  await page.goto(app.url);
  await connect(page, { url: emulator.wsUrl, token: TOKEN, remember: true, profile: 'reload' });
  await connectedStatus(page).waitFor({ timeout: 10_000 });
  await page.getByLabel('Device name or pattern').fill('Kept Pump');
  await page.getByLabel('Device type').fill('pump');
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  await until('the device at the platform', async () => (await emulator.tb.connected()).has('Kept Pump'));
  await page.getByRole('tablist', { name: 'Device tabs' }).getByRole('tab', { name: 'RPC' }).click();
  await page.getByLabel('Method').fill('getState');
  await page.getByLabel('Answer with').selectOption('fixed');
  await page.getByLabel('Rule reply JSON').fill('{"kept": true}');
  await page.getByRole('button', { name: 'Add rule' }).click();

  // The platform goes away; three messages wait in the page.
  await emulator.stop();
  await page.getByRole('status', { name: 'Connection status' }).getByText(/Reconnecting/).waitFor({ timeout: 10_000 });
  await page.getByRole('tablist', { name: 'Device tabs' }).getByRole('tab', { name: 'Telemetry' }).click();
  for (const n of [1, 2, 3]) {
    await page.getByLabel('Key 1').fill('n');
    await page.getByLabel('Value 1').fill(String(n));
    await page.getByRole('button', { name: 'Send telemetry' }).click();
  }
  // Client attributes, then a request for them: kept too, and in order, so
  // the new page shows the answer.
  await page.getByRole('tablist', { name: 'Device tabs' }).getByRole('tab', { name: 'Attributes' }).click();
  await page.getByLabel('Client attributes JSON').fill('{"mode": "eco"}');
  await page.getByRole('button', { name: 'Send attributes' }).click();
  await page.getByLabel('Scope').selectOption('client');
  await page.getByLabel('Keys').fill('mode');
  await page.getByRole('button', { name: 'Request', exact: true }).click();
  await page.getByLabel('Message counters').getByText(/waiting 5/).waitFor();

  // Reload: the page asks before leaving with unsent messages.
  await page.reload();
  assert.deepEqual(asked, ['beforeunload'], 'leaving with unsent messages asked first');
  await page.getByRole('button', { name: 'Open Kept Pump' }).waitFor({ timeout: 10_000 });

  await emulator.start();
  await page.getByRole('button', { name: /^(Connect|Reconnect)$/ }).click();
  await connectedStatus(page).waitFor({ timeout: 10_000 });
  await page.getByRole('log', { name: 'Notices' }).getByText(/5 message\(s\) kept from an earlier visit/).waitFor({ timeout: 10_000 });
  const points = await until('the three kept messages at the platform', async () => {
    const id = (await emulator.tb.device('Kept Pump'))?.id?.id;
    if (!id) return null;
    const r = await emulator.tb.call(`/api/plugins/telemetry/DEVICE/${id}/values/timeseries`,
      { query: { keys: 'n', startTs: 0, endTs: Date.now() + 60_000, limit: 100, orderBy: 'ASC' } });
    const list = r.body?.n ?? [];
    return list.length >= 3 ? list : null;
  });
  assert.deepEqual(points.map((p) => String(p.value)), ['1', '2', '3'], 'each once, in order');
  assert.equal((await emulator.tb.device('Kept Pump')).type, 'pump', 'registered with its type before its data');
  // The request asked in the earlier page is answered in this one.
  await page.getByRole('button', { name: 'Open Kept Pump' }).click();
  await page.getByRole('tablist', { name: 'Device tabs' }).getByRole('tab', { name: 'Attributes' }).click();
  await page.getByRole('list', { name: 'Attribute answers' }).getByText('{"mode":"eco"}').waitFor({ timeout: 10_000 });
  // The kept rule answers.
  const r = await emulator.tb.twoway('Kept Pump', { method: 'getState', params: {} });
  assert.equal(r.status, 200, JSON.stringify(r));
  assert.deepEqual(r.body, { kept: true });
  await page.getByLabel('Message counters').getByText(/waiting/).waitFor({ state: 'detached' });
  await screenshot(page, 'reload-after');
  // Nothing waits now: a second reload does not ask.
  await page.reload();
  assert.equal(asked.length, 1);
  assert.deepEqual(errors, []);
  await context.close();
});
