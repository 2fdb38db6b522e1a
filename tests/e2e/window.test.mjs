// The window screen over a counter (/window/N) in a real browser, at the
// four bar sizes branches hang (1920x360, 1280x400, 800x480, 1920x1080),
// through a call, a recall, a pause and a restart of the daemon: what the
// screen says, that the number is inside the screen, not clipped, hit by
// elementFromPoint at its centre, and as large as fits (2 px more would run
// past its box, measured in the page); axe-core clean in every state.
import { test, after, afterEach, before, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { Daemon, browser, shot, boxes, assertAxeClean, demoConfig } from './harness.mjs';

const SIZES = [[1920, 360], [1280, 400], [800, 480], [1920, 1080]];
const T = { timeout: 5000 };

let d, b;
before(async () => { b = await browser(); });
after(async () => { await b?.close(); });
beforeEach(async () => { d = await new Daemon().start(); });
afterEach(async () => { await d?.stop(); });

// What the screen shows, as one line of text per box.
const seen = (page) => page.evaluate(() => ({
  name: document.getElementById('name').innerText.replace(/\s+/g, ' ').trim(),
  number: document.getElementById('number').innerText.trim(),
  zh: document.getElementById('words-zh').innerText.trim(),
  en: document.getElementById('words-en').innerText.trim(),
  state: document.getElementById('win').dataset.state,
}));

// Each text box: inside the viewport, not clipped, on top at its centre, and
// as large as fits (2 px more overflows its box). Returns the number's box.
async function largestThatFits(page, what) {
  const r = await page.evaluate(() => {
    const out = {};
    for (const id of ['number', 'words-zh', 'words-en', 'name']) {
      const el = document.getElementById(id);
      const box = el.parentElement;
      const px = parseFloat(getComputedStyle(el).fontSize);
      const rect = el.getBoundingClientRect();
      const fitsAt = (p) => {
        el.style.fontSize = `${p}px`;
        const ok = el.offsetWidth <= box.clientWidth && el.offsetHeight <= box.clientHeight;
        return ok;
      };
      const now = fitsAt(px), more = fitsAt(px + 2);
      el.style.fontSize = `${px}px`;
      const hit = document.elementFromPoint(rect.left + rect.width / 2, rect.top + rect.height / 2);
      out[id] = { px, now, more, x: rect.left, y: rect.top, w: rect.width, h: rect.height,
        onTop: !!hit && (hit === el || el.contains(hit) || hit.contains(el)) };
    }
    out.vw = innerWidth; out.vh = innerHeight;
    return out;
  });
  for (const id of ['number', 'words-zh', 'words-en', 'name']) {
    const x = r[id];
    assert.ok(x.now, `${what}: #${id} fits its box at ${x.px} px`);
    // The English line is held to 80 % of the Chinese one, on purpose; the rest are as large as fits.
    if (id !== 'words-en') assert.ok(!x.more, `${what}: #${id} at ${x.px} px is not the largest that fits`);
    assert.ok(x.x >= -0.5 && x.y >= -0.5 && x.x + x.w <= r.vw + 0.5 && x.y + x.h <= r.vh + 0.5,
      `${what}: #${id} inside the screen ${JSON.stringify(x)}`);
    assert.ok(x.onTop, `${what}: #${id} is what shows at its centre`);
  }
  const [num] = await boxes(page, '#number');
  assert.ok(num.inside && !num.clipped, `${what}: the number is whole`);
  return r.number;
}

test('the window screen at each bar size: call, recall, pause, resume and a restart', async () => {
  await d.issue('A');
  await d.issue('A');
  const pages = [];
  for (const [width, height] of SIZES) {
    const ctx = await b.newContext({ viewport: { width, height } });
    const page = await ctx.newPage();
    await page.goto(d.url + '/window/3');
    await page.locator('#win[data-state="idle"]').waitFor(T);
    pages.push({ ctx, page, at: `${width}x${height}`, width, height });
  }
  for (const { page, at } of pages) {
    const s = await seen(page);
    assert.deepEqual([s.name, s.zh, s.en], ['3 号窗口 Counter 3', '欢迎光临', 'Welcome'], `${at} idle`);
    await largestThatFits(page, `${at} idle`);
    await assertAxeClean(page, `window screen idle at ${at}`);
  }

  const t = (await d.counter(3, 'call')).ticket;
  for (const { page, at, height } of pages) {
    await page.locator(`#win[data-number="${t.number}"][data-state="called"]`).waitFor(T);
    const s = await seen(page);
    assert.deepEqual([s.number, s.zh, s.en], [t.number, '请到 3 号窗口', 'Please go to counter 3'], at);
    const num = await largestThatFits(page, `${at} called`);
    // The number is the screen's largest type: at least a third of the screen's height.
    assert.ok(num.h >= height / 3, `${at}: the number is ${num.h} px high`);
    assert.ok(num.px > (await page.evaluate(() => parseFloat(getComputedStyle(document.getElementById('words-zh')).fontSize))),
      `${at}: the number is larger than the words`);
    await page.locator('#win.flash').waitFor(T);
    await assertAxeClean(page, `window screen calling at ${at}`);
    await shot(page, `window-called-${at}`);
  }

  // A recall flashes the number again; the words stay.
  for (const { page } of pages) await page.locator('#win.flash').waitFor({ state: 'detached', timeout: 8000 });
  await d.counter(3, 'recall');
  for (const { page, at } of pages) {
    await page.locator('#win.flash').waitFor(T);
    assert.equal((await seen(page)).number, t.number, `${at} recall`);
  }

  await d.counter(3, 'pause');
  for (const { page, at } of pages) {
    await page.locator('#win[data-state="paused"]').waitFor(T);
    const s = await seen(page);
    assert.deepEqual([s.number, s.zh, s.en], ['暂停服务', '3 号窗口 暂停服务', 'Counter 3 paused'], at);
    assert.ok(!(await page.locator('#win').innerText()).includes(t.number), `${at}: no paused ticket as a live call`);
    await largestThatFits(page, `${at} paused`);
    await assertAxeClean(page, `window screen paused at ${at}`);
    await shot(page, `window-paused-${at}`);
  }
  await d.counter(3, 'resume');
  await d.counter(3, 'start');
  for (const { page, at } of pages) {
    await page.locator('#win[data-state="serving"]').waitFor(T);
    const s = await seen(page);
    assert.deepEqual([s.number, s.zh, s.en], [t.number, '正在办理', 'Now serving'], at);
    await largestThatFits(page, `${at} serving`);
  }

  // The daemon stops: the notice shows, nothing covers the number. It starts again: the screen heals.
  await d.kill9();
  for (const { page, at } of pages) {
    await page.locator('#link').waitFor({ state: 'visible', ...T });
    const [notice] = await boxes(page, '#link');
    assert.ok(notice.inside && !notice.clipped, `${at}: the notice is on screen`);
    await largestThatFits(page, `${at} down`);
    await assertAxeClean(page, `window screen disconnected at ${at}`);
    await shot(page, `window-down-${at}`);
  }
  await d.start();
  await d.counter(3, 'finish');
  const next = (await d.counter(3, 'call')).ticket;
  for (const { page, at } of pages) {
    await page.locator(`#win[data-number="${next.number}"][data-state="called"]`).waitFor({ timeout: 8000 });
    await page.locator('#link').waitFor({ state: 'hidden', ...T });
    await largestThatFits(page, `${at} after the restart`);
  }
  for (const { ctx } of pages) await ctx.close();
});

test('the counter\'s own name, the teller\'s 工号 and a green call, when the view carries them', async () => {
  const page = await (await b.newContext({ viewport: { width: 1920, height: 360 } })).newPage();
  // Fields of the display view this page reads, added to the daemon's real answers.
  const add = (c) => (c.number === 2 ? { ...c, name_zh: '对公 外汇窗口', name_en: 'Corporate & FX', teller: '0123' } : c);
  await page.route('**/api/v1/display', async (route) => {
    const r = await route.fetch();
    const j = await r.json();
    j.counters = j.counters.map(add);
    await route.fulfill({ response: r, json: j });
  });
  await page.goto(d.url + '/window/2');
  await page.locator('#win[data-state="idle"]').waitFor(T);
  assert.equal((await seen(page)).name, '对公 外汇窗口 Corporate & FX');
  assert.match(await page.locator('#teller').innerText(), /工号 0123\s*Staff No\./);
  await largestThatFits(page, 'named counter');
  await assertAxeClean(page, 'window screen with a name and a staff number');
  await shot(page, 'window-named-1920x360');
});

test('a counter that is not configured: 404 with the not-found page', async () => {
  const r = await d.api('GET', '/window/99', undefined, { Authorization: null });
  assert.equal(r.status, 404);
  assert.match(r.body, /找不到此页面/);
  const ok = await d.api('GET', '/window/1', undefined, { Authorization: null });
  assert.equal(ok.status, 200, 'public, as the hall display');
});
