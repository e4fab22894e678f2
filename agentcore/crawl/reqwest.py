"""The fetcher's HTTP request over pyreqwest (Rust's reqwest): same answers and failures as aiohttp.

pyreqwest has no resolver hook, so the SSRF guard resolves each host itself first (the run's
fixed names, or the system resolver with private answers dropped) and builds a client pinned to
the checked address (``ClientBuilder.resolve``): reqwest never resolves a name on its own.
"""
from __future__ import annotations

import asyncio
import os
import socket
from datetime import timedelta
from typing import TYPE_CHECKING

from agentcore.crawl.resolver import StaticResolver
from agentcore.crawl.transport import (ACCEPT, Failure, Inflater, check_answer, check_body,
                                       dns_failure, numeric_host_failure, phrase, public_address)

if TYPE_CHECKING:
    from agentcore.crawl.fetch import FetchConfig

__all__ = ["ReqwestTransport"]

# pyreqwest links its own mimalloc, which by default commits arena memory eagerly and returns
# freed pages late: a 500-site crawl held ~20 MB more resident for it (124 vs 143-147 MB peak,
# same CPU). Read when pyreqwest loads, so set before its first import; a caller's value wins.
os.environ.setdefault("MIMALLOC_ARENA_EAGER_COMMIT", "0")
os.environ.setdefault("MIMALLOC_PURGE_DELAY", "0")

class ReqwestTransport:
    """GETs over pyreqwest clients: one for the run's fixed names, one per other host."""

    def __init__(self, config: "FetchConfig", static_hosts, allow_private: bool):
        self.config, self.allow_private = config, allow_private
        self.static = StaticResolver(static_hosts, allow_private)
        self.clients: dict[str, object] = {}  # host -> client pinned to its checked address
        self.pending: dict[str, asyncio.Future] = {}
        self.shared = None

    def builder(self):
        from pyreqwest.client import ClientBuilder

        c = self.config
        return (ClientBuilder().follow_redirects(False).gzip(False).deflate(False)
                .brotli(False).zstd(False).default_cookie_store(False).referer(False)
                .connect_timeout(timedelta(seconds=c.connect_timeout))
                .read_timeout(timedelta(seconds=c.read_timeout))
                .timeout(timedelta(seconds=c.total_timeout))
                .max_connections(c.global_limit + 8).pool_max_idle_per_host(c.per_host_limit)
                # a crawl leaves a host for good: its idle connections (and buffers) go soon
                .pool_idle_timeout(timedelta(seconds=5))
                .user_agent(c.user_agent)
                .default_headers({"Accept": ACCEPT, "Accept-Encoding": "gzip, deflate"}))

    async def open(self) -> None:
        b = self.builder()
        for host, (ip, port) in self.static.exact.items():
            b = b.resolve(host, ip, port)
        self.shared = b.build()

    async def close(self) -> None:
        for client in [self.shared, *self.clients.values()]:
            if client is not None:
                await client.close()
        self.shared, self.clients = None, {}

    async def client_for(self, host: str, port: int):
        if host in self.static.exact:
            return self.shared
        client = self.clients.get(host)
        if client is None:
            if host not in self.pending:
                self.pending[host] = asyncio.ensure_future(self.pin(host, port))
            try:
                client = await asyncio.shield(self.pending[host])
            except Failure as f:  # each fetch gets a failure of its own (attempts differ)
                raise Failure(f.reason, f.detail) from None
        return client

    async def pin(self, host: str, port: int):
        """A client whose only address for ``host`` is one the SSRF guard accepted."""
        try:
            target = await self.checked_address(host, port)
        except Failure:
            self.pending.pop(host, None)  # not cached: a later fetch asks again, as aiohttp's
            raise
        client = self.builder().resolve(host, target[0], target[1]).build()
        self.clients[host] = client
        return client

    async def checked_address(self, host: str, port: int) -> tuple[str, int]:
        target = self.static.lookup(host)
        if target is None:
            try:
                infos = await asyncio.get_running_loop().getaddrinfo(
                    host, port, type=socket.SOCK_STREAM)
            except (socket.gaierror, UnicodeError) as exc:
                raise dns_failure(host, exc)
            ip = public_address(host, infos, self.allow_private)
            if isinstance(ip, Failure):
                raise ip
            target = (ip, port)
        return target

    async def get(self, u, check_type: bool):
        """One GET of ``u`` (a ``yarl.URL``): (status, kept headers, body, Location or None)."""
        from pyreqwest import exceptions as ex

        c, host = self.config, u.host
        refused = numeric_host_failure(host)
        if refused is not None:
            raise refused
        try:
            client = self.shared if host in self.static.exact else await self.client_for(
                host, u.port)
            async with client.get(str(u)).build_streamed() as resp:
                status, h = resp.status, resp.headers
                length = h.get("content-length")
                reason = "" if 200 <= status < 300 else phrase(status)
                kept = check_answer(status, h, h.get("location"), reason, u, c, check_type,
                                    int(length) if length and length.isdigit() else None)
                if kept is None:
                    return status, {}, b"", h.get("location")
                body = Inflater(kept.get("content-encoding", ""), c.max_body, c.max_decompressed)
                reader = resp.body_reader
                while (chunk := await reader.read_chunk()) is not None:
                    body.feed(bytes(chunk))
                data = body.finish()
            check_body(data, kept, check_type)
            return status, kept, data, None
        except Failure:
            raise
        except (ex.RequestTimeoutError, asyncio.TimeoutError):
            # as AiohttpTransport: connect, read or total depends on the load; the row must not
            raise Failure("timeout", "no answer within the configured timeout")
        except ex.ConnectError as exc:
            if "refused" in str(exc).lower() or "refused" in repr(getattr(exc, "details", "")):
                raise Failure("connection_refused", str(exc))
            raise Failure("connection_error", f"ConnectError: {exc}")
        except (ex.NetworkError, ex.DecodeError, ex.ClientClosedError) as exc:
            raise Failure("connection_error", f"{type(exc).__name__}: {exc}")
        except ex.BuilderError as exc:
            raise Failure("bad_url", str(exc))
        except ex.RequestError as exc:  # anything else the transport refused
            raise Failure("connection_error", f"{type(exc).__name__}: {exc}")
