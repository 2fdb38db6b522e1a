// The rating keypad (/rate/N, 服务评价器) in a real browser, at a tablet's
// sizes (1280x800, 800x1280, 1024x600): idle; the teller finishes a ticket
// and the keys come up with the ticket's number, the prompt in the ticket's
// language and a tone; one press, 谢谢 Thank you with the key chosen, idle
// again; a second press and a late press change nothing. The first tests
// hold the page to the contract of issue 13 with the display's answers given
// by Playwright's request routing; the last ones run the whole path against
// the daemon (they skip while the daemon has no ratings). axe-core is run
// in every state.
import { test, after, afterEach, before, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { Daemon, browser, shot, boxes, assertAxeClean, pair, demoConfig } from './harness.mjs';

const SIZES = [[1280, 800], [800, 1280], [1024, 600]];
const T = { timeout: 5000 };
const KEYS = [
  { key: 'very_satisfied', zh: '非常满意', en: 'Very satisfied' },
  { key: 'satisfied', zh: '满意', en: 'Satisfied' },
  { key: 'dissatisfied', zh: '不满意', en: 'Dissatisfied' },
];

let d, b;
before(async () => { b = await browser(); });
after(async () => { await b?.close(); });
beforeEach(async () => { d = await new Daemon().start(); });
afterEach(async () => { await d?.stop(); });

// A keypad page at counter 3 whose display state carries an open prompt
// (from the daemon's real answer, with the contract's fields added) and
// whose rating POSTs are answered by answer(body) and recorded.
async function keypadWithPrompt([width, height], { lang = 'zh', untilMs = 60000, answer } = {}) {
  const ctx = await b.newContext({ viewport: { width, height } });
  const page = await ctx.newPage();
  await pair(page, d, 'display');
  const posts = [];
  await page.route('**/api/v1/display', async (route) => {
    const r = await route.fetch();
    const j = await r.json();
    const until = new Date(Date.parse(j.at) + untilMs).toISOString();
    j.rating_keys = KEYS;
    j.counters = j.counters.map((c) => (c.number === 3 ? { ...c, rating: { ticket_id: 12, number: 'A004', lang,
      until, keys: KEYS.map((k) => k.key) } } : { ...c, rating: null }));
    await route.fulfill({ response: r, json: j });
  });
  await page.route('**/api/v1/counters/3/rating', async (route) => {
    const body = JSON.parse(route.request().postData());
    posts.push(body);
    const [status, json] = (answer || (() => [200, { rating: { ticket_id: body.ticket_id, key: body.key } }]))(body, posts.length);
    await route.fulfill({ status, json });
  });
  await page.goto(d.url + '/rate/3');
  return { ctx, page, posts };
}

// The keys: every one inside the screen, whole, on top at its centre, and large.
async function keysWhole(page, what) {
  const keys = await boxes(page, '#keys button');
  assert.equal(keys.length, 3, `${what}: three keys`);
  for (const k of keys) {
    assert.ok(k.inside && !k.clipped, `${what}: key "${k.text}" whole and on screen`);
    assert.ok(k.h >= 96 && k.w >= 160, `${what}: key "${k.text}" is ${k.w}x${k.h}`);
  }
  const hit = await page.evaluate(() => [...document.querySelectorAll('#keys button')].every((el) => {
    const r = el.getBoundingClientRect();
    const h = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
    return h && (h === el || el.contains(h));
  }));
  assert.ok(hit, `${what}: nothing covers a key`);
}

for (const size of SIZES) {
  const at = `${size[0]}x${size[1]}`;
  test(`keypad ${at} (contract): prompt, one press, thank-you, idle; a second press sends nothing`, async () => {
    const { ctx, page, posts } = await keypadWithPrompt(size);
    await page.locator('#main[data-state="ask"]').waitFor(T);
    assert.match(await page.locator('#prompt').innerText(), /A004\s*请您为本次服务评价\s*Please rate our service/);
    assert.deepEqual(await page.locator('#keys button').evaluateAll((bs) => bs.map((x) => x.innerText.replace(/\s+/g, ' '))),
      ['非常满意 Very satisfied', '满意 Satisfied', '不满意 Dissatisfied']);
    assert.equal(await page.evaluate(() => window.bqPrompts), 1, 'the prompt toned once');
    await keysWhole(page, at);
    await assertAxeClean(page, `keypad prompt at ${at}`);
    await shot(page, `rate-prompt-${at}`);
    // A double tap: one rating sent, the keys disabled at once.
    await page.locator('#keys button[data-key="satisfied"]').dblclick();
    await page.locator('#main[data-state="done"]').waitFor(T);
    assert.match(await page.locator('#done').innerText(), /谢谢\s*Thank you\s*满意 Satisfied/);
    assert.deepEqual(posts, [{ ticket_id: 12, key: 'satisfied' }]);
    await assertAxeClean(page, `keypad thank-you at ${at}`);
    await shot(page, `rate-thanks-${at}`);
    // Then idle, and the same prompt (still in the state) is not asked again.
    await page.locator('#main[data-state="idle"]').waitFor({ timeout: 8000 });
    assert.match(await page.locator('#idle').innerText(), /欢迎光临\s*Welcome/);
    assert.equal(await page.evaluate(() => window.bqPrompts), 1);
    assert.equal(posts.length, 1);
    await assertAxeClean(page, `keypad idle at ${at}`);
    await shot(page, `rate-idle-${at}`);
    await ctx.close();
  });
}

test('keypad (contract): an English ticket is asked in English first; a refused press says it was not recorded', async () => {
  const { ctx, page, posts } = await keypadWithPrompt([1280, 800], { lang: 'en',
    answer: () => [409, { error: { code: 'rating_closed', message: 'closed' } }] });
  await page.locator('#main[data-state="ask"]').waitFor(T);
  assert.match(await page.locator('#prompt').innerText(), /A004\s*Please rate our service\s*请您为本次服务评价/);
  assert.match(await page.locator('#keys button').first().innerText(), /^Very satisfied\s*非常满意/);
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'en');
  await assertAxeClean(page, 'keypad prompt in English');
  await page.locator('#keys button[data-key="dissatisfied"]').click();
  await page.locator('#msg').getByText('The time to rate has passed: not recorded').waitFor(T);
  assert.equal(await page.locator('#main[data-state="done"]').count(), 0, 'no thank-you for a rating not taken');
  await page.locator('#main[data-state="idle"]').waitFor({ timeout: 8000 });
  assert.equal(posts.length, 1);
  await ctx.close();
});

