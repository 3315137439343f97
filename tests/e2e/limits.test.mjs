// The gateway under ThingsBoard's rules (issue 8), end to end: the app in
// chromium connected to the platform emulator's WebSocket listener under
// MQTT 5, the emulator enforcing session limits, rejecting, taking sessions
// over and expiring idle sub-devices as ThingsBoard does, and ThingsBoard's
// REST API (tb.mjs) checking the outcome. Every test starts its own emulator
// with the flags it needs, so each can run alone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  serveApp, launch, openApp, screenshot, connect, connectedStatus, startEmulator, until,
  withEmulator, sessionsOpened as opened, sessionsOf, statusLine as status, counters,
} from './harness.mjs';

let app, browser;
before(async () => { app = await serveApp(); browser = await launch(); });
after(async () => { await browser?.close(); app?.close(); });


async function addDevice(page, name, type = '') {
  await page.getByLabel('Device name or pattern').fill(name);
  await page.getByLabel('Device type').fill(type);
  await page.getByRole('button', { name: 'Add', exact: true }).click();
}

async function gotoPage(page, name) {
  await page.getByRole('tablist', { name: 'Pages' }).getByRole('tab', { name }).click();
}

async function openDeviceTab(page, name) {
  await page.getByRole('tablist', { name: 'Device tabs' }).getByRole('tab', { name }).click();
}

/** Every point of `keys` of the device named `name` in the platform: {key: [{ts, value}]}. */
async function allPoints(tb, name, keys) {
  const r = await tb.call(`/api/plugins/telemetry/DEVICE/${await tb.idOf(name)}/values/timeseries`, {
    query: { keys: keys.join(','), startTs: 0, endTs: Date.now() + 60_000, limit: 100000 },
  });
  assert.equal(r.status, 200, `timeseries of ${name}: ${JSON.stringify(r.body)}`);
  return r.body;
}

/**
 * 200 devices from a pattern, all ticked and simulated with 10 keys every
 * 5 s for four ticks (about 20 s: 400 data points and 40 device entries a
 * second offered) against the gateway rate limits `LIMITS`; then wait until
 * nothing waits. The emulator must never refuse a message for rate, the
 * session must be the one from the start, and REST must hold every point
 * exactly once.
 */
