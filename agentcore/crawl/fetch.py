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
``redirect_offsite``        a redirect to a host outside the allowed set
``redirect_invalid``        a redirect without a usable Location
``ssrf_blocked``            a private, loopback, link-local or metadata address (169.254.169.254)
``host_not_allowed``        the requested URL's host is outside the allowed set
``bad_url``                 not an http(s) URL
``robots_disallowed``       robots.txt forbids the path for our user agent
``robots_unavailable``      robots.txt answered 5xx: RFC 9309 says assume everything disallowed
``internal_error``          a bug: the exception is in the detail
==========================  ================================================================
"""

from __future__ import annotations

import asyncio
import ipaddress
import random
import socket
import time
import zlib
from collections import Counter
from dataclasses import dataclass, replace
from typing import Any, Iterable, Mapping

RETRYABLE = frozenset({"timeout", "connection_refused", "connection_error"})
REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
_KEEP_HEADERS = ("content-type", "content-encoding", "content-length", "last-modified")
_BLOCKED_NAMES = frozenset({"localhost", "metadata", "metadata.google.internal", "instance-data"})


@dataclass(frozen=True, slots=True)
class FetchConfig:
    """Limits and manners of a Fetcher. All times in seconds, sizes in bytes."""

    user_agent: str = "agentcore-crawler/0.1"
    robots_agent: str = "agentcore"  # the token matched against robots.txt User-agent lines
    global_limit: int = 256  # open connections in all
    per_host_limit: int = 2  # requests in flight per host
    politeness_delay: float = 0.05  # least time between request starts on one host
    max_crawl_delay: float = 2.0  # cap on a robots.txt Crawl-delay
    connect_timeout: float = 3.0
    read_timeout: float = 5.0  # longest silence while waiting for bytes
    total_timeout: float = 10.0  # one attempt, headers and body
    max_attempts: int = 3  # first try included
    backoff: float = 0.2  # wait before retry k is backoff * 2**(k-1), with jitter
    max_backoff: float = 5.0
    max_body: int = 4 << 20  # bytes on the wire
    max_decompressed: int = 8 << 20  # bytes after gzip/deflate
    max_redirects: int = 5
    respect_robots: bool = True
    allow_private: bool = False  # True lets real names resolve to private/loopback addresses
    content_types: tuple[str, ...] = ("text/html", "application/xhtml+xml", "text/plain")


@dataclass(slots=True)
class FetchResult:
    """The outcome of one fetch. `error_reason` is None exactly when the page is usable."""

    url: str
    final_url: str
    status: int | None
    headers: dict[str, str]
    body: bytes
    error_reason: str | None
    error_detail: str
    elapsed: float
    attempts: int
    redirects: int = 0

    @property
    def ok(self) -> bool:
        return self.error_reason is None

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")

    def text(self) -> str:
        """The body decoded: header charset, else <meta> charset, else UTF-8, else cp1252."""
        return decode_html(self.body, self.content_type)[0]


class SSRFBlocked(OSError):
    """A host name resolved to an address a crawler must never reach."""


def blocked_address(host: str) -> bool:
    """True for IP literals and names that point into private, loopback, link-local (cloud
    metadata), multicast or reserved space."""
    host = host.strip("[]").lower().rstrip(".")
    if ":" not in host and not host[-1:].isdigit():
        # A name, not an address (IPv4 ends in a digit, IPv6 has colons): skip the parser,
        # whose ValueError costs more than the rest of the URL checks together.
        return host in _BLOCKED_NAMES or host.endswith(".localhost")
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host in _BLOCKED_NAMES
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast
        or ip.is_reserved or ip.is_unspecified
    )


class HostSet:
    """Host names and "*.suffix" patterns: names match in O(1), suffixes in one endswith."""

    __slots__ = ("names", "suffixes")

    def __init__(self, patterns: Iterable[str]):
        patterns = [p.lower().rstrip(".") for p in patterns]
        self.names = frozenset(p for p in patterns if not p.startswith("*."))
        self.suffixes = tuple(p[1:] for p in patterns if p.startswith("*."))

    def __contains__(self, host: str) -> bool:
        return host in self.names or (bool(self.suffixes) and host.endswith(self.suffixes))


def _make_resolver(static_hosts: Mapping[str, tuple[str, int]], allow_private: bool):
    """An aiohttp resolver: the run's names go to fixed (ip, port) pairs, with the port too,
    so URLs carry no port and stay stable across server restarts; any other name goes to the
    system resolver and is refused if it lands on a private address."""
    from aiohttp.abc import AbstractResolver
    from aiohttp.resolver import ThreadedResolver

    exact = {h.lower(): v for h, v in static_hosts.items() if not h.startswith("*.")}
    wildcard = [(h[1:].lower(), v) for h, v in static_hosts.items() if h.startswith("*.")]

    class StaticResolver(AbstractResolver):
        def __init__(self):
            self._system = None

        async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET):
            target = exact.get(host.lower())
            if target is None:
                for suffix, value in wildcard:
                    if host.lower().endswith(suffix):
                        target = value
                        break
            if target is not None:
                ip, mapped_port = target
                return [{"hostname": host, "host": ip, "port": mapped_port,
                         "family": socket.AF_INET6 if ":" in ip else socket.AF_INET,
                         "proto": 0, "flags": socket.AI_NUMERICHOST}]
            if self._system is None:
                self._system = ThreadedResolver()
            infos = await self._system.resolve(host, port, family)
            if not allow_private:
                infos = [i for i in infos if not blocked_address(i["host"])]
                if not infos:
                    raise SSRFBlocked(f"{host} resolves only to private or reserved addresses")
            return infos

        async def close(self) -> None:
            if self._system is not None:
                await self._system.close()

    return StaticResolver()


class _Host:
    """Per-host politeness state: a slot semaphore, the next allowed start, robots rules."""

    __slots__ = ("sem", "next_start", "delay", "robots", "robots_task")

    def __init__(self, limit: int, delay: float):
        self.sem = asyncio.Semaphore(limit)
        self.next_start = 0.0
        self.delay = delay
        self.robots: Any = None  # RobotFileParser, or a FetchResult failure
        self.robots_task: asyncio.Future | None = None


class _Failure(Exception):
    """Internal: ends an attempt with a reason."""

    def __init__(self, reason: str, detail: str, status: int | None = None, retry_after=None):
        super().__init__(reason)
        self.reason, self.detail = reason, detail
        self.status, self.retry_after = status, retry_after
        self.attempts = 1


class Fetcher:
    """Fetch pages politely and safely with one shared aiohttp session.

    Parameters
    ----------
    config : FetchConfig, optional; keyword overrides of its fields are accepted too.
    static_hosts : {"name" or "*.suffix": (ip, port)} resolved without DNS, e.g. the local
        web's ``server.host_map()`` or ``{"*.test": ("127.0.0.1", port)}``.
    allowed_hosts : names or ``*.suffix`` patterns that redirects may reach, and the only hosts
        fetch() accepts. None: any host may be fetched, and redirects must stay on the host of
        the URL being fetched.
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
        self._session = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._global: asyncio.Semaphore | None = None

    # -- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> "Fetcher":
        await self.open()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def open(self) -> None:
        import aiohttp

        c = self.config
        self._loop = asyncio.get_running_loop()
        self._global = asyncio.Semaphore(c.global_limit)
        connector = aiohttp.TCPConnector(
            # Our own semaphores bind first; the connector's limits only back them up, so no
            # request waits for a pooled connection while its timeout runs.
            limit=c.global_limit + 8,
            limit_per_host=c.per_host_limit + 2,
            resolver=_make_resolver(self.static_hosts, c.allow_private),
            ttl_dns_cache=300,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            auto_decompress=False,  # we inflate ourselves, with a cap on the inflated size
            cookie_jar=aiohttp.DummyCookieJar(),
            timeout=aiohttp.ClientTimeout(
                total=c.total_timeout, sock_connect=c.connect_timeout, sock_read=c.read_timeout
            ),
            headers={
                "User-Agent": c.user_agent,
                "Accept": "text/html,application/xhtml+xml;q=0.9,text/plain;q=0.8,*/*;q=0.1",
                "Accept-Encoding": "gzip, deflate",
            },
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        for h in self._hosts.values():
            if h.robots_task is not None and not h.robots_task.done():
                h.robots_task.cancel()

    # -- public ------------------------------------------------------------------------------

    async def fetch(self, url: str) -> FetchResult:
        """Fetch one URL, following redirects; never raises for network or content problems."""
        if self._session is None:
            raise RuntimeError("Fetcher is not open: use 'async with Fetcher(...) as f:'")
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

    async def fetch_many(self, urls: Iterable[str]) -> list[FetchResult]:
        """Fetch many URLs concurrently (bounded by the per-host and global limits), in order."""
        return list(await asyncio.gather(*(self.fetch(u) for u in urls)))

    async def allowed_by_robots(self, url: str) -> bool:
        from yarl import URL

        u = URL(url)
        rules = await self._robots_for(u)
        return not isinstance(rules, FetchResult) and rules.can_fetch(
            self.config.robots_agent, url
        )

    # -- internals ---------------------------------------------------------------------------

    def _host(self, key: str) -> _Host:
        h = self._hosts.get(key)
        if h is None:
            h = self._hosts[key] = _Host(self.config.per_host_limit, self.config.politeness_delay)
        return h

    def _check_target(self, u, origin: str | None) -> tuple[str, str] | None:
        """(reason, detail) if the URL must not be requested; origin is None for the first hop."""
        if u.scheme not in ("http", "https") or not u.host:
            return ("redirect_invalid" if origin else "bad_url"), f"not an http(s) URL: {u}"
        host = u.host.lower()
        if not self.config.allow_private and blocked_address(host) and host not in (
            self._static_set
        ):
            return "ssrf_blocked", f"{host} is a private, loopback or link-local address"
        if origin is None:
            if self.allowed_hosts is not None and host not in self.allowed_hosts:
                return "host_not_allowed", f"{host} is not in the allowed hosts"
            return None
        if host == origin or (self.allowed_hosts is not None and host in self.allowed_hosts):
            return None
        return "redirect_offsite", f"redirect from {origin} to {host} leaves the allowed hosts"

    async def _fetch(self, url: str, t0: float, robots: bool, check_type: bool) -> FetchResult:
        from yarl import URL

        try:
            current = URL(url)
        except (ValueError, TypeError) as exc:
            return FetchResult(url, url, None, {}, b"", "bad_url", str(exc), 0.0, 0)
        origin = None
        visited = {str(current)}
        attempts = redirects = 0
        status = None

        def fail(reason: str, detail: str) -> FetchResult:
            return FetchResult(url, str(current), status, {}, b"", reason, detail,
                               time.perf_counter() - t0, attempts, redirects)

        while True:
            bad = self._check_target(current, origin)
            if bad:
                return fail(*bad)
            origin = origin or current.host.lower()
            if robots:
                rules = await self._robots_for(current)
                if isinstance(rules, FetchResult):
                    return fail(rules.error_reason, f"robots.txt: {rules.error_detail}")
                if not rules.can_fetch(self.config.robots_agent, str(current)):
                    return fail("robots_disallowed", f"robots.txt disallows {current.path}")
            try:
                status, headers, body, location, n = await self._with_retries(
                    current, check_type
                )
                attempts += n
            except _Failure as f:
                attempts += f.attempts
                status = f.status
                return fail(f.reason, f.detail)
            if location is not None:
                redirects += 1
                try:
                    nxt = current.join(URL(location))
                except (ValueError, TypeError):
                    return fail("redirect_invalid", f"unusable Location {location!r}")
                key = str(nxt.with_fragment(None))
                if key in visited:
                    return fail("redirect_loop", f"{current} -> {nxt} was visited before")
                if redirects > self.config.max_redirects:
                    return fail("too_many_redirects", f"more than {self.config.max_redirects}")
                visited.add(key)
                current = nxt
                continue
            self.stats["bytes"] += len(body)
            return FetchResult(url, str(current), status, headers, body, None, "",
                               time.perf_counter() - t0, attempts, redirects)

    async def _with_retries(self, u, check_type: bool):
        """One hop with bounded retries. Returns (status, headers, body, location, attempts)."""
        c = self.config
        host = self._host(u.host.lower())
        loop = self._loop
        for attempt in range(1, c.max_attempts + 1):
            async with host.sem:
                now = loop.time()
                wait = host.next_start - now
                host.next_start = max(now, host.next_start) + host.delay
                if wait > 0:
                    await asyncio.sleep(wait)
                self.stats["attempts"] += 1
                try:
                    async with self._global:
                        status, headers, body, location = await self._once(u, check_type)
                    return status, headers, body, location, attempt
                except _Failure as f:
                    failure = f
            if failure.reason not in RETRYABLE and not (
                failure.reason.startswith("http_5") or failure.reason == "http_429"
            ) or attempt == c.max_attempts:
                failure.attempts = attempt
                raise failure
            delay = min(c.max_backoff, c.backoff * 2 ** (attempt - 1))
            delay *= 0.5 + random.random()  # jitter spreads retries of many agents apart
            if failure.retry_after is not None:
                delay = max(delay, min(c.max_backoff, failure.retry_after))
            await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    async def _once(self, u, check_type: bool):
        """One HTTP request; raises _Failure with a reason for anything but a usable answer."""
        import aiohttp

        c = self.config
        try:
            async with self._session.get(u, allow_redirects=False) as resp:
                status = resp.status
                if status in REDIRECT_CODES:
                    location = resp.headers.get("Location")
                    if not location:
                        raise _Failure("redirect_invalid", f"{status} without Location")
                    return status, {}, b"", location
                if not 200 <= status < 300:
                    retry_after = resp.headers.get("Retry-After")
                    try:
                        retry_after = float(retry_after) if retry_after else None
                    except ValueError:
                        retry_after = None
                    raise _Failure(f"http_{status}", f"{status} {resp.reason or ''} at {u}",
                                   status=status, retry_after=retry_after)
                headers = {k: resp.headers[k] for k in _KEEP_HEADERS if k in resp.headers}
                ctype = headers.get("content-type", "").split(";", 1)[0].strip().lower()
                if check_type and ctype and ctype not in c.content_types:
                    raise _Failure("bad_content_type", f"Content-Type {ctype}")
                length = resp.content_length
                if length is not None and length > c.max_body:
                    raise _Failure("too_large", f"Content-Length {length} > {c.max_body}")
                body = await self._read_body(resp, headers.get("content-encoding", ""))
                if check_type and b"\x00" in body[:1024]:
                    raise _Failure("binary_content", f"NUL bytes in a {ctype or 'typeless'} body")
                return status, headers, body, None
        except _Failure:
            raise
        except asyncio.TimeoutError as exc:
            raise _Failure("timeout", f"{type(exc).__name__} after the configured timeout")
        except aiohttp.ClientConnectorError as exc:
            os_error = getattr(exc, "os_error", None)
            if isinstance(os_error, SSRFBlocked) or isinstance(exc.__cause__, SSRFBlocked):
                raise _Failure("ssrf_blocked", str(os_error or exc.__cause__))
            if isinstance(exc, aiohttp.ClientConnectorDNSError):
                raise _Failure("dns_error", str(exc))
            if isinstance(os_error, ConnectionRefusedError):
                raise _Failure("connection_refused", str(exc))
            raise _Failure("connection_error", str(exc))
        except (aiohttp.ClientPayloadError, aiohttp.ServerDisconnectedError,
                aiohttp.ClientOSError, ConnectionError) as exc:
            raise _Failure("connection_error", f"{type(exc).__name__}: {exc}")
        except aiohttp.InvalidURL as exc:
            raise _Failure("bad_url", str(exc))
        except aiohttp.ClientResponseError as exc:  # malformed status line or headers
            raise _Failure("connection_error", f"{type(exc).__name__}: {exc}")

    async def _read_body(self, resp, encoding: str) -> bytes:
        """Stream the body, capping wire bytes at max_body and inflated bytes at
        max_decompressed, so a bomb stops after a few KB of input."""
        c = self.config
        encoding = encoding.strip().lower()
        if encoding in ("", "identity"):
            inflater = None
        elif encoding in ("gzip", "x-gzip"):
            inflater = zlib.decompressobj(31)
        elif encoding == "deflate":
            inflater = zlib.decompressobj(47)  # zlib or gzip header, auto-detected
        else:
            resp.close()
            raise _Failure("bad_encoding", f"unsupported Content-Encoding {encoding!r}")
        parts: list[bytes] = []
        wire = out = 0
        content = resp.content
        while True:
            chunk = await content.readany()
            if not chunk:
                break
            wire += len(chunk)
            if wire > c.max_body:
                resp.close()
                raise _Failure("too_large", f"body passed {c.max_body} bytes while streaming")
            if inflater is None:
                parts.append(chunk)
                continue
            data = chunk
            while data:
                room = c.max_decompressed - out
                try:
                    piece = inflater.decompress(data, room + 1)
                except zlib.error as exc:
                    resp.close()
                    raise _Failure("bad_encoding", f"corrupt {encoding} data: {exc}")
                out += len(piece)
                if out > c.max_decompressed:
                    resp.close()
                    raise _Failure(
                        "decompressed_too_large",
                        f"{encoding} body inflates past {c.max_decompressed} bytes after "
                        f"{wire} bytes on the wire",
                    )
                parts.append(piece)
                data = inflater.unconsumed_tail
        if inflater is not None:
            parts.append(inflater.flush())
            if not inflater.eof:
                raise _Failure("bad_encoding", f"{encoding} stream ends early")
        return b"".join(parts)

    async def _robots_for(self, u):
        """The parsed robots.txt for u's host (fetched once, shared by concurrent callers), or
        the FetchResult of a failure that forbids crawling the host."""
        host = self._host(u.host.lower())
        if host.robots is not None:
            return host.robots
        if host.robots_task is None:
            host.robots_task = asyncio.ensure_future(self._load_robots(u, host))
        return await asyncio.shield(host.robots_task)

    async def _load_robots(self, u, host: _Host):
        from urllib.robotparser import RobotFileParser

        robots_url = str(u.with_path("/robots.txt").with_query(None).with_fragment(None))
        res = await self._fetch(robots_url, time.perf_counter(), robots=False, check_type=False)
        parser = RobotFileParser(robots_url)
        if res.ok:
            parser.parse(res.body.decode("utf-8", "replace").splitlines())
            delay = parser.crawl_delay(self.config.robots_agent)
            if delay:
                host.delay = max(host.delay, min(float(delay), self.config.max_crawl_delay))
            host.robots = parser
        elif res.status is not None and 400 <= res.status < 500:
            parser.allow_all = True  # RFC 9309: no robots.txt means no restrictions
            host.robots = parser
        elif res.error_reason and res.error_reason.startswith("http_"):
            res.error_reason = "robots_unavailable"
            res.error_detail = f"robots.txt answered {res.status}; assuming full disallow"
            host.robots = res
        else:
            host.robots = res  # host unreachable: its pages fail with the same reason
        return host.robots


_HREF = None


def same_site_links(result: FetchResult, limit: int | None = None) -> list[str]:
    """Absolute http(s) links of a fetched page that stay on its final host, without
    fragments, deduplicated in page order; at most `limit` of them."""
    import re
    from urllib.parse import urldefrag, urljoin, urlsplit

    global _HREF
    if _HREF is None:
        _HREF = re.compile(r"""<a\s[^>]*?href\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.I)
    if not result.ok:
        return []
    base = result.final_url
    host = urlsplit(base).hostname
    out: dict[str, None] = {}
    for m in _HREF.finditer(result.text()):
        href = (m.group(1) or m.group(2) or m.group(3) or "").strip()
        if not href or href.startswith(("#", "mailto:", "javascript:", "tel:")):
            continue
        url = urldefrag(urljoin(base, html_unescape(href)))[0]
        parts = urlsplit(url)
        if parts.scheme in ("http", "https") and parts.hostname == host and url != base:
            out[url] = None
            if limit is not None and len(out) >= limit:
                break
    return list(out)


def html_unescape(text: str) -> str:
    import html

    return html.unescape(text) if "&" in text else text


_META_CHARSET = None


def decode_html(body: bytes, content_type: str | None = None) -> tuple[str, str]:
    """Decode HTML bytes to text, returning (text, charset used).

    Order: the header's charset, then a <meta> charset in the first 2 KB, then UTF-8; a
    declared charset that does not fit the bytes falls back to UTF-8 and then cp1252, as
    browsers effectively do with mislabelled latin-1 pages.
    """
    import codecs
    import re

    global _META_CHARSET
    if _META_CHARSET is None:
        _META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
    candidates = []
    if content_type and "charset=" in content_type.lower():
        candidates.append(content_type.lower().split("charset=", 1)[1].split(";")[0].strip(" \"'"))
    m = _META_CHARSET.search(body[:2048])
    if m:
        candidates.append(m.group(1).decode("ascii", "replace").lower())
    candidates += ["utf-8", "cp1252"]
    for cs in candidates:
        try:
            codecs.lookup(cs)
            return body.decode(cs), cs
        except (LookupError, UnicodeDecodeError):
            continue
    return body.decode("utf-8", "replace"), "utf-8"


def main(argv: list[str] | None = None) -> int:
    """Crawl the local web (every page of its ground truth) and print throughput and outcomes."""
    import argparse

    ap = argparse.ArgumentParser(prog="python -m agentcore.crawl.fetch", description=main.__doc__)
    defaults = FetchConfig()
    ap.add_argument("--sites", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--thread", action="store_true",
                    help="serve from a thread of this process instead of a child process")
    ap.add_argument("--per-host", type=int, default=defaults.per_host_limit)
    ap.add_argument("--global-limit", type=int, default=defaults.global_limit)
    ap.add_argument("--delay", type=float, default=defaults.politeness_delay)
    args = ap.parse_args(argv)

    from agentcore.web import SyntheticWeb, serve_in_process, serve_in_thread

    async def crawl(server, web) -> None:
        pages = web.pages()
        done: list[float] = []
        async with Fetcher(static_hosts=server.host_map(), per_host_limit=args.per_host,
                           global_limit=args.global_limit, politeness_delay=args.delay) as f:
            t0 = time.perf_counter()
            cpu0 = time.process_time()

            async def one(url: str) -> FetchResult:
                r = await f.fetch(url)
                done.append(time.perf_counter() - t0)
                return r

            results = await asyncio.gather(*(one(p.url) for p in pages))
            wall = time.perf_counter() - t0
            cpu = time.process_time() - cpu0
        done.sort()
        n_quick = sum(p.kind != "slow" for p in pages)
        quick = done[n_quick - 1]
        wrong = sum((r.error_reason or "ok") != p.expect for p, r in zip(pages, results))
        where = "thread" if args.thread else "child process"
        print(f"{len(pages)} pages from {len(web.sites)} sites (server in a {where})")
        print(f"  all pages        {wall:6.1f} s  {len(pages) / wall:7.0f} pages/s")
        print(f"  all but slow     {quick:6.1f} s  {n_quick / quick:7.0f} pages/s "
              f"({len(pages) - n_quick} slow pages wait out their timeouts and retries)")
        print(f"  crawler CPU      {cpu:6.1f} s  {1000 * cpu / len(pages):7.2f} ms/page")
        print(f"  outcomes differing from the ground truth: {wrong}")
        counts = Counter(r.error_reason or "ok" for r in results)
        for reason, n in counts.most_common():
            print(f"    {reason:24s} {n:6d}")

    if args.thread:
        web = SyntheticWeb(args.sites, seed=args.seed)
        with serve_in_thread(web) as server:
            asyncio.run(crawl(server, web))
    else:
        with serve_in_process(n_sites=args.sites, seed=args.seed) as server:
            asyncio.run(crawl(server, server.web))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
