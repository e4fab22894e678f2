"""Polite, bounded HTTP fetching for crawler agents: every failure becomes a result with a reason.

>>> async with Fetcher(static_hosts={"*.test": ("127.0.0.1", port)}) as fetcher:  # doctest: +SKIP
...     result = await fetcher.fetch("http://site-0042.test/")
...     result.ok, result.status, result.error_reason, len(result.body)
(True, 200, None, 7018)

Failure reasons (``FetchResult.error_reason``), each with a human ``error_detail``:

==========================  ================================================================
``timeout``                 connect, read or total timeout (retried)
``connection_refused``      nothing listens on the port (retried)
``connection_error``        reset, closed early, bad HTTP framing (retried)
``dns_error``               the host name does not resolve
``http_<code>``             final non-2xx status, e.g. ``http_404``, ``http_500`` (5xx retried)
``too_large``               body over ``max_body`` bytes (by Content-Length or while streaming)
``decompressed_too_large``  decoded body over ``max_decompressed`` bytes (a gzip bomb)
``bad_encoding``            corrupt gzip/deflate data, or an unsupported Content-Encoding
``bad_content_type``        not HTML/XHTML/text
``binary_content``          declared text but the bytes are binary
``redirect_loop``           a redirect came back to a URL already visited
``too_many_redirects``      more than ``max_redirects`` hops
``redirect_offsite``        a redirect off the site (or outside ``allowed_hosts`` when given)
``redirect_invalid``        a redirect without a usable Location
``ssrf_blocked``            a private, loopback, link-local or metadata address (169.254.169.254)
``host_not_allowed``        the requested URL's host is outside the allowed set
``bad_url``                 not an http(s) URL
``robots_disallowed``       robots.txt forbids the path for our user agent
``robots_unavailable``      robots.txt answered 5xx: RFC 9309 says assume everything disallowed
``internal_error``          a bug: the exception is in the detail
==========================  ================================================================

The SSRF guard (names and addresses a crawler must not reach) is ``agentcore.crawl.resolver``,
robots.txt rules ``agentcore.crawl.robots``, the throughput command ``agentcore.crawl.cli``.
"""

from __future__ import annotations

import asyncio
import importlib.util
import time
from collections import Counter
from dataclasses import replace
from typing import Any, Iterable, Mapping

from agentcore.crawl import robots as robots_txt
from agentcore.crawl.outcome import FetchConfig, FetchResult
from agentcore.crawl.policy import RETRYABLE, next_hop, retry_delay, target_problem
from agentcore.crawl.resolver import HostSet, SSRFBlocked, blocked_address
from agentcore.crawl.slots import Slots
from agentcore.crawl.transport import REDIRECT_CODES, AiohttpTransport, Failure

__all__ = ["FetchConfig", "FetchResult", "Fetcher", "SSRFBlocked", "blocked_address", "HostSet",
           "RETRYABLE", "REDIRECT_CODES", "transport_kind"]


TRANSPORTS = ("curl", "reqwest", "aiohttp")
_MODULES = {"curl": "pycurl", "reqwest": "pyreqwest", "aiohttp": "aiohttp"}


def transport_kind(config: FetchConfig) -> str:
    """The HTTP client ``config.transport`` names ("auto": the first of TRANSPORTS installed)."""
    kind = config.transport
    if kind == "auto":
        return next((k for k in TRANSPORTS if importlib.util.find_spec(_MODULES[k])), "aiohttp")
    if kind not in TRANSPORTS:
        raise ValueError(f"FetchConfig.transport {kind!r}: use 'auto' or one of {TRANSPORTS}")
    return kind


def _settle(fut: asyncio.Future, result) -> None:
    if not fut.done():
        fut.set_result(result)


class _Host:
    """Per-host politeness state: a slot semaphore, the next allowed start, robots rules."""

    __slots__ = ("sem", "next_start", "delay", "robots", "robots_task", "matcher")

    def __init__(self, limit: int, delay: float):
        self.sem = Slots(limit)
        self.next_start = 0.0
        self.delay = delay
        self.robots: robots_txt.Rules | None = None
        self.robots_task: asyncio.Future | None = None
        self.matcher: robots_txt.Matcher | None = None  # set with robots


