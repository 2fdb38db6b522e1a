// 明日排班建议 Tomorrow's staffing on the report page, in a real browser:
// three recorded days of tomorrow's weekday (written into the database, a
// morning and an afternoon peak), the advice the daemon makes from them
// off its loop, drawn as the counters to open each hour against Erlang C
// alone, with each hour's predicted overtime share per service. Every bar
// and cell is the API's; the chart is inside the screen; axe-core finds
// nothing. Without history the section says so; the lobby never asks.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Daemon, browser, shot, signIn, assertAxeClean, boxes } from './harness.mjs';

const DAY = 86400;
const RATE_A = [18, 40, 46, 24, 18, 30, 44, 22];   // customers an hour from 09:00
const RATE_B = [4, 8, 9, 5, 4, 7, 9, 5];

// The business day of instant t (s) for a reset at rh:rm in Asia/Shanghai, as [y, m, d].
function bdayOf(t, rh, rm) {
  const local = new Date((t + 8 * 3600 - (rh * 60 + rm) * 60) * 1000);
  return [local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate()];
}
const iso = ([y, m, d]) => new Date(Date.UTC(y, m, d)).toISOString().slice(0, 10);
const plus = ([y, m, d], n) => { const x = new Date(Date.UTC(y, m, d + n)); return [x.getUTCFullYear(), x.getUTCMonth(), x.getUTCDate()]; };

// A day's customers: arrivals at the hour's rate, evenly spread; A at counters 1–4 by turns, B at 5.
function daySql(day, rh, rm, firstId) {
  const start = Date.UTC(day[0], day[1], day[2], rh - 8, rm) / 1000;
  const open = start + ((9 * 60 - (rh * 60 + rm) + 1440) % 1440) * 60;
  const rows = [];
  let id = firstId, seed = firstId;
  const rnd = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
  for (const [svc, rates, mean] of [['A', RATE_A, 240], ['B', RATE_B, 360]]) {
    let n = 0;
    rates.forEach((rate, h) => {
      for (let i = 0; i < rate; i++) {
        const issued = Math.round(open + h * 3600 + (i + rnd()) * 3600 / rate);
        const called = issued + Math.round(rnd() * 300), ended = called + Math.round(-mean * Math.log(1 - rnd() * 0.999));
        const counter = svc === 'B' ? 5 : 1 + (n % 4);
        const num = `${svc}${String(++n).padStart(3, '0')}`, tok = `'${String(id).padStart(32, '0')}'`;
        rows.push(`(${id},${id},'${iso(day)}','${num}','${svc}','normal','zh','served',${tok},` +
          `${issued},${issued},${called},NULL,${called + 20},${ended},${counter},0,NULL)`);
        id++;
      }
    });
  }
  return { sql: rows.join(',\n'), next: id };
}

let d, b, tomorrow;
before(async () => {
  d = await new Daemon().start();
  await d.stop();
  const [, rh, rm] = readFileSync(d.conf, 'utf8').match(/day_reset\s*=\s*(\d+):(\d+)/).map(Number);
  tomorrow = plus(bdayOf(Date.now() / 1000, rh, rm), 1);
  let next = 5000;
  const parts = [];
  for (const k of [7, 14, 21]) {
    const r = daySql(plus(tomorrow, -k), rh, rm, next);
    parts.push(r.sql);
    next = r.next;
  }
  execFileSync('sqlite3', [d.db], { input: 'INSERT INTO tickets(id, origin_id, bday, number, service, ' +
    'category, lang, status, token, issued_at, created_at, called_at, recalled_at, started_at, ended_at, ' +
    `counter, recalls, transferred_to) VALUES ${parts.join(',\n')};` });
  await d.start();
  b = await browser();
});
after(async () => { await b?.close(); await d?.stop(); });

