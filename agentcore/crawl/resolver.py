"""Name resolution for the crawler that never lands on a private address (the SSRF guard).

A crawler follows URLs that strangers wrote, so a page or a redirect can point it at
``http://169.254.169.254/`` (cloud credentials) or ``http://localhost:6379/``. Two checks keep it
out: :func:`blocked_address` refuses such hosts before any request, and :class:`StaticResolver`
drops private answers of the system resolver (a public name can resolve to 127.0.0.1).

>>> blocked_address("169.254.169.254"), blocked_address("example.com")
(True, False)
>>> "a.site.test" in HostSet(["*.test"]), "test" in HostSet(["*.test"])
(True, False)
"""
from __future__ import annotations

import ipaddress
import socket
from typing import Iterable, Mapping

__all__ = ["SSRFBlocked", "BLOCKED_NAMES", "blocked_address", "HostSet", "StaticResolver",
           "make_resolver"]

#: Names that mean "this machine" or "the cloud metadata service" without being IP literals.
BLOCKED_NAMES = frozenset({"localhost", "metadata", "metadata.google.internal", "instance-data"})


class SSRFBlocked(OSError):
    """A host name resolved to an address a crawler must never reach."""


def blocked_address(host: str) -> bool:
    """True for IP literals and names that point into private, loopback, link-local (cloud
    metadata), multicast or reserved space."""
    host = host.strip("[]").lower().rstrip(".")
    if ":" not in host and not host[-1:].isdigit():
        # A name, not an address (IPv4 ends in a digit, IPv6 has colons): skip the parser,
        # whose ValueError costs more than the rest of the URL checks together.
        return host in BLOCKED_NAMES or host.endswith(".localhost")
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host in BLOCKED_NAMES
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


class StaticResolver:
    """An aiohttp resolver (``aiohttp.abc.AbstractResolver``'s interface): the run's names go to fixed (ip, port) pairs, with the port too,
    so URLs carry no port and stay stable across server restarts; any other name goes to the
    system resolver and is refused (:class:`SSRFBlocked`) if it lands only on private addresses,
    unless ``allow_private``. Importing this module does not import aiohttp."""

    def __init__(self, static_hosts: Mapping[str, tuple[str, int]] | None = None,
                 allow_private: bool = False):
        static_hosts = static_hosts or {}
        self.exact = {h.lower(): v for h, v in static_hosts.items() if not h.startswith("*.")}
        self.wildcard = [(h[1:].lower(), v) for h, v in static_hosts.items() if h.startswith("*.")]
        self.allow_private = allow_private
        self._system = None

    def lookup(self, host: str) -> tuple[str, int] | None:
        """The fixed (ip, port) of ``host``, or None when the system resolver must answer."""
        host = host.lower()
        target = self.exact.get(host)
        if target is None:
            for suffix, value in self.wildcard:
                if host.endswith(suffix):
                    return value
        return target

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET):
        target = self.lookup(host)
        if target is not None:
            ip, mapped_port = target
            return [{"hostname": host, "host": ip, "port": mapped_port,
                     "family": socket.AF_INET6 if ":" in ip else socket.AF_INET,
                     "proto": 0, "flags": socket.AI_NUMERICHOST}]
        if self._system is None:
            from aiohttp.resolver import ThreadedResolver

            self._system = ThreadedResolver()
        infos = await self._system.resolve(host, port, family)
        if not self.allow_private:
            infos = [i for i in infos if not blocked_address(i["host"])]
            if not infos:
                raise SSRFBlocked(f"{host} resolves only to private or reserved addresses")
        return infos

    async def close(self) -> None:
        if self._system is not None:
            await self._system.close()


def make_resolver(static_hosts: Mapping[str, tuple[str, int]],
                  allow_private: bool = False) -> StaticResolver:
    """The resolver a Fetcher's connector uses (see :class:`StaticResolver`)."""
    from aiohttp.abc import AbstractResolver

    AbstractResolver.register(StaticResolver)  # a virtual subclass: aiohttp loads only here
    return StaticResolver(static_hosts, allow_private)
