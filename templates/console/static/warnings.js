'use strict';
// Loaded after console.js (window.hmConsole), by templates/console/layout.njk.
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
