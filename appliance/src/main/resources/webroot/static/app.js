// Turnstile status page. Plain JavaScript, no libraries, no build step.
// Data: GET /v1/status and /v1/history once, then the server-sent event stream /v1/events
// (status every second, a history sample every 10 s); the leases table pages through
// GET /v1/leases (server-side filtering and paging: the browser never holds more than a page).
// Force-release: POST /v1/leases/{id}/release with the bearer token the admin types in.
'use strict';

(function () {
  const TOKEN_KEY = 'turnstile.apiToken';
  const COLORS = ['#2c5fd1', '#2f9e61', '#d0433b', '#e0a100', '#7b4bc4', '#16a2b8', '#c2477f', '#6b7a1f'];
  const $ = (id) => document.getElementById(id);

  const state = {
    status: null,
    history: null,          // {interval_ms, window_ms, times: [ms], products: {p: {max, used: []}}}
    query: { q: '', product: '', state: '', order: 'oldest', offset: 0, limit: 50 },
    page: null,
    leasesInFlight: false,
    leasesDirty: false,
    lastLeasesAt: 0,
    streamOk: false,
    productColors: {},
    releasing: null,
  };

  // ------------------------------------------------------------------ helpers

  function token() { return sessionStorage.getItem(TOKEN_KEY) || ''; }
  function setToken(t) { if (t) { sessionStorage.setItem(TOKEN_KEY, t); } else { sessionStorage.removeItem(TOKEN_KEY); } }
  function authHeaders(extra) {
    const h = Object.assign({ 'Accept': 'application/json' }, extra || {});
    if (token()) { h['Authorization'] = 'Bearer ' + token(); }
    return h;
  }

  async function api(path, opts) {
    const res = await fetch(path, Object.assign({ cache: 'no-store' }, opts || {}, { headers: authHeaders((opts || {}).headers) }));
    let body = null;
    try { body = await res.json(); } catch (e) { body = null; }
    if (res.status === 401 && (!opts || !opts.method || opts.method === 'GET')) { askToken(); }
    return { status: res.status, ok: res.ok, body: body };
  }

  function el(tag, attrs, children) {
    const e = document.createElement(tag);
    if (attrs) {
      for (const k of Object.keys(attrs)) {
        const v = attrs[k];
        if (v === null || v === undefined) { continue; }
        if (k === 'text') { e.textContent = v; }
        else if (k === 'class') { e.className = v; }
        else if (k.startsWith('on')) { e.addEventListener(k.substring(2), v); }
        else { e.setAttribute(k, v); }
      }
    }
    for (const c of children || []) { if (c !== null && c !== undefined) { e.append(c); } }
    return e;
  }

  function setText(id, text) { const e = $(id); if (e && e.textContent !== String(text)) { e.textContent = text; } }
  function setClass(e, base, cls) { e.className = base + (cls ? ' ' + cls : ''); }
  function fmtInt(n) { return (n === null || n === undefined) ? '\u2014' : Number(n).toLocaleString('en-US'); }

  function fmtTime(iso) {
    if (!iso) { return '\u2014'; }
    const d = new Date(iso);
    const now = serverNow();
    const sameDay = Math.abs(now - d.getTime()) < 20 * 3600 * 1000;
    const hms = d.toLocaleTimeString('en-GB', { hour12: false });
    return sameDay ? hms : d.toISOString().substring(0, 10) + ' ' + hms;
  }

  function fmtAgo(iso) {
    if (!iso) { return '\u2014'; }
    let s = Math.round((serverNow() - new Date(iso).getTime()) / 1000);
    if (s < 0) { s = 0; }
    if (s < 90) { return s + ' s ago'; }
    if (s < 5400) { return Math.round(s / 60) + ' min ago'; }
    if (s < 129600) { return Math.round(s / 3600) + ' h ago'; }
    return Math.round(s / 86400) + ' d ago';
  }

  function fmtIn(iso) {
    if (!iso) { return '\u2014'; }
    const s = Math.round((new Date(iso).getTime() - serverNow()) / 1000);
    if (s <= 0) { return 'now'; }
    if (s < 90) { return 'in ' + s + ' s'; }
    if (s < 5400) { return 'in ' + Math.round(s / 60) + ' min'; }
    return 'in ' + Math.round(s / 3600) + ' h';
  }

  function fmtDuration(ms) {
    if (ms === null || ms === undefined) { return '\u2014'; }
    if (ms < 1000) { return ms + ' ms'; }
    if (ms < 120000) { return (ms / 1000).toFixed(1) + ' s'; }
    return Math.round(ms / 60000) + ' min';
  }

  // The server's clock (status.server_time) offset from ours, so "ago" is right on a skewed browser.
  let clockOffset = 0;
  function serverNow() { return Date.now() + clockOffset; }

  function toast(text, bad) {
    const t = $('toast');
    t.textContent = text;
    t.className = 'toast show' + (bad ? ' bad' : '');
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { t.className = 'toast'; }, 4000);
  }

  function colorOf(product) {
    if (!state.productColors[product]) {
      const n = Object.keys(state.productColors).length;
      state.productColors[product] = COLORS[n % COLORS.length];
    }
    return state.productColors[product];
  }

  // ------------------------------------------------------------------ status

  function renderStatus(s) {
    state.status = s;
    if (s.server_time) { clockOffset = new Date(s.server_time).getTime() - Date.now(); }
    setText('server-id', s.server_id);
    document.title = 'Turnstile \u00b7 ' + s.server_id;
    setText('server-time', s.server_time ? new Date(s.server_time).toISOString().replace('T', ' ').substring(0, 19) + ' UTC' : '');
    setText('role', s.role ? s.role : '\u2014');
    const ready = $('ready-badge');
    if (s.draining) { ready.textContent = 'draining'; setClass(ready, 'badge', 'warn'); }
    else if (s.ready) { ready.textContent = 'ready'; setClass(ready, 'badge', 'ok'); }
    else { ready.textContent = 'not ready'; setClass(ready, 'badge', 'bad'); }

    renderWarnings(s.warnings || []);
    renderLicense(s.license);
    renderSync(s.sync);
    renderStore(s.store, s.memory_only);
    renderTriad(s.triad);
    setText('sessions', fmtInt(s.sessions));
    setText('connections', fmtInt(s.connections));
    setText('lease-count', fmtInt(s.leases));
    setText('waiting', fmtInt(s.waiting));
    setClass($('card-sessions'), 'card', s.waiting > 0 ? 'warn' : 'ok');
    renderProducts(s.pools || []);
    updateProductFilter(s.pools || []);
    drawChart();
  }

  // Settings that open the appliance to the network (server.host without clients.auth_token, ...): one line each.
  function renderWarnings(list) {
    const box = $('warnings');
    box.replaceChildren();
    for (const w of list) {
      const p = document.createElement('p');
      p.className = 'warning';
      p.dataset.code = w.code;
      p.textContent = '\u26a0 ' + w.message;
      box.appendChild(p);
    }
    box.hidden = list.length === 0;
  }

  function renderLicense(l) {
    const card = $('card-license');
    if (!l || !l.state) {
      setText('license-days', 'n/a'); setText('license-days-unit', '');
      setText('license-detail', 'No license section: seats are served from the configuration.');
      setClass(card, 'card', 'neutral');
      card.dataset.level = 'neutral';
      return;
    }
    const warnSeconds = l.expiry_warning_seconds || 7 * 86400;
    let level = 'ok';
    if (l.state === 'none' || l.state === 'expired' || l.seconds_left === undefined || l.seconds_left <= 0) { level = 'bad'; }
    else if (l.state === 'expiring' || l.seconds_left < warnSeconds) { level = l.seconds_left < 86400 ? 'bad' : 'warn'; }
    if (l.seconds_left !== undefined) {
      const days = l.days_left !== undefined ? l.days_left : Math.floor(l.seconds_left / 86400);
      setText('license-days', l.seconds_left > 0 ? String(days) : '0');
      setText('license-days-unit', days === 1 ? ' day left' : ' days left');
    } else {
      setText('license-days', '\u2014'); setText('license-days-unit', '');
    }
    let detail;
    if (l.state === 'none') { detail = 'No valid license installed: checkouts are refused.' + (l.last_error ? ' ' + l.last_error : ''); }
    else if (l.state === 'expired') { detail = 'Expired ' + fmtTime(l.valid_until) + ': checkouts are refused.'; }
    else {
      detail = 'Valid until ' + fmtTime(l.valid_until) + (level !== 'ok' ? ' \u2014 below the ' + Math.round(warnSeconds / 86400) + '-day alert threshold' : '');
    }
    if (l.demo) { detail += ' (DEMO license)'; }
    setText('license-detail', detail);
    setClass(card, 'card', level);
    card.dataset.level = level;
  }

  function renderSync(y) {
    const card = $('card-sync');
    if (!y || y.status === undefined) {
      setText('sync-state', 'not configured'); setText('sync-detail', 'No sync section in the configuration.');
      setClass(card, 'card', 'neutral');
      return;
    }
    let level = 'ok';
    const breaker = y.breaker ? y.breaker.state : 'none';
    const alerts = y.alerts || [];
    if (!y.enabled) { level = 'neutral'; }
    else if (breaker === 'open' || alerts.some((a) => a.level === 'error')) { level = 'bad'; }
    else if (breaker === 'half_open' || (y.consecutive_failures || 0) > 0 || alerts.length > 0 || (y.pending_conflicts || 0) > 0) { level = 'warn'; }
    setText('sync-state', y.enabled ? y.status : 'disabled');
    const parts = [];
    parts.push('last ' + (y.last_sync_at ? fmtAgo(y.last_sync_at) : 'never'));
    if (y.next_sync_at) { parts.push('next ' + fmtIn(y.next_sync_at)); }
    if (y.enabled) { parts.push('breaker ' + breaker); }
    if ((y.pending_conflicts || 0) > 0) { parts.push(y.pending_conflicts + ' conflicts waiting'); }
    if ((y.error_count || 0) > 0) { parts.push(y.error_count + ' errors'); }
    if (alerts.length > 0) { parts.push(alerts[0].message); }
    setText('sync-detail', parts.join(' \u00b7 '));
    setClass(card, 'card', level);
  }

  function renderStore(st, memoryOnly) {
    const card = $('card-store');
    if (!st || memoryOnly || st.persistent === false) {
      setText('store-lag', 'memory only');
      setText('store-detail', 'No database configured: seat history is not persisted.');
      setClass(card, 'card', 'neutral');
      return;
    }
    const lagMs = st.lagMs || 0;
    setText('store-lag', fmtDuration(lagMs) + ' behind');
    const parts = [st.connected ? 'connected' : 'DATABASE UNREACHABLE', fmtInt(st.lagEvents || 0) + ' events queued'];
    if (st.spilledBytes) { parts.push(fmtInt(st.spilledBytes) + ' bytes spilled'); }
    if (st.droppedEvents) { parts.push(fmtInt(st.droppedEvents) + ' dropped'); }
    if (st.lastError && !st.connected) { parts.push(st.lastError); }
    setText('store-detail', parts.join(' \u00b7 '));
    let level = 'ok';
    if (!st.connected || st.droppedEvents > 0) { level = 'bad'; }
    else if (lagMs > 5000) { level = 'warn'; }
    setClass(card, 'card', level);
  }

  // The triad (appliance/TRIAD.md): this member's role, term, commit index and quorum, and one row per
  // member with its lag. Hidden on a single appliance (no "triad" object in the status).
  function renderTriad(t) {
    const panel = $('triad-panel');
    if (!t) { panel.hidden = true; return; }
    panel.hidden = false;
    const role = $('role-badge');
    setClass(role, 'badge', t.role === 'leader' ? 'ok' : t.role === 'follower' ? '' : 'bad');
    const q = t.quorum_loss || {};
    const parts = [
      'member ' + t.self + ' is ' + t.role,
      'term ' + fmtInt(t.term),
      'commit index ' + fmtInt(t.commit_index),
      'applied ' + fmtInt(t.applied_index),
      t.quorum ? 'quorum holds' : 'NO QUORUM' + (q.without_quorum_ms ? ' for ' + fmtDuration(q.without_quorum_ms) : ''),
    ];
    setText('triad-summary', parts.join(' \u00b7 '));
    setClass($('triad-summary'), 'triad-summary', t.quorum ? 'ok' : 'bad');
    const rows = (t.members || []).map((m) => {
      const isLeader = m.id === t.leader;
      const memberRole = isLeader ? 'leader' : !m.in_view ? 'unreachable' : m.id === t.self ? t.role : 'follower';
      const lag = m.lag === null || m.lag === undefined ? '\u2014' : fmtInt(m.lag);
      return el('tr', { 'data-member': m.id, class: m.in_view ? '' : 'down' }, [
        el('td', { class: 'mono', text: m.id + (m.id === t.self ? ' (this one)' : '') }),
        el('td', { class: 'mono', text: m.client }),
        el('td', { 'data-testid': 'triad-role-' + m.id, text: memberRole }),
        el('td', { 'data-testid': 'triad-in-view-' + m.id, text: m.in_view ? 'yes' : 'no' }),
        el('td', { text: m.match_index === null || m.match_index === undefined ? '\u2014' : fmtInt(m.match_index) }),
        el('td', { 'data-testid': 'triad-lag-' + m.id, class: m.lag > 0 ? 'stale' : '', text: lag }),
      ]);
    });
    $('triad-rows').replaceChildren(...rows);
    let detail = t.role === 'leader' ? 'Lag as this leader sees it: entries appended here minus the member\'s match index.'
      : 'Lag of this member only (entries received, not yet applied); open the leader\'s page for the others.';
    if (q.rule) {
      detail += ' Quorum-loss rule: ' + (q.rule === 'revoke' ? 'revoke held leases after one lease timeout'
        : 'keep held leases for ' + fmtDuration(q.keep_leases_for_ms));
      if (q.renewing_held_leases) { detail += ' (renewing held leases now)'; }
      if (q.revoking_held_leases) { detail += ' (revoking held leases now)'; }
      detail += '.';
    }
    if (t.leader_address && t.role !== 'leader') { detail += ' Leader: ' + t.leader + ' at ' + t.leader_address + '.'; }
    setText('triad-detail', detail);
  }

  function renderProducts(pools) {
    const box = $('products');
    if (pools.length === 0) { box.replaceChildren(el('p', { class: 'muted', text: 'No entitlements.' })); return; }
    const seen = new Set();
    for (const p of pools) {
      const id = p.entitlement_id;
      seen.add(id);
      let row = box.querySelector('[data-entitlement="' + CSS.escape(id) + '"]');
      if (!row) {
        row = el('div', { class: 'pool', 'data-entitlement': id, 'data-product': p.product_id }, [
          el('div', { class: 'pool-head' }, [
            el('span', { class: 'pname', text: p.product_id }),
            el('span', { class: 'pmeta', text: id + ' \u00b7 ' + p.tenant_id + ' \u00b7 ' + p.enforcement }),
          ]),
          el('div', { class: 'bar' }, [el('div', { class: 'fill' }), el('div', { class: 'hw', title: 'high-water' }),
            el('span', { class: 'label' })]),
          el('div', { class: 'nums' }, [
            el('b', { 'data-testid': 'used-' + id, 'data-field': 'used' }), ' / ',
            el('b', { 'data-testid': 'max-' + id, 'data-field': 'max' }), ' seats used \u00b7 ',
            el('span', { 'data-testid': 'waiting-' + id, 'data-field': 'waiting' }), ' waiting \u00b7 high-water ',
            el('span', { 'data-testid': 'highwater-' + id, 'data-field': 'hw' }),
          ]),
        ]);
        box.querySelectorAll('p.muted').forEach((e) => e.remove());
        box.append(row);
      }
      const max = p.max_seats;
      const pct = max > 0 ? Math.min(100, 100 * p.used / max) : (p.used > 0 ? 100 : 0);
      const hwPct = max > 0 ? Math.min(100, 100 * p.high_water / max) : 0;
      const fill = row.querySelector('.fill');
      fill.style.width = pct + '%';
      fill.style.background = '';
      // red: over the maximum (a shrunk pool) or full with clients waiting; amber: 80 % or more
      setClass(fill, 'fill', p.used > max || (p.used >= max && p.waiting > 0) ? 'full' : (pct >= 80 ? 'warn' : ''));
      row.querySelector('.hw').style.left = 'calc(' + hwPct + '% - 1px)';
      row.querySelector('.label').textContent = Math.round(pct) + '%';
      row.querySelector('[data-field=used]').textContent = fmtInt(p.used);
      row.querySelector('[data-field=max]').textContent = fmtInt(max);
      const w = row.querySelector('[data-field=waiting]');
      w.textContent = fmtInt(p.waiting);
      w.className = p.waiting > 0 ? 'waiting-badge' : '';
      row.querySelector('[data-field=hw]').textContent = fmtInt(p.high_water);
    }
    box.querySelectorAll('.pool').forEach((r) => { if (!seen.has(r.dataset.entitlement)) { r.remove(); } });
  }

  function updateProductFilter(pools) {
    const sel = $('filter-product');
    const products = Array.from(new Set(pools.map((p) => p.product_id))).sort();
    const have = Array.from(sel.options).slice(1).map((o) => o.value);
    if (have.join('\n') === products.join('\n')) { return; }
    const current = sel.value;
    sel.replaceChildren(el('option', { value: '', text: 'All products' }), ...products.map((p) => el('option', { value: p, text: p })));
    sel.value = products.includes(current) ? current : '';
  }

  // ------------------------------------------------------------------ chart (hand-drawn on a canvas)

  function onSample(s) {
    const h = state.history;
    if (!h) { return; }
    const t = new Date(s.at).getTime();
    h.times.push(t);
    const n = h.times.length;
    for (const p of Object.keys(s.used)) {
      if (!h.products[p]) { h.products[p] = { max: 0, used: new Array(n - 1).fill(null) }; }
    }
    for (const p of Object.keys(h.products)) {
      h.products[p].used.push(s.used[p] === undefined ? null : s.used[p]);
      if (s.max && s.max[p] !== undefined) { h.products[p].max = s.max[p]; }
    }
    const keep = Math.max(1, Math.round(h.window_ms / h.interval_ms));
    while (h.times.length > keep) {
      h.times.shift();
      for (const p of Object.keys(h.products)) { h.products[p].used.shift(); }
    }
    drawChart();
  }

  function drawChart() {
    const canvas = $('chart');
    const h = state.history;
    const dpr = window.devicePixelRatio || 1;
    const cssW = canvas.clientWidth || 800;
    const cssH = canvas.clientHeight || 240;
    if (canvas.width !== Math.round(cssW * dpr) || canvas.height !== Math.round(cssH * dpr)) {
      canvas.width = Math.round(cssW * dpr);
      canvas.height = Math.round(cssH * dpr);
    }
    const g = canvas.getContext('2d');
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, cssW, cssH);
    const left = 44, right = 14, top = 12, bottom = 26;
    const w = cssW - left - right, ht = cssH - top - bottom;
    const windowMs = h ? h.window_ms : 3600000;
    const now = state.status && state.status.server_time ? new Date(state.status.server_time).getTime() : serverNow();
    const pools = state.status ? state.status.pools || [] : [];
    const current = {};
    const maxNow = {};
    for (const p of pools) {
      current[p.product_id] = (current[p.product_id] || 0) + p.used;
      maxNow[p.product_id] = (maxNow[p.product_id] || 0) + p.max_seats;
    }
    const products = Array.from(new Set(Object.keys(h ? h.products : {}).concat(Object.keys(current)))).sort();
    let yMax = 1;
    for (const p of products) {
      yMax = Math.max(yMax, maxNow[p] || 0, h && h.products[p] ? h.products[p].max : 0, current[p] || 0);
      if (h && h.products[p]) { for (const v of h.products[p].used) { if (v !== null) { yMax = Math.max(yMax, v); } } }
    }
    const step = niceStep(yMax);
    yMax = Math.ceil(yMax / step) * step;
    const x = (t) => left + w * (1 - (now - t) / windowMs);
    const y = (v) => top + ht * (1 - v / yMax);

    // grid and axes
    g.font = '11px system-ui, "DejaVu Sans", sans-serif';
    g.fillStyle = '#6a7585';
    g.strokeStyle = '#e6ebf0';
    g.lineWidth = 1;
    g.textAlign = 'right';
    g.textBaseline = 'middle';
    for (let v = 0; v <= yMax + 1e-9; v += step) {
      g.beginPath(); g.moveTo(left, Math.round(y(v)) + 0.5); g.lineTo(left + w, Math.round(y(v)) + 0.5); g.stroke();
      g.fillText(fmtAxis(v), left - 6, y(v));
    }
    g.textAlign = 'center';
    g.textBaseline = 'top';
    const minutes = Math.round(windowMs / 60000);
    const tick = minutes >= 30 ? 10 : (minutes >= 10 ? 5 : 1);
    for (let m = 0; m <= minutes; m += tick) {
      const px = left + w * (1 - m * 60000 / windowMs);
      g.beginPath(); g.moveTo(Math.round(px) + 0.5, top); g.lineTo(Math.round(px) + 0.5, top + ht); g.stroke();
      g.fillText(m === 0 ? 'now' : '\u2212' + m + ' min', px, top + ht + 6);
    }

    // one line per product, the newest point being the live figure
    const legend = $('legend');
    const items = [];
    for (const p of products) {
      const color = colorOf(p);
      const pts = [];
      if (h && h.products[p]) {
        const used = h.products[p].used;
        for (let i = 0; i < h.times.length; i++) {
          if (used[i] !== null && used[i] !== undefined && now - h.times[i] <= windowMs) { pts.push([x(h.times[i]), y(used[i])]); }
          else if (used[i] === null) { pts.push(null); }
        }
      }
      if (current[p] !== undefined) { pts.push([x(now), y(current[p])]); }
      g.strokeStyle = color;
      g.lineWidth = 2;
      g.lineJoin = 'round';
      g.beginPath();
      let pen = false;
      let prev = null;
      for (const pt of pts) {
        if (!pt) { pen = false; prev = null; continue; }
        if (!pen) { g.moveTo(pt[0], pt[1]); pen = true; }
        else { g.lineTo(pt[0], prev[1]); g.lineTo(pt[0], pt[1]); } // steps: seats change at a moment
        prev = pt;
      }
      g.stroke();
      if (prev) { g.fillStyle = color; g.beginPath(); g.arc(prev[0], prev[1], 3, 0, 2 * Math.PI); g.fill(); }
      // the product's maximum as a dashed line
      const mx = maxNow[p] !== undefined ? maxNow[p] : (h && h.products[p] ? h.products[p].max : 0);
      if (mx > 0) {
        g.save(); g.setLineDash([4, 4]); g.globalAlpha = 0.55; g.lineWidth = 1;
        g.beginPath(); g.moveTo(left, y(mx)); g.lineTo(left + w, y(mx)); g.stroke(); g.restore();
      }
      items.push(el('span', { 'data-product': p }, [el('span', { class: 'swatch', style: null }), p + ': ' + fmtInt(current[p] !== undefined ? current[p] : 0) + ' / ' + fmtInt(mx)]));
      items[items.length - 1].firstChild.style.background = color;
    }
    legend.replaceChildren(...items, el('span', { class: 'muted', text: 'dashed: maximum seats \u00b7 one sample every ' + fmtInterval(h ? h.interval_ms : 10000) }));
  }

  function fmtAxis(v) {
    if (v >= 1e6) { return (v / 1e6).toFixed(v % 1e6 === 0 ? 0 : 1) + 'M'; }
    if (v >= 1e4) { return (v / 1e3).toFixed(v % 1e3 === 0 ? 0 : 1) + 'k'; }
    return String(v);
  }

  function fmtInterval(ms) { return ms < 1000 ? ms + ' ms' : Math.round(ms / 1000) + ' s'; }

  function niceStep(max) {
    const raw = max / 5;
    const mag = Math.pow(10, Math.floor(Math.log10(Math.max(raw, 1))));
    for (const m of [1, 2, 5, 10]) { if (raw <= m * mag) { return Math.max(1, m * mag); } }
    return 10 * mag;
  }

  async function loadHistory() {
    const r = await api('/v1/history');
    if (r.ok && r.body) {
      const b = r.body;
      const times = b.times.map((t) => new Date(t).getTime());
      state.history = { interval_ms: b.interval_ms, window_ms: b.window_ms, times: times, products: b.products };
      drawChart();
    }
  }

  // ------------------------------------------------------------------ live updates (server-sent events over fetch)

  async function stream() {
    for (;;) {
      try {
        const res = await fetch('/v1/events', { headers: authHeaders({ 'Accept': 'text/event-stream' }), cache: 'no-store' });
        if (res.status === 401) { setLive(false, 'token needed'); askToken(); await sleep(3000); continue; }
        if (!res.ok || !res.body) { setLive(false, 'HTTP ' + res.status); await sleep(3000); continue; }
        setLive(true, 'live');
        const reader = res.body.getReader();
        const decoder = new TextDecoder();
        let buf = '';
        for (;;) {
          const chunk = await reader.read();
          if (chunk.done) { break; }
          buf += decoder.decode(chunk.value, { stream: true });
          let i;
          while ((i = buf.indexOf('\n\n')) >= 0) {
            const block = buf.substring(0, i);
            buf = buf.substring(i + 2);
            dispatch(block);
          }
        }
      } catch (e) {
        // network error: retried below
      }
      setLive(false, 'reconnecting');
      await sleep(2000);
    }
  }

  function dispatch(block) {
    let name = 'message';
    const data = [];
    for (const line of block.split('\n')) {
      if (line.startsWith('event:')) { name = line.substring(6).trim(); }
      else if (line.startsWith('data:')) { data.push(line.substring(5).replace(/^ /, '')); }
    }
    if (data.length === 0) { return; }
    let obj;
    try { obj = JSON.parse(data.join('\n')); } catch (e) { return; }
    if (name === 'status') { renderStatus(obj); maybeRefreshLeases(); }
    else if (name === 'sample') { onSample(obj); }
  }

  function setLive(ok, text) {
    state.streamOk = ok;
    const b = $('live');
    b.textContent = text;
    setClass(b, 'badge live', ok ? 'ok' : 'bad');
  }

  function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }

  // ------------------------------------------------------------------ leases table

  function maybeRefreshLeases() {
    // Once per status event at most, one request in flight, and only while the tab is visible.
    if (document.hidden) { return; }
    loadLeases();
  }

  async function loadLeases() {
    if (state.leasesInFlight) { state.leasesDirty = true; return; }
    state.leasesInFlight = true;
    try {
      do {
        state.leasesDirty = false;
        const q = state.query;
        const params = new URLSearchParams();
        if (q.q) { params.set('q', q.q); }
        if (q.product) { params.set('product', q.product); }
        if (q.state) { params.set('state', q.state); }
        params.set('order', q.order);
        params.set('offset', String(q.offset));
        params.set('limit', String(q.limit));
        const r = await api('/v1/leases?' + params.toString());
        if (r.ok && r.body) {
          if (r.body.total > 0 && q.offset >= r.body.total) {
            q.offset = Math.max(0, Math.floor((r.body.total - 1) / q.limit) * q.limit);
            state.leasesDirty = true;
            continue;
          }
          renderLeases(r.body);
        }
      } while (state.leasesDirty);
    } finally {
      state.leasesInFlight = false;
      state.lastLeasesAt = Date.now();
    }
  }

  function renderLeases(page) {
    state.page = page;
    const body = $('lease-rows');
    const canRelease = !state.status || !state.status.admin || state.status.admin.mutations_enabled;
    const interval = heartbeatStaleMs();
    if (page.leases.length === 0) {
      body.replaceChildren(el('tr', null, [el('td', { colspan: '9', class: 'muted', text: page.total === 0 && !anyFilter() ? 'No leases: no seat is checked out.' : 'No lease matches the filter.' })]));
    } else {
      const rows = page.leases.map((l) => {
        const stale = serverNow() - new Date(l.last_heartbeat).getTime() > interval;
        return el('tr', { 'data-lease-id': l.lease_id }, [
          el('td', { class: 'mono', title: l.lease_id, text: l.lease_id.substring(0, 8) }),
          el('td', { text: l.product_id }),
          el('td', { text: l.client_id }),
          el('td', { class: 'mono', text: l.hw_id }),
          el('td', { class: 'mono', text: l.host }),
          el('td', { title: l.checked_out_at, text: fmtTime(l.checked_out_at) }),
          el('td', { title: l.last_heartbeat, class: stale && l.state === 'held' ? 'stale' : null, text: fmtAgo(l.last_heartbeat) }),
          el('td', null, [el('span', { class: 'state ' + l.state, text: l.state })]),
          el('td', null, [el('button', {
            type: 'button', class: 'danger', 'data-release': l.lease_id, 'data-testid': 'release-' + l.lease_id,
            disabled: canRelease ? null : 'disabled',
            title: canRelease ? 'Force-release this seat' : 'No api_token is configured: the admin API is read-only',
            text: 'Release', onclick: () => openRelease(l),
          })]),
        ]);
      });
      body.replaceChildren(...rows);
    }
    const from = page.total === 0 ? 0 : page.offset + 1;
    const to = page.offset + page.leases.length;
    setText('page-info', fmtInt(from) + '\u2013' + fmtInt(to) + ' of ' + fmtInt(page.total) + (anyFilter() ? ' matching' : '') + ' leases');
    $('page-info').dataset.total = String(page.total);
    $('page-prev').disabled = page.offset === 0;
    $('page-first').disabled = page.offset === 0;
    $('page-next').disabled = to >= page.total;
  }

  function anyFilter() { const q = state.query; return !!(q.q || q.product || q.state); }

  function heartbeatStaleMs() {
    // A held lease whose last heartbeat is older than 1.5 heartbeat intervals is highlighted (the
    // same rule as the turnstile_heartbeat_overdue_leases meter), and never below 2 s of slack.
    const interval = state.status && state.status.heartbeat_interval_ms ? state.status.heartbeat_interval_ms : 40000;
    return Math.max(2000, 1.5 * interval);
  }

  function wireFilters() {
    let timer = null;
    $('filter-q').addEventListener('input', () => {
      clearTimeout(timer);
      timer = setTimeout(() => { state.query.q = $('filter-q').value.trim(); state.query.offset = 0; loadLeases(); }, 250);
    });
    $('filter-product').addEventListener('change', () => { state.query.product = $('filter-product').value; state.query.offset = 0; loadLeases(); });
    $('filter-state').addEventListener('change', () => { state.query.state = $('filter-state').value; state.query.offset = 0; loadLeases(); });
    $('filter-order').addEventListener('change', () => { state.query.order = $('filter-order').value; state.query.offset = 0; loadLeases(); });
    $('page-size').addEventListener('change', () => { state.query.limit = Number($('page-size').value); state.query.offset = 0; loadLeases(); });
    $('page-first').addEventListener('click', () => { state.query.offset = 0; loadLeases(); });
    $('page-prev').addEventListener('click', () => { state.query.offset = Math.max(0, state.query.offset - state.query.limit); loadLeases(); });
    $('page-next').addEventListener('click', () => { state.query.offset += state.query.limit; loadLeases(); });
  }

  // ------------------------------------------------------------------ force-release

  function openRelease(l) {
    state.releasing = l;
    const what = $('release-what');
    what.replaceChildren(
      el('dt', { text: 'Lease' }), el('dd', { text: l.lease_id }),
      el('dt', { text: 'Product' }), el('dd', { text: l.product_id }),
      el('dt', { text: 'Client' }), el('dd', { text: l.client_id + ' @ ' + l.host }),
      el('dt', { text: 'Hardware id' }), el('dd', { text: l.hw_id }),
    );
    $('release-token').value = token();
    $('release-reason').value = '';
    $('release-error').textContent = '';
    $('release-confirm').disabled = false;
    $('release-dialog').showModal();
    (token() ? $('release-confirm') : $('release-token')).focus();
  }

  async function confirmRelease() {
    const l = state.releasing;
    if (!l) { return; }
    const t = $('release-token').value.trim();
    if (!t) { $('release-error').textContent = 'Type the API token (http.api_token).'; $('release-token').focus(); return; }
    $('release-confirm').disabled = true;
    const reason = $('release-reason').value.trim();
    let res, body = null;
    try {
      res = await fetch('/v1/leases/' + encodeURIComponent(l.lease_id) + '/release', {
        method: 'POST', cache: 'no-store',
        headers: { 'Authorization': 'Bearer ' + t, 'Content-Type': 'application/json', 'Accept': 'application/json' },
        body: JSON.stringify(reason ? { reason: reason } : {}),
      });
      try { body = await res.json(); } catch (e) { body = null; }
    } catch (e) {
      $('release-error').textContent = 'The appliance did not answer: ' + e;
      $('release-confirm').disabled = false;
      return;
    }
    if (res.ok) {
      setToken(t);
      $('release-dialog').close();
      state.releasing = null;
      toast('Released ' + l.product_id + ' seat of ' + l.client_id + ' (' + l.lease_id.substring(0, 8) + ')');
      loadLeases();
      const s = await api('/v1/status');
      if (s.ok && s.body) { renderStatus(s.body); }
      return;
    }
    if (res.status === 401) { setToken(''); }
    $('release-error').textContent = (body && body.message ? body.message : 'HTTP ' + res.status) + (body && body.code ? ' (' + body.code + ')' : '');
    $('release-confirm').disabled = false;
    if (res.status === 404) { loadLeases(); }
  }

  function askToken() {
    const d = $('token-dialog');
    if (d.open || $('release-dialog').open) { return; }
    $('token-input').value = '';
    d.showModal();
  }

  function wireDialogs() {
    $('release-cancel').addEventListener('click', () => { $('release-dialog').close(); state.releasing = null; });
    $('release-confirm').addEventListener('click', confirmRelease);
    $('release-token').addEventListener('keydown', (e) => { if (e.key === 'Enter') { confirmRelease(); } });
    $('release-reason').addEventListener('keydown', (e) => { if (e.key === 'Enter') { confirmRelease(); } });
    $('token-ok').addEventListener('click', () => {
      setToken($('token-input').value.trim());
      $('token-dialog').close();
      loadHistory(); loadLeases();
    });
  }

  // ------------------------------------------------------------------ start

  async function start() {
    wireFilters();
    wireDialogs();
    window.addEventListener('resize', drawChart);
    document.addEventListener('visibilitychange', () => { if (!document.hidden) { loadLeases(); } });
    const s = await api('/v1/status');
    if (s.ok && s.body) { renderStatus(s.body); }
    await loadHistory();
    loadLeases();
    stream();
    // The relative times ("12 s ago") age even when nothing changes.
    setInterval(() => { if (state.page) { renderLeases(state.page); } }, 5000);
  }

  // For tests and people poking at the page from the console.
  window.turnstile = { state: state, reloadLeases: loadLeases };
  start();
})();
