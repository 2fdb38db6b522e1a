// harness.mjs: the real branchqd and Debian's chromium, for the pages' tests.
//
// startDaemon() writes the demo branch's config (config/branchq.conf with a
// private database, the repository's display/ pages and a day_reset twelve
// hours away, so no test runs across the start of a business day) into a
// fresh directory, starts the sanitizer build of branchqd in the foreground
// on a free loopback port, and waits for its "ready" line. restart() keeps
// the port, so an open page can reconnect to the same URL. stop() expects
// exit status 0 and no sanitizer report.
//
// browser() launches /usr/bin/chromium headless through playwright-core,
// which downloads no browser of its own. shot() saves a screenshot into
// tests/artifacts/ for a person to look at.
import { spawn } from 'node:child_process';
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

// The demo config with the keys of `branch` replaced or added in [branch],
// and `extra` (INI text) appended.
export function demoConfig(branch = {}, extra = '') {
  const keys = { day_reset: safeDayReset(), pages: join(ROOT, 'display'), ...branch };
  let text = readFileSync(join(ROOT, 'config', 'branchq.conf'), 'utf8');
  for (const [k, v] of Object.entries(keys)) {
    const re = new RegExp(`^${k}\\s*=.*$`, 'm');
    text = re.test(text) ? text.replace(re, `${k} = ${v}`)
                         : text.replace(/^\[branch\]$/m, `[branch]\n${k} = ${v}`);
  }
  return text + '\n' + extra;
}

export class Daemon {
  constructor(configText = demoConfig()) {
    this.dir = mkdtempSync(join(tmpdir(), 'branchq-e2e-'));
    this.conf = join(this.dir, 'branchq.conf');
    this.db = join(this.dir, 'q.db');
    this.logfile = join(this.dir, 'daemon.log');
    this.log = '';
    this.port = 0;
    writeFileSync(this.conf, configText);
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
          ok(this);
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
  api(method, path, body) {
    const data = body !== undefined ? Buffer.from(JSON.stringify(body)) : null;
    return new Promise((ok, fail) => {
      const req = httpRequest(this.url + path, {
        method,
        agent: false,
        headers: data ? { 'Content-Type': 'application/json', 'Content-Length': data.length } : {},
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
