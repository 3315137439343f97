// Issue 8's two long "What must show" runs, end to end: the app in chromium
// on the platform emulator's WebSocket listener, 1,000 devices driven by the
// load-test panel (its summary gives exact counts), and ThingsBoard's REST
// API (tb.mjs) checking that every data point is stored exactly once.
//
// 1. Low limits (telemetry messages 10:1, data points 200:1): the connection
//    is never closed for rate, one session from start to end.
// 2. The platform goes away 10 times during the run. The emulator keeps its
//    tenant in memory, so a real process restart would empty it (devices and
//    stored telemetry gone, nothing left to compare). The outages are made
//    two ways that keep the data:
//    - the emulator closes the gateway's session itself
//      (POST /emulator/sessions/{session}/close, with no reason or with
//      MQTT 5 reason 139 "server shutting down");
//    - the platform is unreachable for a few seconds: the page reaches the
//      emulator through a TCP relay of this file, which drops every
//      connection and refuses new ones while it is "stopped" (the emulator
//      has no route to stop its listeners).
//    The gateway's reconnect policy resets its backoff only after a session
//    of 30 s, and gives up after 5 short sessions in a row (it then says
//    "taken over"), so the outages come in groups: a session of 30 s+, then
//    up to 4 sessions of a few seconds, at random points within that shape.
//
// Each test starts its own emulator, so each can run alone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createServer as netServer, connect as netConnect } from 'node:net';
import {
  serveApp, launch, openApp, screenshot, connect, connectedStatus, startEmulator, until, freePort,
  withEmulator, sessionsOpened as opened, sessionsOf, statusLine as status, counters,
} from './harness.mjs';

const DEVICES = 1000;
const PATTERN = `Meter-{1..${DEVICES}}`;
const NAMES = Array.from({ length: DEVICES }, (_, i) => `Meter-${i + 1}`);
const KEYS = ['pulseCounter', 'leakage', 'batteryLevel'];
const exact = { exact: true };

let app, browser;
before(async () => { app = await serveApp(); browser = await launch(); });
after(async () => { await browser?.close(); app?.close(); });

const gotoPage = (page, name) => page.getByRole('tablist', { name: 'Pages' }).getByRole('tab', { name }).click();

/** Click `button` and read the file it downloads. */
async function download(page, button) {
  const [file] = await Promise.all([page.waitForEvent('download'), button.click()]);
  return readFile(await file.path(), 'utf8');
}

/** Run `f` over `items`, `width` at a time. */
async function inParallel(items, width, f) {
  const out = [];
  for (let i = 0; i < items.length; i += width) out.push(...await Promise.all(items.slice(i, i + width).map(f)));
  return out;
}

/** Fill run 1 of the load-test panel: SMART_METER on the 1,000 meters, one message per device every `everyMs` for `secs`. */
async function planRun(page, { everyMs, secs, drainSecs }) {
  await gotoPage(page, 'Load test');
  await page.getByLabel('Devices of the run', exact).fill(PATTERN);
  await page.getByLabel('Device profile of the run', exact).fill('SMART_METER');
  await page.getByLabel('Template', exact).selectOption('smartMeter');
  await page.getByLabel('Every (ms) per device', exact).fill(String(everyMs));
  await page.getByLabel('Duration (s)', exact).fill(String(secs));
  await page.getByLabel('Wait for acknowledgements (s)', exact).fill(String(drainSecs));
  const messages = DEVICES * Math.floor((secs * 1000) / everyMs);
  await page.getByLabel('Run preview').getByText(`${DEVICES} devices · ${messages} messages · ${messages * KEYS.length} data points`).waitFor();
  return messages;
}

/** The summary of result 1, from its JSON export. */
async function summary(page) {
  const report = JSON.parse(await download(page, page.getByRole('button', { name: 'Export result 1 as JSON' })));
  return report.summary;
}

/**
 * Every device's telemetry count as the device list shows it ("telemetry ·
 * attributes · RPC"): the list is virtualized, so it is scrolled through.
 */
