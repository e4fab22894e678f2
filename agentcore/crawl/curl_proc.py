"""The curl fetcher in a process of its own: the crawl's Python never holds the fetcher's GIL.

libcurl calls back into Python for every header line and body chunk of every transfer, and each
call takes the GIL. In the crawl's process that GIL is also the batch, store and event-loop
threads', and a thread waiting for it waits a switch interval (5 ms) whenever another runs
Python: with one thread spinning in Python beside it, the ``CurlFetcher`` fell from 12,000 to
39 pages/s on the local web. Here it runs in a child process (``python -m
agentcore.crawl.curl_proc``) with its own GIL; the crawl's process takes its GIL once per
frame of results, not once per callback.

``CurlProcess`` has the ``CurlFetcher``'s interface (``start``, ``submit([(url, done, ...)])``,
``close``, ``stats``); every rule and protection is the ``CurlFetcher``'s own, run unchanged in
the child. The pipes carry length-prefixed pickles, between two processes of one program:

    parent -> child   (config, static_hosts, allowed_hosts), then [(token, url, *how), ...]
                      frames, then None (close)
    child -> parent   ([(token, FetchResult), ...], stats) frames, then ("closed", stats,
                      peak RSS bytes, CPU seconds)

A child that dies fails every fetch still pending with ``internal_error`` (the exit status in
the detail); a parent that dies closes the child's stdin, and the child stops.

>>> fetcher = CurlProcess(FetchConfig(), static_hosts={"*.test": ("127.0.0.1", port)})  # doctest: +SKIP
>>> fetcher.start(); fetcher.submit([("http://site-0042.test/", print)])                # doctest: +SKIP
"""
from __future__ import annotations

import os
import pickle
import struct
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Mapping

from agentcore.crawl.outcome import FetchResult

if TYPE_CHECKING:
    from agentcore.crawl.outcome import FetchConfig
    from agentcore.crawl.resolver import HostSet

__all__ = ["CurlProcess"]

_LEN = struct.Struct("<I")


def _send(fd: int, obj) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    os.write(fd, _LEN.pack(len(data)))  # the length alone: data is not copied to prefix it
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _read_exact(fd: int, n: int) -> bytearray | None:
    buf = bytearray(n)
    view, got = memoryview(buf), 0
    while got < n:
        k = os.readv(fd, [view[got:]])
        if not k:
            return None
        got += k
    return buf


def _recv(fd: int):
    """The next frame's object; EOF raises EOFError."""
    head = _read_exact(fd, _LEN.size)
    body = None if head is None else _read_exact(fd, _LEN.unpack(head)[0])
    if body is None:
        raise EOFError
    return pickle.loads(body)


