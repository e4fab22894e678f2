"""The local web: hundreds of sites with real text and hostile pages, served on 127.0.0.1."""

from __future__ import annotations

import asyncio
import html
import os
import random
import re
import socket
import threading
import time
import zlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from agentcore.web.corpus import Article, StdlibCorpus

# Each page kind and what a correct crawler ends with when it fetches it: "ok" (a clean page to
# extract) or the machine reason of the recorded failure (see agentcore.crawl.fetch). The reasons
# assume a client whose limits sit between the web's sizes, as agentcore.crawl.fetch's defaults do:
# timeouts under slow_seconds, 2.1 MB (the bomb) < max_body < huge_bytes, and
# max_decompressed < bomb_bytes.
KIND_EXPECT: dict[str, str] = {
    "home": "ok",
    "ok": "ok",
    "near_duplicate": "ok",  # another site's article, lightly edited, under this site's chrome
    "redirect": "ok",  # 301 to another path of the same site
    "flaky": "ok",  # 503 on the first request, 200 after: a retry fixes it
    "bad_charset": "ok",  # latin-1 bytes declared utf-8 in the header
    "meta_charset": "ok",  # cp1252 bytes, charset only in <meta>, none in the header
    "no_charset": "ok",  # utf-8 bytes, no charset declared anywhere
    "truncated": "ok",  # the document stops mid-tag
    "http_404": "http_404",
    "http_500": "http_500",
    "slow": "timeout",  # answers after slow_seconds, longer than any sane client timeout
    "redirect_loop": "redirect_loop",
    "redirect_offsite": "redirect_offsite",  # 302 to a host outside the run
    "redirect_ssrf": "ssrf_blocked",  # 302 to the cloud metadata address
    "huge": "too_large",  # 8 MiB with a Content-Length
    "huge_chunked": "too_large",  # several MB streamed without a length
    "gzip_bomb": "decompressed_too_large",  # 2 MB of gzip (with Content-Length) inflating to 2 GiB
    "binary": "bad_content_type",  # application/octet-stream
    "binary_as_html": "binary_content",  # binary bytes labelled text/html
    "robots_disallowed": "robots_disallowed",  # under a path robots.txt disallows
}

# Share of content pages per hostile kind; every kind appears at least once when there are
# enough pages, so even a 20-site test web exercises all of them.
HOSTILE_SHARES: dict[str, float] = {
    "robots_disallowed": 0.02,
    "near_duplicate": 0.03,
    "redirect": 0.01,
    "flaky": 0.01,
    "bad_charset": 0.01,
    "meta_charset": 0.01,
    "no_charset": 0.01,
    "truncated": 0.01,
    "http_404": 0.01,
    "http_500": 0.005,
    "slow": 0.003,
    "redirect_loop": 0.003,
    "redirect_offsite": 0.003,
    "redirect_ssrf": 0.002,
    "huge": 0.002,
    "huge_chunked": 0.001,
    "gzip_bomb": 0.002,
    "binary": 0.002,
    "binary_as_html": 0.002,
}

#: Content pages per site, drawn uniformly: 500 sites give about 11,000 pages, of which about
#: 5% are hostile by design, so a default run stores more than 10,000.
DEFAULT_PAGES = (12, 32)
SSRF_TARGET = "http://169.254.169.254/latest/meta-data/iam/security-credentials/"
OFFSITE_TARGET = "http://offsite.example.com/landing?from={host}"

_AUTHORS = ("A. Rivera", "M. Okafor", "J. Lindqvist", "S. Tanaka", "L. Moreau", "K. Novak")
# Boilerplate carries non-ASCII characters, so charset mistakes really change the bytes.
_COOKIE = (
    '<div class="cookie-banner" role="dialog"><p>We use cookies to improve your experience '
    "and to measure traffic. By continuing to browse you accept our cookie policy — you can "
    "change your choice at any time.</p><button>Accept all</button><button>Only necessary"
    "</button></div>"
)
_SCRIPT = (
    "<script>window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments)}"
    "gtag('js',new Date());gtag('config','UA-000000-1');</script>"
)
_STYLE = (
    "<style>body{font-family:Georgia,serif;margin:0}header,footer{background:#f4f1ea}"
    ".cookie-banner{position:fixed;bottom:0}nav a{margin-right:1em}</style>"
)


@dataclass(frozen=True, slots=True)
class Site:
    """One site of the local web."""

    index: int
    host: str
    n_pages: int  # content pages, not counting the home page
    has_robots: bool

    @property
    def home_url(self) -> str:
        return f"http://{self.host}/"

    @property
    def robots_url(self) -> str:
        return f"http://{self.host}/robots.txt"


@dataclass(frozen=True, slots=True)
class Page:
    """Ground truth for one page: what it is and how a correct crawler should end on it."""

    url: str
    site: int
    index: int  # 0 is the home page
    kind: str
    expect: str  # "ok" or the failure reason a correct crawler records
    dup_of: str | None = None  # near_duplicate: the URL whose article it copies