class Fetcher:
    """Fetch pages politely and safely over one HTTP client (``FetchConfig.transport``).

    Parameters
    ----------
    config : FetchConfig, optional; keyword overrides of its fields are accepted too.
    static_hosts : {"name" or "*.suffix": (ip, port)} resolved without DNS, e.g. the local
        web's ``server.host_map()`` or ``{"*.test": ("127.0.0.1", port)}``.
    allowed_hosts : names or ``*.suffix`` patterns that redirects may reach, and the only hosts
        fetch() accepts. None: any host may be fetched, and redirects must stay on the site of
        the URL being fetched (``agentcore.kernels.urls.same_site``: ``www.`` aside, or a
        subdomain either way), the rule that makes the extractor's links internal.
    """

    def __init__(
        self,
        config: FetchConfig | None = None,
        *,
        static_hosts: Mapping[str, tuple[str, int]] | None = None,
        allowed_hosts: Iterable[str] | None = None,
        **overrides: Any,
    ):
        self.config = replace(config or FetchConfig(), **overrides)
        self.static_hosts = dict(static_hosts or {})
        self._static_set = HostSet(self.static_hosts)
        self.allowed_hosts = None if allowed_hosts is None else HostSet(allowed_hosts)
        self.stats: Counter = Counter()  # "ok", reasons, "attempts", "bytes"
        self._hosts: dict[str, _Host] = {}
        self._transport = None
        self._curl = None  # the CurlFetcher (or CurlProcess) when the transport is "curl"
        #: the curl fetcher's child process once closed: peak RSS (bytes) and CPU (s); 0 if none
        self.child_peak_rss, self.child_cpu = 0, 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._global: Slots | None = None

    # -- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> "Fetcher":
        await self.open()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def open(self) -> None:
        c = self.config
        self._loop = asyncio.get_running_loop()
        self._global = Slots(c.global_limit)
        kind = transport_kind(c)
        if kind == "curl":
            if c.curl_process:
                from agentcore.crawl.curl_proc import CurlProcess as CurlFetcher
            else:
                from agentcore.crawl.curl import CurlFetcher

            self._curl = CurlFetcher(c, static_hosts=self.static_hosts,
                                     allowed_hosts=self.allowed_hosts, stats=self.stats)
            self._curl.start()
            self._transport = self._curl
            return
        if kind == "reqwest":
            from agentcore.crawl.reqwest import ReqwestTransport

            transport = ReqwestTransport(c, self.static_hosts, c.allow_private)
        else:
            transport = AiohttpTransport(c, self.static_hosts, c.allow_private)
        await transport.open()
        self._transport = transport

    @property
    def batch(self):
        """The CurlFetcher doing the fetches (``submit([(url, done), ...])``), or None when the
        transport is an asyncio client."""
        return self._curl

    async def close(self) -> None:
        if self._curl is not None:
            self._curl.close()
            self.child_peak_rss = getattr(self._curl, "peak_rss", 0)
            self.child_cpu = getattr(self._curl, "cpu", 0.0)
            self._curl = self._transport = None
            return
        if self._transport is not None:
            await self._transport.close()
            self._transport = None
        for h in self._hosts.values():
            if h.robots_task is not None and not h.robots_task.done():
                h.robots_task.cancel()

    # -- public ------------------------------------------------------------------------------

    async def fetch(self, url: str) -> FetchResult:
        """Fetch one URL, following redirects; never raises for network or content problems."""
        if self._transport is None:
            raise RuntimeError("Fetcher is not open: use 'async with Fetcher(...) as f:'")
        if self._curl is not None:
            return await self._fetch_curl(url)
        t0 = time.perf_counter()
        try:
            result = await self._fetch(url, t0, robots=self.config.respect_robots,
                                       check_type=True)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug here must not kill the crawl; it is recorded instead
            result = FetchResult(url, url, None, {}, b"", "internal_error", repr(exc),
                                 time.perf_counter() - t0, 0)
        self.stats[result.error_reason or "ok"] += 1
        return result

    async def _fetch_curl(self, url: str, *how) -> FetchResult:
        """One fetch by the CurlFetcher; ``how``: (robots, check_type, count) when not the
        defaults."""
        loop = self._loop
        fut = loop.create_future()

        def done(result: FetchResult) -> None:  # on the curl thread
            loop.call_soon_threadsafe(_settle, fut, result)

        self._curl.submit([(url, done, *how)])
        return await fut

    async def fetch_many(self, urls: Iterable[str]) -> list[FetchResult]:
        """Fetch many URLs concurrently (bounded by the per-host and global limits), in order."""
        return list(await asyncio.gather(*(self.fetch(u) for u in urls)))

    async def allowed_by_robots(self, url: str) -> bool:
        """True if the host's robots.txt lets our agent fetch ``url`` (fetched once per host)."""
        from yarl import URL

        u = URL(url)
        if self._curl is not None:
            where = robots_txt.robots_url(u)
            res = await self._fetch_curl(where, False, False, False)
            rules = robots_txt.rules_from(res, where)
            return robots_txt.Matcher(rules, self.config.robots_agent).allows(url)
        await self._robots_for(u)
        return self._host(u.host.lower()).matcher.allows(url)

    # -- internals ---------------------------------------------------------------------------

    def _host(self, key: str) -> _Host:
        h = self._hosts.get(key)
        if h is None:
            h = self._hosts[key] = _Host(self.config.per_host_limit, self.config.politeness_delay)
        return h

    def _check_target(self, u, origin: str | None) -> tuple[str, str] | None:
        """(reason, detail) if the URL must not be requested; origin is None for the first hop."""
        return target_problem(self.config, self._static_set, self.allowed_hosts, u, origin)

    async def _fetch(self, url: str, t0: float, robots: bool, check_type: bool) -> FetchResult:
        from yarl import URL

        try:
            current = URL(url)
        except (ValueError, TypeError) as exc:
            return FetchResult(url, url, None, {}, b"", "bad_url", str(exc), 0.0, 0)
        origin = None
        current_s = str(current)
        visited = {current_s}
        attempts = redirects = 0
        status = None

        def fail(reason: str, detail: str, wire_bytes: int = 0) -> FetchResult:
            return FetchResult(url, current_s, status, {}, b"", reason, detail,
                               time.perf_counter() - t0, attempts, redirects, wire_bytes)

        while True:
            bad = self._check_target(current, origin)
            if bad:
                return fail(*bad)
            origin = origin or current.host.lower()
            if robots:
                matcher = self._host(current.host.lower()).matcher
                if matcher is None:
                    await self._robots_for(current)
                    matcher = self._host(current.host.lower()).matcher
                rules = matcher.rules
                if isinstance(rules, FetchResult):
                    return fail(rules.error_reason, f"robots.txt: {rules.error_detail}")
                if not matcher.allows(current_s):
                    return fail("robots_disallowed", f"robots.txt disallows {current.path}")
            try:
                status, headers, body, location, n = await self._with_retries(
                    current, check_type
                )
                attempts += n
            except Failure as f:
                f.with_traceback(None)  # its frames (and the body read so far) go now, not at a
                attempts += f.attempts  # full collection
                status = f.status
                return fail(f.reason, f.detail, f.wire_bytes)
            if location is not None:
                redirects += 1
                nxt = next_hop(current, location, visited, redirects, self.config.max_redirects)
                if isinstance(nxt, tuple):
                    return fail(*nxt)
                current = nxt
                current_s = str(current)
                continue
            self.stats["bytes"] += len(body)
            return FetchResult(url, current_s, status, headers, body, None, "",
                               time.perf_counter() - t0, attempts, redirects)

    async def _with_retries(self, u, check_type: bool):
        """One hop with bounded retries. Returns (status, headers, body, location, attempts)."""
        c = self.config
        host = self._host(u.host.lower())
        loop, sem, slots = self._loop, host.sem, self._global
        for attempt in range(1, c.max_attempts + 1):
            # take() / wait() / release(): `async with` without two coroutines per slot
            if not sem.take():
                await sem.wait()
            try:
                now = loop.time()
                wait = host.next_start - now
                host.next_start = max(now, host.next_start) + host.delay
                if wait > 0:
                    await asyncio.sleep(wait)
                self.stats["attempts"] += 1
                if not slots.take():
                    await slots.wait()
                try:
                    status, headers, body, location = await self._transport.get(u, check_type)
                    return status, headers, body, location, attempt
                except Failure as f:
                    failure = f.with_traceback(None)  # no cycle through this frame
                finally:
                    slots.release()
            finally:
                sem.release()
            delay = retry_delay(c, failure, attempt)
            if delay is None:
                failure.attempts = attempt
                raise failure
            await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    async def _robots_for(self, u):
        """The parsed robots.txt for u's host (fetched once, shared by concurrent callers), or
        the FetchResult of a failure that forbids crawling the host."""
        host = self._host(u.host.lower())
        if host.robots is not None:
            return host.robots
        if host.robots_task is None:
            host.robots_task = asyncio.ensure_future(self._load_robots(u, host))
        return await asyncio.shield(host.robots_task)

    async def _load_robots(self, u, host: _Host) -> robots_txt.Rules:
        url = robots_txt.robots_url(u)
        res = await self._fetch(url, time.perf_counter(), robots=False, check_type=False)
        host.robots = robots_txt.rules_from(res, url)
        c = self.config
        host.matcher = robots_txt.Matcher(host.robots, c.robots_agent)
        host.delay = max(host.delay, robots_txt.crawl_delay(host.robots, c.robots_agent,
                                                            c.max_crawl_delay))
        return host.robots


if __name__ == "__main__":  # the CLI moved to agentcore.crawl.cli; this spelling still works
    from agentcore.crawl.cli import main

    raise SystemExit(main())
