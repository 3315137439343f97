// The gateway console as a person uses it every day: profiles, many devices,
// charts, RPC by hand and by rule, readable errors, and no freeze under load.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { serveApp, launch, openApp, screenshot, slug, connect, startEmulator, until } from './harness.mjs';

let app, browser, emulator, tb, page;
const connected = () => page.getByRole('status', { name: 'Connection status' }).getByText('Connected', { exact: true });

before(async () => {
  app = await serveApp();
  browser = await launch();
  emulator = await startEmulator();
  tb = emulator.tb;
  page = await openApp(browser, app.url);
});
// Every test leaves a picture of the page as it ended, passed or failed.
afterEach(async (t) => { await screenshot(page, `console-${slug(t.name)}`); });
after(async () => {
  await browser?.close();
  app?.close();
  await emulator?.stop();
});

async function addDevice(name, type = '') {
  await page.getByLabel('Device name or pattern').fill(name);
  await page.getByLabel('Device type').fill(type);
  await page.getByRole('button', { name: 'Add', exact: true }).click();
}

test('a profile is saved on connect and is there after a reload, with its secret only if remembered', async () => {
  await connect(page, { url: emulator.wsUrl, profile: 'forgetful', token: 'SECRET-TOKEN-1', remember: false });
  await connected().waitFor({ timeout: 10_000 });
  await page.getByRole('button', { name: 'Disconnect' }).click();
  await connect(page, { url: emulator.wsUrl, profile: 'kept', token: 'SECRET-TOKEN-2', remember: true });
  await connected().waitFor({ timeout: 10_000 });
  const stored = await page.evaluate(() => localStorage.getItem('browser-gateway.profiles.v1'));
  assert.ok(stored.includes('SECRET-TOKEN-2'));
  assert.ok(!stored.includes('SECRET-TOKEN-1'), 'an unremembered secret must never be stored');

  await page.reload();
  await page.getByRole('button', { name: 'Connect', exact: true }).waitFor();
  assert.equal(await page.getByLabel('Profile name').inputValue(), 'kept');
  assert.equal(await page.getByLabel('Access token').inputValue(), 'SECRET-TOKEN-2');
  await page.getByLabel('Saved profiles').selectOption('forgetful');
  assert.equal(await page.getByLabel('URL').inputValue(), emulator.wsUrl);
  assert.equal(await page.getByLabel('Access token').inputValue(), '', 'the secret is asked for again');

  await page.getByLabel('Saved profiles').selectOption('kept');
  await page.getByRole('button', { name: 'Connect', exact: true }).click();
  await connected().waitFor({ timeout: 10_000 });
});

test('devices are added one at a time and from a pattern, and reach the emulator', async () => {
  await addDevice('Boiler 1', 'Boiler');
  await addDevice('Sensor-{1..500}', 'Thermometer');
  await page.getByRole('toolbar', { name: 'Device list controls' }).getByText('501 shown of 501').waitFor({ timeout: 10_000 });
  await until('all 501 devices registered at the emulator', async () => (await tb.connected()).size >= 501, 30_000);
  const s = await tb.device('Sensor-500');
  assert.equal(s.type, 'Thermometer');
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
  await until('pressure on Sensor-100 in the platform', async () => {
    const r = await tb.timeseries('Sensor-100', 'pressure');
    return r.status === 200 && Number(r.body.pressure?.[0]?.value) === 3.1;
  });
  await page.getByLabel(/Also for the \d+ selected devices/).uncheck();
  const chart = page.getByRole('img', { name: /Chart of pressure/ });
  for (const v of [3.3, 2.9, 3.6]) await send(v);
  await until('the chart to hold 4 points', async () => Number(await chart.getAttribute('data-points')) >= 4);
});

test('a shared-attribute update shows with its time, and a deletion is shown', async () => {
  await page.getByRole('tablist', { name: 'Device tabs' }).getByRole('tab', { name: 'Attributes' }).click();
  assert.equal((await tb.saveShared('Boiler 1', { target: 65, mode: 'eco' })).status, 200);
  const table = page.getByRole('table', { name: 'Shared attribute values' });
  await table.getByRole('row', { name: /target 65/ }).waitFor({ timeout: 10_000 });
  assert.equal((await tb.deleteShared('Boiler 1', 'mode')).status, 200);
  await table.getByRole('row', { name: /mode deleted/ }).waitFor({ timeout: 10_000 });
});

test('RPCs are answered by hand and by an auto-reply rule, and the REST caller gets each reply', async () => {
  await page.getByRole('tablist', { name: 'Device tabs' }).getByRole('tab', { name: 'RPC' }).click();
  const byHand = tb.twoway('Boiler 1', { method: 'reboot', params: {} });
  const inbox = page.getByRole('table', { name: 'RPC inbox' });
  await inbox.getByRole('row', { name: /reboot/ }).waitFor({ timeout: 10_000 });
  await inbox.getByRole('button', { name: /^Reply success to/ }).first().click();
  assert.deepEqual((await byHand).body, { success: true });

  await page.getByLabel('Method').fill('getTemp');
  await page.getByLabel('Answer with').selectOption('fixed');
  await page.getByLabel('Rule reply JSON').fill('{"temp": 71}');
  await page.getByLabel('Delay (ms)').fill('200');
  await page.getByRole('button', { name: 'Add rule' }).click();
  const byRule = await tb.twoway('Boiler 1', { method: 'getTemp', params: {} });
  assert.equal(byRule.status, 200, JSON.stringify(byRule));
  assert.deepEqual(byRule.body, { temp: 71 });
  await inbox.getByText('replied by rule: {"temp":71}').waitFor();
});

test('a device named like HTML shows as text and runs nothing', async () => {
  const evil = '<img src=x onerror=alert(1)>';
  await addDevice(evil);
  await page.getByRole('button', { name: `Open ${evil}` }).waitFor();
  await page.getByRole('heading', { name: evil }).waitFor();
  assert.equal(await page.locator('img').count(), 0, 'no <img> element may be created from a device name');
  assert.deepEqual(page.errors, [], 'no script ran and no dialog opened');
});

test('the page stays responsive while thousands of shared-attribute updates arrive, and the log stays capped', async () => {
  await page.getByRole('tablist', { name: 'Pages' }).getByRole('tab', { name: 'Traffic log' }).click();
  // 6 000 updates saved through the REST API, 32 at a time; the platform
  // pushes each one to the gateway as its own message.
  const ids = new Map((await tb.devices()).map((d) => [d.name, d.id.id]));
  let next = 0;
  const total = 6_000;
  const worker = async () => {
    while (next < total) {
      const i = next++;
      const id = ids.get(`Sensor-${(i % 500) + 1}`);
      const r = await tb.call(`/api/plugins/telemetry/DEVICE/${id}/attributes/SHARED_SCOPE`, { method: 'POST', body: { load: i } });
      if (r.status !== 200) throw new Error(`update ${i}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
    }
  };
  const flood = Promise.all(Array.from({ length: 32 }, worker));
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
  await until('all 10 000 registered at the emulator', async () =>
    [...await tb.connected()].filter((name) => name.startsWith('Load-')).length === 10_000, 60_000);
  assert.deepEqual(page.errors, []);
});
