// The hall display in a real browser: true state on load, calls shown from
// their events, the green mark, waiting counts, the voice queue (each call
// said call_repeats times), and recovery after the daemon is killed and
// restarted while the page stays open. With twelve counters all calling, at
// both wall sizes, every counter's row is on screen and whole, no text is
// under 40 px at 1920x1080 and axe-core finds nothing; a paused counter
// reads 暂停服务 Paused; the reconnect notice covers nothing.
import { test, after, afterEach, before, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { Daemon, browser, shot, demoConfig, boxes, assertAxeClean } from './harness.mjs';

// Each test has its own daemon and display page: none depends on what another left.
let d, b, page;
before(async () => { b = await browser(); });
after(async () => { await b?.close(); });
beforeEach(async () => {
  d = await new Daemon().start();
  page = await b.newPage({ viewport: { width: 1920, height: 1080 } });
});
afterEach(async () => { await page?.close(); await d?.stop(); });

// Replace this test's daemon with one on config (a fresh database).
async function useDaemon(config) {
  await d.stop();
  d = await new Daemon(config).start();
}

const text = (sel) => page.locator(sel).innerText();
const waitingFor = (svc) => page.locator(`.tile[data-service="${svc}"] .n`);

test('the display shows the true state on load', async () => {
  await d.issue('A');
  await d.issue('A');
  await d.issue('B');
  await d.counter(3, 'call');          // A001 is called before the page opens
  await page.goto(d.url + '/display');
  await page.locator('#now-number').getByText('A001').waitFor({ timeout: 3000 });
  assert.equal(await text('#now-counter'), '3');
  assert.equal(await waitingFor('A').innerText(), '1');
  assert.equal(await waitingFor('B').innerText(), '1');
  assert.match(await text('#branch'), /北京示范支行/);
  // Nothing is spoken for a call that was made before the page opened.
  assert.deepEqual(await page.evaluate(() => window.bqSpoken), []);
});

test('a call appears on its event, with the green mark, and is spoken twice (the default)', async () => {
  await d.issue('A');
  await page.goto(d.url + '/display');
  await page.locator('.tile[data-service="A"] .n').getByText('1').waitFor({ timeout: 3000 });
  const g = await d.issue('A', { category: 'elderly' });
  await page.locator('.tile[data-service="A"] .n').getByText('2').waitFor({ timeout: 3000 });
  // Counter 1 is the green counter: it calls the green ticket first.
  const r = await d.counter(1, 'call');
  assert.equal(r.ticket.number, g.number);
  // Shown from the stream's event (the page does not poll): speed is make bench's.
  await page.locator('#now-number').getByText(g.number).waitFor({ timeout: 3000 });
  assert.equal(await text('#now-counter'), '1');
  assert.match(await text('#now'), /绿色通道/);
  assert.match(await text('#now'), /Green Channel/);
  await page.locator('.tile[data-service="A"] .n').getByText('1').waitFor({ timeout: 3000 });
  const li = page.locator(`#calls li[data-number="${g.number}"]`);
  assert.match(await li.innerText(), /绿色通道/);
  await page.waitForFunction(() => window.bqPlayed.length >= 2 && window.bqPlayed[1].end !== null,
    null, { timeout: 30000 });
  const spoken = await page.evaluate(() => window.bqSpoken);
  const url = `/api/v1/voice/${g.number}/1.wav?lang=zh`;
  assert.deepEqual(spoken, [url, url]);
  const played = await page.evaluate(() => window.bqPlayed);
  for (const i of [0, 1]) {
    assert.ok(played[i].end - played[i].start > 3000, `play ${i + 1} lasted ${played[i].end - played[i].start} ms`);
  }
  // The repeat follows the first after a pause, not over it.
  assert.ok(played[1].start - played[0].end >= 1000, `pause ${played[1].start - played[0].end} ms`);
  const wav = await d.api('GET', spoken[0]);
  assert.equal(wav.status, 200);
  assert.equal(wav.headers['content-type'], 'audio/wav');
  await shot(page, 'display');
});

test('after kill -9 and a restart the display reconnects and shows the truth', async () => {
  await d.issue('A');
  await d.issue('A');
  await d.counter(3, 'call');          // A001 at counter 3; A002 waits
  await page.goto(d.url + '/display');
  await page.locator('#now-number').getByText('A001').waitFor({ timeout: 3000 });
  await d.kill9();
  await page.locator('#link').waitFor({ state: 'visible', timeout: 5000 });
  await d.start();                     // same port, same database
  const r = await d.counter(4, 'call');
  assert.equal(r.ticket.number, 'A002');
  await page.locator('#now-number').getByText('A002').waitFor({ timeout: 5000 });
  assert.equal(await text('#now-counter'), '4');
  await page.locator('#link').waitFor({ state: 'hidden', timeout: 3000 });
  assert.equal(await waitingFor('A').innerText(), '0');
  // Finishing it removes it from the calls; the newest call still current takes its place.
  await d.counter(4, 'finish');
  await page.locator('#calls li[data-number="A002"]').waitFor({ state: 'detached', timeout: 3000 });
  assert.notEqual(await text('#now-number'), 'A002');
});

test('two calls at once are spoken one after the other, in the order they were made', async () => {
  await useDaemon(demoConfig({ call_repeats: 1 }));   // each call said once: the order is what counts here
  await page.goto(d.url + '/display');
  await page.locator('.tile[data-service="A"]').waitFor({ timeout: 3000 });
  const before = await page.evaluate(() => window.bqPlayed.length);
  await d.issue('A');
  await d.issue('A', { category: 'foreign' });   // English voice too, at the English counter 2
  const first = (await d.counter(3, 'call')).ticket;
  const second = (await d.counter(2, 'call')).ticket;
  assert.equal(second.lang, 'en');
  await page.waitForFunction((n) => window.bqPlayed.length >= n + 2 &&
    window.bqPlayed[n + 1].end !== null, before, { timeout: 30000 });
  const played = (await page.evaluate(() => window.bqPlayed)).slice(before);
  assert.deepEqual(played.map((p) => p.url), [
    `/api/v1/voice/${first.number}/3.wav?lang=${first.lang}`,
    `/api/v1/voice/${second.number}/2.wav?lang=en`,
  ]);
  assert.ok(played[1].start >= played[0].end, 'the second starts after the first ended');
  // The Mandarin call lasts several seconds: it really played rather than failed at once.
  assert.ok(played[0].end - played[0].start > 3000, `first call played ${played[0].end - played[0].start} ms`);
});

test('a call whose sound fails is skipped, and the next two still play to their end, one at a time', async () => {
  await useDaemon(demoConfig({ call_repeats: 1 }));   // each call said once: the order is what counts here
  await page.goto(d.url + '/display');
  await page.locator('.tile[data-service="A"]').waitFor({ timeout: 3000 });
  const before = await page.evaluate(() => window.bqPlayed.length);
  const tickets = [await d.issue('A'), await d.issue('A'), await d.issue('A')];
  // The first call's sound is refused, as when the synthesizer fails (503 voice_unavailable).
  await page.route(`**/api/v1/voice/${tickets[0].number}/**`, (route) =>
    route.fulfill({ status: 503, json: { error: { code: 'voice_unavailable', message: 'test' } } }));
  const calls = [];
  for (const c of [3, 4, 1]) calls.push({ t: (await d.counter(c, 'call')).ticket, c });
  await page.waitForFunction((n) => window.bqPlayed.length >= n + 3 &&
    window.bqPlayed[n + 2].end !== null, before, { timeout: 30000 });
  const played = (await page.evaluate(() => window.bqPlayed)).slice(before);
  assert.deepEqual(played.map((p) => p.url), calls.map(({ t, c }) => `/api/v1/voice/${t.number}/${c}.wav?lang=zh`));
  for (const i of [1, 2]) {
    assert.ok(played[i].start >= played[i - 1].end, `clip ${i} starts after clip ${i - 1} ended`);
    assert.ok(played[i].end - played[i].start > 3000, `clip ${i} played ${played[i].end - played[i].start} ms, not cut off`);
  }
  await page.unroute(`**/api/v1/voice/${tickets[0].number}/**`);
});

// Twelve counters (the demo's five and 6-12 for every service), each with a
// ticket: counter 2 serving, counter 7 paused with its call, counter 12 a
// green ticket; the rest called.
async function twelveCalling() {
  let extra = '';
  for (let n = 6; n <= 12; n++) extra += `[counter ${n}]\nservices = A B V\n\n`;
  await useDaemon(demoConfig({}, extra));
  for (let i = 0; i < 11; i++) await d.issue(i % 4 === 3 ? 'B' : 'A');
  for (let n = 1; n <= 11; n++) await d.counter(n, 'call');
  const green = await d.issue('A', { category: 'elderly' });
  assert.equal((await d.counter(12, 'call')).ticket.number, green.number);
  await d.counter(2, 'start');
  await d.counter(7, 'pause');
  return green;
}

// Every line of text on the page whose font is under min CSS px: [text, px].
const textUnder = (min) => page.evaluate((m) => {
  const out = [];
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walk.nextNode(); n; n = walk.nextNode()) {
    const el = n.parentElement;
    if (!n.textContent.trim() || el.closest('noscript')) continue;
    const r = el.getBoundingClientRect();
    if (r.width <= 1 || r.height <= 1 || getComputedStyle(el).visibility === 'hidden') continue;
    const px = parseFloat(getComputedStyle(el).fontSize);
    if (px < m) out.push([n.textContent.trim(), px]);
  }
  return out;
}, min);

