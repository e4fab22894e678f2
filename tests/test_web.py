"""The local web: real stdlib text, deterministic sites and ground truth, and a real server."""

import asyncio
import collections
import os
import re
import socket
import zlib

import pytest

from agentcore.web import (
    DEFAULT_PAGES,
    HOSTILE_SHARES,
    KIND_EXPECT,
    CorpusWeb,
    StdlibCorpus,
    SyntheticWeb,
    gzip_bomb,
    serve_in_process,
    serve_in_thread,
)
from agentcore.web.corpus import extract_units, stdlib_root
from agentcore.web.bomb import crc32_zeros


# -- corpus ------------------------------------------------------------------------------------


def test_lexer_takes_docstrings_and_comments_not_code_or_strings(tmp_path):
    (tmp_path / "mod.py").write_text(
        '"""Module docstring that explains what this module is for, in a full sentence."""\n'
        "x = '# not a comment, only a string that happens to hold a hash mark inside'\n"
        "y = \"it's a string with an apostrophe and \\\"escaped quotes\\\" in it\"\n"
        "# A comment block that spans two lines and explains why the\n"
        "# code below exists, which is what comments are for.\n"
        "def spam(a, b):\n"
        '    """Return the spam of a and b, computed carefully by the usual rules.\n\n'
        "    >>> spam(1, 2)\n    3\n"
        '    """\n'
        "    return a + b  # don't panic\n"
    )
    units = extract_units(str(tmp_path), "mod.py")
    texts = [p for u in units for p in u.paragraphs]
    assert texts == [
        "Module docstring that explains what this module is for, in a full sentence.",
        "A comment block that spans two lines and explains why the code below exists, "
        "which is what comments are for.",
        "Return the spam of a and b, computed carefully by the usual rules.",
    ]
    assert units[0].title == "mod" and units[2].title == "spam (mod)"


def test_corpus_articles_are_real_stdlib_prose():
    corpus = StdlibCorpus(n_sites=500)
    articles = corpus.articles(site=42, n=20)
    assert len(articles) == 20
    assert all(a.paragraphs and all(len(p) >= 40 for p in a.paragraphs) for a in articles)
    # Every paragraph is words found in the library's own files, never generated.
    source = ""
    for path, _, _ in corpus.site_slices(42):
        with open(os.path.join(stdlib_root(), path), encoding="utf-8", errors="replace") as f:
            source += " ".join(re.sub(r"[#\s]+", " ", f.read()).split())
    for a in articles:
        for p in a.paragraphs:
            assert " ".join(p.split()[:6]) in source, p
    assert corpus.articles(42, 20) == articles  # deterministic


def test_crc_of_zeros_and_gzip_bomb_are_valid():
    for n in (0, 1, 1000, 65536, 65537, 3 << 20):
        assert crc32_zeros(n) == zlib.crc32(bytes(n))
    small = gzip_bomb(4 << 20)
    assert zlib.decompress(small, 31) == bytes(4 << 20)  # a real, complete gzip stream
    bomb = gzip_bomb()
    assert len(bomb) < 2_200_000
    assert int.from_bytes(bomb[-4:], "little") == (2 << 30) % (1 << 32)
    d = zlib.decompressobj(31)
    assert len(d.decompress(bomb[:100_000], 64 << 20)) == 64 << 20  # inflates ~1000x


# -- the synthetic web -------------------------------------------------------------------------


def test_default_web_shape_and_ground_truth():
    web = SyntheticWeb()
    assert len(web.sites) == 500 and len(set(web.hosts)) == 500
    assert web.n_pages >= 10_000
    lo, hi = DEFAULT_PAGES
    assert all(lo <= s.n_pages <= hi for s in web.sites)
    pages = web.pages()
    assert len(pages) == web.n_pages + 500
    kinds = collections.Counter(p.kind for p in pages)
    assert set(kinds) == set(KIND_EXPECT)
    assert kinds["home"] == 500
    assert all(p.expect == KIND_EXPECT[p.kind] for p in pages)
    assert sum(n for k, n in kinds.items() if k not in ("ok", "home")) > 0.1 * web.n_pages
    dups = [p for p in pages if p.kind == "near_duplicate"]
    assert dups and all(web.truth(p.dup_of).kind == "ok" for p in dups)
    assert all(web.truth(p.url) == p for p in pages[:300])
    assert web.truth("http://site-0001.test/nowhere") is None
    assert web.truth("http://elsewhere.test/") is None


