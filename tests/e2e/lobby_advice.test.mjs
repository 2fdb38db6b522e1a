// 建议增开窗口 Open another counter on the lobby page, in a real browser:
// one counter of the four that serve A is open, ten customers of A wait;
// the daemon's live advice (the rest of the day simulated every second here)
// says the share will miss its 5 % target, and the lobby's card says so with
// the predicted figures and the counter to open, the API's own; it outlives
// a reload; when the counters open it goes. axe-core finds nothing.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { Daemon, browser, demoConfig, shot, signIn, assertAxeClean, boxes } from './harness.mjs';

const T = { timeout: 30000 };
const p = (n) => String(n).padStart(2, '0');

// The advisor's hours around now in Asia/Shanghai (UTC+8), so the live advice runs whenever the test does.
function hoursAroundNow() {
  const h = new Date(Date.now() + 8 * 3600e3).getUTCHours();
  return { open: `${p(Math.max(0, h - 1))}:00`, close: `${p(Math.min(23, h + 2))}:59` };
}

let d, b;
before(async () => {
  d = await new Daemon(demoConfig({ live: 'yes', live_every: '1s', live_replications: '30', ...hoursAroundNow() })).start();
  b = await browser();
});
after(async () => { await b?.close(); await d?.stop(); });


test('the lobby shows 建议增开窗口 Open another counter with the predicted figures until the counters open', async () => {
  for (const n of [2, 3, 4]) await d.counter(n, 'pause');
  const page = await b.newPage({ viewport: { width: 1366, height: 768 } });
  await signIn(page, d, 'e2e-lobby');
  const card = page.locator('#advice-card');
  for (let i = 0; i < 10; i++) await d.issue('A');
  await page.locator('#advice-card:not(.hidden)').waitFor(T);
  const a = (await d.api('GET', '/api/v1/advice/live')).body.advice;
  assert.ok(a, 'the daemon advises');
  assert.equal(a.open_counter.number, 2, 'the first closed counter that serves A');
  const text = await card.innerText();
  assert.match(text, /建议增开窗口\s*Open another counter/);
  assert.match(text, /开放 2 号窗口 后预计/);
  assert.match(text, /With Counter 2 open/);
  assert.match(text, /10 waiting now/);
  // The figures may move between two simulations; those shown are one advice's own.
  const shown = text.match(/predicted at (\d+\.\d)% overtime \(A (\d+\.\d)%\), target 5\.0%/);
  assert.ok(shown, `the predicted share and the target: ${text}`);
  assert.ok(Number(shown[1]) > 5, 'over the target');
  assert.ok(a.predicted.overtime_share > 0.05, 'the daemon predicts over the target too');
  const [bb] = await boxes(page, '#advice-card');
  assert.ok(bb.inside && !bb.clipped, `the card is on screen: ${JSON.stringify(bb)}`);
  await assertAxeClean(page, 'lobby advising another counter');
  await shot(page, 'lobby-advice');
  // A reload asks the daemon again: the card stays.
  await page.reload();
  await page.locator('#advice-card:not(.hidden)').waitFor(T);
  assert.match(await card.innerText(), /With Counter 2 open/);
  // The counters open: the prediction falls under the target and the card goes.
  for (const n of [2, 3, 4]) await d.counter(n, 'resume');
  await page.locator('#advice-card.hidden').waitFor({ state: 'attached', ...T });
  assert.equal(await card.isVisible(), false);
  assert.equal((await d.api('GET', '/api/v1/advice/live')).body.advice, null);
  await page.close();
});
