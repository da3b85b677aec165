'use strict';
// Loaded after console.js (window.hmConsole), by templates/console/layout.njk.
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
