// advice.js: the lobby's 建议增开窗口 Open another counter. The daemon
// simulates the rest of the day from the hall as it stands (docs/advisor.md);
// while a service's predicted overtime share is over its target the card at
// the top of the lobby says so, with the figures and the counter to open.
//
// On load, and each time the page's staff stream opens (it resumes from the
// hall's load, which may be newer than the first answer), it asks GET
// /api/v1/advice/live; then it follows advice.open_counter and
// advice.cleared on that stream (common.js hands each event on as a
// "bq-event" DOM event). Nothing to dismiss: it goes when the prediction
// falls back under the target.
'use strict';

(() => {
  const esc = BQ.esc;
  const pct = (v) => `${(v * 100).toFixed(1)}%`;
  let card = null;

  function box() {
    if (card) return card;
    card = document.createElement('section');
    card.id = 'advice-card';
    card.className = 'card advice-card hidden';
    card.setAttribute('aria-labelledby', 'h-advice');
    card.innerHTML = '<h2 id="h-advice">建议增开窗口 <span class="en">Open another counter</span></h2>' +
      '<p class="advice-text" id="advice-text" role="alert"></p>';
    const side = document.querySelector('.lobby-side') || document.querySelector('main') || document.body;
    side.prepend(card);
    return card;
  }

  // a: the advice.open_counter figures; null: nothing to advise.
  function show(a) {
    const el = box();
    if (!a) {
      el.classList.add('hidden');
      el.querySelector('#advice-text').textContent = '';
      delete document.body.dataset.advice;
      return;
    }
    const over = (a.services || []).filter((s) => s.over)
      .map((s) => `${esc(s.service)} ${pct(s.overtime_share)}`).join(' · ');
    const c = a.open_counter;
    const target = (a.services || []).filter((s) => s.over).map((s) => pct(s.target_share))[0] || '';
    let zh = `预计今日余下时段超时等候占比 ${pct(a.predicted.overtime_share)}（${over}），目标 ${target}；现在等候 ${a.waiting} 人。`;
    let en = `The rest of today is predicted at ${pct(a.predicted.overtime_share)} overtime (${over}), target ${target}; ${a.waiting} waiting now.`;
    if (c) {
      zh += `开放 ${esc(c.name_zh)} 后预计 ${pct(c.overtime_share)}。`;
      en += ` With ${esc(c.name_en)} open: ${pct(c.overtime_share)}.`;
    } else {
      zh += '所有可办理的窗口均已开放。';
      en += ' Every counter that serves it is open already.';
    }
    el.querySelector('#advice-text').innerHTML = `${zh}<br><span lang="en">${en}</span>`;
    el.dataset.counter = c ? String(c.number) : '';
    el.classList.remove('hidden');
    document.body.dataset.advice = c ? String(c.number) : 'open';
  }

  async function load() {
    const r = await BQ.api('GET', '/api/v1/advice/live').catch(() => null);
    if (r && r.status === 200 && r.body) show(r.body.advice);
  }

  document.addEventListener('bq-event', (e) => {
    const { stream, ev } = e.detail || {};
    if (stream !== '/api/v1/events' || !ev) return;
    if (ev.type === 'advice.open_counter') show(ev);
    else if (ev.type === 'advice.cleared') show(null);
  });
  document.addEventListener('bq-open', (e) => {
    if ((e.detail || {}).stream === '/api/v1/events') load();
  });
  load();
})();
