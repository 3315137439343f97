// The gateway console as a person uses it every day: profiles, many devices,
// charts, RPC by hand and by rule, readable errors, and no freeze under load.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { serveApp, launch, openApp, screenshot, slug, connect, startStack, until, dev, mosquittoPub, mosquittoPubLines } from './harness.mjs';

let app, browser, stack, page;
const connected = () => page.getByRole('status', { name: 'Connection status' }).getByText('Connected', { exact: true });

before(async () => {
  app = await serveApp();
  browser = await launch();
  stack = await startStack();
  page = await openApp(browser, app.url);
});
// Every test leaves a picture of the page as it ended, passed or failed.
afterEach(async (t) => { await screenshot(page, `console-${slug(t.name)}`); });
after(async () => {
  await browser?.close();
  app?.close();
  await stack?.stop();
});

async function addDevice(name, type = '') {
  await page.getByLabel('Device name or pattern').fill(name);
  await page.getByLabel('Device type').fill(type);
  await page.getByRole('button', { name: 'Add', exact: true }).click();
}

test('a profile is saved on connect and is there after a reload, with its secret only if remembered', async () => {
  await connect(page, { url: stack.wsUrl, profile: 'forgetful', token: 'SECRET-TOKEN-1', remember: false });
  await connected().waitFor({ timeout: 10_000 });
  await page.getByRole('button', { name: 'Disconnect' }).click();
  await connect(page, { url: stack.wsUrl, profile: 'kept', token: 'SECRET-TOKEN-2', remember: true });
  await connected().waitFor({ timeout: 10_000 });
  const stored = await page.evaluate(() => localStorage.getItem('browser-gateway.profiles.v1'));
  assert.ok(stored.includes('SECRET-TOKEN-2'));
  assert.ok(!stored.includes('SECRET-TOKEN-1'), 'an unremembered secret must never be stored');

  await page.reload();
  await page.getByRole('button', { name: 'Connect', exact: true }).waitFor();
  assert.equal(await page.getByLabel('Profile name').inputValue(), 'kept');
  assert.equal(await page.getByLabel('Access token').inputValue(), 'SECRET-TOKEN-2');
  await page.getByLabel('Saved profiles').selectOption('forgetful');
  assert.equal(await page.getByLabel('URL').inputValue(), stack.wsUrl);
  assert.equal(await page.getByLabel('Access token').inputValue(), '', 'the secret is asked for again');

  await page.getByLabel('Saved profiles').selectOption('kept');
  await page.getByRole('button', { name: 'Connect', exact: true }).click();
  await connected().waitFor({ timeout: 10_000 });
});

test('devices are added one at a time and from a pattern, and reach the emulator', async () => {
  await addDevice('Boiler 1', 'Boiler');
  await addDevice('Sensor-{1..500}', 'Thermometer');
  await page.getByRole('toolbar', { name: 'Device list controls' }).getByText('501 shown of 501').waitFor({ timeout: 10_000 });
  await until('all 501 devices at the emulator', async () => {
    const r = await stack.api('/api/devices');
    return r.status === 200 && r.body.filter((d) => d.connected).length >= 501;
  }, 30_000);
  const s = await stack.api(`/api/devices/${dev('Sensor-500')}`);
  assert.equal(s.body.type, 'Thermometer');
  await page.getByLabel('Filter').fill('Sensor-49');
  await page.getByRole('toolbar', { name: 'Device list controls' }).getByText('11 shown of 501').waitFor();
  await page.getByLabel('Filter').fill('');
});

test('telemetry for the selected devices goes out in one message, and a chart grows', async () => {
  await page.getByLabel('Filter').fill('Sensor-1');
  await page.getByLabel('Select all shown').check();
  await page.getByLabel('Filter').fill('');
  await page.getByRole('button', { name: 'Open Boiler 1' }).click();
  const send = async (v) => {
    await page.getByLabel('Key 1').fill('pressure');
    await page.getByLabel('Value 1').fill(String(v));
    await page.getByRole('button', { name: 'Send telemetry' }).click();
  };
  await page.getByLabel(/Also for the \d+ selected devices/).check();
  await send(3.1);
  await until('pressure on Sensor-100 at the emulator', async () => {
    const r = await stack.api(`/api/plugins/telemetry/DEVICE/${dev('Sensor-100')}/values/timeseries?keys=pressure`);
    return r.status === 200 && Number(r.body.pressure?.[0]?.value) === 3.1;
  });
  await page.getByLabel(/Also for the \d+ selected devices/).uncheck();
  const chart = page.getByRole('img', { name: /Chart of pressure/ });
  for (const v of [3.3, 2.9, 3.6]) await send(v);
  await until('the chart to hold 4 points', async () => Number(await chart.getAttribute('data-points')) >= 4);
});

