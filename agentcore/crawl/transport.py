"""One HTTP request of the fetcher (aiohttp): a usable answer, or a Failure with a reason code.

The Fetcher (``agentcore.crawl.fetch``) decides what to request, when and how often; a transport
sends one GET without following redirects and reads the body under the wire and inflate caps.
"""
from __future__ import annotations

import re
import zlib
from http import HTTPStatus
from typing import TYPE_CHECKING

from agentcore.crawl.resolver import SSRFBlocked, blocked_address, make_resolver

if TYPE_CHECKING:
    from agentcore.crawl.fetch import FetchConfig

__all__ = ["Failure", "Inflater", "AiohttpTransport", "REDIRECT_CODES", "KEEP_HEADERS",
           "ACCEPT"]

REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
KEEP_HEADERS = ("content-type", "content-encoding", "content-length", "last-modified")
ACCEPT = "text/html,application/xhtml+xml;q=0.9,text/plain;q=0.8,*/*;q=0.1"


class Failure(Exception):
    """Ends an attempt with a reason (``agentcore.crawl.fetch``'s table of reasons)."""

    def __init__(self, reason: str, detail: str, status: int | None = None, retry_after=None,
                 wire_bytes: int = 0):
        super().__init__(reason)
        self.reason, self.detail = reason, detail
        self.status, self.retry_after = status, retry_after
        self.attempts = 1
        self.wire_bytes = wire_bytes


NUMERIC = re.compile(r"[0-9.]+")
OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
IPV4 = re.compile(rf"{OCTET}(\.{OCTET}){{3}}")


