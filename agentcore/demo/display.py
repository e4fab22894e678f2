"""Live swarm progress: a bar per stage (done of the total known so far, rate, ETA) on a terminal, plain log lines otherwise.

Example::

    progress = Progress("agentcore demo", extra=lambda: [("LLM tokens/s", "512")], job=job)
    with progress:
        await job.run(urls, progress=progress.update)      # called every ~0.25 s
    progress.summary("agentcore demo", [("pages", "10,032")])

With a crawl job (`agentcore.crawl.job.CrawlJob`) the stages are its sites, its pages and its
LLM answers (`crawl_stages`, from ``swarm.counts()`` and ``job.stats``); without one, the agents
of any swarm (`swarm_stages`). On a terminal it is a rich ``Live`` view of a rich ``Progress``
with the agents per state and the ``extra`` rows below; anywhere else a log line a second.
"""
from __future__ import annotations

import sys
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping

__all__ = ["Stage", "Meter", "crawl_stages", "swarm_stages", "Progress", "fmt_rate", "fmt_eta"]

Rows = Iterable[tuple[str, str]]


@dataclass(frozen=True)
class Stage:
    """One bar: `done` of `total` (the total known so far; None while nothing is known)."""

    name: str
    done: int
    total: int | None


def crawl_stages(counts: Mapping[str, int], stats: Mapping[str, int], llm: bool = True) -> list[Stage]:
    """The crawl job's stages: sites and pages done of those known, LLM answers of those queued.

    `counts` is ``swarm.counts()`` (agents per state now), `stats` the job's counters (``pages_ok``,
    ``sites_failed``, ... kept by ``agentcore.crawl.rows`` once rows are durable). Pages known are
    those done plus the page agents still at work; LLM answers queued are those done plus the
    sites waiting for or in their LLM call.
    """
    def state_sum(prefix: str) -> int:
        return sum(n for s, n in counts.items() if s.startswith(prefix))
    sites_done = (stats.get("sites_resumed", 0) + stats.get("sites_ok", 0)
                  + stats.get("sites_failed", 0) + stats.get("llm_failed", 0))
    pages_done = stats.get("pages_resumed", 0) + stats.get("pages_ok", 0) + stats.get("pages_failed", 0)
    sites_total = max(stats.get("sites", 0), sites_done) or None
    out = [Stage("sites", sites_done, sites_total),
           Stage("pages", pages_done, pages_done + state_sum("PAGE_") or None)]
    if llm:
        answers = stats.get("llm_ok", 0) + stats.get("llm_failed", 0)
        queued = answers + counts.get("SITE_LLM", 0) + counts.get("LLM_FAIL", 0)
        out.append(Stage("LLM answers", answers, queued or None))
    return out


def swarm_stages(counts: Mapping[str, int], size: int) -> list[Stage]:
    """Any swarm's one stage: agents DONE or FAILED of every agent it holds."""
    done = counts.get("DONE", 0) + counts.get("FAILED", 0)
    return [Stage("agents", done, max(size, done) or None)]


class Meter:
    """Rate and ETA of one stage from the points where its count changed.

    The rate runs from the oldest change kept (those of the last `window` seconds, and always the
    last two) to now, so a stage that moves in bursts, like LLM answers finishing a batch at a
    time, gets a rate that decays between bursts instead of dropping to zero.
    """

    def __init__(self, window: float = 30.0):
        self.window = window
        self.samples: deque[tuple[float, int]] = deque()
        self.now: tuple[float, int] | None = None

    def add(self, t: float, done: int) -> None:
        self.now = (t, done)
        if not self.samples or done != self.samples[-1][1]:
            self.samples.append((t, done))
        while len(self.samples) > 2 and t - self.samples[1][0] >= self.window:
            self.samples.popleft()

    @property
    def rate(self) -> float | None:
        """Items per second, or None before any time has passed."""
        if self.now is None or not self.samples:
            return None
        (t0, d0), (t1, d1) = self.samples[0], self.now
        return max(d1 - d0, 0) / (t1 - t0) if t1 > t0 else None

    def eta(self, total: int | None) -> float | None:
        """Seconds until `total` at the current rate (0 when reached; None when unknown)."""
        if total is None or self.now is None:
            return None
        left = total - self.now[1]
        if left <= 0:
            return 0.0
        rate = self.rate
        return left / rate if rate else None


def fmt_rate(rate: float | None) -> str:
    if rate is None:
        return "–/s"
    return f"{rate:,.0f}/s" if rate >= 100 else f"{rate:.1f}/s" if rate >= 1 else f"{rate:.2f}/s"


def fmt_eta(seconds: float | None) -> str:
    if seconds is None:
        return "-:--:--"
    s = int(seconds + 0.5)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


