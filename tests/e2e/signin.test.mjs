// The staff sign-in page in a real browser: it is shown (a screenshot is
// left in tests/artifacts/), a wrong password is refused in words, a staff
// page asked for without a session leads through it and back, a teller
// signed in for counter 1 works counter 1 and is refused counter 2, a
// second teller cannot take the same counter, and signing out ends the
// session.
import { test, after, afterEach, before, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { Daemon, browser, shot, signIn, ACCOUNTS } from './harness.mjs';

// Each test has its own daemon: no sign-in, lockout or counter held outlives its test.
let d, b;
before(async () => { b = await browser(); });
after(async () => { await b?.close(); });
beforeEach(async () => { d = await new Daemon().start(); });
afterEach(async () => { await d?.stop(); });

const T = { timeout: 3000 };
const path = (page) => new URL(page.url()).pathname + new URL(page.url()).search;

// A page in a context of its own: its own cookies.
async function freshPage(viewport = { width: 1366, height: 768 }) {
  const ctx = await b.newContext({ viewport });
  const page = await ctx.newPage();
  page.on('close', () => ctx.close());
  return page;
}

test('the sign-in page has labelled fields, the counters, and refuses a wrong password in words', async () => {
  const page = await freshPage();
  await page.goto(d.url + '/signin');
  // Every field is found by its label, as a screen reader would.
  await page.getByLabel(/用户名/).waitFor(T);
  await page.getByLabel(/密码/).waitFor(T);
  await page.getByLabel(/窗口/).waitFor(T);
  await page.locator('#counter option[value="5"]').waitFor({ state: 'attached', ...T });
  assert.match(await page.locator('main').innerText(), /柜员请选择窗口/);
  assert.match(await page.locator('main').innerText(), /Tellers: choose your counter/);
  assert.match(await page.locator('#branch').innerText(), /北京示范支行/);
  await shot(page, 'signin');

  await page.getByLabel(/用户名/).fill('e2e-lobby');
  await page.getByLabel(/密码/).fill('not-the-password');
  await page.locator('#submit').click();
  await page.locator('#msg').getByText(/.+/).waitFor(T);
  const text = await page.locator('#msg').innerText();
  assert.match(text, /[\u4e00-\u9fff]/, `the refusal in Chinese: ${text}`);
  assert.match(text, /name or password/i, `the refusal in English: ${text}`);
  assert.equal(new URL(page.url()).pathname, '/signin', 'still on the sign-in page');
  assert.equal(await page.locator('#password').inputValue(), '', 'the wrong password is cleared');
  await shot(page, 'signin-refused');
  // Nothing was signed in.
  assert.equal(await page.evaluate(async () => (await fetch('/api/v1/session')).status), 401);
  await page.close();
});

test('a staff page asked for without a session goes through sign-in and back to it', async () => {
  const page = await freshPage();
  await page.goto(d.url + '/reports');
  assert.equal(path(page), '/signin?next=/reports');
  await page.locator('#name').fill('e2e-lobby');
  await page.locator('#password').fill(ACCOUNTS['e2e-lobby'].password);
  await Promise.all([page.waitForURL(/\/reports$/, T), page.locator('#submit').click()]);
  await page.waitForSelector('body[data-ready="1"]', T);
  // A next that leaves the site is not followed: the role's own page instead.
  const other = await freshPage();
  await signIn(other, d, 'e2e-lobby', { next: '//example.com/x' });
  assert.equal(path(other), '/lobby');
  await other.close();
  await page.close();
});

test('a teller signed in at counter 1 gets counter 1 and is refused counter 2', async () => {
  const page = await freshPage();
  await signIn(page, d, 'e2e-teller', { counter: 1 });
  assert.equal(path(page), '/counter/1');
  await page.locator('#state').getByText('空闲').waitFor(T);
  const session = await page.evaluate(async () => (await fetch('/api/v1/session')).json());
  assert.equal(session.role, 'teller');
  assert.equal(session.counter, 1);
  // Another counter's call is refused, through the page's own API helper (CSRF and all).
  const r2 = await page.evaluate(() => BQ.api('POST', '/api/v1/counters/2/call'));
  assert.equal(r2.status, 403);
  assert.equal(r2.body.error.code, 'forbidden');
  // Its own counter is allowed: nobody waits, so nothing is called, but it is not refused.
  const r1 = await page.evaluate(() => BQ.api('POST', '/api/v1/counters/1/call'));
  assert.notEqual(r1.status, 403, JSON.stringify(r1.body));
  assert.notEqual(r1.status, 401, JSON.stringify(r1.body));
  // Without the CSRF token the same change is refused.
  const bare = await page.evaluate(async () => (await fetch('/api/v1/counters/1/call',
    { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' })).status);
  assert.equal(bare, 403);
  // Another counter's page is not this teller's.
  const other = await page.context().newPage();
  const resp = await other.goto(d.url + '/counter/2');
  assert.equal(resp.status(), 403);
  await other.close();

  // A second teller cannot sign in at the counter the first holds.
  const second = await freshPage();
  await second.goto(d.url + '/signin');
  await second.locator('#name').fill('e2e-teller2');
  await second.locator('#password').fill(ACCOUNTS['e2e-teller2'].password);
  await second.locator('#counter option[value="1"]').waitFor({ state: 'attached', ...T });
  await second.locator('#counter').selectOption('1');
  await second.locator('#submit').click();
  await second.locator('#msg').getByText(/.+/).waitFor(T);
  assert.match(await second.locator('#msg').innerText(), /[\u4e00-\u9fff]/);
  assert.equal(new URL(second.url()).pathname, '/signin');
  await second.close();

  // Signing out ends the session and shows the sign-in page; the counter is free again.
  await Promise.all([page.waitForURL(/\/signin$/, T), page.locator('[data-signout]').click()]);
  assert.equal(await page.evaluate(async () => (await fetch('/api/v1/session')).status), 401);
  const third = await freshPage();
  await signIn(third, d, 'e2e-teller2', { counter: 1 });
  assert.equal(path(third), '/counter/1');
  await third.close();
  await page.close();
});

test('a page whose session ends is sent to sign in, and comes back after', async () => {
  const page = await freshPage();
  await signIn(page, d, 'e2e-head');
  assert.equal(path(page), '/lobby');
  // The session ends elsewhere (another tab signs out): the next change goes to sign-in.
  // The page's own stream may see the session end and navigate while a script still runs
  // in it; the user lands on sign-in either way, so a script cut short by that is fine.
  const cutByNavigation = (e) => { if (!/context was destroyed|navigat/i.test(String(e))) throw e; };
  await page.evaluate(() => BQ.api('DELETE', '/api/v1/session')).catch(cutByNavigation);
  await Promise.all([
    page.waitForURL(/\/signin\?next=/, T),
    page.evaluate(() => { BQ.api('POST', '/api/v1/tickets', { service: 'A' }); }).catch(cutByNavigation),
  ]);
  assert.equal(path(page), '/signin?next=%2Flobby');
  await page.locator('#name').fill('e2e-head');
  await page.locator('#password').fill(ACCOUNTS['e2e-head'].password);
  await Promise.all([page.waitForURL(/\/lobby$/, T), page.locator('#submit').click()]);
  await page.close();
});
