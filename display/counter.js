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
// nothing), P pause or resume. While the dialog is open no other key acts.
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
  const KEYS = { n: 'call', r: 'recall', s: 'start', x: 'no-show', f: 'finish', t: 'transfer' };
  const ERR = {
    counter_changed: ['柜台状态已变化，已刷新', 'The counter changed (another click or client); refreshed'],
    counter_paused: ['窗口已暂停', 'The counter is paused'],
    no_current_ticket: ['当前没有客户', 'Nobody is at the counter'],
    not_called: ['客户已在办理中', 'The customer is already being served'],
    previous_day: ['该号为前一营业日的号', 'The ticket is from an earlier business day'],
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
    };
    for (const b of document.querySelectorAll('#actions button'))
      b.disabled = busy || !on[b.dataset.action] || guarded(b.dataset.action);
    for (const b of document.querySelectorAll('#transfer button')) b.disabled = busy;
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
    buttons();
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
    if (action !== 'pause' && action !== 'resume') body.expect = counter.ticket ? counter.ticket.id : null;
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
        say(action === 'call' ? `已叫 ${t.number} Called ${t.number}` : '完成 Done', 'ok');
      } else {
        const code = r.body?.error?.code;
        const m = ERR[code];
        say(m ? `${m[0]} ${m[1]}` : `错误 Error: ${r.body?.error?.message || r.status}`, 'error');
      }
      if ($('transfer-dialog').open) $('transfer-dialog').close();
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
  // Closed (Cancel, Esc, or done): back to the button that opened it.
  $('transfer-dialog').addEventListener('close', () => {
    document.querySelector('#actions button[data-action="transfer"]')?.focus();
  });
  document.addEventListener('keydown', (e) => {
    if (e.ctrlKey || e.altKey || e.metaKey || busy || !counter) return;
    const k = e.key.toLowerCase();
    if ($('transfer-dialog').open) {
      // The dialog closes itself on Esc; a digit picks; nothing else acts behind it.
      if (/^[1-9]$/.test(k)) {
        const b = $('transfer').querySelectorAll('button')[Number(k) - 1];
        if (b) act('transfer', { service: b.dataset.service });
      }
      return;
    }
    let action = KEYS[k];
    if (k === 'p') action = counter.paused ? 'resume' : 'pause';
    const b = action && document.querySelector(`#actions button[data-action="${action}"]`);
    if (b && !b.disabled) {
      e.preventDefault();
      act(action);
    }
  });

  BQ.live({
    load,
    onEvent(ev, id) {
      if (!BQ.applyStaff(state, ev, id)) return false;
      render(state);
      nextSoon();
      return true;
    },
    onLink(up) { $('link').classList.toggle('hidden', up); },
  });
})();
