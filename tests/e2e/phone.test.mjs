// The phone page (/t/{token}) at the two phone sizes, 390×844 and 360×640,
// in every state a customer meets: waiting, three ahead (alerted), called
// (alerted), large text, leaving the queue, expired, unknown. In each: axe
// finds nothing, no text under 18 CSS px, nothing outside the viewport's
// width or clipped. The alerts are seen as the customer's phone would give
// them: navigator.vibrate (recorded by a stub put in before the page's own
// script), the title, and the aria-live region's words.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { Daemon, browser, shot, assertAxeClean, axeEnhancedContrast, boxes } from './harness.mjs';

const SIZES = [[390, 844], [360, 640]];
const T = { timeout: 5000 };
const PAST_TOKEN = 'e'.repeat(29) + '777';
const TEXT = 'header h1, header h1 *, .tools button, .tools button *, #card, #card *, ' +
  '.leave button, .leave button *, #updated, #updated *, dialog[open] *';

let b;
const daemons = [];
before(async () => { b = await browser(); });
after(async () => {
  await b?.close();
  for (const d of daemons) await d.stop();
});

// A daemon whose database also holds a ticket left waiting on 2 June 2025.
async function daemon() {
  const d = await new Daemon().start();
  daemons.push(d);
  await d.stop();
  const t = Date.UTC(2025, 5, 2, 2, 0) / 1000;
  execFileSync('sqlite3', [d.db], { input: 'INSERT INTO tickets(id, origin_id, bday, number, service, ' +
    'category, lang, status, token, issued_at, created_at, recalls) VALUES ' +
    `(900, 900, '2025-06-02', 'V001', 'V', 'normal', 'zh', 'waiting', '${PAST_TOKEN}', ${t}, ${t}, 0);` });
  return d.start();
}

// A phone of the size, with navigator.vibrate recorded in window.__vibrations.
async function phone(w, h) {
  const ctx = await b.newContext({ viewport: { width: w, height: h } });
  await ctx.addInitScript(() => {
    window.__vibrations = [];
    Object.defineProperty(Navigator.prototype, 'vibrate', {
      configurable: true, value(p) { window.__vibrations.push(p); return true; } });
  });
  return { ctx, page: await ctx.newPage() };
}

// No text under 18 px, none beyond the viewport's width, none clipped; the number and
// the status wholly on screen.
async function readable(page, what) {
  const vw = page.viewportSize().width;
  for (const x of await boxes(page, TEXT)) {
    if (!x.text) continue;
    assert.ok(x.font >= 18, `${what}: "${x.text}" is ${x.font} px`);
    assert.ok(x.x >= -0.5 && x.x + x.w <= vw + 0.5, `${what}: "${x.text}" leaves the screen (${x.x}+${x.w})`);
    assert.ok(!x.clipped, `${what}: "${x.text}" is clipped`);
  }
  for (const x of await boxes(page, '#number, #status')) assert.ok(x.inside, `${what}: "${x.text}" is off screen`);
}

const vibrations = (page) => page.evaluate(() => window.__vibrations.length);
const announced = (page) => page.locator('#announce').innerText();

async function check(page, what) {
  await shot(page, what.replace(/[ ×]/g, '-'));
  await assertAxeClean(page, what);
  await readable(page, what);
}

