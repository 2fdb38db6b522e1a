// The kiosk (/kiosk) as a customer meets it, on the portrait 1080×1920 floor
// kiosk and on a 1920×1080 screen: in every state (services, who, keypad,
// ticket, the lobby-manager call, out of service) the choices are at least
// 96×96 px and, in portrait, none in the top fifth; every other target is at
// least 64 px; no text is under 18 px; nothing is clipped or off the screen;
// axe-core finds nothing. Then what the kiosk promises: every green
// category of the config, 中文 / English with an English ticket, the call for
// the lobby manager reaching a signed-in lobby page (and no ticket issued),
// the phone page's QR code on screen when no paper printed, with no printer
// (read back from a screenshot with zbarimg) or a print that failed, and the
// out-of-service screen while the daemon is stopped, idle or in the middle
// of a choice.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Daemon, demoConfig, browser, pair, signIn, boxes, assertAxeClean, axeEnhancedContrast, shot, ROOT, ARTIFACTS } from './harness.mjs';

const T = { timeout: 10000 };
const SIZES = [[1080, 1920], [1920, 1080]];
const CHOICES = '#services button, #who button, #pad button';
const TARGETS = '.lang, #help, [data-back], #id-ok, #done';
let d, b;

before(async () => {
  d = await new Daemon().start();
  b = await browser();
});
after(async () => { await b?.close(); await d?.stop(); });

async function kiosk(width, height, name = 'test kiosk') {
  const ctx = await b.newContext({ viewport: { width, height } });
  const page = await ctx.newPage();
  await pair(page, d, 'kiosk', { name });
  await page.locator('#services button[data-service]').first().waitFor(T);
  return { ctx, page };
}

// Every visible element with text of its own: its text and font size in CSS px.
function textSizes(page) {
  return page.evaluate(() => {
    const out = [];
    for (const el of document.querySelectorAll('body *')) {
      const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
      const r = el.getBoundingClientRect();
      if (!own || r.width === 0 || r.height === 0 || getComputedStyle(el).visibility === 'hidden') continue;
      out.push({ text: el.textContent.trim().slice(0, 30), font: parseFloat(getComputedStyle(el).fontSize) });
    }
    return out;
  });
}

// What the issue asks of every state, measured.
async function checkState(page, what, [width, height]) {
  const choices = await boxes(page, CHOICES);
  for (const c of choices) {
    assert.ok(c.w >= 96 && c.h >= 96, `${what}: choice "${c.text}" is ${c.w}×${c.h}`);
    assert.ok(c.inside && !c.clipped, `${what}: choice "${c.text}" off screen or clipped`);
    if (height > width) assert.ok(c.y >= height / 5, `${what}: choice "${c.text}" at y=${c.y}, in the top fifth`);
  }
  for (const t of await boxes(page, TARGETS)) {
    assert.ok(t.w >= 64 && t.h >= 64, `${what}: target "${t.text}" is ${t.w}×${t.h}`);
    assert.ok(t.inside && !t.clipped, `${what}: target "${t.text}" off screen or clipped`);
  }
  for (const t of await textSizes(page)) assert.ok(t.font >= 18, `${what}: "${t.text}" at ${t.font} px`);
  const all = await boxes(page, 'main *, header *, .down *');
  for (const x of all) assert.ok(x.inside && !x.clipped, `${what}: "${x.text}" off screen or clipped`);
  await assertAxeClean(page, what);
  await shot(page, `kiosk-${what.replace(/[^a-z0-9]+/gi, '-')}`);
  return choices;
}