@dataclass
class ServerStats:
    """What the server saw: request counts and the most concurrent requests per host."""

    requests: int = 0
    inflight: Counter = field(default_factory=Counter)
    max_inflight: Counter = field(default_factory=Counter)
    hits: Counter = field(default_factory=Counter)  # (host, path) -> requests
    arrivals: dict = field(default_factory=dict)  # host -> [time.monotonic() per request]

    def snapshot(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "max_inflight": dict(self.max_inflight),
            "hits": dict(self.hits),
            "arrivals": {h: list(v) for h, v in list(self.arrivals.items())},
        }


@dataclass(slots=True)
class Reply:
    """A response as plain data, so webs stay independent of the HTTP library."""

    status: int = 200
    body: bytes = b""
    content_type: str | None = "text/html; charset=utf-8"
    headers: dict[str, str] | None = None
    delay: float = 0.0  # seconds to wait before answering
    stream: int = 0  # >0: stream this many bytes of body repeated, without Content-Length


def _crc32_zeros(n: int) -> int:
    """CRC-32 of n zero bytes in O(log n), by zlib's crc32_combine matrix method."""

    def times(mat: list[int], vec: int) -> int:
        s, i = 0, 0
        while vec:
            if vec & 1:
                s ^= mat[i]
            vec >>= 1
            i += 1
        return s

    def square(mat: list[int]) -> list[int]:
        return [times(mat, mat[k]) for k in range(32)]

    def combine(crc1: int, crc2: int, len2: int) -> int:
        if len2 == 0:
            return crc1
        odd = [0xEDB88320] + [1 << (k - 1) for k in range(1, 32)]
        even = square(odd)
        odd = square(even)
        while True:
            even = square(odd)
            if len2 & 1:
                crc1 = times(even, crc1)
            len2 >>= 1
            if not len2:
                break
            odd = square(even)
            if len2 & 1:
                crc1 = times(odd, crc1)
            len2 >>= 1
            if not len2:
                break
        return crc1 ^ crc2

    block = 1 << 16
    crc_block = zlib.crc32(bytes(block))
    crc, done = 0, 0
    while done + block <= n:
        # Double the run of zeros while it fits, so the loop runs O(log n) times.
        run, crc_run = block, crc_block
        while done + 2 * run <= n:
            crc_run = combine(crc_run, crc_run, run)
            run *= 2
        crc = combine(crc, crc_run, run)
        done += run
    return combine(crc, zlib.crc32(bytes(n - done)), n - done)


_BOMB_CACHE: dict[int, bytes] = {}


