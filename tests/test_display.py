"""The live display: stages from a swarm's counts and a job's stats, their rates and ETAs, drawn as plain lines and as rich bars."""
from __future__ import annotations

import io
import re
from collections import Counter

import pytest
from rich.console import Console

from agentcore.demo.display import (Meter, Progress, Stage, crawl_stages, fmt_eta, fmt_rate,
                                    swarm_stages)


class FakeSwarm:
    def __init__(self, counts, size=0):
        self.now, self.size = dict(counts), size

    def counts(self):
        return dict(self.now)


class FakeJob:
    def __init__(self, stats, engine=True):
        self.stats = Counter(stats)
        self.failures = Counter()
        self.engine = object() if engine else None


class Clock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


def test_crawl_stages_count_done_of_known():
    counts = {"SITE_FETCH": 3, "SITE_LLM": 4, "LLM_FAIL": 1, "PAGE_FETCH": 20, "PAGE_STORE": 5,
              "DONE": 70, "FAILED": 9, "WAITING": 6}
    stats = {"sites": 50, "sites_resumed": 10, "sites_ok": 8, "sites_failed": 1, "llm_failed": 1,
             "pages_resumed": 100, "pages_ok": 60, "pages_failed": 7, "llm_ok": 7}
    assert crawl_stages(counts, stats) == [Stage("sites", 20, 50), Stage("pages", 167, 192),
                                           Stage("LLM answers", 8, 13)]
    assert [s.name for s in crawl_stages(counts, stats, llm=False)] == ["sites", "pages"]
    # nothing known yet: no totals, so bars pulse instead of claiming 0 of 0
    assert crawl_stages({}, {}) == [Stage("sites", 0, None), Stage("pages", 0, None),
                                    Stage("LLM answers", 0, None)]
    assert swarm_stages({"DONE": 5, "FAILED": 1, "WORK": 4}, 10) == [Stage("agents", 6, 10)]


def test_meter_rate_and_eta_over_a_window():
    m = Meter(window=10.0)
    assert m.rate is None and m.eta(100) is None
    for t in range(0, 31):
        m.add(float(t), 5 * t if t <= 20 else 100 + 20 * (t - 20))  # 5/s, then 20/s
    assert m.rate == pytest.approx(20.0)  # only the last 10 s count
    assert m.eta(400) == pytest.approx((400 - 300) / 20.0)
    assert m.eta(300) == 0.0 and m.eta(None) is None
    # bursts (a batch of answers at once): the rate decays between them instead of dropping to 0
    b = Meter(window=10.0)
    for t, done in [(0, 0), (50, 16), (60, 16), (100, 32), (130, 32)]:
        b.add(float(t), done)
    assert b.rate == pytest.approx((32 - 16) / (130 - 50)) and b.eta(48) == pytest.approx(80.0)
    assert [fmt_rate(x) for x in (None, 0.456, 12.34, 1234.5)] == ["–/s", "0.46/s", "12.3/s", "1,234/s"]
    assert [fmt_eta(x) for x in (None, 0, 59.6, 3725)] == ["-:--:--", "0:00:00", "0:01:00", "1:02:05"]


def run_display(progress, clock, swarm, job):
    """Three updates a second apart: pages go 0 -> 40 -> 80 of 200 known."""
    with progress:
        for i in range(3):
            job.stats.update({"pages_ok": 40}) if i else None
            swarm.now["PAGE_FETCH"] = 200 - job.stats["pages_ok"]
            progress.update(swarm)
            clock.t += 1.0


def test_plain_lines_when_not_a_terminal():
    stream, clock = io.StringIO(), Clock()
    swarm = FakeSwarm({"PAGE_FETCH": 200, "SITE_LINKS": 10})
    job = FakeJob({"sites": 10}, engine=False)
    progress = Progress("demo", extra=lambda: [("failed: http_404", "3")], stream=stream, job=job,
                        clock=clock)
    assert not progress.tty
    run_display(progress, clock, swarm, job)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3 and "\x1b" not in stream.getvalue()  # no terminal codes in a log
    assert lines[0].startswith("[    0.0s] sites=0/10 (–/s, eta -:--:--)  pages=0/200")
    assert lines[2].startswith("[    2.0s] sites=0/10 (0.00/s, eta -:--:--)  "
                               "pages=80/200 (40.0/s, eta 0:00:03)")
    assert "PAGE_FETCH=120" in lines[2] and lines[2].endswith("failed: http_404=3")


def test_rich_bars_on_a_terminal():
    out, clock = io.StringIO(), Clock()
    console = Console(file=out, force_terminal=True, width=110, color_system=None)
    swarm = FakeSwarm({"PAGE_FETCH": 200, "SITE_LLM": 2})
    job = FakeJob({"sites": 10, "llm_ok": 1})
    progress = Progress("agentcore demo", extra=lambda: [("LLM tokens/s", "512")],
                        job=job, console=console, clock=clock)
    assert progress.tty
    run_display(progress, clock, swarm, job)
    screen = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.getvalue())  # drop cursor moves
    last = screen[screen.rindex("agentcore demo"):]
    assert "[   2.0 s]" in last
    pages = next(line for line in last.splitlines() if line.startswith("pages"))
    assert "80/200" in pages and "40.0/s" in pages and "ETA 0:00:03" in pages and "━" in pages
    sites = next(line for line in last.splitlines() if line.startswith("sites"))
    assert "0/10" in sites and "ETA -:--:--" in sites
    llm = next(line for line in last.splitlines() if line.startswith("LLM answers"))
    assert "1/3" in llm and "33%" in llm
    assert "LLM tokens/s" in last and "PAGE_FETCH" in last and "120" in last
    assert all(len(line) <= 110 for line in last.splitlines())


def test_any_swarm_gets_an_agents_bar():
    from agentcore import AgentSpec, State, Swarm, batch_action

    spec = AgentSpec([State("WORK", batch_action(lambda b: None, inline=True), on_ok="DONE")])
    stream = io.StringIO()
    progress = Progress("swarm", stream=stream)
    with Swarm(spec, 500) as swarm, progress:
        swarm.run(progress=progress.update, progress_interval=0.01)
        progress.update(swarm)
    assert "agents=500/500" in stream.getvalue().splitlines()[-1]