def test_small_web_has_every_kind_and_is_deterministic():
    a, b = SyntheticWeb(20, seed=7), SyntheticWeb(20, seed=7)
    assert a.pages() == b.pages()
    assert {p.kind for p in a.pages()} == set(KIND_EXPECT)
    assert a.pages() != SyntheticWeb(20, seed=8).pages()
    # Disallowed pages only sit on sites that have a robots.txt to disallow them.
    for p in a.pages():
        if p.kind == "robots_disallowed":
            assert a.sites[p.site].has_robots and "/private/" in p.url
    assert set(HOSTILE_SHARES) | {"ok", "home"} == set(KIND_EXPECT)


def test_render_pages_have_boilerplate_and_links():
    web = SyntheticWeb(20)
    site = web.sites[3]
    home = web.respond(site.host, "/")
    assert home.status == 200
    text = home.body.decode()
    links = set(re.findall(r'href="(/(?:articles|private)/\d+\.html)"', text))
    assert len(links) == site.n_pages  # every page is linked from the home page
    page = next(p for p in web.pages() if p.site == 3 and p.kind == "ok")
    html = web.respond(site.host, page.url.split(site.host)[1]).body.decode()
    for chrome in ("cookie-banner", "<nav", "<footer", "sidebar", "<script", "Partner sites"):
        assert chrome in html
    assert "<article><h1>" in html and html.count("<p>") >= 1
    robots = web.respond(site.host, "/robots.txt").body.decode()
    assert "Disallow: /private/" in robots


def replies_of(web, rounds: int = 2) -> list:
    """Every reply of every page (redirect targets, robots.txt, misses too), ``rounds`` times:
    a flaky page answers 503 first, then its page."""
    paths = []
    for p in web.pages():
        host, path = p.url[7:].split("/", 1)
        paths.append((host, "/" + path))
        if p.kind == "redirect":
            paths.append((host, f"/moved/{p.index}.html"))
    for s in web.sites:
        paths += [(s.host, "/robots.txt"), (s.host.upper() + ":80", "/index.html?q=1"),
                  (s.host, "/articles/999.html")]
    out = []
    for _ in range(rounds):
        for host, path in paths:
            r = web.respond(host, path)
            out.append((host, path, r.status, r.body, r.content_type, r.headers, r.delay,
                        r.stream))
    return out


def test_kept_renders_serve_the_same_bytes_as_rendering_each_request():
    small = dict(slow_seconds=7, huge_bytes=1 << 20, bomb_bytes=16 << 20)
    def fresh():  # renders on every request; a new one each time (flaky pages keep state)
        return SyntheticWeb(24, seed=5, render_budget=0, **small)
    kept = SyntheticWeb(24, seed=5, **small)
    for host in kept.hosts:
        kept.prepare(host)  # what the warm-up does: every page rendered before any request
    assert kept.rendered_bytes > 0
    assert {p.kind for p in kept.pages()} == set(KIND_EXPECT)
    assert replies_of(kept) == replies_of(fresh())
    # a budget smaller than the web keeps what fits, and the rest is rendered on request
    part = SyntheticWeb(24, seed=5, render_budget=200_000, **small)
    for host in part.hosts[:3]:
        part.prepare(host)
    assert 0 < part.rendered_bytes <= 200_000
    assert replies_of(part) == replies_of(fresh())


def test_near_duplicate_shares_text_under_other_chrome():
    web = SyntheticWeb(20)
    dup = next(p for p in web.pages() if p.kind == "near_duplicate")
    src = web.truth(dup.dup_of)
    body_of = lambda p: web.respond(web.sites[p.site].host, p.url.split(".test", 1)[1]).body
    paras = lambda b: re.findall(rb"<p>([^<]{40,})</p>", b)
    a, b = paras(body_of(dup)), paras(body_of(src))
    assert a and set(a[:-1]) <= set(b)  # same paragraphs (the last one may be trimmed)
    header = lambda b: re.search(rb"<header>.*?</header>", b, re.S).group(0)
    assert header(body_of(dup)) != header(body_of(src))  # another site's chrome around it


# -- serving -----------------------------------------------------------------------------------


async def _get(port, host, path, **kw):
    import aiohttp

    async with aiohttp.ClientSession(auto_decompress=False) as s:
        async with s.get(f"http://127.0.0.1:{port}{path}", headers={"Host": host},
                         allow_redirects=False, **kw) as r:
            return r.status, dict(r.headers), await r.content.read(3 << 20)


