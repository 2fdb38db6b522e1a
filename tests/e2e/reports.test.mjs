// The report page in a real browser: the headline is the API's overtime
// share, coloured met or missed; the three charts are drawn as SVG from the
// report's data; the tables list the services and counters; without
// JavaScript the page says so. A screenshot is left in tests/artifacts/.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Daemon, browser, shot, signIn, ARTIFACTS } from './harness.mjs';

// A busy past day written straight into the database (the clock is the real
// one, so a day through the API would be minutes long): 48 tickets from
// 09:00, every 9 minutes, waits of 0 to 34 minutes, the last two left waiting.
const PAST = '2025-06-02';
// dayStart: the business day's first second, whatever the day_reset (the harness moves it
// with the clock); the rating and help events are in its first hours, so always in the day.
function pastDaySql(dayStart) {
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
  // Ratings of the served: a prompt for three in four, rated by two in four (very satisfied,
  // satisfied, dissatisfied in turn); and one help call from the kiosk, acknowledged 45 s later.
  const events = [];
  const ev = (at, type, ticket, counter, data) => events.push(`(${at},'${type}',${ticket ?? 'NULL'},` +
    `${counter ?? 'NULL'},'${JSON.stringify({ type, counter: counter ?? null, ...data })}')`);
  for (let i = 0; i < 46; i++) {
    const id = 1000 + i, svc = i % 3 === 2 ? 'B' : 'A';
    const ended = dayStart + 3600 + i * 60, counter = svc === 'B' ? 5 : 1 + (i % 4);
    if (i % 4 === 3) continue;
    ev(ended, 'rating.prompted', id, counter, { by: 'e2e-teller' });
    if (i % 4 === 2) continue;
    ev(ended + 5, 'ticket.rated', id, counter, { key: ['very_satisfied', 'satisfied', 'dissatisfied'][i % 3],
      source: 'counter', teller: null });
  }
  ev(dayStart + 3600, 'help.called', null, null, { from: 'door', by: 'door' });
  return 'INSERT INTO tickets(id, origin_id, bday, number, service, category, lang, status, token, ' +
    'issued_at, created_at, called_at, recalled_at, started_at, ended_at, counter, recalls, ' +
    `transferred_to) VALUES ${rows.join(',\n')};\n` +
    `INSERT INTO events(at, type, ticket_id, counter, data) VALUES ${events.join(',\n')};\n` +
    'INSERT INTO events(at, type, ticket_id, counter, data) SELECT at + 45, \'alert.acknowledged\', ' +
    'NULL, NULL, json_object(\'type\', \'alert.acknowledged\', \'counter\', NULL, \'of\', id, ' +
    '\'kind\', \'help\', \'after_s\', 45, \'by\', \'e2e-lobby\') FROM events WHERE type = \'help.called\';';
}

