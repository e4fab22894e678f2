"""SVG charts for the run report: line, stacked-area and bar charts as inline ``<svg>`` strings, no scripts.

Example::

    from agentcore.demo.charts import bar_chart, line_chart

    svg = line_chart({"pages/s": [(0.5, 40.0), (1.0, 62.0)]}, y_label="pages/s")
    bars = bar_chart({"http_404": 150, "timeout": 44})
"""
from __future__ import annotations

import html
import math
from typing import Any, Mapping, Sequence

__all__ = ["PALETTE", "fmt", "nice_ticks", "line_chart", "stacked_area", "bar_chart"]

PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1",
           "#ff9da7", "#9c755f", "#bab0ac", "#1f77b4", "#8c564b")


def fmt(v: Any) -> str:
    """A number as the report prints it: thousands separators, about three significant digits."""
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
                   f'peak {fmt(float(peak))}</title></polyline>')
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
                   f'{html.escape(name)}: peak {fmt(int(peak))} agents</title></polygon>')
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
                   f'rx="2" fill="{color}"><title>{html.escape(label)}: {fmt(v)} '
                   f'({v / total:.0%})</title></rect>')
        out.append(f'<text x="{label_w + w + 6:.1f}" y="{y + 15}">{fmt(int(v) if v.is_integer() else v)}</text>')
    return (f'<svg viewBox="0 0 {W} {height}" class="chart" role="img" aria-label="bar chart">'
            f'{"".join(out)}</svg>')

