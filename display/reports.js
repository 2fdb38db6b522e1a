// reports.js: the branch head's report page. Reads GET /api/v1/reports/daily
// (?date=YYYY-MM-DD, or today so far without one), and draws the headline,
// three SVG charts and the tables. Every figure is the API's; the page
// computes nothing but positions. Definitions: docs/reports.md.
//
// Those who may read the audit trail (head, admin: the role from GET
// /api/v1/session) also get two tabs, the report and the day's audit rows
// (GET /api/v1/audit, read when its tab is first opened; #audit in the
// address opens it). Everyone else sees the report alone, as before.
//
// They also get 明日排班建议 Tomorrow's staffing: GET /api/v1/advice (the
// next business day), a chart of the counters to open each hour against
// the Erlang C answer, and a table of each hour's predicted overtime share
// per service with its 95 % interval. docs/advisor.md says how to read it.
'use strict';

const SVG = 'http://www.w3.org/2000/svg';
const W = 640, H = 240, PAD = { l: 44, r: 12, t: 14, b: 34 };

const LABELS = {
  issued: '取号 Issued', called: '叫号 Called', served: '办结 Served', no_show: '过号 No-show',
  cancelled: '取消 Cancelled', waiting_at_close: '仍在等候 Waiting at close',
  transferred: '转移 Transferred', wait_avg_s: '平均等候 Avg wait', wait_p50_s: '中位数 Median',
  wait_p90_s: '90% 分位 P90', wait_max_s: '最长 Max', overtime: '超时 Overtime',
  overtime_waiting: '超时仍等候 Overtime waiting', overtime_base: '基数 Base',
  overtime_share: '超时占比 Share', target_share: '目标 Target', target_met: '达标 Met',
  service: '业务 Service', category: '类别 Category', group: '组 Group', hour: '时段 Hour',
  calls: '叫号数 Calls', counter: '窗口 Counter', service_avg_s: '平均办理 Avg service',
  pause_s: '暂停 Paused', idle_waiting_s: '有人等候时空闲 Idle while waiting',
  number: '号码 Number', issued_at: '取号时间 Issued', called_at: '叫号时间 Called',
  wait_s: '等候 Wait', outcome: '结果 Outcome', date: '日期 Date',
  overtime_threshold_s: '超时阈值 Threshold', teller: '柜员 Teller',
  service_p50_s: '办理中位数 Median service', scope: '范围 Scope',
  le_3m: '≤3 分钟 ≤3 min', '3_5m': '3–5 分钟 3–5 min', '5_10m': '5–10 分钟 5–10 min',
  '10_15m': '10–15 分钟 10–15 min', '15_20m': '15–20 分钟 15–20 min', '20_30m': '20–30 分钟 20–30 min',
  gt_30m: '>30 分钟 >30 min',
  rated: '已评价 Rated', very_satisfied: '非常满意 Very satisfied', satisfied: '满意 Satisfied',
  neutral: '一般 Neutral', dissatisfied: '不满意 Dissatisfied', not_rated: '未评价 Not rated',
  prompt_not_shown: '未提示评价 Prompt not shown', satisfied_share: '满意率 Satisfied share',
  rated_share: '参评率 Share rated',
  no_show_rate: '过号率 No-show rate', cancelled_rate: '弃号率 Cancelled rate',
  reinstated: '过号重排 Reinstated', reinstated_called: '重排后叫号 Called again',
  reinstated_wait_avg_s: '重排后平均等候 Avg wait after', reinstated_wait_max_s: '重排后最长等候 Max wait after',
  help_calls: '呼叫大堂 Help calls', help_acknowledged: '已响应 Acknowledged',
  help_ack_avg_s: '平均响应 Avg response', help_ack_max_s: '最长响应 Max response',
};
const BANDS = ['le_3m', '3_5m', '5_10m', '10_15m', '15_20m', '20_30m', 'gt_30m'];
const SAT = ['rated', 'very_satisfied', 'satisfied', 'neutral', 'dissatisfied', 'not_rated',
  'prompt_not_shown', 'satisfied_share', 'rated_share'];
