// The console's one script: what is interactive on the server-rendered pages.
// Every value it shows goes in as text (textContent), never as markup; the
// page is served with a CSP that allows only this origin's scripts, nothing
// inline.
//
//   <form data-api="POST /api/blocked-ips" data-then="reload">  sends the form as JSON to the API
//     fields: name="a.b[0].c"; data-type="number" | "bool" | "json" | "lines" | "null-empty"
//     an empty field is left out (unless data-type="null-empty": null)
//     a submit button may carry its own data-api, data-query, data-then
//     data-confirm="Text?" asks first; the answer or the error goes in the form's [data-result]
//   <button data-api="POST /api/actions/3/approve" data-body='{"..."}' data-then="reload">
//   <body data-refresh="10">  re-reads the page every 10 s and swaps each [data-live][id]
//   <time data-countdown datetime="...">  counts down every second
//   <div data-chart="{t:[...], series:[{label, values}]}">  a uPlot chart
'use strict';

(function () {
  const csrf = () => document.querySelector('meta[name="csrf-token"]')?.getAttribute('content') ?? '';

  /** Sets a nested value: "servers[0].port" -> o.servers[0].port. */
  function setPath(o, path, v) {
    const keys = path.replace(/\]/g, '').split(/[.[]/);
    let cur = o;
    keys.forEach((k, i) => {
      const last = i === keys.length - 1;
      const nextIsIndex = !last && /^\d+$/.test(keys[i + 1]);
      const key = /^\d+$/.test(k) ? Number(k) : k;
      if (last) cur[key] = v;
      else {
        if (cur[key] === undefined) cur[key] = nextIsIndex ? [] : {};
        cur = cur[key];
      }
    });
  }

  /** A form's fields as the API's JSON: typed by data-type, empty fields left out. */
  function formJson(form) {
    const out = {};
    for (const el of form.elements) {
      if (!el.name || el.disabled || el.name.startsWith('_') || el.closest('[data-skip]')) continue;
      const type = el.dataset.type ?? '';
      if (el.type === 'checkbox') {
        if (type === 'bool') setPath(out, el.name, el.checked);
        else if (el.checked) setPath(out, el.name, el.value);
        continue;
      }
      if (el.type === 'radio' && !el.checked) continue;
      const raw = el.value;
      if (raw === '') {
        if (type === 'null-empty') setPath(out, el.name, null);
        continue;
      }
      if (type === 'number') {
        // Sent as a number when it is one; otherwise as typed, for the API to name the field.
        setPath(out, el.name, /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw);
      } else if (type === 'json') {
        try {
          setPath(out, el.name, JSON.parse(raw));
        } catch {
          setPath(out, el.name, raw);
        }
      } else if (type === 'lines') {
        setPath(out, el.name, raw.split('\n').map((l) => l.replace(/\r$/, '')).filter((l) => l !== ''));
      } else setPath(out, el.name, raw);
    }
    // Arrays with holes (a removed row) are closed up.
    const close = (v) => (Array.isArray(v) ? v.filter((x) => x !== undefined).map(close) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, close(x)])) : v);
    return close(out);
  }

  /** Shows an answer in a result element: the message, and HAProxy's or the API's detail lines. */
  function show(el, ok, body) {
    if (!el) return;
    el.replaceChildren();
    el.className = `result ${ok ? 'ok' : 'error'}`;
    el.setAttribute('role', ok ? 'status' : 'alert');
    const msg = document.createElement('p');
    msg.textContent = typeof body === 'string' ? body : body?.message ?? (ok ? 'Done.' : 'Failed.');
    el.append(msg);
    const detail = body && typeof body === 'object' ? body.detail : undefined;
    if (detail !== undefined && detail !== null) {
      const pre = document.createElement('pre');
      pre.textContent = typeof detail === 'string' ? detail : Array.isArray(detail) && detail.every((d) => typeof d === 'string') ? detail.join('\n') : JSON.stringify(detail, null, 2);
      el.append(pre);
    }
    if (body && typeof body === 'object' && typeof body.diff === 'string') {
      const pre = document.createElement('pre');
      pre.className = 'diff';
      for (const line of body.diff.split('\n')) {
        const span = document.createElement('span');
        span.className = line.startsWith('+') && !line.startsWith('+++') ? 'add' : line.startsWith('-') && !line.startsWith('---') ? 'del' : line.startsWith('@@') ? 'hunk' : '';
        span.textContent = `${line}\n`;
        pre.append(span);
      }
      el.append(pre);
    }
  }

  /** Sends one change to the API with the session's CSRF token; resolves to {ok, status, body}. */
  async function send(spec, query, body) {
    const m = /^(GET|POST|DELETE) (\/api\/\S*)$/.exec(spec ?? '');
    if (!m) throw new Error(`bad data-api: ${spec}`);
    const url = query ? `${m[2]}${m[2].includes('?') ? '&' : '?'}${query}` : m[2];
    const r = await fetch(url, {
      method: m[1],
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', 'x-csrf-token': csrf(), accept: 'application/json' },
      body: m[1] === 'GET' ? undefined : JSON.stringify(body ?? {}),
    });
    let parsed = null;
    const text = await r.text();
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
    return { ok: r.ok, status: r.status, body: parsed };
  }

  function after(then, res) {
    if (!then || then === 'stay') return;
    if (then === 'reload') return refresh(true);
    if (then.startsWith('/')) location.assign(then.replace(/\{(\w+)\}/g, (_, k) => encodeURIComponent(String(res.body?.[k] ?? ''))));
  }

  document.addEventListener('submit', async (ev) => {
    const form = ev.target;
    if (!(form instanceof HTMLFormElement) || !form.dataset.api) return;
    ev.preventDefault();
    const btn = ev.submitter;
    const spec = btn?.dataset.api ?? form.dataset.api;
    const query = btn?.dataset.query ?? form.dataset.query ?? '';
    const then = btn?.dataset.then ?? form.dataset.then ?? 'stay';
    const confirmText = btn?.dataset.confirm ?? form.dataset.confirm;
    if (confirmText && !window.confirm(confirmText)) return;
    const out = form.querySelector('[data-result]');
    const body = formJson(form);
    if (btn) btn.disabled = true;
    try {
      const res = await send(spec, query, body);
      show(out, res.ok, res.body);
      form.dispatchEvent(new CustomEvent('api-result', { detail: res, bubbles: true }));
      if (res.ok) after(then, res);
    } catch (e) {
      show(out, false, String(e.message ?? e));
    } finally {
      if (btn) btn.disabled = false;
    }
  });

  document.addEventListener('click', async (ev) => {
    const btn = ev.target instanceof Element ? ev.target.closest('button[data-api]') : null;
    if (!btn || btn.form?.dataset.api) return;
    if (btn.type === 'submit' && btn.form) return;
    ev.preventDefault();
    if (btn.dataset.confirm && !window.confirm(btn.dataset.confirm)) return;
    const out = (btn.dataset.result && document.querySelector(btn.dataset.result)) || btn.parentElement?.querySelector('[data-result]') || document.querySelector('#page-result');
    btn.disabled = true;
    try {
      const res = await send(btn.dataset.api, btn.dataset.query ?? '', btn.dataset.body ? JSON.parse(btn.dataset.body) : {});
      show(out, res.ok, res.body);
      if (res.ok) after(btn.dataset.then ?? 'reload', res);
    } catch (e) {
      show(out, false, String(e.message ?? e));
    } finally {
      btn.disabled = false;
    }
  });

  // Live regions: the page is read again and each [data-live][id] swapped, unless the operator is in it.
  let refreshing = false;
  async function refresh(force) {
    if (refreshing) return;
    if (!force && document.visibilityState !== 'visible') return;
    refreshing = true;
    try {
      const r = await fetch(location.href, { credentials: 'same-origin', headers: { accept: 'text/html' } });
      if (!r.ok || r.redirected) return;
      const doc = new DOMParser().parseFromString(await r.text(), 'text/html');
      for (const el of document.querySelectorAll('[data-live][id]')) {
        if (!force && el.contains(document.activeElement) && document.activeElement !== document.body) continue;
        const fresh = doc.getElementById(el.id);
        if (fresh) el.replaceWith(document.importNode(fresh, true));
      }
      const chart = doc.querySelector('[data-chart]');
      if (chart) drawCharts(chart.getAttribute('data-chart'));
      ticks();
    } catch {
      // The next tick tries again.
    } finally {
      refreshing = false;
    }
  }
  const every = Number(document.body.dataset.refresh ?? 0);
  if (every > 0) setInterval(() => refresh(false), every * 1000);

  // Countdowns.
  function span(ms) {
    let s = Math.max(0, Math.round(ms / 1000));
    const parts = [];
    for (const [u, n] of [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]]) {
      const v = Math.floor(s / n);
      s -= v * n;
      if (v > 0 || (parts.length > 0 && parts.length < 2)) parts.push(`${v}${u}`);
      if (parts.length === 2) break;
    }
    return parts.join(' ') || '0s';
  }
  function ticks() {
    for (const t of document.querySelectorAll('time[data-countdown]')) {
      const ms = Date.parse(t.getAttribute('datetime') ?? '') - Date.now();
      t.textContent = Number.isNaN(ms) ? '' : ms <= 0 ? 'expired' : `in ${span(ms)}`;
    }
  }
  ticks();
  setInterval(ticks, 1000);

  // Charts (uPlot, loaded by the pages that have one).
  const charts = new Map();
  function drawCharts(fresh) {
    if (typeof window.uPlot !== 'function') return;
    for (const el of document.querySelectorAll('[data-chart]')) {
      let spec;
      try {
        spec = JSON.parse(fresh ?? el.getAttribute('data-chart') ?? 'null');
      } catch {
        continue;
      }
      if (!spec || !Array.isArray(spec.t)) continue;
      const data = [spec.t, ...spec.series.map((s) => s.values)];
      const old = charts.get(el);
      if (old) {
        old.setData(data, false);
        if (Number.isFinite(spec.from)) old.setScale('x', { min: spec.from, max: spec.to });
        continue;
      }
      const colors = ['#2563eb', '#d97706', '#dc2626', '#059669'];
      const opts = {
        width: Math.max(280, el.clientWidth || 600),
        height: 220,
        series: [{}, ...spec.series.map((s, i) => ({ label: s.label, stroke: colors[i % colors.length], width: 2, spanGaps: false }))],
        axes: [{}, { label: 'per second' }],
        // The x axis spans what the page asked for (the last hour), however few samples there are yet.
        scales: Number.isFinite(spec.from) && Number.isFinite(spec.to) ? { x: { time: true, range: () => [spec.from, spec.to] } } : {},
      };
      const plot = new window.uPlot(opts, data, el);
      charts.set(el, plot);
      new ResizeObserver(() => plot.setSize({ width: Math.max(280, el.clientWidth), height: 220 })).observe(el);
    }
  }
  drawCharts();
  window.addEventListener('load', () => drawCharts());

  window.hmConsole = { formJson, send, show, refresh };
})();

