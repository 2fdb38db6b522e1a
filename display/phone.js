// phone.js: the customer's page (/t/{token}), opened from the ticket's QR code.
//
// It reads only GET /api/v1/t/{token}, the customer's own ticket, and the
// ticket's own stream, /api/v1/t/{token}/events, which says when its status,
// its place in line or its estimate changed and carries nothing about anyone
// else: the page draws what each event carries.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const esc = BQ.esc;
  const token = location.pathname.split('/').filter(Boolean)[1] || '';

  const STATE = {
    serving: (t) => [`正在 ${t.counter} 号窗口办理`, `Being served at counter ${t.counter}`],
    served: () => ['办理完成，谢谢光临', 'Done — thank you for your visit'],
    no_show: () => ['您的号已过，请咨询大堂经理', 'Your number was passed; please see the lobby staff'],
    cancelled: () => ['此号已取消', 'This ticket was cancelled'],
    transferred: () => ['已转至其他业务', 'Moved to another service'],
  };

  function render(body) {
    const t = body.ticket;
    if (t.issued_at) BQ.zoneFrom(t.issued_at);
    if (body.branch) $('branch').innerHTML = `${esc(body.branch.name_zh)}<span class="en">${esc(body.branch.name_en)}</span>`;
    let html = `<div class="number" id="number">${esc(t.number)}</div>` +
      `<div class="service-line">${esc(t.service_name_zh)} <span class="en">${esc(t.service_name_en)}</span>` +
      `${t.green ? ' ' + BQ.greenMark() : ''}</div>`;
    if (t.status === 'waiting') {
      const [wz, we] = BQ.estimate(t.estimated_wait_s);
      html += `<div class="state" id="status">前面还有 <span id="ahead">${t.ahead ?? '–'}</span> 位` +
        `<span class="en">${t.ahead ?? '–'} ahead of you</span></div>` +
        `<dl><dt>预计等候 <span class="en">Estimated wait</span></dt><dd>${esc(wz)} <span class="en">${esc(we)}</span></dd></dl>`;
    } else if (t.status === 'called') {
      html += `<div class="state go" id="status">请到 ${t.counter} 号窗口` +
        `<span class="en">Please go to counter ${t.counter}</span></div>`;
    } else {
      const [z, e] = (STATE[t.status] || (() => [t.status, t.status]))(t);
      html += `<div class="state" id="status">${esc(z)}<span class="en">${esc(e)}</span></div>`;
    }
    $('card').innerHTML = html;
    $('updated').textContent = `更新于 Updated ${BQ.timeOf(BQ.now())}`;
  }

  let found = true;

  async function load() {
    const r = await BQ.api('GET', `/api/v1/t/${encodeURIComponent(token)}`);
    if (r.status === 404) {
      found = false;
      $('card').innerHTML = '<div class="state" id="status">找不到此号票<span class="en">Ticket not found</span></div>';
      return null;
    }
    if (r.status === 410) {
      // A link of an earlier business day: that ticket is over.
      found = false;
      $('card').innerHTML = '<div class="state" id="status">此号票已过期<span class="en">This ticket is from an earlier day</span></div>';
      return null;
    }
    if (r.status !== 200) throw new Error(`ticket: ${r.status}`);
    found = true;
    render(r.body);
    return null;
  }

  // A ticket nobody has gets no stream: the page says so and stays.
  (async () => {
    await load().catch(() => {});
    if (!found) return;
    BQ.live({
      load,
      stream: `/api/v1/t/${encodeURIComponent(token)}/events`,
      everyMs: 20000,
      onEvent(ev) {
        if (!ev.ticket) return false;
        render({ ticket: ev.ticket });
        return true;
      },
    });
  })();
})();
