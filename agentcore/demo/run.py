"""One run of a job end to end: serve or read its sites, run the crawl job into the store, report.

``agentcore demo`` runs the demo's job file on the local web (:func:`execute`); ``agentcore job``
runs a user's job file on a URL list, a folder of sites or the local web (:func:`execute_job`).
Both go through :func:`run_once`.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

from agentcore import aio


class DemoRun:
    """What one run did: its run id, store location, wall time, counts and the pipeline."""

    def __init__(self, **kw):
        self.__dict__.update(kw)


def execute(args, progress_factory=None) -> DemoRun | None:
    """`agentcore demo`: the demo's job file (``demo.toml``) on the local web or ``--corpus``."""
    from agentcore.crawl import inputs
    from agentcore.demo.config import DEMO_JOB

    config = {"sites": args.sites, "pages": args.pages, "seed": args.seed, "corpus": args.corpus,
              "llm": not args.no_llm, "model": args.model}

    def restore(saved):
        for k in ("sites", "pages", "seed", "corpus"):
            if k in saved:
                setattr(args, k, saved[k])

    def sites():
        if args.corpus:
            return inputs.corpus(args.corpus)
        return inputs.local_web(args.sites, seed=args.seed, timeout=args.timeout)

    def job():  # after restore(): a resumed run keeps its saved --pages
        return DEMO_JOB.replace(max_pages=args.pages, concurrency=args.concurrency,
                                per_host=args.per_host, delay=args.delay, timeout=args.timeout,
                                slots=args.llm_slots, model=args.model or DEMO_JOB.model)

    return run_once(job, sites, args, config, restore, progress_factory, "agentcore demo")


def execute_job(job, args, progress_factory=None, engine_factory=None) -> DemoRun | None:
    """`agentcore job`: ``job`` (a JobFile, flags applied) on ``--urls``, ``--corpus`` or
    ``--local-web``; a resumed run reads its inputs from the run's saved config.
    ``engine_factory(args, job)`` builds the engine (default :func:`make_engine`)."""
    from agentcore.crawl import inputs

    config = {"job": job.path, "urls": None, "corpus": args.corpus, "local_web": args.local_web,
              "seed": args.seed, "resolve": args.resolve, "llm": not args.no_llm}
    if args.urls:
        config["urls"] = inputs.read_lines(args.urls)

    def restore(saved):
        for k in ("urls", "corpus", "local_web", "seed", "resolve"):
            if saved.get(k) is not None:
                config[k] = saved[k]

    def sites():
        if config["urls"] is not None:
            return inputs.url_list(config["urls"], resolve=parse_resolve(config["resolve"]))
        if config["corpus"]:
            return inputs.corpus(config["corpus"])
        if config["local_web"]:
            return inputs.local_web(config["local_web"], seed=config["seed"], timeout=job.timeout)
        raise SystemExit("agentcore job: give the sites: --urls FILE (or - for stdin), "
                         "--corpus DIR or --local-web N")

    return run_once(lambda: job, sites, args, config, restore, progress_factory, "agentcore job",
                    engine_factory)


def parse_resolve(items) -> dict[str, tuple[str, int]]:
    """``--resolve HOST=ADDR:PORT`` flags as a static host map (curl's --resolve)."""
    out = {}
    for item in items or ():
        host, _, target = item.partition("=")
        addr, _, port = target.rpartition(":")
        if not host or not addr or not port.isdigit():
            raise SystemExit(f"--resolve {item!r}: write it as HOST=ADDR:PORT, e.g. "
                             "shop.test=127.0.0.1:8080")
        out[host.lower()] = (addr.strip("[]"), int(port))
    return out


