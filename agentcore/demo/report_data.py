"""What the run report shows, as plain data: `ReportData` and its `Sample` time series, built from a store by `report_from_store`."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from agentcore.crawl import queries
from agentcore.crawl.queries import SiteAnswer

__all__ = ["Sample", "SiteAnswer", "ReportData", "report_from_store", "rate", "state_series",
           "TERMINAL_STATES"]

TERMINAL_STATES = ("DONE", "FAILED")


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
    site_answers : one `SiteAnswer` (or dict of its fields) per finished site, for the sites table.
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
    site_answers: list[SiteAnswer] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    terminal_states: tuple[str, ...] = TERMINAL_STATES
    generated_at: float = field(default_factory=time.time)

    def __post_init__(self):
        self.samples = [s if isinstance(s, Sample) else Sample(**s) for s in self.samples]
        self.site_answers = [a if isinstance(a, SiteAnswer) else SiteAnswer(**a)
                             for a in self.site_answers]

    @property
    def pages_per_s(self) -> float:
        return self.pages / self.wall_time_s if self.wall_time_s > 0 else 0.0

    @property
    def summaries_per_s(self) -> float:
        return self.summaries / self.wall_time_s if self.wall_time_s > 0 else 0.0


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
    counts = queries.counts(store, run_id)
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
        categories=queries.categories(store, run_id),
        failure_reasons=queries.failure_reasons(store, run_id),
        clusters=queries.near_dup_clusters(store, run_id),
        site_answers=queries.site_answers(store, run_id), extra=dict(extra or {}))


# ------------------------------------------------------------------ series from samples

def rate(samples: Sequence[Sample], attr: str, window: float = 2.0) -> list[tuple[float, float]]:
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


def state_series(d: ReportData) -> tuple[dict, dict]:
    """({active state: [(t, agents)]}, {terminal state: [(t, agents)]}) from the samples."""
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
