"""One demo run: serve the local web, run the crawl job with the demo's LLM task, write the report."""
from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path


class DemoRun:
    """What one demo run did: its run id, store location, wall time, counts and the pipeline."""

    def __init__(self, **kw):
        self.__dict__.update(kw)


def execute(args, progress_factory=None) -> DemoRun | None:
    """Serve the local web, run the pipeline into the store, write the report."""
    from agentcore.crawl import queries
    from agentcore.crawl.fetch import FetchConfig
    from agentcore.store import open_store

    config = {"sites": args.sites, "pages": args.pages, "seed": args.seed, "corpus": args.corpus,
              "llm": not args.no_llm, "model": args.model}
    store = open_store(args.db)
    where = args.db if "://" in args.db else str(Path(args.db).resolve())
    if args.resume:
        prev = store.latest_unfinished_run()
        if prev is None:
            print(f"nothing to resume: every run in {where} is finished", file=sys.stderr)
            store.close()
            return None
        run_id = prev.run_id
        saved = prev.config or {}
        for k in ("sites", "pages", "seed", "corpus"):
            if k in saved:
                setattr(args, k, saved[k])
        print(f"resuming run {run_id} in {where}", file=sys.stderr)
    else:
        run_id = store.create_run(config)
        print(f"run {run_id}: results go to {where}", file=sys.stderr)

    from agentcore.web.server import ProcessServer

    # the local web in its own process: serving must not share this process's GIL
    web = ProcessServer(n_sites=args.sites, seed=args.seed, corpus=args.corpus,
                        slow_seconds=6 * args.timeout).start()
    engine = None
    try:
        if not args.no_llm:
            from agentcore.llm import Engine

            engine = Engine(args.model, n_slots=args.llm_slots)
        from agentcore.crawl.job import CrawlJob
        from agentcore.demo.config import DEMO_TASK

        fetch_cfg = FetchConfig(global_limit=args.concurrency, per_host_limit=args.per_host,
                                politeness_delay=args.delay, read_timeout=args.timeout,
                                total_timeout=2 * args.timeout, connect_timeout=args.timeout)
        pipe = CrawlJob(store, run_id, engine=engine, task=DEMO_TASK, max_pages=args.pages,
                        fetch_config=fetch_cfg, resume=args.resume)
        title = f"agentcore demo: {len(web.web.hosts)} sites"
        progress = (progress_factory or _Quiet)(title, lambda: _extra_rows(pipe, engine))
        t0 = time.monotonic()
        with progress:
            res = asyncio.run(pipe.run(web.web.home_urls(), hosts=web.host_map(),
                                       progress=progress.update, progress_interval=0.25))
        wall = time.monotonic() - t0
        stats = dict(pipe.stats)
        stats.update(wall_time_s=wall, agents=res.agents)
        if engine is not None:
            stats["llm"] = engine.metrics()
        store.finish_run(run_id, stats)
        store.flush()
        return DemoRun(run_id=run_id, where=where, wall=wall, result=res, stats=stats,
                       counts=queries.counts(store, run_id),
                       failure_reasons=queries.failure_reasons(store, run_id),
                       report=_report(store, run_id, pipe, args.report, wall), pipeline=pipe,
                       progress=progress)
    finally:
        web.stop()
        if engine is not None:
            engine.close()
        store.close()


class _Quiet:
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


def _extra_rows(pipe, engine) -> list[tuple[str, str]]:
    s = pipe.stats
    el = max(1e-6, time.monotonic() - pipe.t0)
    rows = [("pages/s", f"{s['pages_ok'] / el:.0f}"), ("pages ok / failed",
            f"{s['pages_ok']:,d} / {s['pages_failed']:,d}"), ("LLM summaries", f"{s['llm_ok']:,d}")]
    if engine is not None:
        m = engine.metrics()
        rows.append(("LLM tokens/s", f"{(m['prompt_tokens'] + m['generated_tokens']) / el:.0f}"))
        rows.append(("LLM queue / active", f"{m['queue_length']} / {m['slots_active']}"))
    for reason, n in pipe.failures.most_common(6):
        rows.append((f"failed: {reason}", f"{n:,d}"))
    return rows


def _report(store, run_id, pipe, path, wall) -> Path:
    from agentcore.demo.report import report_from_store, write_report

    data = report_from_store(store, run_id, pipe.timeline, wall_time_s=wall)
    out = Path(path).resolve()
    write_report(out, data)
    return out