def gzip_bomb(inflated: int = 2 << 30) -> bytes:
    """A valid gzip stream of `inflated` zero bytes, about inflated/1000 bytes long.

    Built from one compressed 1 MiB block repeated: after a full flush deflate forgets its
    window, so every block compresses to the same bytes and the bomb costs milliseconds.
    """
    if inflated in _BOMB_CACHE:
        return _BOMB_CACHE[inflated]
    chunk = 1 << 20
    if inflated % chunk:
        raise ValueError(f"gzip bomb size must be a multiple of 1 MiB, got {inflated}")
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = comp.compress(bytes(chunk)) + comp.flush(zlib.Z_FULL_FLUSH)
    again = comp.compress(bytes(chunk)) + comp.flush(zlib.Z_FULL_FLUSH)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    final_empty_block = b"\x03\x00"
    trailer = _crc32_zeros(inflated).to_bytes(4, "little") + (inflated % (1 << 32)).to_bytes(
        4, "little"
    )
    bomb = header + first + again * (inflated // chunk - 1) + final_empty_block + trailer
    _BOMB_CACHE[inflated] = bomb
    return bomb


class SyntheticWeb:
    """A deterministic web of sites built from real stdlib prose, with a share of hostile pages.

    Cheap to build (about 0.2 s for 500 sites): only page counts and kinds are decided up front;
    a site's text is read and its pages rendered when first requested.

    >>> web = SyntheticWeb(n_sites=500, seed=0)
    >>> web.n_pages >= 10_000, web.sites[42].home_url
    (True, 'http://site-0042.test/')
    """

    def __init__(
        self,
        n_sites: int = 500,
        pages_per_site: tuple[int, int] = DEFAULT_PAGES,
        seed: int = 0,
        hostile: bool = True,
        slow_seconds: float = 30.0,
        huge_bytes: int = 8 << 20,
        bomb_bytes: int = 2 << 30,
        corpus_root: str | None = None,
        latency: float = 0.0,
    ):
        lo, hi = pages_per_site
        if n_sites < 1 or not 1 <= lo <= hi:
            raise ValueError(
                f"need n_sites >= 1 and 1 <= pages_per_site[0] <= pages_per_site[1], "
                f"got n_sites={n_sites}, pages_per_site={pages_per_site}"
            )
        self.seed = seed
        self.latency = latency  # added to every answer, to make concurrency observable
        self.slow_seconds = slow_seconds
        self.huge_bytes = huge_bytes
        self.bomb_bytes = bomb_bytes
        self.corpus = StdlibCorpus(n_sites, root=corpus_root)
        rng = random.Random(f"agentcore-web:{seed}:counts")
        counts = [rng.randint(lo, hi) for _ in range(n_sites)]
        # Nudge the total to exactly n_sites * mean, so the default web has 10,000 pages.
        target = round(n_sites * (lo + hi) / 2)
        while sum(counts) != target:
            i = rng.randrange(n_sites)
            if sum(counts) < target and counts[i] < hi:
                counts[i] += 1
            elif sum(counts) > target and counts[i] > lo:
                counts[i] -= 1
        width = max(4, len(str(n_sites - 1)))
        self.sites = [
            Site(i, f"site-{i:0{width}d}.test", counts[i], has_robots=(i % 10 != 9))
            for i in range(n_sites)
        ]
        self._by_host = {s.host: s for s in self.sites}
        self._kinds, self._dup_source = self._assign_kinds(seed, hostile)
        self._site_cache: dict[int, _SiteData] = {}
        self._ready: set[int] = set()  # sites whose pages, near duplicates included, are built
        self._lock = threading.Lock()
        self._hits_flaky: Counter = Counter()

    # -- ground truth ------------------------------------------------------------------------

    def _assign_kinds(self, seed: int, hostile: bool):
        kinds = [["ok"] * (s.n_pages + 1) for s in self.sites]
        for k in kinds:
            k[0] = "home"
        dup_source: dict[tuple[int, int], tuple[int, int]] = {}
        if not hostile:
            return kinds, dup_source
        rng = random.Random(f"agentcore-web:{seed}:kinds")
        slots = [(s.index, j) for s in self.sites for j in range(1, s.n_pages + 1)]
        rng.shuffle(slots)
        robots_slots = [x for x in slots if self.sites[x[0]].has_robots]
        taken: set[tuple[int, int]] = set()
        total = len(slots)
        for kind, share in HOSTILE_SHARES.items():
            want = max(1, round(share * total)) if total >= 4 * len(HOSTILE_SHARES) else 0
            pool = robots_slots if kind == "robots_disallowed" else slots
            got = 0
            for slot in pool:
                if got >= want:
                    break
                if slot in taken:
                    continue
                taken.add(slot)
                kinds[slot[0]][slot[1]] = kind
                got += 1
        oks = [x for x in slots if kinds[x[0]][x[1]] == "ok"]
        for si, j in slots:
            if kinds[si][j] == "near_duplicate":
                for _ in range(100):
                    src = rng.choice(oks)
                    if src[0] != si:
                        dup_source[(si, j)] = src
                        break
                else:  # a one-site web has nothing to copy across sites
                    kinds[si][j] = "ok"
        return kinds, dup_source

    @property
    def n_pages(self) -> int:
        """Content pages, not counting home pages."""
        return sum(s.n_pages for s in self.sites)

    @property
    def hosts(self) -> list[str]:
        return [s.host for s in self.sites]

    def home_urls(self) -> list[str]:
        return [s.home_url for s in self.sites]

    def page_url(self, site: int, j: int) -> str:
        host = self.sites[site].host
        if j == 0:
            return f"http://{host}/"
        folder = "private" if self._kinds[site][j] == "robots_disallowed" else "articles"
        return f"http://{host}/{folder}/{j}.html"

    def pages(self, include_home: bool = True) -> list[Page]:
        """Ground truth for every page of the web, home pages first in each site."""
        out = []
        for s in self.sites:
            for j in range(0 if include_home else 1, s.n_pages + 1):
                out.append(self._truth(s.index, j))
        return out

    def _truth(self, si: int, j: int) -> Page:
        kind = self._kinds[si][j]
        dup = self._dup_source.get((si, j))
        return Page(
            self.page_url(si, j), si, j, kind, KIND_EXPECT[kind],
            self.page_url(*dup) if dup else None,
        )

    def truth(self, url: str) -> Page | None:
        """Ground truth for a URL of this web (as linked from its pages), or None."""
        m = re.match(r"https?://([^/:]+)(?::\d+)?(/.*)?$", url)
        if not m or m.group(1) not in self._by_host:
            return None
        site = self._by_host[m.group(1)]
        path = m.group(2) or "/"
        if path == "/":
            return self._truth(site.index, 0)
        j = _page_index(path)
        if j is None or not 1 <= j <= site.n_pages:
            return None
        if self.page_url(site.index, j) != f"http://{site.host}{path}":
            return None
        return self._truth(site.index, j)

    def expected_counts(self) -> Counter:
        """How many pages should end with each outcome ("ok" or a reason), home pages included."""
        return Counter(p.expect for p in self.pages())

    # -- rendering ---------------------------------------------------------------------------

    def _site(self, si: int) -> _SiteData:
        data = self._site_cache.get(si)
        if data is None:
            # Rendering can run in several server threads; build each site once.
            with self._lock:
                data = self._site_cache.get(si)
                if data is None:
                    data = _SiteData(self, si)
                    self._site_cache[si] = data
        return data

    def is_ready(self, host: str) -> bool:
        """False while a site's text has not been read yet (see prepare)."""
        site = self._by_host.get(host.split(":", 1)[0].lower())
        return site is None or site.index in self._ready

    def prepare(self, host: str) -> None:
        """Read and split a site's text (about 10 ms); the server calls it off its loop."""
        site = self._by_host.get(host.split(":", 1)[0].lower())
        if site is not None:
            self._site(site.index)
            for (si, _), (src, _) in self._dup_source.items():
                if si == site.index:
                    self._site(src)  # near duplicates render from their source site's text
            self._ready.add(site.index)

    def respond(self, host: str, path: str) -> Reply:
        """The reply for one request, by Host header and path; never raises for bad input."""
        site = self._by_host.get(host.split(":", 1)[0].lower())
        if site is None:
            return Reply(404, b"unknown site: send a Host header naming a site of this web\n",
                         "text/plain; charset=utf-8")
        if "?" in path:
            path = path.split("?", 1)[0]
        si = site.index
        if path == "/robots.txt":
            if not site.has_robots:
                return Reply(404, b"no robots.txt here\n", "text/plain; charset=utf-8")
            return Reply(200, self._robots(si).encode(), "text/plain; charset=utf-8")
        if path == "/" or path == "/index.html":
            return Reply(200, self._site(si).home().encode("utf-8"), delay=self.latency)
        m = _PATH.match(path)
        if not m:
            return Reply(404, _not_found(site.host), "text/html; charset=utf-8")
        folder, j, rest = m.group(1), int(m.group(2)), m.group(3)
        if not 1 <= j <= site.n_pages:
            return Reply(404, _not_found(site.host))
        kind = self._kinds[si][j]
        if folder == "moved" and kind == "redirect" and rest == ".html":
            return Reply(200, self._site(si).page(j).encode("utf-8"))
        if folder == "loop" and kind == "redirect_loop":
            nxt = "b" if rest == "/a" else "a"
            return Reply(302, b"", None, {"Location": f"/loop/{j}/{nxt}"})
        expected_folder = "private" if kind == "robots_disallowed" else "articles"
        if folder != expected_folder or rest != ".html":
            return Reply(404, _not_found(site.host))
        return self._hostile(site, j, kind)

    def _hostile(self, site: Site, j: int, kind: str) -> Reply:
        reply = self._hostile_reply(site, j, kind)
        reply.delay += self.latency
        return reply

    def _hostile_reply(self, site: Site, j: int, kind: str) -> Reply:
        si = site.index
        if kind in ("ok", "robots_disallowed", "near_duplicate"):
            return Reply(200, self._site(si).page(j).encode("utf-8"))
        if kind == "http_404":
            return Reply(404, _not_found(site.host))
        if kind == "http_500":
            return Reply(500, b"<html><body><h1>500 Internal Server Error</h1></body></html>")
        if kind == "flaky":
            with self._lock:
                self._hits_flaky[(si, j)] += 1
                first = self._hits_flaky[(si, j)] == 1
            if first:
                return Reply(503, b"<html><body>busy, try again</body></html>",
                             headers={"Retry-After": "0"})
            return Reply(200, self._site(si).page(j).encode("utf-8"))
        if kind == "slow":
            return Reply(200, self._site(si).page(j).encode("utf-8"), delay=self.slow_seconds)
        if kind == "redirect":
            return Reply(301, b"", None, {"Location": f"/moved/{j}.html"})
        if kind == "redirect_loop":
            return Reply(302, b"", None, {"Location": f"/loop/{j}/a"})
        if kind == "redirect_offsite":
            return Reply(302, b"", None, {"Location": OFFSITE_TARGET.format(host=site.host)})
        if kind == "redirect_ssrf":
            return Reply(302, b"", None, {"Location": SSRF_TARGET})
        if kind in ("huge", "huge_chunked"):
            unit = self._site(si).page(j).encode("utf-8")
            body = (unit * (self.huge_bytes // len(unit) + 1))[: self.huge_bytes]
            return Reply(200, body, stream=len(body) if kind == "huge_chunked" else 0)
        if kind == "gzip_bomb":
            return Reply(200, gzip_bomb(self.bomb_bytes), headers={"Content-Encoding": "gzip"})
        if kind in ("binary", "binary_as_html"):
            blob = random.Random(f"{self.seed}:{si}:{j}").randbytes(32 << 10)
            if kind == "binary":
                return Reply(200, blob, "application/octet-stream")
            return Reply(200, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + blob)
        if kind == "bad_charset":
            text = self._site(si).page(j, meta_charset=None)
            return Reply(200, text.encode("latin-1", "replace"))
        if kind == "meta_charset":
            text = self._site(si).page(j, meta_charset="windows-1252")
            return Reply(200, text.encode("cp1252", "replace"), "text/html")
        if kind == "no_charset":
            return Reply(200, self._site(si).page(j, meta_charset=None).encode("utf-8"),
                         "text/html")
        if kind == "truncated":
            body = self._site(si).page(j).encode("utf-8")
            cut = body.rfind(b"<", 0, int(len(body) * 0.6)) + 3  # stop inside a tag
            return Reply(200, body[:cut])
        raise AssertionError(f"unhandled page kind {kind!r}")

    def _robots(self, si: int) -> str:
        lines = [
            "# robots.txt for " + self.sites[si].host,
            "User-agent: *",
            "Disallow: /private/",
            "Disallow: /cgi-bin/",
            "",
        ]
        if si % 7 == 3:
            lines += ["User-agent: BadBot", "Disallow: /", ""]
        return "\n".join(lines)


_PATH = re.compile(r"^/(articles|private|moved|loop)/(\d{1,6})(\.html|/a|/b)$")


def _page_index(path: str) -> int | None:
    m = _PATH.match(path)
    return int(m.group(2)) if m and m.group(3) == ".html" else None


def _not_found(host: str) -> bytes:
    return (
        f"<!doctype html><html><head><title>Page not found</title></head><body>"
        f"<h1>404</h1><p>Nothing lives at this address on {host}.</p>"
        f'<p><a href="/">Back to the home page</a></p></body></html>'
    ).encode()


class _SiteData:
    """A site's articles and pre-rendered chrome, built on first request."""

    def __init__(self, web: SyntheticWeb, si: int):
        site = web.sites[si]
        self.web, self.si, self.site = web, si, site
        self.articles: list[Article] = web.corpus.articles(si, site.n_pages)
        self.label = web.corpus.site_label(si)
        rng = random.Random(f"agentcore-web:{web.seed}:site:{si}")
        self.name = f"{self.label} Notes"
        self.author = [rng.choice(_AUTHORS) for _ in range(site.n_pages + 1)]
        n_sites = len(web.sites)
        partners = sorted({rng.randrange(n_sites) for _ in range(3)} - {si})
        partner_links = "".join(
            f'<li><a href="http://{web.sites[p].host}/">{web.sites[p].host}</a></li>'
            for p in partners
        )
        esc_name = html.escape(self.name)
        self.header = (
            f'<header><div class="logo"><a href="/">{esc_name}</a></div>'
            f'<nav class="main-nav"><a href="/">Home</a> <a href="/#articles">Articles</a> '
            f'<a href="/#about">About</a> <a href="#subscribe">Subscribe</a></nav>'
            f'<form class="search" action="/"><input name="q" placeholder="Search…">'
            f"<button>Go</button></form></header>"
        )
        self.sidebar_tail = (
            f'<section class="partners"><h3>Partner sites</h3><ul>{partner_links}</ul></section>'
            f'<section class="newsletter" id="subscribe"><h3>Newsletter</h3><p>Get the best '
            f"articles in your inbox every week — no spam, unsubscribe at any time.</p>"
            f'<input type="email" placeholder="you@example.com"><button>Sign up</button>'
            f"</section></aside>"
        )
        self.footer = (
            f'<footer><p>© 2024 {esc_name} · All rights reserved · Zürich · Montréal</p>'
            f'<p><a href="https://www.python.org/">Python</a> · '
            f'<a href="https://docs.python.org/3/">Documentation</a> · '
            f'<a href="/#privacy">Privacy</a> · <a href="/#terms">Terms</a></p></footer>'
        )

    def _title(self, j: int) -> str:
        return self.article_for(j).title

    def _head(self, title: str, meta_charset: str | None) -> str:
        meta = f'<meta charset="{meta_charset}">' if meta_charset else ""
        return (
            f"<!doctype html><html lang=\"en\"><head>{meta}<title>{html.escape(title)} — "
            f"{html.escape(self.name)}</title>"
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"{_STYLE}{_SCRIPT}</head><body>"
        )

    def _sidebar(self, j: int) -> str:
        n = self.site.n_pages
        picks = [(j + d - 1) % n + 1 for d in (1, 2, 5, 7)]
        links = "".join(
            f'<li><a href="{self._href(p)}">{html.escape(self._title(p))}</a></li>'
            for p in dict.fromkeys(picks) if p != j
        )
        return f'<aside class="sidebar"><section><h3>Popular</h3><ul>{links}</ul></section>' + (
            self.sidebar_tail
        )

    def _href(self, j: int) -> str:
        return self.web.page_url(self.si, j).split(self.site.host, 1)[1]

    def home(self) -> str:
        items = "".join(
            f'<li><a href="{self._href(j)}">{html.escape(self._title(j))}</a> '
            f"<span class=\"teaser\">{html.escape(self.articles[j - 1].paragraphs[0][:90])}…"
            f"</span></li>"
            for j in range(1, self.site.n_pages + 1)
        )
        return (
            self._head("Home", "utf-8") + _COOKIE + self.header
            + f'<main><h1>{html.escape(self.name)}</h1><p class="intro">Articles and notes '
            f"about {html.escape(self.label)}, collected from the Python standard library.</p>"
            f'<section id="articles"><h2>All articles</h2><ul>{items}</ul></section></main>'
            + self._sidebar(0) + self.footer + "</body></html>"
        )

    def article_for(self, j: int) -> Article:
        src = self.web._dup_source.get((self.si, j))
        if src is None:
            return self.articles[j - 1]
        art = self.web._site(src[0]).articles[src[1] - 1]
        # A near duplicate: the same text minus its last paragraph or its last sentence.
        paras = list(art.paragraphs)
        if len(paras) > 2:
            paras.pop()
        else:
            last = paras[-1].rsplit(". ", 1)
            paras[-1] = last[0] + "." if len(last) == 2 else paras[-1]
        return Article(art.title, tuple(paras), art.source)

    def page(self, j: int, meta_charset: str | None = "utf-8") -> str:
        art = self.article_for(j)
        body = "".join(f"<p>{html.escape(p)}</p>" for p in art.paragraphs)
        n = self.site.n_pages
        prev_j, next_j = (j - 2) % n + 1, j % n + 1
        return (
            self._head(art.title, meta_charset) + _COOKIE + self.header
            + f'<div class="breadcrumbs"><a href="/">Home</a> › <a href="/#articles">Articles'
            f"</a> › {html.escape(art.title)}</div>"
            f"<main><article><h1>{html.escape(art.title)}</h1>"
            f'<p class="byline">By {self.author[j]} · from the {html.escape(art.source)} '
            f"sources · 4 min read</p>{body}</article>"
            f'<div class="share">Share: <a href="#">Twitter</a> <a href="#">Mastodon</a> '
            f'<a href="#">Email</a></div>'
            f'<nav class="pager"><a href="{self._href(prev_j)}">« Previous</a> '
            f'<a href="{self._href(next_j)}">Next »</a></nav></main>'
            + self._sidebar(j) + self.footer + "</body></html>"
        )


class CorpusWeb:
    """Serve a folder of HTML files as sites: each subfolder is a site, and loose files at the
    top are grouped `group_size` to a site. Every page is "ok" in the ground truth."""

    def __init__(self, root: str, group_size: int = 20):
        if not os.path.isdir(root):
            raise FileNotFoundError(f"--corpus {root!r} is not a folder of HTML files")
        self.root = os.path.abspath(root)
        groups: list[tuple[str, list[str]]] = []
        loose = []
        for entry in sorted(os.scandir(self.root), key=lambda e: e.name):
            if entry.is_dir():
                files = sorted(
                    os.path.relpath(os.path.join(dp, f), entry.path)
                    for dp, _, fs in os.walk(entry.path) for f in fs
                    if f.lower().endswith((".html", ".htm"))
                )
                if files:
                    groups.append((entry.path, files))
            elif entry.name.lower().endswith((".html", ".htm")):
                loose.append(entry.name)
        for k in range(0, len(loose), group_size):
            groups.append((self.root, loose[k : k + group_size]))
        if not groups:
            raise FileNotFoundError(f"no .html files under {self.root}")
        width = max(4, len(str(len(groups) - 1)))
        self.sites = []
        self._files: dict[str, tuple[str, dict[str, str]]] = {}
        for i, (folder, files) in enumerate(groups):
            host = f"site-{i:0{width}d}.test"
            paths = {"/" + f.replace(os.sep, "/"): os.path.join(folder, f) for f in files}
            self.sites.append(Site(i, host, len(paths), has_robots=True))
            self._files[host] = (folder, paths)
        self._by_host = {s.host: s for s in self.sites}

    @property
    def n_pages(self) -> int:
        return sum(s.n_pages for s in self.sites)

    @property
    def hosts(self) -> list[str]:
        return [s.host for s in self.sites]

    def home_urls(self) -> list[str]:
        return [s.home_url for s in self.sites]

    def pages(self, include_home: bool = True) -> list[Page]:
        out = []
        for s in self.sites:
            if include_home:
                out.append(Page(s.home_url, s.index, 0, "home", "ok"))
            for j, path in enumerate(self._files[s.host][1], 1):
                out.append(Page(f"http://{s.host}{path}", s.index, j, "ok", "ok"))
        return out

    def truth(self, url: str) -> Page | None:
        if not hasattr(self, "_truth_by_url"):
            self._truth_by_url = {p.url: p for p in self.pages()}
        return self._truth_by_url.get(url)

    def expected_counts(self) -> Counter:
        return Counter(p.expect for p in self.pages())

    def is_ready(self, host: str) -> bool:
        return True

    def prepare(self, host: str) -> None:
        pass

    def respond(self, host: str, path: str) -> Reply:
        entry = self._files.get(host.split(":", 1)[0].lower())
        if entry is None:
            return Reply(404, b"unknown site\n", "text/plain; charset=utf-8")
        _, paths = entry
        path = path.split("?", 1)[0]
        if path == "/robots.txt":
            return Reply(200, b"User-agent: *\nDisallow:\n", "text/plain; charset=utf-8")
        if path in ("/", "/index.html") and path not in paths:
            links = "".join(
                f'<li><a href="{html.escape(p)}">{html.escape(p)}</a></li>' for p in paths
            )
            return Reply(200, f"<!doctype html><html><head><meta charset=\"utf-8\"><title>"
                              f"Index</title></head><body><ul>{links}</ul></body></html>"
                         .encode())
        file = paths.get(path)
        if file is None:
            return Reply(404, _not_found(host))
        try:
            with open(file, "rb") as f:
                # No charset: the files declare their own, as they would on the real web.
                return Reply(200, f.read(), "text/html")
        except OSError as exc:
            return Reply(500, f"cannot read {file}: {exc}".encode(), "text/plain")


class LocalWebServer:
    """An HTTP server on 127.0.0.1 serving a web by Host header; use as an async context manager.

    >>> async with LocalWebServer(SyntheticWeb(20)) as server:      # doctest: +SKIP
    ...     server.port, server.host_map()["site-0000.test"]
    """

    def __init__(self, web: SyntheticWeb | CorpusWeb, host: str = "127.0.0.1", port: int = 0,
                 warm: bool = False):
        self.web = web
        self.host = host
        self.port = port
        self.warm = warm  # read every site's text in the background from the start
        self.stats = ServerStats()
        self._runner = None
        self._sock: socket.socket | None = None
        self._pool = None
        self._warm_task: asyncio.Future | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def host_map(self) -> dict[str, tuple[str, int]]:
        """Static DNS for clients: every site name -> (127.0.0.1, port). See fetch.Fetcher."""
        return {h: (self.host, self.port) for h in self.web.hosts}

    async def start(self) -> "LocalWebServer":
        from aiohttp import web as aioweb

        from concurrent.futures import ThreadPoolExecutor

        stats, webobj = self.stats, self.web
        # One thread: sites are read in the order first asked for, each as fast as possible,
        # instead of many GIL-bound threads finishing all of them late together.
        pool = self._pool = ThreadPoolExecutor(1, thread_name_prefix="agentcore-web-prepare")

        async def handle(request):
            host = request.host
            stats.requests += 1
            stats.inflight[host] += 1
            if stats.inflight[host] > stats.max_inflight[host]:
                stats.max_inflight[host] = stats.inflight[host]
            stats.hits[(host, request.path)] += 1
            stats.arrivals.setdefault(host, []).append(time.monotonic())
            try:
                if request.path == "/__stats__":
                    import json

                    snap = stats.snapshot()
                    snap["hits"] = {f"{h} {p}": n for (h, p), n in snap["hits"].items()}
                    return aioweb.Response(body=json.dumps(snap).encode(),
                                           content_type="application/json")
                if request.path != "/robots.txt" and not webobj.is_ready(host):
                    # Reading a site's text takes milliseconds: keep the loop serving others.
                    await asyncio.get_running_loop().run_in_executor(pool, webobj.prepare, host)
                reply = webobj.respond(host, request.path_qs)
                if reply.delay:
                    await asyncio.sleep(reply.delay)
                headers = dict(reply.headers or ())
                if reply.content_type:
                    headers["Content-Type"] = reply.content_type
                if reply.stream:
                    resp = aioweb.StreamResponse(status=reply.status, headers=headers)
                    resp.enable_chunked_encoding()
                    view = memoryview(reply.body)
                    try:
                        await resp.prepare(request)
                        for k in range(0, reply.stream, 64 << 10):
                            await resp.write(view[k : k + (64 << 10)])
                        await resp.write_eof()
                    except ConnectionError:
                        pass  # the client hung up on a huge page, as it should
                    return resp
                return aioweb.Response(status=reply.status, body=reply.body, headers=headers)
            finally:
                stats.inflight[host] -= 1

        self._runner = aioweb.ServerRunner(
            aioweb.Server(handle), handle_signals=False, shutdown_timeout=0.5
        )
        await self._runner.setup()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((self.host, self.port))
        self.port = self._sock.getsockname()[1]
        site = aioweb.SockSite(self._runner, self._sock, backlog=1024)
        await site.start()
        if self.warm:
            self._warm_task = asyncio.ensure_future(self._warm_all())
        return self

    async def _warm_all(self) -> None:
        loop = asyncio.get_running_loop()
        for host in self.web.hosts:
            if not self.web.is_ready(host):
                await loop.run_in_executor(self._pool, self.web.prepare, host)

    async def stop(self) -> None:
        if self._warm_task is not None:
            self._warm_task.cancel()
            await asyncio.gather(self._warm_task, return_exceptions=True)
            self._warm_task = None
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    async def __aenter__(self) -> "LocalWebServer":
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.stop()


class ThreadedServer:
    """A LocalWebServer running on its own event loop in a daemon thread."""

    def __init__(self, web: SyntheticWeb | CorpusWeb, host: str = "127.0.0.1", port: int = 0,
                 warm: bool = False):
        self.server = LocalWebServer(web, host, port, warm=warm)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def web(self):
        return self.server.web

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def stats(self) -> ServerStats:
        return self.server.stats

    def host_map(self) -> dict[str, tuple[str, int]]:
        return self.server.host_map()

    def start(self, timeout: float = 10.0) -> "ThreadedServer":
        ready = threading.Event()
        failure: list[BaseException] = []

        def main():
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._loop = loop
            try:
                loop.run_until_complete(self.server.start())
            except BaseException as exc:  # reported to the starting thread below
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(self.server.stop())
                # Handlers still sleeping (slow pages) would warn "Task was destroyed".
                pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
                for t in pending:
                    t.cancel()
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
                loop.close()

        self._thread = threading.Thread(target=main, name="agentcore-web", daemon=True)
        self._thread.start()
        if not ready.wait(timeout):
            raise TimeoutError(f"local web server did not start within {timeout} s")
        if failure:
            raise RuntimeError(f"local web server failed to start: {failure[0]!r}") from failure[0]
        return self

    def stop(self, timeout: float = 10.0) -> None:
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout)
        self._thread = None

    def __enter__(self) -> "ThreadedServer":
        return self if self._thread is not None else self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def serve_in_thread(web: SyntheticWeb | CorpusWeb | None = None, *, warm: bool = False,
                    **web_kwargs) -> ThreadedServer:
    """Start serving `web` (or SyntheticWeb(**web_kwargs)) in a background thread.

    >>> with serve_in_thread(n_sites=20) as server:                  # doctest: +SKIP
    ...     print(server.port, server.web.home_urls()[:1])
    """
    return ThreadedServer(web if web is not None else SyntheticWeb(**web_kwargs), warm=warm).start()


class ProcessServer:
    """The local web served by a child Python process, so serving does not compete with the
    crawler for this process's GIL (on 2 cores a same-process server halves crawl speed).

    The ground truth comes from an identical web built here: building one is cheap and
    deterministic, so `server.web` answers for the child's pages.
    """

    def __init__(self, n_sites: int = 500, pages_per_site: tuple[int, int] = DEFAULT_PAGES,
                 seed: int = 0, hostile: bool = True, slow_seconds: float = 30.0,
                 corpus: str | None = None, host: str = "127.0.0.1", port: int = 0,
                 warm: bool = True):
        self.args = ["--sites", str(n_sites), "--pages", str(pages_per_site[0]),
                     str(pages_per_site[1]), "--seed", str(seed), "--host", host,
                     "--port", str(port), "--slow-seconds", str(slow_seconds)]
        if not hostile:
            self.args.append("--no-hostile")
        if warm:
            self.args.append("--warm")
        if corpus:
            self.args += ["--corpus", corpus]
            self.web: SyntheticWeb | CorpusWeb = CorpusWeb(corpus)
        else:
            self.web = SyntheticWeb(n_sites, pages_per_site, seed, hostile=hostile,
                                    slow_seconds=slow_seconds)
        self.host = host
        self.port = port
        self._proc = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def host_map(self) -> dict[str, tuple[str, int]]:
        return {h: (self.host, self.port) for h in self.web.hosts}

    def start(self, timeout: float = 30.0) -> "ProcessServer":
        import subprocess
        import sys

        package_root = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
        env = dict(os.environ)
        env["PYTHONPATH"] = package_root + os.pathsep + env.get("PYTHONPATH", "")
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "agentcore.web.server", *self.args],
            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env, text=True,
        )
        line = _readline_with_timeout(self._proc.stdout, timeout)
        if not line.strip().isdigit():
            self.stop()
            raise RuntimeError(f"local web process did not report its port (got {line!r}); "
                               f"run 'python -m agentcore.web.server' to see why")
        self.port = int(line)
        return self

    def stats(self) -> dict[str, Any]:
        """The child's ServerStats.snapshot(), fetched from its /__stats__ endpoint."""
        import json
        import urllib.request

        with urllib.request.urlopen(f"{self.base_url}/__stats__", timeout=10) as r:
            data = json.load(r)
        data["hits"] = {tuple(k.split(" ", 1)): v for k, v in data["hits"].items()}
        return data

    def stop(self, timeout: float = 10.0) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout)
            except Exception:
                self._proc.kill()
                self._proc.wait()
            if self._proc.stdout:
                self._proc.stdout.close()
            self._proc = None

    def __enter__(self) -> "ProcessServer":
        return self if self._proc is not None else self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _readline_with_timeout(stream, timeout: float) -> str:
    out: list[str] = []
    t = threading.Thread(target=lambda: out.append(stream.readline()), daemon=True)
    t.start()
    t.join(timeout)
    return out[0] if out else ""