async function simulateUnderLimits(LIMITS, shot) {
  await withEmulator(['--gateway-rate-limits', LIMITS], async (emulator) => {
    const { tb } = emulator;
    const TOKEN = 'e2e-limits-token';
    const GATEWAY = `Gateway ${TOKEN}`;
    const DEVICES = Array.from({ length: 200 }, (_, i) => `Load-${i + 1}`);
    // 10 keys per device: one tick of 200 devices is 2 000 data points and
    // 200 telemetry messages (ThingsBoard counts one per device entry of a
    // gateway message), against 200 points and 10 messages a second.
    const KEYS = Array.from({ length: 10 }, (_, i) => `k${i}`);
    const page = await openApp(browser, app.url);
    try {
      await connect(page, { url: emulator.wsUrl, token: TOKEN });
      await connectedStatus(page).waitFor({ timeout: 10_000 });
      const first = await until('the gateway session', async () => (await sessionsOf(emulator, GATEWAY))[0]);

      await addDevice(page, 'Load-{1..200}', 'Load');
      // 200 connects are "messages": 20 a second at most, so this takes ~12 s at 80 %.
      await until('200 devices registered at the emulator', async () => {
        const [s] = await sessionsOf(emulator, GATEWAY);
        return s && s.subDevices.length === 200;
      }, 60_000);

      await page.getByLabel('Select all shown').check();
      await page.getByLabel('Device count').getByText('200 selected').waitFor();
      await page.getByLabel('Simulated keys').fill(KEYS.join(', '));
      await page.getByLabel('Every (ms)').fill('5000');
      await page.getByRole('button', { name: 'Simulate selected' }).click();

      // Watch the status bar while the simulation runs and the queue drains,
      // and the emulator for what must never happen: a message refused for
      // rate (MQTT 5: PUBACK 151, then the connection closed) or another
      // session. The first time it happens the wait ends, and the checks
      // below say what went wrong.
      let sawRate = 0;
      let sawWaiting = 0;
      let broken = false;
      const watch = async () => {
        const text = await counters(page).innerText();
        const rate = /rate limit (\d+) %/.exec(text);
        if (rate) sawRate = Math.max(sawRate, Number(rate[1]));
        const waiting = /waiting (\d+)/.exec(text);
        if (waiting) sawWaiting = Math.max(sawWaiting, Number(waiting[1]));
        const refused = (await tb.errors()).some((e) => /rate limit/.test(e.problem));
        const sessions = await sessionsOf(emulator, GATEWAY);
        broken ||= refused || sessions.length !== 1 || sessions[0].session !== first.session;
        return text;
      };
      const simulation = page.getByRole('status', { name: 'Simulation' });
      // Four ticks, one every 5 s: about 20 s.
      await until('4 simulator ticks', async () => {
        await watch();
        return broken || / 4 ticks/.test(await page.getByRole('timer', { name: 'Simulation ticks' }).innerText());
      }, 40_000);
      await page.getByRole('button', { name: 'Stop simulation' }).click();
      await simulation.waitFor({ state: 'detached' });

      // What the page says it sent: every device's telemetry count in the list.
      const sentPer = new Map();
      for (const name of DEVICES) {
        await page.getByLabel('Filter').fill(name);
        const row = page.locator('.device-row').filter({ has: page.getByRole('button', { name: `Open ${name}`, exact: true }) });
        const counts = await row.locator('.device-counts').innerText();
        sentPer.set(name, Number(counts.split('·')[0].trim()));
      }
      await page.getByLabel('Filter').fill('');
      const ticks = sentPer.get('Load-1');
      assert.deepEqual([...new Set(sentPer.values())], [ticks], 'every device sent as often');

      // 800 device entries at 8 a second (80 % of 10): ~100 s to drain.
      const drained = Date.now();
      await until('nothing waiting in the status bar', async () => !/waiting \d+/.test(await watch()) || broken, 300_000);
      const drainSecs = Math.round((Date.now() - drained) / 1000);
      const statusText = await status(page).innerText();

      const errors = await tb.errors();
      const rateErrors = errors.filter((e) => /rate limit/.test(e.problem));
      assert.deepEqual(rateErrors.slice(0, 3).map((e) => `${e.problem} → ${e.action}`), [],
        `the emulator refused ${rateErrors.length} messages for rate (the first on ${rateErrors[0]?.topic}, `
        + `${(rateErrors[0]?.payload.match(/"Load-\d+"/g) ?? []).length}+ device entries in its logged start); the page now says: ${statusText}`);
      const sessions = await sessionsOf(emulator, GATEWAY);
      assert.deepEqual(sessions.map((s) => s.session), [first.session], `one continuous session from start to end; the page says: ${statusText}`);
      assert.equal(opened(emulator, GATEWAY), 1, 'no reconnect happened');
      assert.equal(ticks, 4, 'the page counts one telemetry message per tick and device');

      // Every point exactly once: `ticks` points per key and device, with distinct timestamps.
      let total = 0;
      const wrong = [];
      for (const name of DEVICES) {
        const points = await allPoints(tb, name, KEYS);
        for (const key of KEYS) {
          const list = points[key] ?? [];
          total += list.length;
          const distinct = new Set(list.map((p) => p.ts)).size;
          if (list.length !== ticks || distinct !== list.length) wrong.push(`${name}.${key}: ${list.length} points, ${distinct} distinct ts`);
        }
      }
      assert.deepEqual(wrong.slice(0, 10), [], `${wrong.length} series differ from ${ticks} points each`);
      assert.equal(total, ticks * DEVICES.length * KEYS.length);
      assert.ok(sawRate > 0, 'the status bar showed "rate limit NN %" during the run');
      console.log(`# limits ${LIMITS}: ${ticks} ticks, ${total} points stored once each, peak waiting ${sawWaiting}, peak rate limit ${sawRate} %, drained in ${drainSecs} s after the last tick`);
      assert.deepEqual(page.errors, []);
    } finally {
      await screenshot(page, shot);
      await page.close();
    }
  });
}