// Blocks whose text runs past their own box (cut off, or under a neighbour).
const overflowing = () => page.evaluate(() =>
  [...document.querySelectorAll('#calls li > *, #calls li .en, .now .call *, .tile *, header *')]
    .filter((e) => getComputedStyle(e).display !== 'inline' && e.scrollWidth > e.clientWidth + 1)
    .map((e) => e.textContent.trim()));

const overlap = (a, b) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;

for (const [width, height] of [[1920, 1080], [1366, 768]]) {
  test(`twelve counters all calling at ${width}x${height}: every call on screen and whole, readable, axe clean`, async () => {
    const green = await twelveCalling();
    await page.setViewportSize({ width, height });
    await page.goto(d.url + '/display');
    await page.locator('#calls li[data-counter="12"]').waitFor({ timeout: 3000 });
    const rows = await boxes(page, '#calls li');
    assert.equal(rows.length, 12, 'a row for every configured counter');
    for (const r of rows) assert.ok(r.inside && !r.clipped, `row "${r.text}" is inside the screen and not clipped`);
    // No two rows share a place, and each row's parts fit in it.
    for (let i = 0; i < rows.length; i++) {
      for (let j = i + 1; j < rows.length; j++) assert.ok(!overlap(rows[i], rows[j]), `rows ${i} and ${j} overlap`);
    }
    const parts = await boxes(page, '#calls li > *, #calls li .en');
    for (const p of parts) assert.ok(p.inside && !p.clipped, `"${p.text}" is whole`);
    assert.deepEqual(await overflowing(), [], 'no text runs past its box');
    // Every counter's ticket, in the counters' order.
    const numbers = await page.locator('#calls li').evaluateAll((ls) =>
      ls.map((l) => [l.dataset.counter, l.querySelector('.num').textContent]));
    assert.deepEqual(numbers.map(([c]) => c), ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11', '12']);
    assert.ok(numbers.every(([, n]) => /^[ABV]\d{3}$/.test(n)), JSON.stringify(numbers));
    // The newest call large: counter 12's green ticket, marked green in its row too.
    assert.equal(await text('#now-number'), green.number);
    assert.equal(await text('#now-counter'), '12');
    assert.match(await text('#calls li[data-counter="12"]'), /绿色通道\s*Green Channel/);
    // The paused counter says so, in Chinese and English.
    assert.match(await text('#calls li[data-counter="7"]'), /暂停服务\s*Counter 7 paused/);
    assert.match(await text('#calls li[data-counter="2"]'), /办理中\s*Counter 2 serving/);
    if (width === 1920) assert.deepEqual(await textUnder(40), [], 'no text under 40 px at 1920x1080');
    for (const t of await boxes(page, '.tile, header h1, #clock, #now-call > *')) {
      assert.ok(t.inside && !t.clipped, `"${t.text}" is whole and on screen`);
    }
    await assertAxeClean(page, `display, twelve counters at ${width}x${height}`);
    await shot(page, `display-12-counters-${width}x${height}`);
  });
}

test('a paused counter is marked 暂停服务 Paused, and its call is not shown as live', async () => {
  await d.issue('A');
  await page.goto(d.url + '/display');
  await page.locator('.tile[data-service="A"]').waitFor({ timeout: 3000 });
  const t = (await d.counter(3, 'call')).ticket;
  await page.locator('#now-number').getByText(t.number).waitFor({ timeout: 3000 });
  await d.counter(3, 'pause');
  const row = page.locator('#calls li[data-counter="3"]');
  await row.getByText('暂停服务').waitFor({ timeout: 3000 });
  assert.match(await row.innerText(), /3 号窗口 暂停服务\s*Counter 3 paused/);
  assert.doesNotMatch(await row.innerText(), /请到/);
  // Nothing is called now: the large call goes back to its idle words.
  await page.locator('#now-number').waitFor({ state: 'detached', timeout: 3000 });
  assert.match(await text('#now'), /请留意叫号/);
  await assertAxeClean(page, 'display with a paused counter');
  await shot(page, 'display-paused');
  await d.counter(3, 'resume');
  await page.locator('#now-number').getByText(t.number).waitFor({ timeout: 3000 });
  assert.match(await row.innerText(), /请到 3 号窗口\s*To counter 3/);
});

test('while the daemon is down the data is dimmed and the notice covers no number or count', async () => {
  await d.issue('A');
  await d.issue('B');
  await d.counter(3, 'call');
  await page.goto(d.url + '/display');
  await page.locator('#now-number').getByText('A001').waitFor({ timeout: 3000 });
  assert.equal(await page.locator('main').evaluate((m) => getComputedStyle(m).opacity), '1');
  await d.kill9();
  await page.locator('#link').waitFor({ state: 'visible', timeout: 5000 });
  assert.match(await text('#link'), /连接中断/);
  assert.match(await text('#link'), /Reconnecting/);
  assert.ok(Number(await page.locator('main').evaluate((m) => getComputedStyle(m).opacity)) < 1,
    'the data is dimmed');
  const [notice] = await boxes(page, '#link');
  assert.ok(notice.inside && !notice.clipped, 'the notice is on screen');
  const data = await boxes(page, '.tile, #calls li, #now-call > *, #branch, #clock');
  assert.ok(data.length >= 3 + 5 + 1, `${data.length} boxes`);
  for (const b of data) assert.ok(!overlap(notice, b), `the notice overlaps "${b.text}"`);
  assert.deepEqual(await textUnder(40), [], 'no text under 40 px while down');
  await assertAxeClean(page, 'display while disconnected');
  await shot(page, 'display-disconnected');
  await d.start();
  await page.locator('#link').waitFor({ state: 'hidden', timeout: 5000 });
  await page.waitForFunction(() => getComputedStyle(document.querySelector('main')).opacity === '1',
    null, { timeout: 3000 });
});

test('call_repeats = 3 says a call three times, and the state carries it', async () => {
  await useDaemon(demoConfig({ call_repeats: 3 }));
  assert.equal((await d.api('GET', '/api/v1/display')).body.call_repeats, 3);
  await page.goto(d.url + '/display');
  await page.locator('.tile[data-service="A"]').waitFor({ timeout: 3000 });
  const voice = [];
  page.on('request', (r) => { if (r.url().includes('/api/v1/voice/')) voice.push(r.url()); });
  await d.issue('A');
  const t = (await d.counter(4, 'call')).ticket;
  await page.waitForFunction(() => window.bqPlayed.length >= 3 && window.bqPlayed[2].end !== null,
    null, { timeout: 45000 });
  const played = await page.evaluate(() => window.bqPlayed);
  const url = `/api/v1/voice/${t.number}/4.wav?lang=zh`;
  assert.deepEqual(played.map((p) => p.url), [url, url, url]);
  for (const p of played) assert.ok(p.end - p.start > 3000, `a play lasted ${p.end - p.start} ms`);
  assert.ok(voice.length >= 1 && voice.every((u) => u.endsWith(url)), JSON.stringify(voice));
});
