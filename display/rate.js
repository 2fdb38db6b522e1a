// rate.js: the rating keypad at counter N (/rate/N, 服务评价器).
//
// A tablet facing the customer, paired as a `keypad` device of counter N
// (/pair?token=…). It reads only the hall display's state
// (GET /api/v1/display, then /api/v1/display/events, whose every event
// carries all counters): idle until counter N's `rating` is non-null, then
// the keys of `rating.keys` (labels from the view's `rating_keys`), the
// ticket's number and a prompt in the ticket's language, with a short tone
// made in the page and the daemon's spoken prompt (GET
// /api/v1/voice/{number}/rate.wav, Mandarin, then English for an English
// ticket; the words are on screen too), and tells the daemon the keys are shown (POST
// /api/v1/counters/{n}/rating/shown {ticket_id}). One press sends POST /api/v1/counters/{n}/rating
// {ticket_id, key}; every key is then disabled, so a second press sends
// nothing. 200 shows 谢谢 Thank you with the key chosen, then idle; 409
// (rating_closed, already_rated) says the rating was not taken. The keys
// go away by themselves when `until` passes by the daemon's clock (the
// daemon refuses a press after it anyway). window.bqPrompts counts the
// prompts toned, for tests.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const esc = BQ.esc;
  const n = Number(location.pathname.split('/').filter(Boolean)[1]);
  const THANKS_MS = 4000;
  const LABELS = {
    very_satisfied: ['非常满意', 'Very satisfied'], satisfied: ['满意', 'Satisfied'],
    neutral: ['一般', 'Neutral'], dissatisfied: ['不满意', 'Dissatisfied'],
  };
  let state = null, prompt = null, busy = false, doneUntil = 0, doneFor = null, closeTimer = null, ctx = null;
  const answered = new Set();        // ticket ids this keypad has sent a rating for
  window.bqPrompts = 0;

  const label = (k) => {
    const x = (state && state.rating_keys || []).find((r) => r.key === k);
    return x ? [x.zh, x.en] : LABELS[k] || [k, k];
  };

  function show(which) {
    for (const id of ['idle', 'ask', 'done']) $(id).classList.toggle('hidden', id !== which);
    $('main').dataset.state = which;
  }

  function say(zh, en) { $('msg').textContent = zh ? `${zh} ${en}` : ''; }

  function tone() {
    try {
      ctx = ctx || new (window.AudioContext || window.webkitAudioContext)();
      BQ.tone(ctx, [[784, 0, 0.22], [988, 0.24, 0.32]], 0.3);
    } catch { /* no sound: the words are on screen */ }
    window.bqPrompts++;
  }

  function ask(r) {
    const en = r.lang === 'en';
    const [pz, pe] = ['请您为本次服务评价', 'Please rate our service'];
    $('prompt').innerHTML = `<span class="num">${esc(r.number)}</span>` +
      (en ? `<span lang="en">${pe}</span><span class="l2">${pz}</span>` : `${pz}<span class="l2" lang="en">${pe}</span>`);
    document.documentElement.lang = en ? 'en' : 'zh-CN';
    $('keys').innerHTML = (r.keys || []).map((k) => {
      const [z, e] = label(k);
      return `<button type="button" class="rate-key" data-key="${esc(k)}">` +
        (en ? `<span lang="en">${esc(e)}</span><span class="l2" lang="zh-CN">${esc(z)}</span>`
            : `${esc(z)}<span class="l2" lang="en">${esc(e)}</span>`) + '</button>';
    }).join('');
    say('');
    show('ask');
    tone();
    // The spoken prompt, espeak-ng's on the daemon; no sound device: the words are on screen.
    try {
      const voice = new Audio(`/api/v1/voice/${encodeURIComponent(r.number)}/rate.wav?lang=${en ? 'en' : 'zh'}`);
      const p = voice.play();
      if (p && p.catch) p.catch(() => {});
    } catch { /* no audio element */ }
    // The daemon counts a prompt the customer never saw apart ("prompt not shown").
    BQ.api('POST', `/api/v1/counters/${n}/rating/shown`, { ticket_id: r.ticket_id }, { noRedirect: true }).catch(() => {});
  }

  // Counter N's prompt as the state says, unless the page is thanking or the prompt's time is up.
  function render() {
    const c = state && state.counters.find((k) => k.number === n);
    const r = c && c.rating;
    const open = r && !answered.has(r.ticket_id) && Date.parse(r.until) > BQ.now();
    if (Date.now() < doneUntil && !(open && r.ticket_id !== doneFor)) return;
    if (!open) {
      prompt = null;
      document.documentElement.lang = 'zh-CN';
      if ($('main').dataset.state !== 'idle') show('idle');
      return;
    }
    if (!prompt || prompt.ticket_id !== r.ticket_id) {
      prompt = r;
      ask(r);
    }
    // The window may move (it runs from when the keys were shown): the keys go when it ends.
    if (prompt.until !== r.until || !closeTimer) {
      prompt.until = r.until;
      clearTimeout(closeTimer);
      closeTimer = setTimeout(() => { closeTimer = null; render(); }, Math.max(0, Date.parse(r.until) - BQ.now()) + 50);
    }
  }

  async function press(key) {
    if (busy || !prompt) return;
    busy = true;
    const p = prompt;
    answered.add(p.ticket_id);
    for (const b of $('keys').querySelectorAll('button')) {
      b.disabled = true;
      b.classList.toggle('chosen', b.dataset.key === key);
    }
    let r = null;
    try {
      r = await BQ.api('POST', `/api/v1/counters/${n}/rating`, { ticket_id: p.ticket_id, key }, { noRedirect: true });
    } catch { /* said below */ }
    busy = false;
    const [z, e] = label(key);
    if (r && r.status === 200) {
      $('chosen').textContent = `${z} ${e}`;
      thank(p.ticket_id);
    } else {
      const code = r && r.body && r.body.error && r.body.error.code;
      const m = {
        rating_closed: ['评价时间已过，未记录', 'The time to rate has passed: not recorded'],
        already_rated: ['此号已评价过，未再记录', 'This visit was already rated: not recorded again'],
        unauthorized: ['此评价器未配对', 'This keypad is not paired'],
        forbidden: ['此评价器不属于本窗口', 'This keypad belongs to another counter'],
      }[code] || (r ? ['未能记录评价', 'The rating was not recorded'] : ['网络错误，未能记录', 'Network error: not recorded']);
      say(m[0], m[1]);
      prompt = null;
      doneUntil = Date.now() + THANKS_MS;
      doneFor = p.ticket_id;
      setTimeout(() => { say(''); render(); }, THANKS_MS + 20);
    }
  }

  function thank(ticketId) {
    show('done');
    document.documentElement.lang = 'zh-CN';
    prompt = null;
    doneFor = ticketId;
    doneUntil = Date.now() + THANKS_MS;
    setTimeout(render, THANKS_MS + 20);
  }

  $('keys').addEventListener('click', (e) => {
    const b = e.target.closest('button[data-key]');
    if (b && !b.disabled) press(b.dataset.key);
  });

  async function load() {
    const r = await BQ.api('GET', '/api/v1/display', undefined, { noRedirect: true });
    if (r.status !== 200) throw new Error(`display: ${r.status}`);
    BQ.sync(r.body.at);
    state = r.body;
    const c = state.counters.find((k) => k.number === n);
    const nz = (c && c.name_zh) || `${n} 号窗口`, ne = (c && c.name_en) || `Counter ${n}`;
    $('name').innerHTML = `${esc(nz)} · 服务评价 <span class="en" lang="en">${esc(ne)} · Service rating</span>`;
    render();
    return state.last_event_id;
  }

  // Paired? A keypad of this counter, or staff, may rate; anyone else sees why nothing counts.
  fetch('/api/v1/session', { cache: 'no-store' }).then((r) => (r.status === 200 ? r.json() : null)).then((s) => {
    $('unpaired').classList.toggle('hidden', !!s);
  }).catch(() => {});

  show('idle');
  BQ.live({
    load,
    stream: '/api/v1/display/events',
    everyMs: 20000,
    onEvent(ev, id) {
      if (!BQ.applyDisplay(state, ev, id)) return false;
      render();
      return true;
    },
    onLink(up) { $('link').classList.toggle('hidden', up); },
  });
})();
