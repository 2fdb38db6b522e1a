// kiosk.js: the self-service ticket machine (/kiosk: a portrait 1080×1920
// floor kiosk, or a 1920×1080 screen).
//
// Service, then who is taking it: regular, one of the green categories the
// branch configured (GET /api/v1/display's "green"), or an ID number on a
// keypad (the daemon decides). Then the ticket: number, people ahead,
// estimated wait, and what happened to the paper: printed, still printing,
// or not printed, when the screen says so and shows the phone page's QR code
// (GET /api/v1/t/{token}/qr.svg) to scan or photograph instead.
//
// 中文 / English: every label has both; the switch chooses which leads, and
// an English customer's ticket is issued in English (voice and paper). The
// kiosk goes back to Chinese when a customer is done.
//
// "呼叫大堂经理 Call the lobby manager" (POST /api/v1/help) issues nothing: the
// lobby page hears it on the staff's stream and shows which kiosk called.
//
// When the daemon cannot be reached (the first load, the display stream, an
// issue that fails on the network) a full-screen 暂停服务 Out of service notice
// covers the page until the stream is back; nothing under it can be tapped.
//
// Nothing hurries anyone: no screen times out except the finished ticket,
// which clears itself after two minutes so the next customer starts fresh.
// The services and how many wait for each come from GET /api/v1/display and
// follow the display stream, which says nothing about any customer.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const esc = BQ.esc;
  const TICKET_SHOWN_MS = 120000;
  const HELP_AGAIN_MS = 30000;     // a second call within this is the same call
  const PRINT_WAIT_MS = 30000;     // longer than the printer's own timeout (20 s by default)
  const DOWN_AFTER_MS = 1000;      // a blip shorter than this shows nothing
  // The customer's words for each green category; the API names them.
  const WHO = {
    elderly: (g) => [`我已年满${g.elderly_age}岁`, `I am ${g.elderly_age} or older`],
    disabled: () => ['残障人士', 'I have a disability'],
    pregnant: () => ['孕妇', 'I am pregnant'],
    military: () => ['军人', 'Military personnel'],
    foreign: () => ['外籍客户', 'Foreign customer (English)'],
  };
  let services = [], green = { categories: [], elderly_age: 60 }, service = null;
  let idnum = '', busy = false, clearTimer = null, printTimer = null, lang = 'zh';
  let downTimer = null, ticket = null;

  BQ.clock($('clock'));

  // Both languages, the chosen one first and larger.
  function two(zh, en) {
    return lang === 'en'
      ? `<span class="first" lang="en">${esc(en)}</span><span class="second" lang="zh-CN">${esc(zh)}</span>`
      : `<span class="first">${esc(zh)}</span><span class="second" lang="en">${esc(en)}</span>`;
  }
  const line = (zh, en) => (lang === 'en' ? `${en} · ${zh}` : `${zh} · ${en}`);

  function paintStatic() {
    for (const el of document.querySelectorAll('[data-zh]')) el.innerHTML = two(el.dataset.zh, el.dataset.en);
    document.documentElement.lang = lang === 'en' ? 'en' : 'zh-CN';
    document.body.classList.toggle('lang-en', lang === 'en');
    for (const b of document.querySelectorAll('[data-lang]')) b.setAttribute('aria-pressed', String(b.dataset.lang === lang));
  }

  function setLang(l) {
    lang = l;
    paintStatic();
    drawServices();
    drawWho();
    if (ticket) drawTicket(ticket);
  }

  function say(zh, en) { $('msg').textContent = zh ? line(zh, en) : ''; }

  function step(name) {
    for (const s of ['service', 'who', 'id', 'ticket']) $(`step-${s}`).classList.toggle('hidden', s !== name);
    $('intro').classList.toggle('hidden', name === 'ticket' || name === 'id');
    say('');
  }

  const waitingText = (n) => (lang === 'en' ? `${n} waiting · 等候 ${n} 人` : `等候 ${n} 人 · ${n} waiting`);

  function drawServices() {
    $('services').innerHTML = services.map((s) =>
      `<button type="button" class="choice" data-service="${esc(s.id)}">${two(s.name_zh, s.name_en)}` +
      `<span class="sub">${esc(waitingText(s.waiting))}</span></button>`).join('');
  }

  function drawWho() {
    const s = services.find((x) => x.id === service);
    $('chosen').innerHTML = s ? two(`${s.name_zh} · 请选择`, `${s.name_en} · Please choose`) : '';
    const green1 = (c) => {
      const [zh, en] = (WHO[c.name] || (() => BQ.CATEGORY[c.name] || [c.name, c.name]))(green);
      return `<button type="button" class="choice green" data-category="${esc(c.name)}">${two(zh, en)}` +
        `<span class="sub">${esc(line('绿色通道', 'Green Channel'))}</span></button>`;
    };
    $('who').innerHTML =
      `<button type="button" class="choice" data-category="normal">${two('普通取号', 'Regular ticket')}</button>` +
      green.categories.map(green1).join('') +
      `<button type="button" class="choice" data-category="id">${two('输入身份证号', 'Enter my ID number')}</button>`;
  }

  function down(isDown) {
    clearTimeout(downTimer);
    if (!isDown) { $('down').classList.add('hidden'); return; }
    downTimer = setTimeout(() => $('down').classList.remove('hidden'), DOWN_AFTER_MS);
  }

  async function loadServices() {
    const r = await BQ.api('GET', '/api/v1/display').catch(() => null);
    if (!r || r.status !== 200) throw new Error('display state');
    const q = r.body;
    BQ.sync(q.at);
    if (q.branch) $('branch').innerHTML = two(q.branch.name_zh, q.branch.name_en);
    services = q.services;
    if (q.green) green = q.green;
    drawServices();
    if (service) drawWho();
    return q.last_event_id;
  }

  // Only the counts change: each button's line is rewritten, the buttons stay under the finger.
  function applyCounts(ev) {
    if (!ev.waiting) return false;
    for (const s of services) {
      if (!(s.id in ev.waiting)) continue;
      s.waiting = ev.waiting[s.id];
      const sub = document.querySelector(`#services button[data-service="${CSS.escape(s.id)}"] .sub`);
      if (sub) sub.textContent = waitingText(s.waiting);
    }
    return true;
  }

  // What happened to the paper, as the ticket's "print" says.
  function paperText(t) {
    const st = t.print?.state;
    if (st === 'printed')
      return `<div class="paper ok" id="paper" data-state="printed">${two('请取走号票，留意叫号', 'Please take your ticket and listen for your number')}</div>`;
    if (st === 'queued' || st === 'printing')
      return `<div class="paper" id="paper" data-state="printing">${two('正在打印号票…', 'Printing your ticket…')}</div>`;
    return `<div class="paper none" id="paper" data-state="none">` +
      two('没有打印纸质号票：请扫描下方二维码，或拍下本屏幕', 'No paper: please scan this QR code or photograph this screen') +
      `<img class="qr" id="qr" src="/api/v1/t/${esc(t.token)}/qr.svg" width="300" height="300" ` +
      `alt="${esc(line('手机查看号票的二维码', 'QR code of this ticket for your phone'))}"></div>`;
  }

  function drawTicket(t) {
    const [wz, we] = BQ.estimate(t.estimated_wait_s);
    const ahead = t.ahead ?? '–';
    const en = lang === 'en';
    const fact = (zh, enText) => `<div class="facts">${en ? `${enText}<span class="second" lang="zh-CN">${zh}</span>`
      : `${zh}<span class="second" lang="en">${enText}</span>`}</div>`;
    $('ticket').innerHTML =
      `<div class="svc">${two(t.service_name_zh, t.service_name_en)}</div>` +
      `<div class="number" id="ticket-number">${esc(t.number)}</div>` +
      (t.green ? `<div>${BQ.greenMark()}</div>` : '') +
      fact(`前面还有 <b id="ticket-ahead">${esc(ahead)}</b> 位在等待`,
        `${en ? `<b id="ticket-ahead">${esc(ahead)}</b>` : esc(ahead)} ${t.ahead === 1 ? 'person' : 'people'} ahead of you`) +
      fact(`预计等候 <b>${esc(wz)}</b>`, `Estimated wait <b>${esc(we)}</b>`) +
      paperText(t);
  }

  // Until the paper printed or failed: the phone page's view of the ticket, which says.
  function followPrint(t, since = Date.now()) {
    clearTimeout(printTimer);
    const st = t.print?.state;
    if (st !== 'queued' && st !== 'printing') return;
    printTimer = setTimeout(async () => {
      const r = await BQ.api('GET', `/api/v1/t/${t.token}`).catch(() => null);
      if (ticket !== t) return;
      if (r && r.status === 200) t.print = r.body.ticket.print;
      // Not told in time: say there is no paper rather than promise one.
      if (Date.now() - since > PRINT_WAIT_MS && ['queued', 'printing'].includes(t.print?.state))
        t.print = { state: 'failed', error: 'not told in time' };
      drawTicket(t);
      followPrint(t, since);
    }, 1000);
  }

  function showTicket(t) {
    ticket = t;
    step('ticket');
    drawTicket(t);
    followPrint(t);
    clearTimeout(clearTimer);
    clearTimer = setTimeout(reset, TICKET_SHOWN_MS);
  }

  async function issue(body) {
    if (busy) return;
    busy = true;
    say('');
    if (lang === 'en') body.lang = 'en';
    try {
      const r = await BQ.api('POST', '/api/v1/tickets', body);
      if (r.status === 201) showTicket(r.body.ticket);
      else if (r.body?.error?.code === 'invalid_id_number')
        say('身份证号无效，请检查', 'The ID number is not valid; please check it');
      else if (r.body?.error?.code === 'too_many_requests')
        say('取号过于频繁，请稍候再试', 'Too many tickets at once; please wait a moment');
      else say('取号失败，请咨询大堂经理', 'Could not issue a ticket; please ask the staff');
    } catch {
      say('网络错误，请重试', 'Network error, please try again');
      down(true);
    } finally {
      busy = false;
      idnum = '';
      $('idbox').textContent = '';
    }
  }

  // 大字版: bigger and black on white (7:1), for this customer only: the next one starts plain.
  function setLarge(on) {
    document.documentElement.classList.toggle('large', on);
    $('large').setAttribute('aria-pressed', on ? 'true' : 'false');
  }

  function reset() {
    setLarge(false);
    clearTimeout(clearTimer);
    clearTimeout(printTimer);
    service = null;
    ticket = null;
    idnum = '';
    $('idbox').textContent = '';
    if (lang !== 'zh') setLang('zh');
    step('service');
    drawServices();
  }

  async function callHelp() {
    const b = $('help');
    if (b.disabled) return;
    b.disabled = true;
    try {
      const r = await BQ.api('POST', '/api/v1/help');
      if (r.status === 202) {
        $('help-said').textContent = line('已通知大堂经理，请在此稍候', 'The lobby manager is on the way; please wait here');
        setTimeout(() => { b.disabled = false; $('help-said').textContent = ''; }, HELP_AGAIN_MS);
        return;
      }
      $('help-said').textContent = line('未能呼叫，请直接找工作人员', 'Could not call; please ask any member of staff');
    } catch {
      $('help-said').textContent = line('未能呼叫，请直接找工作人员', 'Could not call; please ask any member of staff');
      down(true);
    }
    b.disabled = false;
  }

  $('services').addEventListener('click', (e) => {
    const b = e.target.closest('button');
    if (!b) return;
    service = b.dataset.service;
    drawWho();
    step('who');
  });
  $('who').addEventListener('click', (e) => {
    const b = e.target.closest('button');
    if (!b) return;
    const c = b.dataset.category;
    if (c === 'id') { step('id'); return; }
    // A foreign customer reads the rest in English.
    if (c === 'foreign' && lang !== 'en') setLang('en');
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
      say('请输入15或18位身份证号', 'Please enter 15 or 18 characters');
      return;
    }
    issue({ service, id_number: idnum });
  });
  document.addEventListener('click', (e) => {
    if (e.target.closest('[data-back]')) step(service && !$('step-id').classList.contains('hidden') ? 'who' : 'service');
    const l = e.target.closest('[data-lang]');
    if (l) setLang(l.dataset.lang);
  });
  $('done').addEventListener('click', reset);
  $('large').addEventListener('click', () =>
    setLarge($('large').getAttribute('aria-pressed') !== 'true'));
  $('help').addEventListener('click', callHelp);

  paintStatic();
  BQ.live({ load: loadServices, stream: '/api/v1/display/events', onEvent: applyCounts,
    onLink: (up) => down(!up) });
})();
