// display.js: the hall display (/display).
//
// It shows only what the wall screen may: it loads GET /api/v1/display at
// start and after every reconnect, then follows the display stream
// (/api/v1/display/events), each of whose events carries the hall as it is
// after that event (waiting counts, every counter's current number), which
// the page takes as its state: the newest call large, one row for every
// configured counter (in the config's order, so a row never moves: its
// ticket, called, being served, or 暂停服务 Paused), and how many wait per
// service. A paused counter's ticket is never shown or spoken as a live call.
// While the stream is down the data is dimmed and the notice takes its own
// place in the header. A call or recall event marks the ticket to be
// announced; the announcement is made only if the state still shows that
// number called at that counter when the page draws it, so nothing stale is
// ever spoken as current. Each announcement plays call_repeats times (from
// the state, [branch] call_repeats) with a pause between, a repeat only
// while the call is still current; announcements play one at a time, in
// order, from /api/v1/voice/{number}/{counter}.wav (chime, Mandarin, English
// for an English ticket); window.bqSpoken and bqPlayed list what was played
// and when, for tests.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const esc = BQ.esc;
  const FLASH_MS = 6000;
  const REPEAT_PAUSE_MS = 1500;  // silence between the repeats of one call
  let lastCall = null;          // "ticketId/counter/calledAt" shown large
  let flashUntil = 0;
  const toAnnounce = [];        // {number, counter, event} from events, checked against the state
  let state = null;             // GET /api/v1/display, kept current by the stream
  const voiceQueue = [];        // {url, number, counter, repeat}
  let playing = false;
  window.bqSpoken = [];          // URLs in the order they were played
  window.bqPlayed = [];          // {url, repeat, start, end} (performance.now() ms), for tests

  BQ.clock($('clock'));

  // The time a counter's ticket was last announced (called_at counts a
  // recall). Times have whole seconds, so calls in the same second are told
  // apart by the id of the event that announced them, when this page saw it.
  const callSeq = new Map();     // "number/counter" -> event id of its newest call or recall
  const seqOf = (c) => callSeq.get(`${c.ticket.number}/${c.number}`) || 0;
  const callTime = (t) => Date.parse(t.called_at || 0) || 0;
  const newestFirst = (x, y) => callTime(y.ticket) - callTime(x.ticket) || seqOf(y) - seqOf(x) ||
    y.number - x.number;
  // A live call: the counter called this ticket and is not paused.
  const live = (c) => c.ticket && c.state === 'called' && !c.paused;
  const stillCalled = (number, counter) => !!state &&
    state.counters.some((c) => c.number === counter && live(c) && c.ticket.number === number);

  let clips = 0;                 // numbers the clips, so a late word about an old one is ignored

  function playNext() {
    if (playing || voiceQueue.length === 0) return;
    const item = voiceQueue.shift();
    // A repeat is said only while the call is still current (not started, finished or paused).
    if (item.repeat > 0 && !stillCalled(item.number, item.counter)) { playNext(); return; }
    playing = true;
    if (item.repeat > 0) setTimeout(() => play(item), REPEAT_PAUSE_MS);
    else play(item);
  }

  function play({ url, repeat }) {
    const audio = $('voice');
    window.bqSpoken.push(url);
    const log = { url, repeat, start: performance.now(), end: null };
    window.bqPlayed.push(log);
    // Once per clip: a failed clip reports through onerror and through
    // play()'s rejection, and a superseded play() rejects late; only the
    // first word about the clip now playing may start the next one.
    const done = () => {
      if (log.end !== null || audio.dataset.clip !== String(clip)) return;
      log.end = performance.now();
      audio.onended = audio.onerror = null;
      playing = false;
      playNext();
    };
    const clip = ++clips;
    audio.dataset.clip = String(clip);
    audio.onended = done;
    audio.onerror = done;
    audio.src = url;
    const p = audio.play();
    // Blocked or failed (no sound device): move on rather than stall the queue.
    if (p && p.catch) p.catch(done);
  }

  function announce(t, counter) {
    const lang = t.lang === 'en' ? 'en' : 'zh';
    const url = `/api/v1/voice/${encodeURIComponent(t.number)}/${counter}.wav?lang=${lang}`;
    const times = Math.min(3, Math.max(1, Number(state && state.call_repeats) || 1));
    for (let repeat = 0; repeat < times; repeat++) voiceQueue.push({ url, number: t.number, counter, repeat });
    playNext();
  }

  const mark = () => '<span class="green-mark">绿色通道<span lang="en">Green Channel</span></span>';

  // One counter's row: its ticket and what is happening there, in Chinese and English.
  function row(c, newest) {
    const t = c.ticket;
    const n = c.number;
    const kind = c.paused ? 'paused' : t ? c.state : 'idle';
    const [zh, en] = {
      paused: [`${n} 号窗口 暂停服务`, `Counter ${n} paused`],
      called: [`请到 ${n} 号窗口`, `To counter ${n}`],
      serving: [`${n} 号窗口 办理中`, `Counter ${n} serving`],
      idle: [`${n} 号窗口`, `Counter ${n}`],
    }[kind];
    const cls = [kind, c === newest ? 'newest' : ''].filter(Boolean).join(' ');
    return `<li class="${cls}" data-counter="${n}"${t ? ` data-number="${esc(t.number)}"` : ''}>` +
      `<span class="num">${t ? esc(t.number) : '—'}</span>` +
      `<span class="where">${zh}<span class="en">${en}</span></span>` +
      `${t && t.green ? mark() : ''}</li>`;
  }

  function render(q) {
    const b = q.branch || {};
    $('branch').innerHTML = `${esc(b.name_zh)}<span class="en">${esc(b.name_en)}</span>`;

    const called = q.counters.filter(live).sort(newestFirst);

    // Announce what the events said, if it is still true. An event newer
    // than this state (it came while the state was being fetched) waits for
    // the next load, which it has asked for.
    while (toAnnounce.length && toAnnounce[0].event <= q.last_event_id) {
      const a = toAnnounce.shift();
      const c = called.find((k) => k.number === a.counter && k.ticket.number === a.number);
      if (c) {
        announce(c.ticket, c.number);
        flashUntil = Date.now() + FLASH_MS;
      }
    }

    const top = called[0];
    const now = $('now');
    if (top) {
      const t = top.ticket;
      const key = `${t.number}/${top.number}/${callTime(t)}/${seqOf(top)}`;
      if (key !== lastCall) {
        $('now-call').innerHTML =
          `<div class="number" id="now-number">${esc(t.number)}</div>` +
          `<div class="to">请到 <b id="now-counter">${top.number}</b> 号窗口` +
          `<span class="en">Please go to counter ${top.number}</span></div>` +
          (t.green ? mark() : '');
        lastCall = key;
      }
    } else if (lastCall !== null) {
      $('now-call').innerHTML = '<div class="idle">请留意叫号<span class="en">Please watch for your number</span></div>';
      lastCall = null;
    }
    const flashing = top && Date.now() < flashUntil;
    if (flashing !== now.classList.contains('flash')) now.classList.toggle('flash', flashing);
    if (flashing) setTimeout(() => now.classList.remove('flash'), flashUntil - Date.now());

    // One row per configured counter: up to six in one column, then two columns.
    const list = $('calls');
    const cols = q.counters.length > 6 ? 2 : 1;
    list.style.setProperty('--cols', String(cols));
    list.style.setProperty('--rows', String(Math.max(1, Math.ceil(q.counters.length / cols))));
    list.innerHTML = q.counters.map((c) => row(c, top)).join('');

    $('waiting').innerHTML = q.services.map((s) =>
      `<div class="tile" data-service="${esc(s.id)}"><div class="name">${esc(s.name_zh)}` +
      `<span class="en">${esc(s.name_en)}</span></div>` +
      `<div class="count"><span class="n">${s.waiting}</span><small>人</small></div></div>`).join('');
  }

  async function load() {
    const r = await BQ.api('GET', '/api/v1/display');
    if (r.status !== 200) throw new Error(`display: ${r.status}`);
    BQ.sync(r.body.at);
    state = r.body;
    render(state);
    return state.last_event_id;
  }

  BQ.live({
    load,
    stream: '/api/v1/display/events',
    everyMs: 20000,
    onEvent(ev, id) {
      if (!state) return false;
      if ((ev.type === 'ticket.called' || ev.type === 'ticket.recalled') && ev.ticket) {
        toAnnounce.push({ number: ev.ticket.number, counter: ev.counter, event: id });
        callSeq.set(`${ev.ticket.number}/${ev.counter}`, id);
      }
      // An event older than the state (it came while the state was loading) only announces.
      if (id > state.last_event_id) {
        state.counters = ev.counters;
        for (const s of state.services) if (s.id in ev.waiting) s.waiting = ev.waiting[s.id];
        state.last_event_id = id;
      }
      render(state);
      return true;
    },
    onLink(up) {
      $('link').classList.toggle('hidden', up);
      document.body.classList.toggle('down', !up);
    },
  });
})();
