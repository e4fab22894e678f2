"""One CPU budget shared by the LLM engine's llama.cpp threads and the kernel worker pool.

llama.cpp's CPU threads spin-wait between ops, so a core taken by a kernel thread in the middle of
a decode multiplies that decode's time (seen here: 9 ms per token became over 1 s). The budget
counts cores: kernel batches take a lease for the cores they use (``with budget.lease(n): ...``),
and before every decode the engine asks :meth:`CpuBudget.llm_threads_now` how many threads it may
run (the total minus leased cores, at least one), so the two never oversubscribe the machine.

Setting: ``AGENTCORE_CPUS`` (total cores, default: the cores this process may run on) and
``AGENTCORE_LLM_THREADS`` (the engine's thread count when no kernel runs, default: all of them).
"""
from __future__ import annotations

import contextlib
import os
import threading


def available_cores() -> int:
    """Cores this process may run on (respects taskset / cgroup affinity)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


class CpuBudget:
    """Counts cores shared between the LLM engine and kernel batches."""

    def __init__(self, total: int | None = None, llm_threads: int | None = None):
        env_total = os.environ.get("AGENTCORE_CPUS")
        env_llm = os.environ.get("AGENTCORE_LLM_THREADS")
        self.total = int(total or (env_total and int(env_total)) or available_cores())
        if self.total < 1:
            raise ValueError(f"CPU budget total={self.total} must be at least 1")
        want = int(llm_threads or (env_llm and int(env_llm)) or self.total)
        self.llm_threads = max(1, min(want, self.total))
        self._leased = 0
        self._cond = threading.Condition()

    @property
    def leased(self) -> int:
        """Cores currently leased by kernel batches."""
        return self._leased

    def kernel_threads(self) -> int:
        """Threads a kernel pool should start: the whole budget (leases keep the engine off them)."""
        return self.total

    @contextlib.contextmanager
    def lease(self, n: int = 1):
        """Hold ``n`` cores for a kernel batch; blocks while that would leave the engine none.

        The engine always keeps one core, so with 2 cores at most one kernel core is leased at
        once and the engine drops to one thread meanwhile.
        """
        n = max(1, min(int(n), self.total))
        cap = max(1, self.total - 1)
        n = min(n, cap)
        with self._cond:
            while self._leased + n > cap:
                self._cond.wait()
            self._leased += n
        try:
            yield n
        finally:
            with self._cond:
                self._leased -= n
                self._cond.notify_all()

    def llm_threads_now(self) -> int:
        """Threads the engine may use for its next decode."""
        return max(1, min(self.llm_threads, self.total - self._leased))

    def __repr__(self) -> str:
        return f"CpuBudget(total={self.total}, llm_threads={self.llm_threads}, leased={self._leased})"


_default: CpuBudget | None = None
_default_lock = threading.Lock()


def default_budget() -> CpuBudget:
    """The process-wide budget the engine and the kernel pool share unless given their own."""
    global _default
    with _default_lock:
        if _default is None:
            _default = CpuBudget()
        return _default