// ---------------------------------------------------------------------------
// Per-item progress (added for the certificates page; generic).
//
//   <form data-api="POST /api/..." data-progress="#list" data-progress-items="domains">
//   <button data-api="POST /api/..." data-body='{"domain":"x"}' data-progress="#list">
//
// Before sending, #list shows one <li> per item (the body's field named by
// data-progress-items, default "domain": a string or a list), marked
// "pending". The request asks for application/x-ndjson: each line
// {type:"result", domain, status, error|message} fills in its item as it
// arrives, a {type:"summary"} or {type:"error"} line goes in [data-result].
// A plain JSON answer with results[] fills the items in at once; any other
// answer (a refused body, a 403) goes in [data-result] and the items are
// marked "not started". Status words shown come from the list's
// data-labels (JSON). data-then="reload" reads the live regions again at
// the end whatever the outcome (the list, outside them, keeps the results).
// Runs in the capture phase so the plain form/button handlers above do not
// also send it.
// ---------------------------------------------------------------------------
(function () {
  const hm = () => window.hmConsole;
  const csrf = () => document.querySelector('meta[name="csrf-token"]')?.getAttribute('content') ?? '';

  function items(body, field) {
    const v = body?.[field || 'domain'];
    return (Array.isArray(v) ? v : v === undefined || v === null ? [] : [v]).map(String);
  }

  function labelsOf(list) {
    try {
      return JSON.parse(list.dataset.labels ?? '{}') ?? {};
    } catch {
      return {};
    }
  }

  function setItem(list, key, status, message) {
    const labels = labelsOf(list);
    let li = [...list.children].find((x) => x.dataset.key?.toLowerCase() === String(key).toLowerCase());
    if (!li) {
      li = document.createElement('li');
      li.dataset.key = String(key);
      const pill = document.createElement('span');
      const name = document.createElement('span');
      name.className = 'client-text progress-name';
      name.textContent = String(key);
      const msg = document.createElement('div');
      msg.className = 'progress-msg';
      li.append(pill, ' ', name, msg);
      list.append(li);
    }
    const pill = li.firstElementChild;
    pill.className = `pill pill-${String(status).replace(/[^\w-]/g, '')}`;
    pill.textContent = labels[status] ?? String(status);
    li.dataset.status = String(status);
    const msg = li.querySelector('.progress-msg');
    msg.textContent = message ?? '';
    msg.classList.toggle('error', status === 'failed');
  }

  // The live regions read again now (not through refresh(), which skips when a periodic read is under way
  // and would leave the page showing the state from before this change).
  async function reloadLive() {
    const r = await fetch(location.href, { credentials: 'same-origin', headers: { accept: 'text/html' } });
    if (!r.ok || r.redirected) return;
    const doc = new DOMParser().parseFromString(await r.text(), 'text/html');
    for (const el of document.querySelectorAll('[data-live][id]')) {
      const fresh = doc.getElementById(el.id);
      if (fresh) el.replaceWith(document.importNode(fresh, true));
    }
  }

  const resultMessage = (m) => m.error ?? m.message ?? (Array.isArray(m.names) && m.names.length ? m.names.join(', ') : '');
  const summaryText = (s) => `${s.total} done: ${s.successful} succeeded, ${s.skipped} skipped, ${s.failed} failed.`;

  async function run(el, spec, body, then) {
    const list = document.querySelector(el.dataset.progress);
    const out = el instanceof HTMLFormElement ? el.querySelector('[data-result]') : list?.parentElement?.querySelector('[data-result]') ?? document.querySelector('#page-result');
    const m = /^(POST|DELETE) (\/api\/\S*)$/.exec(spec ?? '');
    if (!list || !m) return;
    list.replaceChildren();
    if (out) out.replaceChildren();
    for (const k of items(body, el.dataset.progressItems)) setItem(list, k, 'pending', '');
    const r = await fetch(m[2], {
      method: m[1],
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', 'x-csrf-token': csrf(), accept: 'application/x-ndjson, application/json' },
      body: JSON.stringify(body ?? {}),
    });
    const type = r.headers.get('content-type') ?? '';
    if (r.ok && type.includes('ndjson') && r.body) {
      const line = (text) => {
        if (!text.trim()) return;
        let msg;
        try {
          msg = JSON.parse(text);
        } catch {
          return;
        }
        if (msg.type === 'result') setItem(list, msg.domain, msg.status, resultMessage(msg));
        else if (msg.type === 'summary' && msg.summary) hm().show(out, msg.summary.failed === 0, summaryText(msg.summary));
        else if (msg.type === 'error') hm().show(out, false, msg.message ?? 'Failed.');
      };
      const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
          line(buf.slice(0, i));
          buf = buf.slice(i + 1);
        }
      }
      line(buf);
    } else {
      const text = await r.text();
      let parsed = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // Not JSON: shown as text.
      }
      if (parsed && typeof parsed === 'object' && Array.isArray(parsed.results)) {
        for (const x of parsed.results) setItem(list, x.domain, x.status, resultMessage(x));
        if (parsed.summary) hm().show(out, r.ok && parsed.summary.failed === 0, summaryText(parsed.summary));
      } else hm().show(out, r.ok, parsed);
    }
    for (const li of list.children) if (li.dataset.status === 'pending') setItem(list, li.dataset.key, 'not-started', 'no answer for this one');
    if (then === 'reload') await reloadLive();
    else if (then && then.startsWith('/')) location.assign(then);
  }

  async function guarded(el, btn, spec, body, then) {
    if (el.dataset.running) return;
    el.dataset.running = '1';
    if (btn) btn.disabled = true;
    try {
      await run(el, spec, body, then);
    } catch (e) {
      const list = document.querySelector(el.dataset.progress);
      const out = el instanceof HTMLFormElement ? el.querySelector('[data-result]') : list?.parentElement?.querySelector('[data-result]');
      hm().show(out, false, String(e?.message ?? e));
    } finally {
      delete el.dataset.running;
      if (btn) btn.disabled = false;
    }
  }

  document.addEventListener(
    'submit',
    (ev) => {
      const form = ev.target;
      if (!(form instanceof HTMLFormElement) || !form.dataset.api || !form.dataset.progress) return;
      ev.preventDefault();
      ev.stopImmediatePropagation();
      const btn = ev.submitter;
      const confirmText = btn?.dataset.confirm ?? form.dataset.confirm;
      if (confirmText && !window.confirm(confirmText)) return;
      void guarded(form, btn, btn?.dataset.api ?? form.dataset.api, hm().formJson(form), btn?.dataset.then ?? form.dataset.then ?? 'stay');
    },
    true,
  );

  document.addEventListener(
    'click',
    (ev) => {
      const btn = ev.target instanceof Element ? ev.target.closest('button[data-api][data-progress]') : null;
      if (!btn || (btn.type === 'submit' && btn.form)) return;
      ev.preventDefault();
      ev.stopImmediatePropagation();
      if (btn.dataset.confirm && !window.confirm(btn.dataset.confirm)) return;
      let body = {};
      try {
        body = btn.dataset.body ? JSON.parse(btn.dataset.body) : {};
      } catch {
        return;
      }
      void guarded(btn, btn, btn.dataset.api, body, btn.dataset.then ?? 'reload');
    },
    true,
  );
})();

