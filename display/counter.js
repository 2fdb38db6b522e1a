// counter.js: the teller's page (/counter/{n}).
//
// One request at a time: while an action is in flight every button is
// disabled and keys are ignored, and each action sends "expect" (the
// ticket this page shows, or null), so a double click, or a second client
// at the same counter, gets 409 counter_changed instead of acting twice.
// A call or recall that has just succeeded is not followed by another call
// or recall for a second (REPEAT_GUARD_MS), however late the browser saw the
// second click; any other action in between lifts that.
// The hall is loaded whole at start and after a reconnect, and kept current
// by applying each staff event (BQ.applyStaff); an action's own answer
// updates the counter at once, and only a refusal loads the hall again.
// Beside it, the next five this counter would call, in the order its calls
// would take them (GET /api/v1/counters/{n}/next, the daemon's own policy),
// and, for a transferred customer, the earlier legs: where they were before.
// That list is fetched again shortly after each change the stream carries.
// Keys: N call next, R recall, S start, X no-show, F finish, T transfer
// (a dialog: 1-9 picks the service, Esc or Cancel closes it and does
// nothing), P pause or resume, V 请评价 Rate (opens the rating keypad's
// prompt for the last customer served here). While a dialog is open no
// other key acts. A USB numeric keypad (叫号器) drives the same buttons by
// KeyboardEvent.code, as GET /api/v1/counters/{n} `keys` maps them (the
// defaults are in USB_DEFAULT and docs/pages.md).
// Call next on a customer recalled and never started is answered 409
// outcome_needed: a dialog asks 客户来了吗 Did the customer come? and the
// call is sent again with {"outcome": "served"|"no_show"}.
// The counter's own no-shows of today (the queue's `no_shows` when the
// daemon gives it, else those this page saw on the stream) can be put back
// in line: POST /api/v1/counters/{n}/reinstate {ticket_id} (the teller's
// own; the lobby's is /api/v1/tickets/{id}/reinstate).
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const esc = BQ.esc;
  const n = Number(location.pathname.split('/').filter(Boolean)[1]);
  let counter = null, services = [], busy = false, state = null;
  // A call or recall announces a customer in the hall: a second press within
  // this long (a double click the browser saw only after the first call had
  // come back) is taken as the same press, not as "finish and call the next".
  const REPEAT_GUARD_MS = 1000;
  let guardUntil = 0;
  let nextSeq = 0, nextTimer = null;
  const guarded = (action) => (action === 'call' || action === 'recall') && performance.now() < guardUntil;
  const KEYS = { n: 'call', r: 'recall', s: 'start', x: 'no-show', f: 'finish', t: 'transfer', v: 'rate' };
  // The USB keypad's defaults ([counter_keys] in the config): action -> KeyboardEvent.code.
  const USB_DEFAULT = { call: 'NumpadAdd', recall: 'NumpadDecimal', start: 'NumpadMultiply',
    finish: 'NumpadEnter', no_show: 'NumpadSubtract', pause: 'NumpadDivide', rate: 'Numpad0' };
  let usb = new Map(Object.entries(USB_DEFAULT).map(([a, c]) => [c, a]));
  const noShows = new Map();     // id -> ticket: this counter's no-shows of today
  const ERR = {
    counter_changed: ['柜台状态已变化，已刷新', 'The counter changed (another click or client); refreshed'],
    counter_paused: ['窗口已暂停', 'The counter is paused'],
    no_current_ticket: ['当前没有客户', 'Nobody is at the counter'],
    not_called: ['客户已在办理中', 'The customer is already being served'],
    previous_day: ['该号为前一营业日的号', 'The ticket is from an earlier business day'],
    nothing_to_rate: ['没有可评价的客户（10 分钟内办结的）', 'Nobody to rate (a customer served in the last 10 minutes)'],
    not_no_show: ['该号不是过号', 'That ticket is not a no-show'],
    reinstate_limit: ['该号已重新排队过，不能再排', 'That ticket was already put back in line as often as allowed'],
    ticket_expired: ['该号为前一营业日的号', 'The ticket is from an earlier business day'],
  };

  $('title').textContent = `${n} 号窗口`;
  $('title-en').textContent = `Counter ${n}`;
  BQ.clock($('clock'));

  function say(text, cls) {
    $('msg').className = `msg ${cls || ''}`;
    $('msg').textContent = text;
  }

  function buttons() {
    const t = counter && counter.ticket;
    const on = {
      call: !counter?.paused,
      recall: t && t.status === 'called',
      start: t && t.status === 'called',
      'no-show': t && t.status === 'called',
      finish: !!t,
      transfer: !!t,
      pause: counter && !counter.paused,
      resume: counter && counter.paused,
      rate: !!counter,
    };
    for (const b of document.querySelectorAll('#actions button'))
      b.disabled = busy || !on[b.dataset.action] || guarded(b.dataset.action);
    for (const b of document.querySelectorAll('#transfer button, #outcome-dialog button, #noshows button')) b.disabled = busy;
  }

  function render(q) {
    state = q;
    counter = q.counters.find((c) => c.number === n) || null;
    services = q.services;
    if (!counter) {
      // Removed from the config by a reload while this page was open.
      say(`${n} 号窗口未配置 Counter ${n} is not configured`, 'error');
      buttons();
      return;
    }
    const mine = services.filter((s) => counter.services.includes(s.id));
    $('waiting').textContent = mine.reduce((a, s) => a + s.waiting, 0);
    const st = $('state');
    st.className = `pill ${counter.paused ? 'paused' : counter.state}`;
    st.textContent = counter.paused ? '暂停 Paused' :
      { idle: '空闲 Idle', called: '已叫号 Called', serving: '办理中 Serving' }[counter.state];
    const t = counter.ticket;
    if (t) {
      const waited = Math.max(0, Math.round((Date.parse(t.called_at) - Date.parse(t.issued_at)) / 1000));
      const [wz, we] = BQ.dur(waited);
      const [cz, ce] = BQ.CATEGORY[t.category] || [t.category, t.category];
      $('number').textContent = t.number;
      $('facts').innerHTML = `${esc(t.service_name_zh)} <span class="en">${esc(t.service_name_en)}</span> · ` +
        `${t.green ? BQ.greenMark() + ' ' : ''}${esc(cz)} <span class="en">${esc(ce)}</span> · ` +
        `等候 <b id="waited">${esc(wz)}</b> <span class="en">waited ${esc(we)}</span>` +
        (t.lang === 'en' ? ' · <b>English</b>' : '') +
        (t.recalls ? ` · 重呼 ${t.recalls} 次 <span class="en">recalled ${t.recalls}×</span>` : '');
    } else {
      $('number').textContent = '—';
      $('facts').innerHTML = '暂无客户 <span class="en">Nobody at this counter</span>';
    }
    $('transfer').innerHTML = services.filter((s) => !t || s.id !== t.service).map((s, i) =>
      `<button class="btn" data-service="${esc(s.id)}"><span class="key">${i + 1}</span> ${esc(s.id)} ${esc(s.name_zh)} ` +
      `<span class="en">${esc(s.name_en)}</span></button>`).join('');
    $('transfer-who').innerHTML = t ? `<b>${esc(t.number)}</b> ${esc(t.service_name_zh)} <span class="en">${esc(t.service_name_en)}</span>` : '';
    if (!t && $('transfer-dialog').open) $('transfer-dialog').close();
    if (Array.isArray(q.no_shows)) {
      noShows.clear();
      for (const x of q.no_shows) if (x.counter === n) noShows.set(x.id, x);
    }
    renderNoShows();
    buttons();
  }

  function renderNoShows() {
    const list = [...noShows.values()];
    $('noshow-card').classList.toggle('hidden', list.length === 0);
    $('noshows').innerHTML = list.map((x) => `<li data-number="${esc(x.number)}"><span class="num">${esc(x.number)}</span>` +
      `<button class="btn" data-reinstate="${x.id}" aria-label="${esc(x.number)} 重新排队 Reinstate">重新排队 <span lang="en">Reinstate</span></button></li>`).join('');
  }

  async function reinstate(id) {
    if (busy) return;
    busy = true;
    buttons();
    try {
      const r = await BQ.api('POST', `/api/v1/counters/${n}/reinstate`, { ticket_id: id });
      const x = noShows.get(id);
      if (r.status === 200) {
        noShows.delete(id);
        say(`${x ? x.number : ''} 已重新排队 back in line`, 'ok');
      } else {
        const m = ERR[r.body?.error?.code];
        if (r.body?.error?.code !== 'reinstate_limit' && r.status === 409) noShows.delete(id);
        say(m ? `${m[0]} ${m[1]}` : `错误 Error: ${r.body?.error?.message || r.status}`, 'error');
      }
      renderNoShows();
    } catch {
      say('网络错误，请重试 Network error, try again', 'error');
    } finally {
      busy = false;
      buttons();
    }
  }

  // Who comes next here, and where the current customer has been.
  function renderNext(j) {
    $('next').innerHTML = j.next.length ? j.next.map((t, i) => {
      const [cz, ce] = BQ.CATEGORY[t.category] || [t.category, t.category];
      const [wz, we] = BQ.dur(BQ.since(t.issued_at));
      return `<li data-number="${esc(t.number)}"><span class="pos">${i + 1}</span><span class="num">${esc(t.number)}</span>` +
        `<span class="who">${esc(t.service_name_zh)} <span class="en">${esc(t.service_name_en)}</span><br>` +
        `${t.green ? BQ.greenMark() + ' ' : ''}${esc(cz)} <span class="en">${esc(ce)}</span>` +
        `${t.lang === 'en' ? ' · <b>English</b>' : ''} · 已等 ${esc(wz)} <span class="en">waited ${esc(we)}</span></span></li>`;
    }).join('') : '<li class="none">无人等候 <span class="en">Nobody is waiting for this counter</span></li>';
    $('next-paused').classList.toggle('hidden', !(counter && counter.paused));
    const legs = j.legs || [];
    $('legs-box').classList.toggle('hidden', legs.length < 2);
    $('legs').innerHTML = legs.map((l, i) => {
      const when = (iso) => (iso ? BQ.timeOf(Date.parse(iso)).slice(0, 5) : '');
      const last = i === legs.length - 1;
      const where = l.counter ? `${l.counter} 号窗口 <span class="en">counter ${l.counter}</span>` : '';
      return `<li class="${last ? 'current' : ''}"><b>${esc(l.service)} ${esc(l.service_name_zh)}</b> ` +
        `<span class="en">${esc(l.service_name_en)}</span>${where ? ' · ' + where : ''}` +
        (last ? ' · 现在 <span class="en">now</span>' :
          ` · ${esc(when(l.called_at))}–${esc(when(l.ended_at))} 转出 <span class="en">transferred</span>`) + '</li>';
    }).join('');
  }

  async function loadNext() {
    const seq = ++nextSeq;
    const r = await BQ.api('GET', `/api/v1/counters/${n}/next`).catch(() => null);
    // An older answer that arrives after a newer one is dropped.
    if (seq !== nextSeq || !r || r.status !== 200) return;
    renderNext(r.body);
  }

  // Changes come in bursts (a call ends one ticket and calls the next): one fetch per burst.
  function nextSoon() {
    clearTimeout(nextTimer);
    nextTimer = setTimeout(loadNext, 150);
  }

  const load = () => BQ.loadQueue((q) => { render(q); nextSoon(); });

  async function act(action, extra = {}) {
    if (busy || !counter || guarded(action)) return;
    if (action === 'transfer' && !extra.service) {
      if (counter.ticket && !$('transfer-dialog').open) {
        $('transfer-dialog').showModal();
        $('transfer').querySelector('button')?.focus();
      }
      return;
    }
    const body = { ...extra };
    if (!['pause', 'resume', 'rate'].includes(action)) body.expect = counter.ticket ? counter.ticket.id : null;
    busy = true;
    buttons();
    say('…');
    try {
      const r = await BQ.api('POST', `/api/v1/counters/${n}/${action}`, body);
      if (r.status === 204) say('无人等候 Nobody is waiting', 'ok');
      else if (r.status === 200) {
        const t = r.body.ticket;
        // Only a call or recall right after another is held back: finish then call is meant.
        guardUntil = action === 'call' || action === 'recall' ? performance.now() + REPEAT_GUARD_MS : 0;
        if (guardUntil) setTimeout(buttons, REPEAT_GUARD_MS + 10);
        if (action === 'no-show' && t) { noShows.set(t.id, t); renderNoShows(); }
        if (extra.outcome === 'no_show' && r.body.ended) { noShows.set(r.body.ended.id, r.body.ended); renderNoShows(); }
        say(action === 'call' && t ? `已叫 ${t.number} Called ${t.number}` :
          action === 'rate' ? '已请客户评价 The keypad asks the customer to rate' : '完成 Done', 'ok');
      } else if (r.status === 409 && r.body?.error?.code === 'outcome_needed' && action === 'call') {
        // Recalled and never started: the teller says whether the customer came.
        const who = r.body.ticket || counter.ticket;
        $('outcome-who').innerHTML = who ? `<b>${esc(who.number)}</b>` : '';
        say('');
        busy = false;
        buttons();
        $('outcome-dialog').showModal();
        $('outcome-dialog').querySelector('[data-outcome="served"]').focus();
        return;
      } else {
        const code = r.body?.error?.code;
        const m = ERR[code];
        say(m ? `${m[0]} ${m[1]}` : `错误 Error: ${r.body?.error?.message || r.status}`, 'error');
      }
      if ($('transfer-dialog').open) $('transfer-dialog').close();
      if ($('outcome-dialog').open) $('outcome-dialog').close();
      // The answer says what the counter is now; anything else (a refusal, nobody to call) reloads.
      const i = r.status === 200 && r.body.counter ? state.counters.findIndex((c) => c.number === n) : -1;
      if (i >= 0) {
        state.counters[i] = r.body.counter;
        render(state);
        nextSoon();
      } else {
        await load();
      }
    } catch {
      say('网络错误，请重试 Network error, try again', 'error');
    } finally {
      busy = false;
      buttons();
    }
  }

  $('actions').addEventListener('click', (e) => {
    const b = e.target.closest('button');
    if (b && !b.disabled) act(b.dataset.action);
  });
  $('transfer').addEventListener('click', (e) => {
    const b = e.target.closest('button');
    if (b && !b.disabled) act('transfer', { service: b.dataset.service });
  });
  $('transfer-cancel').addEventListener('click', () => $('transfer-dialog').close());
  $('outcome-dialog').addEventListener('click', (e) => {
    const b = e.target.closest('button[data-outcome]');
    if (b && !b.disabled) act('call', { outcome: b.dataset.outcome });
  });
  $('outcome-cancel').addEventListener('click', () => $('outcome-dialog').close());
  $('outcome-dialog').addEventListener('close', () => {
    document.querySelector('#actions button[data-action="call"]')?.focus();
  });
  $('noshows').addEventListener('click', (e) => {
    const b = e.target.closest('button[data-reinstate]');
    if (b && !b.disabled) reinstate(Number(b.dataset.reinstate));
  });
  // Closed (Cancel, Esc, or done): back to the button that opened it.
  $('transfer-dialog').addEventListener('close', () => {
    document.querySelector('#actions button[data-action="transfer"]')?.focus();
  });
  document.addEventListener('keydown', (e) => {
    if (e.ctrlKey || e.altKey || e.metaKey || busy || !counter) return;
    const k = e.key.toLowerCase();
    if ($('outcome-dialog').open) {
      const o = { 1: 'served', 2: 'no_show' }[k];
      if (o) { e.preventDefault(); act('call', { outcome: o }); }
      return;
    }
    if ($('transfer-dialog').open) {
      // The dialog closes itself on Esc; a digit picks; nothing else acts behind it.
      if (/^[1-9]$/.test(k)) {
        const b = $('transfer').querySelectorAll('button')[Number(k) - 1];
        if (b) act('transfer', { service: b.dataset.service });
      }
      return;
    }
    // The USB keypad first, by the key's place (a numpad's + is NumpadAdd, whatever it types).
    const u = usb.get(e.code);
    let action = u ? u.replace('_', '-') : KEYS[k];
    if (k === 'p' || u === 'pause') action = counter.paused ? 'resume' : 'pause';
    const b = action && document.querySelector(`#actions button[data-action="${action}"]`);
    if (b && !b.disabled) {
      e.preventDefault();
      act(action);
    }
  });

  // The USB keypad's keys, as this counter's config has them.
  function showUsb() {
    const names = { call: '叫号', recall: '重呼', start: '开始', finish: '完成', no_show: '过号', pause: '暂停/恢复', rate: '请评价' };
    const pretty = (c) => c.replace(/^Numpad/, '小键盘 ');
    $('usb-keys').textContent = '叫号器 USB keypad: ' + [...usb.entries()].map(([c, a]) => `${names[a] || a} ${pretty(c)}`).join(' · ');
  }
  showUsb();
  BQ.api('GET', `/api/v1/counters/${n}`).then((r) => {
    const keys = r.status === 200 && r.body.counter && r.body.counter.keys;
    if (keys && typeof keys === 'object') {
      usb = new Map(Object.entries(keys).filter(([, c]) => typeof c === 'string' && c).map(([a, c]) => [c, a]));
      showUsb();
    }
    const c = r.status === 200 && r.body.counter;
    if (c && c.name_zh) { $('title').textContent = c.name_zh; $('title-en').textContent = c.name_en || `Counter ${n}`; }
  }).catch(() => {});

  BQ.live({
    load,
    onEvent(ev, id) {
      if (ev.type === 'ticket.no_show' && ev.counter === n && ev.ticket) { noShows.set(ev.ticket.id, ev.ticket); renderNoShows(); }
      if (ev.type === 'ticket.reinstated' && ev.from != null) { noShows.delete(typeof ev.from === 'object' ? ev.from.id : ev.from); renderNoShows(); }
      if (!BQ.applyStaff(state, ev, id)) return false;
      render(state);
      nextSoon();
      return true;
    },
    onLink(up) { $('link').classList.toggle('hidden', up); },
  });
})();