const NOT_RECORDED = '未记录 not recorded';
const CATEGORY = { normal: '普通 normal', elderly: '老年 elderly', disabled: '残障 disabled',
  pregnant: '孕妇 pregnant', military: '军人 military', foreign: '外籍 foreign' };
const OUTCOME = { served: '办结 served', no_show: '过号 no-show', waiting: '仍在等候 waiting',
  at_counter: '在窗口 at counter' };
const FIGS = ['issued', 'called', 'served', 'no_show', 'cancelled', 'waiting_at_close', 'transferred',
  'wait_avg_s', 'wait_p50_s', 'wait_p90_s', 'wait_max_s', 'overtime', 'overtime_waiting',
  'overtime_base', 'overtime_share', 'target_share', 'target_met'];

const $ = (id) => document.getElementById(id);

// A length of time with its unit, never like a clock time: "45 秒 s", "11.6 分钟 min", "1 小时 25 分 1 h 25 min".
function duration(s) {
  if (s === null || s === undefined) return '–';
  s = Math.round(s);
  if (s < 60) return `${s} 秒 s`;
  if (s < 3600) {
    const m = Math.round(s / 6) / 10;
    return `${Number.isInteger(m) ? m : m.toFixed(1)} 分钟 min`;
  }
  const h = Math.floor(s / 3600), m = Math.round((s % 3600) / 60);
  return `${h} 小时 ${m} 分 ${h} h ${m} min`;
}
const pct = (v) => (v === null || v === undefined ? '–' : (v * 100).toFixed(2) + '%');
const clock = (iso) => (iso ? iso.slice(11, 19) : '–');

// Today so far, the tickets still waiting are waiting now; for a whole day, at its close.
let soFar = false;
const label = (k) => (k === 'waiting_at_close' && soFar ? '现在等候 Waiting now' : LABELS[k] || k);

function cell(key, v) {
  if (v === null || v === undefined) return '–';
  if (key.endsWith('_share') || key.endsWith('_rate')) return pct(v);
  if (v && typeof v === 'object' && 'count' in v) return `${v.count} · ${pct(v.share)}`;   // a wait band
  if (key === 'target_met') return v ? '达标 met' : '未达标 missed';
  if (key.endsWith('_s') && key !== 'overtime_threshold_s') return duration(v);
  if (key === 'overtime_threshold_s') return duration(v);
  if (key === 'category') return CATEGORY[v] || v;
  if (key === 'outcome') return OUTCOME[v] || v;
  if (key === 'issued_at' || key === 'called_at') return clock(v);
  if (key === 'hour') return `${String(v).padStart(2, '0')}:00`;
  if (typeof v === 'boolean') return v ? '是 yes' : '否 no';
  return String(v);
}