// ---- Optional rows and HAProxy's verdict (domains group) ----
//   <fieldset data-skip-empty>  a row that is sent only once one of its text, number or
//     select fields has a value: console.js keeps data-skip on it while they are all empty
//     (checkboxes do not count), so an untouched extra row is never sent.
//   An answer with `haproxy_check` (a dry run) or `detail.haproxy` (a change HAProxy refused)
//     shows HAProxy's own lines as text in the form's [data-result].
(function () {
  const filled = (el) => el.matches('input:not([type=checkbox]):not([type=radio]):not([type=hidden]), textarea') && el.value.trim() !== '';
  function judge(row) {
    const any = [...row.querySelectorAll('input, textarea')].some(filled);
    if (any) row.removeAttribute('data-skip');
    else row.setAttribute('data-skip', '');
  }
  document.querySelectorAll('[data-skip-empty]').forEach(judge);
  for (const type of ['input', 'change']) {
    document.addEventListener(type, (ev) => {
      const row = ev.target instanceof Element ? ev.target.closest('[data-skip-empty]') : null;
      if (row) judge(row);
    });
  }
  // Before a form is read: rows judged again (values set by scripts or autofill send no input event).
  document.addEventListener('submit', (ev) => {
    if (ev.target instanceof HTMLFormElement) ev.target.querySelectorAll('[data-skip-empty]').forEach(judge);
  }, true);

  document.addEventListener('api-result', (ev) => {
    const form = ev.target instanceof Element ? ev.target : null;
    const out = form?.querySelector('[data-result]');
    const body = ev.detail?.body;
    if (!out || !body || typeof body !== 'object') return;
    const lines = (v) => (Array.isArray(v) ? v.map(String).join('\n') : typeof v === 'string' ? v : '');
    const check = body.haproxy_check;
    if (body.dry_run === true && !body.message) {
      const first = out.querySelector('p');
      if (first) first.textContent = 'Preview only: nothing was applied. The change would make this difference:';
    }
    if (check && typeof check === 'object') {
      const p = document.createElement('p');
      p.className = check.ok ? 'check ok' : 'check error';
      p.textContent = check.ok ? 'haproxy -c: the configuration is valid.' : 'haproxy -c refuses this configuration:';
      out.append(p);
      if (!check.ok && check.haproxy) {
        const pre = document.createElement('pre');
        pre.className = 'haproxy-text';
        pre.textContent = lines(check.haproxy);
        out.append(pre);
      }
      if (!check.ok) out.className = 'result error';
    }
    const refused = body.detail && typeof body.detail === 'object' && !Array.isArray(body.detail) ? body.detail.haproxy : undefined;
    if (refused) {
      // show() printed the detail as JSON: HAProxy's lines read better as they are.
      const pre = out.querySelector('pre:not(.diff)');
      if (pre) {
        pre.className = 'haproxy-text';
        pre.textContent = lines(refused);
        const rest = Object.fromEntries(Object.entries(body.detail).filter(([k]) => k !== 'haproxy'));
        if (Object.keys(rest).length) pre.textContent += `\n\n${JSON.stringify(rest, null, 2)}`;
      }
    }
  });
})();