for (const size of SIZES) {
  const [w, h] = size;
  test(`every state of the kiosk at ${w}x${h}: big choices low down, readable text, no axe violation`, async () => {
    const { ctx, page } = await kiosk(w, h);
    try {
      const svc = await checkState(page, `services ${w}x${h}`, size);
      assert.equal(svc.length, 3, 'the three services');
      await page.locator('#services button[data-service="A"]').click();
      await page.locator('#who button[data-category="normal"]').waitFor(T);
      const who = await checkState(page, `who ${w}x${h}`, size);
      assert.equal(who.length, 7, 'regular, five green categories, the ID number');
      await page.locator('#who button[data-category="id"]').click();
      await page.locator('#pad').waitFor(T);
      const keys = await checkState(page, `keypad ${w}x${h}`, size);
      assert.equal(keys.length, 12, 'twelve keys');
      await page.locator('#id-ok').click();        // nothing typed: the error, readable on the navy
      await page.locator('#msg').getByText(/15或18位/).waitFor(T);
      await checkState(page, `keypad error ${w}x${h}`, size);
      await page.locator('#step-id [data-back]').click();
      await page.locator('#who button[data-category="elderly"]').click();
      await page.locator('#ticket-number').waitFor(T);
      await page.locator('#qr').waitFor(T);
      await page.waitForFunction(() => document.getElementById('qr').naturalWidth > 0);
      await checkState(page, `ticket ${w}x${h}`, size);
      await page.locator('#help').click();
      await page.locator('#help-said').getByText(/已通知大堂经理/).waitFor(T);
      await checkState(page, `help called ${w}x${h}`, size);
    } finally {
      await ctx.close();
    }
  });
}

