"""Ground truth of the synthetic web: its sites, each page's kind and the outcome it should get."""

from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agentcore.web.replies import Reply

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

#: The paths a content page can have: /articles/J.html (or /private/ when robots.txt disallows
#: it), and the targets of its redirects, /moved/J.html and /loop/J/a, /loop/J/b.
PAGE_PATH = re.compile(r"^/(articles|private|moved|loop)/(\d{1,6})(\.html|/a|/b)$")


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


def page_index(path: str) -> int | None:
    """The page number J of a content page's own path (/articles/J.html), else None."""
    m = PAGE_PATH.match(path)
    return int(m.group(2)) if m and m.group(3) == ".html" else None


def site_host(host: str) -> str:
    """A Host header as a site name: without the port, lower case."""
    return host.split(":", 1)[0].lower()


class Sites:
    """A web's sites by host name, and what a server and a crawl's checks ask of every web.

    A web (``WebTruth`` and its ``SyntheticWeb``, ``CorpusWeb``) gives ``sites`` and
    :meth:`pages` (the ground truth of every page); the rest follows from them here.
    ``respond(host, path)`` is the web's own; ``is_ready``/``prepare`` let the server read a
    site off its event loop (nothing to read by default).
    """

    def __init__(self, sites: list[Site]):
        self.sites = sites
        self._by_host = {s.host: s for s in sites}

    @property
    def n_pages(self) -> int:
        """Content pages, not counting home pages."""
        return sum(s.n_pages for s in self.sites)

    @property
    def hosts(self) -> list[str]:
        return [s.host for s in self.sites]

    def home_urls(self) -> list[str]:
        return [s.home_url for s in self.sites]

    def site_for(self, host: str) -> Site | None:
        """The site a Host header names (port and case ignored), or None."""
        return self._by_host.get(site_host(host))

    def pages(self, include_home: bool = True) -> list[Page]:
        raise NotImplementedError

    def respond(self, host: str, path: str) -> "Reply":
        """The reply for one request, by Host header and path."""
        raise NotImplementedError

    def expected_counts(self) -> Counter:
        """How many pages should end with each outcome ("ok" or a reason), home pages included."""
        return Counter(p.expect for p in self.pages())

    def is_ready(self, host: str) -> bool:
        return True

    def prepare(self, host: str) -> None:
        pass


class WebTruth(Sites):
    """The sites of a synthetic web and each page's kind, decided from a seed without any text.

    Building it costs about 0.2 s for 500 sites, so a process that needs the ground truth of a
    web served elsewhere (see ProcessServer) builds an identical one.
    """

    def __init__(self, n_sites: int, pages_per_site: tuple[int, int], seed: int, hostile: bool):
        lo, hi = pages_per_site
        if n_sites < 1 or not 1 <= lo <= hi:
            raise ValueError(
                f"need n_sites >= 1 and 1 <= pages_per_site[0] <= pages_per_site[1], "
                f"got n_sites={n_sites}, pages_per_site={pages_per_site}"
            )
        self.seed = seed
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
        super().__init__([
            Site(i, f"site-{i:0{width}d}.test", counts[i], has_robots=(i % 10 != 9))
            for i in range(n_sites)
        ])
        self._kinds, self._dup_source = self._assign_kinds(seed, hostile)

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

    def kind(self, site: int, j: int) -> str:
        """The kind of page j of a site (0 is the home page)."""
        return self._kinds[site][j]

    def dup_source(self, site: int, j: int) -> tuple[int, int] | None:
        """(site, page) whose article a near duplicate copies; None for any other page."""
        return self._dup_source.get((site, j))

    def dup_sources_of(self, site: int) -> list[int]:
        """The other sites whose text the near duplicates of a site copy."""
        return [src for (si, _), (src, _) in self._dup_source.items() if si == site]

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
                out.append(self.page(s.index, j))
        return out

    def page(self, site: int, j: int) -> Page:
        """Ground truth for page j of a site (0 is the home page)."""
        kind = self._kinds[site][j]
        dup = self._dup_source.get((site, j))
        return Page(
            self.page_url(site, j), site, j, kind, KIND_EXPECT[kind],
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
            return self.page(site.index, 0)
        j = page_index(path)
        if j is None or not 1 <= j <= site.n_pages:
            return None
        if self.page_url(site.index, j) != f"http://{site.host}{path}":
            return None
        return self.page(site.index, j)