def serve_in_process(**kwargs) -> ProcessServer:
    """Start the local web in a child process; same arguments as ProcessServer."""
    return ProcessServer(**kwargs).start()


def main(argv: list[str] | None = None) -> int:
    """Serve the local web until interrupted; the first stdout line is the port."""
    import argparse
    import signal

    ap = argparse.ArgumentParser(prog="python -m agentcore.web.server", description=main.__doc__)
    ap.add_argument("--sites", type=int, default=500)
    ap.add_argument("--pages", type=int, nargs=2, default=DEFAULT_PAGES, metavar=("MIN", "MAX"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--corpus", metavar="DIR", help="serve a folder of HTML files instead")
    ap.add_argument("--no-hostile", action="store_true", help="only clean pages")
    ap.add_argument("--slow-seconds", type=float, default=30.0)
    ap.add_argument("--warm", action="store_true",
                    help="read every site's text in the background from the start")
    args = ap.parse_args(argv)
    if args.corpus:
        webobj: SyntheticWeb | CorpusWeb = CorpusWeb(args.corpus)
    else:
        webobj = SyntheticWeb(args.sites, tuple(args.pages), args.seed,
                              hostile=not args.no_hostile, slow_seconds=args.slow_seconds)

    async def run():
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        async with LocalWebServer(webobj, host=args.host, port=args.port,
                                  warm=args.warm) as server:
            print(server.port, flush=True)
            print(f"serving {len(webobj.sites)} sites, {webobj.n_pages} pages on "
                  f"{server.base_url} (Host: {webobj.sites[0].host} ...)", flush=True)
            await stop.wait()

    asyncio.run(run())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
