"""The folder web: a user's folder of HTML files served as sites, every page "ok" in the truth."""

from __future__ import annotations

import html
import os
import re
from collections import Counter

from agentcore.web.replies import Reply, not_found
from agentcore.web.truth import Page, Site, Sites


_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")


def folder_host(name: str) -> str | None:
    """The host name a site folder is served under: its own name (lower case, IDNA for
    non-ASCII names such as ``straße.de``), or None when the name is no host name."""
    name = name.strip().lower().rstrip(".")
    try:
        ascii_name = name if name.isascii() else idna_host(name)
    except UnicodeError:
        return None
    if len(ascii_name) > 253 or not _HOST.fullmatch(ascii_name):
        return None
    # an IP literal would be dialled directly, past the static host map, onto the real network
    return None if ascii_name.rsplit(".", 1)[-1].isdigit() else ascii_name


def idna_host(name: str) -> str:
    """A non-ASCII host name as yarl (and so the crawler) writes it: IDNA 2008 when the idna
    package is there (``straße.de`` -> ``xn--strae-oqa.de``), else Python's IDNA 2003."""
    try:
        import idna
    except ImportError:
        return name.encode("idna").decode("ascii")
    try:
        return idna.encode(name, uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        raise UnicodeError(str(exc)) from None


class CorpusWeb(Sites):
    """Serve a folder of HTML files as sites: each subfolder is a site served under its own name
    as the host (``www.example.com/`` -> ``http://www.example.com/``), and loose files at the top
    are grouped `group_size` to a site. A subfolder whose name is no host name, and each group of
    loose files, is served as ``site-NNNN.test``. Every page is "ok" in the ground truth."""

    def __init__(self, root: str, group_size: int = 20):
        if not os.path.isdir(root):
            raise FileNotFoundError(f"--corpus {root!r} is not a folder of HTML files")
        self.root = os.path.abspath(root)
        groups: list[tuple[str, list[str], str | None]] = []
        loose = []
        for entry in sorted(os.scandir(self.root), key=lambda e: e.name):
            if entry.is_dir():
                files = sorted(
                    os.path.relpath(os.path.join(dp, f), entry.path)
                    for dp, _, fs in os.walk(entry.path) for f in fs
                    if f.lower().endswith((".html", ".htm"))
                )
                if files:
                    groups.append((entry.path, files, folder_host(entry.name)))
            elif entry.name.lower().endswith((".html", ".htm")):
                loose.append(entry.name)
        for k in range(0, len(loose), group_size):
            groups.append((self.root, loose[k : k + group_size], None))
        if not groups:
            raise FileNotFoundError(f"no .html files under {self.root}")
        width = max(4, len(str(len(groups) - 1)))
        sites = []
        self._files: dict[str, dict[str, str]] = {}  # host -> {path: file}
        named = Counter(name for _, _, name in groups if name)
        for i, (folder, files, name) in enumerate(groups):
            # a name two folders share (``A.com`` and ``a.com``) belongs to neither
            host = name if name and named[name] == 1 else f"site-{i:0{width}d}.test"
            paths = {"/" + f.replace(os.sep, "/"): os.path.join(folder, f) for f in files}
            sites.append(Site(i, host, len(paths), has_robots=True))
            self._files[host] = paths
        super().__init__(sites)

    def pages(self, include_home: bool = True) -> list[Page]:
        out = []
        for s in self.sites:
            if include_home:
                out.append(Page(s.home_url, s.index, 0, "home", "ok"))
            for j, path in enumerate(self._files[s.host], 1):
                out.append(Page(f"http://{s.host}{path}", s.index, j, "ok", "ok"))
        return out

    def truth(self, url: str) -> Page | None:
        if not hasattr(self, "_truth_by_url"):
            self._truth_by_url = {p.url: p for p in self.pages()}
        return self._truth_by_url.get(url)

    def respond(self, host: str, path: str) -> Reply:
        site = self.site_for(host)
        if site is None:
            return Reply(404, b"unknown site\n", "text/plain; charset=utf-8")
        paths = self._files[site.host]
        path = path.split("?", 1)[0]
        if path == "/" and "/index.html" in paths:  # a saved site's own home page
            path = "/index.html"
        if path == "/robots.txt":
            return Reply(200, b"User-agent: *\nDisallow:\n", "text/plain; charset=utf-8")
        if path in ("/", "/index.html") and path not in paths:  # no home page: a list of links
            links = "".join(
                f'<li><a href="{html.escape(p)}">{html.escape(p)}</a></li>' for p in paths
            )
            return Reply(200, f"<!doctype html><html><head><meta charset=\"utf-8\"><title>"
                              f"Index</title></head><body><ul>{links}</ul></body></html>"
                         .encode())
        file = paths.get(path)
        if file is None:
            return not_found(host)
        try:
            with open(file, "rb") as f:
                # No charset: the files declare their own, as they would on the real web.
                return Reply(200, f.read(), "text/html")
        except OSError as exc:
            return Reply(500, f"cannot read {file}: {exc}".encode(), "text/plain")
