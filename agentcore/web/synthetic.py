"""The synthetic web: answers each request from its truth model, renderer and hostile replies."""

from __future__ import annotations

import threading

from agentcore.web.corpus import Article, StdlibCorpus
from agentcore.web.render import SiteRenderer
from agentcore.web.replies import RENDERED_KINDS, HostileReplies, Reply, not_found, robots_txt
from agentcore.web.truth import DEFAULT_PAGES, PAGE_PATH, WebTruth


class SyntheticWeb(WebTruth):
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
        render_budget: int = 256 << 20,
    ):
        super().__init__(n_sites, pages_per_site, seed, hostile)
        self.latency = latency  # added to every answer, to make concurrency observable
        self.corpus = StdlibCorpus(n_sites, root=corpus_root)
        self.hostile_replies = HostileReplies(seed, slow_seconds, huge_bytes, bomb_bytes)
        self._renderers: dict[int, SiteRenderer] = {}
        self._ready: set[int] = set()  # sites whose pages, near duplicates included, are built
        self._lock = threading.Lock()
        # bytes of rendered pages kept for serving again (500 sites: about 34 MiB); past this,
        # pages are rendered on each request as before
        self.render_budget = render_budget
        self.rendered_bytes = 0

    def keep_rendered(self, n: int) -> bool:
        """Whether a rendered page of ``n`` bytes may be kept (and count it if so)."""
        if self.rendered_bytes + n > self.render_budget:
            return False
        self.rendered_bytes += n  # under the GIL; a race only misjudges the budget by a page
        return True

    @property
    def slow_seconds(self) -> float:
        return self.hostile_replies.slow_seconds

    def renderer(self, si: int) -> SiteRenderer:
        """Site si's renderer, its text read on the first call."""
        data = self._renderers.get(si)
        if data is None:
            # Rendering can run in several server threads; build each site once.
            with self._lock:
                data = self._renderers.get(si)
                if data is None:
                    data = SiteRenderer(self, si)
                    self._renderers[si] = data
        return data

    def article(self, site: int, j: int) -> Article:
        """The article page j of a site renders: the ground truth of its text."""
        return self.renderer(site).article_for(j)

    def is_ready(self, host: str) -> bool:
        """False while a site's text has not been read yet (see prepare)."""
        site = self.site_for(host)
        return site is None or site.index in self._ready

    def prepare(self, host: str) -> None:
        """Read and split a site's text (about 10 ms) and render its pages (about 2 ms); the
        server calls it off its loop, for every site during warm-up, so serving a page later
        costs no rendering."""
        site = self.site_for(host)
        if site is not None:
            render = self.renderer(site.index)
            for src in self.dup_sources_of(site.index):
                self.renderer(src)  # near duplicates render from their source site's text
            render.home_bytes()
            for j in range(1, site.n_pages + 1):
                if self.kind(site.index, j) in RENDERED_KINDS:
                    render.page_bytes(j)
            self._ready.add(site.index)

    def respond(self, host: str, path: str) -> Reply:
        """The reply for one request, by Host header and path; never raises for bad input."""
        site = self.site_for(host)
        if site is None:
            return Reply(404, b"unknown site: send a Host header naming a site of this web\n",
                         "text/plain; charset=utf-8")
        if "?" in path:
            path = path.split("?", 1)[0]
        si = site.index
        if path == "/robots.txt":
            if not site.has_robots:
                return Reply(404, b"no robots.txt here\n", "text/plain; charset=utf-8")
            return Reply(200, robots_txt(site).encode(), "text/plain; charset=utf-8")
        if path == "/" or path == "/index.html":
            return Reply(200, self.renderer(si).home_bytes(), delay=self.latency)
        m = PAGE_PATH.match(path)
        if not m:
            return not_found(site.host)
        folder, j, rest = m.group(1), int(m.group(2)), m.group(3)
        if not 1 <= j <= site.n_pages:
            return not_found(site.host)
        kind = self.kind(si, j)
        if folder == "moved" and kind == "redirect" and rest == ".html":
            return Reply(200, self.renderer(si).page_bytes(j))
        if folder == "loop" and kind == "redirect_loop":
            nxt = "b" if rest == "/a" else "a"
            return Reply(302, b"", None, {"Location": f"/loop/{j}/{nxt}"})
        expected_folder = "private" if kind == "robots_disallowed" else "articles"
        if folder != expected_folder or rest != ".html":
            return not_found(site.host)
        reply = self.hostile_replies.reply(site, j, kind, self.renderer(si))
        reply.delay += self.latency
        return reply
