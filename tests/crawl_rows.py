"""crawl_rows: a run's rows in the crawl tables, timing columns left out, sorted (what two runs of one input must share)."""
from __future__ import annotations

import dataclasses

from agentcore.crawl.tables import Failure

#: what may differ between two runs of the same input: when things happened and how long they took
TIMING = {"fetched_at", "elapsed_ms", "finished_at", "at", "created_at"}


def crawl_rows(store, run_id, row_types) -> dict:
    """{table class name: sorted rows as (column, value) tuples} for ``row_types``."""
    out = {}
    for t in row_types:
        got = []
        for r in store.rows(t, run_id):
            d = {k: v for k, v in dataclasses.asdict(r).items() if k not in TIMING}
            if t is Failure:
                d.pop("detail")  # a timeout's sentence names how long it waited
            got.append(tuple(sorted(d.items())))
        out[t.__name__] = sorted(got)
    return out
