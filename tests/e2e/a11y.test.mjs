// axe-core on every page at the sizes its screen really has, in the states
// a working day reaches (a call on the wall, a customer at a counter, a
// ticket waiting on the phone, a report with figures): no violation. axe's
// source is evaluated in the page through the DevTools protocol, so each
// page keeps its real Content-Security-Policy (harness.mjs, axe()).
import { test, after, before } from 'node:test';
import { Daemon, browser, signIn, pair, assertAxeClean, shot } from './harness.mjs';

let d, b, waiting;
before(async () => {
  d = await new Daemon().start();
  b = await browser();
  await d.issue('A', { category: 'elderly' });
  await d.issue('B');
  await d.counter(1, 'call');
  await d.counter(5, 'call');
  await d.counter(5, 'start');
  await d.counter(3, 'pause');
  waiting = await d.issue('A', { lang: 'en' });
});
after(async () => { await b?.close(); await d?.stop(); });

const SIZES = {
  display: [[1920, 1080], [1366, 768]],
  kiosk: [[1080, 1920], [1920, 1080]],
  lobby: [[1366, 768]],
  counter: [[1366, 768]],
  reports: [[1366, 768]],
  phone: [[390, 844], [360, 640]],
  signin: [[1366, 768]],
  index: [[1366, 768]],
  window: [[1920, 360], [1280, 400], [800, 480], [1920, 1080]],
  rate: [[1280, 800], [800, 1280], [1024, 600]],
};

const READY = {
  display: '.calls li .where', kiosk: 'button[data-service]', lobby: '#queue tr[data-number]',
  counter: '#number', reports: 'body[data-ready="1"]', phone: '#card .number, #card .state',
  signin: '#submit', index: 'main a', window: '#win[data-state="called"]', rate: '#main[data-state="idle"]',
};

async function check(name, path, who, [width, height]) {
  const ctx = await b.newContext({ viewport: { width, height } });
  const page = await ctx.newPage();
  try {
    if (who === 'kiosk') await pair(page, d, 'kiosk');
    else if (who) await signIn(page, d, who, { counter: who === 'e2e-teller' ? 1 : undefined, next: path });
    await page.goto(d.url + path);
    // The page's own data is in: what each page shows once it has loaded.
    await page.locator(READY[name]).first().waitFor({ timeout: 15000 });
    await assertAxeClean(page, `${name} at ${width}x${height}`);
    await shot(page, `a11y-${name}-${width}x${height}`);
  } finally {
    await ctx.close();
  }
}

for (const [name, sizes] of Object.entries(SIZES)) {
  for (const size of sizes) {
    test(`axe-core finds nothing on ${name} at ${size[0]}x${size[1]}`, async () => {
      const path = { display: '/display', kiosk: '/kiosk', lobby: '/lobby', counter: '/counter/1',
        reports: '/reports', phone: `/t/${waiting.token}`, signin: '/signin', index: '/',
        window: '/window/1', rate: '/rate/1' }[name];
      const who = { kiosk: 'kiosk', lobby: 'e2e-lobby', counter: 'e2e-teller', reports: 'e2e-head' }[name];
      await check(name, path, who, size);
    });
  }
}

// The English lines render in the font the pages ask for, on a machine with
// only what make installs (fonts-noto-cjk): Chromium says which font it used.
test('English text renders in Noto, not a fallback', async () => {
  const ctx = await b.newContext({ viewport: { width: 1920, height: 1080 } });
  const page = await ctx.newPage();
  try {
    await page.goto(d.url + '/display');
    await page.locator(READY.display).first().waitFor({ timeout: 15000 });
    const cdp = await ctx.newCDPSession(page);
    await cdp.send('DOM.enable');
    await cdp.send('CSS.enable');
    const { root } = await cdp.send('DOM.getDocument', { depth: -1 });
    const { nodeIds } = await cdp.send('DOM.querySelectorAll', { nodeId: root.nodeId, selector: '.en' });
    if (nodeIds.length === 0) throw new Error('no English text on the display');
    const used = new Set();
    for (const nodeId of nodeIds.slice(0, 8)) {
      const { fonts } = await cdp.send('CSS.getPlatformFontsForNode', { nodeId });
      for (const f of fonts) used.add(f.familyName);
    }
    const bad = [...used].filter((f) => !/^Noto Sans/.test(f));
    if (bad.length) throw new Error(`English rendered in ${[...used].join(', ')}`);
  } finally {
    await ctx.close();
  }
});
