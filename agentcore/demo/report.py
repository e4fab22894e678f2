"""The run report: one self-contained HTML file (inline CSS and SVG charts drawn here, no scripts).

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

The file needs no network and no JavaScript to view: every chart is an inline ``<svg>``; the data
it was drawn from is embedded as JSON (``<script type="application/json" id="report-data">``) for
anyone who wants to reprocess it.
"""
from __future__ import annotations

import html
import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

__all__ = ["Sample", "ReportData", "write_report", "render_html", "report_from_store",
           "browser_check"]

TERMINAL_STATES = ("DONE", "FAILED")
PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1",
           "#ff9da7", "#9c755f", "#bab0ac", "#1f77b4", "#8c564b")


@dataclass
class Sample:
    """One observation of a running swarm (the live display takes one about every 0.5 s).

    t : seconds since the run started.
    pages : pages finished so far (cumulative, stored or failed).
    summaries : LLM summaries finished so far (cumulative).
    states : agents per state at that moment, e.g. ``swarm.counts()``.
    tokens : LLM tokens generated so far (cumulative; 0 if unknown).
    """

    t: float
    pages: int = 0
    summaries: int = 0
    states: dict[str, int] = field(default_factory=dict)
    tokens: int = 0


@dataclass
class ReportData:
    """Everything the report shows; plain values so any caller can build one.

    sites, pages, summaries, failures : final totals (pages = pages stored, failures = recorded
        failures of any kind).
    wall_time_s : the run's wall time; pages/s and summaries/s are derived from it.
    samples : the time series (see `Sample`), in time order; may be empty.
    categories : {category: number of sites}.
    failure_reasons : {reason: count}.
    clusters : near-duplicate clusters, each a list of page urls, largest first.
    extra : more rows for the summary table, e.g. {"model": "SmolLM2-135M", "LLM tokens/s": 512}.
    terminal_states : states drawn as "finished agents" instead of in the active-state chart.
    """

    title: str = "agentcore swarm run"
    run_id: str = ""
    store: str = ""
    sites: int = 0
    pages: int = 0
    summaries: int = 0
    failures: int = 0
    wall_time_s: float = 0.0
    samples: list[Sample] = field(default_factory=list)
    categories: dict[str, int] = field(default_factory=dict)
    failure_reasons: dict[str, int] = field(default_factory=dict)
    clusters: list[list[str]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    terminal_states: tuple[str, ...] = TERMINAL_STATES
    generated_at: float = field(default_factory=time.time)

    def __post_init__(self):
        self.samples = [s if isinstance(s, Sample) else Sample(**s) for s in self.samples]

    @property
    def pages_per_s(self) -> float:
        return self.pages / self.wall_time_s if self.wall_time_s > 0 else 0.0

    @property
    def summaries_per_s(self) -> float:
        return self.summaries / self.wall_time_s if self.wall_time_s > 0 else 0.0


# ------------------------------------------------------------------ building from a store

def report_from_store(store, run_id: str, timeline: Iterable[Sample | Mapping] | None = None, *,
                      title: str | None = None, wall_time_s: float | None = None,
                      extra: Mapping[str, Any] | None = None) -> ReportData:
    """Build `ReportData` for one run from its store rows plus the live `timeline` samples.

    The wall time is, in order: `wall_time_s`, the run's ``stats["wall_time_s"]``, the last
    sample's time, or finished_at - created_at.
    """
    run = store.get_run(run_id)
    if run is None:
        raise ValueError(f"no run {run_id!r} in {store!r}; store.runs() lists the runs it holds")
    counts = store.counts(run_id)
    samples = [s if isinstance(s, Sample) else Sample(**s) for s in (timeline or [])]
    stats = run.stats or {}
    if wall_time_s is None:
        wall_time_s = stats.get("wall_time_s")
    if wall_time_s is None and samples:
        wall_time_s = samples[-1].t
    if wall_time_s is None:
        wall_time_s = (run.finished_at or time.time()) - run.created_at
    return ReportData(
        title=title or f"agentcore run {run_id}", run_id=run_id, store=getattr(store, "url", ""),
        sites=counts["sites"], pages=counts["pages"], summaries=counts["llm_results"],
        failures=counts["failures"], wall_time_s=float(wall_time_s), samples=samples,
        categories=store.categories(run_id), failure_reasons=store.failure_reasons(run_id),
        clusters=store.near_dup_clusters(run_id), extra=dict(extra or {}))


# ------------------------------------------------------------------ output

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
    active, finished = _state_series(data)
    charts = [
        _card("Pages per second", line_chart({"pages/s": _rate(data.samples, "pages")},
                                             y_label="pages/s"), "chart-throughput"),
        _card("LLM summaries per second",
              line_chart({"summaries/s": _rate(data.samples, "summaries")}, y_label="summaries/s",
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
<style>{_CSS}</style></head>
<body><main>
<header><h1>{html.escape(data.title)}</h1><p class="sub">{subtitle}</p></header>
<section class="card" id="summary"><h2>Summary</h2>{_summary_table(data)}</section>
<div class="grid">{''.join(charts)}</div>
<section class="card" id="clusters"><h2>Near-duplicate clusters</h2>{_clusters_table(data.clusters)}</section>
</main>
<script type="application/json" id="report-data">{payload}</script>
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


def _fmt(v: Any) -> str:
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if v == 0:
            return "0"
        if abs(v) >= 100:
            return f"{v:,.0f}"
        if abs(v) >= 10:
            return f"{v:.1f}"
        return f"{v:.2f}"
    return str(v)


def _summary_table(d: ReportData) -> str:
    metrics = [("sites", d.sites), ("pages", d.pages), ("LLM summaries", d.summaries),
               ("failures", d.failures), ("wall time (s)", round(d.wall_time_s, 1)),
               ("pages/s", d.pages_per_s), ("summaries/s", d.summaries_per_s)]
    head = "".join(f"<th>{html.escape(k)}</th>" for k, _ in metrics)
    vals = "".join(f"<td>{html.escape(_fmt(v))}</td>" for _, v in metrics)
    out = f'<table class="headline"><thead><tr>{head}</tr></thead><tbody><tr>{vals}</tr></tbody></table>'
    if d.extra:
        rows = "".join(f'<tr><th>{html.escape(str(k))}</th><td>{html.escape(_fmt(v))}</td></tr>'
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


# ------------------------------------------------------------------ series from samples

def _rate(samples: Sequence[Sample], attr: str, window: float = 2.0) -> list[tuple[float, float]]:
    """Per-second rate of a cumulative counter, averaged over about `window` seconds."""
    pts: list[tuple[float, float]] = []
    if len(samples) < 2:
        return pts
    j = 0
    for i in range(1, len(samples)):
        while j < i - 1 and samples[i].t - samples[j + 1].t >= window:
            j += 1
        dt = samples[i].t - samples[j].t
        if dt > 0:
            dv = getattr(samples[i], attr) - getattr(samples[j], attr)
            pts.append((samples[i].t, max(dv, 0) / dt))
    return pts


def _state_series(d: ReportData):
    names: list[str] = []
    for s in d.samples:
        for k in s.states:
            if k not in names:
                names.append(k)
    active = {n: [(s.t, s.states.get(n, 0)) for s in d.samples]
              for n in names if n not in d.terminal_states}
    finished = {n: [(s.t, s.states.get(n, 0)) for s in d.samples]
                for n in d.terminal_states if n in names}
    return active, finished


# ------------------------------------------------------------------ SVG primitives

W, H = 560, 250
ML, MR, MT, MB = 58, 14, 12, 34


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About `n` round tick values covering [lo, hi] (steps of 1, 2, 2.5 or 5 times 10^k)."""
    if not math.isfinite(lo) or not math.isfinite(hi):
        return [0.0, 1.0]
    if hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / max(n, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.floor(lo / step) * step
    ticks = []
    v = start
    while v <= hi + step * 1e-9:
        ticks.append(round(v, 10))
        v += step
    if ticks[-1] < hi:
        ticks.append(round(v, 10))
    return ticks


def _tick_label(v: float) -> str:
    if abs(v) >= 1e6:
        return f"{v / 1e6:g}M"
    if abs(v) >= 1e4:
        return f"{v / 1e3:g}k"
    return f"{v:g}"


def _frame(x_ticks, y_ticks, sx, sy, x_label, y_label) -> list[str]:
    out = []
    for v in y_ticks:
        y = sy(v)
        out.append(f'<line x1="{ML}" x2="{W - MR}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eef0f3"/>')
        out.append(f'<text x="{ML - 6}" y="{y + 3.5:.1f}" text-anchor="end">{_tick_label(v)}</text>')
    for v in x_ticks:
        x = sx(v)
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{H - MB}" y2="{H - MB + 4}" stroke="#98a2b3"/>')
        out.append(f'<text x="{x:.1f}" y="{H - MB + 16}" text-anchor="middle">{_tick_label(v)}</text>')
    out.append(f'<line x1="{ML}" x2="{W - MR}" y1="{H - MB}" y2="{H - MB}" stroke="#98a2b3"/>')
    out.append(f'<line x1="{ML}" x2="{ML}" y1="{MT}" y2="{H - MB}" stroke="#98a2b3"/>')
    out.append(f'<text x="{(ML + W - MR) / 2:.0f}" y="{H - 3}" text-anchor="middle">{html.escape(x_label)}</text>')
    out.append(f'<text transform="translate(13,{(MT + H - MB) / 2:.0f}) rotate(-90)" '
               f'text-anchor="middle">{html.escape(y_label)}</text>')
    return out


def _legend(names: Sequence[str], colors: Sequence[str]) -> str:
    # HTML, not SVG: it wraps on its own however many states a spec has.
    items = "".join(f'<span><i style="background:{c}"></i>{html.escape(n)}</span>'
                    for n, c in zip(names, colors))
    return f'<div class="legend">{items}</div>'


def _empty(msg: str = "no data recorded") -> str:
    return (f'<svg viewBox="0 0 {W} {H // 2}" class="chart empty-chart" role="img">'
            f'<text x="{W / 2}" y="{H / 4}" text-anchor="middle">{html.escape(msg)}</text></svg>')


def _scales(xs: list[float], ys_max: float):
    x_ticks = nice_ticks(min(xs), max(xs), 6)
    y_ticks = nice_ticks(0.0, ys_max if ys_max > 0 else 1.0, 5)
    x0, x1, y1 = x_ticks[0], x_ticks[-1], y_ticks[-1]

    def sx(v):
        return ML + (v - x0) / (x1 - x0 or 1) * (W - ML - MR)

    def sy(v):
        return H - MB - v / (y1 or 1) * (H - MT - MB)
    return x_ticks, y_ticks, sx, sy


def line_chart(series: Mapping[str, Sequence[tuple[float, float]]], *, x_label: str = "time (s)",
               y_label: str = "", colors: Sequence[str] = PALETTE) -> str:
    """An SVG line chart of named (x, y) series sharing both axes."""
    series = {k: list(v) for k, v in series.items() if v}
    if not series:
        return _empty()
    xs = [x for pts in series.values() for x, _ in pts]
    ymax = max(y for pts in series.values() for _, y in pts)
    x_ticks, y_ticks, sx, sy = _scales(xs, ymax)
    out = _frame(x_ticks, y_ticks, sx, sy, x_label, y_label)
    for (name, pts), color in zip(series.items(), colors):
        d = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in pts)
        if len(series) == 1:  # a single series gets a light fill under the line
            area = f"{sx(pts[0][0]):.1f},{sy(0):.1f} {d} {sx(pts[-1][0]):.1f},{sy(0):.1f}"
            out.append(f'<polygon points="{area}" fill="{color}" fill-opacity="0.12"/>')
        peak = max(y for _, y in pts)
        out.append(f'<polyline class="series" points="{d}" fill="none" stroke="{color}" '
                   f'stroke-width="2" stroke-linejoin="round"><title>{html.escape(name)}: '
                   f'peak {_fmt(float(peak))}</title></polyline>')
    return (f'<svg viewBox="0 0 {W} {H}" class="chart" role="img" '
            f'aria-label="{html.escape(y_label)} over time">{"".join(out)}</svg>'
            + _legend(list(series), colors))


def stacked_area(series: Mapping[str, Sequence[tuple[float, float]]], *, x_label: str = "time (s)",
                 y_label: str = "", colors: Sequence[str] = PALETTE) -> str:
    """An SVG stacked area chart; all series must share the same x values (one per sample)."""
    series = {k: list(v) for k, v in series.items() if v}
    if not series:
        return _empty()
    xs = [x for x, _ in next(iter(series.values()))]
    totals = [sum(pts[i][1] for pts in series.values()) for i in range(len(xs))]
    x_ticks, y_ticks, sx, sy = _scales(xs, max(totals))
    out = _frame(x_ticks, y_ticks, sx, sy, x_label, y_label)
    base = [0.0] * len(xs)
    for (name, pts), color in zip(series.items(), colors):
        top = [b + y for b, (_, y) in zip(base, pts)]
        upper = " ".join(f"{sx(x):.1f},{sy(t):.1f}" for x, t in zip(xs, top))
        lower = " ".join(f"{sx(x):.1f},{sy(b):.1f}" for x, b in reversed(list(zip(xs, base))))
        peak = max(y for _, y in pts)
        out.append(f'<polygon class="series" points="{upper} {lower}" fill="{color}" '
                   f'fill-opacity="0.85" stroke="{color}" stroke-width="0.5"><title>'
                   f'{html.escape(name)}: peak {_fmt(int(peak))} agents</title></polygon>')
        base = top
    return (f'<svg viewBox="0 0 {W} {H}" class="chart" role="img" '
            f'aria-label="agents per state over time">{"".join(out)}</svg>'
            + _legend(list(series), colors))


def bar_chart(values: Mapping[str, float], *, color: str = PALETTE[0], limit: int = 15) -> str:
    """An SVG horizontal bar chart of {label: value}, largest first; the rest folded into 'other'."""
    items = sorted(((str(k), float(v)) for k, v in values.items()), key=lambda kv: (-kv[1], kv[0]))
    if not items:
        return _empty("none")
    if len(items) > limit:
        rest = sum(v for _, v in items[limit - 1:])
        items = items[:limit - 1] + [(f"other ({len(items) - limit + 1})", rest)]
    row, label_w, pad = 22, 170, 8
    height = len(items) * row + 2 * pad
    vmax = max(v for _, v in items) or 1.0
    span = W - label_w - 70
    total = sum(v for _, v in items) or 1.0
    out = []
    for i, (label, v) in enumerate(items):
        y = pad + i * row
        w = max(v / vmax * span, 1.0)
        short = label if len(label) <= 26 else label[:25] + "…"
        out.append(f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end">{html.escape(short)}'
                   f'<title>{html.escape(label)}</title></text>')
        out.append(f'<rect class="bar" x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row - 6}" '
                   f'rx="2" fill="{color}"><title>{html.escape(label)}: {_fmt(v)} '
                   f'({v / total:.0%})</title></rect>')
        out.append(f'<text x="{label_w + w + 6:.1f}" y="{y + 15}">{_fmt(int(v) if v.is_integer() else v)}</text>')
    return (f'<svg viewBox="0 0 {W} {height}" class="chart" role="img" aria-label="bar chart">'
            f'{"".join(out)}</svg>')


# ------------------------------------------------------------------ checking in a real browser

_PROBE = """<script>
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
  const pre = document.createElement('pre'); pre.id = 'probe'; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""


def find_chromium() -> str | None:
    import shutil
    return shutil.which("chromium") or shutil.which("chromium-browser")


def browser_check(path: str | os.PathLike, *, screenshot: str | os.PathLike | None = None,
                  window: tuple[int, int] = (1200, 2000), timeout: float = 180.0) -> dict:
    """Open the report in headless Chromium and return what it laid out.

    Returns ``{"charts": {section_id: {"size": [w, h], "marks": [[w, h], ...], "outside":
    [texts drawn outside their chart]}}, "overflowX": bool, "height": px, "screenshot": path}``.
    A probe script goes into a temporary copy only; the screenshot is of the report itself.
    Raises RuntimeError when Chromium is missing or fails.
    """
    import re
    import subprocess
    import tempfile
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
        probed.write_text(path.read_text(encoding="utf-8").replace("</body>", _PROBE + "</body>"),
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