class Progress:
    """Call ``update(swarm)`` periodically (``Swarm.run(progress=...)``); ``extra`` adds rows.

    job : the crawl job whose ``stats`` give the sites / pages / LLM stages (None: agents).
    console : a rich Console to draw on (default one on `stream`); a terminal gets bars.
    clock : seconds, monotonic (tests pass their own).
    """

    def __init__(self, title: str, extra: Callable[[], Rows] | None = None, stream=None, *,
                 job=None, console=None, clock: Callable[[], float] = time.monotonic,
                 window: float = 30.0):
        self.title = title
        self.extra = extra
        self.job = job
        self.console = console
        self.stream = stream or (console.file if console is not None else sys.stderr)
        self.tty = console.is_terminal if console is not None else self.stream.isatty()
        self.clock = clock
        self.window = window
        self.meters: dict[str, Meter] = {}
        self._live = None
        self._bars = None
        self._tasks: dict[str, int] = {}
        self._t0 = clock()
        self._last_line: float | None = None

    def __enter__(self):
        self._t0 = self.clock()
        if self.tty:
            from rich.console import Console
            from rich.live import Live
            from rich.progress import BarColumn, TaskProgressColumn, TextColumn
            from rich.progress import Progress as Bars

            console = self.console or Console(file=self.stream)
            self._bars = Bars(TextColumn("{task.description:<12}"), BarColumn(bar_width=None),
                              TaskProgressColumn(), TextColumn("{task.fields[of]}", justify="right"), TextColumn("{task.fields[rate]:>9}"),
                              TextColumn("ETA {task.fields[eta]}"), console=console,
                              auto_refresh=False, expand=True)
            self._live = Live(console=console, refresh_per_second=8, transient=False)
            self._live.__enter__()
        return self

    def __exit__(self, *exc):
        if self._live is not None:
            self._live.__exit__(*exc)
            self._live = None

    def stages(self, swarm) -> list[Stage]:
        """The bars now: the job's stages, or the swarm's agents."""
        counts = swarm.counts() if swarm is not None else {}
        if self.job is not None:
            return crawl_stages(counts, self.job.stats, getattr(self.job, "engine", None) is not None)
        return swarm_stages(counts, swarm.size if swarm is not None else 0)

    def rows(self, swarm) -> list[tuple[str, str]]:
        """The counters under the bars: agents per state, then the ``extra`` rows."""
        counts = swarm.counts() if swarm is not None else {}
        rows = [(k, f"{v:,d}") for k, v in counts.items() if v]
        if self.extra is not None:
            rows += list(self.extra())
        return rows

    def update(self, swarm) -> None:
        now = self.clock()
        elapsed = now - self._t0
        stages = self.stages(swarm)
        for s in stages:
            self.meters.setdefault(s.name, Meter(self.window)).add(now, s.done)
        if self._live is not None:
            self._live.update(self._render(stages, self.rows(swarm), elapsed))
        elif self._last_line is None or elapsed - self._last_line >= 1.0:
            self._last_line = elapsed
            print(self.line(stages, self.rows(swarm), elapsed), file=self.stream, flush=True)

    def line(self, stages: list[Stage], rows: Rows, elapsed: float) -> str:
        """The plain log line: each stage's done/total (rate, ETA), then the counters."""
        parts = []
        for s in stages:
            m = self.meters.get(s.name, Meter())
            total = "?" if s.total is None else f"{s.total:,d}"
            parts.append(f"{s.name.replace(' ', '_')}={s.done:,d}/{total} "
                         f"({fmt_rate(m.rate)}, eta {fmt_eta(m.eta(s.total))})")
        parts += [f"{k}={v}" for k, v in rows]
        return f"[{elapsed:7.1f}s] " + "  ".join(parts)

    def _render(self, stages: list[Stage], rows: Rows, elapsed: float):
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        for s in stages:
            m = self.meters[s.name]
            fields = {"rate": fmt_rate(m.rate), "eta": fmt_eta(m.eta(s.total)),
                      "of": f"{s.done:,d}/{'?' if s.total is None else f'{s.total:,d}'}"}
            if s.name not in self._tasks:
                self._tasks[s.name] = self._bars.add_task(s.name, total=s.total, **fields)
            self._bars.update(self._tasks[s.name], completed=s.done, total=s.total, **fields)
        grid = Table.grid(padding=(0, 2))
        rows = list(rows)
        half = (len(rows) + 1) // 2  # two columns of counters keep the view short
        for i in range(4):
            grid.add_column(justify="left" if i % 2 == 0 else "right")
        for i in range(half):
            right = rows[half + i] if half + i < len(rows) else ("", "")
            grid.add_row(rows[i][0], rows[i][1], *right)
        head = Text(f"{self.title}  [{elapsed:6.1f} s]", style="bold")
        return Group(head, self._bars.get_renderable(), grid)

    def summary(self, title: str, rows) -> None:
        if self.tty:
            from rich.console import Console
            from rich.table import Table

            t = Table(title=title)
            t.add_column("metric")
            t.add_column("value", justify="right")
            for k, v in rows:
                t.add_row(k, str(v))
            (self.console or Console(file=sys.stdout)).print(t)
        else:
            print(title)
            w = max(len(k) for k, _ in rows)
            for k, v in rows:
                print(f"  {k:<{w}}  {v}")