test('with low rate limits (messages 20:1, telemetry messages 10:1, data points 200:1), 200 simulated devices never get the connection closed for rate, and every data point arrives exactly once', { timeout: 600_000 }, async () => {
  await simulateUnderLimits('messages=20:1;telemetryMessages=10:1;telemetryDataPoints=200:1', 'limits-rate');
});

// The same run without the telemetry-messages limit: isolates it from the
// data-point and message limits when the test above fails.
test('with the message and data-point limits alone (messages 20:1, data points 200:1), the same run arrives exactly once on one session', { timeout: 600_000 }, async () => {
  await simulateUnderLimits('messages=20:1;telemetryDataPoints=200:1', 'limits-rate-points');
});

test('a publish the server rejects causes a few reconnects, is then listed as rejected with its reason, and other traffic keeps flowing', { timeout: 120_000 }, async () => {
  await withEmulator([], async (emulator) => {
    const { tb } = emulator;
    const TOKEN = 'e2e-reject-token';
    const GATEWAY = `Gateway ${TOKEN}`;
    const page = await openApp(browser, app.url);
    try {
      await connect(page, { url: emulator.wsUrl, token: TOKEN });
      await connectedStatus(page).waitFor({ timeout: 10_000 });
      await addDevice(page, 'Big 1', 'Probe');
      await until('Big 1 registered', async () => (await tb.connected()).has('Big 1'));
      // The server's packet limit drops below what the page learned at connect:
      // the next large message is closed on, every time it is sent.
      await tb.setLimits({ maxPayloadSize: 1024 });
      const before = opened(emulator, GATEWAY);

      await openDeviceTab(page, 'Telemetry');
      await page.getByLabel('Key 1').fill('blob');
      await page.getByLabel('Value 1').fill('x'.repeat(3000));
      await page.getByRole('button', { name: 'Send telemetry' }).click();

      await gotoPage(page, 'Gateway');
      const rejected = page.getByRole('region', { name: 'Rejected messages' });
      const row = rejected.getByRole('row').filter({ hasText: 'v1/gateway/telemetry' });
      await row.first().waitFor({ timeout: 60_000 });
      const reason = await row.first().innerText();
      await connectedStatus(page).waitFor({ timeout: 30_000 });
      const reconnects = opened(emulator, GATEWAY) - before;
      assert.ok(reconnects >= 1 && reconnects <= 4, `${reconnects} reconnects before the message was set aside`);
      assert.match(reason, /\d{2,3}/, 'a reason code');
      assert.match(reason, /(times|too large|packet|size)/i, 'a reason in words');

      // The rest flows, on the same session from now on.
      await gotoPage(page, 'Devices');
      await openDeviceTab(page, 'Telemetry');
      await page.getByLabel('Key 1').fill('after');
      await page.getByLabel('Value 1').fill('7');
      await page.getByRole('button', { name: 'Send telemetry' }).click();
      await until('later telemetry in the platform', async () => {
        const r = await tb.timeseries('Big 1', 'after');
        return r.status === 200 && Number(r.body.after?.[0]?.value) === 7;
      });
      const blob = await tb.timeseries('Big 1', 'blob');
      assert.equal(blob.body.blob?.[0]?.value ?? null, null, 'the too-large message was never stored');
      const after = opened(emulator, GATEWAY) - before;
      assert.equal(after, reconnects, 'no reconnect after the message was set aside');
      const closes = (await tb.errors()).filter((e) => e.connectionClosed ?? e.connection_closed);
      console.log(`# rejection: ${reconnects} reconnects; row: ${reason.replace(/\s+/g, ' ')}; emulator closes logged: ${closes.length}`);
      await gotoPage(page, 'Gateway');
      assert.deepEqual(page.errors, []);
    } finally {
      await screenshot(page, 'limits-rejected');
      await page.close();
    }
  });
});

