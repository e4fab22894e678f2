"""Command line of the crawler: fetch every page of the local web and print throughput and outcomes.

    python -m agentcore.crawl.cli --sites 500 [--thread] [--per-host 2] [--delay 0.05]
"""
from __future__ import annotations

import asyncio
import time
from collections import Counter

from agentcore import aio
from agentcore.crawl.fetch import FetchConfig, Fetcher, FetchResult


def main(argv: list[str] | None = None) -> int:
    """Crawl the local web (every page of its ground truth) and print throughput and outcomes."""
    import argparse

    ap = argparse.ArgumentParser(prog="python -m agentcore.crawl.cli", description=main.__doc__)
    defaults = FetchConfig()
    ap.add_argument("--sites", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--thread", action="store_true",
                    help="serve from a thread of this process instead of a child process")
    ap.add_argument("--per-host", type=int, default=defaults.per_host_limit)
    ap.add_argument("--global-limit", type=int, default=defaults.global_limit)
    ap.add_argument("--delay", type=float, default=defaults.politeness_delay)
    args = ap.parse_args(argv)

    from agentcore.web import SyntheticWeb, serve_in_process, serve_in_thread

    async def crawl(server, web) -> None:
        pages = web.pages()
        done: list[float] = []
        async with Fetcher(static_hosts=server.host_map(), per_host_limit=args.per_host,
                           global_limit=args.global_limit, politeness_delay=args.delay) as f:
            t0 = time.perf_counter()
            cpu0 = time.process_time()

            async def one(url: str) -> FetchResult:
                r = await f.fetch(url)
                done.append(time.perf_counter() - t0)
                return r

            results = await asyncio.gather(*(one(p.url) for p in pages))
            wall = time.perf_counter() - t0
            cpu = time.process_time() - cpu0
        done.sort()
        n_quick = sum(p.kind != "slow" for p in pages)
        quick = done[n_quick - 1]
        wrong = sum((r.error_reason or "ok") != p.expect for p, r in zip(pages, results))
        where = "thread" if args.thread else "child process"
        print(f"{len(pages)} pages from {len(web.sites)} sites (server in a {where})")
        print(f"  all pages        {wall:6.1f} s  {len(pages) / wall:7.0f} pages/s")
        print(f"  all but slow     {quick:6.1f} s  {n_quick / quick:7.0f} pages/s "
              f"({len(pages) - n_quick} slow pages wait out their timeouts and retries)")
        print(f"  crawler CPU      {cpu:6.1f} s  {1000 * cpu / len(pages):7.2f} ms/page")
        print(f"  outcomes differing from the ground truth: {wrong}")
        counts = Counter(r.error_reason or "ok" for r in results)
        for reason, n in counts.most_common():
            print(f"    {reason:24s} {n:6d}")

    if args.thread:
        web = SyntheticWeb(args.sites, seed=args.seed)
        with serve_in_thread(web) as server:
            aio.run(crawl(server, web))
    else:
        with serve_in_process(n_sites=args.sites, seed=args.seed) as server:
            aio.run(crawl(server, server.web))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
