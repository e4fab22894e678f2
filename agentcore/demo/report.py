"""The run report as one self-contained HTML page: inline CSS, SVG charts and the sites table, nothing from the network.

Example::

    from agentcore.demo.report import ReportData, Sample, write_report

    data = ReportData(
        title="demo", sites=500, pages=10_412, summaries=500, failures=388, wall_time_s=96.0,
        samples=[Sample(t=0.5, pages=40, summaries=0, states={"FETCH": 256, "PARSE": 12}), ...],
        categories={"science": 120, "software": 98}, failure_reasons={"http_404": 150},
        clusters=[["http://a.test/x", "http://b.test/y"]],
    )
    write_report("report.html", data)

or, after a run, ``write_report(path, report_from_store(store, run_id, timeline))``.

The file needs no network and reads without JavaScript: every chart is an inline ``<svg>``
(`agentcore.demo.charts`) and the sites table (`agentcore.demo.report_table`) is plain rows; its
one small inline script only adds the category filter and the search box. The data it was drawn
from (`agentcore.demo.report_data`) is embedded as JSON (``<script type="application/json"
id="report-data">``) for anyone who wants to reprocess it.
"""
from __future__ import annotations

import html
import json
import os
import time
from dataclasses import asdict
from pathlib import Path
from typing import Sequence

from agentcore.demo.charts import PALETTE, bar_chart, fmt, line_chart, stacked_area
from agentcore.demo.report_data import ReportData, Sample, rate, report_from_store, state_series
from agentcore.demo.report_table import SITES_CSS, SITES_SCRIPT, sites_table

__all__ = ["Sample", "ReportData", "report_from_store", "write_report", "render_html"]


def write_report(path: str | os.PathLike, data: ReportData) -> Path:
    """Write the report for `data` to `path` (one HTML file) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(render_html(data), encoding="utf-8")
    os.replace(tmp, path)  # a reader never sees half a report
    return path


def render_html(data: ReportData) -> str:
    """The report as one HTML string."""
    active, finished = state_series(data)
    charts = [
        _card("Pages per second", line_chart({"pages/s": rate(data.samples, "pages")},
                                            y_label="pages/s"), "chart-throughput"),
        _card("LLM summaries per second",
              line_chart({"summaries/s": rate(data.samples, "summaries")}, y_label="summaries/s",
                         colors=(PALETTE[1],)), "chart-summaries"),
        _card("Active agents per state", stacked_area(active, y_label="agents"), "chart-states"),
        _card("Finished agents", line_chart(finished, y_label="agents",
                                            colors=(PALETTE[2], PALETTE[3])), "chart-finished"),
        _card("Site categories (LLM)", bar_chart(data.categories), "chart-categories"),
        _card("Failure reasons", bar_chart(data.failure_reasons, color=PALETTE[3]),
              "chart-failures"),
    ]
    generated = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(data.generated_at))
    subtitle = " · ".join(html.escape(x) for x in
                          (f"run {data.run_id}" if data.run_id else "", data.store, generated) if x)
    # \u003c keeps any "<" in urls or titles from ending or confusing the data island.
    payload = json.dumps(_jsonable(data), separators=(",", ":")).replace("<", "\\u003c")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(data.title)}</title>
<style>{_CSS}{SITES_CSS}</style></head>
<body><main>
<header><h1>{html.escape(data.title)}</h1><p class="sub">{subtitle}</p></header>
<section class="card" id="summary"><h2>Summary</h2>{_summary_table(data)}</section>
<div class="grid">{''.join(charts)}</div>
<section class="card" id="sites"><h2>Sites and their answers</h2>{sites_table(data.site_answers)}</section>
<section class="card" id="clusters"><h2>Near-duplicate clusters</h2>{_clusters_table(data.clusters)}</section>
</main>
<script type="application/json" id="report-data">{payload}</script>
{SITES_SCRIPT if data.site_answers else ""}
</body></html>
"""