test('the head sees tomorrow\'s staffing: the API\'s counters per hour, Erlang C beside them, each share', async () => {
  const ctx = await b.newContext({ viewport: { width: 1366, height: 768 } });
  const page = await ctx.newPage();
  await signIn(page, d, 'e2e-head', { next: '/reports' });
  await page.waitForSelector('body[data-advice]:not([data-advice="loading"])', { timeout: 120000 });
  assert.equal(await page.evaluate(() => document.body.dataset.advice), 'ready',
    await page.locator('#advice-status').innerText());
  const api = await d.api('GET', '/api/v1/advice');
  assert.equal(api.status, 200, JSON.stringify(api.body));
  const a = api.body;
  assert.equal(a.date, iso(tomorrow), 'the advice is for the next business day');
  assert.deepEqual(a.history.days, [7, 14, 21].map((k) => iso(plus(tomorrow, -k))), 'from the three same weekdays');
  assert.equal(a.hours.length, 8, '09:00 to 17:00');
  const peak = a.counters_per_hour;
  assert.ok(peak[2] > peak[0] && peak[6] > peak[4], `more counters at the peaks: ${peak}`);

  await page.locator('#chart-advice').scrollIntoViewIfNeeded();
  const status = await page.locator('#advice-status').innerText();
  assert.match(status, new RegExp(`${a.date} · 09:00–17:00 · 依据 3 个同星期几的营业日 based on 3 same weekdays`));
  assert.match(status, a.met ? /meets the target every hour/ : /misses the target/);
  // The chart: one bar per hour, its height the advised counters; Erlang C's mark beside it.
  const bars = await page.locator('#chart-advice rect.bar-advice[data-hour]').evaluateAll((rs) =>
    rs.map((r) => [r.dataset.hour, Number(r.dataset.value), r.getBoundingClientRect().height]));
  assert.deepEqual(bars.map((x) => [x[0], x[1]]), a.hours.map((h) => [h.hour, h.counters]));
  const unit = bars[0][2] / bars[0][1];
  for (const [hour, v, hpx] of bars) assert.ok(Math.abs(hpx - v * unit) < 1.5, `${hour}: bar height follows ${v}`);
  const marks = await page.locator('#chart-advice line.erlang[data-hour]').evaluateAll((ls) =>
    ls.map((l) => Number(l.dataset.value)));
  assert.deepEqual(marks, a.erlang_c_per_hour, 'Erlang C alone, hour by hour');
  const [chart] = await boxes(page, '#chart-advice');
  assert.ok(chart.inside && !chart.clipped, `the chart is on the screen: ${JSON.stringify(chart)}`);
  // The table: each hour's figures and each service's predicted share with its interval.
  const rows = await page.locator('#table-advice tbody tr').evaluateAll((trs) =>
    trs.map((tr) => [...tr.children].map((c) => c.textContent)));
  assert.equal(rows.length, a.hours.length);
  a.hours.forEach((h, i) => {
    assert.deepEqual(rows[i].slice(0, 4), [h.hour, h.arrivals.toFixed(1), String(h.erlang_c), String(h.counters)]);
    h.by_service.forEach((s, k) => {
      if (s.overtime_share === null) return;
      const p = (v) => (v * 100).toFixed(2) + '%';
      assert.equal(rows[i][4 + k], `${p(s.overtime_share)} (${p(Math.max(0, s.overtime_share_ci[0]))}–${p(s.overtime_share_ci[1])})`,
        `${h.hour} ${s.service}`);
    });
  });
  await assertAxeClean(page, 'the report with tomorrow\'s staffing');
  await shot(page, 'reports-advice-page');
  await ctx.close();
});

test('the lobby\'s report page never asks for the advice, and the API refuses it', async () => {
  const ctx = await b.newContext();
  const page = await ctx.newPage();
  const asked = [];
  page.on('request', (r) => { if (new URL(r.url()).pathname === '/api/v1/advice') asked.push(r.url()); });
  await signIn(page, d, 'e2e-lobby', { next: '/reports' });
  await page.waitForSelector('body[data-ready="1"]');
  assert.equal(await page.locator('#advice').isVisible(), false, 'no advice section for the lobby');
  assert.deepEqual(asked, [], 'never asked');
  const r = await page.evaluate(async () => (await fetch('/api/v1/advice')).status);
  assert.equal(r, 403, 'the lobby may not read the advice');
  await ctx.close();
});

test('a date with no history: the API says no_history, a bad date is refused', async () => {
  const other = iso(plus(tomorrow, 1));
  const r = await d.api('GET', `/api/v1/advice?date=${other}`);
  assert.equal(r.status, 404);
  assert.equal(r.body.error.code, 'no_history');
  const bad = await d.api('GET', '/api/v1/advice?date=tomorrow');
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.code, 'invalid_query');
});
