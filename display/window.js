// window.js: the window screen over counter N (/window/N), 窗口屏.
//
// It reads only what the hall display reads: GET /api/v1/display at start
// and after every reconnect, then the display stream
// (/api/v1/display/events), whose every event carries all counters as they
// are after it; the page takes counter N from it. It shows the counter's
// name (name_zh/name_en, "N 号窗口"/"Counter N" when the view has none),
// the teller's 工号 when the view carries `teller`, and one of: the number
// called here with "请到 N 号窗口 / Please go to counter N", the number
// being served, 暂停服务 Paused, or an idle welcome. Every text is set to
// the largest size at which it fits its box (fit(): a binary search on the
// font size), again whenever the text or the screen's size changes, so the
// number is as large as any bar screen allows. A call or recall (the
// ticket's called_at changes) makes the number flash. While the stream is
// down, a notice shows in the name strip and the rest is dimmed.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const n = Number(location.pathname.split('/').filter(Boolean)[1]);
  const FLASH_MS = 5000;
  let state = null, shown = '', flashKey = null, flashTimer = null;

  // The largest whole px font size at which el (inline-block, one line) fits
  // inside its parent's content box; set on el and returned.
  function fit(el) {
    const box = el.parentElement;
    const cs = getComputedStyle(box);
    const w = box.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
    const h = box.clientHeight - parseFloat(cs.paddingTop) - parseFloat(cs.paddingBottom);
    if (w <= 0 || h <= 0 || !el.textContent.trim()) return 0;
    let lo = 4, hi = Math.max(8, Math.ceil(h * 1.5));
    const fits = (px) => {
      el.style.fontSize = `${px}px`;
      return el.offsetWidth <= w && el.offsetHeight <= h;
    };
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (fits(mid)) lo = mid; else hi = mid - 1;
    }
    el.style.fontSize = `${lo}px`;
    return lo;
  }

  function fitAll() {
    for (const id of ['name', 'number', 'words-zh', 'words-en']) fit($(id));
    // The Chinese line leads: the English one is never the larger of the two.
    const zh = parseFloat($('words-zh').style.fontSize) || 0;
    const en = parseFloat($('words-en').style.fontSize) || 0;
    if (zh && en > zh * 0.8) $('words-en').style.fontSize = `${Math.floor(zh * 0.8)}px`;
    document.body.dataset.fitted = String(Number(document.body.dataset.fitted || 0) + 1);
  }

  function flash() {
    $('win').classList.remove('flash');
    void $('win').offsetWidth;       // restart the animation for a recall
    $('win').classList.add('flash');
    clearTimeout(flashTimer);
    flashTimer = setTimeout(() => $('win').classList.remove('flash'), FLASH_MS);
  }

  function render() {
    const c = state && state.counters.find((k) => k.number === n);
    if (!c) {
      $('win').dataset.state = 'unknown';
      set(`${n} 号窗口`, `Counter ${n}`, '—', '未配置此窗口', 'This counter is not configured');
      return;
    }
    const t = c.ticket;
    const kind = c.paused ? 'paused' : t ? c.state : 'idle';
    $('win').dataset.state = kind;
    if (t) $('win').dataset.number = t.number; else delete $('win').dataset.number;
    const [zh, en] = {
      called: [`请到 ${n} 号窗口`, `Please go to counter ${n}`],
      serving: ['正在办理', 'Now serving'],
      paused: ['暂停服务', 'Paused'],
      idle: ['欢迎光临', 'Welcome'],
    }[kind];
    // Paused: the words take the number's place, so nobody reads a paused ticket as a live call.
    const number = kind === 'paused' ? '暂停服务' : t ? t.number : `${n} 号窗口`;
    $('teller').classList.toggle('hidden', !c.teller);
    $('teller').innerHTML = c.teller ? `工号 ${BQ.esc(c.teller)} <span class="en" lang="en">Staff No.</span>` : '';
    $('green').classList.toggle('hidden', !(t && t.green && kind !== 'paused'));
    set(c.name_zh || `${n} 号窗口`, c.name_en || `Counter ${n}`, number,
      kind === 'paused' ? `${n} 号窗口 暂停服务` : zh, kind === 'paused' ? `Counter ${n} paused` : en);
    // A new call or a recall (called_at moves) flashes; a first drawing does not.
    const key = t && kind === 'called' ? `${t.number}/${t.called_at}` : null;
    if (key && flashKey !== null && key !== flashKey) flash();
    if (key || flashKey === null) flashKey = key || '';
  }

  function set(nameZh, nameEn, number, zh, en) {
    const next = JSON.stringify([nameZh, nameEn, number, zh, en, $('teller').textContent, $('green').className]);
    $('name-zh').textContent = nameZh;
    $('name-en').textContent = nameEn;
    $('number').textContent = number;
    $('words-zh').textContent = zh;
    $('words-en').textContent = en;
    document.title = `${nameZh} ${number} · 窗口屏`;
    if (next !== shown) { shown = next; fitAll(); }
  }

  async function load() {
    const r = await BQ.api('GET', '/api/v1/display', undefined, { noRedirect: true });
    if (r.status !== 200) throw new Error(`display: ${r.status}`);
    BQ.sync(r.body.at);
    state = r.body;
    render();
    return state.last_event_id;
  }

  let resizeTimer = null;
  addEventListener('resize', () => { clearTimeout(resizeTimer); resizeTimer = setTimeout(fitAll, 50); });
  // The font arrives after the first drawing: fit again with its real widths.
  if (document.fonts) document.fonts.ready.then(fitAll);

  BQ.live({
    load,
    stream: '/api/v1/display/events',
    everyMs: 20000,
    onEvent(ev, id) {
      if (!BQ.applyDisplay(state, ev, id)) return false;
      render();
      return true;
    },
    onLink(up) {
      $('link').classList.toggle('hidden', up);
      $('win').classList.toggle('down', !up);
      fitAll();
    },
  });
})();