function el(tag, attrs = {}, text) {
  const e = tag.startsWith('svg:') ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

// ---------------------------------------------------------------- headline

function headline(rep) {
  const t = rep.totals;
  const box = $('headline');
  box.classList.remove('met', 'missed');
  box.classList.add(t.target_met ? 'met' : 'missed');
  const share = $('headline-share');
  share.textContent = pct(t.overtime_share);
  share.dataset.share = t.overtime_share === null ? '' : String(t.overtime_share);
  $('headline-target').textContent = `目标 target ≤ ${pct(t.target_share)} · ` +
    (t.target_met ? '达标 met' : '未达标 missed') + ` · ${t.overtime} / ${t.overtime_base}`;
  const dl = $('headline-counts');
  dl.replaceChildren();
  for (const k of ['issued', 'called', 'served', 'no_show', 'cancelled', 'waiting_at_close',
    'wait_avg_s', 'wait_p50_s', 'wait_p90_s', 'wait_max_s']) {
    const d = el('div');
    d.append(el('dt', {}, label(k)), el('dd', { 'data-key': k }, cell(k, t[k])));
    dl.append(d);
  }
  const day = rep.date || `${rep.from} – ${rep.to}`;
  $('headline-when').textContent = `${rep.branch.name_zh} · ${day} · ` +
    (rep.so_far ? `截至 so far, ${clock(rep.close_at)}` : '全天 whole day') +
    ` · 生成 generated ${rep.generated_at}`;
}

// ---------------------------------------------------------------- charts

// Axes and a y scale for values 0..max; returns y(v) and the plot's x range.
function frame(svg, max, fmt) {
  svg.replaceChildren();
  const y = (v) => H - PAD.b - (max > 0 ? (v / max) * (H - PAD.t - PAD.b) : 0);
  svg.append(el('svg:line', { class: 'axis', x1: PAD.l, x2: W - PAD.r, y1: H - PAD.b, y2: H - PAD.b }));
  svg.append(el('svg:line', { class: 'axis', x1: PAD.l, x2: PAD.l, y1: PAD.t, y2: H - PAD.b }));
  for (const f of [0, 0.5, 1]) {
    svg.append(el('svg:text', { x: PAD.l - 4, y: y(max * f) + 4, 'text-anchor': 'end' }, fmt(max * f)));
  }
  return y;
}

function empty(svg) {
  svg.replaceChildren(el('svg:text', { x: W / 2, y: H / 2, 'text-anchor': 'middle' }, '暂无数据 No data'));
}

function chartHourly(rep) {
  const svg = $('chart-hourly'), hours = rep.by_hour;
  if (!hours.length) return empty(svg);
  const max = Math.max(1, ...hours.map((h) => Math.max(h.issued, h.calls)));
  const y = frame(svg, max, (v) => String(Math.round(v)));
  const slot = (W - PAD.l - PAD.r) / hours.length, bw = Math.max(2, slot * 0.38);
  hours.forEach((h, i) => {
    const x = PAD.l + i * slot + slot * 0.1;
    for (const [k, cls, dx] of [['issued', 'bar-issued', 0], ['calls', 'bar-calls', bw]]) {
      svg.append(el('svg:rect', { class: `bar ${cls}`, x: x + dx, y: y(h[k]), width: bw,
        height: H - PAD.b - y(h[k]), 'data-hour': h.hour, 'data-value': h[k] }));
    }
    svg.append(el('svg:text', { x: x + bw, y: H - PAD.b + 14, 'text-anchor': 'middle' }, `${h.hour}`));
  });
  svg.append(el('svg:rect', { class: 'bar-issued', x: W - PAD.r - 90, y: PAD.t - 8, width: 9, height: 9 }));
  svg.append(el('svg:text', { x: W - PAD.r - 78, y: PAD.t }, '取号 issued'));
  svg.append(el('svg:rect', { class: 'bar-calls', x: W - PAD.r - 90, y: PAD.t + 6, width: 9, height: 9 }));
  svg.append(el('svg:text', { x: W - PAD.r - 78, y: PAD.t + 14 }, '叫号 calls'));
}

function chartWaits(rep) {
  const svg = $('chart-waits'), d = rep.wait_distribution, bins = d.bins;
  const thresholds = [...new Set(rep.by_service.map((s) => s.overtime_threshold_s))];
  const max = Math.max(1, ...bins.map((b) => b.count));
  const y = frame(svg, max, (v) => String(Math.round(v)));
  const slot = (W - PAD.l - PAD.r) / bins.length;
  const minThr = Math.min(...thresholds);
  bins.forEach((b, i) => {
    const over = b.from_s >= minThr;
    svg.append(el('svg:rect', { class: `bar bar-wait${over ? ' over' : ''}`, x: PAD.l + i * slot + 1,
      y: y(b.count), width: slot - 2, height: H - PAD.b - y(b.count), 'data-from': b.from_s,
      'data-value': b.count }));
    svg.append(el('svg:text', { x: PAD.l + i * slot, y: H - PAD.b + 14, 'text-anchor': 'middle' },
      `${b.from_s / 60}`));
  });
  svg.append(el('svg:text', { x: W - PAD.r, y: H - PAD.b + 14, 'text-anchor': 'end' }, '+'));
  svg.append(el('svg:text', { x: W - PAD.r, y: H - 4, 'text-anchor': 'end' }, '分钟 minutes'));
  for (const t of thresholds) {
    const x = PAD.l + Math.min(bins.length, t / d.bin_s) * slot;
    svg.append(el('svg:line', { class: 'threshold', x1: x, x2: x, y1: PAD.t, y2: H - PAD.b,
      'data-threshold': t }));
    svg.append(el('svg:text', { x: x + 3, y: PAD.t + 10 }, `超时 ${t / 60} min`));
  }
}

function chartOvertime(rep) {
  const svg = $('chart-overtime'), hours = rep.by_hour;
  if (!hours.length) return empty(svg);
  const target = rep.totals.target_share;
  const max = Math.max(target * 2, ...hours.map((h) => h.overtime_share || 0), 0.01);
  const y = frame(svg, max, (v) => `${(v * 100).toFixed(0)}%`);
  const slot = (W - PAD.l - PAD.r) / hours.length;
  hours.forEach((h, i) => {
    const v = h.overtime_share;
    if (v !== null) {
      svg.append(el('svg:rect', { class: `bar bar-share${h.target_met ? '' : ' over'}`,
        x: PAD.l + i * slot + slot * 0.2, y: y(v), width: slot * 0.6, height: H - PAD.b - y(v),
        'data-hour': h.hour, 'data-value': v }));
    }
    svg.append(el('svg:text', { x: PAD.l + i * slot + slot / 2, y: H - PAD.b + 14, 'text-anchor': 'middle' },
      `${h.hour}`));
  });
  svg.append(el('svg:line', { class: 'target', x1: PAD.l, x2: W - PAD.r, y1: y(target), y2: y(target),
    'data-target': target }));
  svg.append(el('svg:text', { x: W - PAD.r, y: y(target) - 4, 'text-anchor': 'end' },
    `目标 target ${pct(target)}`));
}

// ---------------------------------------------------------------- tables

// A table titled by its caption; the first key column heads each row.
function table(title, rows, keys, withFigures, id) {
  // A wide table scrolls inside its box: the box takes focus, so the keyboard can scroll it too.
  const wrap = el('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': title });
  const tbl = el('table', { id });
  const cols = withFigures ? keys.concat(FIGS) : keys;
  const thead = el('thead'), head = el('tr'), body = el('tbody');
  tbl.append(el('caption', {}, title));
  for (const k of cols) head.append(el('th', { class: 'text', scope: 'col' }, label(k)));
  thead.append(head);
  for (const r of rows) {
    const tr = el('tr');
    cols.forEach((k, i) => {
      const td = i === 0 && keys.length ? el('th', { scope: 'row' }, cell(k, r[k])) : el('td', {}, cell(k, r[k]));
      if (k === 'target_met') td.className = r[k] ? 'met' : 'missed';
      if (typeof r[k] === 'string' && k !== 'issued_at' && k !== 'called_at') td.classList.add('text');
      tr.append(td);
    });
    body.append(tr);
  }
  tbl.append(thead, body);
  wrap.append(tbl);
  return [wrap];
}

