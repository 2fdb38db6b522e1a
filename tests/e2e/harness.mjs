// harness.mjs: the real branchqd and Debian's chromium, for the pages' tests.
//
// startDaemon() writes the demo branch's config (config/branchq.conf with a
// private database, the repository's display/ pages and a day_reset twelve
// hours away, so no test runs across the start of a business day; BRANCHQ_PAGES
// serves another copy of the pages, to watch a test fail on a broken one) into a
// fresh directory, starts the sanitizer build of branchqd in the foreground
// on a free loopback port, and waits for its "ready" line. restart() keeps
// the port, so an open page can reconnect to the same URL. stop() expects
// exit status 0 and no sanitizer report.
//
// The first start() also makes the test accounts with the daemon's own
// command line (ACCOUNTS: a head, a lobby manager and two tellers) and an
// admin API token, which d.api() sends as "Authorization: Bearer", so the
// Node side acts as a script would. d.token() makes a device token (a
// kiosk's, for /pair?token=…). signIn() signs a page in through the real
// sign-in page, as a person would.
//
// browser() launches /usr/bin/chromium headless through playwright-core,
// which downloads no browser of its own. shot() saves a screenshot into
// tests/artifacts/ for a person to look at.
import { spawn, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { request as httpRequest } from 'node:http';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DAEMON = resolve(ROOT, process.env.BRANCHQD || 'build/san/branchqd');
export const ARTIFACTS = join(ROOT, 'tests', 'artifacts');
const READY_RE = /ready.*listening on http:\/\/127\.0\.0\.1:(\d+)/;
const SANITIZER = /ERROR: AddressSanitizer|runtime error|LeakSanitizer|UndefinedBehaviorSanitizer/;

// A day_reset 12 hours from now in Asia/Shanghai (UTC+8 all year).
function safeDayReset() {
  const t = new Date(Date.now() + (8 + 12) * 3600e3);
  const p = (n) => String(n).padStart(2, '0');
  return `${p(t.getUTCHours())}:${p(t.getUTCMinutes())}`;
}

// The demo config with the keys of `branch` replaced or added in [branch]
// (a key the demo has elsewhere, such as [advisor] live, replaced where it
// is), and `extra` (INI text) appended. The live advice is off unless
// asked for: its banner would come and go in other tests with the hour.
export function demoConfig(branch = {}, extra = '') {
  const keys = { day_reset: safeDayReset(), pages: process.env.BRANCHQ_PAGES || join(ROOT, 'display'), live: 'no', ...branch };
  let text = readFileSync(join(ROOT, 'config', 'branchq.conf'), 'utf8');
  for (const [k, v] of Object.entries(keys)) {
    const re = new RegExp(`^${k}\\s*=.*$`, 'm');
    text = re.test(text) ? text.replace(re, `${k} = ${v}`)
                         : text.replace(/^\[branch\]$/m, `[branch]\n${k} = ${v}`);
  }
  return text + '\n' + extra;
}

const run = promisify(execFile);

// The accounts every test daemon has: name -> { role, password }.
export const ACCOUNTS = {
  'e2e-head': { role: 'head', password: 'head-secret-1' },
  'e2e-lobby': { role: 'lobby', password: 'lobby-secret-1' },
  'e2e-teller': { role: 'teller', password: 'teller-secret-1' },
  'e2e-teller2': { role: 'teller', password: 'teller-secret-2' },
};

export class Daemon {
  constructor(configText = demoConfig()) {
    this.dir = mkdtempSync(join(tmpdir(), 'branchq-e2e-'));
    this.conf = join(this.dir, 'branchq.conf');
    this.db = join(this.dir, 'q.db');
    this.logfile = join(this.dir, 'daemon.log');
    this.log = '';
    this.port = 0;
    writeFileSync(this.conf, configText);
    this.bearer = null;
  }

  // branchqd's command line on this daemon's config and database; resolves with its stdout.
  async cli(args, input) {
    const p = run(DAEMON, [...args, '-f', this.conf, '--db', this.db], { cwd: this.dir });
    if (input !== undefined) p.child.stdin.end(input);
    const { stdout } = await p;
    return stdout;
  }

  // A new token of role (kiosk, display, teller, admin…): the last word `token add` prints.
  async token(role, { counter, name } = {}) {
    const args = ['token', 'add', '--role', role];
    if (counter != null) args.push('--counter', String(counter));
    if (name) args.push('--name', name);
    const words = (await this.cli(args)).trim().split(/\s+/);
    return words[words.length - 1];
  }

  async makeAccounts() {
    for (const [name, { role, password }] of Object.entries(ACCOUNTS))
      await this.cli(['user', 'add', name, '--role', role], `${password}\n`);
    this.bearer = await this.token('admin', { name: 'e2e' });
  }

  get url() { return `http://127.0.0.1:${this.port}`; }

  start() {
    const argv = ['-d', '-f', this.conf, '--listen', `127.0.0.1:${this.port}`, '--db', this.db];
    const proc = spawn(DAEMON, argv, { cwd: this.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    // Only this run's output counts: the log still holds the last run's "ready".
    const mark = this.log.length;
    return new Promise((ok, fail) => {
      let ready = false;
      const timer = setTimeout(() => fail(new Error(`branchqd not ready in 10 s:\n${this.log}`)), 10e3);
      const take = (chunk) => {
        const s = chunk.toString();
        this.log += s;
        appendFileSync(this.logfile, s);
        const m = !ready && this.log.slice(mark).match(READY_RE);
        if (m) {
          ready = true;
          clearTimeout(timer);
          this.port = Number(m[1]);
          if (this.bearer) ok(this);
          else this.makeAccounts().then(() => ok(this), fail);
        }
      };
      proc.stdout.on('data', take);
      proc.stderr.on('data', take);
      proc.on('exit', (code) => {
        this.exitCode = code;
        if (!ready) {
          clearTimeout(timer);
          fail(new Error(`branchqd exited with ${code} before ready:\n${this.log}`));
        }
      });
    });
  }

  // SIGTERM; resolves with the exit code, rejects on a sanitizer report or a non-zero exit.
  async stop() {
    if (!this.proc || this.proc.exitCode !== null) return;
    const proc = this.proc;
    const done = new Promise((ok) => proc.on('exit', (code) => ok(code)));
    proc.kill('SIGTERM');
    const code = await done;
    this.proc = null;
    if (SANITIZER.test(this.log)) throw new Error(`sanitizer report in the daemon log:\n${this.log}`);
    if (code !== 0) throw new Error(`branchqd exited with ${code}:\n${this.log}`);
  }

  // SIGKILL: no chance to close anything.
  async kill9() {
    const proc = this.proc;
    const done = new Promise((ok) => proc.on('exit', ok));
    proc.kill('SIGKILL');
    await done;
    this.proc = null;
  }

  // Start again on the same port and database.
  async restart() {
    await this.stop();
    return this.start();
  }

  // One API call on a connection of its own (a pooled one could be a
  // socket of a daemon killed since); resolves with { status, headers, body } (body
  // parsed when JSON).
  // Authenticated with the admin token unless headers.Authorization says otherwise
  // (null: none); a change always carries JSON, '{}' when there is no body.
  api(method, path, body, headers = {}) {
    const change = !['GET', 'HEAD'].includes(method);
    const data = body !== undefined ? Buffer.from(JSON.stringify(body)) : change ? Buffer.from('{}') : null;
    const h = {};
    if (this.bearer) h.Authorization = `Bearer ${this.bearer}`;
    if (data) Object.assign(h, { 'Content-Type': 'application/json', 'Content-Length': data.length });
    for (const [k, v] of Object.entries(headers)) {
      if (v === null) delete h[k]; else h[k] = v;
    }
    return new Promise((ok, fail) => {
      const req = httpRequest(this.url + path, {
        method,
        agent: false,
        headers: h,
      }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed = text;
          try { parsed = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
          ok({ status: res.statusCode, headers: res.headers, body: parsed });
        });
        res.on('error', fail);
      });
      req.on('error', fail);
      req.end(data ?? undefined);
    });
  }

  async issue(service = 'A', fields = {}) {
    const r = await this.api('POST', '/api/v1/tickets', { service, ...fields });
    if (r.status !== 201) throw new Error(`issue ${service}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body.ticket;
  }

  async counter(n, action, body) {
    const r = await this.api('POST', `/api/v1/counters/${n}/${action}`, body);
    if (r.status >= 300) throw new Error(`counter ${n} ${action}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  }
}

export async function browser() {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--no-first-run', '--autoplay-policy=no-user-gesture-required'],
  });
}

