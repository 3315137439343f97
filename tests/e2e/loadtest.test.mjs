// Load tests as a ThingsBoard performance-tests user runs them: a 60 s
// SMART_METER run of 1,000 devices against the emulator, whose summary must
// equal what the platform's REST API holds (nothing lost, nothing twice);
// then the scenario travels: exported and imported into a fresh page, and
// opened from its #scenario= link.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { serveApp, launch, openApp, screenshot, slug, connect, connectedStatus, startEmulator, until } from './harness.mjs';

const DEVICES = 1000;
const KEYS = ['pulseCounter', 'leakage', 'batteryLevel'];
let app, browser, emulator, tb, page;
const pages = [];

before(async () => {
  app = await serveApp();
  browser = await launch();
  emulator = await startEmulator();
  tb = emulator.tb;
  page = await openApp(browser, app.url);
  pages.push(page);
});
afterEach(async (t) => { await screenshot(pages.at(-1), `loadtest-${slug(t.name)}`); });
after(async () => {
  await browser?.close();
  app?.close();
  await emulator?.stop();
});

const exact = { exact: true };
const openLoadTest = (p) => p.getByRole('tablist', { name: 'Pages' }).getByRole('tab', { name: 'Load test' }).click();

/** Click `button` and read the file it downloads. */
async function download(p, button) {
  const [file] = await Promise.all([p.waitForEvent('download'), button.click()]);
  return readFile(await file.path(), 'utf8');
}

/** Run `f` over `items`, `width` at a time. */
async function inParallel(items, width, f) {
  const out = [];
  for (let i = 0; i < items.length; i += width) out.push(...await Promise.all(items.slice(i, i + width).map(f)));
  return out;
}

