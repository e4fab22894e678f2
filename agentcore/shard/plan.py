"""Which shard crawls which sites: sites grouped by host into chunks, handed out as shards go idle."""
from __future__ import annotations

import math
from collections import deque
from typing import Iterable

from agentcore.crawl.inputs import site_key


def split_by_host(home_urls: Iterable[str], chunk: int) -> list[list[str]]:
    """The home URLs in chunks of ``chunk`` hosts, in input order; one host never spans two
    chunks (a second URL of a host joins the first one's chunk)."""
    if chunk < 1:
        raise ValueError(f"chunk={chunk} must be at least 1 site")
    by_host: dict[str, list[str]] = {}
    for url in home_urls:
        by_host.setdefault(site_key(url), []).append(url)
    hosts = list(by_host.values())
    return [[u for group in hosts[i:i + chunk] for u in group]
            for i in range(0, len(hosts), chunk)]


def default_chunk(n_sites: int, shards: int) -> int:
    """About four chunks per shard: small enough that idle shards keep taking work and a lost
    shard's rerun is short, large enough that a chunk's start-up (a resumed job) stays cheap."""
    return max(1, math.ceil(n_sites / (4 * max(1, shards))))


class WorkQueue:
    """Chunks not started, chunks in flight (by shard), and chunks done.

    A chunk taken by a shard that is then lost goes back to the front of the queue, so another
    shard runs it (as a resumed job: what the lost shard stored is skipped).
    """

    def __init__(self, chunks: Iterable[list[str]]):
        self.todo: deque[list[str]] = deque(c for c in chunks if c)
        self.running: dict[str, list[str]] = {}
        self.done: list[list[str]] = []
        self.requeued = 0

    def take(self, shard: str) -> list[str] | None:
        """The next chunk for an idle ``shard`` (None when nothing is left to start)."""
        if shard in self.running:
            raise RuntimeError(f"shard {shard} already runs a chunk; finish or lose it first")
        if not self.todo:
            return None
        chunk = self.running[shard] = self.todo.popleft()
        return chunk

    def finish(self, shard: str) -> list[str]:
        chunk = self.running.pop(shard)
        self.done.append(chunk)
        return chunk

    def lose(self, shard: str) -> list[str] | None:
        """``shard`` is gone: its chunk (if any) is started again first by another shard."""
        chunk = self.running.pop(shard, None)
        if chunk is not None:
            self.todo.appendleft(chunk)
            self.requeued += 1
        return chunk

    @property
    def finished(self) -> bool:
        return not self.todo and not self.running