for (const [w, h] of SIZES) {
  const at = `${w}x${h}`;

  test(`phone ${at}: waiting, three ahead and called each alert once, with vibration, title and words`, async () => {
    const d = await daemon();
    const ahead = [];
    for (let i = 0; i < 4; i++) ahead.push(await d.issue('V'));
    const mine = await d.issue('V');
    const { ctx, page } = await phone(w, h);
    await page.goto(`${d.url}/t/${mine.token}`);
    await page.locator('#ahead').getByText('4').waitFor(T);
    const title = await page.title();
    assert.equal(await vibrations(page), 0, 'the first drawing alerts nothing');
    await check(page, `phone-waiting ${at}`);

    await d.counter(5, 'call');
    await page.locator('#ahead').getByText('3').waitFor(T);
    await page.waitForFunction(() => /前面还有 3 位/.test(document.getElementById('announce').textContent), null, T);
    assert.match(await announced(page), /3 ahead of you/);
    assert.equal(await vibrations(page), 1, 'three ahead: one vibration');
    assert.match(await page.title(), /快到您了/);
    assert.match(await page.locator('#status').innerText(), /Almost your turn/);
    await check(page, `phone-3-ahead ${at}`);

    for (let i = 1; i < 4; i++) {
      await d.counter(5, 'finish');
      await d.counter(5, 'call');
    }
    await page.locator('#ahead').getByText('0').waitFor(T);
    assert.equal(await vibrations(page), 1, 'two, one and none ahead alert no more');
    await d.counter(5, 'finish');
    await d.counter(5, 'call');
    await page.locator('#status').getByText('请到 5 号窗口').waitFor(T);
    await page.waitForFunction(() => /请到 5 号窗口/.test(document.getElementById('announce').textContent), null, T);
    assert.match(await announced(page), /Please go to counter 5/);
    assert.equal(await vibrations(page), 2, 'called: a second vibration');
    await page.waitForFunction((t) => document.title !== t && /请到 5 号窗口/.test(document.title), title, T);
    // The title flashes: back to the page's own, then the call again, until a tap.
    await page.waitForFunction((t) => document.title === t, title, T);
    await page.waitForFunction(() => /请到 5 号窗口/.test(document.title), null, T);
    await check(page, `phone-called ${at}`);
    assert.equal(await page.locator('#leave').isVisible(), false, 'a called ticket cannot leave');
    await page.mouse.click(5, h - 5);
    await page.waitForFunction((t) => document.title === t, title, T);
    await ctx.close();
  });

  test(`phone ${at}: 大字版 large text is one tap, remembered, 7:1`, async () => {
    const d = await daemon();
    const mine = await d.issue('A', { category: 'elderly' });
    const { ctx, page } = await phone(w, h);
    await page.goto(`${d.url}/t/${mine.token}`);
    await page.locator('#number').getByText(mine.number).waitFor(T);
    const before = (await boxes(page, '#status .l1'))[0].font;
    await page.locator('#large').click();
    assert.equal(await page.locator('#large').getAttribute('aria-pressed'), 'true');
    await page.reload();
    await page.locator('#number').getByText(mine.number).waitFor(T);
    assert.equal(await page.evaluate(() => document.documentElement.classList.contains('large')), true,
      'remembered after a reload');
    const big = (await boxes(page, '#status .l1'))[0].font;
    assert.ok(big >= before * 1.25, `large text is larger: ${before} -> ${big} px`);
    assert.deepEqual(await axeEnhancedContrast(page), [], 'contrast 7:1 in large text');
    await check(page, `phone-large ${at}`);
    await d.counter(1, 'call');
    await page.locator('#status').getByText('请到 1 号窗口').waitFor(T);
    assert.deepEqual(await axeEnhancedContrast(page), [], 'the called panel at 7:1 too');
    await check(page, `phone-large-called ${at}`);
    await page.locator('#large').click();
    assert.equal(await page.evaluate(() => localStorage.getItem('bq.phone.large')), '0');
    await ctx.close();
  });

  test(`phone ${at}: leave the queue asks first, then cancels the ticket; English first for English tickets`, async () => {
    const d = await daemon();
    const mine = await d.issue('A', { category: 'foreign' });
    assert.equal(mine.lang, 'en');
    const { ctx, page } = await phone(w, h);
    await page.goto(`${d.url}/t/${mine.token}`);
    await page.locator('#number').getByText(mine.number).waitFor(T);
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'en');
    assert.match(await page.locator('#status .l1').innerText(), /ahead of you/);
    assert.match(await page.locator('#status .l2').innerText(), /前面还有/);
    assert.match(await page.locator('#leave-btn .l1').innerText(), /Leave the queue/);
    await check(page, `phone-english ${at}`);

    await page.locator('#leave-btn').click();
    await page.locator('#confirm').getByText('Leave the queue?').waitFor(T);
    await check(page, `phone-confirm ${at}`);
    await page.locator('#confirm-keep').click();
    await page.locator('#confirm').waitFor({ state: 'hidden', ...T });
    assert.equal((await d.api('GET', `/api/v1/tickets/${mine.id}`)).body.ticket.status, 'waiting',
      'keeping my place changes nothing');

    await page.locator('#leave-btn').click();
    await page.locator('#confirm-leave').click();
    await page.locator('#status').getByText('This ticket was cancelled').waitFor(T);
    assert.equal((await d.api('GET', `/api/v1/tickets/${mine.id}`)).body.ticket.status, 'cancelled');
    await page.waitForFunction(() => /cancelled/.test(document.getElementById('announce').textContent), null, T);
    assert.equal(await page.locator('#leave').isVisible(), false);
    await check(page, `phone-cancelled ${at}`);
    await ctx.close();
  });

  test(`phone ${at}: an expired ticket names its day; an unknown token is 404 and names the branch`, async () => {
    const d = await daemon();
    const { ctx, page } = await phone(w, h);
    await page.goto(`${d.url}/t/${PAST_TOKEN}`);
    await page.locator('#status').getByText('此号票已过期').waitFor(T);
    const text = await page.locator('#status').innerText();
    assert.match(text, /2025年6月2日/);
    assert.match(text, /This ticket was for an earlier day, 2 June 2025/);
    assert.equal(await page.locator('#leave').isVisible(), false);
    await check(page, `phone-expired ${at}`);

    const branch = (await d.api('GET', '/api/v1/display')).body.branch;
    for (const tok of ['0'.repeat(32), 'x', PAST_TOKEN.toUpperCase()]) {
      const resp = await page.goto(`${d.url}/t/${tok}`);
      assert.equal(resp.status(), 404, `/t/${tok}`);
      await page.locator('#status').getByText('找不到此号票').waitFor(T);
      const card = await page.locator('#card').innerText();
      assert.ok(card.includes(`请咨询${branch.name_zh}大堂工作人员`), card);
      assert.ok(card.includes(`Please ask the lobby staff at ${branch.name_en}`), card);
      assert.ok((await page.locator('#branch').innerText()).includes(branch.name_zh));
    }
    await check(page, `phone-unknown ${at}`);
    await ctx.close();
  });
}

