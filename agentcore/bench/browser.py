"""Open a run report in headless Chromium and measure what it laid out (the demo bench and the report test use it).

Example::

    from agentcore.bench.browser import browser_check

    probe = browser_check("agentcore-report.html", screenshot="report.png")
    probe["charts"]["chart-throughput"]["size"]       # [w, h] as laid out
"""
from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

__all__ = ["find_chromium", "browser_check"]

PROBE = """<script>
// Added only to a probe copy of the report: measures what the browser actually laid out.
window.addEventListener('load', () => {
  const r = e => { const b = e.getBoundingClientRect(); return [Math.round(b.width), Math.round(b.height)]; };
  const out = {charts: {}, overflowX: document.documentElement.scrollWidth > window.innerWidth,
               height: document.documentElement.scrollHeight};
  document.querySelectorAll('section.card').forEach(sec => {
    const svg = sec.querySelector('svg');
    if (!svg) return;
    const box = svg.getBoundingClientRect();
    const marks = [...svg.querySelectorAll('.series, .bar')].map(e => { const b = e.getBBox(); return [b.width, b.height]; });
    const outside = [...svg.querySelectorAll('text, .series, .bar')].filter(e => {
      const b = e.getBoundingClientRect();
      return b.left < box.left - 1 || b.top < box.top - 1 || b.right > box.right + 1 || b.bottom > box.bottom + 1;
    }).map(e => e.textContent.slice(0, 40));
    out.charts[sec.id] = {size: r(svg), marks: marks, outside: outside};
  });
  const table = document.getElementById('site-table');
  if (table) {  // the sites table: laid out within its box, and its filter and search work
    const rows = [...table.tBodies[0].rows], scroll = table.parentElement;
    const shown = () => rows.filter(x => !x.hidden && x.getBoundingClientRect().height > 0).length;
    const sel = document.getElementById('site-category'), box = document.getElementById('site-search');
    const set = (el, v, ev) => { el.value = v; el.dispatchEvent(new Event(ev)); };
    const t = {rows: rows.length, visible: shown(), size: r(scroll),
               filters: !document.getElementById('site-filters').hidden,
               overflowX: scroll.scrollWidth > scroll.clientWidth + 1, categories: {}};
    [...sel.options].slice(1).forEach(o => {
      set(sel, o.value, 'change');
      t.categories[o.value] = [shown(), rows.filter(x => x.getAttribute('data-f') === o.value).length];
    });
    set(sel, '', 'change');
    const query = rows[rows.length - 1].cells[0].textContent;
    set(box, query, 'input');
    t.search = {query: query, visible: shown(), count: document.getElementById('site-count').textContent};
    set(box, '', 'input');
    t.visibleAfterReset = shown();
    const pages = () => [...table.tBodies[0].rows].map(x => parseFloat(x.cells[2].textContent.replace(/,/g, '')));
    const ordered = (a, sign) => a.every((v, i) => i === 0 || sign * (v - a[i - 1]) >= 0);
    const head = table.tHead.rows[0].cells[2];
    head.click(); const up = ordered(pages(), 1); head.click(); const down = ordered(pages(), -1);
    t.sort = {column: head.textContent, ascending: up, descending: down, rows: pages().length};
    out.table = t;
  }
  const pre = document.createElement('pre'); pre.id = 'probe'; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""


def find_chromium() -> str | None:
    """The Chromium executable on PATH, or None."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def browser_check(path: str | os.PathLike, *, screenshot: str | os.PathLike | None = None,
                  window: tuple[int, int] = (1200, 2000), timeout: float = 180.0) -> dict:
    """Open the report in headless Chromium and return what it laid out.

    Returns ``{"charts": {section_id: {"size": [w, h], "marks": [[w, h], ...], "outside":
    [texts drawn outside their chart]}}, "overflowX": bool, "height": px, "screenshot": path}``,
    and for a report with a sites table ``"table": {"rows": n, "visible": n, "size": [w, h],
    "filters": shown?, "overflowX": bool, "categories": {option value: [rows shown, rows with
    it]}, "search": {"query": last row's host, "visible": n, "count": text},
    "visibleAfterReset": n, "sort": {"column": name, "ascending": bool, "descending": bool,
    "rows": n}}`` (each category chosen alone, a search for one host, then two clicks on the
    third column's head).
    A probe script goes into a temporary copy only; the screenshot is of the report itself.
    Raises RuntimeError when Chromium is missing or fails.
    """
    exe = find_chromium()
    if exe is None:
        raise RuntimeError("Chromium not found: install Debian's package (apt-get install chromium; "
                           "`./dev test` does it)")
    path = Path(path).resolve()
    with tempfile.TemporaryDirectory(prefix="agentcore-chromium-") as tmp:
        base = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-dev-shm-usage", "--hide-scrollbars",
                f"--user-data-dir={tmp}/profile", f"--window-size={window[0]},{window[1]}"]

        def run(args):
            r = subprocess.run(base + args, capture_output=True, text=True, timeout=timeout)
            if r.returncode != 0:
                raise RuntimeError(f"chromium exited {r.returncode}: {r.stderr[-2000:]}")
            return r.stdout
        probed = Path(tmp) / "probed.html"
        probed.write_text(path.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"),
                          encoding="utf-8")
        dom = run(["--virtual-time-budget=5000", "--dump-dom", probed.as_uri()])
        m = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
        if not m:
            raise RuntimeError(f"the layout probe did not run in Chromium; DOM starts: {dom[:500]!r}")
        result = json.loads(html.unescape(m.group(1)))
        result["screenshot"] = None
        if screenshot is not None:
            shot = Path(screenshot).resolve()
            run([f"--screenshot={shot}", path.as_uri()])
            result["screenshot"] = str(shot)
    return result
