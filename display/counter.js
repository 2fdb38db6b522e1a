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
// Keys: N call next, R recall, S start, X no-show, F finish, T transfer
// (then 1-9 picks the service), P pause or resume, Esc closes the choice.
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
      `<button class="btn" data-service="${esc(s.id)}">${i + 1}. ${esc(s.name_zh)} ` +
      `<span class="en">${esc(s.name_en)}</span></button>`).join('');
    buttons();
  }

  const load = () => BQ.loadQueue(render);

  async function act(action, extra = {}) {
    if (busy || !counter || guarded(action)) return;
    if (action === 'transfer' && !extra.service) {
      $('transfer').classList.toggle('hidden');
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
      $('transfer').classList.add('hidden');
      // The answer says what the counter is now; anything else (a refusal, nobody to call) reloads.
      const i = r.status === 200 && r.body.counter ? state.counters.findIndex((c) => c.number === n) : -1;
      if (i >= 0) {
        state.counters[i] = r.body.counter;
        render(state);
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
  document.addEventListener('keydown', (e) => {
    if (e.ctrlKey || e.altKey || e.metaKey || busy || !counter) return;
    const k = e.key.toLowerCase();
    const choices = $('transfer');
    if (k === 'escape') { choices.classList.add('hidden'); return; }
    if (!choices.classList.contains('hidden') && /^[1-9]$/.test(k)) {
      const b = choices.querySelectorAll('button')[Number(k) - 1];
      if (b) act('transfer', { service: b.dataset.service });
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
      return true;
    },
    onLink(up) { $('link').classList.toggle('hidden', up); },
  });
})();