test('the kiosk offers every green category of the config, in its order', async () => {
  const conf = readFileSync(join(ROOT, 'config', 'branchq.conf'), 'utf8');
  const section = conf.split(/^\[green\]$/m)[1].split(/^\[/m)[0];
  const configured = [...section.matchAll(/^([a-z_]+)\s*=/gm)].map((m) => m[1]).filter((k) => k !== 'elderly_age');
  assert.deepEqual(configured, ['elderly', 'disabled', 'pregnant', 'military', 'foreign']);
  const { ctx, page } = await kiosk(1080, 1920);
  try {
    await page.locator('#services button[data-service="B"]').click();
    await page.locator('#who button.green').first().waitFor(T);
    const shown = await page.locator('#who button').evaluateAll((bs) => bs.map((x) => x.dataset.category));
    assert.deepEqual(shown, ['normal', ...configured, 'id']);
    assert.match(await page.locator('#who button[data-category="elderly"]').innerText(), /60/);
    // Each is a green ticket of its category.
    for (const cat of ['pregnant', 'military']) {
      if (await page.locator('#done').isVisible()) {
        await page.locator('#done').click();
        await page.locator('#services button[data-service="B"]').click();
      }
      await page.locator(`#who button[data-category="${cat}"]`).click();
      await page.locator('#ticket-number').waitFor(T);
      const number = await page.locator('#ticket-number').innerText();
      const t = (await d.api('GET', '/api/v1/queue')).body.services.find((s) => s.id === 'B').tickets
        .find((x) => x.number === number);
      assert.equal(t.category, cat);
      assert.match(await page.locator('#ticket').innerText(), /绿色通道/);
    }
  } finally {
    await ctx.close();
  }
});

test('中文 / English: the switch puts English first and the ticket is issued in English', async () => {
  const { ctx, page } = await kiosk(1080, 1920);
  try {
    assert.equal(await page.locator('html').getAttribute('lang'), 'zh-CN');
    assert.match(await page.locator('#h-service .first').innerText(), /请选择业务/);
    await page.locator('#lang-en').click();
    assert.equal(await page.locator('html').getAttribute('lang'), 'en');
    assert.equal(await page.locator('#lang-en').getAttribute('aria-pressed'), 'true');
    assert.equal(await page.locator('#h-service .first').innerText(), 'Please choose a service');
    assert.match(await page.locator('#services button[data-service="A"] .first').innerText(), /Personal banking/);
    assert.match(await page.locator('#services button[data-service="A"] .sub').innerText(), /^\d+ waiting/);
    await assertAxeClean(page, 'kiosk in English');
    await shot(page, 'kiosk-english-services');
    await page.locator('#services button[data-service="A"]').click();
    assert.equal(await page.locator('#who button[data-category="normal"] .first').innerText(), 'Regular ticket');
    await page.locator('#who button[data-category="normal"]').click();
    await page.locator('#ticket-number').waitFor(T);
    const text = await page.locator('#ticket').innerText();
    assert.ok(text.indexOf('ahead of you') < text.indexOf('前面还有'), `English first: ${text}`);
    assert.match(text, /No paper: please scan this QR code or photograph this screen/);
    const number = await page.locator('#ticket-number').innerText();
    const t = (await d.api('GET', '/api/v1/queue')).body.services.find((s) => s.id === 'A').tickets
      .find((x) => x.number === number);
    assert.deepEqual([t.lang, t.category], ['en', 'normal']);
    await assertAxeClean(page, 'kiosk ticket in English');
    await shot(page, 'kiosk-english-ticket');
    // The next customer starts in Chinese.
    await page.locator('#done').click();
    assert.equal(await page.locator('html').getAttribute('lang'), 'zh-CN');
    assert.match(await page.locator('#h-service .first').innerText(), /请选择业务/);
    // A foreign customer chosen in Chinese reads the rest in English.
    await page.locator('#services button[data-service="A"]').click();
    await page.locator('#who button[data-category="foreign"]').click();
    await page.locator('#ticket-number').waitFor(T);
    assert.equal(await page.locator('html').getAttribute('lang'), 'en');
    assert.match(await page.locator('#ticket .facts').first().innerText(), /^\d+ (person|people) ahead of you/);
  } finally {
    await ctx.close();
  }
});

test('no paper: the screen says so and shows a QR code that reads as the phone page', async () => {
  const { ctx, page } = await kiosk(1080, 1920);
  try {
    await page.locator('#services button[data-service="V"]').click();
    await page.locator('#who button[data-category="normal"]').click();
    await page.locator('#ticket-number').waitFor(T);
    const number = await page.locator('#ticket-number').innerText();
    assert.equal(await page.locator('#paper').getAttribute('data-state'), 'none');
    assert.match(await page.locator('#paper').innerText(), /没有打印纸质号票：请扫描下方二维码，或拍下本屏幕/);
    assert.doesNotMatch(await page.locator('#ticket').innerText(), /请取走号票/);
    await page.waitForFunction(() => document.getElementById('qr').naturalWidth > 0);
    const file = join(ARTIFACTS, 'kiosk-qr-on-screen.png');
    await page.locator('#qr').screenshot({ path: file });
    const { stdout } = await promisify(execFile)('zbarimg', ['--nodbus', '-q', '--raw', file]);
    const t = (await d.api('GET', '/api/v1/queue')).body.services.find((s) => s.id === 'V').tickets
      .find((x) => x.number === number);
    const full = (await d.api('GET', `/api/v1/tickets/${t.id}`)).body.ticket;
    const url = stdout.trim();
    assert.match(url, /^http:\/\/127\.0\.0\.1:8080\/t\/[0-9a-f]{32}$/);
    // The code opens this very ticket's phone page.
    const phone = await d.api('GET', `/api/v1/t/${url.split('/t/')[1]}`, undefined, { Authorization: null });
    assert.equal(phone.status, 200);
    assert.equal(phone.body.ticket.number, full.number);
  } finally {
    await ctx.close();
  }
});

test('呼叫大堂经理: a banner with the kiosk\'s name on the signed-in lobby page, and no ticket', async () => {
  const lctx = await b.newContext({ viewport: { width: 1366, height: 768 } });
  const lobby = await lctx.newPage();
  const { ctx, page } = await kiosk(1080, 1920, 'north door kiosk');
  try {
    await signIn(lobby, d, 'e2e-lobby', { next: '/lobby' });
    await lobby.locator('#queue').waitFor(T);
    // The lobby's stream is live: a ticket issued now shows on it.
    const probe = await d.issue('B');
    await lobby.locator(`#queue tr[data-number="${probe.number}"]`).waitFor(T);
    const before = (await d.api('GET', '/api/v1/queue')).body.services.reduce((n, s) => n + s.waiting, 0);
    await page.locator('#help').click();
    await page.locator('#help-said').getByText(/The lobby manager is on the way/).waitFor(T);
    const banner = lobby.locator('.helpcall[data-from="north door kiosk"]');
    await banner.waitFor(T);
    assert.match(await banner.innerText(), /north door kiosk 呼叫大堂经理/);
    assert.equal(await banner.getAttribute('role'), 'alert');
    await lobby.waitForFunction(() => Number(document.body.dataset.helpChimes) >= 1, null, T);
    await assertAxeClean(lobby, 'lobby with a help call');
    await shot(lobby, 'lobby-help-call');
    await shot(page, 'kiosk-help-called');
    const after = (await d.api('GET', '/api/v1/queue')).body.services.reduce((n, s) => n + s.waiting, 0);
    assert.equal(after, before, 'the call issued no ticket');
    assert.ok(await page.locator('#help').isDisabled(), 'one call at a time');
    await banner.locator('.helpcall-ack').click();
    await banner.waitFor({ state: 'detached', timeout: 5000 });
  } finally {
    await ctx.close();
    await lctx.close();
  }
});

test('out of service: the whole screen says so while the daemon is stopped, idle or mid-choice', async () => {
  const { ctx, page } = await kiosk(1080, 1920);
  const other = await kiosk(1920, 1080);
  try {
    await other.page.locator('#services button[data-service="A"]').click();
    await other.page.locator('#who button[data-category="id"]').click();
    await other.page.locator('#pad').waitFor(T);
    await d.stop();
    for (const [p, size] of [[page, [1080, 1920]], [other.page, [1920, 1080]]]) {
      await p.locator('#down').waitFor({ state: 'visible', timeout: 15000 });
      assert.match(await p.locator('#down').innerText(), /暂停服务[\s\S]*Out of service[\s\S]*请咨询大堂经理[\s\S]*ask the lobby staff/);
      // Nothing under it can be tapped.
      const hit = await p.evaluate(() => document.elementFromPoint(innerWidth / 2, innerHeight * 0.8).closest('#down') !== null);
      assert.ok(hit, 'the notice covers the choices');
      await checkState(p, `out of service ${size[0]}x${size[1]}`, size);
    }
    await d.start();
    await page.locator('#down').waitFor({ state: 'hidden', timeout: 15000 });
    await other.page.locator('#down').waitFor({ state: 'hidden', timeout: 15000 });
    // The customer in the middle of a choice goes on where they were.
    assert.ok(await other.page.locator('#pad').isVisible());
  } finally {
    await ctx.close();
    await other.ctx.close();
  }
});

test('a print that fails: "printing" first, then no paper and the QR code, never "take your ticket"', async () => {
  // A printer queue on a CUPS server nobody runs (loopback port 1): every print fails.
  const d2 = await new Daemon(demoConfig({}, '[printer]\nqueue = ticket\nserver = 127.0.0.1:1\ntimeout = 3s\n')).start();
  const ctx = await b.newContext({ viewport: { width: 1080, height: 1920 } });
  try {
    const page = await ctx.newPage();
    await pair(page, d2, 'kiosk');
    await page.locator('#services button[data-service="A"]').click(T);
    await page.locator('#who button[data-category="normal"]').click(T);
    await page.locator('#ticket-number').waitFor(T);
    const first = await page.locator('#paper').getAttribute('data-state');
    assert.ok(['printing', 'none'].includes(first), `the paper at first: ${first}`);
    await page.locator('#paper[data-state="none"]').waitFor({ timeout: 20000 });
    assert.match(await page.locator('#paper').innerText(), /No paper: please scan this QR code or photograph this screen/);
    assert.doesNotMatch(await page.locator('#ticket').innerText(), /请取走号票/);
    const number = await page.locator('#ticket-number').innerText();
    const t = (await d2.api('GET', '/api/v1/queue')).body.services.find((s) => s.id === 'A').tickets
      .find((x) => x.number === number);
    assert.equal(t.print.state, 'failed', 'the daemon says the print failed');
    await page.waitForFunction(() => document.getElementById('qr').naturalWidth > 0);
    await checkState(page, 'print failed 1080x1920', [1080, 1920]);
  } finally {
    await ctx.close();
    await d2.stop();
  }
});

test('大字版: one tap makes the kiosk larger at 7:1, and the next customer starts plain', async () => {
  for (const [width, height] of SIZES) {
    const { ctx, page } = await kiosk(width, height);
    const before = (await boxes(page, '#services button[data-service]'))[0].font;
    await page.locator('#large').click();
    await page.locator('html.large').waitFor({ state: 'attached', ...T });
    assert.equal(await page.locator('#large').getAttribute('aria-pressed'), 'true');
    const after = (await boxes(page, '#services button[data-service]'))[0].font;
    assert.ok(after >= before * 1.2, `larger: ${before} -> ${after} px`);
    assert.deepEqual(await axeEnhancedContrast(page), [], 'every text at 7:1 in large text');
    await checkState(page, `large text at ${width}x${height}`, [width, height]);
    await shot(page, `kiosk-large-${width}x${height}`);
    // A ticket and Done: the next customer gets the kiosk as it was.
    await page.locator('#services button[data-service]').first().click();
    await page.locator('#who button').first().click();
    await page.locator('#done').click();
    await page.locator('html:not(.large)').waitFor({ state: 'attached', ...T });
    await ctx.close();
  }
});
