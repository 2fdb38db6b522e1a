// The lobby and the counter page at 1366x768, as issue 12 asks of them:
// every service's queue and the counters on the screen at once, targets a
// finger can hit, a cancel that asks first and can be undone for 10 s, a
// search by number; the counter's next five in the order its calls take
// them, a transferred customer's earlier legs, and a transfer dialog with a
// title and a way out. axe-core runs in every state the tests reach.
import { test, after, afterEach, before, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { Daemon, browser, shot, signIn, assertAxeClean, boxes } from './harness.mjs';

let d, b;
before(async () => { b = await browser(); });
after(async () => { await b?.close(); });
beforeEach(async () => { d = await new Daemon().start(); });
afterEach(async () => { await d?.stop(); });

const T = { timeout: 3000 };
const VIEW = { viewport: { width: 1366, height: 768 } };
const STAFF_TARGET_PX = 44;

const ticketStatus = async (id) => (await d.api('GET', `/api/v1/tickets/${id}`)).body.ticket.status;

// Wait for fn() to be true, polling: a condition, not a fixed sleep.
async function until(fn, what, ms = 15000) {
  const end = Date.now() + ms;
  for (;;) {
    if (await fn()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// Every visible control on screen (not scrolled away inside a block) is at least 44x44 px.
async function assertTargets(page, what) {
  const small = (await boxes(page, 'button, select, input, a'))
    .filter((x) => x.inside && !x.clipped && (x.w < STAFF_TARGET_PX || x.h < STAFF_TARGET_PX) &&
      !/^预览 Preview$/.test(x.text.replace(/\s+/g, ' ')));
  assert.deepEqual(small, [], `${what}: controls under ${STAFF_TARGET_PX} px`);
}

async function busyLobby() {
  for (let i = 0; i < 12; i++) await d.issue('A');
  for (let i = 0; i < 4; i++) await d.issue('B');
  for (let i = 0; i < 3; i++) await d.issue('V');
  await d.counter(1, 'call');         // A001 at counter 1
  await d.counter(5, 'call');         // B001 at counter 5
}

test('the lobby shows every service and the counters at 1366x768, and finds a number', async () => {
  await busyLobby();
  const page = await b.newPage(VIEW);
  await signIn(page, d, 'e2e-lobby');
  await page.locator('#queue tr[data-number="V003"]').waitFor(T);
  await page.locator('#counters [data-counter="5"]').getByText('B001').waitFor(T);
  await assertAxeClean(page, 'lobby with a long queue');
  // Services A, B and V, their headings, and every counter, on the screen and not cut off.
  const blocks = await boxes(page, '.svc[data-service], .svc h3, #counters, #counters li, #find-number');
  assert.equal(blocks.length, 3 + 3 + 1 + 5 + 1, 'every block measured');
  for (const x of blocks) assert.ok(x.inside && !x.clipped, `on screen: ${JSON.stringify(x)}`);
  assert.equal(await page.evaluate(() => document.documentElement.scrollHeight), 768, 'the page itself does not scroll');
  await assertTargets(page, 'lobby');
  // The green-channel choice is not right up against Cancel.
  const sel = (await boxes(page, '#queue tr[data-number="B002"] select'))[0];
  const cancel = (await boxes(page, '#queue tr[data-number="B002"] button[data-cancel]'))[0];
  assert.ok(sel.h >= STAFF_TARGET_PX && sel.font >= 16, `select ${sel.h} px high, ${sel.font} px text`);
  assert.ok(cancel.x - (sel.x + sel.w) >= 16, `a gap of ${cancel.x - (sel.x + sel.w)} px between select and Cancel`);
  await shot(page, 'lobby-1366');

  // A011 is far down A's block, scrolled out of sight: found, it is brought into view and marked.
  const far = (await boxes(page, '#queue tr[data-number="A011"]'))[0];
  assert.ok(far === undefined || far.clipped || !far.inside, 'A011 starts out of sight');
  await page.locator('#find-number').fill('a11');
  await page.locator('#find button[type="submit"]').click();
  await page.locator('#queue tr[data-number="A011"].found').waitFor(T);
  const seen = (await boxes(page, '#queue tr[data-number="A011"]'))[0];
  assert.ok(seen.inside && !seen.clipped, `A011 in view once found: ${JSON.stringify(seen)}`);
  const ahead = (await d.api('GET', '/api/v1/queue')).body.services.find((s) => s.id === 'A').tickets
    .find((t) => t.number === 'A011').ahead;
  assert.match(await page.locator('#find-msg').innerText(), new RegExp(`A011 is waiting, ${ahead} ahead`));
  await assertAxeClean(page, 'lobby, a number found');
  await shot(page, 'lobby-find');
  // At a counter, or not here at all: said so, nothing marked.
  await page.locator('#find-number').fill('A001');
  await page.locator('#find-number').press('Enter');
  await page.locator('#find-msg').getByText('A001 is at counter 1').waitFor(T);
  assert.equal(await page.locator('#queue tr.found').count(), 0);
  await page.locator('#find-number').fill('V099');
  await page.locator('#find-number').press('Enter');
  await page.locator('#find-msg').getByText('V099 is not waiting').waitFor(T);
  await assertAxeClean(page, 'lobby, a number not found');
  await page.close();
});

test('a cancel asks first, can be undone for 10 s, and is sent only after that', async () => {
  const x = await d.issue('B');
  const y = await d.issue('B');
  const page = await b.newPage(VIEW);
  await signIn(page, d, 'e2e-lobby');
  const rowX = page.locator(`#queue tr[data-ticket="${x.id}"]`);
  await rowX.waitFor(T);

  // One tap only asks.
  await rowX.locator('button[data-cancel]').click();
  const dialog = page.locator('#confirm');
  await dialog.waitFor({ state: 'visible', ...T });
  assert.match(await dialog.getByRole('heading').innerText(), new RegExp(`取消号票 ${x.number}`));
  await assertAxeClean(page, 'lobby, cancel asks to confirm');
  await shot(page, 'lobby-cancel-confirm');
  await page.locator('#confirm-no').click();
  await dialog.waitFor({ state: 'hidden', ...T });
  assert.equal(await ticketStatus(x.id), 'waiting', 'keep waiting: nothing sent');
  // Esc closes it the same way.
  await rowX.locator('button[data-cancel]').click();
  await dialog.waitFor({ state: 'visible', ...T });
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'hidden', ...T });

  // Confirmed: 10 s to undo, shown in the row and in the undo bar; undone, it keeps waiting.
  await rowX.locator('button[data-cancel]').click();
  await page.locator('#confirm-yes').click();
  const undoX = page.locator(`#undo [data-pending="${x.id}"]`);
  await undoX.waitFor(T);
  assert.match(await undoX.innerText(), new RegExp(`${x.number} 将在 \\d+ 秒后取消`));
  assert.match(await rowX.getAttribute('class'), /pending/);
  await assertAxeClean(page, 'lobby, a cancel that can be undone');
  await shot(page, 'lobby-cancel-undo');
  assert.equal(await ticketStatus(x.id), 'waiting', 'not sent while it can be undone');
  await undoX.locator('button[data-undo]').click();
  await undoX.waitFor({ state: 'detached', ...T });
  await page.locator('#msg').getByText(`Undone: ${x.number} keeps waiting`).waitFor(T);

  // Y, confirmed after X was undone, and not undone: cancelled once its 10 s are over.
  const rowY = page.locator(`#queue tr[data-ticket="${y.id}"]`);
  await rowY.locator('button[data-cancel]').click();
  await page.locator('#confirm-yes').click();
  await page.locator(`#undo [data-pending="${y.id}"]`).waitFor(T);
  assert.equal(await ticketStatus(y.id), 'waiting', 'the delay holds the cancel back');
  await until(async () => (await ticketStatus(y.id)) === 'cancelled', `${y.number} cancelled`);
  await rowY.waitFor({ state: 'detached', ...T });
  await page.locator(`#undo [data-pending="${y.id}"]`).waitFor({ state: 'detached', ...T });
  // X's 10 s ended before Y's: its undone cancel was never sent.
  assert.equal(await ticketStatus(x.id), 'waiting', `${x.number}, undone, still waits`);
  await rowX.waitFor(T);
  await page.close();
});

test('the counter page shows the next five in the order five calls take them', async () => {
  // Normal, green and English tickets in A and B, for the green counter 1 (A B).
  for (const [s, category] of [['A'], ['B'], ['A', 'elderly'], ['A'], ['B', 'disabled'],
    ['A', 'foreign'], ['A'], ['B'], ['A']]) await d.issue(s, category ? { category } : {});
  const page = await b.newPage(VIEW);
  await signIn(page, d, 'e2e-teller', { counter: 1 });
  const items = page.locator('#next li[data-number]');
  await until(async () => (await items.count()) === 5, 'five in the next list', 3000);
  const shown = await items.evaluateAll((els) => els.map((e) => e.dataset.number));
  await assertAxeClean(page, 'counter with five next');
  for (const x of await boxes(page, '#next li, #actions button')) assert.ok(x.inside && !x.clipped, `on screen: ${x.text}`);
  await assertTargets(page, 'counter');
  await shot(page, 'counter-next');
  const called = [];
  for (let i = 0; i < 5; i++) called.push((await d.counter(1, 'call')).ticket.number);
  assert.deepEqual(shown, called, 'what the page showed is what five calls called');
  // And the page follows: its list is the daemon's for the hall as it is now.
  const now = (await d.api('GET', '/api/v1/counters/1/next')).body.next.map((t) => t.number);
  await until(async () => JSON.stringify(await items.evaluateAll((els) => els.map((e) => e.dataset.number))) ===
    JSON.stringify(now), 'the list after the calls', 3000);
  await page.close();
});

test('the transfer dialog has a title and a cancel, and a transferred customer shows where they were', async () => {
  const t = await d.issue('A');
  const page = await b.newPage(VIEW);
  await signIn(page, d, 'e2e-teller', { counter: 1 });
  await page.locator(`#next li[data-number="${t.number}"]`).waitFor(T);
  await page.locator('button[data-action="call"]').click();
  await page.locator('#number').getByText(t.number).waitFor(T);
  await page.locator('#next li.none').waitFor(T);

  const dialog = page.locator('#transfer-dialog');
  await page.locator('button[data-action="transfer"]').click();
  await dialog.waitFor({ state: 'visible', ...T });
  assert.match(await dialog.getByRole('heading').innerText(), /转移到哪项业务？\s*Transfer to which service\?/);
  assert.equal(await page.locator('#transfer-dialog').getAttribute('aria-labelledby'), 'transfer-title');
  await assertAxeClean(page, 'counter, transfer dialog');
  await assertTargets(page, 'transfer dialog');
  await shot(page, 'counter-transfer');
  // A key behind the dialog does nothing.
  await page.keyboard.press('f');
  await page.locator('#transfer-cancel').click();
  await dialog.waitFor({ state: 'hidden', ...T });
  const c1 = (await d.api('GET', '/api/v1/counters/1')).body.counter;
  assert.equal(c1.ticket.id, t.id, 'cancelled: the customer is still at counter 1');
  assert.equal(c1.ticket.status, 'called', 'and not finished by the F behind the dialog');
  // T opens it again, Esc closes it.
  await page.keyboard.press('t');
  await dialog.waitFor({ state: 'visible', ...T });
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'hidden', ...T });
  assert.equal((await d.api('GET', '/api/v1/counters/1')).body.counter.ticket.id, t.id);

  // Transferred to B, then called again here: the history shows the A leg and the B leg.
  await page.keyboard.press('t');
  await page.locator('#transfer button[data-service="B"]').click();
  await page.locator('#state').getByText('空闲').waitFor(T);
  await page.locator('button[data-action="call"]:not([disabled])').click();
  await page.locator('#number').getByText(t.number).waitFor(T);
  const legs = page.locator('#legs li');
  await until(async () => (await legs.count()) === 2, 'two legs', 3000);
  assert.match(await legs.nth(0).innerText(), /A 个人业务.*1 号窗口.*转出 transferred/);
  assert.match(await legs.nth(1).innerText(), /B 对公业务.*1 号窗口.*现在 now/);
  assert.match(await page.locator('#legs-box h3').innerText(), /转移记录\s*Transfer history/);
  await assertAxeClean(page, 'counter, a transferred customer');
  await shot(page, 'counter-history');
  await page.close();
});

