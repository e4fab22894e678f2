"""The batch fetcher: one libcurl multi on its own thread runs every fetch of the crawl.

A fetch (robots.txt, per-host slots and politeness, retries, redirects) is a small state
machine stepped by that thread between transfers; libcurl does the sockets, HTTP parsing and
waiting with the GIL released, so the Python per page is a few calls, not an asyncio task, a
timer and a client coroutine. The rules are ``agentcore.crawl.policy``'s and the answer checks
``agentcore.crawl.transport``'s, as for the asyncio ``Fetcher``: the same URL gets the same
``FetchResult`` reason and detail.

Every protection stays: libcurl never resolves a name (each request is pinned with
``CONNECT_TO`` to an address the SSRF guard accepted), never follows a redirect (each hop is
checked here), never uses a proxy from the environment; the body streams through the
``Inflater`` (wire and inflate caps), and a refused answer stops its transfer. What it keeps
per fetch, per host and per easy handle is ``agentcore.crawl.curl_state``. The ``Fetcher`` runs it
in a process of its own by default (``agentcore.crawl.curl_proc``: its callbacks then never wait
for the crawl's GIL); ``FetchConfig(curl_process=False)`` keeps it on a thread here.

>>> engine = CurlFetcher(FetchConfig(), static_hosts={"*.test": ("127.0.0.1", port)})  # doctest: +SKIP
>>> engine.start(); engine.submit([("http://site-0042.test/", print)])                # doctest: +SKIP
"""
from __future__ import annotations

import heapq
import os
import select
import threading
import time
from collections import Counter, deque
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Callable, Iterable, Mapping

import pycurl
from yarl import URL

from agentcore.crawl import robots as robots_txt
from agentcore.crawl.outcome import FetchResult
from agentcore.crawl.curl_state import (Fetch, Host, Transfer, cainfo, checked_target,
                                        connect_to, result)
from agentcore.crawl.policy import next_hop, retry_delay, target_problem
from agentcore.crawl.resolver import HostSet, StaticResolver
from agentcore.crawl.transport import Failure, numeric_host_failure

if TYPE_CHECKING:
    from agentcore.crawl.outcome import FetchConfig

__all__ = ["CurlFetcher", "checked_target"]

_IN, _OUT = select.EPOLLIN, select.EPOLLOUT
_WATCH = {pycurl.POLL_IN: _IN, pycurl.POLL_OUT: _OUT, pycurl.POLL_INOUT: _IN | _OUT}

