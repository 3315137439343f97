// The first page: connect through the form and watch the traffic log.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { serveApp, launch, openApp, screenshot, mosquittoPub, connect, startRelay, startAuthBroker } from './harness.mjs';

let app, browser;
before(async () => { app = await serveApp(); browser = await launch(); });
after(async () => { await browser?.close(); app?.close(); });

test('connects through the form and shows a message published by mosquitto_pub in the log', async () => {
  const page = await openApp(browser, app.url);
  await connect(page);
  const status = page.getByRole('status', { name: 'Connection status' });
  await status.getByText('Connected', { exact: true }).waitFor({ timeout: 10_000 });

  await page.getByRole('tablist', { name: 'Pages' }).getByRole('tab', { name: 'Traffic log' }).click();
  const payload = JSON.stringify({ device: 'E2E Pump', data: { id: 0, method: 'ping', params: { from: 'mosquitto_pub' } } });
  await mosquittoPub('v1/gateway/rpc', payload);
  const row = page.getByRole('list', { name: 'Packets' }).getByRole('button', { name: /in PUBLISH v1\/gateway\/rpc/ });
  await row.first().waitFor({ timeout: 10_000 });
  await row.first().click();
  const detail = page.getByRole('region', { name: 'Packet detail' });
  assert.match(await detail.innerText(), /"from": "mosquitto_pub"/);
  await screenshot(page, 'connect-log');
  assert.deepEqual(page.errors, []);
});

test('a wrong URL gives a readable error, not a blank page', async () => {
  const page = await openApp(browser, app.url);
  await connect(page, { url: 'http://127.0.0.1:1/' });
  const status = page.getByRole('status', { name: 'Connection status' });
  await status.getByText(/must start with ws:\/\/ or wss:\/\//).waitFor({ timeout: 5_000 });
  await screenshot(page, 'wrong-url');
  assert.deepEqual(page.errors, []);
});

test('connects through a websockify relay with the binary subprotocol (README setup A)', async () => {
  const relay = await startRelay();
  try {
    const page = await openApp(browser, app.url);
    await connect(page, { url: relay.url, subprotocol: 'binary' });
    const status = page.getByRole('status', { name: 'Connection status' });
    await status.getByText('Connected', { exact: true }).waitFor({ timeout: 10_000 });
    await page.getByRole('tablist', { name: 'Pages' }).getByRole('tab', { name: 'Traffic log' }).click();
    await mosquittoPub('v1/gateway/attributes', JSON.stringify({ device: 'Relay Pump', data: { via: 'websockify' } }));
    await page.getByRole('list', { name: 'Packets' })
      .getByRole('button', { name: /in PUBLISH v1\/gateway\/attributes/ }).first().waitFor({ timeout: 10_000 });
    await screenshot(page, 'relay');
    assert.deepEqual(page.errors, []);
  } finally {
    relay.stop();
  }
});

test('a wrong access token is refused with a plain explanation, and no reconnect loop follows', async () => {
  const broker = await startAuthBroker('gateway-user', 'right-password');
  try {
    const page = await openApp(browser, app.url);
    await connect(page, { url: broker.url, token: 'wrong-token' });
    const status = page.getByRole('status', { name: 'Connection status' });
    await status.getByText(/not authorized: check the access token/).waitFor({ timeout: 10_000 });
    assert.match(await status.innerText(), /^Closed/, 'a refused token is not retried');
    await screenshot(page, 'refused-token');

    // The right credentials (MQTT basic) are accepted.
    await page.getByLabel('Authentication').selectOption('basic');
    await page.getByLabel('Username').fill('gateway-user');
    await page.getByLabel('Password').fill('right-password');
    await page.getByRole('button', { name: /^(Connect|Reconnect)$/ }).click();
    await status.getByText('Connected', { exact: true }).waitFor({ timeout: 10_000 });
    assert.deepEqual(page.errors, []);
  } finally {
    broker.stop();
  }
});