test('keypad (contract): the keys go away by themselves when the prompt\'s time is up', async () => {
  const { ctx, page, posts } = await keypadWithPrompt([1280, 800], { untilMs: 2500 });
  await page.locator('#main[data-state="ask"]').waitFor(T);
  await page.locator('#main[data-state="idle"]').waitFor({ timeout: 6000 });
  assert.equal(await page.locator('#keys button:visible').count(), 0, 'no key left to press late');
  assert.equal(posts.length, 0);
  await ctx.close();
});

// ---- against the daemon (issue 13's backend) ----

test('keypad against the daemon: finish, prompt, rating, thank-you, idle; a second and a late press refused', async () => {
  assert.ok(Array.isArray((await d.api('GET', '/api/v1/display')).body.rating_keys), 'the display view carries the keys');
  await d.stop();
  d = await new Daemon(demoConfig({ window: '5s' })).start();
  const ctx = await b.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await ctx.newPage();
  const token = await d.token('keypad', { counter: 3, name: 'keypad-3' });
  await page.goto(`${d.url}/pair?token=${token}`);
  await page.goto(d.url + '/rate/3');
  await page.locator('#main[data-state="idle"]').waitFor(T);
  const first = await d.issue('A');
  const second = await d.issue('A');
  await d.counter(3, 'call');
  await d.counter(3, 'start');
  const spoken = page.waitForResponse((res) => res.url().includes(`/api/v1/voice/${first.number}/rate.wav`), T);
  await d.counter(3, 'finish');
  await page.locator('#main[data-state="ask"]').waitFor(T);
  // The prompt is spoken: the daemon's clip of this number, a WAV espeak-ng made.
  const clip = await spoken;
  assert.equal(clip.status(), 200);
  assert.equal(clip.headers()['content-type'], 'audio/wav');
  assert.ok((await clip.body()).length > 20000, 'a spoken clip, not an empty file');
  assert.match(await page.locator('#prompt').innerText(), new RegExp(`${first.number}\\s*请您为本次服务评价`));
  await page.locator('#keys button[data-key="very_satisfied"]').click();
  await page.locator('#main[data-state="done"]').waitFor(T);
  await page.locator('#main[data-state="idle"]').waitFor({ timeout: 8000 });
  const again = await d.api('POST', '/api/v1/counters/3/rating', { ticket_id: first.id, key: 'dissatisfied' });
  assert.equal(again.status, 409, 'a second rating is refused');
  // The prompt closed with the rating: the daemon says closed (or already rated); either way, refused.
  assert.ok(['already_rated', 'rating_closed'].includes(again.body.error.code), again.body.error.code);
  // The next customer does not rate within the window: the keys go, a late press is refused.
  await d.counter(3, 'call');
  await d.counter(3, 'finish');
  await page.locator('#main[data-state="ask"]').waitFor(T);
  await page.locator('#main[data-state="idle"]').waitFor({ timeout: 12000 });
  // The page went idle when the window ended; the daemon's view says the prompt is closed too.
  const c3 = (await d.api('GET', '/api/v1/display')).body.counters.find((c) => c.number === 3);
  assert.equal(c3.rating, null, 'the keys went when the daemon closed the prompt, not before');
  const late = await d.api('POST', '/api/v1/counters/3/rating', { ticket_id: second.id, key: 'satisfied' });
  assert.equal(late.status, 409);
  assert.equal(late.body.error.code, 'rating_closed');
  await ctx.close();
});
