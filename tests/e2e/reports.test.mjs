// The report page in a real browser: the headline is the API's overtime
// share, coloured met or missed; the three charts are drawn as SVG from the
// report's data; the tables list the services and counters; without
// JavaScript the page says so. A screenshot is left in tests/artifacts/.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { Daemon, browser, shot, signIn } from './harness.mjs';

// A busy past day written straight into the database (the clock is the real
// one, so a day through the API would be minutes long): 48 tickets from
// 09:00, every 9 minutes, waits of 0 to 34 minutes, the last two left waiting.
const PAST = '2025-06-02';
function pastDaySql() {
  const t0 = Date.UTC(2025, 5, 2, 1, 0) / 1000;        // 09:00 in Asia/Shanghai
  const cats = ['normal', 'normal', 'elderly', 'normal', 'foreign'];
  const rows = [];
  for (let i = 0; i < 48; i++) {
    const id = 1000 + i, svc = i % 3 === 2 ? 'B' : 'A', issued = t0 + i * 540;
    const num = `${svc}${String(i + 1).padStart(3, '0')}`, tok = `'${String(id).padStart(32, '0')}'`;
    if (i >= 46) {
      rows.push(`(${id},${id},'${PAST}','${num}','${svc}','${cats[i % 5]}','zh','waiting',${tok},` +
        `${issued},${issued},NULL,NULL,NULL,NULL,NULL,0,NULL)`);
      continue;
    }
    const called = issued + ((i * 37) % 35) * 60, counter = svc === 'B' ? 5 : 1 + (i % 4);
    rows.push(`(${id},${id},'${PAST}','${num}','${svc}','${cats[i % 5]}','zh','served',${tok},` +
      `${issued},${issued},${called},NULL,${called + 30},${called + 360},${counter},0,NULL)`);
  }
  return 'INSERT INTO tickets(id, origin_id, bday, number, service, category, lang, status, token, ' +
    'issued_at, created_at, called_at, recalled_at, started_at, ended_at, counter, recalls, ' +
    `transferred_to) VALUES ${rows.join(',\n')};`;
}

let d, b;
before(async () => {
  d = await new Daemon().start();
  await d.stop();
  execFileSync('sqlite3', [d.db], { input: pastDaySql() });
  await d.start();
  b = await browser();
  // A small morning: tickets in A and B, green and normal, called, served, one no-show.
  for (const [svc, cat] of [['A', 'normal'], ['A', 'elderly'], ['B', 'normal'], ['A', 'normal'],
    ['A', 'foreign'], ['B', 'military'], ['A', 'normal']]) {
    await d.issue(svc, { category: cat });
  }
  await d.counter(1, 'call');
  await d.counter(3, 'call');
  await d.counter(3, 'finish');
  await d.counter(5, 'call');
  await d.counter(5, 'no-show');
  await d.counter(4, 'call');
});
after(async () => { await b?.close(); await d?.stop(); });

// A page of its own context signed in as the head, who may read every day, on path.
async function headPage(path, opts = {}) {
  const ctx = await b.newContext(opts);
  const page = await ctx.newPage();
  await signIn(page, d, 'e2e-head', { next: path });
  assert.equal(new URL(page.url()).pathname + new URL(page.url()).search, path);
  page.on('close', () => ctx.close());
  return page;
}

test('the report page shows the API figures, charts and tables', async () => {
  const page = await headPage('/reports', { viewport: { width: 1280, height: 1600 } });
  await page.waitForSelector('body[data-ready="1"]', { timeout: 10e3 });
  const api = (await d.api('GET', '/api/v1/reports/daily')).body;

  const share = await page.locator('#headline-share').getAttribute('data-share');
  assert.equal(Number(share), api.totals.overtime_share, 'the headline is the API share');
  const text = await page.locator('#headline-share').textContent();
  assert.equal(text, (api.totals.overtime_share * 100).toFixed(2) + '%');
  const cls = await page.locator('#headline').getAttribute('class');
  assert.match(cls, api.totals.target_met ? /\bmet\b/ : /\bmissed\b/, 'coloured met or missed');
  assert.equal(await page.locator('[data-key="issued"]').textContent(), String(api.totals.issued));

  // Arrivals and calls per hour: one bar of each per hour, with the API's values.
  const hourly = await page.locator('#chart-hourly rect.bar.bar-issued').evaluateAll(
    (rs) => rs.map((r) => [Number(r.dataset.hour), Number(r.dataset.value)]));
  assert.deepEqual(hourly, api.by_hour.map((h) => [h.hour, h.issued]));
  const calls = await page.locator('#chart-hourly rect.bar.bar-calls').evaluateAll(
    (rs) => rs.reduce((s, r) => s + Number(r.dataset.value), 0));
  assert.equal(calls, api.by_hour.reduce((s, h) => s + h.calls, 0));
  assert.ok(calls > 0, 'some calls were drawn');

  // The wait distribution: every bin drawn, with the threshold line.
  const bins = await page.locator('#chart-waits rect.bar-wait').evaluateAll(
    (rs) => rs.map((r) => Number(r.dataset.value)));
  assert.deepEqual(bins, api.wait_distribution.bins.map((x) => x.count));
  assert.equal(await page.locator('#chart-waits line.threshold').getAttribute('data-threshold'), '1200');

  // Overtime share per hour against the target line.
  assert.equal(await page.locator('#chart-overtime rect.bar-share').count(),
    api.by_hour.filter((h) => h.overtime_share !== null).length);
  assert.equal(Number(await page.locator('#chart-overtime line.target').getAttribute('data-target')),
    api.totals.target_share);

  // Tables: a row per service and per counter, and the CSV link for the day.
  assert.equal(await page.locator('#table-service tr').count(), api.by_service.length + 1);
  assert.equal(await page.locator('#table-counter tr').count(), api.by_counter.length + 1);
  const csv = await page.locator('#csv').getAttribute('href');
  assert.equal(csv, '/api/v1/reports/daily?format=csv');
  await shot(page, 'reports-today');

  // A print layout for A4 exists and hides the controls.
  await page.emulateMedia({ media: 'print' });
  assert.equal(await page.locator('#pick').isVisible(), false, 'no controls on paper');
  await page.close();
});