// A group's wait bands as cells of a row: each band's count and share.
const banded = (key, g) => {
  const row = { scope: key, called: g.called };
  for (const b of g.wait_bands || []) row[b.band] = b;
  return row;
};
// A row's ratings beside its other fields, for the satisfaction columns.
const rated = (r) => ({ ...r, ...r.ratings });

function tables(rep) {
  const box = $('tables');
  box.replaceChildren();
  const bands = [banded('总计 Totals', rep.totals),
    ...rep.by_service.map((s) => banded(`${s.service} ${s.name_zh} ${s.name_en}`, s)),
    ...rep.by_category.map((c) => banded(CATEGORY[c.category] || c.category, c))];
  const tellerName = (t) => ({ ...t, teller: t.recorded ? t.teller : NOT_RECORDED });
  const svc = rep.by_service.map((s) => ({ ...s, service: `${s.service} ${s.name_zh} ${s.name_en}` }));
  const gvn = [{ group: '绿色通道 green', ...rep.green_vs_normal.green },
    { group: '普通 normal', ...rep.green_vs_normal.normal }];
  const parts = [
    table('总计 Totals', [rep.totals], [], true, 'table-totals'),
    table('按业务 By service', svc, ['service', 'overtime_threshold_s'], true, 'table-service'),
    table('按客户类别 By category', rep.by_category, ['category'], true, 'table-category'),
    table('绿色通道与普通 Green against normal', gvn, ['group'], true, 'table-green'),
    table('按时段（按取号时间；叫号数按叫号时间）By hour of issue (calls: in the hour made)',
      rep.by_hour, ['hour', 'calls'], true, 'table-hour'),
    // A day pruned before these figures existed keeps a stored report without them.
    ...(rep.totals.wait_bands ? [table('等候时长分段（已叫号，含上限：3–5 即 3 分钟以上至 5 分钟）Waits in bands (called tickets; a band includes its upper edge)',
      bands, ['scope', 'called', ...BANDS], false, 'table-bands')] : []),
    table('按窗口 By counter', rep.by_counter,
      ['counter', 'calls', 'served', 'service_avg_s', 'pause_s', 'idle_waiting_s'], false, 'table-counter'),
    ...(rep.satisfaction ? [table('按窗口满意度 Satisfaction by counter', rep.by_counter.map(rated),
      ['counter', 'served', ...SAT], false, 'table-counter-satisfaction')] : []),
    // Only those who may read every report get who served how much.
    ...(rep.by_teller ? [table('按柜员（办结与过号归办理人，暂停归暂停人）By teller (a finish counts for who finished, a pause for who paused)',
      rep.by_teller.map(tellerName),
      ['teller', 'served', 'service_avg_s', 'service_p50_s', 'no_show', 'pause_s'], false, 'table-teller'),
    ...(rep.satisfaction ? [table('按柜员满意度 Satisfaction by teller', rep.by_teller.map((t) => rated(tellerName(t))),
      ['teller', 'served', ...SAT], false, 'table-teller-satisfaction')] : [])] : []),
    ...(rep.missed ? [table('过号与弃号 Missed and abandoned', [{ scope: '全部 All', ...rep.missed }],
      ['scope', 'called', 'no_show', 'no_show_rate', 'issued', 'cancelled', 'cancelled_rate', 'reinstated',
        'reinstated_called', 'reinstated_wait_avg_s', 'reinstated_wait_max_s', 'help_calls',
        'help_acknowledged', 'help_ack_avg_s', 'help_ack_max_s'], false, 'table-missed')] : []),
    table('最长等候 Longest waits', rep.longest_waits,
      ['number', 'service', 'category', 'issued_at', 'called_at', 'wait_s', 'overtime', 'outcome', 'counter'],
      false, 'table-longest'),
  ];
  if (rep.by_day) parts.push(table('按日 By day', rep.by_day, ['date'], true, 'table-day'));
  for (const p of parts) box.append(...p);
}