// ---- Conditional warnings and guardrail refusals (blocks group; generic) ----
//   <input data-warn-contains="/" data-warn="#el" data-warn-confirm="Text?">
//     while the value contains the string, #el is shown (its hidden attribute removed);
//     when its form is sent with such a value, confirm("Text?") is asked first (cancel: nothing sent).
//   <form data-api=... data-refusal-warning>
//     a 403 whose detail names a guardrail (api/ip-entry.ts: {guardrail, covers, forceable})
//     is shown in the form's [data-result] as a warning: the API's message, the guardrail and
//     what the range covers, as text.
(function () {
  const matches = (el) => el.dataset.warnContains !== undefined && el.value.includes(el.dataset.warnContains);
  function judge(el) {
    const target = el.dataset.warn ? document.querySelector(el.dataset.warn) : null;
    if (target) target.hidden = !matches(el);
  }
  document.querySelectorAll('[data-warn-contains]').forEach(judge);
  for (const type of ['input', 'change']) {
    document.addEventListener(type, (ev) => {
      if (ev.target instanceof HTMLElement && ev.target.dataset.warnContains !== undefined) judge(ev.target);
    });
  }
  document.addEventListener(
    'submit',
    (ev) => {
      const form = ev.target;
      if (!(form instanceof HTMLFormElement)) return;
      for (const el of form.querySelectorAll('[data-warn-contains][data-warn-confirm]')) {
        judge(el);
        if (matches(el) && !window.confirm(el.dataset.warnConfirm)) {
          ev.preventDefault();
          ev.stopImmediatePropagation();
          return;
        }
      }
    },
    true,
  );

  document.addEventListener('api-result', (ev) => {
    const form = ev.target instanceof HTMLFormElement ? ev.target : null;
    if (!form || form.dataset.refusalWarning === undefined) return;
    const res = ev.detail;
    const detail = res?.body && typeof res.body === 'object' ? res.body.detail : null;
    const out = form.querySelector('[data-result]');
    if (!out || res.status !== 403 || !detail || typeof detail !== 'object' || typeof detail.guardrail !== 'string') return;
    out.replaceChildren();
    out.className = 'result';
    out.setAttribute('role', 'alert');
    const box = document.createElement('div');
    box.className = 'warning refusal';
    const msg = document.createElement('p');
    msg.textContent = String(res.body.message ?? 'Refused by a guardrail.');
    const rows = document.createElement('dl');
    const add = (k, v) => {
      const dt = document.createElement('dt');
      dt.textContent = k;
      const dd = document.createElement('dd');
      dd.textContent = v;
      rows.append(dt, dd);
    };
    add('Guardrail', detail.guardrail);
    if (Array.isArray(detail.covers) && detail.covers.length) add('Covers', detail.covers.map(String).join(', '));
    add('Nothing was changed', detail.forceable ? 'A protected address can be blocked only through the API with "force": true (audited).' : 'This is never allowed.');
    box.append(msg, rows);
    out.append(box);
  });
})();

