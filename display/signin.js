// signin.js: the staff sign-in page. It offers the branch's counters (from
// the public GET /api/v1/display, since nothing else may be read before
// signing in), posts the name, password and counter to POST /api/v1/session,
// and goes on to the page the person asked for (?next=, a path of this site
// only) or to the page of their role. Every refusal is shown as the daemon
// words it, in Chinese and English.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const form = $('form'), msg = $('msg'), submit = $('submit'), counter = $('counter');

  // Only a path of this site: "/lobby", never "//elsewhere" or "https://…".
  function nextPath() {
    const n = new URLSearchParams(location.search).get('next');
    if (!n || n[0] !== '/' || n[1] === '/' || n[1] === '\\' || n.startsWith('/signin')) return null;
    return n;
  }

  function home(s) {
    if (s.role === 'teller' && s.counter != null) return `/counter/${s.counter}`;
    if (s.role === 'kiosk') return '/kiosk';
    return '/lobby';
  }

  // The messages a refusal may carry; the daemon's own words go first.
  const FALLBACK = {
    sign_in_failed: '用户名或密码错误 Wrong name or password',
    locked: '登录失败次数过多，此账户暂时锁定，请 15 分钟后再试 Too many failed sign-ins: this account is locked for 15 minutes',
    too_many_attempts: '尝试次数过多，请稍后再试 Too many attempts from this device; please wait and try again',
    counter_taken: '另一位柜员已在此窗口登录 Another teller is signed in at this counter',
    invalid_field: '请检查填写的内容 Please check what you entered',
  };

  function say(text) {
    msg.textContent = text;
  }

  function refusal(r) {
    const e = r.body && r.body.error;
    if (!e) return `登录失败（${r.status}） Sign-in failed (${r.status})`;
    return e.message || FALLBACK[e.code] || `${e.code}`;
  }

  async function counters() {
    try {
      const r = await BQ.api('GET', '/api/v1/display');
      if (r.status !== 200 || !r.body) return;
      const b = r.body.branch;
      if (b) $('branch').innerHTML = `${BQ.esc(b.name_zh)} <span class="en">${BQ.esc(b.name_en)}</span>`;
      const list = (r.body.counters || []).map((c) => (typeof c === 'object' ? c.number : c))
        .filter((n) => Number.isInteger(n)).sort((a, b2) => a - b2);
      for (const n of list) {
        const o = document.createElement('option');
        o.value = String(n);
        o.textContent = `${n} 号窗口 Counter ${n}`;
        counter.append(o);
      }
    } catch { /* the list stays empty: non-tellers sign in all the same */ }
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const name = $('name').value.trim(), password = $('password').value;
    if (!name || !password) {
      say('请输入用户名和密码 Please enter your name and password');
      ($('name').value.trim() ? $('password') : $('name')).focus();
      return;
    }
    submit.disabled = true;
    say('');
    try {
      const body = { name, password, counter: counter.value ? Number(counter.value) : null };
      const r = await BQ.api('POST', '/api/v1/session', body, { noRedirect: true });
      if (r.status === 201 && r.body) {
        location.assign(nextPath() || home(r.body));
        return;
      }
      say(refusal(r));
      if (r.body && r.body.error && r.body.error.code === 'sign_in_failed') {
        $('password').value = '';
        $('password').focus();
      }
    } catch {
      say('无法连接服务器，请稍后再试 Cannot reach the server; please try again');
    } finally {
      submit.disabled = false;
    }
  });

  counters();
  $('name').focus();
})();