def test_threaded_server_serves_every_kind_over_http():
    web = SyntheticWeb(20, slow_seconds=0.3)
    by_kind = {}
    for p in web.pages():
        by_kind.setdefault(p.kind, p)
    with serve_in_thread(web) as server:
        port = server.port

        async def main():
            out = {}
            for kind, p in by_kind.items():
                host = web.sites[p.site].host
                out[kind] = await _get(port, host, p.url.split(host, 1)[1])
            return out

        got = asyncio.run(main())
        stats = server.stats.snapshot()
    ctype = lambda k: got[k][1].get("Content-Type", "")
    assert got["ok"][0] == 200 and ctype("ok") == "text/html; charset=utf-8"
    assert got["http_404"][0] == 404 and got["http_500"][0] == 500
    assert got["flaky"][0] == 503
    assert got["slow"][0] == 200
    assert got["redirect"][0] == 301 and got["redirect"][1]["Location"].startswith("/moved/")
    assert got["redirect_loop"][1]["Location"].startswith("/loop/")
    assert got["redirect_ssrf"][1]["Location"].startswith("http://169.254.169.254/")
    assert "offsite.example.com" in got["redirect_offsite"][1]["Location"]
    assert int(got["huge"][1]["Content-Length"]) == 8 << 20
    assert "Content-Length" not in got["huge_chunked"][1]
    assert got["gzip_bomb"][1]["Content-Encoding"] == "gzip"
    assert ctype("binary") == "application/octet-stream"
    assert ctype("binary_as_html").startswith("text/html") and b"\x00" in got["binary_as_html"][2]
    with pytest.raises(UnicodeDecodeError):
        got["bad_charset"][2].decode(ctype("bad_charset").split("charset=")[1])
    assert ctype("meta_charset") == "text/html"
    assert b'charset="windows-1252"' in got["meta_charset"][2]
    assert "charset" not in ctype("no_charset") and b"charset" not in got["no_charset"][2][:300]
    assert not got["truncated"][2].rstrip().endswith(b"</html>")
    assert stats["requests"] == len(by_kind)
    # After stop the port is closed.
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_unknown_host_is_404_and_stats_count():
    with serve_in_thread(n_sites=3) as server:
        status, _, body = asyncio.run(_get(server.port, "nosuch.test", "/"))
        assert status == 404 and b"unknown site" in body
        assert server.stats.requests == 1


def test_corpus_mode_serves_a_folder_of_html(tmp_path):
    (tmp_path / "blog").mkdir()
    (tmp_path / "blog" / "index.html").write_text("<html><body>blog home</body></html>")
    (tmp_path / "blog" / "post.html").write_text("<html><body>a post</body></html>")
    for i in range(3):
        (tmp_path / f"page{i}.html").write_text(f"<html><body>loose {i}</body></html>")
    web = CorpusWeb(str(tmp_path), group_size=2)
    assert [s.n_pages for s in web.sites] == [2, 2, 1]
    assert web.expected_counts() == {"ok": 5 + 3}
    with serve_in_thread(web) as server:
        host = web.sites[0].host
        body = asyncio.run(_get(server.port, host, "/post.html"))[2]
        assert body == b"<html><body>a post</body></html>"
        status, _, listing = asyncio.run(_get(server.port, web.sites[1].host, "/"))
        assert status == 200 and b'href="/page0.html"' in listing
    with serve_in_process(corpus=str(tmp_path)) as server:  # the CLI's --corpus DIR
        assert [s.n_pages for s in server.web.sites] == [2, 3]  # 20 loose files to a site
        body = asyncio.run(_get(server.port, server.web.sites[1].host, "/page2.html"))[2]
        assert body == b"<html><body>loose 2</body></html>"
    with pytest.raises(FileNotFoundError):
        CorpusWeb(str(tmp_path / "missing"))


def test_process_server_serves_the_same_web():
    with serve_in_process(n_sites=5, hostile=False) as server:
        page = server.web.pages()[1]
        host = server.web.sites[page.site].host
        local = server.web.respond(host, page.url.split(host, 1)[1]).body
        status, _, body = asyncio.run(_get(server.port, host, page.url.split(host, 1)[1]))
        assert status == 200 and body == local  # child and parent build identical webs
        assert server.stats()["hits"][(host, page.url.split(host, 1)[1])] == 1
        pid = server.pid
        os.kill(pid, 0)  # running
    assert server.pid is None
    with pytest.raises(ProcessLookupError):  # stopped, and reaped
        os.kill(pid, 0)