// Save a screenshot of page as tests/artifacts/NAME.png.
export async function shot(page, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: false });
}

// Sign page in through the sign-in page as name (one of ACCOUNTS), at
// counter for a teller, and wait until it has gone on to the next page:
// next (a path) when given, else the page of the account's role.
export async function signIn(page, d, name, { counter, next } = {}) {
  await page.goto(d.url + '/signin' + (next ? `?next=${encodeURIComponent(next)}` : ''));
  await page.locator('#name').fill(name);
  await page.locator('#password').fill(ACCOUNTS[name].password);
  if (counter != null) {
    await page.locator(`#counter option[value="${counter}"]`).waitFor({ state: 'attached', timeout: 3000 });
    await page.locator('#counter').selectOption(String(counter));
  }
  await Promise.all([
    page.waitForURL((u) => u.pathname !== '/signin', { timeout: 5000 }),
    page.locator('#submit').click(),
  ]);
}

// Pair page (a kiosk or another device) with a new device token of role, through /pair?token=….
export async function pair(page, d, role = 'kiosk', opts = {}) {
  const token = await d.token(role, opts);
  await page.goto(`${d.url}/pair?token=${token}`);
  return token;
}

// axe-core (npm, tests/e2e/package.json), run in the page as it stands. The
// source goes in through the DevTools protocol (page.evaluate), which the
// pages' Content-Security-Policy does not govern, so the page is tested
// with its real policy. Returns the violations: [{id, impact, nodes: [target…]}].
const AXE_SOURCE = readFileSync(join(ROOT, 'tests', 'e2e', 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
export async function axe(page, { exclude = [] } = {}) {
  await page.evaluate(AXE_SOURCE);
  const r = await page.evaluate(async (ex) => {
    // eslint-disable-next-line no-undef
    const res = await axe.run({ include: [document], exclude: ex.map((s) => [s]) },
      { resultTypes: ['violations'] });
    return res.violations.map((v) => ({ id: v.id, impact: v.impact,
      nodes: v.nodes.map((n) => n.target.join(' ')) }));
  }, exclude);
  return r;
}

// Fail with a readable list when axe finds anything on page (what names the page and state).
export async function assertAxeClean(page, what, opts) {
  const v = await axe(page, opts);
  if (v.length) {
    throw new Error(`axe-core on ${what}: ${v.length} violation(s):\n` + v.map((x) =>
      `  ${x.id} (${x.impact}): ${x.nodes.slice(0, 5).join(', ')}${x.nodes.length > 5 ? ' …' : ''}`).join('\n'));
  }
}

// Every visible element matched by selector: its box, its computed font size
// in CSS px and whether it lies wholly inside the viewport and is not
// clipped by an ancestor that hides overflow.
export async function boxes(page, selector) {
  return page.evaluate((sel) => {
    const vw = document.documentElement.clientWidth, vh = document.documentElement.clientHeight;
    const out = [];
    for (const el of document.querySelectorAll(sel)) {
      const r = el.getBoundingClientRect();
      const cs = getComputedStyle(el);
      if (r.width === 0 || r.height === 0 || cs.visibility === 'hidden') continue;
      let clipped = false;
      for (let a = el.parentElement; a; a = a.parentElement) {
        const s = getComputedStyle(a);
        if (s.overflow === 'visible' && s.overflowX === 'visible' && s.overflowY === 'visible') continue;
        const ar = a.getBoundingClientRect();
        if (r.left < ar.left - 0.5 || r.right > ar.right + 0.5 || r.top < ar.top - 0.5 ||
            r.bottom > ar.bottom + 0.5) { clipped = true; break; }
      }
      out.push({ text: (el.innerText || el.getAttribute('aria-label') || '').trim().slice(0, 40),
        x: r.left, y: r.top, w: r.width, h: r.height, font: parseFloat(cs.fontSize),
        inside: r.left >= -0.5 && r.top >= -0.5 && r.right <= vw + 0.5 && r.bottom <= vh + 0.5,
        clipped });
    }
    return out;
  }, selector);
}

// axe-core's enhanced contrast rule (WCAG AAA, 7:1; 4.5:1 for large text) on page: its violations.
export async function axeEnhancedContrast(page) {
  await page.evaluate(AXE_SOURCE);
  return page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const res = await axe.run(document, { runOnly: ['color-contrast-enhanced'], resultTypes: ['violations'] });
    return res.violations.flatMap((v) => v.nodes.map((n) => `${n.target.join(' ')}: ${n.any.map((a) => a.message).join('; ')}`));
  });
}