test('a busy past day: the share missed in red, and every wait in the histogram', async () => {
  const page = await headPage('/reports?date=' + PAST, { viewport: { width: 1280, height: 1400 } });
  await page.waitForSelector('body[data-ready="1"]');
  const api = (await d.api('GET', '/api/v1/reports/daily?date=' + PAST)).body;
  assert.equal(api.totals.issued, 48);
  assert.equal(api.totals.target_met, false, 'the fixture misses its target');
  assert.match(await page.locator('#headline').getAttribute('class'), /\bmissed\b/);
  const color = await page.locator('#headline-share').evaluate((e) => getComputedStyle(e).color);
  assert.equal(color, 'rgb(192, 21, 47)', 'missed is red');
  assert.equal(await page.locator('#headline-share').textContent(),
    (api.totals.overtime_share * 100).toFixed(2) + '%');
  const drawn = await page.locator('#chart-waits rect.bar-wait').evaluateAll(
    (rs) => rs.reduce((s, r) => s + Number(r.dataset.value), 0));
  assert.equal(drawn, api.totals.called, 'every called ticket is in the histogram');
  assert.ok(await page.locator('#chart-waits rect.bar-wait.over').count() > 0, 'overtime bins in red');
  assert.equal(await page.locator('#chart-overtime rect.bar-share').count(), api.by_hour.length);
  assert.equal(await page.locator('#table-longest tr').count(), api.longest_waits.length + 1);
  await shot(page, 'reports');
  await page.close();
});

test('a date picked loads that day; without JavaScript the page says what to do', async () => {
  const page = await headPage('/reports');
  await page.waitForSelector('body[data-ready="1"]');
  const signedIn = await page.context().storageState();
  await page.locator('#date').fill('2025-06-01');
  await page.waitForURL(/date=2025-06-01/);
  await page.waitForSelector('body[data-ready="1"]');
  assert.equal(await page.locator('#date').inputValue(), '2025-06-01');
  assert.equal(await page.locator('[data-key="issued"]').textContent(), '0');
  assert.equal(await page.locator('#csv').getAttribute('href'),
    '/api/v1/reports/daily?date=2025-06-01&format=csv');
  await page.goto(d.url + '/reports?date=2999-01-01');
  await page.waitForSelector('body[data-ready="error"]');
  assert.match(await page.locator('#error').textContent(), /could not be read/);
  await page.close();

  const ctx = await b.newContext({ javaScriptEnabled: false, storageState: signedIn });
  const plain = await ctx.newPage();
  await plain.goto(d.url + '/reports');
  assert.equal(new URL(plain.url()).pathname, '/reports');
  assert.match(await plain.locator('noscript').first().textContent(), /needs JavaScript/);
  await ctx.close();
});

test('a phone link of an earlier business day says the ticket is over', async () => {
  const token = String(1046).padStart(32, '0');       // left waiting on the past day
  assert.equal((await d.api('GET', `/api/v1/t/${token}`, undefined, { Authorization: null })).status, 410);
  const page = await b.newPage({ viewport: { width: 390, height: 844 } });
  await page.goto(`${d.url}/t/${token}`);
  await page.locator('#status').getByText('此号票已过期').waitFor({ timeout: 3000 });
  assert.match(await page.locator('#status').innerText(), /earlier day/);
  await page.close();
});