// ---------------------------------------------------------------- staffing advice

function adviceStatus(text, state) {
  $('advice-status').textContent = text;
  document.body.dataset.advice = state;
}

// Counters per hour: the advice as bars, Erlang C's answer as a mark across each.
function chartAdvice(a) {
  const svg = $('chart-advice'), hours = a.hours;
  // One counter of headroom: the legend sits above the tallest mark.
  const max = 1 + Math.max(1, ...hours.map((h) => Math.max(h.counters, h.erlang_c)));
  const y = frame(svg, max, (v) => (Number.isInteger(v) ? String(v) : ''));
  const slot = (W - PAD.l - PAD.r) / hours.length;
  hours.forEach((h, i) => {
    const x = PAD.l + i * slot;
    svg.append(el('svg:rect', { class: 'bar bar-advice', x: x + slot * 0.2, y: y(h.counters),
      width: slot * 0.6, height: H - PAD.b - y(h.counters), 'data-hour': h.hour, 'data-value': h.counters }));
    svg.append(el('svg:line', { class: 'erlang', x1: x + slot * 0.1, x2: x + slot * 0.9,
      y1: y(h.erlang_c), y2: y(h.erlang_c), 'data-hour': h.hour, 'data-value': h.erlang_c }));
    svg.append(el('svg:text', { x: x + slot / 2, y: y(h.counters) - 3, 'text-anchor': 'middle' },
      String(h.counters)));
    svg.append(el('svg:text', { x: x + slot / 2, y: H - PAD.b + 14, 'text-anchor': 'middle' }, h.hour));
  });
  svg.append(el('svg:rect', { class: 'bar-advice', x: W - PAD.r - 150, y: PAD.t - 8, width: 9, height: 9 }));
  svg.append(el('svg:text', { x: W - PAD.r - 138, y: PAD.t }, '建议 advised'));
  svg.append(el('svg:line', { class: 'erlang', x1: W - PAD.r - 152, x2: W - PAD.r - 140, y1: PAD.t + 10,
    y2: PAD.t + 10 }));
  svg.append(el('svg:text', { x: W - PAD.r - 138, y: PAD.t + 14 }, 'Erlang C 逐时 hour by hour'));
}