test('a 60 s SMART_METER run of 1,000 devices: the summary equals what the platform holds, nothing lost, nothing twice', { timeout: 300_000 }, async (t) => {
  await connect(page, { url: emulator.wsUrl });
  await connectedStatus(page).waitFor({ timeout: 10_000 });
  await openLoadTest(page);
  await page.getByLabel('Devices of the run', exact).fill(`Meter-{1..${DEVICES}}`);
  await page.getByLabel('Device profile of the run', exact).fill('SMART_METER');
  await page.getByLabel('Template', exact).selectOption('smartMeter');
  await page.getByLabel('Every (ms) per device', exact).fill('10000');
  await page.getByLabel('Duration (s)', exact).fill('60');
  await page.getByLabel('Run preview').getByText('1000 devices · 6000 messages · 18000 data points').waitFor();
  await page.getByRole('button', { name: 'Start run 1' }).click();
  const live = page.getByRole('region', { name: 'Live results' });
  await live.getByText(/— sending/).waitFor({ timeout: 60_000 });
  await screenshot(page, 'loadtest-live');
  const result = page.getByRole('row', { name: 'Result 1' });
  await result.waitFor({ timeout: 180_000 });

  const report = JSON.parse(await download(page, page.getByRole('button', { name: 'Export result 1 as JSON' })));
  const s = report.summary;
  t.diagnostic(`sent ${s.sent.messages} messages / ${s.sent.points} points in ${s.sent.publishes} publishes; acked ${s.acked.points}; `
    + `PUBACK p50/p95/p99 ${s.latencyMs.p50}/${s.latencyMs.p95}/${s.latencyMs.p99} ms; ${s.pointsPerSecond.toFixed(1)} points/s over ${s.durationMs} ms; `
    + `held by limits ${s.limitWaitMs} ms; max outbox ${s.maxOutbox}`);
  assert.equal(s.template, 'SMART_METER');
  assert.equal(s.devices, DEVICES);
  assert.deepEqual([s.sent.messages, s.sent.points], [6000, 18000]);
  assert.deepEqual(s.acked, s.sent, 'every publish acknowledged');
  assert.deepEqual([s.rejected.points, s.timedOut.points, s.unanswered.points, s.refusedMessages], [0, 0, 0, 0]);
  assert.ok(s.latencyMs.p50 !== null && s.latencyMs.p99 >= s.latencyMs.p50, JSON.stringify(s.latencyMs));
  assert.ok(s.durationMs >= 59_000 && s.durationMs < 75_000, `duration ${s.durationMs} ms`);
  assert.ok(Math.abs(s.pointsPerSecond - 300) < 30, `${s.pointsPerSecond} points/s`);
  assert.equal(report.series.reduce((n, x) => n + x.ackedPoints, 0), 18000);

  const csv = await download(page, page.getByRole('button', { name: 'Export summaries as CSV' }));
  const [header, row] = csv.trim().split('\n').map((l) => l.split(','));
  assert.equal(row[header.indexOf('ackedPoints')], '18000');

  // What the platform holds: every point of every key of every meter, each
  // timestamp once per key.
  const meters = (await tb.devices()).filter((d) => /^Meter-\d+$/.test(d.name));
  assert.equal(meters.length, DEVICES);
  const counts = await inParallel(meters, 20, async (d) => {
    const r = await tb.call(`/api/plugins/telemetry/DEVICE/${d.id.id}/values/timeseries`,
      { query: { keys: KEYS.join(','), startTs: 0, endTs: Date.now() + 3_600_000, limit: 10_000 } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    let points = 0;
    for (const key of KEYS) {
      const list = r.body[key] ?? [];
      assert.equal(new Set(list.map((p) => p.ts)).size, list.length, `${d.name}.${key}: a timestamp twice`);
      assert.equal(list.length, 6, `${d.name}.${key}: ${list.length} points`);
      points += list.length;
    }
    return points;
  });
  const held = counts.reduce((a, b) => a + b, 0);
  assert.equal(held, s.acked.points, 'the platform holds exactly what was acknowledged');
  assert.equal(held, s.sent.points, 'nothing sent was lost');
  assert.deepEqual(page.errors, []);
});

/** Add an auto-reply rule on the RPC tab of `device`. */
async function addRule(p, device) {
  await p.getByRole('tablist', { name: 'Pages' }).getByRole('tab', { name: 'Devices' }).click();
  await p.getByRole('button', { name: `Open ${device}`, exact: true }).click();
  await p.getByRole('tablist', { name: 'Device tabs' }).getByRole('tab', { name: 'RPC' }).click();
  await p.getByLabel('Method', exact).fill('getState');
  await p.getByLabel('Answer with').selectOption('fixed');
  await p.getByLabel('Rule reply JSON').fill('{"on": true}');
  await p.getByLabel('Delay (ms)').fill('150');
  await p.getByRole('button', { name: 'Add rule' }).click();
}

/** The scenario this page would export now. */
async function exported(p) {
  return JSON.parse(await download(p, p.getByRole('button', { name: 'Export scenario' })));
}

/** The load-test form shows `scenario`'s runs, devices and rules. */
async function showsScenario(p, scenario) {
  await openLoadTest(p);
  const runs = p.getByRole('region', { name: 'Runs' });
  for (const [i, run] of scenario.runs.entries()) {
    await runs.getByRole('button', { name: new RegExp(`^Run ${i + 1}: `) }).click();
    assert.equal(await p.getByLabel('Devices of the run', exact).inputValue(), run.devices);
    assert.equal(await p.getByLabel('Template', exact).inputValue(), run.template.kind);
    assert.equal(await p.getByLabel('Ramp-up (s)', exact).inputValue(), String(run.rampUpSecs));
    if (run.rate.kind === 'perDevice') {
      assert.equal(await p.getByLabel('Every (ms) per device', exact).inputValue(), String(run.rate.everyMs));
    } else {
      assert.equal(await p.getByLabel('Messages per second (all devices)', exact).inputValue(), String(run.rate.perSecond));
    }
    if (run.stop.kind === 'count') {
      assert.equal(await p.getByLabel('Messages (all devices)', exact).inputValue(), String(run.stop.messages));
    } else {
      assert.equal(await p.getByLabel('Duration (s)', exact).inputValue(), String(run.stop.secs));
    }
    if (run.template.kind === 'custom') {
      assert.equal(await p.getByLabel('Custom template (JSON)', exact).inputValue(), run.template.json);
    }
    assert.equal(await p.getByLabel(/Warm up/).isChecked(), run.warmUp);
  }
  await p.getByText(`Devices of this gateway: ${scenario.devices.length}`).waitFor();
  const rules = p.getByRole('list', { name: 'Auto-reply rules' });
  for (const r of scenario.rules) await rules.getByText(new RegExp(`^${r.method} on`)).waitFor();
  // And what it would export is the same scenario.
  assert.deepEqual(await exported(p), scenario);
}

let scenario;

test('a scenario exported and imported into a fresh page is the same scenario', { timeout: 120_000 }, async () => {
  await addRule(page, 'Meter-1');
  await openLoadTest(page);
  await page.getByRole('button', { name: 'Add run' }).click();
  await page.getByLabel('Run name', exact).fill('custom burst');
  await page.getByLabel('Devices of the run', exact).fill('Probe-{01..20}');
  await page.getByLabel('Template', exact).selectOption('custom');
  await page.getByLabel('Custom template (JSON)', exact).fill('{"t": {"$random": [20, 30]}, "n": {"$seq": 1}, "s": {"$choice": ["a", "b"]}}');
  await page.getByLabel('Rate', exact).selectOption('total');
  await page.getByLabel('Messages per second (all devices)', exact).fill('50');
  await page.getByLabel('Stop after', exact).selectOption('count');
  await page.getByLabel('Messages (all devices)', exact).fill('500');
  await page.getByLabel('Ramp-up (s)', exact).fill('5');
  await page.getByLabel(/Warm up/).check();
  scenario = await exported(page);
  assert.equal(scenario.format, 'browser-gateway/scenario');
  assert.equal(scenario.runs.length, 2);
  assert.equal(scenario.runs[1].name, 'custom burst');
  assert.deepEqual(scenario.runs[1].rate, { kind: 'total', perSecond: 50 });
  assert.equal(scenario.devices.length, DEVICES);
  assert.equal(scenario.rules.length, 1);
  assert.deepEqual([scenario.rules[0].method, scenario.rules[0].reply, scenario.rules[0].delayMs], ['getState', { fixed: { on: true } }, 150]);

  const file = await (async () => {
    const [d] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export scenario' }).click()]);
    return d.path();
  })();
  const fresh = await openApp(browser, app.url);
  pages.push(fresh);
  await openLoadTest(fresh);
  await fresh.getByLabel('Import scenario').setInputFiles(file);
  await fresh.getByText(/scenario loaded: 2 run\(s\)/).waitFor();
  await showsScenario(fresh, scenario);
  assert.deepEqual(fresh.errors, []);
});

test('the same scenario opens from its #scenario= link', { timeout: 120_000 }, async () => {
  await openLoadTest(page);
  await page.getByRole('button', { name: 'Make link' }).click();
  const link = await page.getByLabel('Scenario link').inputValue();
  assert.ok(link.startsWith(app.url) && link.includes('#scenario='), link);
  const opened = await openApp(browser, link);
  pages.push(opened);
  const offer = opened.getByRole('region', { name: 'Scenario from the link' });
  await offer.getByText(/2 run\(s\) \(SMART_METER, custom burst\), 1000 device\(s\), 1 auto-reply rule\(s\)/).waitFor();
  await offer.getByRole('button', { name: 'Load scenario' }).click();
  await offer.waitFor({ state: 'detached' });
  assert.equal(new URL(opened.url()).hash, '', 'the fragment leaves the address bar');
  await showsScenario(opened, scenario);
  assert.deepEqual(opened.errors, []);
});