test('the USB numeric keypad drives the counter page by its default keys', async () => {
  const t = await d.issue('A');
  const page = await b.newPage(VIEW);
  await signIn(page, d, 'e2e-teller', { counter: 1 });
  await page.locator(`#next li[data-number="${t.number}"]`).waitFor(T);
  assert.match(await page.locator('#usb-keys').innerText(), /叫号 小键盘 Add/);
  await page.keyboard.press('NumpadAdd');              // call
  await page.locator('#number').getByText(t.number).waitFor(T);
  await page.locator('#state').getByText('已叫号').waitFor(T);
  await page.keyboard.press('NumpadMultiply');         // start
  await page.locator('#state').getByText('办理中').waitFor(T);
  await page.keyboard.press('NumpadEnter');            // finish
  await page.locator('#state').getByText('空闲').waitFor(T);
  assert.equal(await ticketStatus(t.id), 'served');
  await page.keyboard.press('NumpadDivide');           // pause
  await page.locator('#state').getByText('暂停').waitFor(T);
  await page.keyboard.press('NumpadDivide');           // resume
  await page.locator('#state').getByText('空闲').waitFor(T);
  await assertAxeClean(page, 'counter with the USB keypad line');
  await page.close();
});

test('call next on a recalled customer asks 客户来了吗, and the answer is what the daemon records', async () => {
  const t = await d.issue('A');
  const next = await d.issue('A');
  const page = await b.newPage(VIEW);
  await signIn(page, d, 'e2e-teller', { counter: 1 });
  await page.locator(`#next li[data-number="${t.number}"]`).waitFor(T);
  await page.locator('button[data-action="call"]').click();
  await page.locator('#number').getByText(t.number).waitFor(T);
  // Recalled and never started: the daemon answers the next call 409 outcome_needed.
  await d.counter(1, 'recall');
  await page.locator('#number').getByText(t.number).waitFor(T);
  await page.locator('button[data-action="call"]').click();
  const dialog = page.locator('#outcome-dialog');
  await dialog.waitFor({ state: 'visible', ...T });
  assert.match(await dialog.getByRole('heading').innerText(), /客户来了吗？\s*Did the customer come\?/);
  assert.match(await page.locator('#outcome-who').innerText(), new RegExp(t.number));
  await assertAxeClean(page, 'counter, did the customer come');
  await shot(page, 'counter-outcome');
  assert.equal((await d.api('GET', `/api/v1/tickets/${t.id}`)).body.ticket.status, 'called', 'nothing changed yet');
  await page.locator('#outcome-dialog button[data-outcome="no_show"]').click();
  await dialog.waitFor({ state: 'hidden', ...T });
  // The teller said the customer never came: a no-show at the daemon, and the next one called.
  await page.locator('#number').getByText(next.number).waitFor(T);
  assert.equal((await d.api('GET', `/api/v1/tickets/${t.id}`)).body.ticket.status, 'no_show');
  await page.close();
});

