'use strict';
// Loaded after console.js (window.hmConsole), by templates/console/layout.njk.
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
// marked "not started". A 202 with status_url (a fleet node that does not
// lead queued the request for the leader) marks the items "queued", then
// reads status_url every second until the leader's outcome, whose results
// fill the items in as above (for at most 10 minutes). Status words shown come from the list's
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

  // A request queued for the fleet leader: its outcome as {results, summary}, or a message when it has none.
  async function followQueued(url, out) {
    const until = Date.now() + 600_000;
    while (Date.now() < until) {
      await new Promise((res) => setTimeout(res, 1000));
      const g = await fetch(url, { credentials: 'same-origin', headers: { accept: 'application/json' } });
      if (!g.ok) return `The request's state could not be read (${g.status}); see ${url}.`;
      const v = await g.json();
      if (v.state !== 'done' && v.state !== 'failed') continue;
      const results = Array.isArray(v.results) ? v.results : [];
      if (!results.length) return { message: v.error ?? `The fleet leader finished the request (${v.state}).` };
      const count = (f) => results.filter(f).length;
      return { results, summary: { total: results.length, successful: count((x) => x.status === 'success' || x.status === 'renewed'), skipped: count((x) => x.status === 'skipped'), failed: count((x) => x.status === 'failed') } };
    }
    return `Still waiting for the fleet leader; see ${url}.`;
  }

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
      if (r.status === 202 && parsed && typeof parsed === 'object' && typeof parsed.status_url === 'string') {
        for (const li of list.children) setItem(list, li.dataset.key, 'queued', '');
        hm().show(out, true, parsed);
        parsed = await followQueued(parsed.status_url, out);
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