_CSS = """
:root{--fg:#1d2430;--muted:#667085;--line:#e4e7ec;--bg:#f6f7f9;--card:#fff}
*{box-sizing:border-box}body{margin:0;background:var(--bg);color:var(--fg);
font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif}
main{max-width:1180px;margin:0 auto;padding:20px}
h1{font-size:22px;margin:0 0 2px}h2{font-size:15px;margin:0 0 10px}
.sub{color:var(--muted);margin:0 0 14px;font-size:12.5px;word-break:break-all}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:14px 16px;margin:0 0 16px}
.grid{display:grid;grid-template-columns:repeat(2,minmax(0,1fr));gap:16px;margin-bottom:16px}
.grid .card{margin:0}
@media (max-width:900px){.grid{grid-template-columns:1fr}}
svg{display:block;width:100%;height:auto}
svg text{font:11px system-ui,"DejaVu Sans",sans-serif;fill:#475467}
svg .title{font-weight:600}
table{border-collapse:collapse;width:100%}
td,th{padding:5px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{font-weight:600;color:var(--muted);font-size:12px}
table.headline{table-layout:fixed;margin-bottom:10px}
table.headline th,table.headline td{border:0;padding:2px 8px;text-align:left}
table.headline td{font-size:22px;font-weight:650;font-variant-numeric:tabular-nums}
table.details{width:auto;min-width:420px}
table.details th{font-size:13px;color:var(--fg);font-weight:400}
table.details td{text-align:right;font-weight:600;font-variant-numeric:tabular-nums}
th.n{width:60px}
.urls{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:12px;word-break:break-all}
.empty{color:var(--muted);font-style:italic}
.legend{display:flex;flex-wrap:wrap;gap:4px 14px;font-size:12px;color:#475467;margin-top:4px;padding-left:40px}
.legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:5px;vertical-align:-1px}
"""


def _card(title: str, svg: str, ident: str) -> str:
    return f'<section class="card" id="{ident}"><h2>{html.escape(title)}</h2>{svg}</section>'


def _summary_table(d: ReportData) -> str:
    metrics = [("sites", d.sites), ("pages", d.pages), ("LLM summaries", d.summaries),
               ("failures", d.failures), ("wall time (s)", round(d.wall_time_s, 1)),
               ("pages/s", d.pages_per_s), ("summaries/s", d.summaries_per_s)]
    head = "".join(f"<th>{html.escape(k)}</th>" for k, _ in metrics)
    vals = "".join(f"<td>{html.escape(fmt(v))}</td>" for _, v in metrics)
    out = f'<table class="headline"><thead><tr>{head}</tr></thead><tbody><tr>{vals}</tr></tbody></table>'
    if d.extra:
        rows = "".join(f'<tr><th>{html.escape(str(k))}</th><td>{html.escape(fmt(v))}</td></tr>'
                       for k, v in d.extra.items())
        out += f'<table class="details"><tbody>{rows}</tbody></table>'
    return out


def _clusters_table(clusters: Sequence[Sequence[str]], limit: int = 25, show: int = 4) -> str:
    if not clusters:
        return '<p class="empty">No near-duplicate pages found.</p>'
    sizes: dict[int, int] = {}
    for c in clusters:
        sizes[len(c)] = sizes.get(len(c), 0) + 1
    pages = sum(len(c) for c in clusters)
    by_size = ", ".join(f"{n} of {size} pages" for size, n in sorted(sizes.items(), reverse=True))
    head = f"<p>{len(clusters):,} clusters covering {pages:,} pages ({by_size}).</p>"
    rows = []
    for i, c in enumerate(clusters[:limit], 1):
        shown = "<br>".join(html.escape(u) for u in c[:show])
        more = f"<br><i>… and {len(c) - show} more</i>" if len(c) > show else ""
        hosts = len({_host(u) for u in c})
        rows.append(f"<tr><td>{i}</td><td>{len(c)}</td><td>{hosts}</td>"
                    f'<td class="urls">{shown}{more}</td></tr>')
    tail = (f'<p class="empty">{len(clusters) - limit:,} smaller clusters not shown.</p>'
            if len(clusters) > limit else "")
    return (head + '<table><thead><tr><th class="n">#</th><th class="n">pages</th>'
            '<th class="n">sites</th><th>urls</th></tr>'
            f"</thead><tbody>{''.join(rows)}</tbody></table>{tail}")


def _host(url: str) -> str:
    rest = url.split("://", 1)[-1]
    return rest.split("/", 1)[0]


def _jsonable(d: ReportData) -> dict:
    out = asdict(d)
    out["pages_per_s"] = d.pages_per_s
    out["summaries_per_s"] = d.summaries_per_s
    return out