// ---- Explain (the /explain page): <form data-explain="POST /api/monitor/explain"> sends
// its textarea's lines (trimmed, empty ones left out) and format to the API, and
// fills [data-explain-out]'s table: per line the line itself, its kind, its parsed
// fields and the rules it matched. Everything goes in as textContent.
(function () {
  const form = document.querySelector('form[data-explain]');
  const out = document.querySelector('[data-explain-out]');
  if (!form || !out || !window.hmConsole) return;
  const el = (tag, text, cls) => {
    const e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  };
  const value = (v) => (typeof v === 'string' ? v : JSON.stringify(v));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const result = form.querySelector('[data-result]');
    const lines = form.elements.lines.value.split('\n').map((l) => l.trim()).filter((l) => l !== '');
    const btn = ev.submitter;
    if (btn) btn.disabled = true;
    try {
      const res = await window.hmConsole.send(form.dataset.explain, '', { lines, format: form.elements.format.value });
      if (!res.ok) {
        window.hmConsole.show(result, false, res.body);
        out.hidden = true;
        return;
      }
      if (result) result.replaceChildren();
      const body = out.querySelector('tbody');
      body.replaceChildren();
      res.body.lines.forEach((x, i) => {
        const tr = document.createElement('tr');
        tr.className = x.rules.length ? 'matched' : '';
        tr.append(el('td', String(i + 1)));
        const line = el('td');
        line.append(el('code', lines[i], 'client-text'));
        tr.append(line);
        tr.append(el('td', x.ok ? x.kind : `${x.kind} (not parsed)`));
        const fields = el('td');
        const dl = el('dl', undefined, 'fields');
        for (const [k, v] of Object.entries(x.fields)) {
          if (v === undefined || v === null) continue;
          dl.append(el('dt', k), el('dd', value(v), 'client-text'));
        }
        fields.append(dl);
        tr.append(fields);
        const rules = el('td');
        if (x.rules_error) rules.append(el('span', `error: ${x.rules_error}`, 'error'));
        else if (x.rules.length) {
          const ul = el('ul', undefined, 'rules');
          for (const r of x.rules) ul.append(el('li', r));
          rules.append(ul);
        } else rules.append(el('span', 'none', 'muted'));
        tr.append(rules);
        body.append(tr);
      });
      out.querySelector('.explain-summary').textContent = `${res.body.summary} (checked against ${res.body.rules} rules)`;
      out.hidden = false;
    } catch (e) {
      window.hmConsole.show(result, false, String(e.message ?? e));
    } finally {
      if (btn) btn.disabled = false;
    }
  });
})();
