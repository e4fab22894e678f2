"""The report's sites table: one row per site with its answer or failure code, filtered by category and searched by text in the page.

Example::

    from agentcore.demo.report_table import sites_table
    from agentcore.crawl.queries import SiteAnswer

    html = sites_table([SiteAnswer("a.test", category="science", summary="Lab notes."),
                        SiteAnswer("b.test", status="failed", reason="http_404")])

The rows are plain HTML, so the table reads without JavaScript; the filter bar stays hidden until
the inline script (`SITES_SCRIPT`, no network) shows it and wires it to the rows; a click on a
column head sorts by that column. The table is fixed-layout with wrapping cells inside a
vertically scrolling box, so neither long words nor thousands of sites make the page wider or
endless.
"""
from __future__ import annotations

import html
import json
from collections import Counter
from typing import Sequence

from agentcore.crawl.queries import SiteAnswer

__all__ = ["sites_table", "SITES_CSS", "SITES_SCRIPT", "NO_ANSWER"]

#: the category filter's value for sites without an answer (failed, or not asked)
NO_ANSWER = "none"

SITES_CSS = """
.filters{display:flex;flex-wrap:wrap;gap:8px 14px;align-items:center;margin:0 0 10px}
.filters[hidden]{display:none}
.filters select,.filters input{font:inherit;padding:4px 6px;border:1px solid var(--line);border-radius:5px}
.filters input{flex:1 1 260px;min-width:0}
#site-count{color:var(--muted);font-size:12.5px}
.table-scroll{max-height:min(75vh,900px);overflow-y:auto;overflow-x:hidden;border:1px solid var(--line);border-radius:6px}
table.sites{table-layout:fixed}
table.sites th{position:sticky;top:0;background:var(--card);z-index:1}
table.sites th{cursor:pointer;user-select:none}
table.sites th[aria-sort=ascending]::after{content:" ▲"}table.sites th[aria-sort=descending]::after{content:" ▼"}
table.sites td{overflow-wrap:anywhere}
table.sites col.c-host{width:24%}table.sites col.c-cat{width:15%}table.sites col.c-pages{width:64px}
table.sites .num{text-align:right;font-variant-numeric:tabular-nums}
table.sites td.host{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:12px}
table.sites tr[hidden]{display:none}
.badge{display:inline-block;padding:0 6px;border-radius:9px;font-size:11.5px;background:#fde8e7;color:#9b1c1c}
.badge.quiet{background:#eef0f3;color:var(--muted)}
code.reason{font-size:12px;background:#f2f4f7;padding:0 4px;border-radius:3px}
.detail{color:var(--muted);font-size:12px}
"""

# Inline, no network: hide rows that miss the category or any search word; count what is shown.
SITES_SCRIPT = """<script>
(function () {
  var table = document.getElementById('site-table');
  if (!table) return;
  var rows = Array.prototype.slice.call(table.tBodies[0].rows);
  var text = rows.map(function (r) { return r.textContent.toLowerCase(); });
  var sel = document.getElementById('site-category'), box = document.getElementById('site-search');
  var count = document.getElementById('site-count');
  function apply() {
    var want = sel.value, words = box.value.toLowerCase().split(/\\s+/).filter(Boolean), shown = 0;
    for (var i = 0; i < rows.length; i++) {
      var ok = (!want || rows[i].getAttribute('data-f') === want) &&
               words.every(function (w) { return text[i].indexOf(w) >= 0; });
      rows[i].hidden = !ok;
      if (ok) shown++;
    }
    count.textContent = shown.toLocaleString('en') + ' of ' + rows.length.toLocaleString('en') + ' sites';
  }
  sel.addEventListener('change', apply);
  box.addEventListener('input', apply);
  // a click on a column head sorts by it (numbers as numbers), a second click reverses
  var heads = table.tHead.rows[0].cells, body = table.tBodies[0];
  Array.prototype.forEach.call(heads, function (th, col) {
    th.addEventListener('click', function () {
      var down = th.getAttribute('aria-sort') === 'ascending', num = th.className === 'num';
      Array.prototype.forEach.call(heads, function (h) { h.removeAttribute('aria-sort'); });
      th.setAttribute('aria-sort', down ? 'descending' : 'ascending');
      var keyed = rows.map(function (r, i) {
        var t = r.cells[col].textContent;
        return [num ? parseFloat(t.replace(/,/g, '')) || 0 : t.toLowerCase(), i, r];
      });
      keyed.sort(function (a, b) {
        var c = a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1];
        return down ? -c : c;
      });
      keyed.forEach(function (k) { body.appendChild(k[2]); });
    });
  });
  document.getElementById('site-filters').hidden = false;
  apply();
})();
</script>"""


