// lobby.js: the lobby manager's page (/lobby).
//
// Issue in two taps (service, then category; the category tap issues), or
// by ID number (the daemon decides elderly or foreign; the number is sent
// once and cleared from the field). The queue in call order, one block per
// service, each block scrolling on its own so that every service and the
// counters stay on a 1366x768 tablet's screen; each ticket's wait,
// highlighted past its service's overtime threshold; upgrade to green,
// cancel; find a ticket by its number. Counters and their states. "Today so
// far" from /api/v1/reports/daily when that endpoint exists, and the longest
// current wait from the queue. The queue is loaded whole at start and after
// a reconnect, and otherwise kept current by applying each staff event
// (BQ.applyStaff); today's figures are fetched again after a call or an end.
//
// Cancelling asks first, then waits UNDO_MS before it sends the cancel: for
// that long the ticket shows "cancelling" with an Undo button, and undo
// simply never sends it. The daemon has no un-cancel, so nothing is undone
// on its side: a cancel not yet sent is dropped if the page is closed or
// reloaded within those seconds (the ticket then stays waiting), and one
// that reaches a ticket called meanwhile is refused and said so.
//
// Printing: each ticket carries "print": {"state", "error"}; the page shows
// the state, a reprint button (POST /api/v1/tickets/{id}/reprint) and a
// preview link (/api/v1/tickets/{id}/ticket.png). With no printer configured
// (state "none") only the preview shows.
//
// Missed calls (过号): today's no-shows (the queue's `no_shows` when the
// daemon gives it, else those seen on the stream since the page opened),
// each with 重新排队 Reinstate (POST /api/v1/tickets/{id}/reinstate), which
// puts it back in line with its number. The alerts banners (a kiosk's help
// call, a 不满意 rating) are helpcall.js's.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const esc = BQ.esc;
  const UNDO_MS = 10000;
  let service = null, state = null, issuedId = null, lastIssued = null;
  let issuing = false;           // a ticket request is in flight: no second one until it is answered
  let found = null;              // the number the manager looked for, highlighted while it waits
  let asking = null;             // the ticket the confirm dialog asks about: {id, number}
  const pending = new Map();     // id -> {number, until, timer}: cancels not yet sent
  const noShows = new Map();     // id -> ticket: today's no-shows that can be put back in line
  const PRINT = {
    none: ['未打印', 'not printed'], queued: ['排队打印', 'queued'], printing: ['打印中', 'printing'],
    printed: ['已打印', 'printed'], failed: ['打印失败', 'failed'],
  };

  BQ.clock($('clock'));

  function say(text, cls) {
    $('msg').className = `msg ${cls || ''}`;
    $('msg').textContent = text;
  }

  // No printer configured ("none"): only the preview, which works without one.
  function printCell(t) {
    if (!t.print) return '';
    const preview = `<a class="preview-link" href="/api/v1/tickets/${t.id}/ticket.png" target="_blank" rel="noopener">预览 <span lang="en">Preview</span></a>`;
    if (t.print.state === 'none') return preview;
    const [z, e] = PRINT[t.print.state] || [t.print.state, t.print.state];
    return `<span class="pill ${t.print.state === 'failed' ? 'failed' : ''}" data-print="${esc(t.print.state)}"` +
      ` title="${esc(t.print.error || '')}">${esc(z)} ${esc(e)}</span>` +
      ` <button class="btn small" data-reprint="${t.id}">重打 <span lang="en">Reprint</span></button> ${preview}`;
  }

  function renderIssued() {
    const t = lastIssued;
    if (!t) return;
    const el = $('issued');
    el.classList.remove('hidden');
    el.innerHTML = `<span class="num" id="issued-number">${esc(t.number)}</span>` +
      `${t.green ? BQ.greenMark() : ''} ${esc(t.service_name_zh)} <span class="en">${esc(t.service_name_en)}</span>` +
      ` · 前面 ${t.ahead ?? '–'} 人 <span class="en">${t.ahead ?? '–'} ahead</span>` +
      (t.print ? `<div class="issued-print">${printCell(t)}</div>` : '');
  }

  function renderChoices() {
    $('services').innerHTML = state.services.map((s) =>
      `<button class="btn ${s.id === service ? 'selected' : ''}" data-service="${esc(s.id)}" aria-pressed="${s.id === service}">` +
      `${esc(s.id)} ${esc(s.name_zh)}<br><span class="en">${esc(s.name_en)}</span></button>`).join('');
    $('categories').innerHTML = Object.entries(BQ.CATEGORY).map(([k, [z, e]]) =>
      `<button class="btn ${k === 'normal' ? '' : 'green'}" data-category="${k}" ${service && !issuing ? '' : 'disabled'}>` +
      `${esc(z)}<br><span class="en">${esc(e)}</span></button>`).join('');
    $('by-id').disabled = !service || issuing;
  }

  function actionsCell(t) {
    const p = pending.get(t.id);
    if (p) {
      return `<span class="pill paused">将取消 <span lang="en">Cancelling</span></span> ` +
        `<button class="btn undo" data-undo="${t.id}">撤销 <span lang="en">Undo</span></button>`;
    }
    return (t.green ? '' : `<select data-green="${t.id}" aria-label="${esc(t.number)} 转绿色通道 Green channel">` +
        `<option value="">绿色通道 Green…</option>` +
        Object.entries(BQ.CATEGORY).filter(([k]) => k !== 'normal')
          .map(([k, [z, e]]) => `<option value="${k}">${esc(z)} ${esc(e)}</option>`).join('') + '</select>') +
      `<button class="btn warn" data-cancel="${t.id}" data-cancel-number="${esc(t.number)}" ` +
      `aria-label="取消… Cancel… ${esc(t.number)}">取消… <span lang="en">Cancel…</span></button>`;
  }

  function render(q) {
    state = q;
    if (!service && q.services.length) service = q.services[0].id;
    $('branch').textContent = q.branch ? `${q.branch.name_zh} ${q.branch.name_en}` : '';
    renderChoices();
    let longest = 0, over = 0, waiting = 0;
    // A green-channel choice open in the queue is not redrawn from under the
    // manager's finger; the table catches up when the choice is made or left.
    const choosing = $('queue').contains(document.activeElement) && document.activeElement.tagName === 'SELECT';
    const html = q.services.map((s) => {
      const rows = s.tickets.map((t) => {
        const w = BQ.since(t.issued_at);
        const late = w > s.overtime_s;
        longest = Math.max(longest, w);
        over += late ? 1 : 0;
        waiting++;
        const [cz, ce] = BQ.CATEGORY[t.category] || [t.category, t.category];
        const [wz, we] = BQ.dur(w);
        const cls = [late ? 'overtime' : '', t.number === found ? 'found' : '', pending.has(t.id) ? 'pending' : ''];
        return `<tr data-ticket="${t.id}" data-number="${esc(t.number)}" class="${cls.join(' ').trim()}">` +
          `<td class="num">${esc(t.number)}</td>` +
          `<td>${t.green ? BQ.greenMark() : ''} ${esc(cz)} <span class="en">${esc(ce)}</span>${t.lang === 'en' ? ' · EN' : ''}</td>` +
          `<td class="wait">${esc(wz)} <span class="en">${esc(we)}</span></td>` +
          `<td>${t.ahead ?? ''}</td><td>${printCell(t)}</td><td class="acts">${actionsCell(t)}</td></tr>`;
      }).join('');
      const label = `${esc(s.id)} ${esc(s.name_zh)} <span class="en">${esc(s.name_en)}</span>`;
      return `<section class="svc ${s.tickets.length <= 2 ? 'short' : ''}" data-service="${esc(s.id)}">` +
        `<h3 id="svc-${esc(s.id)}">${label} · <b>${s.waiting}</b> 人等候 <span class="en">waiting</span>` +
        ` · 超时 ${Math.round(s.overtime_s / 60)} 分钟 <span class="en">overtime ${Math.round(s.overtime_s / 60)} min</span></h3>` +
        `<div class="svc-list" tabindex="0" role="region" aria-labelledby="svc-${esc(s.id)}">` +
        (rows ? `<table><thead><tr><th>号 <span lang="en">No.</span></th><th>类别 <span lang="en">Category</span></th>` +
          `<th>已等 <span lang="en">Waited</span></th><th>前面 <span lang="en">Ahead</span></th>` +
          `<th>打印 <span lang="en">Print</span></th><th>操作 <span lang="en">Actions</span></th></tr></thead>` +
          `<tbody>${rows}</tbody></table>` : '<p class="none">无人等候 <span class="en">Nobody waiting</span></p>') +
        '</div></section>';
    }).join('');
    if (!choosing) {
      // Each block keeps where the manager scrolled it, and focus stays on the same control.
      const scroll = {};
      for (const el of $('queue').querySelectorAll('.svc')) scroll[el.dataset.service] = el.querySelector('.svc-list').scrollTop;
      const a = document.activeElement;
      const focusKey = a && $('queue').contains(a) ?
        ['data-cancel', 'data-undo', 'data-reprint'].find((k) => a.hasAttribute(k)) : null;
      const focusVal = focusKey ? a.getAttribute(focusKey) : null;
      $('queue').innerHTML = html;
      for (const el of $('queue').querySelectorAll('.svc')) {
        if (scroll[el.dataset.service] != null) el.querySelector('.svc-list').scrollTop = scroll[el.dataset.service];
      }
      if (focusKey) $('queue').querySelector(`[${focusKey}="${focusVal}"]`)?.focus();
    }
    $('st-waiting').textContent = waiting;
    const [lz] = BQ.dur(longest);
    $('st-longest').textContent = waiting ? lz : '—';
    $('st-over').textContent = over;
    $('st-over').className = `v ${over ? 'bad' : 'good'}`;
    $('counters').innerHTML = q.counters.map((c) => {
      const st = c.paused ? ['paused', '暂停 Paused'] :
        [c.state, { idle: '空闲 Idle', called: '已叫号 Called', serving: '办理中 Serving' }[c.state]];
      const flags = (c.green ? ' <span class="green-mark">爱心窗口</span>' : '') + (c.english ? ' <span lang="en">EN</span>' : '');
      return `<li data-counter="${c.number}"><span class="cn">${c.number} 号</span>${flags}` +
        ` <span class="svcs">${esc(c.services.join(' '))}</span>` +
        `<br><span class="tnow"><span class="pill ${st[0]}">${st[1]}</span> ` +
        `<b class="cur">${c.ticket ? esc(c.ticket.number) : '—'}</b></span>` +
        `${c.ticket && c.ticket.green ? ' ' + BQ.greenMark() : ''}</li>`;
    }).join('');
    if (Array.isArray(q.no_shows)) {
      noShows.clear();
      for (const x of q.no_shows) noShows.set(x.id, x);
    }
    renderNoShows();
    if (issuedId) {
      // Keep the issued ticket's line fresh (its place, its print state) while it waits.
      for (const s of q.services) {
        const t = s.tickets.find((x) => x.id === issuedId);
        if (t) { lastIssued = t; renderIssued(); }
      }
    }
  }

  function renderNoShows() {
    const list = [...noShows.values()];
    $('noshow-card').classList.toggle('hidden', list.length === 0);
    const html = list.map((x) => `<li data-number="${esc(x.number)}"><span class="num">${esc(x.number)}</span>` +
      `<span class="where">${x.counter ? `${x.counter} 号窗口过号 <span class="en">missed at counter ${x.counter}</span>` : ''}</span>` +
      `<button class="btn" data-reinstate="${x.id}" aria-label="${esc(x.number)} 重新排队 Reinstate">重新排队 <span lang="en">Reinstate</span></button></li>`).join('');
    if ($('noshows').innerHTML !== html) $('noshows').innerHTML = html;
  }

  async function reinstate(id, button) {
    const x = noShows.get(id);
    button.disabled = true;
    const r = await BQ.api('POST', `/api/v1/tickets/${id}/reinstate`).catch(() => null);
    const code = r && r.body && r.body.error && r.body.error.code;
    if (r && r.status === 200) {
      noShows.delete(id);
      const t = r.body.ticket;
      say(`${x ? x.number : ''} 已重新排队${t && t.hold != null ? `，再叫 ${t.hold} 位后轮到` : ''} ` +
        `${x ? x.number : ''} is back in line${t && t.hold != null ? `, after ${t.hold} more calls` : ''}`, 'ok');
    } else {
      const m = {
        reinstate_limit: ['已重新排队过，不能再排', 'already put back in line as often as allowed'],
        not_no_show: ['不是过号', 'is not a no-show'],
        ticket_expired: ['是前一营业日的号', 'is from an earlier business day'],
      }[code];
      if (code === 'not_no_show' || code === 'ticket_expired') noShows.delete(id);
      say(m ? `${x ? x.number : ''} ${m[0]} ${m[1]}` : `错误 Error: ${r ? r.body?.error?.message || r.status : 'network'}`, 'error');
      button.disabled = false;
    }
    renderNoShows();
    live.reload();
  }

  // The cancels waiting to be sent, each with its seconds left and an Undo.
  // Rebuilt when one comes or goes; the seconds alone tick (tickUndo), so a
  // focused Undo button stays focused.
  function renderUndo() {
    $('undo').innerHTML = [...pending.entries()].map(([id, p]) =>
      `<div class="undo-item" data-pending="${id}"><span><b>${esc(p.number)}</b> 将在 <span data-left>10</span> 秒后取消 ` +
      `<span class="en">will be cancelled in <span data-left>10</span> s</span></span>` +
      `<button class="btn undo" data-undo="${id}">撤销 <span lang="en">Undo</span></button></div>`).join('');
    tickUndo();
  }

  function tickUndo() {
    const now = Date.now();
    for (const el of $('undo').querySelectorAll('[data-pending]')) {
      const p = pending.get(Number(el.dataset.pending));
      const left = p ? Math.max(0, Math.ceil((p.until - now) / 1000)) : 0;
      for (const x of el.querySelectorAll('[data-left]')) x.textContent = left;
    }
  }

  async function loadReport() {
    const r = await BQ.api('GET', '/api/v1/reports/daily').catch(() => null);
    const tot = r && r.status === 200 && r.body && r.body.totals;
    // A share is null until someone has been called today: shown as "–".
    $('st-report').classList.toggle('hidden', !tot || !('overtime_share' in tot));
    if (!tot || !('overtime_share' in tot)) return;
    const pct = (x) => `${(x * 100).toFixed(1)}%`;
    const known = typeof tot.overtime_share === 'number';
    $('st-share').textContent = known ? pct(tot.overtime_share) : '–';
    $('st-share').className = `v ${!known ? '' : tot.target_met ? 'good' : 'bad'}`;
    $('st-target').textContent = typeof tot.target_share === 'number' ? `≤ ${pct(tot.target_share)}` : '';
  }

  const load = () => BQ.loadQueue((q) => { render(q); loadReport(); });

  // Today's figures change when someone is called or leaves: fetched once per burst.
  let reportTimer = null;
  const REPORT_EVENTS = ['ticket.called', 'ticket.served', 'ticket.no_show', 'ticket.cancelled', 'ticket.transferred'];
  function onEvent(ev, id) {
    if (ev.type === 'ticket.no_show' && ev.ticket) noShows.set(ev.ticket.id, { ...ev.ticket, counter: ev.counter });
    if (ev.type === 'ticket.reinstated' && ev.from != null) noShows.delete(typeof ev.from === 'object' ? ev.from.id : ev.from);
    if (!BQ.applyStaff(state, ev, id)) { renderNoShows(); return false; }
    render(state);
    if (REPORT_EVENTS.includes(ev.type)) {
      clearTimeout(reportTimer);
      reportTimer = setTimeout(loadReport, 300);
    }
    return true;
  }

  async function issue(body) {
    if (issuing) return;
    issuing = true;
    document.querySelectorAll('#categories button, #by-id').forEach((b) => { b.disabled = true; });
    say('…');
    try {
      const r = await BQ.api('POST', '/api/v1/tickets', body);
      if (r.status === 201) {
        lastIssued = r.body.ticket;
        issuedId = lastIssued.id;
        say(`已取号 ${lastIssued.number} Issued ${lastIssued.number}`, 'ok');
        renderIssued();
      } else {
        say(`${r.body?.error?.code === 'invalid_id_number' ? '身份证号无效 Invalid ID number' :
          `错误 Error: ${r.body?.error?.message || r.status}`}`, 'error');
      }
    } catch {
      say('网络错误 Network error', 'error');
    } finally {
      issuing = false;
      renderChoices();
    }
  }

  // ---- cancel: confirm, then UNDO_MS to undo before it is sent ----
  function askCancel(id, number) {
    asking = { id, number };
    $('confirm-number').textContent = number;
    $('confirm').showModal();
    $('confirm-no').focus();
  }

  function scheduleCancel(id, number) {
    const p = { number, until: Date.now() + UNDO_MS, timer: null };
    p.timer = setTimeout(() => sendCancel(id), UNDO_MS);
    pending.set(id, p);
    say(`${number} 将在 ${UNDO_MS / 1000} 秒后取消，可撤销 ${number} will be cancelled in ${UNDO_MS / 1000} s: Undo to keep it`, 'ok');
    renderUndo();
    if (state) render(state);
    $('undo').querySelector(`[data-undo="${id}"]`)?.focus();
  }

  function undoCancel(id) {
    const p = pending.get(id);
    if (!p) return;
    clearTimeout(p.timer);
    pending.delete(id);
    say(`已撤销，${p.number} 继续等候 Undone: ${p.number} keeps waiting`, 'ok');
    renderUndo();
    if (state) render(state);
    $('queue').querySelector(`[data-cancel="${id}"]`)?.focus();
  }

  async function sendCancel(id) {
    const p = pending.get(id);
    if (!p) return;
    let r = null;
    try {
      r = await BQ.api('POST', `/api/v1/tickets/${id}/cancel`);
    } catch { /* said below */ }
    pending.delete(id);
    renderUndo();
    if (!r) say(`网络错误，${p.number} 未取消 Network error: ${p.number} was not cancelled`, 'error');
    else if (r.status === 200) say(`${p.number} 已取消 cancelled`, 'ok');
    else say(`${p.number} 未取消 not cancelled: ${r.body?.error?.message || r.status}`, 'error');
    live.reload();
  }

  // ---- find by number ----
  // "a12", "A012" and " a 012 " all mean A012: the letter, then three digits.
  function normalNumber(text) {
    const s = text.replace(/\s+/g, '').toUpperCase();
    const m = /^([A-Z])0*(\d{1,3})$/.exec(s);
    return m ? m[1] + m[2].padStart(3, '0') : s;
  }

  function find(text) {
    const num = normalNumber(text);
    const out = $('find-msg');
    if (!num || !state) { found = null; out.textContent = ''; if (state) render(state); return; }
    let hit = null;
    for (const s of state.services) {
      const t = s.tickets.find((x) => x.number === num);
      if (t) hit = t;
    }
    const at = state.counters.find((c) => c.ticket && c.ticket.number === num);
    found = hit ? num : null;
    render(state);
    if (hit) {
      out.className = 'find-msg ok';
      out.textContent = `${num} 在等候，前面 ${hit.ahead} 人 ${num} is waiting, ${hit.ahead} ahead`;
      const row = $('queue').querySelector(`tr[data-number="${num}"]`);
      row?.scrollIntoView({ block: 'nearest' });
    } else if (at) {
      out.className = 'find-msg';
      out.textContent = `${num} 在 ${at.number} 号窗口 ${num} is at counter ${at.number}`;
    } else {
      out.className = 'find-msg error';
      out.textContent = `未找到等候中的 ${num} ${num} is not waiting`;
    }
  }

  $('find').addEventListener('submit', (e) => {
    e.preventDefault();
    find($('find-number').value);
  });

  $('services').addEventListener('click', (e) => {
    const b = e.target.closest('button');
    if (!b) return;
    service = b.dataset.service;
    renderChoices();
  });
  $('categories').addEventListener('click', (e) => {
    const b = e.target.closest('button');
    if (b && !b.disabled && service) issue({ service, category: b.dataset.category });
  });
  $('by-id').addEventListener('click', () => {
    const id = $('idnum').value.trim();
    $('idnum').value = '';
    if (!id) { say('请输入身份证号 Type an ID number', 'error'); return; }
    issue({ service, id_number: id });
  });
  $('queue').addEventListener('click', async (e) => {
    const b = e.target.closest('button');
    if (!b) return;
    if (b.dataset.cancel) { askCancel(Number(b.dataset.cancel), b.dataset.cancelNumber); return; }
    if (b.dataset.undo) { undoCancel(Number(b.dataset.undo)); return; }
    if (!b.dataset.reprint) return;
    b.disabled = true;
    const r = await BQ.api('POST', `/api/v1/tickets/${b.dataset.reprint}/reprint`);
    if (r && r.status >= 300) say(`错误 Error: ${r.body?.error?.message || r.status}`, 'error');
    live.reload();
  });
  $('noshows').addEventListener('click', (e) => {
    const b = e.target.closest('button[data-reinstate]');
    if (b && !b.disabled) reinstate(Number(b.dataset.reinstate), b);
  });
  $('undo').addEventListener('click', (e) => {
    const b = e.target.closest('button[data-undo]');
    if (b) undoCancel(Number(b.dataset.undo));
  });
  $('confirm-yes').addEventListener('click', () => {
    const a = asking;
    asking = null;
    $('confirm').close();
    if (a && !pending.has(a.id)) scheduleCancel(a.id, a.number);
  });
  $('confirm-no').addEventListener('click', () => $('confirm').close());
  $('confirm').addEventListener('close', () => {
    // Kept waiting (the button or Esc): back to the ticket's own Cancel.
    if (asking) $('queue').querySelector(`[data-cancel="${asking.id}"]`)?.focus();
    asking = null;
  });
  $('issued').addEventListener('click', async (e) => {
    const b = e.target.closest('button[data-reprint]');
    if (!b) return;
    b.disabled = true;
    const r = await BQ.api('POST', `/api/v1/tickets/${b.dataset.reprint}/reprint`);
    if (r.status >= 300) say(`错误 Error: ${r.body?.error?.message || r.status}`, 'error');
    live.reload();
  });
  $('queue').addEventListener('change', async (e) => {
    const s = e.target.closest('select[data-green]');
    if (!s || !s.value) return;
    s.disabled = true;
    const r = await BQ.api('POST', `/api/v1/tickets/${s.dataset.green}/green`, { category: s.value });
    if (r.status !== 200) say(`错误 Error: ${r.body?.error?.message || r.status}`, 'error');
    else say(`${r.body.ticket.number} 已转绿色通道 moved to the green channel`, 'ok');
    live.reload();
  });

  $('queue').addEventListener('focusout', (e) => {
    if (state && e.target.tagName === 'SELECT') setTimeout(() => render(state), 0);
  });

  const live = BQ.live({ load, onEvent, onLink(up) { $('link').classList.toggle('hidden', up); } });
  // Waits grow while nothing happens: redraw them every 5 s; the undo countdown every second.
  setInterval(() => { if (state) render(state); }, 5000);
  setInterval(() => { if (pending.size) tickUndo(); }, 1000);
})();