let d, b;
before(async () => {
  d = await new Daemon().start();
  await d.stop();
  const [, rh, rm] = readFileSync(d.conf, 'utf8').match(/day_reset\s*=\s*(\d+):(\d+)/);
  // The day's reset on that day, in Asia/Shanghai (UTC+8).
  execFileSync('sqlite3', [d.db], { input: pastDaySql(Date.UTC(2025, 5, 2, Number(rh) - 8, Number(rm)) / 1000) });
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

test('a past day\'s waits in bands, satisfaction and missed calls are the API\'s', async () => {
  const page = await headPage('/reports?date=' + PAST, { viewport: { width: 1366, height: 768 } });
  await page.waitForSelector('body[data-ready="1"]');
  const api = (await d.api('GET', '/api/v1/reports/daily?date=' + PAST)).body;
  const bands = page.locator('#table-bands');
  assert.equal(await bands.locator('tbody tr').count(), 1 + api.by_service.length + api.by_category.length,
    'a row for the totals, each service and each category');
  const totals = await bands.locator('tbody tr').first().locator('td').allTextContents();
  assert.deepEqual(totals, [String(api.totals.called), ...api.totals.wait_bands.map((b) =>
    `${b.count} · ${(b.share * 100).toFixed(2)}%`)], 'the totals\' bands, count and share');
  assert.equal(api.totals.wait_bands.reduce((s, b) => s + b.count, 0), api.totals.called, 'every called wait');
  await bands.scrollIntoViewIfNeeded();
  await shot(page, 'reports-bands');

  const sat = page.locator('#table-counter-satisfaction');
  assert.equal(await sat.locator('tbody tr').count(), api.by_counter.length);
  const rows = await sat.locator('tbody tr').evaluateAll((trs) => trs.map((tr) =>
    [...tr.querySelectorAll('td')].slice(0, 2).map((td) => td.textContent)));
  assert.deepEqual(rows, api.by_counter.map((c) => [String(c.served), String(c.rated)]), 'served and rated');
  assert.ok(api.satisfaction.rated > 0 && api.satisfaction.not_rated > 0 &&
    api.satisfaction.prompt_not_shown > 0, 'the fixture has each kind');
  assert.equal(await page.locator('#table-teller-satisfaction tbody tr').count(), api.by_teller.length);
  const missed = await page.locator('#table-missed tbody td').allTextContents();
  assert.equal(api.missed.help_calls, 1);
  assert.ok(missed.includes('45 秒 s'), `the help call's 45 s to acknowledge: ${missed}`);
  await page.locator('#table-missed').scrollIntoViewIfNeeded();
  await shot(page, 'reports-figures');
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

// A teller signed in at counter 2 (through the API, as the counter page would be), with the
// session's cookie and CSRF token for the changes it makes.
async function tellerSession(name, counter) {
  const r = await d.api('POST', '/api/v1/session', { name, password: 'teller-secret-1', counter },
    { Authorization: null, Origin: d.url });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const headers = { Authorization: null, Origin: d.url, Cookie: r.headers['set-cookie'][0].split(';')[0],
    'X-CSRF-Token': r.body.csrf };
  return async (action) => {
    const a = await d.api('POST', `/api/v1/counters/${counter}/${action}`, undefined, headers);
    assert.equal(a.status, 200, `${action}: ${JSON.stringify(a.body)}`);
    return a.body;
  };
}

test('the by-teller table names who finished each ticket', async () => {
  const act = await tellerSession('e2e-teller', 2);
  await act('call');
  await act('finish');
  const page = await headPage('/reports', { viewport: { width: 1280, height: 1600 } });
  await page.waitForSelector('body[data-ready="1"]');
  const api = (await d.api('GET', '/api/v1/reports/daily')).body;
  const mine = api.by_teller.find((t) => t.teller === 'e2e-teller');
  assert.equal(mine.served, 1, 'the teller finished one');
  const table = page.locator('#table-teller');
  assert.match(await table.locator('caption').textContent(), /By teller/);
  assert.equal(await table.locator('thead th[scope="col"]').count(), 6);
  const rows = await table.locator('tbody tr').evaluateAll((trs) => trs.map((tr) =>
    [tr.querySelector('th[scope="row"]').textContent, tr.querySelectorAll('td')[0].textContent,
      tr.querySelectorAll('td')[3].textContent]));
  assert.deepEqual(rows, api.by_teller.map((t) => [t.teller, String(t.served), String(t.no_show)]),
    'a row per teller, the API\'s counts');
  assert.ok(rows.some(([who, served]) => who === 'e2e-teller' && served === '1'), 'e2e-teller served 1');
  await table.scrollIntoViewIfNeeded();
  await shot(page, 'reports-by-teller');
  await page.close();
});

test('a head has an audit tab with the day\'s sign-ins; the lobby has none', async () => {
  const page = await headPage('/reports', { viewport: { width: 1280, height: 900 } });
  await page.waitForSelector('body[data-ready="1"]');
  const tab = page.getByRole('tab', { name: /Audit/ });
  await tab.waitFor();
  assert.equal(await tab.getAttribute('aria-selected'), 'false');
  assert.equal(await page.locator('#audit').isVisible(), false, 'the report first');
  await tab.click();
  await page.waitForSelector('body[data-audit="ready"]');
  assert.equal(await tab.getAttribute('aria-selected'), 'true');
  assert.equal(await page.locator('#report').isVisible(), false, 'one panel at a time');
  assert.equal(await page.getByRole('tabpanel').getAttribute('id'), 'audit');
  assert.equal(new URL(page.url()).hash, '#audit');
  const rows = await page.locator('#table-audit tbody tr').evaluateAll((trs) =>
    trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
  assert.ok(rows.some((r) => r[1] === 'e2e-head' && r[2] === '网点负责人 head' && r[4] === '登录 sign-in' &&
    r[6] === '成功 ok' && r[7] === '127.0.0.1'), `a sign-in row: ${JSON.stringify(rows.slice(-3))}`);
  const api = (await d.api('GET', '/api/v1/audit')).body;
  assert.equal(rows.length, api.rows.length, 'every row of the day');
  const href = await page.locator('#audit-csv').getAttribute('href');
  assert.equal(href, '/api/v1/audit?format=csv');
  const csv = await page.evaluate(async (u) => (await fetch(u)).text(), href);
  assert.match(csv, /,e2e-head,head,,sign-in,,ok,127\.0\.0\.1\r\n/, 'the CSV link gives the rows');
  await shot(page, 'reports-audit');
  // The arrow keys move between the tabs, and the audit stays open on a reload (#audit).
  await tab.press('ArrowLeft');
  const report = page.getByRole('tab', { name: /Report/ });
  assert.equal(await report.getAttribute('aria-selected'), 'true');
  assert.equal(await report.evaluate((e) => e === document.activeElement), true, 'focus follows');
  assert.equal(await page.locator('#report').isVisible(), true);
  assert.equal(new URL(page.url()).hash, '');
  await report.press('ArrowRight');
  assert.equal(new URL(page.url()).hash, '#audit');
  await page.reload();
  await page.waitForSelector('body[data-audit="ready"]');
  assert.equal(await page.locator('#audit').isVisible(), true);
  assert.equal(await page.locator('#report').isVisible(), false);
  await page.close();

  const ctx = await b.newContext();
  const lobby = await ctx.newPage();
  await signIn(lobby, d, 'e2e-lobby', { next: '/reports#audit' });
  await lobby.waitForSelector('body[data-ready="1"]');
  await lobby.locator('#table-counter').waitFor();
  assert.equal(await lobby.locator('#table-teller').count(), 0, 'who served how much is the head\'s');
  assert.equal(await lobby.getByRole('tab').count(), 0, 'no tabs for the lobby');
  assert.equal(await lobby.locator('#audit').isVisible(), false, 'no audit for the lobby');
  assert.equal(await lobby.locator('#report').isVisible(), true, 'the report, as before');
  assert.equal(await lobby.evaluate(() => document.body.dataset.audit), undefined, 'the audit was never asked for');
  await ctx.close();
});

// At a lobby tablet's 1366x768 every table fits without sideways scrolling,
// times read as lengths with units, today says "waiting now", and on A4
// landscape (277 x 190 mm inside its 10 mm margins: 1047x718 CSS px) every
// column is there at 8 pt or more.
test('the report fits 1366 px and A4, with durations in units and waiting now', async () => {
  const fits = (page) => page.evaluate(() => [...document.querySelectorAll('.table-wrap')].map((w) => ({
    id: w.querySelector('table')?.id, over: w.scrollWidth - w.clientWidth,
    right: w.querySelector('table').getBoundingClientRect().right })));
  const page = await headPage('/reports?date=' + PAST, { viewport: { width: 1366, height: 768 } });
  await page.waitForSelector('body[data-ready="1"]');
  for (const t of await fits(page)) assert.ok(t.over <= 0 && t.right <= 1366, `${t.id} fits 1366 px: ${JSON.stringify(t)}`);
  const waits = await page.locator('#table-longest tbody td').allTextContents();
  assert.ok(waits.some((x) => /分钟 min$/.test(x)), 'waits with their unit');
  assert.ok(!waits.some((x) => /^\d+:\d\d$/.test(x)), 'no wait that reads like a clock time');
  assert.ok((await page.locator('#table-totals thead').textContent()).includes('仍在等候 Waiting at close'),
    'a past day: waiting at close');

  await page.setViewportSize({ width: 1047, height: 718 });
  await page.emulateMedia({ media: 'print' });
  for (const t of await fits(page)) assert.ok(t.over <= 0 && t.right <= 1047, `${t.id} fits A4 landscape: ${JSON.stringify(t)}`);
  const smallest = await page.evaluate(() => Math.min(...[...document.querySelectorAll('td, th')]
    .map((e) => parseFloat(getComputedStyle(e).fontSize))));
  assert.ok(smallest >= 8 * 96 / 72 - 0.01, `every cell at 8 pt or more on paper (${smallest} px)`);
  // And as Chromium really prints it: A4 landscape, every table's last column on the paper.
  const pdfPath = join(ARTIFACTS, 'reports-a4.pdf');
  writeFileSync(pdfPath, await page.pdf({ preferCSSPageSize: true }));
  const info = execFileSync('pdfinfo', [pdfPath], { encoding: 'utf8' });
  const [, w, h] = info.match(/Page size:\s+([\d.]+) x ([\d.]+) pts/);
  assert.ok(Math.abs(Number(w) - 841.89) < 1 && Math.abs(Number(h) - 595.28) < 1, `A4 landscape: ${w} x ${h}`);
  const text = execFileSync('pdftotext', [pdfPath, '-'], { encoding: 'utf8' });
  const tablesWithMet = await page.locator('table').evaluateAll((ts) =>
    ts.filter((t) => [...t.querySelectorAll('thead th')].some((th) => th.textContent.includes('达标 Met'))).length);
  // (A table's heading repeats on each page it runs onto: at least once each.)
  assert.ok((text.match(/达标\s+Met/g) || []).length >= tablesWithMet,
    'each table\'s last column, 达标 Met, is printed');
  await page.close();

  const today = await headPage('/reports', { viewport: { width: 1366, height: 768 } });
  await today.waitForSelector('body[data-ready="1"]');
  assert.ok((await today.locator('#table-totals thead').textContent()).includes('现在等候 Waiting now'),
    'today so far: waiting now');
  await today.close();

  const week = await headPage(`/reports?date=${PAST}&span=week`, { viewport: { width: 1366, height: 768 } });
  await week.waitForSelector('body[data-ready="1"]');
  assert.ok(await week.locator('#table-day').isVisible(), 'a week shows its days');
  const days = await week.locator('#table-day tbody th').allTextContents();
  assert.deepEqual(days, ['2025-06-02', '2025-06-03', '2025-06-04', '2025-06-05', '2025-06-06',
    '2025-06-07', '2025-06-08'], 'Monday to Sunday');
  assert.equal(await week.locator('#span').inputValue(), 'week');
  await shot(week, 'reports-week');
  await week.close();
});
