// common.js: what every branchq page shares.
//
// BQ.api() calls the JSON API and never throws on an HTTP error: it returns
// { status, body }. A change (any method but GET) goes as JSON ('{}' when
// there is no body) with the session's X-CSRF-Token, read once from GET
// /api/v1/session; a 401 sends the browser to /signin?next=<this page>.
// A [data-signout] button signs out (DELETE /api/v1/session). BQ.live() keeps a page true to the daemon: it loads the
// whole state first, then follows an event stream (the staff's
// /api/v1/events unless told another) from the state's last_event_id, and
// hands every event to onEvent(), which applies it to what the page shows
// and returns true; anything it cannot apply (it returns anything else, or
// the daemon says "reload") makes the page load the whole state again,
// debounced, and loads never overlap. Whenever the stream opens again (a
// dropped connection, a daemon restart) the state is loaded again too, so a
// page never shows what it missed while away, and a slow full reload every
// 30 s guards against anything the stream could not say. BQ.applyStaff()
// applies a staff event to the hall as GET /api/v1/queue gives it. BQ.now()
// is the daemon's clock, as learnt from the last answer that carried one,
// and BQ.timeOf() shows a moment in the branch's time zone (the offset of
// the daemon's ISO times), whatever zone the screen's computer is set to.
// BQ.tone() plays a few notes made in the page (the phone's alert, the
// lobby's help chime).
'use strict';

