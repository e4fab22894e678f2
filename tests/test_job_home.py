"""A site's home page is a page of its site: a URL list of single article pages (no link to
follow) on a real loopback server, and a folder with one saved page per site, each get an answer
from the real model; a site with no text at all fails with a short code."""
import asyncio
import http.server
import json
import os
import threading
from urllib.parse import urlsplit

import pytest

from agentcore.crawl import inputs, queries
from agentcore.crawl.job import CrawlJob
from agentcore.crawl.jobfile import parse_job
from agentcore.crawl.tables import Failure, LLMResult, Page, Site
from agentcore.store import open_store

DATA = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")
GROUND_TRUTH = os.path.join(DATA, "article-extraction-benchmark", "ground-truth.json")

pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def engine():
    from agentcore.llm import Engine

    with Engine(n_slots=8, n_ctx_per_seq=512) as e:
        yield e


@pytest.fixture(scope="module")
def articles():
    """Three real articles of distinct hosts: (host, path, html), each page linking only to
    other hosts (a share button), so a crawl of it has nothing to follow."""
    assert os.path.exists(GROUND_TRUTH), f"{GROUND_TRUTH} is missing: the tests need ../shared"
    with open(GROUND_TRUTH) as f:
        truth = json.load(f)
    out, hosts = [], set()
    for key in sorted(truth):
        url = urlsplit(truth[key]["url"])
        body = truth[key]["articleBody"]
        if url.hostname in hosts or len(body.split()) < 150:
            continue
        hosts.add(url.hostname)
        paras = "".join(f"<p>{p}</p>" for p in body.split("\n") if p.strip())
        html = (f"<!doctype html><html><head><meta charset='utf-8'><title>{url.hostname}</title>"
                f"</head><body><article>{paras}</article><a href='https://twitter.com/share'>"
                f"Share</a></body></html>")
        out.append((url.hostname, url.path or "/", html))
        if len(out) == 3:
            return out
    raise AssertionError("the benchmark has fewer than three long articles of distinct hosts")


def answered(store, run) -> dict:
    return {r.host: r for r in store.rows(LLMResult, run)}


def crawl(store, run, engine, sites, max_pages=8) -> CrawlJob:
    job = parse_job("[crawl]\ndelay = 0.0\ntimeout = 5.0\n")
    pipe = CrawlJob(store, run, engine=engine, task=job.task, max_pages=max_pages,
                    fetch_config=job.fetch_config(), follow=job.follow)
    asyncio.run(pipe.run(sites.home_urls, hosts=sites.static_hosts,
                         allowed_hosts=sites.allowed_hosts))
    return pipe


def test_a_url_list_of_single_article_pages_gets_an_answer_per_site(articles, engine, tmp_path):
    pages = {(h, p): html for h, p, html in articles}
    pages[("empty.example", "/")] = "<!doctype html><html><body></body></html>"

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            host = (self.headers.get("Host") or "").split(":")[0]
            if self.path == "/robots.txt":
                body, ctype = b"User-agent: *\nDisallow:\n", "text/plain"
            elif (host, self.path) in pages:
                body, ctype = pages[(host, self.path)].encode(), "text/html; charset=utf-8"
            else:
                self.send_response(404)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    try:
        lines = [f"http://{h}{p}" for h, p in pages]
        sites = inputs.url_list(lines, resolve={h: ("127.0.0.1", port) for h, _ in pages})
        store = open_store(str(tmp_path / "urls.db"))
        run = store.create_run({})
        try:
            crawl(store, run, engine, sites)
            got = answered(store, run)
            hosts = [h for h, _, _ in articles]
            assert set(got) == set(hosts), queries.failure_reasons(store, run)
            # each article URL is stored as a page of its site, the site's only one
            stored = {p.url: p for p in store.rows(Page, run)}
            assert set(stored) == {f"http://{h}{p}" for h, p, _ in articles}
            assert all(p.n_words > 100 and p.excerpt for p in stored.values())
            sites_by_host = {s.host: s for s in store.rows(Site, run)}
            assert all(sites_by_host[h].n_pages == 1 and sites_by_host[h].status == "ok"
                       for h in hosts)
            for r in got.values():
                assert r.summary and r.prompt_tokens + 128 <= engine.n_ctx_per_seq
            # a site with no text to ground an answer in fails with a short code
            fails = {f.host: f for f in store.rows(Failure, run) if f.kind == "site"}
            assert fails["empty.example"].reason == "no_text"
            assert sites_by_host["empty.example"].status == "failed"
        finally:
            store.close()
    finally:
        server.shutdown()
        server.server_close()


def test_a_folder_of_one_page_per_site_gets_an_answer_per_site(articles, engine, tmp_path):
    root = tmp_path / "sites"
    for i, (host, _, html) in enumerate(articles):
        (root / host).mkdir(parents=True)
        # one site's page is its home page (index.html, served at /); the others sit under a
        # name of their own, behind the folder's list of links
        (root / host / ("index.html" if i == 0 else "article.html")).write_text(html)
    store = open_store(str(tmp_path / "folder.db"))
    run = store.create_run({})
    try:
        with inputs.corpus(str(root)) as sites:
            crawl(store, run, engine, sites, max_pages=1)
        got = answered(store, run)
        assert set(got) == {h for h, _, _ in articles}, queries.failure_reasons(store, run)
        urls = {p.url for p in store.rows(Page, run)}
        home = articles[0][0]
        assert f"http://{home}/" in urls  # the home page itself was analysed
        assert not store.rows(Failure, run)
    finally:
        store.close()