// Each hour: arrivals, Erlang C, the advice, and each service's predicted share (95 % interval).
function tableAdvice(a) {
  const services = a.hours.length ? a.hours[0].by_service.map((s) => s.service) : [];
  const title = '排班建议明细 The advice hour by hour';
  const wrap = el('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': title });
  const tbl = el('table', { id: 'table-advice' });
  tbl.append(el('caption', {}, title));
  const head = el('tr');
  for (const t of ['时段 Hour', '预计取号 Arrivals', 'Erlang C', '建议窗口 Advised']) {
    head.append(el('th', { scope: 'col' }, t));
  }
  for (const s of services) head.append(el('th', { scope: 'col' }, `${s} 预计超时占比 predicted share (95% CI)`));
  const thead = el('thead');
  thead.append(head);
  tbl.append(thead);
  const body = el('tbody');
  for (const h of a.hours) {
    const tr = el('tr', { 'data-hour': h.hour });
    tr.append(el('th', { scope: 'row' }, h.hour), el('td', {}, h.arrivals.toFixed(1)),
      el('td', { 'data-key': 'erlang_c' }, String(h.erlang_c)),
      el('td', { 'data-key': 'counters' }, String(h.counters)));
    for (const s of h.by_service) {
      const v = s.overtime_share, ci = s.overtime_share_ci;
      const over = v !== null && ci && ci[1] > s.target_share + 1e-9;
      const text = v === null ? '–' : `${pct(v)} (${pct(Math.max(0, ci[0]))}–${pct(ci[1])})`;
      tr.append(el('td', { class: over ? 'missed' : 'met', 'data-service': s.service }, text));
    }
    body.append(tr);
  }
  tbl.append(body);
  wrap.append(tbl);
  $('advice-table').replaceChildren(wrap);
}

async function loadAdvice() {
  $('advice').hidden = false;
  adviceStatus('正在计算明日排班建议… Working out tomorrow\'s staffing…', 'loading');
  try {
    const r = await BQ.api('GET', '/api/v1/advice');
    const body = r.body || {};
    if (r.status !== 200) {
      const why = body.error ? body.error.message : `HTTP ${r.status}`;
      if (r.status === 404) {
        adviceStatus(`暂无同一星期几的历史数据，无法建议 No history to plan from: ${why}`, 'none');
      } else {
        adviceStatus(`无法计算排班建议 The advice could not be made: ${why}`, 'error');
      }
      return;
    }
    const h = body.history || { days: [] };
    adviceStatus(`${body.date} · ${body.open}–${body.close} · 依据 ${h.days.length} 个同星期几的营业日 ` +
      `based on ${h.days.length} same weekdays (${h.tickets} 张票 tickets) · ` +
      `每个方案模拟 ${body.replications} 天 ${body.replications} simulated days a plan · ` +
      (body.met ? '每小时均达标 meets the target every hour' :
        '全部窗口开放仍有时段超标 even every counter misses the target in some hour'), 'ready');
    $('advice-figure').hidden = false;
    chartAdvice(body);
    tableAdvice(body);
  } catch (e) {
    adviceStatus(`无法计算排班建议 The advice could not be made: ${e.message}`, 'error');
  }
}

