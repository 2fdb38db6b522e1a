// The start page in a real browser: it lists every page by its URL, and the staff's sign-in.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { Daemon, browser, shot } from './harness.mjs';

let d, b;
before(async () => { d = await new Daemon().start(); b = await browser(); });
after(async () => { await b?.close(); await d?.stop(); });

test('the start page links every page', async () => {
  const page = await b.newPage();
  await page.goto(d.url + '/');
  const links = await page.locator('a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
  for (const href of ['/signin', '/display', '/lobby', '/kiosk', '/reports'])
    assert.ok(links.includes(href), `the start page links ${href}: ${links}`);
  await shot(page, 'index');
});
