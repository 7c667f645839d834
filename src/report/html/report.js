// prompteval HTML report: sorts the summary table, lists the cases with a drill-down,
// and filters them. No dependencies; the data comes from #report-data.
(function () {
  'use strict';

  var data = JSON.parse(document.getElementById('report-data').textContent);
  var cells = data.cells || [];

  // ---- helpers -------------------------------------------------------------

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === 'text') node.textContent = attrs[k];
      else if (k === 'className') node.className = attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) {
      node.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    });
    return node;
  }

  function ms(v) {
    if (v < 1000) return Math.round(v) + 'ms';
    return (v / 1000).toFixed(1) + 's';
  }

  function flipLabel(flip) {
    return flip === 'pass_to_fail' ? 'pass → fail' : flip === 'fail_to_pass' ? 'fail → pass' : '';
  }

  function combination(c) {
    return c.eval + ' / ' + c.prompt + ' / ' + c.model;
  }

  // ---- sortable summary ----------------------------------------------------

  // Clicking a header sorts by it: ascending, then descending. Unknown values (empty
  // data-v) always go last.
  function makeSortable(table) {
    var headers = table.querySelectorAll('thead th');
    Array.prototype.forEach.call(headers, function (th, col) {
      function sort() {
        var ascending = th.getAttribute('aria-sort') !== 'ascending';
        Array.prototype.forEach.call(headers, function (h) { h.setAttribute('aria-sort', 'none'); });
        th.setAttribute('aria-sort', ascending ? 'ascending' : 'descending');
        var numeric = th.getAttribute('data-type') === 'num';
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        var keyed = rows.map(function (row, i) {
          var cell = row.cells[col];
          var raw = numeric ? cell.getAttribute('data-v') : cell.textContent;
          var key = numeric ? (raw === '' || raw === null ? null : parseFloat(raw)) : raw;
          return { row: row, key: key, index: i };
        });
        keyed.sort(function (a, b) {
          if (a.key === null || b.key === null) {
            if (a.key === b.key) return a.index - b.index;
            return a.key === null ? 1 : -1;
          }
          var order = numeric ? a.key - b.key : String(a.key).localeCompare(String(b.key));
          if (!ascending) order = -order;
          return order || a.index - b.index;
        });
        keyed.forEach(function (k) { body.appendChild(k.row); });
      }
      th.addEventListener('click', sort);
      th.addEventListener('keydown', function (e) {
        if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); sort(); }
      });
    });
  }

  // ---- cases ---------------------------------------------------------------

  var tbody = document.querySelector('#cases-table tbody');
  var failuresOnly = document.getElementById('filter-failures');
  var flipsOnly = document.getElementById('filter-flips');
  var combinationSelect = document.getElementById('filter-combination');
  var search = document.getElementById('filter-text');
  var count = document.getElementById('case-count');
  var hasFlips = cells.some(function (c) { return !!c.flip; });

  // The flips filter only makes sense when the run was compared with a baseline.
  document.getElementById('filter-flips-label').hidden = !hasFlips;

  if (data.cells_total > cells.length) {
    var note = document.getElementById('cases-note');
    note.hidden = false;
    note.textContent = 'Showing ' + cells.length + ' of ' + data.cells_total +
      ' cases: failures, errors and flips first. The run\u2019s results.jsonl has them all.';
  }

  var combinations = [];
  cells.forEach(function (c) {
    var name = combination(c);
    if (combinations.indexOf(name) < 0) combinations.push(name);
  });
  combinations.forEach(function (name) {
    combinationSelect.appendChild(el('option', { value: name, text: name }));
  });

  function detail(c) {
    var list = el('dl');
    var vars = el('ul');
    Object.keys(c.vars || {}).forEach(function (k) {
      var v = c.vars[k];
      vars.appendChild(el('li', {}, [el('code', { text: k }), ': ' + (typeof v === 'string' ? v : JSON.stringify(v))]));
    });
    list.appendChild(el('dt', { text: 'variables' }));
    list.appendChild(el('dd', {}, [vars]));
    if (c.output !== undefined) {
      var label = 'output';
      if (c.output_chars) label += ' (first ' + data.max_output_chars + ' of ' + c.output_chars + ' characters)';
      list.appendChild(el('dt', { text: label }));
      list.appendChild(el('dd', {}, [el('pre', { className: 'output', text: c.output })]));
    }
    if (c.steps) {
      var steps = el('ol', { className: 'steps' });
      c.steps.forEach(function (s) {
        var head = ms(s.latency_ms) + ' · tokens ' + (s.tokens_in === undefined ? '—' : s.tokens_in) + ' in · ' +
          (s.tokens_out === undefined ? '—' : s.tokens_out) + ' out · request ' + s.digest + (s.cached ? ' · from the cache' : '');
        var parts = [el('div', { className: 'step-head', text: head })];
        if (s.user !== undefined) parts.push(el('div', { className: 'step-role', text: 'user' }), el('pre', { className: 'output', text: s.user }));
        if (s.output !== undefined) parts.push(el('div', { className: 'step-role', text: 'assistant' }), el('pre', { className: 'output', text: s.output }));
        (s.calls || []).forEach(function (t) {
          parts.push(el('div', { className: 'step-call' }, [el('code', { text: '→ ' + t.shown })]));
          if (t.result !== undefined) {
            parts.push(el('div', { className: 'step-role', text: '⇒ ' + (t.is_error ? 'error · ' : '') + ms(t.latency_ms) }));
            parts.push(el('pre', { className: t.is_error ? 'error' : 'output', text: t.result }));
          }
        });
        steps.appendChild(el('li', {}, parts));
      });
      var title = 'trajectory (' + c.steps.length + (c.steps.length === 1 ? ' step' : ' steps') +
        (c.stopped ? ', stopped at ' + c.stopped : '') + ')';
      list.appendChild(el('dt', { text: title }));
      list.appendChild(el('dd', {}, [steps]));
    }
    if (c.tool_calls) {
      var calls = el('ul');
      c.tool_calls.forEach(function (t) {
        calls.appendChild(el('li', {}, [el('code', { text: t.name }), el('pre', { className: 'output', text: t.arguments })]));
      });
      list.appendChild(el('dt', { text: 'tool calls' }));
      list.appendChild(el('dd', {}, [calls]));
    }
    if (c.error !== undefined) {
      list.appendChild(el('dt', { text: 'error' }));
      list.appendChild(el('dd', {}, [el('pre', { className: 'error', text: c.error })]));
    }
    if (c.assertions.length) {
      var items = el('ul');
      c.assertions.forEach(function (a) {
        items.appendChild(el('li', { className: a.pass ? 'assert-pass' : 'assert-fail' }, [
          (a.pass ? '✓ ' : '✗ '), el('code', { text: a.type }), ' (' + a.score.toFixed(2) + ') ' + a.reason
        ]));
      });
      list.appendChild(el('dt', { text: 'assertions' }));
      list.appendChild(el('dd', {}, [items]));
    }
    return el('tr', { className: 'detail' }, [el('td', { colspan: '8' }, [list])]);
  }

  var rows = cells.map(function (c, i) {
    var status = el('span', { className: 'status ' + c.status, text: c.status.toUpperCase() });
    var first = el('td', {}, [status]);
    if (c.flip) first.appendChild(el('span', { className: 'flip', text: flipLabel(c.flip) }));
    var caseId = c.case_id + (c.repeat > 0 ? ' #' + c.repeat : '');
    var preview = c.output !== undefined ? c.output : (c.error || '');
    if (c.tool_calls) preview = c.tool_calls.map(function (t) { return '→ ' + t.shown; }).join(' ') + ' ' + preview;
    if (c.trajectory) preview = c.trajectory;
    var row = el('tr', { className: 'case', 'data-index': String(i), 'data-status': c.status, tabindex: '0' }, [
      first,
      el('td', { text: c.eval }),
      el('td', { text: caseId }),
      el('td', { text: c.prompt }),
      el('td', { text: c.model }),
      el('td', { text: c.status === 'error' ? '—' : c.score.toFixed(2) }),
      el('td', { text: ms(c.latency_ms) }),
      el('td', { className: 'out', text: preview.replace(/\s+/g, ' ').slice(0, 160) })
    ]);
    var open = null;
    function toggle() {
      if (open) { open.remove(); open = null; return; }
      open = detail(c);
      row.parentNode.insertBefore(open, row.nextSibling);
    }
    row.addEventListener('click', toggle);
    row.addEventListener('keydown', function (e) {
      if (e.key === 'Enter') { e.preventDefault(); toggle(); }
    });
    row.closeDetail = function () { if (open) { open.remove(); open = null; } };
    tbody.appendChild(row);
    return row;
  });

  function matches(c) {
    if (failuresOnly.checked && c.status === 'pass') return false;
    if (flipsOnly.checked && !c.flip) return false;
    if (combinationSelect.value && combination(c) !== combinationSelect.value) return false;
    var q = search.value.trim().toLowerCase();
    if (q) {
      var hay = [c.case_id, c.output || '', c.error || ''].concat((c.tool_calls || []).map(function (t) { return t.shown; }), [c.trajectory || ''], c.assertions.map(function (a) { return a.reason; }));
      if (!hay.some(function (s) { return s.toLowerCase().indexOf(q) >= 0; })) return false;
    }
    return true;
  }

  function applyFilters() {
    var shown = 0;
    cells.forEach(function (c, i) {
      var visible = matches(c);
      rows[i].hidden = !visible;
      if (!visible) rows[i].closeDetail();
      if (visible) shown++;
    });
    count.textContent = shown + ' of ' + cells.length + ' shown';
  }

  [failuresOnly, flipsOnly, combinationSelect].forEach(function (input) {
    input.addEventListener('change', applyFilters);
  });
  search.addEventListener('input', applyFilters);

  // Clicking a combination in the summary shows its cases.
  Array.prototype.forEach.call(document.querySelectorAll('#summary-table tr.cand'), function (tr) {
    tr.addEventListener('dblclick', function () {
      combinationSelect.value = tr.getAttribute('data-eval') + ' / ' + tr.getAttribute('data-prompt') +
        ' / ' + tr.getAttribute('data-model');
      applyFilters();
      document.getElementById('cases').scrollIntoView();
    });
  });

  makeSortable(document.getElementById('summary-table'));
  applyFilters();
})();
