"""The driver of a sharded run: starts the shard actors on Ray, hands out chunks, merges progress."""
from __future__ import annotations

import time
from collections import Counter
from typing import Callable

from .plan import WorkQueue, default_chunk, split_by_host
from .worker import ShardWorker, jobfile_factory

#: the object store Ray reserves on a local cluster (its default is 30% of memory)
LOCAL_OBJECT_STORE = 200 * 2**20


class ShardsLost(RuntimeError):
    """Every shard actor died before the run's sites were all terminal."""


class Shard:
    """The driver's handle on one shard actor: its name, the actor, and whether it still lives."""

    def __init__(self, name: str, actor):
        self.name = name
        self.actor = actor
        self.alive = True
        self.call = None      # the ObjectRef of the chunk it runs now
        self.last: dict = {"shard": name, "stats": {}, "failures": {}, "states": {}}


class ShardedRun:
    """A sharded run's state: its shards, the work queue, merged counters and the timeline.

    ``stats`` / ``failures`` are the shards' counters summed (a lost shard's counters since its
    last progress poll are gone: the store's rows, ``agentcore.crawl.queries.counts``, are the
    truth); ``timeline`` is what the report plots (``agentcore.demo.report.Sample`` fields).
    """

    def __init__(self, run_id: str, shards: list[Shard], queue: WorkQueue, n_sites: int):
        self.run_id = run_id
        self.shards = shards
        self.queue = queue
        self.n_sites = n_sites
        self.t0 = time.monotonic()
        self.wall_s = 0.0
        self.lost: list[str] = []
        self.timeline: list[dict] = []
        self.near_dups = 0
        self.agents = 0  # agents the finished chunks' swarms ran (a RunResult's ``agents``)
        self.engine: ShardEngines | None = None  # set when the shards run an LLM

    @property
    def size(self) -> int:
        """Agents in the shards' running swarms (a swarm's ``size``, for the live display)."""
        return sum(self.counts().values())

    @property
    def stats(self) -> Counter:
        total: Counter = Counter()
        for s in self.shards:
            total.update(s.last["stats"])
        total["sites"] = self.n_sites
        return total

    @property
    def failures(self) -> Counter:
        total: Counter = Counter()
        for s in self.shards:
            total.update(s.last["failures"])
        return total

    def counts(self) -> dict:
        """Agents per state over the shards' running chunks (a swarm's ``counts()``)."""
        total: Counter = Counter()
        for s in self.shards:
            if s.alive:
                total.update(s.last["states"])
        return dict(total)

    def shard_rates(self) -> dict[str, float]:
        """Pages stored per second of each shard's busy time (its chunks' wall time)."""
        out = {}
        for s in self.shards:
            busy = s.last.get("busy_s", 0.0)
            pages = s.last["stats"].get("pages_ok", 0) + s.last["stats"].get("pages_failed", 0)
            out[s.name] = pages / busy if busy > 0 else 0.0
        return out

    def sample(self) -> None:
        st = self.stats
        point = {"t": time.monotonic() - self.t0, "pages": st["pages_ok"] + st["pages_failed"],
                 "summaries": st["llm_ok"], "states": self.counts()}
        tokens = [s.last["llm"].get("generated_tokens", 0) for s in self.shards if "llm" in s.last]
        if tokens:
            point["tokens"] = sum(tokens)
        self.timeline.append(point)


class ShardEngines:
    """The shards' engines seen as one: ``metrics()`` sums their counters (for the display)."""

    def __init__(self, run: ShardedRun):
        self.run = run

    def metrics(self) -> dict:
        total: Counter = Counter()
        for s in self.run.shards:
            total.update({k: v for k, v in s.last.get("llm", {}).items()
                          if isinstance(v, (int, float)) and not isinstance(v, bool)})
        return dict(total)


def start_ray(address: str, num_cpus: int) -> bool:
    """Connect to Ray (``"local"``: start a small cluster here); True when this call started it."""
    try:
        import ray
    except ImportError:
        raise SystemExit("sharded runs need Ray: pip install 'agentcore[ray]' (ray>=2.9)") from None
    if ray.is_initialized():
        return False
    if address == "local":
        # the dashboard costs ~300 MB and the default object store 30% of memory: neither is used
        ray.init(num_cpus=num_cpus, include_dashboard=False, object_store_memory=LOCAL_OBJECT_STORE,
                 log_to_driver=False, configure_logging=False)
    else:
        ray.init(address=address, log_to_driver=False, configure_logging=False)
    return True