class CurlProcess:
    """A ``CurlFetcher`` in a child process; ``done(FetchResult)`` is called on this object's
    reader thread (it must be quick and must not block), as the ``CurlFetcher`` calls it on its
    own thread. ``stats`` follows the child's counters; ``peak_rss`` (bytes) and ``cpu``
    (seconds) are the child's peak resident memory and CPU time once it closed (0 before)."""

    def __init__(self, config: "FetchConfig", *, static_hosts: Mapping[str, tuple[str, int]] | None = None,
                 allowed_hosts: "HostSet | None" = None, stats: Counter | None = None):
        self.config = config
        self.static_hosts = dict(static_hosts or {})
        self.allowed_hosts = allowed_hosts
        self.stats = stats if stats is not None else Counter()
        self.peak_rss = 0
        self.cpu = 0.0
        #: token -> (url, done) of each fetch submitted and not yet answered
        self._pending: dict[int, tuple[str, Callable[[FetchResult], None]]] = {}
        self._token = 0
        self._lock = threading.Lock()  # submissions from several threads keep their frames whole
        self._proc: subprocess.Popen | None = None
        self._reader: threading.Thread | None = None
        self._crashed: str | None = None

    def start(self) -> None:
        root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        # its few threads need no malloc arena each: bodies come and go, and freed arenas
        # were kept (peak RSS)
        env.setdefault("MALLOC_ARENA_MAX", "2")
        self._proc = subprocess.Popen([sys.executable, "-m", "agentcore.crawl.curl_proc"],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
                                      close_fds=True)
        self._out = self._proc.stdin.fileno()
        self._in = self._proc.stdout.fileno()
        _send(self._out, (self.config, self.static_hosts, self.allowed_hosts))
        self._reader = threading.Thread(target=self._read, name="agentcore-curl", daemon=True)
        self._reader.start()

    def submit(self, items: Iterable[tuple[str, Callable[[FetchResult], None]]]) -> None:
        """Fetch each ``(url, done[, robots, check_type, count])``; thread-safe."""
        frame = []
        with self._lock:
            crashed = self._crashed
            if crashed is None:
                for url, done, *how in items:
                    self._token += 1
                    self._pending[self._token] = (url, done)
                    frame.append((self._token, url, *how))
                if frame:
                    try:
                        _send(self._out, frame)
                    except OSError as exc:  # the child is gone: the reader fails the pending
                        self._crashed = f"the fetcher's process stopped: {exc!r}"
                        crashed = self._crashed
        if crashed is not None:
            for url, done, *_ in (items if not frame else []):
                done(FetchResult(url, url, None, {}, b"", "internal_error", crashed, 0.0, 0))

    def close(self) -> None:
        """Stop the child; fetches not finished end with ``connection_error``."""
        if self._proc is None:
            return
        with self._lock:
            try:
                _send(self._out, None)
            except OSError:
                pass
        self._reader.join()
        self._proc.stdin.close()
        self._proc.wait()
        self._proc.stdout.close()
        self._proc = None

    def _read(self) -> None:
        pending = self._pending
        try:
            while True:
                frame = _recv(self._in)
                if frame[0] == "closed":
                    _, counts, self.peak_rss, self.cpu = frame
                    self._set_stats(counts)
                    return
                results, counts = frame
                self._set_stats(counts)
                for token, res in results:
                    done = pending.pop(token)[1]
                    try:
                        done(res)
                    except Exception:  # noqa: BLE001 - the caller's callback
                        import traceback

                        traceback.print_exc()
        except (EOFError, OSError, pickle.UnpicklingError) as exc:
            code = self._proc.wait()
            with self._lock:
                self._crashed = (f"the fetcher's process stopped (exit status {code}): "
                                 f"{type(exc).__name__}")
            for token in list(pending):
                url, done = pending.pop(token)
                done(FetchResult(url, url, None, {}, b"", "internal_error", self._crashed, 0.0, 0))

    def _set_stats(self, counts: dict) -> None:
        for k, v in counts.items():
            self.stats[k] = v


def peak_rss(use) -> int:
    """This process's peak resident memory in bytes: the kernel's VmHWM where there is one.
    Not ``ru_maxrss`` on Linux: a spawned child's counts the parent it was forked from too (the
    crawl's process at 45 MB when it starts the fetcher), however small the child stays."""
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return use.ru_maxrss * 1024


class _Reply:
    """A fetch's ``done`` in the child: its answer into the outbox under its token (a slotted
    object: thousands wait in the host queues, and a closure costs twice its size)."""

    __slots__ = ("token", "append")

    def __init__(self, token: int, append):
        self.token, self.append = token, append

    def __call__(self, res: FetchResult) -> None:
        self.append((self.token, res))


def child_main() -> int:
    """The child: a CurlFetcher fed from stdin, its results framed to stdout once per round."""
    import resource

    from agentcore.crawl.curl import CurlFetcher

    rfd, wfd = sys.stdin.fileno(), os.dup(sys.stdout.fileno())
    sys.stdout = sys.stderr  # a stray print must not corrupt the frames
    config, static_hosts, allowed_hosts = _recv(rfd)
    outbox: list = []

    def flush() -> None:  # on the fetcher's thread, once per round of its loop
        if outbox:
            batch = outbox[:]
            del outbox[:len(batch)]
            _send(wfd, (batch, dict(fetcher.stats)))

    fetcher = CurlFetcher(config, static_hosts=static_hosts, allowed_hosts=allowed_hosts,
                          on_round=flush)
    fetcher.start()
    append = outbox.append
    try:
        while True:
            try:
                frame = _recv(rfd)
            except EOFError:  # the parent is gone
                frame = None
            if frame is None:
                break
            fetcher.submit([(url, _Reply(token, append), *how) for token, url, *how in frame])
    finally:
        fetcher.close()  # what closing ended is in the outbox
        use = resource.getrusage(resource.RUSAGE_SELF)
        try:
            flush()
            _send(wfd, ("closed", dict(fetcher.stats), peak_rss(use),
                        use.ru_utime + use.ru_stime))
        except OSError:  # the parent is gone: nobody to tell
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(child_main())
