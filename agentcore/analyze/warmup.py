"""Warm-up: compile (first time) or load (later) every Numba kernel the analysis uses."""
from __future__ import annotations

import time

from agentcore.analyze.corpus import Corpus

__all__ = ["warm_up"]


def warm_up() -> float:
    """Run every kernel path of a :class:`Corpus` once on tiny input; returns seconds.

    The first compile takes 10-25 s on 2 cores and is cached next to the kernels, so an installer
    can call this once (``python -c "import agentcore.analyze as a; a.warm_up()"``) and no run or
    test pays for it later.
    """
    t0 = time.perf_counter()
    corpus = Corpus(threads=1)
    pages = ["A first page about rivers. It has two sentences.", b"A second page, as bytes.", ""]
    corpus.add_many(pages)
    corpus.add("A first page about rivers. It has two sentences.")
    corpus.near_duplicates()
    corpus.excerpts(pages)
    corpus.prompt(pages)
    return time.perf_counter() - t0
