// The hall display in a real browser: true state on load, calls shown from
// their events, the green mark, waiting counts, the voice queue, and recovery
// after the daemon is killed and restarted while the page stays open.
import { test, after, afterEach, before, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { Daemon, browser, shot } from './harness.mjs';

// Each test has its own daemon and display page: none depends on what another left.
let d, b, page;
before(async () => { b = await browser(); });
after(async () => { await b?.close(); });
beforeEach(async () => {
  d = await new Daemon().start();
  page = await b.newPage({ viewport: { width: 1920, height: 1080 } });
});
afterEach(async () => { await page?.close(); await d?.stop(); });

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

test('a call appears on its event, with the green mark, and is spoken once', async () => {
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
  await page.waitForFunction(() => window.bqSpoken.length >= 1, null, { timeout: 2000 });
  const spoken = await page.evaluate(() => window.bqSpoken);
  assert.deepEqual(spoken, [`/api/v1/voice/${g.number}/1.wav?lang=zh`]);
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
