'use strict';
// Loaded after console.js (window.hmConsole), by templates/console/layout.njk.
// ---- Option groups sent only when changed, groups switched on and off (domains group; generic) ----
//   <section data-group="access" data-skip>  a group of a form that is sent only once the operator
//     changed something in it (an input or change event: typing, a box ticked, a row added or
//     removed): until then it carries data-skip and is left out of the body, so the API keeps it
//     exactly as stored. The page renders it with its stored values, so a changed group is sent
//     whole, as GET shows it plus the change.
//   <input type="checkbox" data-controls="auth-fields">  shows the element with that id while
//     ticked, hides it and leaves its fields out (data-skip) while not; with data-type="null-off"
//     the unticked box sends null for its name (console.js).
//   A field marked aria-invalid by a 400 (console.js) loses the mark and its message once edited.
//   <button data-api=... data-announce="maintenance">  the answer of POST /api/domains/{d}/maintenance
//     said in words in the button's result element (as text).
(function () {
  function touch(el) {
    const group = el.closest('[data-group]');
    if (group && group.hasAttribute('data-skip')) {
      group.removeAttribute('data-skip');
      group.setAttribute('data-changed', '');
    }
  }
  function controls(box) {
    const target = box.dataset.controls ? document.getElementById(box.dataset.controls) : null;
    if (!target) return;
    target.hidden = !box.checked;
    if (box.checked) target.removeAttribute('data-skip');
    else target.setAttribute('data-skip', '');
  }
  document.querySelectorAll('input[type=checkbox][data-controls]').forEach(controls);
  for (const type of ['input', 'change']) {
    document.addEventListener(type, (ev) => {
      if (!(ev.target instanceof Element)) return;
      touch(ev.target);
      if (ev.target.matches('input[type=checkbox][data-controls]')) controls(ev.target);
      // A field the last answer refused: its message goes once it is edited.
      if (ev.target.getAttribute('aria-invalid') === 'true') {
        const ids = (ev.target.getAttribute('aria-describedby') ?? '').split(' ').filter(Boolean);
        for (const id of ids) if (id.startsWith('field-error-')) document.getElementById(id)?.remove();
        const rest = ids.filter((id) => !id.startsWith('field-error-'));
        if (rest.length) ev.target.setAttribute('aria-describedby', rest.join(' '));
        else ev.target.removeAttribute('aria-describedby');
        ev.target.removeAttribute('aria-invalid');
      }
    });
  }

  document.addEventListener('api-result', (ev) => {
    const btn = ev.target instanceof HTMLElement ? ev.target : null;
    if (!btn || btn.dataset.announce !== 'maintenance') return;
    const { ok, body, out } = ev.detail ?? {};
    if (!ok || !out || !body || typeof body !== 'object' || !body.maintenance) return;
    const p = out.querySelector('p') ?? out.appendChild(document.createElement('p'));
    const m = body.maintenance;
    const where = body.runtime_updated ? 'at once, without a reload' : 'stored (HAProxy could not be told at runtime: it takes it at the next reload)';
    p.textContent = m.enabled
      ? `Maintenance on for ${body.domain}: HAProxy answers 503 with Retry-After ${m.retry_after} s, ${where}.`
      : `Maintenance off for ${body.domain}: HAProxy serves it again, ${where}.`;
  });
})();
