"""Replies as plain data, and the hostile ones: errors, slow, redirects, huge, binary, charsets."""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass

from agentcore.web.bomb import gzip_bomb
from agentcore.web.render import SiteRenderer
from agentcore.web.truth import Site

SSRF_TARGET = "http://169.254.169.254/latest/meta-data/iam/security-credentials/"
OFFSITE_TARGET = "http://offsite.example.com/landing?from={host}"
#: kinds whose reply is built from the page as rendered (``SiteRenderer.page_bytes``)
RENDERED_KINDS = frozenset({"ok", "robots_disallowed", "near_duplicate", "flaky", "slow",
                            "redirect", "huge", "huge_chunked", "truncated"})


@dataclass(slots=True)
class Reply:
    """A response as plain data, so webs stay independent of the HTTP library."""

    status: int = 200
    body: bytes = b""
    content_type: str | None = "text/html; charset=utf-8"
    headers: dict[str, str] | None = None
    delay: float = 0.0  # seconds to wait before answering
    stream: int = 0  # >0: stream this many bytes of body repeated, without Content-Length


def not_found(host: str) -> Reply:
    """A 404 page on `host`."""
    return Reply(404, (
        f"<!doctype html><html><head><title>Page not found</title></head><body>"
        f"<h1>404</h1><p>Nothing lives at this address on {host}.</p>"
        f'<p><a href="/">Back to the home page</a></p></body></html>'
    ).encode())


def robots_txt(site: Site) -> str:
    """A site's robots.txt: /private/ is disallowed, and every 7th site also bans BadBot."""
    lines = [
        "# robots.txt for " + site.host,
        "User-agent: *",
        "Disallow: /private/",
        "Disallow: /cgi-bin/",
        "",
    ]
    if site.index % 7 == 3:
        lines += ["User-agent: BadBot", "Disallow: /", ""]
    return "\n".join(lines)


class HostileReplies:
    """What a content page answers by its kind; remembers which flaky pages were asked for."""

    def __init__(self, seed: int, slow_seconds: float, huge_bytes: int, bomb_bytes: int):
        self.seed = seed
        self.slow_seconds = slow_seconds
        self.huge_bytes = huge_bytes
        self.bomb_bytes = bomb_bytes
        self._lock = threading.Lock()  # replies are built in several server threads
        self._hits_flaky: Counter = Counter()

    def reply(self, site: Site, j: int, kind: str, render: SiteRenderer) -> Reply:
        """The reply of page j of `site`, a page of `kind`, rendered by `render`."""
        si = site.index
        if kind in ("ok", "robots_disallowed", "near_duplicate"):
            return Reply(200, render.page_bytes(j))
        if kind == "http_404":
            return not_found(site.host)
        if kind == "http_500":
            return Reply(500, b"<html><body><h1>500 Internal Server Error</h1></body></html>")
        if kind == "flaky":
            with self._lock:
                self._hits_flaky[(si, j)] += 1
                first = self._hits_flaky[(si, j)] == 1
            if first:
                return Reply(503, b"<html><body>busy, try again</body></html>",
                             headers={"Retry-After": "0"})
            return Reply(200, render.page_bytes(j))
        if kind == "slow":
            return Reply(200, render.page_bytes(j), delay=self.slow_seconds)
        if kind == "redirect":
            return Reply(301, b"", None, {"Location": f"/moved/{j}.html"})
        if kind == "redirect_loop":
            return Reply(302, b"", None, {"Location": f"/loop/{j}/a"})
        if kind == "redirect_offsite":
            return Reply(302, b"", None, {"Location": OFFSITE_TARGET.format(host=site.host)})
        if kind == "redirect_ssrf":
            return Reply(302, b"", None, {"Location": SSRF_TARGET})
        if kind in ("huge", "huge_chunked"):
            unit = render.page_bytes(j)
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
            text = render.page(j, meta_charset=None)
            return Reply(200, text.encode("latin-1", "replace"))
        if kind == "meta_charset":
            text = render.page(j, meta_charset="windows-1252")
            return Reply(200, text.encode("cp1252", "replace"), "text/html")
        if kind == "no_charset":
            return Reply(200, render.page(j, meta_charset=None).encode("utf-8"), "text/html")
        if kind == "truncated":
            body = render.page_bytes(j)
            cut = body.rfind(b"<", 0, int(len(body) * 0.6)) + 3  # stop inside a tag
            return Reply(200, body[:cut])
        raise AssertionError(f"unhandled page kind {kind!r}")