// ---------------------------------------------------------------- page

function render(rep) {
  headline(rep);
  chartHourly(rep);
  chartWaits(rep);
  chartOvertime(rep);
  tables(rep);
  reportReady = true;
  $('report').hidden = shown !== 'tab-report';
  document.body.dataset.ready = '1';
}

// ---------------------------------------------------------------- tabs and the audit trail

const TABS = { 'tab-report': 'report', 'tab-audit': 'audit' };
const ROLE = { lobby: '大堂经理 lobby', teller: '柜员 teller', head: '网点负责人 head', admin: '管理员 admin',
  kiosk: '取号机 kiosk', display: '显示屏 display' };
const ACTION = { 'sign-in': '登录 sign-in', 'sign-out': '退出 sign-out', issue: '取号 issue',
  green: '绿色通道 green', cancel: '取消 cancel', reprint: '补打 reprint', call: '叫号 call',
  recall: '重呼 recall', start: '开始办理 start', 'no-show': '过号 no-show', finish: '办结 finish',
  transfer: '转移 transfer', pause: '暂停 pause', resume: '恢复 resume', release: '释放窗口 release',
  'config-reload': '重读配置 config reload' };
const RESULT = { ok: '成功 ok', failed: '失败 failed', locked: '已锁定 locked' };
let shown = 'tab-report', reportReady = false, auditRead = false;

// Show the tab's panel and no other; the report's only once it has been read.
function select(id, focus) {
  shown = id;
  for (const [tab, panel] of Object.entries(TABS)) {
    const on = tab === id;
    $(tab).setAttribute('aria-selected', String(on));
    $(tab).tabIndex = on ? 0 : -1;
    $(panel).hidden = !on || (panel === 'report' && !reportReady);
  }
  if (focus) $(id).focus();
  history.replaceState(null, '', location.pathname + location.search + (id === 'tab-audit' ? '#audit' : ''));
  if (id === 'tab-audit' && !auditRead) {
    auditRead = true;
    loadAudit();
  }
}

function auditStatus(text) {
  $('audit-status').textContent = text;
  $('audit-status').hidden = !text;
}

async function loadAudit() {
  const date = new URLSearchParams(location.search).get('date');
  const q = date ? `date=${encodeURIComponent(date)}` : '';
  $('audit-csv').href = `/api/v1/audit?${q}${q ? '&' : ''}format=csv`;
  auditStatus('读取中… Loading…');
  try {
    const r = await BQ.api('GET', `/api/v1/audit${q ? '?' + q : ''}`);
    if (r.status === 401) return;          // on the way to the sign-in page
    const body = r.body || {};
    if (r.status !== 200) throw new Error(body.error ? body.error.message : `HTTP ${r.status}`);
    $('audit-csv').setAttribute('download', `branchq-audit-${body.date}.csv`);
    $('audit-when').textContent = `${body.date} · ${body.rows.length} 条 rows · `;
    const tbody = $('table-audit').tBodies[0];
    tbody.replaceChildren();
    for (const a of body.rows) {
      const tr = el('tr');
      const cells = [clock(a.at), a.who, ROLE[a.role] || a.role, a.counter ?? '–',
        ACTION[a.action] || a.action, a.ticket ?? '–', RESULT[a.result] || a.result, a.address];
      cells.forEach((v, i) => tr.append(el('td', i === 3 || i === 5 ? {} : { class: 'text' }, String(v))));
      if (a.result !== 'ok') tr.className = 'not-ok';
      tbody.append(tr);
    }
    $('table-audit').hidden = body.rows.length === 0;
    auditStatus(body.rows.length ? '' : '这一天没有审计记录。Nothing was recorded on this day.');
    document.body.dataset.audit = 'ready';
  } catch (e) {
    auditStatus(`无法读取审计记录 The audit trail could not be read: ${e.message}`);
    document.body.dataset.audit = 'error';
  }
}

