// lobby.js: the lobby manager's page (/lobby).
//
// Issue in two taps (service, then category; the category tap issues), or
// by ID number (the daemon decides elderly or foreign; the number is sent
// once and cleared from the field). The queue in call order with each
// ticket's wait, highlighted past its service's overtime threshold; upgrade
// to green, cancel. Counters and their states. "Today so far" from
// /api/v1/reports/daily when that endpoint exists, and the longest current
// wait from the queue. The queue is loaded whole at start and after a
// reconnect, and otherwise kept current by applying each staff event
// (BQ.applyStaff); today's figures are fetched again after a call or an end.
//
// Printing: each ticket carries "print": {"state", "error"}; the page shows
// the state, a reprint button (POST /api/v1/tickets/{id}/reprint) and a
// preview (/api/v1/tickets/{id}/ticket.png). With no printer configured
// (state "none") only the preview shows.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const esc = BQ.esc;
  let service = null, state = null, issuedId = null, lastIssued = null;
  let issuing = false;           // a ticket request is in flight: no second one until it is answered
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
    if (t.print.state === 'none')
      return `<a href="/api/v1/tickets/${t.id}/ticket.png" target="_blank" rel="noopener">预览 Preview</a>`;
    const [z, e] = PRINT[t.print.state] || [t.print.state, t.print.state];
    return `<span class="pill ${t.print.state === 'failed' ? 'failed' : ''}" data-print="${esc(t.print.state)}"` +
      ` title="${esc(t.print.error || '')}">${esc(z)} ${esc(e)}</span>` +
      ` <button class="btn small" data-reprint="${t.id}">重打 Reprint</button>` +
      ` <a href="/api/v1/tickets/${t.id}/ticket.png" target="_blank" rel="noopener">预览 Preview</a>`;
  }

  function renderIssued() {
    const t = lastIssued;
    if (!t) return;
    const el = $('issued');
    el.classList.remove('hidden');
    el.innerHTML = `<span class="num" id="issued-number">${esc(t.number)}</span>` +
      `${t.green ? BQ.greenMark() : ''} ${esc(t.service_name_zh)} <span class="en">${esc(t.service_name_en)}</span>` +
      `<br>前面 ${t.ahead ?? '–'} 人 <span class="en">${t.ahead ?? '–'} ahead</span>` +
      (t.print ? `<br>${printCell(t)}<br><img class="preview" alt="" src="/api/v1/tickets/${t.id}/ticket.png" onerror="this.remove()">` : '');
  }

  function renderChoices() {
    $('services').innerHTML = state.services.map((s) =>
      `<button class="btn ${s.id === service ? 'selected' : ''}" data-service="${esc(s.id)}">` +
      `${esc(s.id)} ${esc(s.name_zh)}<br><span class="en">${esc(s.name_en)}</span></button>`).join('');
    $('categories').innerHTML = Object.entries(BQ.CATEGORY).map(([k, [z, e]]) =>
      `<button class="btn ${k === 'normal' ? '' : 'green'}" data-category="${k}" ${service && !issuing ? '' : 'disabled'}>` +
      `${esc(z)}<br><span class="en">${esc(e)}</span></button>`).join('');
    $('by-id').disabled = !service || issuing;
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
        return `<tr data-ticket="${t.id}" data-number="${esc(t.number)}" class="${late ? 'overtime' : ''}">` +
          `<td class="num">${esc(t.number)}</td>` +
          `<td>${t.green ? BQ.greenMark() : ''} ${esc(cz)} <span class="en">${esc(ce)}</span>${t.lang === 'en' ? ' · EN' : ''}</td>` +
          `<td class="wait">${esc(wz)} <span class="en">${esc(we)}</span></td>` +
          `<td>${t.ahead ?? ''}</td><td>${printCell(t)}</td><td>` +
          (t.green ? '' : `<select data-green="${t.id}" aria-label="绿色通道 Green channel"><option value="">绿色通道 Green…</option>` +
            Object.entries(BQ.CATEGORY).filter(([k]) => k !== 'normal')
              .map(([k, [z, e]]) => `<option value="${k}">${esc(z)} ${esc(e)}</option>`).join('') + '</select> ') +
          `<button class="btn small warn" data-cancel="${t.id}">取消 Cancel</button></td></tr>`;
      }).join('');
      return `<h3>${esc(s.id)} ${esc(s.name_zh)} <span class="en">${esc(s.name_en)}</span> · ${s.waiting} 人等候 ` +
        `<span class="en">waiting</span> · 超时 ${Math.round(s.overtime_s / 60)} 分钟 <span class="en">overtime</span></h3>` +
        (rows ? `<table><thead><tr><th>号 No.</th><th>类别 Category</th><th>已等 Waited</th><th>前面 Ahead</th>` +
          `<th>打印 Print</th><th>操作 Actions</th></tr></thead><tbody>${rows}</tbody></table>` : '<p class="en">—</p>');
    }).join('');
    if (!choosing) $('queue').innerHTML = html;
    $('st-waiting').textContent = waiting;
    const [lz] = BQ.dur(longest);
    $('st-longest').textContent = waiting ? lz : '—';
    $('st-over').textContent = over;
    $('st-over').className = `v ${over ? 'bad' : 'good'}`;
    $('counters').innerHTML = q.counters.map((c) => {
      const st = c.paused ? ['paused', '暂停 Paused'] :
        [c.state, { idle: '空闲 Idle', called: '已叫号 Called', serving: '办理中 Serving' }[c.state]];
      const flags = (c.green ? ' <span class="green-mark">爱心窗口</span>' : '') + (c.english ? ' EN' : '');
      return `<tr data-counter="${c.number}"><td class="num">${c.number}${flags}</td><td>${esc(c.services.join(' '))}</td>` +
        `<td><span class="pill ${st[0]}">${st[1]}</span></td>` +
        `<td>${c.ticket ? `<b>${esc(c.ticket.number)}</b> ${c.ticket.green ? BQ.greenMark() : ''}` : '—'}</td></tr>`;
    }).join('');
    if (issuedId) {
      // Keep the issued ticket's line fresh (its place, its print state) while it waits.
      for (const s of q.services) {
        const t = s.tickets.find((x) => x.id === issuedId);
        if (t) { lastIssued = t; renderIssued(); }
      }
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
    if (!BQ.applyStaff(state, ev, id)) return false;
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
    b.disabled = true;
    let r;
    if (b.dataset.cancel) r = await BQ.api('POST', `/api/v1/tickets/${b.dataset.cancel}/cancel`);
    else if (b.dataset.reprint) r = await BQ.api('POST', `/api/v1/tickets/${b.dataset.reprint}/reprint`);
    if (r && r.status >= 300) say(`错误 Error: ${r.body?.error?.message || r.status}`, 'error');
    live.reload();
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

  $('queue').addEventListener('focusout', () => { if (state) setTimeout(() => render(state), 0); });

  const live = BQ.live({ load, onEvent, onLink(up) { $('link').classList.toggle('hidden', up); } });
  // Waits grow while nothing happens: redraw them every 5 s.
  setInterval(() => { if (state) render(state); }, 5000);
})();
