// phone.js: the customer's page (/t/{token}), opened from the ticket's QR code.
//
// It reads only GET /api/v1/t/{token}, the customer's own ticket, and the
// ticket's own stream, /api/v1/t/{token}/events, which says when its status,
// its place in line or its estimate changed and carries nothing about anyone
// else: the page draws what each event carries. Its one change is
// POST /api/v1/t/{token}/cancel, "leave the queue", after a confirmation.
//
// When the customer is called, and when the branch's phone_alert_ahead
// (the answer's branch.alert_ahead) or fewer are ahead, the page alerts:
// vibration, a tone if the customer turned sound on (a browser plays sound
// only after a tap), a flashing title, and an aria-live announcement. The
// first drawing alerts nothing: the customer is looking at it.
//
// English-first for a ticket whose lang is en; 大字版 (html.large) is
// remembered in localStorage.
//
// Rating: once served, while the answer's `rating.open` is true (within
// the branch's phone_window of the end, not rated at the counter), the
// keys of `rating.keys`; one tap sends POST /api/v1/t/{token}/rating
// {key}, after which (and whenever `rating.key` is set) the page shows the
// key chosen and no keys. An event that ends the ticket carries no rating:
// the page loads the ticket again to learn it.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const esc = BQ.esc;
  const token = location.pathname.split('/').filter(Boolean)[1] || '';
  const api = `/api/v1/t/${encodeURIComponent(token)}`;
  const LARGE_KEY = 'bq.phone.large';
  const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August',
    'September', 'October', 'November', 'December'];

  const RATING = {
    very_satisfied: ['非常满意', 'Very satisfied'], satisfied: ['满意', 'Satisfied'],
    neutral: ['一般', 'Neutral'], dissatisfied: ['不满意', 'Dissatisfied'],
  };
  let rating = null;             // the answer's rating: {open, key, until, keys}
  let rating_busy = false;
  let enFirst = false;
  let alertAhead = 3;
  let branch = null;

  // Two lines, the ticket's language first; the second carries its own lang.
  function bi(zh, en, { zhHtml = false } = {}) {
    const z = zhHtml ? zh : esc(zh);
    return enFirst
      ? `<span class="l1">${esc(en)}</span><span class="l2" lang="zh-CN">${z}</span>`
      : `<span class="l1">${z}</span><span class="l2" lang="en">${esc(en)}</span>`;
  }

  function setLang(en) {
    enFirst = en;
    document.documentElement.lang = en ? 'en' : 'zh-CN';
    $('large').innerHTML = bi('大字版', 'Large text');
    $('sound').innerHTML = sound.on ? bi('提示音已开启', 'Sound on') : bi('开启提示音', 'Turn on sound');
    $('leave-btn').innerHTML = bi('离开队列', 'Leave the queue');
    $('confirm-title').innerHTML = bi('确定离开队列吗？', 'Leave the queue?');
    $('confirm-text').innerHTML = bi('您的号将被取消，不能恢复。', 'Your ticket will be cancelled, and cannot be restored.');
    $('confirm-keep').innerHTML = bi('继续等候', 'Keep my place');
    $('confirm-leave').innerHTML = bi('确认离开', 'Yes, leave');
  }

  function drawBranch() {
    $('branch').innerHTML = branch
      ? (enFirst ? `${esc(branch.name_en)}<span class="l2" lang="zh-CN">${esc(branch.name_zh)}</span>`
                 : `${esc(branch.name_zh)}<span class="l2" lang="en">${esc(branch.name_en)}</span>`)
      : bi('我的排队号', 'My ticket');
  }

  // ---- large text ---------------------------------------------------------------------------

  function applyLarge(on) {
    document.documentElement.classList.toggle('large', on);
    $('large').setAttribute('aria-pressed', on ? 'true' : 'false');
  }
  let large = false;
  try { large = localStorage.getItem(LARGE_KEY) === '1'; } catch { /* storage off: not remembered */ }
  applyLarge(large);
  $('large').addEventListener('click', () => {
    large = !large;
    applyLarge(large);
    try { localStorage.setItem(LARGE_KEY, large ? '1' : '0'); } catch { /* not remembered */ }
  });

  // ---- sound: a tone made in the page, once the customer allowed it with a tap ---------------

  const sound = { on: false, ctx: null };
  // Two notes, high then low, `times` times, a second apart.
  function tone(times) {
    if (!sound.on || !sound.ctx) return;
    const notes = [];
    for (let i = 0; i < times; i++) notes.push([880, 0.05 + i, 0.32], [660, 0.4 + i, 0.32]);
    BQ.tone(sound.ctx, notes, 0.4);
  }
  const AudioCtx = window.AudioContext || window.webkitAudioContext;
  if (AudioCtx) $('sound').hidden = false;
  $('sound').addEventListener('click', () => {
    sound.on = !sound.on;
    if (sound.on && !sound.ctx) sound.ctx = new AudioCtx();
    $('sound').setAttribute('aria-pressed', sound.on ? 'true' : 'false');
    setLang(enFirst);
    tone(1);                           // what it will sound like
  });

  // ---- alerts -----------------------------------------------------------------------------------

  const baseTitle = document.title;
  let flashTimer = null;
  function stopFlash() {
    if (flashTimer) clearInterval(flashTimer);
    flashTimer = null;
    document.title = baseTitle;
  }
  function flashTitle(text) {
    stopFlash();
    let n = 0;
    document.title = text;
    flashTimer = setInterval(() => {
      n++;
      document.title = n % 2 ? baseTitle : text;
      if (n >= 40) { clearInterval(flashTimer); flashTimer = null; document.title = text; }
    }, 1000);
  }
  // The title flashes until the customer touches the page.
  for (const ev of ['pointerdown', 'keydown']) addEventListener(ev, () => { if (flashTimer) stopFlash(); });

  function announce(zh, en) {
    const el = $('announce');
    el.textContent = '';
    // A fresh text node after a turn, so a screen reader says it even if it is the same words.
    setTimeout(() => { el.textContent = enFirst ? `${en} ${zh}` : `${zh} ${en}`; }, 100);
  }

  function alertCustomer(kind, zh, en) {
    if (navigator.vibrate) {
      try { navigator.vibrate(kind === 'called' ? [500, 200, 500, 200, 500] : [300, 150, 300]); } catch { /* refused */ }
    }
    tone(kind === 'called' ? 3 : 1);
    flashTitle(enFirst ? en : zh);
    announce(zh, en);
  }

  // What was last drawn, so that only a change alerts: once per call (and recall), once per leg near.
  let seen = null;
  const alerted = new Set();
  function maybeAlert(t) {
    const first = seen === null;
    seen = t;
    if (first) {
      if (t.status === 'called') alerted.add(`called:${t.id}:${t.counter}:${t.recalls || 0}`);
      if (t.status === 'waiting' && t.ahead != null && t.ahead <= alertAhead) alerted.add(`near:${t.id}`);
      return;
    }
    if (t.status === 'called') {
      const k = `called:${t.id}:${t.counter}:${t.recalls || 0}`;
      if (alerted.has(k)) return;
      alerted.add(k);
      alertCustomer('called', `请到 ${t.counter} 号窗口`, `Please go to counter ${t.counter}`);
    } else if (t.status === 'waiting' && alertAhead > 0 && t.ahead != null && t.ahead <= alertAhead &&
               t.ahead > 0) {
      const k = `near:${t.id}`;
      if (alerted.has(k)) return;
      alerted.add(k);
      alertCustomer('near', `快到您了：前面还有 ${t.ahead} 位`, `Almost your turn: ${t.ahead} ahead of you`);
    }
  }

  // ---- drawing ----------------------------------------------------------------------------------

  const STATE = {
    serving: (t) => [`正在 ${t.counter} 号窗口办理`, `Being served at counter ${t.counter}`],
    served: () => ['办理完成，谢谢光临', 'Done — thank you for your visit'],
    no_show: () => ['您的号已过，请咨询大堂经理', 'Your number was passed; please see the lobby staff'],
    cancelled: () => ['此号已取消', 'This ticket was cancelled'],
    expired: () => ['此号票已过期', 'This ticket has expired'],
    transferred: () => ['已转至其他业务', 'Moved to another service'],
  };

  function render(body) {
    const t = body.ticket;
    if (t.issued_at) BQ.zoneFrom(t.issued_at);
    if (body.branch) {
      branch = body.branch;
      if (Number.isInteger(body.branch.alert_ahead)) alertAhead = body.branch.alert_ahead;
    }
    // An event's view may leave lang out: the ticket's language stays what it was.
    if (t.lang != null && (t.lang === 'en') !== enFirst) setLang(t.lang === 'en');
    drawBranch();
    let html = `<div class="number" id="number">${esc(t.number)}</div>` +
      `<div class="service-line">${bi(t.service_name_zh, t.service_name_en)}` +
      `${t.green ? ' ' + BQ.greenMark() : ''}</div>`;
    if (t.status === 'waiting') {
      const [wz, we] = BQ.estimate(t.estimated_wait_s);
      const n = t.ahead ?? '–';
      const near = t.ahead != null && t.ahead > 0 && t.ahead <= alertAhead;
      html += `<div class="state${near ? ' near' : ''}" id="status">` +
        bi(`前面还有 <span id="ahead">${esc(n)}</span> 位`, `${n} ahead of you`, { zhHtml: true }) +
        (near ? bi('快到您了，请留意叫号', 'Almost your turn: please stay near') : '') + '</div>' +
        `<dl><dt>${bi('预计等候', 'Estimated wait')}</dt><dd>${bi(wz, we)}</dd></dl>`;
    } else if (t.status === 'called') {
      html += `<div class="state go" id="status">` +
        bi(`请到 ${esc(t.counter)} 号窗口`, `Please go to counter ${t.counter}`, { zhHtml: true }) + '</div>';
    } else {
      const [z, e] = (STATE[t.status] || (() => [t.status, t.status]))(t);
      html += `<div class="state" id="status">${bi(z, e)}</div>`;
    }
    if (body.rating !== undefined) rating = body.rating;
    html += ratingHtml(t);
    $('card').innerHTML = html;
    $('leave').hidden = t.status !== 'waiting';
    $('updated').innerHTML = enFirst
      ? `Updated ${esc(BQ.timeOf(BQ.now()))} <span lang="zh-CN">更新于</span>`
      : `更新于 <span lang="en">Updated</span> ${esc(BQ.timeOf(BQ.now()))}`;
    maybeAlert(t);
  }

  function ratingHtml(t) {
    if (t.status !== 'served' || !rating) return '';
    if (rating.key) {
      const [z, e] = RATING[rating.key] || [rating.key, rating.key];
      return `<div class="rated" id="rated">${bi(`您的评价：${z}`, `Your rating: ${e}`)}</div>`;
    }
    if (!rating.open || !Array.isArray(rating.keys)) return '';
    return `<div class="rate-box" id="rate-box"><p class="rate-ask">${bi('请为本次服务评价', 'Please rate our service')}</p>` +
      `<div class="rate-keys">${rating.keys.map((x) => {
        // {key, zh, en} as the daemon gives them (a bare key name is read too).
        const k = typeof x === 'string' ? x : x.key;
        const [z, e] = typeof x === 'object' && x.zh ? [x.zh, x.en] : RATING[k] || [k, k];
        return `<button type="button" class="tool rate-key" data-key="${esc(k)}"${rating_busy ? ' disabled' : ''}>${bi(z, e)}</button>`;
      }).join('')}</div></div>`;
  }

  $('card').addEventListener('click', async (e) => {
    const b = e.target.closest('button[data-key]');
    if (!b || b.disabled || rating_busy) return;
    rating_busy = true;
    for (const x of $('card').querySelectorAll('button[data-key]')) x.disabled = true;
    let r = null;
    try { r = await BQ.api('POST', `${api}/rating`, { key: b.dataset.key }, { noRedirect: true }); } catch { /* below */ }
    rating_busy = false;
    if (r && r.status === 200) {
      rating = { ...(rating || {}), open: false, key: b.dataset.key };
      announce('谢谢您的评价', 'Thank you for your rating');
    }
    await load().catch(() => {});
    if (!(r && r.status === 200)) {
      $('updated').innerHTML = bi('未能记录评价：评价时间已过或已评价', 'The rating was not recorded: its time has passed or it was already given');
    }
  });

  function message(zh, en) {
    $('card').innerHTML = `<div class="state msg-card" id="status">${bi(zh, en)}</div>`;
    $('leave').hidden = true;
  }

  // "2026-12-01" as 2026年12月1日 and 1 December 2026.
  function day(iso) {
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso || '');
    if (!m) return null;
    const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
    return [`${y}年${mo}月${d}日`, `${d} ${MONTHS[mo - 1]} ${y}`];
  }

  let found = true;

  async function unknown() {
    // The branch's name is public (the hall display shows it); nothing else is asked.
    const r = await BQ.api('GET', '/api/v1/display', undefined, { noRedirect: true }).catch(() => null);
    if (r && r.status === 200 && r.body && r.body.branch) branch = r.body.branch;
    drawBranch();
    const where = branch ? [`${branch.name_zh}`, `${branch.name_en}`] : ['本网点', 'this branch'];
    $('card').innerHTML = `<div class="state msg-card" id="status">` +
      bi('找不到此号票', 'Ticket not found') + '</div>' +
      `<p class="ask">${bi(`请咨询${where[0]}大堂工作人员。`, `Please ask the lobby staff at ${where[1]}.`)}</p>`;
    $('leave').hidden = true;
  }

  async function load() {
    const r = await BQ.api('GET', api, undefined, { noRedirect: true });
    if (r.status === 404) {
      found = false;
      await unknown();
      return null;
    }
    if (r.status === 410) {
      // A link of an earlier business day: that ticket is over. The answer names its day.
      found = false;
      const msg = (r.body && r.body.error && r.body.error.message) || '';
      const d = day((/\d{4}-\d{2}-\d{2}/.exec(msg) || [])[0]);
      if (d) message(`此号票已过期（${d[0]}的号票）`, `This ticket was for an earlier day, ${d[1]}`);
      else message('此号票已过期', 'This ticket is from an earlier day');
      return null;
    }
    if (r.status !== 200) throw new Error(`ticket: ${r.status}`);
    found = true;
    render(r.body);
    return null;
  }

  // ---- leave the queue ----------------------------------------------------------------------------

  const dialog = $('confirm');
  $('leave-btn').addEventListener('click', () => dialog.showModal());
  $('confirm-keep').addEventListener('click', () => dialog.close());
  $('confirm-leave').addEventListener('click', async () => {
    $('confirm-leave').disabled = true;
    try {
      const r = await BQ.api('POST', `${api}/cancel`, undefined, { noRedirect: true });
      dialog.close();
      if (r.status === 200 && r.body && r.body.ticket) {
        render({ ticket: r.body.ticket });
        announce('此号已取消', 'This ticket was cancelled');
      } else {
        await load().catch(() => {});
        const [z, e] = ['未能离开队列：此号已不在等候中', 'Could not leave the queue: the ticket is no longer waiting'];
        $('updated').innerHTML = bi(z, e);
      }
    } finally {
      $('confirm-leave').disabled = false;
    }
  });

  setLang(false);

  // A ticket nobody has gets no stream: the page says so and stays.
  (async () => {
    await load().catch(() => {});
    if (!found) return;
    BQ.live({
      load,
      stream: `${api}/events`,
      everyMs: 20000,
      onEvent(ev) {
        if (!ev.ticket) return false;
        // A ticket just served: its rating comes with the next load, which this asks for.
        if (ev.ticket.status === 'served' && ev.rating === undefined && !(rating && rating.key)) return false;
        render({ ticket: ev.ticket, rating: ev.rating });
        return true;
      },
    });
  })();
})();