test('two browsers on one token: a handful of connects in 60 s, the loser says "Taken over" and can take the session back', { timeout: 180_000 }, async () => {
  await withEmulator([], async (emulator) => {
    const TOKEN = 'e2e-twins-token';
    const GATEWAY = `Gateway ${TOKEN}`;
    // openApp on the Browser gives each page a context of its own: two browsers.
    const a = await openApp(browser, app.url);
    const b = await openApp(browser, app.url);
    try {
      await connect(a, { url: emulator.wsUrl, token: TOKEN });
      await connectedStatus(a).waitFor({ timeout: 10_000 });
      const start = Date.now();
      await connect(b, { url: emulator.wsUrl, token: TOKEN });
      await status(a).getByText(/^Taken over/).waitFor({ timeout: 15_000 });
      await connectedStatus(b).waitFor({ timeout: 10_000 });
      await a.getByRole('button', { name: 'Take over', exact: true }).waitFor();
      // MQTT 5 DISCONNECT 142 from the emulator, in words.
      await a.getByText(/reason 142\): session taken over/).first().waitFor();
      // Let the rest of the minute pass, counting connects as they happen.
      let peak = 0;
      await until('60 s since the second page connected', async () => {
        peak = opened(emulator, GATEWAY);
        assert.ok(peak <= 5, `${peak} connects within ${Math.round((Date.now() - start) / 1000)} s`);
        return Date.now() - start >= 60_000;
      }, 70_000);
      const statusA = await status(a).innerText();
      assert.match(statusA, /^Taken over/);
      assert.match(await status(b).innerText(), /^Connected/);
      const inMinute = opened(emulator, GATEWAY);
      assert.ok(inMinute <= 5, `${inMinute} connects in 60 s`);
      assert.equal((await sessionsOf(emulator, GATEWAY)).length, 1);

      await a.getByRole('button', { name: 'Take over', exact: true }).click();
      await connectedStatus(a).waitFor({ timeout: 10_000 });
      await status(b).getByText(/^Taken over/).waitFor({ timeout: 15_000 });
      await b.getByRole('button', { name: 'Take over', exact: true }).waitFor();
      await b.getByText(/reason 142\): session taken over/).first().waitFor();
      const statusB = await status(b).innerText();
      // And it stays that way: a connects, b waits for a person.
      const settled = opened(emulator, GATEWAY);
      await until('a calm 5 s after the takeover', async () => {
        assert.equal(opened(emulator, GATEWAY), settled, 'no more connects after the takeover');
        return Date.now() - start >= 60_000 + 5_000;
      }, 20_000);
      assert.equal((await sessionsOf(emulator, GATEWAY)).length, 1);
      console.log(`# takeover: ${inMinute} connects in the first 60 s, ${settled} after taking back; a: ${statusA}; b: ${statusB}`);
      await screenshot(b, 'limits-taken-over-b');
      assert.deepEqual([...a.errors, ...b.errors], []);
    } finally {
      await screenshot(a, 'limits-taken-over');
      await a.close();
      await b.close();
    }
  });
});

test('a second tab of the same browser is told before connecting that another tab holds the session; Cancel keeps it, "Connect here" takes it over', { timeout: 120_000 }, async () => {
  await withEmulator([], async (emulator) => {
    const TOKEN = 'e2e-tabs-token';
    const GATEWAY = `Gateway ${TOKEN}`;
    // One browser context with two pages: two tabs of one browser, sharing
    // its storage and its BroadcastChannel.
    const context = await browser.newContext({ viewport: { width: 1360, height: 1200 } });
    const first = await openApp(context, app.url);
    const second = await openApp(context, app.url);
    try {
      await connect(first, { url: emulator.wsUrl, token: TOKEN });
      await connectedStatus(first).waitFor({ timeout: 10_000 });
      assert.equal(opened(emulator, GATEWAY), 1);

      await connect(second, { url: emulator.wsUrl, token: TOKEN });
      const conflict = second.getByRole('alert').filter({ hasText: 'Another tab of this browser has held this gateway\'s session since' });
      await conflict.waitFor({ timeout: 10_000 });
      const told = await conflict.innerText();
      assert.equal(opened(emulator, GATEWAY), 1, 'the second tab has not connected');
      await conflict.getByRole('button', { name: 'Cancel' }).click();
      await conflict.waitFor({ state: 'detached' });
      assert.match(await status(first).innerText(), /^Connected/);
      assert.doesNotMatch(await status(second).innerText(), /^Connect/, 'the second tab stays idle');
      assert.equal(opened(emulator, GATEWAY), 1);

      await second.getByRole('button', { name: /^(Connect|Reconnect)$/ }).click();
      await conflict.waitFor({ timeout: 10_000 });
      await conflict.getByRole('button', { name: 'Connect here' }).click();
      await connectedStatus(second).waitFor({ timeout: 10_000 });
      await status(first).getByText(/^Taken over: another tab of this browser took over/).waitFor({ timeout: 10_000 });
      await first.getByRole('button', { name: 'Take over', exact: true }).waitFor();
      await until('one session', async () => (await sessionsOf(emulator, GATEWAY)).length === 1);
      assert.equal(opened(emulator, GATEWAY), 2, 'one connect per tab');
      console.log(`# tabs: "${told.split('\n')[0]}"; first tab: ${await status(first).innerText()}`);
      await screenshot(second, 'limits-tab-second');
      assert.deepEqual([...first.errors, ...second.errors], []);
    } finally {
      await screenshot(first, 'limits-tab-first');
      await context.close();
    }
  });
});

