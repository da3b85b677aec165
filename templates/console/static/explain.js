'use strict';
// Loaded after console.js (window.hmConsole), by templates/console/layout.njk.
// ---- Explain (the /explain page): <form data-explain="POST /api/monitor/explain"> sends
// its textarea's lines (as pasted, empty ones left out) and format to the API, and
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
    // One line per line as pasted (a CRLF paste's \r is the line ending, not the line); empty lines are
    // separators. Nothing else is touched: a line the API refuses is shown with its reason.
    const lines = form.elements.lines.value.split('\n').map((l) => l.replace(/\r$/, '')).filter((l) => l !== '');
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
          for (const r of x.rules) {
            // A signature rule names the entries the line matched (id: family, CVEs, product).
            const sigs = (x.signatures || []).filter((h) => h.rule === r).map((h) => `${h.id}: ${h.family}${h.cve ? `, ${h.cve.join(' ')}` : ''}, ${h.product}`);
            ul.append(el('li', sigs.length ? `${r} [${sigs.join('; ')}]` : r));
          }
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