def run_once(make_job, make_sites, args, config, restore, progress_factory,
            title, engine_factory=None) -> DemoRun | None:
    """Open the store (a new run, or the latest unfinished one with ``args.resume``, whose saved
    config ``restore`` reads back), then the job and its sites; start the engine, run the crawl
    job, write the report."""
    from agentcore.crawl.job import CrawlJob
    from agentcore.store import open_store

    store = open_store(args.db)
    where = args.db if "://" in args.db else str(Path(args.db).resolve())
    if args.resume:
        prev = store.latest_unfinished_run()
        if prev is None:
            print(f"nothing to resume: every run in {where} is finished", file=sys.stderr)
            store.close()
            return None
        run_id = prev.run_id
        restore(prev.config or {})
        print(f"resuming run {run_id} in {where}", file=sys.stderr)
    else:
        run_id = store.create_run(config)
        print(f"run {run_id}: results go to {where}", file=sys.stderr)
    sites = engine = None
    try:
        job = make_job()
        sites = make_sites()
        for line in sites.skipped:
            print(f"skipped {line}", file=sys.stderr)
        if getattr(args, "ray", None):  # shards build their own job and engine
            return run_on_ray(args, job, sites, store, run_id, where, title, progress_factory)
        if not args.no_llm:
            engine = (engine_factory or make_engine)(args, job)
        pipe = CrawlJob(store, run_id, engine=engine, task=job.task, max_pages=job.max_pages,
                        fetch_config=job.fetch_config(), resume=args.resume, follow=job.follow,
                        max_url_bytes=job.max_url_bytes)
        heading = f"{title}: {len(sites.home_urls)} sites"
        progress = (progress_factory or Quiet)(heading, lambda: extra_rows(pipe, engine))
        progress.job = pipe  # the live display's stage bars come from the job's counters
        t0 = time.monotonic()
        with progress:
            res = aio.run(pipe.run(sites.home_urls, hosts=sites.static_hosts,
                                 allowed_hosts=sites.allowed_hosts,
                                 progress=progress.update, progress_interval=0.25))
        wall = time.monotonic() - t0
        stats = dict(pipe.stats)
        stats.update(wall_time_s=wall, agents=res.agents)
        if engine is not None:
            stats["llm"] = engine.metrics()
        return finish(store, run_id, where, wall, res, stats, pipe, args.report, progress)
    finally:
        if sites is not None:
            sites.stop()
        if engine is not None:
            engine.close()
        store.close()


class Quiet:
    """A progress display that shows nothing (for the bench command)."""

    def __init__(self, *a):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass

    def update(self, swarm):
        pass

    def summary(self, title, rows):
        pass


def extra_rows(pipe, engine) -> list[tuple[str, str]]:
    s = pipe.stats
    el = max(1e-6, time.monotonic() - pipe.t0)
    rows = [("pages ok / failed", f"{s['pages_ok']:,d} / {s['pages_failed']:,d}")]
    if engine is not None:
        m = engine.metrics()
        rows.append(("LLM tokens/s", f"{(m['prompt_tokens'] + m['generated_tokens']) / el:.0f}"))
        rows.append(("LLM queue / active", f"{m['queue_length']} / {m['slots_active']}"))
    for reason, n in pipe.failures.most_common(6):
        rows.append((f"failed: {reason}", f"{n:,d}"))
    return rows


def write(store, run_id, pipe, path, wall) -> Path:
    from agentcore.demo.report import report_from_store, write_report

    data = report_from_store(store, run_id, pipe.timeline, wall_time_s=wall)
    out = Path(path).resolve()
    write_report(out, data)
    return out


def make_engine(args, job):
    """The in-process engine, or with ``--llm-url`` one that drives an OpenAI-compatible server."""
    url = getattr(args, "llm_url", None)
    if url:
        import os

        from agentcore.llm.remote import RemoteEngine

        key = os.environ.get("AGENTCORE_LLM_API_KEY") or os.environ.get("OPENAI_API_KEY")
        return RemoteEngine(url, model=getattr(args, "llm_model", None),
                            concurrency=job.slots or 64, api_key=key)
    from agentcore.llm import Engine

    return Engine(job.model, n_slots=job.slots, n_ctx_per_seq=job.context)


def run_on_ray(args, job, sites, store, run_id, where, title, progress_factory) -> DemoRun:
    """The same run as Ray shards (``--ray local|ADDRESS --shards N``), one store for all."""
    from agentcore.shard import run_sharded, run_stats

    heading = f"{title}: {len(sites.home_urls)} sites, {args.shards} shards on Ray"
    pipe = None

    def update(run):  # the live display reads a sharded run like a job and a swarm
        nonlocal pipe
        pipe = progress.job = run
        progress.update(run)

    progress = (progress_factory or Quiet)(heading, lambda: extra_rows(pipe, pipe.engine)
                                           if pipe is not None else [])
    t0 = time.monotonic()
    with progress:
        pipe = res = run_sharded(job, sites, shards=args.shards, address=args.ray,
                                 store_url=args.db, run_id=run_id, llm=not args.no_llm,
                                 progress=update)
    wall = time.monotonic() - t0
    return finish(store, run_id, where, wall, res, run_stats(pipe), pipe, args.report, progress)


def finish(store, run_id, where, wall, res, stats, pipe, report, progress) -> DemoRun:
    """Mark the run finished with its stats, write the report, and say what the run did."""
    from agentcore.crawl import queries

    store.finish_run(run_id, stats)
    store.flush()
    return DemoRun(run_id=run_id, where=where, wall=wall, result=res, stats=stats,
                   counts=queries.counts(store, run_id),
                   failure_reasons=queries.failure_reasons(store, run_id),
                   report=write(store, run_id, pipe, report, wall), pipeline=pipe,
                   progress=progress)
