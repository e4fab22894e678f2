"""Live swarm progress: a rich panel on a terminal, plain log lines otherwise."""
from __future__ import annotations

import sys
import time


class Progress:
    """Call ``update(swarm)`` periodically (``Swarm.run(progress=...)``); ``extra`` adds rows."""

    def __init__(self, title: str, extra=None, stream=None):
        self.title = title
        self.extra = extra
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self._live = None
        self._t0 = time.monotonic()
        self._last_line = 0.0

    def __enter__(self):
        self._t0 = time.monotonic()
        if self.tty:
            from rich.console import Console
            from rich.live import Live

            self._live = Live(console=Console(file=self.stream), refresh_per_second=8,
                              transient=False)
            self._live.__enter__()
        return self

    def __exit__(self, *exc):
        if self._live is not None:
            self._live.__exit__(*exc)
            self._live = None

    def rows(self, swarm) -> list[tuple[str, str]]:
        counts = swarm.counts() if swarm is not None else {}
        rows = [(k, f"{v:,d}") for k, v in counts.items() if v]
        if self.extra is not None:
            rows += list(self.extra())
        return rows

    def update(self, swarm) -> None:
        elapsed = time.monotonic() - self._t0
        rows = self.rows(swarm)
        if self._live is not None:
            from rich.table import Table

            t = Table(title=f"{self.title}  [{elapsed:6.1f} s]", show_header=False)
            t.add_column(justify="left")
            t.add_column(justify="right")
            for k, v in rows:
                t.add_row(k, v)
            self._live.update(t)
        elif elapsed - self._last_line >= 1.0 or elapsed < 0.2:
            self._last_line = elapsed
            print(f"[{elapsed:7.1f}s] " + "  ".join(f"{k}={v}" for k, v in rows),
                  file=self.stream, flush=True)

    def summary(self, title: str, rows) -> None:
        if self.tty:
            from rich.console import Console
            from rich.table import Table

            t = Table(title=title)
            t.add_column("metric")
            t.add_column("value", justify="right")
            for k, v in rows:
                t.add_row(k, str(v))
            Console(file=sys.stdout).print(t)
        else:
            print(title)
            w = max(len(k) for k, _ in rows)
            for k, v in rows:
                print(f"  {k:<{w}}  {v}")
