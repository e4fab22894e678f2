"""Where a crawl job's sites come from, and the per-job rules for the URLs it may fetch.

Three inputs, one shape (:class:`Sites`: home URLs, the static host map, the hosts allowed):

* :func:`url_list`: a user's URLs (a file, or ``-`` for stdin). Real DNS, robots.txt and every
  protection of the crawler apply; the SSRF guard refuses private addresses unless a name is
  mapped on purpose (``resolve={"shop.test": ("127.0.0.1", 8080)}``, like curl's ``--resolve``).
* :func:`corpus`: a folder with one subfolder per site, served on loopback under each folder's
  own name (``www.example.com/``), so the job sees and stores the real host names.
* :func:`local_web`: the demo's synthetic web of ``site-NNNN.test`` sites.

The rules: :func:`url_problem` refuses URLs over a length cap (``url_too_long``; browsers keep
URLs to 2-8 KB, a crawler must not store 100 KB ones), and :class:`Follow` says which hosts a
site's links may lead to (default: the same site).

>>> Follow(["same-site"]).allows("example.com", "blog.example.com")
True
>>> Follow(["same-host", "*.cdn.net"]).allows("example.com", "img.cdn.net")
True
>>> url_problem("http://a.test/" + "x" * 9000)[0]
'url_too_long'
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Iterable, Sequence
from urllib.parse import urlsplit

from agentcore.kernels.urls import same_site

__all__ = ["MAX_URL_BYTES", "Sites", "Follow", "url_problem", "read_lines", "url_list", "corpus",
           "local_web"]

#: URLs longer than this many bytes are refused with ``url_too_long``.
MAX_URL_BYTES = 8192
FOLLOW_RULES = ("same-site", "same-host")


def url_problem(url: str, max_bytes: int = MAX_URL_BYTES) -> tuple[str, str] | None:
    """(code, detail) when ``url`` must not be fetched before any request is made, else None."""
    n = len(url.encode("utf-8", "replace"))
    if n > max_bytes:
        return "url_too_long", (f"URL of {n:,d} bytes is over the {max_bytes:,d}-byte cap "
                                f"(starts {url[:80]!r}); raise max_url_bytes to fetch it")
    return None


class Follow:
    """Which hosts a site's links may lead to: ``"same-site"`` (the crawler's same-site rule:
    ``www.`` aside, or a subdomain either way), ``"same-host"`` (exactly the home page's
    host), and host patterns (``"docs.example.org"``, ``"*.example.org"``), any of which allows."""

    def __init__(self, rules: Iterable[str] = ("same-site",)):
        from agentcore.crawl.resolver import HostSet

        rules = [str(r).strip().lower() for r in rules]
        if not rules:
            raise ValueError("follow needs at least one rule: 'same-site', 'same-host' or a host "
                             "pattern such as '*.example.org'")
        self.rules = tuple(rules)
        self.same_site = "same-site" in rules
        self.same_host = "same-host" in rules
        self.patterns = HostSet([r for r in rules if r not in FOLLOW_RULES])
        self.only_internal = self.same_site and not self.patterns.names and not self.patterns.suffixes

    def allows(self, home_host: str, host: str) -> bool:
        host = host.lower()
        return ((self.same_host and host == home_host.lower())
                or (self.same_site and same_site(home_host, host)) or host in self.patterns)

    def pick(self, home_host: str, internal: Sequence[str], external: Sequence[str]):
        """The links (internal ones first, page order) whose host the rules allow."""
        links = internal if self.only_internal else [*internal, *external]
        if self.only_internal:
            return list(links)
        out = []
        for u in links:
            host = urlsplit(u).hostname
            if host and self.allows(home_host, host):
                out.append(u)
        return out


@dataclass
class Sites:
    """A job's input: home URLs (one per site), the names served without DNS, and (for a
    folder) the only hosts fetches may reach; ``stop()`` ends whatever serves them."""

    home_urls: list[str]
    static_hosts: dict[str, tuple[str, int]] = field(default_factory=dict)
    allowed_hosts: list[str] | None = None
    skipped: list[str] = field(default_factory=list)  # lines that were not used, with why
    server: object = None

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def __enter__(self) -> "Sites":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def read_lines(source: str) -> list[str]:
    """The lines of a file, or of stdin for ``-``."""
    if source == "-":
        return sys.stdin.read().splitlines()
    with open(source, encoding="utf-8") as f:
        return f.read().splitlines()


def url_list(lines: Iterable[str], resolve: dict[str, tuple[str, int]] | None = None) -> Sites:
    """Sites from URL lines: blanks and ``#`` comments skipped, ``https://`` added to a bare host,
    one site per host (a second URL of a host is skipped and listed in ``Sites.skipped``).

    Over-long URLs are kept: the job refuses each one with a ``url_too_long`` failure row.
    """
    urls, seen, skipped = [], set(), []
    for raw in lines:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if "://" not in line[:16]:
            line = "https://" + line
        host = site_key(line)
        if host in seen:
            skipped.append(f"{line[:200]}: another URL of {host} came first (one per site)")
            continue
        seen.add(host)
        urls.append(line)
    return Sites(urls, dict(resolve or {}), None, skipped)


def site_key(url: str) -> str:
    """The host a URL's site is stored under (the URL itself when it has none)."""
    try:
        host = urlsplit(url).hostname
    except ValueError:
        host = None
    return host or url[:200]


def corpus(root: str) -> Sites:
    """Serve folder ``root`` on loopback (a child process) under each subfolder's own name."""
    from agentcore.web.server import ProcessServer

    server = ProcessServer(corpus=root).start()
    hosts = server.web.hosts
    return Sites(server.web.home_urls(), server.host_map(), list(hosts), [], server)


def local_web(n_sites: int, seed: int = 0, timeout: float = 3.0) -> Sites:
    """Serve the demo's local web of ``n_sites`` sites in a child process."""
    from agentcore.web.server import ProcessServer

    server = ProcessServer(n_sites=n_sites, seed=seed, slow_seconds=6 * timeout).start()
    return Sites(server.web.home_urls(), server.host_map(), None, [], server)