test('a shared-attribute update shows with its time, and a deletion is shown', async () => {
  await page.getByRole('tablist', { name: 'Device tabs' }).getByRole('tab', { name: 'Attributes' }).click();
  await stack.api(`/api/plugins/telemetry/DEVICE/${dev('Boiler 1')}/attributes/SHARED_SCOPE`, { method: 'POST', body: { target: 65, mode: 'eco' } });
  const table = page.getByRole('table', { name: 'Shared attribute values' });
  await table.getByRole('row', { name: /target 65/ }).waitFor({ timeout: 10_000 });
  await stack.api(`/api/plugins/telemetry/DEVICE/${dev('Boiler 1')}/SHARED_SCOPE?keys=mode`, { method: 'DELETE' });
  await table.getByRole('row', { name: /mode deleted/ }).waitFor({ timeout: 10_000 });
});

test('RPCs are answered by hand and by an auto-reply rule, and the REST caller gets each reply', async () => {
  await page.getByRole('tablist', { name: 'Device tabs' }).getByRole('tab', { name: 'RPC' }).click();
  const byHand = stack.api(`/api/rpc/twoway/${dev('Boiler 1')}`, { method: 'POST', body: { method: 'reboot', params: null } });
  const inbox = page.getByRole('table', { name: 'RPC inbox' });
  await inbox.getByRole('row', { name: /reboot/ }).waitFor({ timeout: 10_000 });
  await inbox.getByRole('button', { name: /^Reply success to/ }).first().click();
  assert.deepEqual((await byHand).body, { success: true });

  await page.getByLabel('Method').fill('getTemp');
  await page.getByLabel('Answer with').selectOption('fixed');
  await page.getByLabel('Rule reply JSON').fill('{"temp": 71}');
  await page.getByLabel('Delay (ms)').fill('200');
  await page.getByRole('button', { name: 'Add rule' }).click();
  const byRule = await stack.api(`/api/rpc/twoway/${dev('Boiler 1')}`, { method: 'POST', body: { method: 'getTemp', params: {} } });
  assert.equal(byRule.status, 200, JSON.stringify(byRule));
  assert.deepEqual(byRule.body, { temp: 71 });
  await inbox.getByText('replied by rule: {"temp":71}').waitFor();
});

test('malformed JSON from the platform gives a readable notice and the page keeps working', async () => {
  await mosquittoPub('v1/gateway/rpc', '{"device": "Boiler 1", "data": {"id": 3, "method": ', [], stack.tcp);
  const notices = page.getByRole('log', { name: 'Notices' });
  await notices.getByText(/bad message from the platform: v1\/gateway\/rpc/).waitFor({ timeout: 10_000 });
  await connected().waitFor();
});

test('a device named like HTML shows as text and runs nothing', async () => {
  const evil = '<img src=x onerror=alert(1)>';
  await addDevice(evil);
  await page.getByRole('button', { name: `Open ${evil}` }).waitFor();
  await page.getByRole('heading', { name: evil }).waitFor();
  assert.equal(await page.locator('img').count(), 0, 'no <img> element may be created from a device name');
  assert.deepEqual(page.errors, [], 'no script ran and no dialog opened');
});

test('the page stays responsive while thousands of messages per second arrive, and the log stays capped', async () => {
  await page.getByRole('tablist', { name: 'Pages' }).getByRole('tab', { name: 'Traffic log' }).click();
  const lines = Array.from({ length: 20_000 }, (_, i) => JSON.stringify({ device: `Sensor-${(i % 500) + 1}`, data: { load: i } }));
  const flood = mosquittoPubLines('v1/gateway/attributes', lines, stack.tcp);
  // While the flood runs, the page must keep answering clicks.
  for (const tab of ['Devices', 'Gateway', 'Traffic log']) {
    await page.getByRole('tablist', { name: 'Pages' }).getByRole('tab', { name: tab }).click({ timeout: 5_000 });
  }
  await flood;
  const count = page.getByLabel('Log size');
  await until('the log to report dropped packets', async () => /[1-9]\d* dropped/.test(await count.innerText()), 20_000);
  const text = await count.innerText();
  const kept = Number(/(\d+) kept/.exec(text)[1]);
  assert.ok(kept <= 5000, `the log keeps at most 5000 packets, kept ${kept}`);
  await page.getByLabel('Topic').fill('v1/gateway/attributes');
  assert.deepEqual(page.errors, []);
});

test('ten thousand devices: the list renders only what is in view and scrolls to the last one', async () => {
  await page.getByRole('tablist', { name: 'Pages' }).getByRole('tab', { name: 'Devices' }).click();
  await addDevice('Load-{1..10000}', 'Load');
  await page.getByLabel('Filter').fill('Load-');
  await page.getByRole('toolbar', { name: 'Device list controls' }).getByText(/^10000 shown of/).waitFor({ timeout: 20_000 });
  const list = page.getByRole('list', { name: 'Device list' });
  const rendered = await list.getByRole('listitem').count();
  assert.ok(rendered > 0 && rendered < 100, `only the rows in view are in the DOM (${rendered})`);
  await list.evaluate((el) => { el.scrollTop = el.scrollHeight; el.dispatchEvent(new Event('scroll')); });
  await page.getByRole('button', { name: 'Open Load-10000' }).waitFor({ timeout: 5_000 });
  await until('all 10 000 at the emulator', async () => {
    const r = await stack.api('/api/devices');
    return r.body.filter((d) => d.name.startsWith('Load-') && d.connected).length === 10_000;
  }, 60_000);
  assert.deepEqual(page.errors, []);
});