async function deviceCounts(page) {
  await gotoPage(page, 'Devices');
  await page.getByLabel('Filter').fill('');
  const list = page.getByRole('list', { name: 'Device list' });
  const rows = () => list.evaluate((el) => [...el.querySelectorAll('.device-row')].map((r) =>
    [r.querySelector('.device-name').textContent, Number(r.querySelector('.device-counts').textContent.split('·')[0].trim())]));
  const counts = new Map();
  await list.evaluate((el) => { el.scrollTop = 0; });
  for (;;) {
    const shown = await rows();
    for (const [name, n] of shown) counts.set(name, n);
    const top = await list.evaluate((el) => {
      if (el.scrollTop + el.clientHeight >= el.scrollHeight - 1) return null;
      el.scrollTop += Math.max(30, el.clientHeight - 60);
      return el.scrollTop;
    });
    if (top === null) break;
    // The rows follow the scroll position on the next render.
    await until('the device list to render the scrolled rows', async () => (await rows())[0]?.[0] !== shown[0]?.[0]);
  }
  return counts;
}

/**
 * What the platform holds for the meters: every point of every key, with
 * `ticks` points per key and device expected. Resolves to { total, wrong }
 * (wrong: the series that differ, in words).
 */
async function platformHolds(tb, ticks) {
  const meters = (await tb.devices()).filter((d) => /^Meter-\d+$/.test(d.name));
  const wrong = [];
  if (meters.length !== DEVICES) wrong.push(`${meters.length} meters in the platform, not ${DEVICES}`);
  const counts = await inParallel(meters, 20, async (d) => {
    const r = await tb.call(`/api/plugins/telemetry/DEVICE/${d.id.id}/values/timeseries`,
      { query: { keys: KEYS.join(','), startTs: 0, endTs: Date.now() + 3_600_000, limit: 100_000 } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    let points = 0;
    for (const key of KEYS) {
      const list = r.body[key] ?? [];
      const distinct = new Set(list.map((p) => p.ts)).size;
      if (list.length !== ticks || distinct !== list.length) wrong.push(`${d.name}.${key}: ${list.length} points, ${distinct} distinct ts`);
      points += list.length;
    }
    return points;
  });
  return { total: counts.reduce((a, b) => a + b, 0), wrong };
}

/** Record every text the status bar shows (a MutationObserver in the page), read with `statusTexts`. */
async function recordStatus(page) {
  await page.evaluate(() => {
    const el = document.querySelector('[role="status"][aria-label="Connection status"]');
    window.__statusTexts = [el.innerText];
    new MutationObserver(() => {
      const text = el.innerText;
      if (window.__statusTexts.at(-1) !== text) window.__statusTexts.push(text);
    }).observe(el, { subtree: true, childList: true, characterData: true });
  });
}
const statusTexts = (page) => page.evaluate(() => window.__statusTexts);

test('with low limits (telemetry messages 10:1, data points 200:1), 1,000 devices simulated for 60 s: never closed for rate, one session, every data point exactly once', { timeout: 480_000 }, async () => {
  const LIMITS = 'telemetryMessages=10:1;telemetryDataPoints=200:1';
  await withEmulator(['--gateway-rate-limits', LIMITS], async (emulator) => {
    const { tb } = emulator;
    const TOKEN = 'e2e-low-limits-token';
    const GATEWAY = `Gateway ${TOKEN}`;
    const page = await openApp(browser, app.url);
    try {
      await connect(page, { url: emulator.wsUrl, token: TOKEN });
      await connectedStatus(page).waitFor({ timeout: 10_000 });
      const first = await until('the gateway session', async () => (await sessionsOf(emulator, GATEWAY))[0]);

      // One message per device every 30 s for 60 s: 2,000 device entries,
      // 6,000 data points. ThingsBoard charges one telemetry message per
      // device entry of a gateway message, so at 80 % of 10 a second the
      // page needs ~250 s to deliver them (the data points, 24 a second at
      // that pace, stay far below 200). The run waits for its last PUBACK.
      const messages = await planRun(page, { everyMs: 30_000, secs: 60, drainSecs: 600 });
      const started = Date.now();
      await page.getByRole('button', { name: 'Start run 1' }).click();

      // Watch for what must never happen: a message refused for rate (MQTT 5:
      // PUBACK 151, then the connection closed) or another session.
      let sawRate = 0;
      let sawWaiting = 0;
      let broken = null;
      const result = page.getByRole('row', { name: 'Result 1' });
      await until('the run to finish (Result 1)', async () => {
        const text = await counters(page).innerText();
        const rate = /rate limit (\d+) %/.exec(text);
        if (rate) sawRate = Math.max(sawRate, Number(rate[1]));
        const waiting = /waiting (\d+)/.exec(text);
        if (waiting) sawWaiting = Math.max(sawWaiting, Number(waiting[1]));
        const refused = (await tb.errors()).filter((e) => /rate limit/.test(e.problem));
        const sessions = await sessionsOf(emulator, GATEWAY);
        if (refused.length) broken = `the emulator refused a message for rate: ${refused[0].problem} → ${refused[0].action}`;
        else if (sessions.length !== 1 || sessions[0].session !== first.session) {
          broken = `the gateway's session changed: ${JSON.stringify(sessions.map((s) => s.session))} instead of [${first.session}]`;
        }
        return broken || (await result.count()) > 0;
      }, 420_000);
      const runSecs = Math.round((Date.now() - started) / 1000);
      const statusText = await status(page).innerText();
      assert.equal(broken, null, `${broken}; the page says: ${statusText}`);

      const s = await summary(page);
      const errors = await tb.errors();
      const rateErrors = errors.filter((e) => /rate limit/.test(e.problem));
      assert.deepEqual(rateErrors.slice(0, 3).map((e) => `${e.problem} → ${e.action}`), [], `${rateErrors.length} messages refused for rate`);
      assert.deepEqual((await sessionsOf(emulator, GATEWAY)).map((x) => x.session), [first.session], 'one continuous session');
      assert.equal(opened(emulator, GATEWAY), 1, 'no reconnect happened');
      assert.deepEqual([s.sent.messages, s.sent.points], [messages, messages * KEYS.length], 'what the run sent');
      assert.deepEqual(s.acked, s.sent, 'every publish acknowledged');
      assert.deepEqual([s.rejected.points, s.timedOut.points, s.unanswered.points, s.refusedMessages], [0, 0, 0, 0]);

      const ticks = messages / DEVICES;
      const counts = await deviceCounts(page);
      const off = NAMES.filter((n) => counts.get(n) !== ticks);
      assert.deepEqual(off.slice(0, 5).map((n) => `${n}: ${counts.get(n)}`), [], `${off.length} devices do not show ${ticks} telemetry messages`);

      const { total, wrong } = await platformHolds(tb, ticks);
      assert.deepEqual(wrong.slice(0, 10), [], `${wrong.length} series differ from ${ticks} points with distinct timestamps`);
      assert.equal(total, s.acked.points, 'the platform holds exactly what was acknowledged');
      assert.ok(sawRate > 0, 'the status bar showed "rate limit NN %" during the run');
      console.log(`# low limits ${LIMITS}: ${s.sent.messages} messages / ${total} points stored once each in ${runSecs} s `
        + `(${s.sent.publishes} publishes, PUBACK p50/p99 ${s.latencyMs.p50}/${s.latencyMs.p99} ms, held by limits ${s.limitWaitMs} ms); `
        + `peak waiting ${sawWaiting}, peak rate limit ${sawRate} %; session ${first.session} throughout; emulator errors: ${errors.length}`);
      assert.deepEqual(page.errors, []);
    } finally {
      await screenshot(page, 'resilience-low-limits');
      await page.close();
    }
  });
});

/**
 * A TCP relay on a free loopback port to `port` (the emulator's WebSocket
 * listener): stop() drops every connection through it and closes the port
 * (connections are refused: the platform is unreachable), start() listens
 * again on the same port.
 */
async function startRelay(port) {
  const own = await freePort();
  const sockets = new Set();
  let server = null;
  const start = () => new Promise((ok, fail) => {
    server = netServer((client) => {
      const upstream = netConnect(port, '127.0.0.1');
      for (const [a, b] of [[client, upstream], [upstream, client]]) {
        sockets.add(a);
        a.on('error', () => {});
        a.on('close', () => { sockets.delete(a); b.destroy(); });
        a.pipe(b);
      }
    });
    server.once('error', fail);
    server.listen(own, '127.0.0.1', ok);
  });
  const stop = () => new Promise((ok) => {
    server.close(() => ok());
    for (const s of sockets) s.destroy();
  });
  await start();
  return { url: `ws://127.0.0.1:${own}`, start, stop };
}

const pause = (ms) => new Promise((ok) => setTimeout(ok, ms));
const between = (lo, hi) => lo + Math.random() * (hi - lo);

test('the platform goes away 10 times during a 1,000-device run: the page reconnects and re-registers every time, nothing is lost, nothing is stored or counted twice', { timeout: 420_000 }, async () => {
  await withEmulator([], async (emulator) => {
    const { tb } = emulator;
    const TOKEN = 'e2e-outages-token';
    const GATEWAY = `Gateway ${TOKEN}`;
    const relay = await startRelay(emulator.ws);
    const page = await openApp(browser, app.url);
    try {
      await connect(page, { url: relay.url, token: TOKEN });
      await connectedStatus(page).waitFor({ timeout: 10_000 });
      await recordStatus(page);

      // One message per device every 10 s for 180 s: 100 messages (300 data
      // points) a second, steady, no rate limits.
      const messages = await planRun(page, { everyMs: 10_000, secs: 180, drainSecs: 180 });
      await page.getByRole('button', { name: 'Start run 1' }).click();

      // The outages. Each ends the session of that moment once it has lived
      // `life` s (from the moment the emulator holds all 1,000 devices in
      // it). No more than 4 short sessions in a row (see the top).
      const LONG = () => between(31, 34);
      const SHORT = () => between(2.5, 6);
      const plan = [
        { how: 'close', life: LONG() },
        { how: 'close 139', life: SHORT() },
        { how: 'close', life: SHORT() },
        { how: 'close 139', life: SHORT() },
        // The page's next try is 8-16 s away by now: the relay is back before it.
        { how: 'unreachable', secs: between(3, 6), life: SHORT() },
        // After a long session the page tries again after 1 s, and is refused.
        { how: 'unreachable', secs: between(2, 3), life: LONG() },
        { how: 'close', life: SHORT() },
        { how: 'close 139', life: SHORT() },
        { how: 'close', life: SHORT() },
        { how: 'close 139', life: SHORT() },
      ];
      const done = [];
      let previous = null;
      for (const [i, outage] of plan.entries()) {
        const t0 = Date.now();
        const session = await until(`session ${i + 1} with all ${DEVICES} devices registered`, async () => {
          const sessions = await sessionsOf(emulator, GATEWAY);
          assert.ok(sessions.length <= 1, `${sessions.length} sessions of the gateway at once`);
          const [s] = sessions;
          return s && s.session !== previous && s.subDevices.length === DEVICES && s;
        }, 90_000);
        const registeredIn = (Date.now() - t0) / 1000;
        await connectedStatus(page).waitFor({ timeout: 10_000 });
        const seen = Date.now();
        await until(`session ${session.session} to have lived ${outage.life.toFixed(1)} s`, async () => Date.now() - seen >= outage.life * 1000, 60_000);
        if (outage.how === 'unreachable') {
          await relay.stop();
          await pause(outage.secs * 1000); // the outage itself, not a synchronisation
          await relay.start();
        } else {
          const reason = outage.how === 'close 139' ? { reason: 139 } : undefined;
          const r = await tb.call(`/emulator/sessions/${session.session}/close`, { method: 'POST', body: reason });
          assert.equal(r.status, 200, `closing session ${session.session}: ${JSON.stringify(r.body)}`);
        }
        done.push(`${outage.how}${outage.secs ? ` ${outage.secs.toFixed(1)} s` : ''} after ${outage.life.toFixed(1)} s of session ${session.session} (re-registered in ${registeredIn.toFixed(1)} s)`);
        previous = session.session;
      }
      const last = await until(`the session after the 10th outage with all ${DEVICES} devices`, async () => {
        const [s] = await sessionsOf(emulator, GATEWAY);
        return s && s.session !== previous && s.subDevices.length === DEVICES && s;
      }, 90_000);

      const result = page.getByRole('row', { name: 'Result 1' });
      await result.waitFor({ timeout: 240_000 });
      await connectedStatus(page).waitFor({ timeout: 10_000 });
      const s = await summary(page);
      const texts = await statusTexts(page);
      const reconnecting = texts.filter((t) => /^Reconnecting/.test(t));
      const connects = opened(emulator, GATEWAY);
      console.log(`# outages: ${done.join('; ')}`);
      console.log(`# outages: ${connects} sessions opened; the status bar said "Reconnecting" ${reconnecting.length} times, e.g. ${JSON.stringify(reconnecting.slice(0, 2))}`);

      assert.equal(connects, 1 + plan.length, 'one new session per outage');
      assert.ok(!texts.some((t) => /^Taken over/.test(t)), `the page gave up: ${texts.find((t) => /^Taken over/.test(t))}`);
      // Each outage shows as "Reconnecting (attempt N): why" (then "Connecting…") before "Connected" again.
      let cycles = 0;
      let away = false;
      for (const t of texts) {
        if (/^Reconnecting/.test(t)) away = true;
        else if (/^Connected/.test(t)) { cycles += away ? 1 : 0; away = false; }
      }
      assert.equal(cycles, plan.length, `the status bar went from "Reconnecting" to "Connected" ${cycles} times: ${JSON.stringify(texts.slice(-6))}`);
      assert.equal(last.subDevices.length, DEVICES);

      assert.deepEqual([s.sent.messages, s.sent.points], [messages, messages * KEYS.length], 'what the run sent');
      assert.deepEqual(s.acked, s.sent, 'every publish acknowledged once');
      assert.deepEqual([s.rejected.points, s.timedOut.points, s.unanswered.points, s.refusedMessages], [0, 0, 0, 0]);

      const ticks = messages / DEVICES;
      const counts = await deviceCounts(page);
      const off = NAMES.filter((n) => counts.get(n) !== ticks);
      assert.deepEqual(off.slice(0, 5).map((n) => `${n}: ${counts.get(n)}`), [], `${off.length} devices do not show ${ticks} telemetry messages`);

      const { total, wrong } = await platformHolds(tb, ticks);
      assert.deepEqual(wrong.slice(0, 10), [], `${wrong.length} series differ from ${ticks} points with distinct timestamps`);
      assert.equal(total, s.sent.points, 'the platform holds every point sent, once');
      const errors = await tb.errors();
      console.log(`# outages: ${s.sent.messages} messages / ${total} points stored once each; ${s.sent.publishes} publishes; `
        + `PUBACK p50/p99 ${s.latencyMs.p50}/${s.latencyMs.p99} ms; max outbox ${s.maxOutbox}; run ${Math.round(s.durationMs / 1000)} s; `
        + `emulator errors: ${errors.length} ${JSON.stringify(errors.slice(0, 2).map((e) => e.problem))}`);
      assert.deepEqual(page.errors, []);
    } finally {
      await screenshot(page, 'resilience-outages');
      await page.close();
      await relay.stop().catch(() => {});
    }
  });
});
