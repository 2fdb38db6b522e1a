// helpcall.js: the lobby's alerts, as banners across the top of the page:
// a kiosk's "呼叫大堂经理 Call the lobby manager" (help.called) and a
// 不满意 Dissatisfied rating (ticket.rated with key "dissatisfied"), each
// until someone taps 知道了 Acknowledge.
//
// On load it asks GET /api/v1/alerts for today's open alerts, so a banner
// outlives a reload; then it hears the staff stream the page already
// follows with BQ.live (common.js hands each event on as a "bq-event" DOM
// event, with its id, which is the alert's id). Acknowledge sends
// POST /api/v1/alerts/{id}/ack; the banner goes on 200 and on 409
// already_acknowledged (someone else was first), and on every lobby page
// when the stream says alert.acknowledged. A daemon without the alerts
// API (404) leaves the acknowledgement to this page alone. Each new banner
// is announced (role="alert") with a chime.
//
// The banners' look is in lobby.css (#helpcalls, .helpcall).
'use strict';

(() => {
  const esc = BQ.esc;
  const shown = new Map();       // alert id -> banner element
  let box = null, audio = null;

  function container() {
    if (box) return box;
    box = document.createElement('div');
    box.id = 'helpcalls';
    box.setAttribute('role', 'region');
    box.setAttribute('aria-label', '提醒 Alerts');
    document.body.appendChild(box);
    return box;
  }

  // Three rising tones; the page may not play before a tap on it (autoplay rules).
  function chime() {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      BQ.tone(audio, [[660, 0, 0.24], [880, 0.25, 0.24], [1100, 0.5, 0.24]], 0.3);
      document.body.dataset.helpChimes = String(Number(document.body.dataset.helpChimes || 0) + 1);
    } catch { /* no sound: the banner still shows */ }
  }

  // a: {id, kind: "help"|"dissatisfied", at, counter, teller, number, from}
  function show(a, ring) {
    if (a.id != null && shown.has(a.id)) return;
    const t = Date.parse(a.at);
    const time = Number.isNaN(t) ? '' : ` · ${esc(BQ.timeOf(t))}`;
    const el = document.createElement('div');
    el.className = `helpcall ${a.kind === 'dissatisfied' ? 'dissatisfied' : ''}`;
    el.setAttribute('role', 'alert');
    if (a.id != null) el.dataset.alert = String(a.id);
    el.dataset.kind = a.kind;
    if (a.kind === 'dissatisfied') {
      const teller = a.teller ? ` · 柜员 ${esc(a.teller)}` : '';
      const tellerEn = a.teller ? ` · teller ${esc(a.teller)}` : '';
      el.innerHTML = `<span class="helpcall-text">不满意评价：${esc(a.counter)} 号窗口${teller} · ${esc(a.number)} / ` +
        `<span lang="en">Dissatisfied: counter ${esc(a.counter)}${tellerEn} · ${esc(a.number)}</span>${time}</span>`;
    } else {
      const from = a.from || '取号机 kiosk';
      el.dataset.from = from;
      el.innerHTML = `<span class="helpcall-text">${esc(from)} 呼叫大堂经理 <span lang="en">${esc(from)} calls the lobby manager</span>` +
        `${time}</span>`;
    }
    const ack = document.createElement('button');
    ack.type = 'button';
    ack.className = 'btn primary helpcall-ack';
    ack.innerHTML = '知道了 <span lang="en">Acknowledge</span>';
    ack.addEventListener('click', () => acknowledge(a.id, el, ack));
    el.appendChild(ack);
    container().appendChild(el);
    if (a.id != null) shown.set(a.id, el);
    if (ring) chime();
  }

  function drop(id, el) {
    el.remove();
    if (id != null) shown.delete(id);
  }

  async function acknowledge(id, el, button) {
    if (id == null) { drop(id, el); return; }
    button.disabled = true;
    let r = null;
    try { r = await BQ.api('POST', `/api/v1/alerts/${id}/ack`); } catch { /* said below */ }
    const code = r && r.body && r.body.error && r.body.error.code;
    if (r && (r.status === 200 || code === 'already_acknowledged' || code === 'unknown_alert' || r.status === 404)) {
      drop(id, el);
    } else {
      button.disabled = false;
      el.querySelector('.helpcall-text').insertAdjacentHTML('beforeend',
        ' <b class="helpcall-err">未能确认，请重试 <span lang="en">Not acknowledged: try again</span></b>');
    }
  }

  // Today's open alerts, as the daemon keeps them.
  // Only a banner that was up before the question was sent can be dropped
  // for missing from the answer: one the stream brought meanwhile is newer.
  async function loadAlerts() {
    const before = new Set(shown.keys());
    const r = await BQ.api('GET', '/api/v1/alerts').catch(() => null);
    if (!r || r.status !== 200 || !r.body || !Array.isArray(r.body.alerts)) return;
    const open = new Set(r.body.alerts.map((a) => a.id));
    for (const [id, el] of [...shown]) if (before.has(id) && !open.has(id)) drop(id, el);
    for (const a of r.body.alerts) show(a, false);
  }

  // The page's own staff stream: no second connection. Resumed from the last event after a drop.
  document.addEventListener('bq-event', (e) => {
    const { stream, ev, id } = e.detail || {};
    if (stream !== '/api/v1/events' || !ev) return;
    if (ev.type === 'help.called') {
      show({ id: id || null, kind: 'help', at: ev.at, from: ev.from || ev.by }, true);
    } else if (ev.type === 'ticket.rated' && ev.key === 'dissatisfied') {
      const t = ev.ticket || {};
      show({ id: id || null, kind: 'dissatisfied', at: ev.at, counter: ev.counter, teller: ev.teller,
        number: t.number || ev.number || '' }, true);
    } else if (ev.type === 'alert.acknowledged' && ev.of != null) {
      const el = shown.get(ev.of);
      if (el) drop(ev.of, el);
    }
  });

  // Asked again each time the stream opens: the stream resumes from the
  // hall's load, which may be newer than the first answer, so an alert
  // committed between the two would be in neither.
  document.addEventListener('bq-open', (e) => {
    if ((e.detail || {}).stream === '/api/v1/events') loadAlerts();
  });

  loadAlerts();
})();