/**
 * Connect with sub-device expiry `expiry` s against an emulator expiring
 * sub-devices after 3 s, add a device with an auto-reply rule, send nothing
 * for it for 3 × 3 s while watching whether the emulator keeps it
 * registered, then call it through REST. Resolves to { response, kept }.
 */
async function quietDevice(expiry, label) {
  return withEmulator(['--session-inactivity-ms', '3000'], async (emulator) => {
    const { tb } = emulator;
    const TOKEN = `e2e-expiry-${expiry}-token`;
    const page = await openApp(browser, app.url);
    try {
      // A 1 s keepalive: the gateway's own session stays alive on PINGREQs,
      // which (without "overwrite activity time") do nothing for its devices.
      await connect(page, { url: emulator.wsUrl, token: TOKEN, expiry, keepalive: 1 });
      await connectedStatus(page).waitFor({ timeout: 10_000 });
      await addDevice(page, 'Quiet 1', 'Probe');
      await until('Quiet 1 registered', async () => (await tb.connected()).has('Quiet 1'));
      const since = Date.now();
      await openDeviceTab(page, 'RPC');
      await page.getByLabel('Method').fill('status');
      await page.getByLabel('Answer with').selectOption('fixed');
      await page.getByLabel('Rule reply JSON').fill('{"alive": true}');
      await page.getByRole('button', { name: 'Add rule' }).click();
      await page.getByRole('list', { name: 'Rules' }).getByText('status').waitFor();
      let kept = true;
      await until('three times the expiry', async () => {
        if (!(await tb.connected()).has('Quiet 1')) kept = false;
        return Date.now() - since >= 3 * 3_000 + 500;
      }, 15_000);
      const response = await tb.twoway('Quiet 1', { method: 'status', params: {}, timeout: 5000 });
      await screenshot(page, `limits-expiry-${label}`);
      assert.deepEqual(page.errors, []);
      return { response, kept, sessions: opened(emulator, `Gateway ${TOKEN}`) };
    } finally {
      await page.close();
    }
  });
}

test('with the sub-device expiry set to 3 s, a device with no traffic still answers an RPC after 9 s; with 0 (no keep-alives) it does not', { timeout: 120_000 }, async () => {
  const kept = await quietDevice(3, 'kept');
  assert.equal(kept.response.status, 200, JSON.stringify(kept.response));
  assert.deepEqual(kept.response.body, { alive: true });
  assert.ok(kept.kept, 'the emulator kept Quiet 1 registered all the time');
  assert.equal(kept.sessions, 1, 'one session throughout');

  const dropped = await quietDevice(0, 'dropped');
  assert.equal(dropped.kept, false, 'without keep-alives the emulator expired Quiet 1');
  assert.equal(dropped.response.status, 504, JSON.stringify(dropped.response));
  console.log(`# expiry: with 3 s → ${kept.response.status} ${JSON.stringify(kept.response.body)}; with 0 → ${dropped.response.status}`);
});
