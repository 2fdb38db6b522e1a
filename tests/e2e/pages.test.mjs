// The staff and customer pages in a real browser, clicked through as people
// would: the lobby issues a green ticket, the kiosk one for an elderly
// customer, the counter page calls and finishes it (buttons and keys), and
// the phone page follows one ticket until it is called.
import { test, after, afterEach, before, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { Daemon, browser, shot, demoConfig, signIn, pair } from './harness.mjs';

// Each test has its own daemon and makes the tickets it needs: none depends on what another left.
let d, b;
before(async () => { b = await browser(); });
after(async () => { await b?.close(); });
beforeEach(async () => { d = await new Daemon().start(); });
afterEach(async () => { await d?.stop(); });

const T = { timeout: 3000 };

// A resident ID number with its ISO 7064 MOD 11-2 check character.
function idNumber(area, birth, seq) {
  const body = area + birth + seq;
  const w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = [...body].reduce((a, c, i) => a + Number(c) * w[i], 0);
  return body + '10X98765432'[sum % 11];
}

test('the lobby issues a green ticket in two taps and upgrades and cancels', async () => {
  const page = await b.newPage({ viewport: { width: 1366, height: 768 } });
  await signIn(page, d, 'e2e-lobby');
  assert.equal(new URL(page.url()).pathname, '/lobby');
  await page.locator('#services button[data-service="B"]').click(T);
  await page.locator('#categories button[data-category="pregnant"]').click(T);
  await page.locator('#issued-number').getByText('B001').waitFor(T);
  const t = (await d.api('GET', '/api/v1/queue')).body.services.find((s) => s.id === 'B').tickets[0];
  assert.equal(t.number, 'B001');
  assert.equal(t.category, 'pregnant');
  assert.equal(t.green, true);
  // It shows in the live queue with the green mark.
  const row = page.locator('#queue tr[data-number="B001"]');
  await row.waitFor(T);
  assert.match(await row.innerText(), /绿色通道/);
  // A normal ticket from elsewhere appears, is upgraded from the page, then cancelled.
  const n = await d.issue('B');
  const nrow = page.locator(`#queue tr[data-number="${n.number}"]`);
  await nrow.waitFor(T);
  assert.equal(await nrow.locator('.green-mark').count(), 0);
  await nrow.locator('select').selectOption('military');
  await page.locator(`#queue tr[data-number="${n.number}"] .green-mark`).waitFor(T);
  assert.equal((await d.api('GET', `/api/v1/tickets/${n.id}`)).body.ticket.category, 'military');
  // Cancel asks first, then waits 10 s for an undo before it is sent.
  await page.locator(`#queue tr[data-number="${n.number}"] button[data-cancel]`).click(T);
  await page.locator('#confirm-yes').click(T);
  await nrow.waitFor({ state: 'detached', timeout: 15000 });
  assert.equal((await d.api('GET', `/api/v1/tickets/${n.id}`)).body.ticket.status, 'cancelled');
  // No printer is configured: no reprint button, but the preview of each ticket.
  assert.equal(await page.locator('[data-reprint]').count(), 0);
  assert.equal(await row.locator('a[href$="/ticket.png"]').count(), 1);
  // Today so far: nobody called yet, so no share; once B001 is called (no wait), 0.0% against 5%.
  await page.locator('#st-report').waitFor({ state: 'visible', ...T });
  assert.equal(await page.locator('#st-share').innerText(), '–');
  await d.counter(5, 'call');
  await page.locator('#st-share').getByText('0.0%').waitFor(T);
  assert.match(await page.locator('#st-report').innerText(), /≤ 5\.0%/);
  assert.match(await page.locator('#st-share').getAttribute('class'), /good/);
  await page.locator('#counters [data-counter="5"]').waitFor(T);
  await shot(page, 'lobby');
  await page.close();
});

test('the kiosk gives an elderly customer a green ticket with people ahead', async () => {
  const page = await b.newPage({ viewport: { width: 1366, height: 768 } });
  await d.issue('A');
  await pair(page, d, 'kiosk', { name: 'hall kiosk' });
  assert.equal(new URL(page.url()).pathname, '/kiosk');
  await page.locator('#services button[data-service="A"]').click(T);
  await page.locator('#who button[data-category="elderly"]').click(T);
  await page.locator('#ticket-number').waitFor(T);
  const number = await page.locator('#ticket-number').innerText();
  assert.match(number, /^A\d{3}$/);
  assert.match(await page.locator('#ticket').innerText(), /绿色通道/);
  assert.match(await page.locator('#ticket').innerText(), /前面还有/);
  const q = (await d.api('GET', '/api/v1/queue')).body.services.find((s) => s.id === 'A').tickets;
  const t = q.find((x) => x.number === number);
  assert.equal(t.category, 'elderly');
  assert.equal(await page.locator('#ticket-ahead').innerText(), String(t.ahead));
  // Worded as on the paper: an estimate under a minute is "under 1 min", never "0 s".
  assert.match(await page.locator('#ticket').innerText(), t.estimated_wait_s < 60 ? /不到 1 分钟/ : /分钟/);
  await shot(page, 'kiosk');
  await page.locator('#done').click();
  // The keypad: an ID number of someone born in 1950 makes an elderly ticket without saying so.
  await page.locator('#services button[data-service="B"]').click(T);
  await page.locator('#who button[data-category="id"]').click(T);
  for (const ch of idNumber('110101', '19500307', '123')) await page.locator('#pad button', { hasText: new RegExp(`^${ch}$`) }).click();
  assert.match(await page.locator('#idbox').innerText(), /^•{14}\d{3}[\dX]$/);
  await page.locator('#id-ok').click();
  await page.locator('#ticket-number').getByText(/^B\d{3}$/).waitFor(T);
  const byId = await page.locator('#ticket-number').innerText();
  const tb = (await d.api('GET', '/api/v1/queue')).body.services.find((s) => s.id === 'B').tickets.find((x) => x.number === byId);
  assert.equal(tb.category, 'elderly');
  await page.close();
});

test('the counter page calls and finishes with buttons and keys, once per click', async () => {
  const page = await b.newPage({ viewport: { width: 1366, height: 768 } });
  // Counter 5 has taken a green B001, so the green counter 1 gets the elderly A002 behind A001.
  await d.issue('B', { category: 'pregnant' });
  assert.equal((await d.counter(5, 'call')).ticket.number, 'B001');
  await d.issue('A');
  const kioskNumber = (await d.issue('A', { category: 'elderly' })).number;
  await signIn(page, d, 'e2e-teller', { counter: 1 });
  assert.equal(new URL(page.url()).pathname, '/counter/1');
  await page.locator('#state').getByText('空闲').waitFor(T);
  // Counter 1 is the green counter: it calls the kiosk's elderly ticket first.
  await page.locator('button[data-action="call"]').dblclick();
  await page.locator('#state').getByText('已叫号').waitFor(T);
  const number = await page.locator('#number').innerText();
  const c1 = (await d.api('GET', '/api/v1/counters/1')).body.counter;
  assert.equal(c1.ticket.number, number);
  assert.equal(number, kioskNumber);
  assert.equal(c1.ticket.category, 'elderly');
  assert.match(await page.locator('#facts').innerText(), /绿色通道/);
  // The double click called one customer, not two: the next in line still waits.
  await new Promise((r) => setTimeout(r, 300));
  const waitingA = (await d.api('GET', '/api/v1/queue')).body.services.find((s) => s.id === 'A').tickets;
  assert.deepEqual(waitingA.map((t) => t.number), ['A001']);
  assert.equal((await d.api('GET', '/api/v1/counters/1')).body.counter.ticket.number, number);
  await page.keyboard.press('s');
  await page.locator('#state').getByText('办理中').waitFor(T);
  await page.keyboard.press('f');
  await page.locator('#state').getByText('空闲').waitFor(T);
  assert.equal((await d.api('GET', `/api/v1/tickets/${c1.ticket.id}`)).body.ticket.status, 'served');
  assert.equal(await page.locator('#number').innerText(), '—');
  // Pause with P: the call button is disabled, the daemon knows.
  await page.keyboard.press('p');
  await page.locator('#state').getByText('暂停').waitFor(T);
  assert.equal((await d.api('GET', '/api/v1/counters/1')).body.counter.paused, true);
  assert.equal(await page.locator('button[data-action="call"]').isDisabled(), true);
  await shot(page, 'counter');
  await page.keyboard.press('p');
  await page.locator('#state').getByText('空闲').waitFor(T);
  // N calls A001; T then 1 moves it to the first other service (B), keeping its number.
  await page.keyboard.press('n');
  await page.locator('#number').getByText('A001').waitFor(T);
  // A second N at once is the same press: A001 is not finished and nobody else is called.
  await page.keyboard.press('n');
  await new Promise((r) => setTimeout(r, 200));
  assert.equal((await d.api('GET', '/api/v1/counters/1')).body.counter.ticket.number, 'A001');
  // A recall is possible once the second after the call has passed.
  await page.locator('button[data-action="recall"]:not([disabled])').waitFor(T);
  await page.keyboard.press('r');
  await page.locator('#facts').getByText(/重呼 1 次/).waitFor(T);
  await page.keyboard.press('t');
  await page.locator('#transfer button[data-service="B"]').waitFor(T);
  await page.keyboard.press('1');
  await page.locator('#state').getByText('空闲').waitFor(T);
  const inB = (await d.api('GET', '/api/v1/queue')).body.services.find((s) => s.id === 'B').tickets;
  assert.ok(inB.some((t) => t.number === 'A001' && t.service === 'B'), 'A001 waits in service B');
  await page.close();
});

test('the phone page shows the place and then the counter, and nothing of others', async () => {
  const page = await b.newPage({ viewport: { width: 390, height: 844 } });
  const mine = await d.issue('V');
  await d.issue('V');
  await page.goto(`${d.url}/t/${mine.token}`);
  await page.locator('#number').getByText(mine.number).waitFor(T);
  assert.equal(await page.locator('#ahead').innerText(), '0');
  const before = await page.locator('body').innerText();
  assert.doesNotMatch(before, /V002/);
  await d.counter(5, 'call');
  await page.locator('#status').getByText('请到 5 号窗口').waitFor(T);
  assert.match(await page.locator('#status').innerText(), /Please go to counter 5/);
  assert.doesNotMatch(await page.locator('body').innerText(), /V002/);
  await shot(page, 'phone');
  await page.goto(`${d.url}/t/${'0'.repeat(32)}`);
  await page.locator('#status').getByText('找不到此号票').waitFor(T);
  await page.close();
});

test('every page says what to do without JavaScript', async () => {
  // Signed in as the head (through the page, with JavaScript), so the staff pages themselves are seen.
  const js = await b.newContext();
  await signIn(await js.newPage(), d, 'e2e-head');
  const ctx = await b.newContext({ javaScriptEnabled: false, storageState: await js.storageState() });
  await js.close();
  const page = await ctx.newPage();
  for (const path of ['/signin', '/display', '/lobby', '/kiosk', '/counter/2', `/t/${'a'.repeat(32)}`]) {
    await page.goto(d.url + path);
    assert.equal(new URL(page.url()).pathname, path, `${path} is not sent to sign in`);
    assert.match(await page.locator('noscript').first().innerText(), /JavaScript|大堂/, path);
  }
  await ctx.close();
});

// Print states other than "none" need a printer (tests/integration/test_printing.py
// prints through a real CUPS); here the daemon's answers are given them, and a
// missed target, so the page's drawing of each is seen.
test('the lobby shows print states, reprints, and today\'s overtime share when the daemon has them', async () => {
  const page = await b.newPage({ viewport: { width: 1366, height: 768 } });
  const t = await d.issue('V');
  const reprints = [];
  await page.route('**/api/v1/queue', async (route) => {
    const r = await route.fetch();
    const q = await r.json();
    for (const s of q.services)
      for (const x of s.tickets) x.print = x.id === t.id ? { state: 'failed', error: 'paper out' } : { state: 'printed', error: null };
    await route.fulfill({ response: r, json: q });
  });
  await page.route('**/api/v1/reports/daily', (route) =>
    route.fulfill({ json: { totals: { overtime_share: 0.08, target_share: 0.05, target_met: false } } }));
  await page.route(`**/api/v1/tickets/${t.id}/reprint`, (route) => {
    reprints.push(route.request().method());
    return route.fulfill({ status: 202, json: { ticket: { ...t, print: { state: 'queued', error: null } } } });
  });
  await signIn(page, d, 'e2e-lobby');
  const row = page.locator(`#queue tr[data-ticket="${t.id}"]`);
  await row.locator('[data-print="failed"]').waitFor(T);
  assert.match(await row.innerText(), /打印失败/);
  assert.equal(await row.locator('[data-print]').getAttribute('title'), 'paper out');
  assert.equal(await row.locator(`a[href="/api/v1/tickets/${t.id}/ticket.png"]`).count(), 1);
  await row.locator('button[data-reprint]').click();
  for (let i = 0; i < 30 && reprints.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(reprints, ['POST'], 'one reprint request');
  await page.locator('#st-report').waitFor({ state: 'visible', ...T });
  assert.equal(await page.locator('#st-share').innerText(), '8.0%');
  assert.match(await page.locator('#st-report').innerText(), /≤ 5\.0%/);
  assert.match(await page.locator('#st-share').getAttribute('class'), /bad/);
  // A reload may still be in a route handler: let it end quietly before the page goes.
  await page.unrouteAll({ behavior: 'ignoreErrors' });
  await page.close();
});

test('the lobby marks tickets waiting past their service\'s overtime threshold', async () => {
  // Service V with a one-second threshold, on a daemon of its own.
  const conf = demoConfig().replace(/(\[service V\][^[]*?)overtime = 20m/, '$1overtime = 1s');
  assert.match(conf, /overtime = 1s/);
  const d2 = await new Daemon(conf).start();
  try {
    const page = await b.newPage({ viewport: { width: 1366, height: 768 } });
    const late = await d2.issue('V');
    await signIn(page, d2, 'e2e-lobby');
    await page.locator(`#queue tr[data-number="${late.number}"]`).waitFor(T);
    await new Promise((r) => setTimeout(r, 3200));   // whole-second times: over 2 s for sure
    const fresh = await d2.issue('V');    // an event: the page redraws
    await page.locator(`#queue tr[data-number="${fresh.number}"]`).waitFor(T);
    assert.match(await page.locator(`#queue tr[data-number="${late.number}"]`).getAttribute('class'), /overtime/);
    assert.doesNotMatch(await page.locator(`#queue tr[data-number="${fresh.number}"]`).getAttribute('class'), /overtime/);
    assert.equal(await page.locator('#st-over').innerText(), '1');
    await page.close();
  } finally {
    await d2.stop();
  }
});

test('a second tap while a ticket is being issued issues nothing more, even when the page redraws meanwhile', async () => {
  const page = await b.newPage({ viewport: { width: 1366, height: 768 } });
  await signIn(page, d, 'e2e-lobby');
  await page.locator('#services button[data-service="V"]').click(T);
  const vWaiting = async () => (await d.api('GET', '/api/v1/queue')).body.services.find((s) => s.id === 'V').waiting;
  const before = await vWaiting();
  // Hold the page's issue request until released, as on a slow network.
  let release;
  const gate = new Promise((r) => { release = r; });
  await page.route('**/api/v1/tickets', async (route) => {
    if (route.request().method() === 'POST') await gate;
    await route.continue();
  });
  const normal = page.locator('#categories button[data-category="normal"]');
  await normal.click(T);
  // Another ticket elsewhere: an event, so the page redraws while its own request is in flight.
  const other = await d.issue('B');
  await page.locator(`#queue tr[data-number="${other.number}"]`).waitFor(T);
  assert.equal(await normal.isDisabled(), true, 'the category buttons stay disabled while issuing');
  await normal.click({ force: true, timeout: 1000 });
  release();
  await page.locator('#msg.ok').waitFor(T);
  await page.waitForTimeout(300);   // the subject: no second ticket arrives, which only time can show
  assert.equal(await vWaiting(), before + 1, 'one ticket for two taps');
  await page.close();
});

test('the pages apply what their streams carry, without loading the hall after every event', async () => {
  const d2 = await new Daemon().start();
  const ctx = await b.newContext();        // the staff's: signed in as the head
  const kctx = await b.newContext();       // the kiosk's: paired as a device
  try {
    await signIn(await ctx.newPage(), d2, 'e2e-head');
    await pair(await kctx.newPage(), d2, 'kiosk');
    const seen = {};
    const open = async (name, path, c = ctx) => {
      const page = await c.newPage();
      seen[name] = [];
      page.on('request', (r) => seen[name].push(new URL(r.url()).pathname));
      await page.goto(d2.url + path);
      return page;
    };
    const mine = await d2.issue('B');
    const lobby = await open('lobby', '/lobby');
    const counter = await open('counter', '/counter/3');
    const display = await open('display', '/display');
    const kiosk = await open('kiosk', '/kiosk', kctx);
    const phone = await open('phone', `/t/${mine.token}`);
    await lobby.locator(`#queue tr[data-number="${mine.number}"]`).waitFor(T);
    await counter.locator('#state').getByText('空闲').waitFor(T);
    await display.locator('.tile[data-service="B"] .n').getByText('1').waitFor(T);
    await kiosk.locator('#services button[data-service="B"] .sub').getByText(/等候 1 人/).waitFor(T);
    await phone.locator('#ahead').getByText('0').waitFor(T);
    const loads = () => Object.fromEntries(Object.entries(seen).map(([k, v]) =>
      [k, v.filter((p) => ['/api/v1/queue', '/api/v1/display', `/api/v1/t/${mine.token}`].includes(p)).length]));
    const before = loads();

    for (let i = 0; i < 5; i++) await d2.issue('A');
    assert.equal((await d2.counter(3, 'call')).ticket.number, 'A001');
    await lobby.locator('#st-waiting').getByText('5').waitFor(T);      // four A and the B
    await counter.locator('#number').getByText('A001').waitFor(T);
    await counter.locator('#waiting').getByText('4').waitFor(T);        // counter 3 serves only A
    await display.locator('#now-number').getByText('A001').waitFor(T);
    await display.locator('.tile[data-service="A"] .n').getByText('4').waitFor(T);
    await kiosk.locator('#services button[data-service="A"] .sub').getByText(/等候 4 人/).waitFor(T);
    assert.equal(await lobby.locator('#queue tr[data-number="A002"] td').nth(3).innerText(), '0');
    assert.equal(await lobby.locator('#queue tr[data-number="A005"] td').nth(3).innerText(), '3');
    await d2.counter(5, 'call');
    await phone.locator('#status').getByText('请到 5 号窗口').waitFor(T);
    await lobby.locator('#counters [data-counter="5"]').getByText(mine.number).waitFor(T);

    assert.deepEqual(loads(), before, 'no page loaded the hall or its ticket again');
    // The public pages never touch what only the staff may see.
    for (const name of ['display', 'kiosk', 'phone'])
      for (const p of ['/api/v1/queue', '/api/v1/events'])
        assert.ok(!seen[name].includes(p), `${name} asked for ${p}`);
  } finally {
    await ctx.close();
    await kctx.close();
    await d2.stop();
  }
});
