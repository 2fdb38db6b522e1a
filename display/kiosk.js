// kiosk.js: the self-service ticket machine (/kiosk, a 1366×768 touch screen).
//
// Service, then who is taking it: regular, 60 or older (elderly), "I need
// help" (disabled), foreign customer (English voice and ticket), or an ID
// number on a keypad (the daemon decides). Then the ticket: number, people
// ahead, estimated wait. Nothing hurries anyone: no screen times out
// except the finished ticket, which clears itself after two minutes so
// the next customer starts fresh. The services and how many wait for each
// come from GET /api/v1/display and follow the display stream, which says
// nothing about any customer.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const esc = BQ.esc;
  const TICKET_SHOWN_MS = 120000;
  let services = [], service = null, idnum = '', busy = false, clearTimer = null;

  BQ.clock($('clock'));

  function step(name) {
    for (const s of ['service', 'who', 'id', 'ticket']) $(`step-${s}`).classList.toggle('hidden', s !== name);
    $('msg').textContent = '';
  }

  function drawServices() {
    $('services').innerHTML = services.map((s) =>
      `<button class="big" data-service="${esc(s.id)}">${esc(s.name_zh)}<span class="en">${esc(s.name_en)}</span>` +
      `<span class="sub">等候 ${s.waiting} 人 · ${s.waiting} waiting</span></button>`).join('');
  }

  async function loadServices() {
    const r = await BQ.api('GET', '/api/v1/display').catch(() => null);
    if (!r || r.status !== 200) {
      $('msg').textContent = '暂时无法取号，请稍候或咨询大堂经理 Not available right now; please wait or ask the staff';
      throw new Error('display state');
    }
    const q = r.body;
    BQ.sync(q.at);
    if (q.branch) $('branch').innerHTML = `${esc(q.branch.name_zh)}<span class="en">${esc(q.branch.name_en)}</span>`;
    services = q.services;
    drawServices();
    $('msg').textContent = '';
    return q.last_event_id;
  }

  // Only the counts change: each button's line is rewritten, the buttons stay under the finger.
  function applyCounts(ev) {
    if (!ev.waiting) return false;
    for (const s of services) {
      if (!(s.id in ev.waiting)) continue;
      s.waiting = ev.waiting[s.id];
      const sub = document.querySelector(`#services button[data-service="${CSS.escape(s.id)}"] .sub`);
      if (sub) sub.textContent = `等候 ${s.waiting} 人 · ${s.waiting} waiting`;
    }
    return true;
  }

  function showTicket(t) {
    const [wz, we] = BQ.estimate(t.estimated_wait_s);
    $('ticket').innerHTML =
      `<div>${esc(t.service_name_zh)} <span class="en">${esc(t.service_name_en)}</span></div>` +
      `<div class="number" id="ticket-number">${esc(t.number)}</div>` +
      (t.green ? `<div>${BQ.greenMark()}</div>` : '') +
      `<div class="facts">前面还有 <b id="ticket-ahead">${t.ahead ?? '–'}</b> 位在等待` +
      `<span class="en">${t.ahead ?? '–'} ${t.ahead === 1 ? 'person' : 'people'} ahead of you</span></div>` +
      `<div class="facts">预计等候 <b>${esc(wz)}</b><span class="en">Estimated wait ${esc(we)}</span></div>` +
      `<div class="facts">请取走号票，留意叫号<span class="en">Please take your ticket and listen for your number</span></div>`;
    step('ticket');
    clearTimeout(clearTimer);
    clearTimer = setTimeout(reset, TICKET_SHOWN_MS);
  }

  async function issue(body) {
    if (busy) return;
    busy = true;
    $('msg').textContent = '';
    try {
      const r = await BQ.api('POST', '/api/v1/tickets', body);
      if (r.status === 201) showTicket(r.body.ticket);
      else if (r.body?.error?.code === 'invalid_id_number')
        $('msg').textContent = '身份证号无效，请检查 The ID number is not valid; please check it';
      else if (r.body?.error?.code === 'too_many_requests')
        $('msg').textContent = '取号过于频繁，请稍候再试 Too many tickets at once; please wait a moment';
      else $('msg').textContent = '取号失败，请咨询大堂经理 Could not issue a ticket; please ask the staff';
    } catch {
      $('msg').textContent = '网络错误，请重试 Network error, please try again';
    } finally {
      busy = false;
      idnum = '';
      $('idbox').textContent = '';
    }
  }

  function reset() {
    clearTimeout(clearTimer);
    service = null;
    idnum = '';
    $('idbox').textContent = '';
    step('service');
    drawServices();
  }

  $('services').addEventListener('click', (e) => {
    const b = e.target.closest('button');
    if (!b) return;
    service = b.dataset.service;
    const s = services.find((x) => x.id === service);
    $('chosen').innerHTML = `${esc(s.name_zh)} <span class="en">${esc(s.name_en)}</span>`;
    step('who');
  });
  $('who').addEventListener('click', (e) => {
    const b = e.target.closest('button');
    if (!b) return;
    const c = b.dataset.category;
    if (c === 'id') { step('id'); return; }
    issue(c === 'normal' ? { service } : { service, category: c });
  });
  $('pad').addEventListener('click', (e) => {
    const b = e.target.closest('button');
    if (!b) return;
    if (b.dataset.del !== undefined) idnum = idnum.slice(0, -1);
    else if (idnum.length < 18) idnum += b.textContent;
    // Shown masked but for the last four: someone may be standing behind.
    $('idbox').textContent = '•'.repeat(Math.max(0, idnum.length - 4)) + idnum.slice(-4);
  });
  $('id-ok').addEventListener('click', () => {
    if (idnum.length !== 15 && idnum.length !== 18) {
      $('msg').textContent = '请输入15或18位身份证号 Please enter 15 or 18 characters';
      return;
    }
    issue({ service, id_number: idnum });
  });
  document.addEventListener('click', (e) => {
    if (e.target.closest('[data-back]')) step(service && !$('step-id').classList.contains('hidden') ? 'who' : 'service');
  });
  $('done').addEventListener('click', reset);

  BQ.live({ load: loadServices, stream: '/api/v1/display/events', onEvent: applyCounts });
})();
