"""Page rendering: the HTML of a synthetic site's home and article pages, from the stdlib text."""

from __future__ import annotations

import html
import random
from typing import TYPE_CHECKING

from agentcore.web.corpus import Article

if TYPE_CHECKING:
    from agentcore.web.synthetic import SyntheticWeb

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


class SiteRenderer:
    """A site's articles and pre-rendered chrome (built on first request), and its pages' HTML.

    A page's bytes as served (UTF-8) are kept once rendered (:meth:`home_bytes`,
    :meth:`page_bytes`) while the web's render budget lasts: serving a kept page costs a dict
    lookup instead of ~100 us of rendering, on the cores the crawler being measured shares.
    """

    def __init__(self, web: SyntheticWeb, si: int):
        site = web.sites[si]
        self.web, self.si, self.site = web, si, site
        self._home: bytes | None = None
        self._pages: dict[int, bytes] = {}
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

    def home_bytes(self) -> bytes:
        """The home page as served: :meth:`home` in UTF-8, rendered once."""
        body = self._home
        if body is None:
            body = self.home().encode("utf-8")
            if self.web.keep_rendered(len(body)):
                self._home = body
        return body

    def page_bytes(self, j: int) -> bytes:
        """Page j as served: :meth:`page` (``meta charset="utf-8"``) in UTF-8, rendered once."""
        body = self._pages.get(j)
        if body is None:
            body = self.page(j).encode("utf-8")
            if self.web.keep_rendered(len(body)):
                self._pages[j] = body
        return body

    def article_for(self, j: int) -> Article:
        """The article page j shows: its own, or for a near duplicate an edited copy."""
        src = self.web.dup_source(self.si, j)
        if src is None:
            return self.articles[j - 1]
        art = self.web.renderer(src[0]).articles[src[1] - 1]
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
