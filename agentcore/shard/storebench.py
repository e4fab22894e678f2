"""How fast one store takes the crawl job's rows from 1..N writer processes (the scale model's ceiling).

Each writer is its own process with its own store connection, writing what a page agent writes:
one unit of a ``Page`` row and its ``Keyword`` rows (``keywords`` of them) through the store's
group commit, as a shard does. ``python -m agentcore.shard.storebench URL --writers 1 4 16``.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import time


def writer(url: str, run_id: str, index: int, pages: int, keywords: int, start, out) -> None:
    from agentcore.crawl.tables import Keyword, Page
    from agentcore.store import open_store

    store = open_store(url)
    excerpt = "A sentence of the page's text that the job keeps as its excerpt. " * 4
    units = [[Page(url=f"http://w{index}.test/p{i}", host=f"w{index}.test", status=200,
                   n_bytes=9000, title=f"Page {i}", n_words=700, simhash=i * 7919,
                   excerpt=excerpt, fetched_at=1.0, elapsed_ms=3.0, minhash="A" * 684)]
             + [Keyword(url=f"http://w{index}.test/p{i}", keyword=f"word{k}",
                        host=f"w{index}.test", weight=1.0 / (k + 1)) for k in range(keywords)]
             for i in range(pages)]
    out.put("ready")
    start.wait()
    t0 = time.monotonic()
    for rows in units:
        store.write(run_id, *rows)
    store.flush()
    out.put(time.monotonic() - t0)
    store.close()


def write_rate(url: str, writers: int, pages: int = 2000, keywords: int = 8) -> dict:
    """Rows/s and units (pages)/s of ``writers`` processes writing ``pages`` units each."""
    from agentcore.crawl.tables import Keyword, Page
    from agentcore.store import open_store

    store = open_store(url)
    run_id = store.create_run({"bench": "store write rate", "writers": writers})
    store.count(Page, run_id), store.count(Keyword, run_id)  # tables exist before the writers
    store.close()
    ctx = mp.get_context("spawn")
    start, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=writer, args=(url, run_id, i, pages, keywords, start, out))
             for i in range(writers)]
    for p in procs:
        p.start()
    for _ in procs:  # every writer imported, connected and built its rows: start the clock
        out.get(timeout=300)
    t0 = time.monotonic()
    start.set()
    times = [out.get(timeout=600) for _ in procs]
    wall = time.monotonic() - t0
    for p in procs:
        p.join()
    rows = writers * pages * (1 + keywords)
    return {"writers": writers, "rows": rows, "wall_s": round(wall, 2),
            "rows_per_s": round(rows / wall), "pages_per_s": round(writers * pages / wall),
            "slowest_writer_s": round(max(times), 2)}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("url", help="a postgresql:// url or a SQLite path")
    ap.add_argument("--writers", type=int, nargs="+", default=[1, 4, 16])
    ap.add_argument("--pages", type=int, default=2000, help="units (a page + its keywords) each")
    ap.add_argument("--keywords", type=int, default=8)
    args = ap.parse_args(argv)
    for n in args.writers:
        print(write_rate(args.url, n, args.pages, args.keywords), flush=True)


if __name__ == "__main__":
    main()