def phrase(status: int) -> str:
    """The standard reason phrase (reqwest and libcurl do not keep the server's), as aiohttp
    reports it."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def numeric_host_failure(host: str) -> Failure | None:
    """A Failure for "2852039166" or "1.2.3": system resolvers read them as addresses; aiohttp
    refuses them, and the transports that resolve for themselves do too, in its words."""
    if NUMERIC.fullmatch(host) and not IPV4.fullmatch(host):
        return Failure("bad_url", f"{host} - is not a canonical IPv4 address")
    return None


def public_address(host: str, infos, allow_private: bool) -> str | Failure:
    """The first address of a getaddrinfo answer the SSRF guard keeps (private and reserved
    ones dropped unless ``allow_private``), or the Failure when none is left."""
    ips = [i[4][0] for i in infos]
    if not allow_private:
        ips = [ip for ip in ips if not blocked_address(ip)]
    if not ips:
        return Failure("ssrf_blocked", f"{host} resolves only to private or reserved addresses")
    return ips[0]


def dns_failure(host: str, exc: BaseException) -> Failure:
    return Failure("dns_error", f"cannot resolve {host}: {exc}")


def retry_after_seconds(value: str | None) -> float | None:
    """A Retry-After header in seconds (its HTTP-date form is ignored: None)."""
    try:
        return float(value) if value else None
    except ValueError:
        return None


#: most bytes inflated per call: a bomb's chunk asked for the whole cap at once makes zlib build
#: ~8 MB of output blocks and then the ~8 MB bytes object from them (one bomb, ~16 MB at once)
_PIECE = 256 << 10


class Inflater:
    """A body arriving in chunks: caps wire bytes at ``max_body`` and inflated bytes at
    ``max_decompressed``, so a gzip bomb stops after a few KB of input. ``feed`` and
    ``finish`` raise Failure; the caller closes the connection then."""

    __slots__ = ("encoding", "max_body", "max_out", "inflater", "parts", "wire", "out")

    def __init__(self, encoding: str, max_body: int, max_decompressed: int):
        encoding = encoding.strip().lower()
        if encoding in ("", "identity"):
            self.inflater = None
        elif encoding in ("gzip", "x-gzip"):
            self.inflater = zlib.decompressobj(31)
        elif encoding == "deflate":
            self.inflater = zlib.decompressobj(47)  # zlib or gzip header, auto-detected
        else:
            raise Failure("bad_encoding", f"unsupported Content-Encoding {encoding!r}")
        self.encoding, self.max_body, self.max_out = encoding, max_body, max_decompressed
        self.parts: list[bytes] = []
        self.wire = self.out = 0

    def feed(self, chunk: bytes) -> None:
        self.wire += len(chunk)
        if self.wire > self.max_body:
            raise Failure("too_large", f"body passed {self.max_body} bytes while streaming")
        if self.inflater is None:
            self.parts.append(chunk)
            return
        data = chunk
        while data:
            try:
                piece = self.inflater.decompress(data, min(_PIECE, self.max_out - self.out + 1))
            except zlib.error as exc:
                raise Failure("bad_encoding", f"corrupt {self.encoding} data: {exc}")
            self.out += len(piece)
            if self.out > self.max_out:
                raise Failure(
                    "decompressed_too_large",
                    f"{self.encoding} body inflates past {self.max_out} bytes (stopped while "
                    "streaming)", wire_bytes=self.wire,
                )
            self.parts.append(piece)
            data = self.inflater.unconsumed_tail

    def finish(self) -> bytes:
        if self.inflater is not None:
            self.parts.append(self.inflater.flush())
            if not self.inflater.eof:
                raise Failure("bad_encoding", f"{self.encoding} stream ends early")
        return b"".join(self.parts)


def check_answer(status: int, headers, location, reason: str, url, config: "FetchConfig",
                 check_type: bool, length: int | None) -> dict[str, str] | None:
    """The checks before the body is read: None for a redirect (``location`` set), else the
    headers kept; raises Failure for a non-2xx answer, a refused type or a declared size."""
    if status in REDIRECT_CODES:
        if not location:
            raise Failure("redirect_invalid", f"{status} without Location")
        return None
    if not 200 <= status < 300:
        raise Failure(f"http_{status}", f"{status} {reason or ''} at {url}", status=status,
                      retry_after=retry_after_seconds(headers.get("Retry-After")))
    kept = {k: headers[k] for k in KEEP_HEADERS if k in headers}
    ctype = kept.get("content-type", "").split(";", 1)[0].strip().lower()
    if check_type and ctype and ctype not in config.content_types:
        raise Failure("bad_content_type", f"Content-Type {ctype}")
    if length is not None and length > config.max_body:
        raise Failure("too_large", f"Content-Length {length} > {config.max_body}")
    return kept


def check_body(body: bytes, kept: dict[str, str], check_type: bool) -> None:
    if check_type and b"\x00" in body[:1024]:
        ctype = kept.get("content-type", "").split(";", 1)[0].strip().lower()
        raise Failure("binary_content", f"NUL bytes in a {ctype or 'typeless'} body")


class AiohttpTransport:
    """GETs over one aiohttp session whose resolver is the SSRF guard
    (``agentcore.crawl.resolver.StaticResolver``)."""

    def __init__(self, config: "FetchConfig", static_hosts, allow_private: bool):
        self.config, self.static_hosts, self.allow_private = config, static_hosts, allow_private
        self.session = None

    async def open(self) -> None:
        import aiohttp

        c = self.config
        connector = aiohttp.TCPConnector(
            # The Fetcher's own slots bind first; the connector's limits only back them up, so
            # no request waits for a pooled connection while its timeout runs.
            limit=c.global_limit + 8,
            limit_per_host=c.per_host_limit + 2,
            resolver=make_resolver(self.static_hosts, self.allow_private),
            ttl_dns_cache=300,
        )
        self.session = aiohttp.ClientSession(
            connector=connector,
            auto_decompress=False,  # Inflater inflates, with a cap on the inflated size
            cookie_jar=aiohttp.DummyCookieJar(),
            timeout=aiohttp.ClientTimeout(
                total=c.total_timeout, sock_connect=c.connect_timeout, sock_read=c.read_timeout
            ),
            headers={"User-Agent": c.user_agent, "Accept": ACCEPT,
                     "Accept-Encoding": "gzip, deflate"},
        )

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()
            self.session = None

    async def get(self, u, check_type: bool):
        """One GET of ``u`` (a ``yarl.URL``): (status, kept headers, body, Location or None)."""
        import asyncio  # here, not above: the curl child imports this module's checks alone

        import aiohttp

        try:
            async with self.session.get(u, allow_redirects=False) as resp:
                status, h = resp.status, resp.headers
                kept = check_answer(status, h, h.get("Location"), resp.reason, u, self.config,
                                    check_type, resp.content_length)
                if kept is None:
                    return status, {}, b"", h.get("Location")
                c = self.config
                try:  # a body refused half-read: close the connection, do not drain it
                    body = Inflater(kept.get("content-encoding", ""), c.max_body,
                                    c.max_decompressed)
                    content = resp.content
                    while chunk := await content.readany():
                        body.feed(chunk)
                    data = body.finish()
                except Failure:
                    resp.close()
                    raise
                check_body(data, kept, check_type)
                return status, kept, data, None
        except Failure:
            raise
        except asyncio.TimeoutError:
            # one detail for the connect and the read phase: which one a slow answer hits depends
            # on the machine's load, and a rerun must give the same failure row
            raise Failure("timeout", "no answer within the configured timeout")
        except aiohttp.ClientConnectorError as exc:
            os_error = getattr(exc, "os_error", None)
            if isinstance(os_error, SSRFBlocked) or isinstance(exc.__cause__, SSRFBlocked):
                raise Failure("ssrf_blocked", str(os_error or exc.__cause__))
            if isinstance(exc, aiohttp.ClientConnectorDNSError):
                raise Failure("dns_error", str(exc))
            if isinstance(os_error, ConnectionRefusedError):
                raise Failure("connection_refused", str(exc))
            raise Failure("connection_error", str(exc))
        except (aiohttp.ClientPayloadError, aiohttp.ServerDisconnectedError,
                aiohttp.ClientOSError, ConnectionError) as exc:
            raise Failure("connection_error", f"{type(exc).__name__}: {exc}")
        except aiohttp.InvalidURL as exc:
            raise Failure("bad_url", str(exc))
        except aiohttp.ClientResponseError as exc:  # malformed status line or headers
            raise Failure("connection_error", f"{type(exc).__name__}: {exc}")