test('phone: once served, the rating keys; one tap rates once, and the key chosen shows', async () => {
  const d = await daemon();
  const t = await d.issue('A');
  await d.counter(3, 'call');
  await d.counter(3, 'finish');
  const { ctx, page } = await phone(390, 844);
  const real = (await d.api('GET', `/api/v1/t/${t.token}`, undefined, { Authorization: null })).body.rating !== undefined;
  const posts = [];
  if (!real) {
    // Until the daemon rates: its answers as issue 13's contract gives them.
    let key = null;
    await page.route(`**/api/v1/t/${t.token}`, async (route) => {
      const r = await route.fetch();
      const j = await r.json();
      j.rating = { open: key === null, key, until: null, keys: ['very_satisfied', 'satisfied', 'dissatisfied'] };
      await route.fulfill({ response: r, json: j });
    });
    await page.route(`**/api/v1/t/${t.token}/rating`, async (route) => {
      posts.push(JSON.parse(route.request().postData()));
      if (key) return route.fulfill({ status: 409, json: { error: { code: 'already_rated', message: 'rated' } } });
      key = posts[0].key;
      return route.fulfill({ json: { rating: { key } } });
    });
  }
  await page.goto(`${d.url}/t/${t.token}`);
  await page.locator('#rate-box').waitFor(T);
  // What the customer reads on each key, once the page is laid out: the
  // Chinese line, then the English one below it (innerText gives the
  // unstyled text while the box is not yet rendered, so wait for the lines).
  const keys = () => [...document.querySelectorAll('#rate-box button')].map((x) => x.innerText.replace(/\s+/g, ' ').trim());
  const want = ['非常满意 Very satisfied', '满意 Satisfied', '不满意 Dissatisfied'];
  await page.waitForFunction((w) => JSON.stringify([...document.querySelectorAll('#rate-box button')]
    .map((x) => x.innerText.replace(/\s+/g, ' ').trim())) === w, JSON.stringify(want), T).catch(() => {});
  assert.deepEqual(await page.evaluate(keys), want);
  for (const b of await page.locator('#rate-box button').all()) {
    const [z, e] = await b.locator('span').evaluateAll((ss) => ss.map((x) => x.getBoundingClientRect()));
    assert.ok(e.top >= z.bottom - 1, 'the English line sits below the Chinese one');
  }
  await check(page, 'phone rating 390×844');
  await page.locator('#rate-box button[data-key="satisfied"]').dblclick();
  await page.locator('#rated').getByText('您的评价：满意').waitFor(T);
  assert.match(await page.locator('#rated').innerText(), /Your rating: Satisfied/);
  assert.equal(await page.locator('#rate-box').count(), 0, 'no keys once rated');
  if (!real) assert.deepEqual(posts, [{ key: 'satisfied' }], 'one rating sent for a double tap');
  else {
    const again = await d.api('POST', `/api/v1/t/${t.token}/rating`, { key: 'dissatisfied' }, { Authorization: null, Origin: d.url });
    assert.equal(again.status, 409);
  }
  await check(page, 'phone rated 390×844');
  await ctx.close();
});
