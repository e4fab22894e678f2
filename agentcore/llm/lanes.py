"""Engine lanes: llama.cpp contexts sharing one model, each with its own scheduler and thread; requests routed to one.

Why lanes: on a CPU the batched decode is compute-bound, and one context with two threads meets
at a barrier after every operation of every layer. Two contexts of one thread each, decoding at
the same time, measured on the 2-core machine (SmolLM2-135M Q8_0, one run side by side): prompt
315-319 -> 403-410 tok/s, generation at 64 sequences 180-186 -> 210-229 tok/s. The weights are
loaded once (``llama_model`` is shared; each context has its own KV cells and slots).

Routing: a request goes to the lane with the fewest queued plus running requests; a session's
requests always go to the lane that holds its KV. A request's output does not depend on its lane
(every lane has the same configuration and the scheduler's output is batch-invariant), so routing
by load keeps runs reproducible.
"""
from __future__ import annotations

import os
import threading
from typing import Callable, Hashable

ENV_LANES = "AGENTCORE_LLM_LANES"


def default_lanes(threads: int) -> int:
    """Lanes for an engine of ``threads`` threads: ``AGENTCORE_LLM_LANES``, else 2 when there are 2+ threads."""
    env = os.environ.get(ENV_LANES)
    if env:
        try:
            n = int(env)
        except ValueError:
            raise ValueError(f"{ENV_LANES}={env!r} must be a whole number of lanes (1, 2, ...)") from None
        if n < 1:
            raise ValueError(f"{ENV_LANES}={env!r} must be at least 1")
        return n
    return 2 if threads >= 2 else 1


def split(total: int, parts: int) -> list[int]:
    """``total`` as ``parts`` near-equal whole shares, the larger ones first."""
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


class Lane:
    """One context (its slots and KV cells), its :class:`~agentcore.llm.scheduler.Scheduler` and the thread running it."""

    def __init__(self, index: int, model_path, model, *, n_slots: int, n_ctx_per_seq: int, n_batch: int,
                 n_ubatch: int, threads: int, threads_now: Callable[[], int], flash_attn: bool,
                 kv_unified: bool, max_prefixes: int, grammar_top_k: int, deterministic: bool,
                 session_cache_bytes: int):
        from agentcore.llm.context import LlamaContext
        from agentcore.llm.metrics import EngineMetrics
        from agentcore.llm.sampling import Samplers
        from agentcore.llm.scheduler import Scheduler

        self.index = index
        self.n_slots = n_slots
        # At least two sequences: a lone row gets a throw-away neighbour (see Scheduler._lone_fillers).
        self.llama = LlamaContext(model_path, n_seq=max(2, n_slots + max_prefixes), n_ctx_per_seq=n_ctx_per_seq,
                                  n_batch=n_batch, n_ubatch=n_ubatch, n_threads=threads,
                                  flash_attn=flash_attn, kv_unified=kv_unified, model=model)
        self.metrics = EngineMetrics()
        self.samplers = Samplers(self.llama, grammar_top_k)
        self.scheduler = Scheduler(self.llama, self.samplers, self.metrics, n_slots=n_slots,
                                   max_prefixes=max_prefixes, n_batch=n_batch, threads_now=threads_now,
                                   chunk=n_ubatch, deterministic=deterministic,
                                   session_cache_bytes=session_cache_bytes)
        self.thread = threading.Thread(target=self.scheduler.run, name=f"agentcore-llm-lane-{index}", daemon=True)

    def load(self) -> int:
        """Requests queued or running here (read from another thread: a moment old at worst)."""
        return self.scheduler.queue_length() + len(self.scheduler.active)


class Router:
    """Picks the lane of each request: sticky for sessions, else the least loaded (lowest index on ties)."""

    def __init__(self, lanes: list[Lane]):
        self.lanes = lanes
        self._home: dict[Hashable, Lane] = {}
        self._lock = threading.Lock()

    def lane_for(self, session: Hashable | None) -> Lane:
        if len(self.lanes) == 1:
            return self.lanes[0]
        with self._lock:
            if session is not None and session in self._home:
                return self._home[session]
            lane = min(self.lanes, key=lambda ln: (ln.load(), ln.index))
            if session is not None:
                self._home[session] = lane
            return lane

    def end_session(self, session: Hashable) -> Lane | None:
        """The lane that held ``session`` (forgotten here), or None if it never ran."""
        if len(self.lanes) == 1:
            return self.lanes[0]
        with self._lock:
            return self._home.pop(session, None)