def run_sharded(job, sites, *, shards: int = 2, address: str = "local", store_url: str,
                run_id: str, cpus_per_shard: int = 1, llm: bool = False,
                make_engine: Callable | None = None, chunk: int | None = None,
                progress: Callable[[ShardedRun], None] | None = None,
                progress_interval: float = 0.5, start_timeout: float = 120.0) -> ShardedRun:
    """Crawl ``sites`` with ``shards`` Ray actors writing to ``store_url``'s run ``run_id``.

    ``job`` is a parsed ``JobFile`` (each shard builds the job ``agentcore job`` builds, with an
    engine when ``llm``), or a factory ``(store, run_id, engine) -> CrawlJob`` that must build a
    resumed job (``resume=True``), with ``make_engine(CpuBudget)`` for its engine. ``sites`` is
    an ``agentcore.crawl.inputs.Sites`` (its hosts must be reachable from every shard's machine).
    ``address`` is ``"local"`` or a Ray cluster address; with ``"local"`` every shard is on this
    machine, so a SQLite path is fine, otherwise give a PostgreSQL url. ``progress(run)`` is
    called every ``progress_interval`` s. When every site is terminal, the near-duplicate pairs
    that cross shards are added (:func:`merge_near_dups`) and the run's state is returned.
    """
    import ray

    if shards < 1:
        raise ValueError(f"shards={shards} must be at least 1")
    if address != "local" and "://" not in store_url:
        raise ValueError(f"a Ray cluster at {address} needs one store every machine reaches: give "
                         f"a postgresql:// url, not the SQLite file {store_url!r}")
    if callable(job):
        make_job = job
    else:
        make_job, make_engine = jobfile_factory(job, llm)
    home_urls = list(sites.home_urls)
    queue = WorkQueue(split_by_host(home_urls, chunk or default_chunk(len(home_urls), shards)))
    started = start_ray(address, shards * cpus_per_shard)
    from agentcore.store import open_store

    store = open_store(store_url)
    try:
        prepare_store(store, run_id)  # tables exist before N processes write at once
        actor_cls = ray.remote(num_cpus=cpus_per_shard, max_concurrency=2,
                               max_restarts=0)(ShardWorker)
        handles = [Shard(f"shard-{i}", actor_cls.remote(
            f"shard-{i}", make_job, make_engine, store_url, run_id, cpus_per_shard,
            sites.static_hosts, sites.allowed_hosts)) for i in range(shards)]
        run = ShardedRun(run_id, handles, queue, len(home_urls))
        if make_engine is not None:
            run.engine = ShardEngines(run)
        ray.get([h.actor.ready.remote() for h in handles], timeout=start_timeout)
        run.t0 = time.monotonic()
        drive(run, progress, progress_interval)
        for h in handles:
            if h.alive:
                try:
                    ray.get(h.actor.close.remote(), timeout=60)
                except ray.exceptions.RayActorError:
                    pass
                ray.kill(h.actor)
        run.near_dups = merge_near_dups(store, run_id)
        run.wall_s = time.monotonic() - run.t0
        return run
    finally:
        store.close()
        if started:
            ray.shutdown()


def drive(run: ShardedRun, progress, interval: float) -> None:
    """Hand idle shards chunks until every chunk is done; a dead shard's chunk is re-queued."""
    import ray

    queue = run.queue
    next_poll = 0.0
    while True:
        for h in run.shards:
            if h.alive and h.call is None:
                chunk = queue.take(h.name)
                if chunk is not None:
                    h.call = h.actor.run.remote(chunk)
        if queue.finished:
            break
        calls = {h.call: h for h in run.shards if h.alive and h.call is not None}
        if not calls:
            raise ShardsLost(f"every shard is lost ({', '.join(run.lost)}) with "
                             f"{len(queue.todo)} chunks of sites left; rerun with resume")
        ready, _ = ray.wait(list(calls), num_returns=1, timeout=interval)
        for ref in ready:
            h = calls[ref]
            h.call = None
            try:
                run.agents += ray.get(ref)["agents"]
                queue.finish(h.name)
            except ray.exceptions.RayActorError:
                lose(run, h)
        if time.monotonic() >= next_poll:
            poll(run)
            run.sample()
            if progress is not None:
                progress(run)
            next_poll = time.monotonic() + interval
    poll(run)
    run.sample()
    if progress is not None:
        progress(run)


def lose(run: ShardedRun, h: Shard) -> None:
    h.alive = False
    h.call = None
    run.lost.append(h.name)
    run.queue.lose(h.name)


def poll(run: ShardedRun, timeout: float = 10.0) -> None:
    """Fetch every live shard's counters (a shard that does not answer keeps its last ones)."""
    import ray

    live = [h for h in run.shards if h.alive]
    refs = [h.actor.progress.remote() for h in live]
    for h, ref in zip(live, refs):
        try:
            h.last = ray.get(ref, timeout=timeout)
        except ray.exceptions.RayActorError:
            lose(run, h)
        except ray.exceptions.GetTimeoutError:
            pass


def prepare_store(store, run_id: str) -> None:
    """Create the crawl tables once, from the driver (shards then never race to create them)."""
    from agentcore.crawl import queries

    queries.counts(store, run_id)


def merge_near_dups(store, run_id: str) -> int:
    """Add the near-duplicate pairs between pages of different shards (each shard's index saw
    only its own pages): every stored page's signatures go through one index, in url order,
    and its pairs are upserted (the pairs a shard found are the same rows). Returns the pairs."""
    import numpy as np

    from agentcore.analyze import Corpus
    from agentcore.crawl.steps import unpack_minhash
    from agentcore.crawl.tables import NearDup, Page

    pages = sorted((p for p in store.rows(Page, run_id) if p.minhash), key=lambda p: p.url)
    if not pages:
        return 0
    corpus = Corpus(threads=1, kernels="lean")  # the job's index and kernels (no Numba in the driver)
    sigs = np.stack([unpack_minhash(p.minhash, corpus.num_perm) for p in pages])
    hashes = np.asarray([p.simhash for p in pages], np.uint64)
    n_tokens = np.asarray([p.n_words for p in pages], np.int64)
    bkeys = corpus.similarity.band_keys(sigs, corpus.bands)
    found = corpus.index.add(0, sigs, hashes, bkeys, n_tokens, [p.url for p in pages])
    rows = [NearDup(url_a=p.url, url_b=other, similarity=sim)
            for p, dups in zip(pages, found) for other, sim in dups]
    if rows:
        store.write_many(run_id, rows)
        store.flush()
    return len(rows)


def run_stats(result: "ShardedRun") -> dict:
    """A plain dict of a run's merged numbers (for ``store.finish_run`` stats)."""
    return {**result.stats, "wall_time_s": result.wall_s, "agents": result.agents,
            "shards": len(result.shards),
            "shards_lost": len(result.lost), "chunks_rerun": result.queue.requeued,
            "pages_per_s_per_shard": result.shard_rates()}
