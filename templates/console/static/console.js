// The console's core script: what is interactive on the server-rendered pages
// (progress.js, rows.js, groups.js, warnings.js and explain.js add one feature each on
// top of window.hmConsole; templates/console/layout.njk loads them in order).
// Every value it shows goes in as text (textContent), never as markup; the
// page is served with a CSP that allows only this origin's scripts, nothing
// inline.
//
//   <form data-api="POST /api/blocked-ips" data-then="reload">  sends the form as JSON to the API
//     fields: name="a.b[0].c" ([n] is a list index, .502 a key); data-type="number" | "bool" | "json" | "lines" | "null-empty" | "null-off"
//     an empty field is left out (unless data-type="null-empty": null); a checkbox with
//     data-type="null-off" sends null when unticked and nothing when ticked (the fields it controls fill the object)
//     <div data-rows="routes"> (not inside [data-skip]): the list is sent, as [] when no row of it is
//     a 400 naming a field (`routes[0].path`) is shown next to the input of that name (or the
//     [data-field] element nearest to it), and the input is marked aria-invalid
//     a submit button may carry its own data-api, data-query, data-then
//     data-confirm="Text?" asks first; the answer or the error goes in the form's [data-result]
//   <button data-api="POST /api/actions/3/approve" data-body='{"..."}' data-then="reload">
//   <body data-refresh="10">  re-reads the page every 10 s and swaps each [data-live][id]
//   <time data-countdown datetime="...">  counts down every second
//   <div data-chart="{t:[...], series:[{label, values}]}">  a uPlot chart
'use strict';

(function () {
  const csrf = () => document.querySelector('meta[name="csrf-token"]')?.getAttribute('content') ?? '';

  /** A field name's steps: "servers[0].port" -> ["servers", 0, "port"]; "error_pages.502" -> ["error_pages", "502"] (only [n] is an index). */
  function keysOf(path) {
    const keys = [];
    for (const m of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) keys.push(m[2] !== undefined ? Number(m[2]) : m[1]);
    return keys;
  }

  /** Sets a nested value: "servers[0].port" -> o.servers[0].port. */
  function setPath(o, path, v) {
    const keys = keysOf(path);
    let cur = o;
    keys.forEach((key, i) => {
      if (i === keys.length - 1) cur[key] = v;
      else {
        if (cur[key] === undefined || cur[key] === null) cur[key] = typeof keys[i + 1] === 'number' ? [] : {};
        cur = cur[key];
      }
    });
  }

  /** A form's fields as the API's JSON: typed by data-type, empty fields left out. */
  function formJson(form) {
    const out = {};
    // Lists first, so that a list whose rows are all gone (or empty) is still sent, as [].
    for (const list of form.querySelectorAll('[data-rows]')) {
      if (!list.closest('[data-skip]') && !list.closest('fieldset:disabled')) setPath(out, list.dataset.rows, []);
    }
    for (const el of form.elements) {
      if (!el.name || el.disabled || el.name.startsWith('_') || el.closest('[data-skip]')) continue;
      const type = el.dataset.type ?? '';
      if (el.type === 'checkbox') {
        if (type === 'bool') setPath(out, el.name, el.checked);
        else if (type === 'null-off') {
          if (!el.checked) setPath(out, el.name, null);
        } else if (el.checked) setPath(out, el.name, el.value);
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

  /** Removes the field errors a previous answer put in a form. */
  function clearFieldErrors(form) {
    form.querySelectorAll('.field-error').forEach((p) => p.remove());
    form.querySelectorAll('[aria-invalid="true"]').forEach((el) => {
      el.removeAttribute('aria-invalid');
      const ids = (el.getAttribute('aria-describedby') ?? '').split(' ').filter((id) => id && !id.startsWith('field-error-'));
      if (ids.length) el.setAttribute('aria-describedby', ids.join(' '));
      else el.removeAttribute('aria-describedby');
    });
  }

  /**
   * Shows a 400's message next to the field it names: the input of that exact
   * name, else the [data-field] or [data-rows] element named by the field or
   * the nearest field above it ("access.auth.users[0]" -> "access.auth.users").
   */
  function showFieldError(form, field, message) {
    const byName = (n) => [...form.elements].find((el) => el.name === n && !el.closest('[data-skip]'));
    const byAttr = (n) => [...form.querySelectorAll('[data-field], [data-rows]')].find((el) => (el.dataset.field ?? el.dataset.rows) === n && !el.closest('[data-skip]'));
    const parent = (f) => {
      const up = f.replace(/(\[\d+\]|\.[^.[\]]+)$/, '');
      return up === f ? '' : up;
    };
    let target = null;
    for (let f = field; f && !target; f = parent(f)) target = byName(f) ?? byAttr(f) ?? null;
    if (!target) return null;
    const p = document.createElement('p');
    p.className = 'field-error';
    p.id = `field-error-${Math.random().toString(36).slice(2)}`;
    p.setAttribute('role', 'alert');
    p.textContent = message;
    if (target.matches('input, select, textarea')) {
      target.setAttribute('aria-invalid', 'true');
      target.setAttribute('aria-describedby', `${target.getAttribute('aria-describedby') ?? ''} ${p.id}`.trim());
      const label = target.closest('label');
      (label ?? target).after(p);
      target.focus();
    } else target.prepend(p);
    return p;
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
    clearFieldErrors(form);
    if (btn) btn.disabled = true;
    try {
      const res = await send(spec, query, body);
      show(out, res.ok, res.body);
      if (res.status === 400 && typeof res.body?.field === 'string') showFieldError(form, res.body.field, String(res.body.message ?? 'is not valid'));
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
      btn.dispatchEvent(new CustomEvent('api-result', { detail: { ...res, out }, bubbles: true }));
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

  window.hmConsole = { formJson, send, show, refresh, showFieldError };
})();