test('a no-show shows in the lobby with 重新排队 Reinstate, and leaves when put back in line', async () => {
  const page = await b.newPage(VIEW);
  await signIn(page, d, 'e2e-lobby');
  await page.locator('#queue').waitFor(T);
  const t = await d.issue('A');
  await d.counter(3, 'call');
  await d.counter(3, 'no-show');
  const row = page.locator(`#noshows li[data-number="${t.number}"]`);
  await row.waitFor(T);
  assert.match(await row.innerText(), /3 号窗口过号\s*missed at counter 3\s*重新排队\s*Reinstate/);
  const [box] = await boxes(page, `#noshows li[data-number="${t.number}"] button`);
  assert.ok(box.inside && !box.clipped && box.h >= STAFF_TARGET_PX, `Reinstate on screen: ${JSON.stringify(box)}`);
  await assertAxeClean(page, 'lobby with a no-show');
  await shot(page, 'lobby-no-show');
  await row.locator('button').click();
  await row.waitFor({ state: 'detached', ...T });
  await page.locator('#msg').getByText(`${t.number} is back in line`).waitFor(T);
  const q = (await d.api('GET', '/api/v1/queue')).body;
  assert.ok(q.services.find((s) => s.id === 'A').tickets.some((x) => x.number === t.number), 'waiting again');
  await page.close();
});