def sites_table(answers: Sequence[SiteAnswer], *, detail_chars: int = 160) -> str:
    """The sites table with its filter bar, as HTML (empty runs get a one-line note)."""
    if not answers:
        return '<p class="empty">No finished sites.</p>'
    cats = Counter(a.category if _answered(a) else None for a in answers)
    options = [f'<option value="">all categories ({len(answers):,})</option>']
    for cat, n in sorted(((c, n) for c, n in cats.items() if c is not None),
                         key=lambda cn: (-cn[1], cn[0])):
        options.append(f'<option value="cat:{html.escape(cat)}">{html.escape(cat or "(blank)")} '
                       f"({n:,})</option>")
    if cats.get(None):
        options.append(f'<option value="{NO_ANSWER}">no answer ({cats[None]:,})</option>')
    bar = (f'<div class="filters" id="site-filters" hidden><label>Category '
           f'<select id="site-category">{"".join(options)}</select></label>'
           f'<input type="search" id="site-search" placeholder="search hosts, categories, '
           f'summaries, failure codes" aria-label="search the sites">'
           f'<span id="site-count">{len(answers):,} sites</span></div>')
    body = "".join(_row(a, detail_chars) for a in answers)
    return (bar + '<div class="table-scroll"><table class="sites" id="site-table">'
            '<colgroup><col class="c-host"><col class="c-cat"><col class="c-pages"><col></colgroup>'
            '<thead><tr><th>host</th><th>category</th><th class="num">pages</th>'
            f"<th>summary, or why there is none</th></tr></thead><tbody>{body}</tbody></table></div>")


def _answered(a: SiteAnswer) -> bool:
    return a.status == "ok" and bool(a.category or a.summary)


def _row(a: SiteAnswer, detail_chars: int) -> str:
    host = f'<td class="host" title="{html.escape(a.url)}">{html.escape(a.host)}</td>'
    pages = f'<td class="num" title="{a.n_failed:,} failed">{a.n_pages:,}</td>'
    if _answered(a):
        more = " · ".join(f"{html.escape(str(k))}: {html.escape(_short(v, 80))}"
                          for k, v in a.answer.items() if k not in ("category", "summary"))
        more = f' <span class="detail">· {more}</span>' if more else ""
        return (f'<tr data-f="cat:{html.escape(a.category)}">{host}<td>{html.escape(a.category)}'
                f"</td>{pages}<td>{html.escape(a.summary)}{more}</td></tr>")
    if a.status == "ok":  # finished without an LLM answer (none asked, or no page to ask about)
        return (f'<tr data-f="{NO_ANSWER}">{host}<td><span class="badge quiet">no answer</span>'
                f'</td>{pages}<td><span class="empty">no LLM answer recorded</span>'
                + (f' <span class="detail">· {html.escape(a.title)}</span>' if a.title else "")
                + "</td></tr>")
    detail = _short(a.detail, detail_chars)
    code = a.reason or "unknown"
    why = (f'<code class="reason" title="{html.escape(a.detail or code)}">{html.escape(code)}</code>'
           + (f' <span class="detail">{html.escape(detail)}</span>' if detail else ""))
    status = a.status.replace("_", " ")
    return (f'<tr data-f="{NO_ANSWER}" class="failed">{host}<td><span class="badge">'
            f"{html.escape(status)}</span></td>{pages}<td>{why}</td></tr>")


def _short(v, chars: int) -> str:
    text = v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
    return text if len(text) <= chars else text[:chars - 1] + "…"
