"""CPU and context switches of this process, by thread, sampled from /proc while it runs.

The crawl bench's agentcore child reports them, so a run shows which thread (the fetcher's,
the batch workers', the store writer's, the swarm's) spends the CPU per page, and how often
each one gave up its core (voluntary switches: mostly waits for the GIL or for work).

>>> with ThreadCPU() as tc:        # doctest: +SKIP
...     work()
>>> tc.by_name()["MainThread"]     # doctest: +SKIP
{'cpu': 1.76, 'voluntary': 14950, 'involuntary': 1610, 'threads': 1}
"""
from __future__ import annotations

import os
import threading

__all__ = ["ThreadCPU", "read_tasks", "stat_cpu"]


def stat_cpu(path: str) -> float:
    """User + system CPU seconds in a /proc ``stat`` file (a process's or one thread's)."""
    with open(path) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def read_tasks() -> dict[int, tuple[float, int, int]]:
    """{thread id: (CPU s, voluntary, involuntary context switches)} of this process's live
    threads; {} where /proc has no task entries (not Linux)."""
    out: dict[int, tuple[float, int, int]] = {}
    try:
        tids = os.listdir("/proc/self/task")
    except OSError:
        return out
    for tid in tids:
        try:
            cpu = stat_cpu(f"/proc/self/task/{tid}/stat")
            with open(f"/proc/self/task/{tid}/status") as f:
                status = dict(line.split(":", 1) for line in f if ":" in line)
        except OSError:  # the thread ended between the listing and the read
            continue
        out[int(tid)] = (cpu, int(status["voluntary_ctxt_switches"]),
                         int(status["nonvoluntary_ctxt_switches"]))
    return out


class ThreadCPU:
    """Samples every ``interval`` s (a thread that ended keeps its last reading) until exit."""

    def __init__(self, interval: float = 0.2):
        self.interval = interval
        self.last: dict[int, tuple[float, int, int]] = {}
        self.names: dict[int, str] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def sample(self) -> None:
        """One reading now (the sampler takes one every ``interval`` s, and one at exit)."""
        for t in threading.enumerate():
            if t.native_id is not None:
                self.names[t.native_id] = t.name
        self.last.update(read_tasks())

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def __enter__(self) -> "ThreadCPU":
        self.sample()
        self._thread = threading.Thread(target=self._loop, name="agentcore-threadcpu", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()

    def by_name(self) -> dict[str, dict]:
        """Totals by thread name (pool threads of one prefix together; unnamed: "other")."""
        agg: dict[str, dict] = {}
        for tid, (cpu, vol, invol) in self.last.items():
            name = self.names.get(tid, "other")
            if name.startswith("ThreadPoolExecutor"):
                name = "ThreadPoolExecutor"
            a = agg.setdefault(name, {"cpu": 0.0, "voluntary": 0, "involuntary": 0, "threads": 0})
            a["cpu"] += cpu
            a["voluntary"] += vol
            a["involuntary"] += invol
            a["threads"] += 1
        return agg
