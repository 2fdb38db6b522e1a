// helpcall.js: a kiosk's "呼叫大堂经理 Call the lobby manager" on the lobby page.
//
// Hears the staff's stream (/api/v1/events) the page already follows with
// BQ.live (common.js hands each event on as a "bq-event" DOM event), from
// when the page loaded, and on each help.called shows a banner at the top of the page
// with the kiosk's name and the time, announced (role="alert") and with a
// chime, until someone taps 知道了 Acknowledge. The acknowledgement is this
// page's only: it tells the daemon nothing. Calls made while the page was
// closed are not replayed: a call is for someone who is there now.
//
// The banner's look is in lobby.css (#helpcalls, .helpcall).
'use strict';

(() => {
  const esc = BQ.esc;
  let box = null, audio = null;

  function container() {
    if (box) return box;
    box = document.createElement('div');
    box.id = 'helpcalls';
    box.setAttribute('role', 'region');
    box.setAttribute('aria-label', '呼叫大堂经理 Lobby manager calls');
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

  function show(ev) {
    const from = ev.from || ev.by || '取号机 kiosk';
    const t = Date.parse(ev.at);
    const time = Number.isNaN(t) ? '' : BQ.timeOf(t);
    const el = document.createElement('div');
    el.className = 'helpcall';
    el.setAttribute('role', 'alert');
    el.dataset.from = from;
    el.innerHTML = `<span class="helpcall-text">${esc(from)} 呼叫大堂经理 <span lang="en">${esc(from)} calls the lobby manager</span>` +
      (time ? ` · ${esc(time)}` : '') + '</span>';
    const ack = document.createElement('button');
    ack.type = 'button';
    ack.className = 'btn primary helpcall-ack';
    ack.innerHTML = '知道了 <span lang="en">Acknowledge</span>';
    ack.addEventListener('click', () => el.remove());
    el.appendChild(ack);
    container().appendChild(el);
    chime();
  }

  // The page's own staff stream (BQ.live in common.js hands every event on as "bq-event"):
  // no second connection. Resumed from the last event after a drop, so a call is not lost.
  document.addEventListener('bq-event', (e) => {
    const { stream, ev } = e.detail || {};
    if (stream === '/api/v1/events' && ev && ev.type === 'help.called') show(ev);
  });
})();
