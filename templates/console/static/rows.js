'use strict';
// Loaded after console.js (window.hmConsole), by templates/console/layout.njk.
// ---- Optional rows and HAProxy's verdict (domains group) ----
//   <fieldset data-skip-empty>  a row that is sent only once one of its text, number or
//     select fields has a value: console.js keeps data-skip on it while they are all empty
//     (checkboxes do not count), so an untouched extra row is never sent.
//   An answer with `haproxy_check` (a dry run) or `detail.haproxy` (a change HAProxy refused)
//     shows HAProxy's own lines as text in the form's [data-result].
//   <div data-rows="routes"> ... <fieldset data-row data-skip-empty> ... </div>  a list of rows:
//     before the form is read, the names of its sent rows are numbered again in order
//     (routes[0], routes[1], ...: the indices the API's 400 names) and the skipped ones after them.
//   <button type="button" data-add-row="#tpl-routes" data-to="#routes-rows">  appends to #routes-rows a copy of the
//     <template>'s row, "__i__" in its names, ids and labels replaced by a fresh number; focuses it.
//   <button type="button" data-remove-row>  removes the row it is in.
//   Adding or removing a row is an input event on the list (a [data-group] counts it as a change).
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
  /** Numbers a list's rows again: sent rows 0..n-1 in order, skipped rows after them. */
  function renumber(list) {
    const name = list.dataset.rows;
    const esc = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const re = new RegExp(`^${esc}\\[\\d+\\]`);
    const rows = [...list.querySelectorAll('[data-row]')].filter((r) => r.parentElement?.closest('[data-rows]') === list);
    const order = [...rows.filter((r) => !r.closest('[data-skip]')), ...rows.filter((r) => r.closest('[data-skip]'))];
    order.forEach((row, i) => {
      for (const el of row.querySelectorAll('[name]')) {
        if (re.test(el.name)) el.name = el.name.replace(re, `${name}[${i}]`);
      }
    });
  }

  // Before a form is read: rows judged again (values set by scripts or autofill send no input event), lists numbered.
  document.addEventListener('submit', (ev) => {
    if (!(ev.target instanceof HTMLFormElement)) return;
    ev.target.querySelectorAll('[data-skip-empty]').forEach(judge);
    // Inner lists (a user's rows inside access) before the outer ones do not matter: each renames only its own prefix.
    ev.target.querySelectorAll('[data-rows]').forEach(renumber);
  }, true);

  let fresh = 1000;
  document.addEventListener('click', (ev) => {
    const btn = ev.target instanceof Element ? ev.target.closest('button[data-add-row], button[data-remove-row]') : null;
    if (!btn || btn.disabled) return;
    ev.preventDefault();
    if (btn.dataset.addRow !== undefined) {
      const tpl = document.querySelector(btn.dataset.addRow);
      const list = document.querySelector(btn.dataset.to);
      if (!(tpl instanceof HTMLTemplateElement) || !list) return;
      const n = String(fresh++);
      const frag = tpl.content.cloneNode(true);
      for (const el of frag.querySelectorAll('[name], [id], [for], [aria-label], [aria-describedby]')) {
        for (const a of ['name', 'id', 'for', 'aria-label', 'aria-describedby']) {
          const v = el.getAttribute(a);
          if (v !== null && v.includes('__i__')) el.setAttribute(a, v.replaceAll('__i__', n));
        }
      }
      const row = frag.querySelector('[data-row]');
      list.append(frag);
      row?.querySelector('input:not([type=checkbox]), select, textarea')?.focus();
      list.dispatchEvent(new Event('input', { bubbles: true }));
    } else {
      const row = btn.closest('[data-row]');
      const list = row?.closest('[data-rows]');
      if (!row) return;
      row.remove();
      list?.dispatchEvent(new Event('input', { bubbles: true }));
      list?.closest('[data-rows]')?.querySelector('button[data-add-row]')?.focus();
    }
  });

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
