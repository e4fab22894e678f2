"""One shard: a process (a Ray actor) that runs the crawl job on the chunks of sites it is handed."""
from __future__ import annotations

import os
import threading
import time
from collections import Counter
from typing import Any, Callable

from agentcore import aio

#: stats a chunk's resumed job counts for what *other* chunks stored; not summed across chunks
RESUME_STATS = ("pages_resumed", "sites_resumed")


def jobfile_factory(job, llm: bool) -> tuple[Callable, Callable | None]:
    """(make_job, make_engine) for a parsed ``agentcore.crawl.jobfile.JobFile``: the same
    CrawlJob ``agentcore job`` builds, always resumed (a chunk skips what the store holds)."""

    def make_job(store, run_id, engine):
        from agentcore.crawl.job import CrawlJob

        return CrawlJob(store, run_id, engine=engine, task=job.task if engine else None,
                        max_pages=job.max_pages, fetch_config=job.fetch_config(), resume=True,
                        follow=job.follow, max_url_bytes=job.max_url_bytes)

    def make_engine(budget):
        from agentcore.llm import Engine

        return Engine(job.model, n_slots=job.slots, n_ctx_per_seq=job.context, budget=budget)

    return make_job, (make_engine if llm else None)


class ShardWorker:
    """Runs chunks of sites as resumed crawl jobs of one run, into one store.

    Parameters
    ----------
    name : the shard's name in progress and reports.
    make_job : ``(store, run_id, engine) -> CrawlJob``; must build the job with ``resume=True``.
    make_engine : ``(CpuBudget) -> Engine`` or None (no LLM); called once, the engine is reused.
    store_url, run_id : the run every chunk writes to (SQLite only if every shard shares the
        machine; PostgreSQL otherwise).
    cpus : the shard's CPU budget: its kernel pool and its llama.cpp threads (never
        ``OMP_NUM_THREADS``, which Ray sets to the actor's ``num_cpus``).
    hosts, allowed_hosts : the static host map and the only hosts fetched (``Sites`` fields).
    """

    def __init__(self, name: str, make_job: Callable, make_engine: Callable | None,
                 store_url: str, run_id: str, cpus: int = 1,
                 hosts: dict | None = None, allowed_hosts=None):
        # before anything builds the process-wide budget: the kernel pool follows the shard's
        os.environ["AGENTCORE_CPUS"] = str(cpus)
        from agentcore.cpu import CpuBudget
        from agentcore.store import open_store

        self.name = name
        self.make_job = make_job
        self.run_id = run_id
        self.hosts = dict(hosts or {})
        self.allowed_hosts = allowed_hosts
        self.budget = CpuBudget(total=cpus)
        self.store = open_store(store_url)
        self.engine = make_engine(self.budget) if make_engine is not None else None
        self.totals: Counter = Counter()
        self.failures: Counter = Counter()
        self.busy_s = 0.0
        self.chunks = 0
        self.live: Any = None          # the running chunk's job
        self.live_counts: dict = {}    # its swarm's agents per state, at the last tick
        self.lock = threading.Lock()

    def ready(self) -> str:
        """Answers once the actor is up (the driver waits for every shard's first answer)."""
        return self.name

    def run(self, home_urls: list[str]) -> dict:
        """Crawl one chunk of sites (skipping what the store already holds) and flush it."""
        job = self.make_job(self.store, self.run_id, self.engine)
        t0 = time.monotonic()
        with self.lock:
            self.live, self.live_counts = job, {}

        def tick(sw):
            self.live_counts = {k: v for k, v in sw.counts().items() if v}

        try:
            res = aio.run(job.run(home_urls, hosts=self.hosts, allowed_hosts=self.allowed_hosts,
                              progress=tick, progress_interval=0.25))
        finally:
            with self.lock:
                self.live = None
        elapsed = time.monotonic() - t0
        stats = Counter({k: v for k, v in job.stats.items() if k not in RESUME_STATS})
        with self.lock:
            self.totals.update(stats)
            self.failures.update(job.failures)
            self.busy_s += elapsed
            self.chunks += 1
        return {"shard": self.name, "sites": len(home_urls), "stats": dict(stats),
                "failures": dict(job.failures), "elapsed_s": elapsed,
                "agents": res.agents}

    def progress(self) -> dict:
        """Counters of the finished chunks plus the running one (read while ``run`` runs)."""
        with self.lock:
            stats = Counter(self.totals)
            live = self.live
            if live is not None:
                stats.update({k: v for k, v in live.stats.items() if k not in RESUME_STATS})
            out = {"shard": self.name, "stats": dict(stats), "failures": dict(self.failures),
                   "states": dict(self.live_counts) if live is not None else {},
                   "busy_s": self.busy_s, "chunks": self.chunks}
        if self.engine is not None:
            out["llm"] = self.engine.metrics()
        return out

    def close(self) -> None:
        if self.engine is not None:
            self.engine.close()
            self.engine = None
        self.store.close()
