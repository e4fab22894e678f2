"""The engine's counters (tokens, requests, decode time, slot occupancy) and the ``metrics()`` snapshot."""
from __future__ import annotations

import collections
import threading


SESSION_COUNTS = ("new", "resident", "restored", "fallback", "busy", "mismatch", "parks", "drops")


class EngineMetrics:
    """Counters written by the engine thread (``counts``, timings) and by submitters (:meth:`count_submit`)."""

    def __init__(self) -> None:
        self.counts: collections.Counter = collections.Counter()  # the engine thread only: no lock
        self.busy_seconds = 0.0  # wall time inside llama_decode
        self.decode_cpu_seconds = 0.0  # CPU time of the engine thread inside llama_decode
        self.occupancy_sum = 0.0  # sum over decode calls of active slots / slots
        self._submitted: collections.Counter = collections.Counter()
        self._lock = threading.Lock()

    def count_submit(self, name: str) -> None:
        """Count a submit-side event (``requests_submitted``, ``requests_rejected``) from any thread."""
        with self._lock:
            self._submitted[name] += 1

    def snapshot(self, *, slots_total: int, slots_active: int, queue_length: int, threads: int) -> dict:
        """The dict ``Engine.metrics()`` returns (its keys are a public interface: keep them)."""
        m = dict(self.counts)
        with self._lock:
            m.update(self._submitted)
        busy = self.busy_seconds
        steps = m.get("decode_calls", 0)
        return {
            "requests_submitted": m.get("requests_submitted", 0),
            "requests_done": m.get("requests_done", 0),
            "requests_failed": m.get("requests_failed", 0) + m.get("requests_rejected", 0),
            "requests_cancelled": m.get("requests_cancelled", 0),
            "prompt_tokens": m.get("prompt_tokens", 0),
            "prompt_tokens_reused": m.get("prompt_tokens_reused", 0),  # from the shared prefix
            "prompt_tokens_from_session": m.get("prompt_tokens_from_session", 0),
            # which path each session request took (see agentcore.llm.sessions), parks and drops
            **{f"session_{k}": m.get(f"session_{k}", 0) for k in SESSION_COUNTS},
            "generated_tokens": m.get("generated_tokens", 0),
            "decode_calls": steps,
            "decode_retries": m.get("decode_retries", 0),
            "grammar_fallbacks": m.get("grammar_fallbacks", 0),
            "busy_seconds": busy,
            "decode_cpu_seconds": self.decode_cpu_seconds,
            "prompt_tokens_per_s": m.get("prompt_tokens", 0) / busy if busy else 0.0,
            "generated_tokens_per_s": m.get("generated_tokens", 0) / busy if busy else 0.0,
            "slots_total": slots_total,
            "slots_active": slots_active,
            "slot_occupancy": self.occupancy_sum / steps if steps else 0.0,
            "queue_length": queue_length,
            "threads": threads,
        }


def combine(parts: list[EngineMetrics], submitted: EngineMetrics) -> EngineMetrics:
    """One view of several lanes' metrics plus the engine's submit-side counts.

    Counts and CPU seconds add up; ``busy_seconds`` is the busiest lane's time inside
    ``llama_decode`` (lanes decode at the same time, so the rates stay tokens per second of wall).
    """
    out = EngineMetrics()
    for p in parts:
        out.counts.update(p.counts)
        out.decode_cpu_seconds += p.decode_cpu_seconds
        out.occupancy_sum += p.occupancy_sum
    out.busy_seconds = max((p.busy_seconds for p in parts), default=0.0)
    with submitted._lock:
        out._submitted.update(submitted._submitted)
    return out
