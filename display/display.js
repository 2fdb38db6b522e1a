// display.js: the hall display (/display).
//
// It shows only what the wall screen may: it loads GET /api/v1/display at
// start and after every reconnect, then follows the display stream
// (/api/v1/display/events), each of whose events carries the hall as it is
// after that event (waiting counts, every counter's current number), which
// the page takes as its state: the newest call large, every counter's
// current customer, and how many wait per service. A call or recall event
// marks the ticket to be announced; the announcement is made only if the
// state still shows that number called at that counter when the page draws
// it, so nothing stale is ever spoken as current. Announcements play one at
// a time, in order, from /api/v1/voice/{number}/{counter}.wav (chime,
// Mandarin, English for an English ticket); window.bqSpoken and bqPlayed
// list what was played and when, for tests.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const esc = BQ.esc;
  const FLASH_MS = 6000;
  let lastCall = null;          // "ticketId/counter/calledAt" shown large
  let flashUntil = 0;
  const toAnnounce = [];        // {number, counter, event} from events, checked against the state
  let state = null;             // GET /api/v1/display, kept current by the stream
  const voiceQueue = [];
  let playing = false;
  window.bqSpoken = [];          // URLs in the order they were played
  window.bqPlayed = [];          // {url, start, end} (performance.now() ms), for tests

  BQ.clock($('clock'));

  // The time a counter's ticket was last announced (called_at counts a
  // recall). Times have whole seconds, so calls in the same second are told
  // apart by the id of the event that announced them, when this page saw it.
  const callSeq = new Map();     // "number/counter" -> event id of its newest call or recall
  const seqOf = (c) => callSeq.get(`${c.ticket.number}/${c.number}`) || 0;
  const callTime = (t) => Date.parse(t.called_at || 0) || 0;
  const newestFirst = (x, y) => callTime(y.ticket) - callTime(x.ticket) || seqOf(y) - seqOf(x) ||
    y.number - x.number;

  let clips = 0;                 // numbers the clips, so a late word about an old one is ignored

  function playNext() {
    if (playing || voiceQueue.length === 0) return;
    const url = voiceQueue.shift();
    const audio = $('voice');
    playing = true;
    window.bqSpoken.push(url);
    const log = { url, start: performance.now(), end: null };
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
    voiceQueue.push(`/api/v1/voice/${encodeURIComponent(t.number)}/${counter}.wav?lang=${lang}`);
    playNext();
  }

  function render(q) {
    const b = q.branch || {};
    $('branch').innerHTML = `${esc(b.name_zh)}<span class="en">${esc(b.name_en)}</span>`;

    const current = q.counters.filter((c) => c.ticket).sort(newestFirst);
    const called = current.filter((c) => c.state === 'called');

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
          (t.green ? `<div>${BQ.greenMark()}</div>` : '');
        lastCall = key;
      }
    } else if (lastCall !== null) {
      $('now-call').innerHTML = '<div class="idle">请留意叫号<br><span class="en">Please watch for your number</span></div>';
      lastCall = null;
    }
    const flashing = top && Date.now() < flashUntil;
    if (flashing !== now.classList.contains('flash')) now.classList.toggle('flash', flashing);
    if (flashing) setTimeout(() => now.classList.remove('flash'), flashUntil - Date.now());

    $('calls').innerHTML = current.length === 0
      ? '<li class="none">暂无 <span class="en">None</span></li>'
      : current.slice(0, 8).map((c) => `<li class="${c.state}" data-number="${esc(c.ticket.number)}">` +
          `<span>${esc(c.ticket.number)}${c.ticket.green ? BQ.greenMark() : ''}</span>` +
          `<span class="where">→ ${c.number} 号窗口<span class="en">Counter ${c.number}` +
          `${c.state === 'serving' ? ' · 办理中 serving' : ''}</span></span></li>`).join('');

    $('waiting').innerHTML = q.services.map((s) =>
      `<div class="tile" data-service="${esc(s.id)}"><div class="name">${esc(s.name_zh)}` +
      `<span class="en">${esc(s.name_en)}</span></div>` +
      `<div class="count"><span class="n">${s.waiting}</span><small>人 waiting</small></div></div>`).join('');
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
    onLink(up) { $('link').classList.toggle('hidden', up); },
  });
})();
