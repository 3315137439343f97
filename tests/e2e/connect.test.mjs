// The first page: connect through the form to the platform emulator's
// WebSocket listener, through websockify (README setup A), and be refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { serveApp, launch, openApp, screenshot, connect, connectedStatus, startEmulator, startRelay, until } from './harness.mjs';

let app, browser, emulator;
before(async () => { app = await serveApp(); browser = await launch(); emulator = await startEmulator(); });
after(async () => { await browser?.close(); app?.close(); await emulator?.stop(); });

/** Send the gateway device a one-way RPC through the REST API and find it in the page's traffic log. */
async function rpcShowsInLog(page, token, from) {
  await page.getByRole('tablist', { name: 'Pages' }).getByRole('tab', { name: 'Traffic log' }).click();
  const r = await emulator.tb.oneway(`Gateway ${token}`, { method: 'ping', params: { from } });
  assert.equal(r.status, 200, JSON.stringify(r));
  const row = page.getByRole('list', { name: 'Packets' }).getByRole('button', { name: /in PUBLISH v1\/devices\/me\/rpc\/request\// });
  await row.first().waitFor({ timeout: 10_000 });
  await row.first().click();
  assert.match(await page.getByRole('region', { name: 'Packet detail' }).innerText(), new RegExp(`"from": "${from}"`));
}

test('connects through the form to the emulator, which sees a gateway session, and an RPC sent through REST shows in the log', async () => {
  const page = await openApp(browser, app.url);
  await connect(page, { url: emulator.wsUrl, token: 'e2e-connect-token' });
  await connectedStatus(page).waitFor({ timeout: 10_000 });
  const session = await until('the gateway session at the emulator', async () =>
    (await emulator.tb.sessions()).find((s) => s.deviceName === 'Gateway e2e-connect-token'));
  assert.equal(session.gateway, true);
  await rpcShowsInLog(page, 'e2e-connect-token', 'rest');
  await screenshot(page, 'connect-log');
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('a wrong URL gives a readable error, not a blank page', async () => {
  const page = await openApp(browser, app.url);
  await connect(page, { url: 'http://127.0.0.1:1/' });
  const status = page.getByRole('status', { name: 'Connection status' });
  await status.getByText(/must start with ws:\/\/ or wss:\/\//).waitFor({ timeout: 5_000 });
  await screenshot(page, 'wrong-url');
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('connects through a websockify relay to the emulator\'s TCP port with the binary subprotocol (README setup A)', async () => {
  const relay = await startRelay(emulator.tcp);
  try {
    const page = await openApp(browser, app.url);
    await connect(page, { url: relay.url, subprotocol: 'binary', token: 'e2e-relay-token' });
    await connectedStatus(page).waitFor({ timeout: 10_000 });
    await rpcShowsInLog(page, 'e2e-relay-token', 'websockify');
    await screenshot(page, 'relay');
    assert.deepEqual(page.errors, []);
    await page.close();
  } finally {
    relay.stop();
  }
});

test('a wrong access token is refused by the emulator with a plain explanation, and no reconnect loop follows', async () => {
  // Without --accept-any-token the emulator knows one gateway token only.
  const strict = await startEmulator({ acceptAnyToken: false, gateways: ['right-gateway-token'] });
  try {
    const page = await openApp(browser, app.url);
    await connect(page, { url: strict.wsUrl, token: 'wrong-token' });
    const status = page.getByRole('status', { name: 'Connection status' });
    // MQTT 5 CONNACK 134, in words.
    await status.getByText(/bad user name or password: check the access token/).waitFor({ timeout: 10_000 });
    assert.match(await status.innerText(), /^Closed/, 'a refused token is not retried');
    await screenshot(page, 'refused-token');
    assert.equal((await strict.tb.sessions()).length, 0);
    assert.equal(await strict.tb.device('Gateway wrong-token'), null, 'a refused token creates no device');

    await connect(page, { url: strict.wsUrl, token: 'right-gateway-token' });
    await connectedStatus(page).waitFor({ timeout: 10_000 });
    await until('the gateway session', async () =>
      (await strict.tb.sessions()).some((s) => s.deviceName === 'Gateway right-gateway-token'));
    assert.deepEqual(page.errors, []);
    await page.close();
  } finally {
    await strict.stop();
  }
});