// Tabs for those who may read the audit trail; arrows, Home and End move between them.
async function tabs() {
  const r = await BQ.api('GET', '/api/v1/session');
  const role = r.status === 200 && r.body ? r.body.role : null;
  if (role !== 'head' && role !== 'admin') return;
  loadAdvice();
  for (const [tab, panel] of Object.entries(TABS)) {
    $(panel).setAttribute('role', 'tabpanel');
    $(panel).setAttribute('aria-labelledby', tab);
    $(tab).addEventListener('click', () => select(tab, false));
  }
  $('tabs').addEventListener('keydown', (e) => {
    const ids = Object.keys(TABS), i = ids.indexOf(shown);
    const to = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: ids.length - 1 }[e.key];
    if (to === undefined) return;
    e.preventDefault();
    select(ids[(to + ids.length) % ids.length], true);
  });
  $('tabs').hidden = false;
  const fromHash = () => select(location.hash === '#audit' ? 'tab-audit' : 'tab-report', false);
  window.addEventListener('hashchange', fromHash);
  if (location.hash === '#audit') fromHash();
}

// The week (Monday to Sunday) or the calendar month around day (YYYY-MM-DD), as [from, to].
function spanOf(day, span) {
  const d = new Date(day + 'T12:00:00Z');
  const iso = (x) => x.toISOString().slice(0, 10);
  if (span === 'week') {
    const from = new Date(d.getTime() - ((d.getUTCDay() + 6) % 7) * 86400000);
    return [iso(from), iso(new Date(from.getTime() + 6 * 86400000))];
  }
  const from = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1));
  const to = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0));
  return [iso(from), iso(to)];
}

async function load() {
  const params = new URLSearchParams(location.search);
  const date = params.get('date');
  const span = ['week', 'month'].includes(params.get('span')) ? params.get('span') : 'day';
  $('span').value = span;
  let path, q;
  if (span === 'day') {
    q = date ? `date=${encodeURIComponent(date)}` : '';
    path = '/api/v1/reports/daily';
  } else {
    const now = new Date();
    const local = `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, '0')}-${String(now.getDate()).padStart(2, '0')}`;
    const [from, to] = spanOf(date || local, span);
    q = `from=${from}&to=${to}`;
    path = '/api/v1/reports/range';
  }
  $('csv').href = `${path}?${q}${q ? '&' : ''}format=csv`;
  if (date) $('date').value = date;
  try {
    const r = await BQ.api('GET', `${path}${q ? '?' + q : ''}`);
    if (r.status === 401) return;          // on the way to the sign-in page
    const body = r.body || {};
    if (r.status !== 200) throw new Error(body.error ? body.error.message : `HTTP ${r.status}`);
    if (!date) $('date').value = body.date || body.to;
    soFar = !!body.so_far;
    render(body);
  } catch (e) {
    $('error').textContent = `无法读取报表 The report could not be read: ${e.message}`;
    $('error').hidden = false;
    document.body.dataset.ready = 'error';
  }
}

function go() {
  const v = $('date').value, sp = $('span').value;
  const p = new URLSearchParams();
  if (v) p.set('date', v);
  if (sp !== 'day') p.set('span', sp);
  location.search = p.toString();
}
$('date').addEventListener('change', go);
$('span').addEventListener('change', go);
$('today').addEventListener('click', () => { location.search = ''; });
$('print').addEventListener('click', () => window.print());
tabs().catch(() => { /* no tabs: the report alone */ });
load();