class CurlFetcher:
    """Fetches URLs on its own thread; ``submit([(url, done), ...])`` from any thread, and each
    ``done(FetchResult)`` is called on that thread (it must be quick and must not block).

    ``stats`` counts results by reason ("ok" for usable pages), "attempts" and "bytes", as the
    ``Fetcher``'s do. ``static_hosts`` and ``allowed_hosts`` mean what they mean there.
    """

    def __init__(self, config: "FetchConfig", *, static_hosts: Mapping[str, tuple[str, int]] | None = None,
                 allowed_hosts: HostSet | None = None, stats: Counter | None = None,
                 on_round: Callable[[], None] | None = None):
        self.config = config
        self._on_round = on_round  # called on the thread once per round of its loop
        self.static_set = HostSet(static_hosts or {})
        self.static = StaticResolver(static_hosts or {}, config.allow_private)
        self.allowed_hosts = allowed_hosts
        self.stats = stats if stats is not None else Counter()
        self._hosts: dict[str, Host] = {}
        self._pins: dict[tuple[str, int], str] = {}  # (host, port) -> "ip:port" checked
        self._pinning: dict[tuple[str, int], list] = {}  # fetches waiting for a resolution
        self._inbox: deque = deque()
        self._timers: list = []
        self._seq = 0
        self._ready: deque = deque()  # host slot taken and start time reached; want a transfer
        self._active = 0
        self._free: list[Transfer] = []
        self._live: set = set()
        self._curl_due: float | None = None
        self._fds: set[int] = set()  # sockets registered with epoll
        self._running: set[Transfer] = set()  # transfers in libcurl's hands
        self._sweep_every = min(0.25, config.read_timeout / 4)
        self._next_sweep = 0.0
        self._asleep = False
        self._closing = False
        self._crashed: str | None = None  # the thread's own failure (a bug), once it stopped
        self._thread: threading.Thread | None = None
        self._resolver_pool: ThreadPoolExecutor | None = None
        self._cainfo = cainfo()

    # ---- any thread ---------------------------------------------------------------------------

    def start(self) -> None:
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._ep = select.epoll()
        self._ep.register(self._wake_r, _IN)
        m = self._multi = pycurl.CurlMulti()
        # idle connections kept for reuse: a crawl has up to per_host_limit open per host, and
        # its hosts take turns; a cache the size of the global limit (as before) evicted them
        # between a host's requests: 9,473 connects for 12,000 requests of the local web
        m.setopt(pycurl.M_MAXCONNECTS, 4 * self.config.global_limit)
        m.setopt(pycurl.M_SOCKETFUNCTION, self._on_socket)
        m.setopt(pycurl.M_TIMERFUNCTION, self._on_timer)
        self._thread = threading.Thread(target=self._run, name="agentcore-curl", daemon=True)
        self._thread.start()

    def submit(self, items: Iterable[tuple[str, Callable[[FetchResult], None]]]) -> None:
        """Fetch each ``(url, done)``; thread-safe and non-blocking."""
        if self._crashed is not None:  # nobody would step them: they fail now, with the cause
            for url, done, *_ in items:
                done(FetchResult(url, url, None, {}, b"", "internal_error", self._crashed, 0.0, 0))
            return
        self._inbox.append(list(items))
        self._wake()

    def close(self) -> None:
        """Stop the thread; fetches not finished end with ``connection_error``."""
        if self._thread is None:
            return
        self._closing = True
        self._wake()
        self._thread.join()
        self._thread = None
        if self._resolver_pool is not None:
            self._resolver_pool.shutdown(wait=False, cancel_futures=True)
        os.close(self._wake_r)
        os.close(self._wake_w)
        self._ep.close()

    def _wake(self) -> None:
        if self._asleep:
            self._asleep = False
            try:
                os.write(self._wake_w, b"x")
            except BlockingIOError:  # the pipe is full: the thread is awake anyway
                pass

    # ---- the thread ---------------------------------------------------------------------------

    def _run(self) -> None:
        m, ep, inbox = self._multi, self._ep, self._inbox
        try:
            while not self._closing:
                while inbox:
                    for item in inbox.popleft():
                        if callable(item):  # a resolution finished (from the resolver pool)
                            item()
                        else:
                            self._submit_one(*item)
                now = time.monotonic()
                timers = self._timers
                while timers and timers[0][0] <= now:
                    _, _, kind, f = heapq.heappop(timers)
                    if kind == "start":
                        self._ready.append(f)
                    else:  # a retry after its backoff: back into its host's queue
                        self._queue(f)
                self._pump_ready()
                due = self._curl_due
                if due is not None and due <= now:
                    self._curl_due = None
                    m.socket_action(pycurl.SOCKET_TIMEOUT, 0)
                self._collect()
                if self._running and now >= self._next_sweep:
                    self._sweep(now)
                if self._on_round is not None:
                    self._on_round()
                if inbox or self._ready and self._active < self.config.global_limit:
                    continue
                wait = self._wait(time.monotonic())
                self._asleep = True
                if inbox or self._closing:
                    self._asleep = False
                    continue
                events = ep.poll(wait)
                self._asleep = False
                for fd, ev in events:
                    if fd == self._wake_r:
                        try:
                            os.read(fd, 4096)
                        except BlockingIOError:
                            pass
                        continue
                    flags = 0
                    if ev & _IN:
                        flags |= pycurl.CSELECT_IN
                    if ev & _OUT:
                        flags |= pycurl.CSELECT_OUT
                    if ev & (select.EPOLLERR | select.EPOLLHUP):
                        flags |= pycurl.CSELECT_ERR
                    m.socket_action(fd, flags)
                self._collect()
        except BaseException as exc:  # a bug in the loop itself: every fetch fails with it
            self._crashed = f"the fetcher's thread stopped: {exc!r}"
            raise
        finally:
            self._shutdown()

    def _wait(self, now: float) -> float:
        """Seconds until the next timer (ours or libcurl's); -1: none (until woken)."""
        nxt = [t for t in (self._curl_due, self._timers[0][0] if self._timers else None,
                           self._next_sweep if self._running else None) if t is not None]
        return max(0.0, min(nxt) - now) if nxt else -1

    def _on_socket(self, what: int, fd: int, multi, data) -> None:
        ep, fds = self._ep, self._fds
        if what == pycurl.POLL_REMOVE:
            if fd in fds:
                fds.discard(fd)
                try:
                    ep.unregister(fd)
                except (OSError, ValueError):  # closed already: epoll forgot it
                    pass
            return
        mask = _WATCH.get(what, _IN)
        if fd in fds:
            try:
                ep.modify(fd, mask)
                return
            except FileNotFoundError:  # closed and reopened under the same number
                pass
        ep.register(fd, mask)
        fds.add(fd)

    def _on_timer(self, ms: int) -> None:
        self._curl_due = None if ms < 0 else time.monotonic() + ms / 1000.0

    def _after(self, delay: float, kind: str, f: Fetch) -> None:
        self._seq += 1
        heapq.heappush(self._timers, (time.monotonic() + delay, self._seq, kind, f))

    # ---- a fetch's steps ------------------------------------------------------------------------

    def _submit_one(self, url: str, done, robots: bool | None = None, check_type: bool = True,
                    count: bool = True) -> None:
        f = Fetch(url, done, self.config.respect_robots if robots is None else robots,
                   check_type, count)
        self._live.add(f)
        try:
            f.current = URL(url)
        except (ValueError, TypeError) as exc:
            f.current_s = url
            self._fail(f, "bad_url", str(exc))
            return
        s = str(f.current)
        f.current_s = url if s == url else s  # one string, not two equal ones
        self._guard(self._hop, f)

    def _guard(self, step, f: Fetch, *args) -> None:
        """Run one step of ``f``; a bug fails that fetch (internal_error), never the thread."""
        try:
            step(f, *args)
        except Exception as exc:  # noqa: BLE001
            if f in self._live:
                self._fail(f, "internal_error", repr(exc))

    def _hop(self, f: Fetch) -> None:
        """Check the URL about to be requested, then its host's robots.txt, then queue it."""
        bad = target_problem(self.config, self.static_set, self.allowed_hosts, f.current,
                             f.origin)
        if bad:
            self._fail(f, *bad)
            return
        key = f.current.host.lower()
        f.origin = f.origin or key
        f.host = key
        if f.robots:
            host = self._host(key)
            matcher = host.matcher
            if matcher is None:
                if host.waiting is None:
                    host.waiting = []
                    self._load_robots(f.current, host)
                host.waiting.append(f)
                return
            rules = matcher.rules
            if isinstance(rules, FetchResult):
                self._fail(f, rules.error_reason, f"robots.txt: {rules.error_detail}")
                return
            if not matcher.allows(f.current_s):
                self._fail(f, "robots_disallowed", f"robots.txt disallows {f.current.path}")
                return
        u = f.current
        f.port = u.port or (443 if u.scheme == "https" else 80)
        f.current = None  # checked: the queues keep the string (see Fetch.current)
        self._queue(f)

    def _load_robots(self, u, host: Host) -> None:
        url = robots_txt.robots_url(u)

        def loaded(res) -> None:
            c = self.config
            rules = robots_txt.rules_from(res, url)
            host.matcher = robots_txt.Matcher(rules, c.robots_agent)
            host.delay = max(host.delay, robots_txt.crawl_delay(rules, c.robots_agent,
                                                                c.max_crawl_delay))
            waiting, host.waiting = host.waiting, None
            for f in waiting:
                self._guard(self._hop, f)

        self._submit_one(url, loaded, robots=False, check_type=False, count=False)

    def _host(self, key: str) -> Host:
        h = self._hosts.get(key)
        if h is None:
            h = self._hosts[key] = Host(self.config.politeness_delay)
        return h

    def _queue(self, f: Fetch) -> None:
        """Into its host's queue; started when the host has a free slot and its delay passed."""
        host = self._host(f.host)
        host.queue.append(f)
        self._pump_host(host)

    def _pump_host(self, host: Host) -> None:
        limit = self.config.per_host_limit
        while host.active < limit and host.queue:
            f = host.queue.popleft()
            host.active += 1
            now = time.monotonic()
            wait = host.next_start - now
            host.next_start = max(now, host.next_start) + host.delay
            if wait > 0:
                self._after(wait, "start", f)
            else:
                self._ready.append(f)

    def _pump_ready(self) -> None:
        ready, limit = self._ready, self.config.global_limit
        while ready and self._active < limit:
            f = ready.popleft()
            self._guard(self._start, f)

    def _start(self, f: Fetch) -> None:
        """Pin the host to a checked address (resolving it first if need be), then request."""
        key = (f.host, f.port)
        target = self._pins.get(key)
        if target is None:
            target = self._pin(f, key)
            if target is None:
                return  # waiting for the resolver, or failed
        self.stats["attempts"] += 1
        t = self._free.pop() if self._free else Transfer(self.config, self._cainfo)
        t.begin(f, target)
        self._active += 1
        self._running.add(t)
        self._multi.add_handle(t.curl)

    def _pin(self, f: Fetch, key: tuple[str, int]) -> str | None:
        host, port = key
        refused = numeric_host_failure(host)
        if refused is not None:
            self.stats["attempts"] += 1
            self._release(f)
            self._attempt_failed(f, refused)
            return None
        found = self.static.lookup(host)
        if found is not None:
            target = self._pins[key] = connect_to(host, port, *found)
            return target
        waiting = self._pinning.get(key)
        if waiting is None:
            waiting = self._pinning[key] = []
            if self._resolver_pool is None:
                self._resolver_pool = ThreadPoolExecutor(4, thread_name_prefix="agentcore-dns")
            self._resolver_pool.submit(self._resolve, key)
        waiting.append(f)
        return None

    def _resolve(self, key: tuple[str, int]) -> None:
        """On a resolver thread: the pin for ``key``, handed back to the fetcher's thread."""
        result = checked_target(*key, self.config.allow_private)
        self._inbox.append([lambda: self._pinned(key, result)])
        self._wake()

    def _pinned(self, key, result) -> None:
        waiting = self._pinning.pop(key, [])
        if isinstance(result, str):
            self._pins[key] = result
            for f in waiting:
                self._guard(self._start, f)
            return
        for f in waiting:  # not cached: a later fetch asks the resolver again
            self.stats["attempts"] += 1
            self._release(f)
            self._attempt_failed(f, Failure(result.reason, result.detail))

    def _collect(self) -> None:
        """Finish every transfer libcurl has completed."""
        m = self._multi
        while True:
            n_left, ok, bad = m.info_read()
            for c in ok:
                self._transfer_done(c, None, "")
            for c, code, msg in bad:
                self._transfer_done(c, code, msg)
            if n_left == 0:
                return

    def _sweep(self, now: float) -> None:
        """End the transfers silent for longer than the read timeout (``timeout``, retried)."""
        self._next_sweep = now + self._sweep_every
        limit = self.config.read_timeout
        for t in [t for t in self._running if now - t.seen > limit]:
            since = t.silent_since()
            if since is not None and now - since > limit:
                self._transfer_done(t.curl, pycurl.E_OPERATION_TIMEDOUT, "read timeout")

    def _transfer_done(self, curl, code, message) -> None:
        t = curl.transfer
        f = t.fetch
        self._multi.remove_handle(curl)
        self._running.discard(t)
        self._active -= 1
        try:
            if code is not None:
                raise t.error(code, message)
            answer = t.outcome()
        except Failure as failure:
            # without its traceback: its frames (this one's ``answer``, the transfer's write and
            # the inflater's feed) made a cycle that kept a refused body (up to
            # max_decompressed bytes) until a full collection
            answer = failure.with_traceback(None)
        except Exception as exc:  # noqa: BLE001 - a bug: that fetch fails, the thread goes on
            answer = Failure("internal_error", repr(exc))
        t.fetch = t.inflater = t.failure = None  # an idle handle keeps no body
        self._free.append(t)
        self._release(f)
        if isinstance(answer, Failure):
            if answer.reason == "internal_error":
                self._fail(f, answer.reason, answer.detail)
            else:
                self._attempt_failed(f, answer)
            return
        self._guard(self._answered, f, answer)

    def _release(self, f: Fetch) -> None:
        """Give back the host slot ``f`` held for its attempt."""
        host = self._hosts[f.host]
        host.active -= 1
        self._pump_host(host)

    def _answered(self, f: Fetch, answer) -> None:
        status, headers, body, location = answer
        f.attempts += f.tries
        f.tries = 1
        f.status = status
        if location is not None:
            f.redirects += 1
            if f.visited is None:
                f.visited = {f.current_s}
            nxt = next_hop(URL(f.current_s), location, f.visited, f.redirects,
                           self.config.max_redirects)
            if isinstance(nxt, tuple):
                self._fail(f, *nxt)
                return
            f.current, f.current_s = nxt, str(nxt)
            self._hop(f)
            return
        self.stats["bytes"] += len(body)
        self._end(f, result(f, status, headers, body, None, ""))

    def _attempt_failed(self, f: Fetch, failure: Failure) -> None:
        delay = retry_delay(self.config, failure, f.tries)
        if delay is None:
            f.attempts += f.tries
            f.status = failure.status
            self._fail(f, failure.reason, failure.detail, failure.wire_bytes)
            return
        f.tries += 1
        self._after(delay, "retry", f)

    def _fail(self, f: Fetch, reason: str, detail: str, wire_bytes: int = 0) -> None:
        self._end(f, result(f, f.status, {}, b"", reason, detail, wire_bytes))

    def _end(self, f: Fetch, res: FetchResult) -> None:
        self._live.discard(f)
        if f.count:
            self.stats[res.error_reason or "ok"] += 1
        try:
            f.done(res)
        except Exception:  # noqa: BLE001 - the caller's callback; its fetch is over either way
            import traceback

            traceback.print_exc()

    def _shutdown(self) -> None:
        """On the thread, at close: end what is still live, free libcurl's handles."""
        for f in list(self._live):
            if self._crashed is not None:
                self._fail(f, "internal_error", self._crashed)
            else:
                self._fail(f, "connection_error", "the fetcher closed before the fetch ended")
        m = self._multi
        for t in self._free:
            t.curl.close()
        m.close()