const BQ = (() => {
  let skew = 0;      // server time minus local time, ms
  let offsetMin = 480; // the branch's UTC offset, from the daemon's ISO times (+08:00 until told)

  // The session's CSRF token, asked for once (GET /api/v1/session) before
  // the first change; null when nobody is signed in.
  let csrf = null;
  async function csrfToken(fresh) {
    if (csrf && !fresh) return csrf;
    if (!csrf || fresh) {
      csrf = (async () => {
        try {
          const r = await fetch('/api/v1/session', { cache: 'no-store' });
          if (r.status !== 200) return null;
          return (await r.json()).csrf || null;
        } catch { return null; }
      })();
    }
    const t = await csrf;
    if (!t) csrf = null;     // ask again next time: a sign-in may come in between
    return t;
  }

  // The sign-in page, and back to this one afterwards.
  function toSignIn() {
    const here = location.pathname + location.search;
    location.assign('/signin' + (location.pathname === '/signin' ? '' : `?next=${encodeURIComponent(here)}`));
  }

  async function send(method, path, body, fresh) {
    const init = { method, headers: {}, cache: 'no-store' };
    const change = !['GET', 'HEAD'].includes(method);
    if (change) {
      // A change carries JSON, even an empty one, and the session's CSRF token.
      init.headers['Content-Type'] = 'application/json';
      init.body = body !== undefined ? JSON.stringify(body) : '{}';
      const t = await csrfToken(fresh);
      if (t) init.headers['X-CSRF-Token'] = t;
    } else if (body !== undefined) {
      throw new Error(`${method} ${path} with a body`);
    }
    const r = await fetch(path, init);
    const text = await r.text();
    let parsed = null;
    try { parsed = text ? JSON.parse(text) : null; } catch { parsed = text; }
    return { status: r.status, body: parsed };
  }

  // opts.noRedirect: a 401 is the caller's to show (the sign-in form's own POST).
  async function api(method, path, body, opts = {}) {
    let r = await send(method, path, body, false);
    // A session renewed since the token was read: read it again, once.
    if (r.status === 403 && r.body && r.body.error && r.body.error.code === 'csrf')
      r = await send(method, path, body, true);
    if (r.status === 401 && !opts.noRedirect) toSignIn();
    return r;
  }

  // Sign out (DELETE /api/v1/session) and go to the sign-in page.
  async function signOut() {
    try { await api('DELETE', '/api/v1/session', undefined, { noRedirect: true }); } catch { /* gone anyway */ }
    csrf = null;
    location.assign('/signin');
  }

  // Every [data-signout] button signs out; [data-who] shows who is signed in.
  function wireSignOut() {
    const buttons = document.querySelectorAll('[data-signout]');
    if (!buttons.length) return;
    for (const b of buttons) b.addEventListener('click', () => { b.disabled = true; signOut(); });
    const who = document.querySelector('[data-who]');
    if (who) {
      fetch('/api/v1/session', { cache: 'no-store' }).then((r) => (r.status === 200 ? r.json() : null)).then((s) => {
        if (!s) return;
        if (s.csrf && !csrf) csrf = Promise.resolve(s.csrf);
        who.textContent = s.counter != null ? `${s.name} · ${s.counter} 号窗口` : s.name;
      }).catch(() => {});
    }
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', wireSignOut);
  else wireSignOut();

  // Learn the daemon's clock from an ISO time it just sent.
  function sync(iso) {
    const t = Date.parse(iso);
    if (!Number.isNaN(t)) skew = t - Date.now();
    zoneFrom(iso);
  }

  // The whole hall (GET /api/v1/queue) handed to render, the daemon's clock
  // learnt from it; resolves with the event id it reflects, as BQ.live's
  // load wants. Throws when the daemon does not answer 200.
  async function loadQueue(render) {
    const r = await api('GET', '/api/v1/queue');
    if (r.status !== 200) throw new Error(`queue: ${r.status}`);
    sync(r.body.at);
    render(r.body);
    return r.body.last_event_id;
  }

  // Learn only the branch's UTC offset from any ISO time the daemon sent.
  function zoneFrom(iso) {
    const m = /([+-])(\d\d):(\d\d)$/.exec(iso || '');
    if (m) offsetMin = (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
  }

  // A moment (ms) as the branch's wall clock: a Date to format in UTC.
  const wall = (ms) => new Date(ms + offsetMin * 60000);
  const timeOf = (ms) => wall(ms).toLocaleTimeString('zh-CN', { timeZone: 'UTC', hour12: false });
  const now = () => Date.now() + skew;

  function esc(s) {
    return String(s ?? '').replace(/[&<>"']/g, (c) =>
      ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
  }

  // Seconds since an ISO time, by the daemon's clock.
  function since(iso) {
    const t = Date.parse(iso);
    return Number.isNaN(t) ? 0 : Math.max(0, Math.round((now() - t) / 1000));
  }

  // "12 分钟" / "12 min" style durations: [zh, en].
  function dur(s) {
    if (s == null) return ['—', '—'];
    if (s < 60) return [`${s} 秒`, `${s} s`];
    const m = Math.round(s / 60);
    if (m < 60) return [`${m} 分钟`, `${m} min`];
    const h = Math.floor(m / 60), r = m % 60;
    return [`${h} 小时 ${r} 分`, `${h} h ${r} min`];
  }

  // An estimate, as the paper ticket words it: under a minute is "under 1 min", not "0 s".
  function estimate(s) {
    if (s != null && s < 60) return ['不到 1 分钟', 'under 1 min'];
    return dur(s);
  }

  const CATEGORY = {
    normal: ['普通', 'Regular'],
    elderly: ['老年客户', 'Elderly'],
    disabled: ['残障客户', 'Disabled'],
    pregnant: ['孕妇', 'Pregnant'],
    military: ['军人', 'Military'],
    foreign: ['外籍客户', 'Foreign'],
  };

  const greenMark = () =>
    '<span class="green-mark" title="绿色通道 Green Channel">绿色通道 <span lang="en">Green Channel</span></span>';

  // Play notes on ctx, an AudioContext the page made (browsers keep it silent until a tap on
  // the page): each note is [hertz, start (s from now), length (s)], a soft sine with a quick
  // rise and fall, at volume (0-1).
  function tone(ctx, notes, volume) {
    if (ctx.state === 'suspended') ctx.resume().catch(() => {});
    const t0 = ctx.currentTime;
    for (const [hz, at, len] of notes) {
      const o = ctx.createOscillator(), g = ctx.createGain(), t = t0 + at;
      o.frequency.value = hz;
      g.gain.setValueAtTime(0.0001, t);
      g.gain.exponentialRampToValueAtTime(volume, t + 0.02);
      g.gain.exponentialRampToValueAtTime(0.0001, t + len - 0.02);
      o.connect(g).connect(ctx.destination);
      o.start(t);
      o.stop(t + len);
    }
  }

  // A clock element updated every second with the daemon's time in the branch's zone.
  function clock(el) {
    const tick = () => {
      const time = timeOf(now());
      const date = wall(now()).toLocaleDateString('zh-CN', { timeZone: 'UTC', month: 'long', day: 'numeric', weekday: 'long' });
      el.innerHTML = `<span class="clock-time">${esc(time)}</span><span class="clock-date">${esc(date)}</span>`;
    };
    tick();
    setInterval(tick, 1000);
  }

  function live({ load, stream = '/api/v1/events', onEvent = () => false, onLink = () => {}, everyMs = 30000 }) {
    let es = null, lastId = null, loading = null, again = false, timer = null;

    async function reload() {
      if (loading) { again = true; return loading; }
      loading = (async () => {
        do {
          again = false;
          try {
            const id = await load();
            if (id != null) lastId = id;
          } catch (e) {
            onLink(false);
            throw e;
          }
        } while (again);
      })();
      try { await loading; } finally { loading = null; }
    }

    // Events arrive in bursts (a call finishes one ticket and calls the next): reload once.
    function soon() {
      clearTimeout(timer);
      timer = setTimeout(() => reload().catch(() => {}), 60);
    }

    function connect() {
      if (es) es.close();
      es = new EventSource(stream + (lastId != null ? `?last_event_id=${lastId}` : ''));
      let opened = false;
      es.onopen = () => {
        onLink(true);
        document.dispatchEvent(new CustomEvent('bq-open', { detail: { stream } }));
        // The first open follows the load that came just before; any later one is a reconnect.
        if (opened) soon();
        opened = true;
      };
      es.onmessage = (m) => {
        let ev;
        try { ev = JSON.parse(m.data); } catch { return; }
        const id = Number(m.lastEventId) || 0;
        if (m.lastEventId) lastId = id;
        if (ev.at) sync(ev.at);
        // For a page's other scripts (helpcall.js on the lobby): every event, on the page's one stream.
        document.dispatchEvent(new CustomEvent('bq-event', { detail: { stream, ev, id } }));
        if (ev.type === 'reload' || onEvent(ev, id) !== true) soon();
      };
      es.onerror = () => {
        onLink(false);
        // CLOSED: the browser gave up (an error status); start over after a pause.
        if (es.readyState === EventSource.CLOSED) setTimeout(start, 2000);
      };
    }

    async function start() {
      try {
        await reload();
      } catch {
        setTimeout(start, 2000);
        return;
      }
      connect();
    }

    start();
    setInterval(() => reload().catch(() => {}), everyMs);
    return { reload: soon };
  }

  // Apply staff event ev (id) to q, the hall as GET /api/v1/queue gives it:
  // a ticket leaves the line it was in and, while waiting, comes back at the
  // place the event gives it; the counters follow. False when q cannot be
  // brought up to date from the event alone (load it again).
  function applyStaff(q, ev, id) {
    if (!q) return false;
    if (id <= q.last_event_id) return true;
    const t = ev.ticket;
    if (t) {
      const gone = new Set([t.id, ev.from && ev.from.id].filter(Boolean));
      for (const s of q.services) s.tickets = s.tickets.filter((x) => !gone.has(x.id));
      if (t.status === 'waiting') {
        const s = q.services.find((x) => x.id === t.service);
        if (!s || t.ahead == null) return false;
        s.tickets.splice(Math.min(t.ahead, s.tickets.length), 0, t);
      }
      for (const c of q.counters) if (c.ticket && gone.has(c.ticket.id)) c.ticket = t;
    }
    if (ev.counter != null) {
      const c = q.counters.find((k) => k.number === ev.counter);
      if (!c) return false;
      if (ev.type === 'ticket.called' || ev.type === 'ticket.recalled') { c.ticket = t; c.state = 'called'; }
      else if (ev.type === 'ticket.serving') { c.ticket = t; c.state = 'serving'; }
      else if (['ticket.served', 'ticket.no_show', 'ticket.transferred'].includes(ev.type)) { c.ticket = null; c.state = 'idle'; }
      else if (ev.type === 'counter.paused') { c.paused = true; c.paused_at = ev.at; }
      else if (ev.type === 'counter.resumed') { c.paused = false; c.paused_at = null; }
    }
    for (const s of q.services) {
      s.waiting = s.tickets.length;
      s.tickets.forEach((x, i) => { x.ahead = i; });
      s.open_counters = q.counters.filter((c) => !c.paused && c.services.includes(s.id)).length;
    }
    q.last_event_id = id;
    return true;
  }

  // Apply a hall-display event (id) to state, GET /api/v1/display's answer: every
  // event carries all counters. False when it cannot (no state yet, no counters).
  function applyDisplay(state, ev, id) {
    if (!state || !Array.isArray(ev.counters)) return false;
    if (id > state.last_event_id) {
      state.counters = ev.counters;
      state.last_event_id = id;
    }
    return true;
  }

  return { api, signOut, toSignIn, sync, loadQueue, zoneFrom, now, timeOf, esc, since, dur, estimate, CATEGORY, greenMark, tone, clock, live, applyStaff, applyDisplay };
})();
