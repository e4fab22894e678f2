"""The one thread-pool helper: shared pools for kernel calls that release the GIL, by size."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Sequence

_pools: dict[int, ThreadPoolExecutor] = {}
_lock = threading.Lock()


def shared_pool(threads: int) -> ThreadPoolExecutor:
    """A process-wide pool of ``threads`` workers, made on first use and reused after."""
    with _lock:
        pool = _pools.get(threads)
        if pool is None:
            pool = _pools[threads] = ThreadPoolExecutor(
                threads, thread_name_prefix=f"agentcore-kernels{threads}")
        return pool


def map_threads(fn: Callable, items: Sequence, threads: int, executor=None) -> list:
    """``[fn(x) for x in items]`` in input order, on ``threads`` threads (or ``executor``).

    One thread, or one item, runs in the calling thread: a hop would cost more than it saves.
    """
    if executor is None and (threads <= 1 or len(items) <= 1):
        return [fn(x) for x in items]
    return list((executor or shared_pool(threads)).map(fn, items))