test('a 不满意 alert shows as a banner with counter, teller and ticket until acknowledged', async () => {
  const page = await b.newPage(VIEW);
  const t = await d.issue('A');
  await d.counter(3, 'call');
  await d.counter(3, 'finish');
  await signIn(page, d, 'e2e-lobby');
  const r = await d.api('POST', '/api/v1/counters/3/rating', { ticket_id: t.id, key: 'dissatisfied' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const banner = page.locator('.helpcall[data-kind="dissatisfied"]');
  await banner.waitFor(T);
  const number = t.number;
  assert.match(await banner.innerText(), new RegExp(`不满意评价：3 号窗口.*${number}`));
  assert.match(await banner.innerText(), new RegExp(`Dissatisfied: counter 3.*${number}`));
  const [bb] = await boxes(page, '.helpcall[data-kind="dissatisfied"]');
  assert.ok(bb.inside && !bb.clipped, 'the banner is on screen');
  await assertAxeClean(page, 'lobby with a dissatisfied alert');
  await shot(page, 'lobby-dissatisfied');
  await banner.locator('button').click();
  await banner.waitFor({ state: 'detached', ...T });
  assert.equal((await d.api('GET', '/api/v1/alerts')).body.alerts.length, 0, 'acknowledged at the daemon');
  await page.close();
});

// The alerts are asked for on load and the stream resumes from the hall's
// load; an alert committed between the two answers is in neither unless the
// page asks again when its stream opens. Hold the hall's load until the
// alerts have been answered and the rating has committed.
test('a 不满意 alert committed between the alerts answer and the hall load still shows', async () => {
  const page = await b.newPage(VIEW);
  const t = await d.issue('A');
  await d.counter(3, 'call');
  await d.counter(3, 'finish');
  let release;
  const gate = new Promise((r) => { release = r; });
  await page.route('**/api/v1/queue', async (route) => { await gate; await route.continue(); });
  const alerts = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/v1/alerts', T);
  await signIn(page, d, 'e2e-lobby');
  assert.deepEqual((await (await alerts).json()).alerts, [], 'no alert yet when the page asked');
  const r = await d.api('POST', '/api/v1/counters/3/rating', { ticket_id: t.id, key: 'dissatisfied' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  release();
  const banner = page.locator('.helpcall[data-kind="dissatisfied"]');
  await banner.waitFor(T);
  assert.match(await banner.innerText(), new RegExp(`Dissatisfied: counter 3.*${t.number}`));
  await page.close();
});

test('请评价 Rate asks the keypad to prompt the last customer; nobody to rate says so', async () => {
  const page = await b.newPage(VIEW);
  await signIn(page, d, 'e2e-teller', { counter: 1 });
  await page.locator('#state').getByText('空闲').waitFor(T);
  await page.locator('button[data-action="rate"]').click();
  await page.locator('#msg').getByText('Nobody to rate').waitFor(T);
  // Serve someone; the prompt opened at the finish closes with a rating, then 请评价 asks again.
  const t = await d.issue('A');
  await page.locator('button[data-action="call"]:not([disabled])').waitFor(T);
  await page.locator('button[data-action="call"]').click();
  await page.locator('#number').getByText(t.number).waitFor(T);
  await page.locator('button[data-action="finish"]:not([disabled])').click();
  await page.locator('#state').getByText('空闲').waitFor(T);
  await page.locator('button[data-action="rate"]:not([disabled])').waitFor(T);
  await page.keyboard.press('Numpad0');                 // the USB keypad's Rate
  await page.locator('#msg').getByText('The keypad asks the customer to rate').waitFor(T);
  const c1 = (await d.api('GET', '/api/v1/display')).body.counters.find((c) => c.number === 1);
  assert.equal(c1.rating && c1.rating.number, t.number, 'the keypad of counter 1 asks about the ticket served');
  await page.close();
});
