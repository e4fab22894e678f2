"""The crawler client against the real local web on 127.0.0.1 with a real aiohttp session."""

import asyncio
import collections
import contextlib
import functools
import http.server
import socket
import threading

import pytest

from agentcore import aio
from agentcore.crawl.fetch import Fetcher, FetchResult, SSRFBlocked, blocked_address
from agentcore.crawl.resolver import make_resolver
from agentcore.kernels.html import extract
from agentcore.web import SyntheticWeb, serve_in_thread
from transports import via

# Short limits so hostile pages fail fast, with room for a loaded 2-core machine: the slow
# pages answer after 4 s, well past the 1.5 s read timeout; ordinary pages take milliseconds.
FAST = dict(read_timeout=1.5, total_timeout=3.0, connect_timeout=2.0, max_attempts=2,
            backoff=0.01, politeness_delay=0.0)


def run(coro, loop=None):
    """On the loop the crawl uses (agentcore.aio: uvloop when installed) or on ``loop``."""
    return aio.run(coro, loop=loop)


def site_links(page: FetchResult) -> list[str]:
    """The same-site links of a fetched page, as the crawl job follows them (the extractor's)."""
    doc = extract(page.body, page.final_url, page.content_type)
    return [u for u in doc.links_internal if u != page.final_url]


@pytest.fixture(scope="module", params=["asyncio", "uvloop", "uvloop-reqwest", "uvloop-curl",
                                        "uvloop-curl-thread"])
def crawled(request):
    """One real crawl of a 20-site web, following links from the home pages as a crawler
    does, shared by the tests that check its outcome; on each event loop the crawl may run on."""
    web = SyntheticWeb(20, seed=1, slow_seconds=4.0)
    with serve_in_thread(web) as server:

        async def crawl():
            results: dict[str, FetchResult] = {}
            transport = request.param.split("-", 1)[1] if "-" in request.param else "aiohttp"
            async with Fetcher(static_hosts=server.host_map(), **via(transport),
                               **FAST) as fetcher:
                homes = await fetcher.fetch_many(web.home_urls())
                links = []
                for home in homes:
                    results[home.url] = home
                    assert home.ok, home
                    links += site_links(home)
                for r in await fetcher.fetch_many(links):
                    results[r.url] = r
                return results, dict(fetcher.stats)

        results, stats = run(crawl(), loop=request.param.split("-")[0])
        server_stats = server.stats.snapshot()
    return web, results, stats, server_stats


def test_crawl_reaches_every_page_and_matches_ground_truth(crawled):
    web, results, stats, _ = crawled
    truth = {p.url: p for p in web.pages()}
    assert set(results) == set(truth)  # the home pages link every page, nothing else
    wrong = {u: (truth[u].kind, r.error_reason, r.error_detail) for u, r in results.items()
             if (r.error_reason or "ok") != truth[u].expect}
    assert not wrong
    counts = collections.Counter(r.error_reason or "ok" for r in results.values())
    assert counts == web.expected_counts()
    assert stats["ok"] == counts["ok"]


@pytest.mark.parametrize("kind,reason", [
    ("http_404", "http_404"), ("http_500", "http_500"), ("slow", "timeout"),
    ("redirect_loop", "redirect_loop"), ("redirect_offsite", "redirect_offsite"),
    ("redirect_ssrf", "ssrf_blocked"), ("huge", "too_large"), ("huge_chunked", "too_large"),
    ("gzip_bomb", "decompressed_too_large"), ("binary", "bad_content_type"),
    ("binary_as_html", "binary_content"), ("robots_disallowed", "robots_disallowed"),
])
def test_each_hostile_kind_fails_with_its_reason(crawled, kind, reason):
    web, results, _, _ = crawled
    pages = [p for p in web.pages() if p.kind == kind]
    assert pages
    for p in pages:
        r = results[p.url]
        assert r.error_reason == reason and r.error_detail and not r.body


def test_retry_and_attempt_accounting(crawled):
    web, results, _, _ = crawled
    by_kind = collections.defaultdict(list)
    for p in web.pages():
        by_kind[p.kind].append(results[p.url])
    assert all(r.ok and r.attempts == 2 for r in by_kind["flaky"])  # 503, then a retry
    assert all(r.attempts == 2 and r.status == 500 for r in by_kind["http_500"])
    assert all(r.attempts == 1 and r.status == 404 for r in by_kind["http_404"])
    assert all(r.attempts == 2 for r in by_kind["slow"])
    assert all(r.ok and r.redirects == 1 and "/moved/" in r.final_url for r in by_kind["redirect"])
    assert all(r.redirects >= 2 for r in by_kind["redirect_loop"])
    assert all("169.254.169.254" in r.final_url for r in by_kind["redirect_ssrf"])


def test_clean_pages_decode_despite_charset_tricks(crawled):
    web, results, _, _ = crawled
    for p in web.pages():
        if p.kind in ("bad_charset", "meta_charset", "no_charset", "ok", "truncated"):
            text = results[p.url].text()
            assert "cookie policy — you can" in text or p.kind == "bad_charset"
            assert "© 2024" in text or p.kind in ("truncated", "bad_charset")
            # The header says UTF-8 and the bytes are latin-1: the header wins, as in browsers
            # (WHATWG encoding sniffing), and the bytes that are not UTF-8 become U+FFFD.
            assert ("\ufffd" in text) == (p.kind == "bad_charset")


def test_robots_honoured_and_ssrf_never_requested(crawled):
    web, _, _, server_stats = crawled
    hits = server_stats["hits"]
    assert not [path for (_, path), n in hits.items() if path.startswith("/private/")]
    robots = [n for (_, path), n in hits.items() if path == "/robots.txt"]
    assert len(robots) == 20 and set(robots) == {1}  # fetched once per host, shared


@pytest.fixture(params=["aiohttp", "reqwest", "curl", "curl-thread"])
def transport(request):
    """The HTTP client under the Fetcher (FetchConfig.transport; ``via``)."""
    return request.param


def test_per_host_limit_and_politeness_are_honoured(transport):
    # Each answer takes 20 ms, so requests overlap at the server when the client allows it.
    web = SyntheticWeb(4, pages_per_site=(12, 12), hostile=False, latency=0.02)
    with serve_in_thread(web) as server:

        async def crawl(**kw):
            async with Fetcher(static_hosts=server.host_map(), **via(transport),
                               **{**FAST, **kw}) as f:
                return await f.fetch_many(p.url for p in web.pages())

        assert all(r.ok for r in run(crawl(per_host_limit=2)))
        peak = server.stats.snapshot()["max_inflight"]
        assert max(peak.values()) == 2  # reached, never passed
        server.stats.max_inflight.clear()
        server.stats.arrivals.clear()
        assert all(r.ok for r in run(crawl(per_host_limit=3, politeness_delay=0.1)))
        snap = server.stats.snapshot()
        for host, times in snap["arrivals"].items():
            gaps = [b - a for a, b in zip(times, times[1:])]
            # Starts are spaced 0.1 s apart at the client; allow for arrival jitter.
            assert min(gaps) > 0.05, (host, gaps)


def test_refused_connection_and_timeouts(transport):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there now

    async def main(**kw):
        async with Fetcher(static_hosts={"down.test": ("127.0.0.1", port)}, **via(transport),
                           **FAST, **kw) as f:
            return await f.fetch("http://down.test/page.html")

    r = run(main())
    # robots.txt could not be fetched, so the page was never tried; the reason carries over.
    assert r.error_reason == "connection_refused" and r.attempts == 0
    assert r.error_detail.startswith("robots.txt:")
    r = run(main(respect_robots=False))
    assert r.error_reason == "connection_refused" and r.attempts == 2  # retried once

    web = SyntheticWeb(20, seed=1, slow_seconds=1.0)
    slow = next(p for p in web.pages() if p.kind == "slow")
    with serve_in_thread(web) as server:

        async def fetch_slow(**kw):
            async with Fetcher(static_hosts=server.host_map(), **via(transport),
                               **{**FAST, **kw}) as f:
                return await f.fetch(slow.url)

        r = run(fetch_slow(read_timeout=0.2, total_timeout=5.0, max_attempts=3))
        assert r.error_reason == "timeout" and r.attempts == 3
        r = run(fetch_slow(read_timeout=5.0, total_timeout=0.2, max_attempts=1))
        assert r.error_reason == "timeout" and r.attempts == 1
        r = run(fetch_slow(read_timeout=5.0, total_timeout=5.0, max_attempts=1))
        assert r.ok  # the same page with patience


def test_limits_are_settings(transport):
    web = SyntheticWeb(20, seed=1)
    by_kind = {}
    for p in web.pages():
        by_kind.setdefault(p.kind, p)
    with serve_in_thread(web) as server:

        async def main():
            hosts = server.host_map()
            F = functools.partial(Fetcher, **via(transport))  # noqa: N806
            async with F(static_hosts=hosts, max_redirects=0, **FAST) as f:
                r1 = await f.fetch(by_kind["redirect"].url)
            async with F(static_hosts=hosts, max_body=1000, **FAST) as f:
                r2 = await f.fetch(by_kind["ok"].url)
            async with F(static_hosts=hosts, max_decompressed=1 << 20, **FAST) as f:
                r3 = await f.fetch(by_kind["gzip_bomb"].url)
            async with F(static_hosts=hosts, respect_robots=False, **FAST) as f:
                r4 = await f.fetch(by_kind["robots_disallowed"].url)
            async with F(static_hosts=hosts, allowed_hosts=["site-0001.test"],
                               **FAST) as f:
                r5 = await f.fetch(by_kind["ok"].url)
            return r1, r2, r3, r4, r5

        r1, r2, r3, r4, r5 = run(main())
    assert r1.error_reason == "too_many_redirects"
    assert r2.error_reason == "too_large"
    # The cap is on inflated bytes, checked while streaming: the bomb stops after a few KB.
    assert r3.error_reason == "decompressed_too_large"
    assert 0 < r3.wire_bytes < 256 << 10
    assert "on the wire" not in r3.error_detail  # the detail must not vary with TCP chunking
    assert r4.ok and r4.status == 200
    assert (r5.error_reason == "host_not_allowed") == (by_kind["ok"].site != 1)


def test_unsafe_targets_are_refused_before_any_request(transport):
    async def main():
        async with Fetcher(**via(transport), **FAST) as f:
            return [await f.fetch(u) for u in (
                "http://169.254.169.254/latest/meta-data/",
                "http://127.0.0.1:9/", "http://[::1]/", "http://10.1.2.3/",
                "http://localhost/", "http://0x7f000001/",  # hex 127.0.0.1, caught at DNS
                "ftp://example.com/file", "not a url", "http://2852039166/",  # 169.254.169.254
            )]

    reasons = [r.error_reason for r in run(main())]
    assert reasons == ["ssrf_blocked"] * 6 + ["bad_url"] * 3
    assert all(r.attempts == 0 for r in run(main()))
    assert blocked_address("::ffff:169.254.169.254") and not blocked_address("93.184.216.34")


def test_system_resolver_answers_are_filtered():
    async def main():
        resolver = make_resolver({"*.test": ("127.0.0.1", 8080)}, allow_private=False)
        mapped = await resolver.resolve("a.b.test", 80)
        try:
            await resolver.resolve("localhost", 80)
        finally:
            await resolver.close()
        return mapped

    with pytest.raises(SSRFBlocked):
        run(main())

    async def mapped_only():
        resolver = make_resolver({"*.test": ("127.0.0.1", 8080)}, allow_private=False)
        return await resolver.resolve("a.b.test", 80)

    assert [(h["host"], h["port"]) for h in run(mapped_only())] == [("127.0.0.1", 8080)]


def test_reqwest_pins_only_checked_addresses():
    """pyreqwest has no resolver hook: the transport resolves a name itself, drops private
    answers and pins the client to a public one (the system resolver is faked here)."""
    from agentcore.crawl.fetch import FetchConfig
    from agentcore.crawl.reqwest import ReqwestTransport
    from agentcore.crawl.transport import Failure

    answers = {"inside.example": ["10.0.0.5", "127.0.0.1"],
               "mixed.example": ["127.0.0.1", "93.184.216.34"]}

    async def main():
        loop = asyncio.get_running_loop()

        async def getaddrinfo(host, port, **kw):
            if host not in answers:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port)) for ip in answers[host]]

        loop.getaddrinfo = getaddrinfo
        t = ReqwestTransport(FetchConfig(), {"*.test": ("127.0.0.1", 8080)}, allow_private=False)
        out = [await t.checked_address("mixed.example", 80), await t.checked_address("a.test", 80)]
        for host in ("inside.example", "nowhere.example"):
            try:
                await t.checked_address(host, 80)
            except Failure as f:
                out.append(f.reason)
        opened = ReqwestTransport(FetchConfig(), {}, allow_private=True)
        out.append(await opened.checked_address("inside.example", 80))
        return out

    assert run(main(), loop="asyncio") == [("93.184.216.34", 80), ("127.0.0.1", 8080),
                                           "ssrf_blocked", "dns_error", ("10.0.0.5", 80)]


class StdlibHandler(http.server.BaseHTTPRequestHandler):
    """The stdlib's HTTP server, answering every GET with a small page (``status``, headers)."""

    extra_headers: dict = {}
    opened: list = []

    def setup(self):
        self.opened.append(1)  # once per connection
        super().setup()

    def do_GET(self):  # noqa: N802 - the stdlib's name
        body = b"<html><body><p>plain old server</p></body></html>"
        self.send_response(404 if self.path == "/gone" else 200)
        self.send_header("Content-Type", "text/html")
        for k, v in self.extra_headers.items():
            self.send_header(k, v)
        if self.protocol_version == "HTTP/1.1":
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def stdlib_server(handler):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address
    finally:
        server.shutdown()
        server.server_close()


def test_an_http_1_0_server_whose_headers_say_http(transport):
    """The stdlib's server answers HTTP/1.0 with ``Server: BaseHTTP/0.6 ...``: "HTTP/" inside a
    header is not a status line (the curl fetcher once read it as one: every page failed)."""

    class Handler(StdlibHandler):
        extra_headers = {"X-Note": "HTTP/1.1 500 is not the status"}

    with stdlib_server(Handler) as addr:
        async def main():
            async with Fetcher(static_hosts={"old.test": addr}, **via(transport),
                               respect_robots=False, **FAST) as f:
                return await f.fetch("http://old.test/"), await f.fetch("http://old.test/gone")

        ok, gone = run(main())
    assert ok.ok and ok.status == 200 and b"plain old server" in ok.body
    assert gone.error_reason == "http_404" and gone.status == 404


def test_connections_are_reused_while_hosts_take_turns(transport):
    """20 hosts take turns on 8 connections: each host's connection must wait for its next
    request, not be dropped and opened again (libcurl's cache once held 16: 9,473 connects for
    12,000 requests of the local web)."""

    class Handler(StdlibHandler):
        protocol_version = "HTTP/1.1"  # keep-alive
        opened: list = []

    hosts = [f"h{i:02d}.test" for i in range(20)]
    urls = [f"http://{h}/p{j}.html" for j in range(6) for h in hosts]
    with stdlib_server(Handler) as addr:
        async def main():
            async with Fetcher(static_hosts={"*.test": addr}, **via(transport),
                               respect_robots=False, global_limit=8, per_host_limit=1,
                               **FAST) as f:
                return await f.fetch_many(urls)

        results = run(main())
    assert all(r.ok for r in results)
    assert len(Handler.opened) <= 2 * len(hosts) < len(urls)


def test_each_host_is_answered_by_its_own_address_while_handles_are_reused(transport):
    """Two hosts pinned to two servers, fetched in turns through one request slot: each answer
    comes from its host's server (the curl fetcher reuses an idle handle and sets its pin only
    when the handle's last one differs)."""

    def named(name: bytes):
        class Handler(StdlibHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):  # noqa: N802 - the stdlib's name
                body = b"<html><body><p>server " + name + b"</p></body></html>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
        return Handler

    urls = [f"http://{h}.test/p{j}" for j in range(4) for h in ("a", "b", "b", "a")]
    with stdlib_server(named(b"A")) as a, stdlib_server(named(b"B")) as b:
        async def main():
            async with Fetcher(static_hosts={"a.test": a, "b.test": b}, **via(transport),
                               respect_robots=False, global_limit=1, per_host_limit=1,
                               **FAST) as f:
                return await f.fetch_many(urls)

        results = run(main())
    assert [r.body.split(b"server ")[1][:1] for r in results] == [
        u.split("//")[1][0].upper().encode() for u in urls]


def test_curl_pins_only_checked_addresses(monkeypatch):
    """libcurl never resolves a name: the fetcher pins each host (CONNECT_TO) to an address
    the system resolver gave and the SSRF guard kept (the resolver is faked here)."""
    from agentcore.crawl.curl import checked_target

    answers = {"inside.example": ["10.0.0.5", "127.0.0.1"],
               "mixed.example": ["127.0.0.1", "93.184.216.34"], "six.example": ["2606:4700::1"]}

    def getaddrinfo(host, port, **kw):
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port)) for ip in answers[host]]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    assert checked_target("mixed.example", 80, False) == "mixed.example:80:93.184.216.34:80"
    assert checked_target("six.example", 443, False) == "six.example:443:[2606:4700::1]:443"
    assert checked_target("inside.example", 80, False).reason == "ssrf_blocked"
    assert checked_target("nowhere.example", 80, False).reason == "dns_error"
    assert checked_target("inside.example", 80, True) == "inside.example:80:10.0.0.5:80"


def test_curl_ignores_proxies_from_the_environment(monkeypatch):
    """A proxy in the environment would see (and could answer for) every request: libcurl
    reads those variables, so the fetcher turns them off."""
    for name in ("http_proxy", "HTTPS_PROXY", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # nothing listens there
    web = SyntheticWeb(2, hostile=False)
    with serve_in_thread(web) as server:

        async def main():
            async with Fetcher(static_hosts=server.host_map(), transport="curl", **FAST) as f:
                return await f.fetch_many(web.home_urls())

        results = run(main())
    assert [r.error_reason for r in results] == [None, None] and all(r.body for r in results)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_crashed_curl_thread_fails_its_fetches_with_the_cause(monkeypatch):
    """A bug in the fetcher's own loop must not leave fetches waiting forever: those in flight
    and those submitted later fail with internal_error and the exception."""
    from agentcore.crawl.curl import CurlFetcher
    from agentcore.crawl.fetch import FetchConfig

    def broken(self):
        raise RuntimeError("a bug in the loop")

    monkeypatch.setattr(CurlFetcher, "_collect", broken)
    fetcher = CurlFetcher(FetchConfig(respect_robots=False), static_hosts={"a.test": ("127.0.0.1", 9)})
    fetcher.start()
    got, landed = [], threading.Event()
    fetcher.submit([("http://a.test/", lambda r: (got.append(r), landed.set()))])
    assert landed.wait(30)
    fetcher._thread.join(30)
    fetcher.submit([("http://a.test/later", got.append)])
    fetcher.close()
    assert [r.error_reason for r in got] == ["internal_error"] * 2
    assert all("a bug in the loop" in r.error_detail for r in got)


def test_text_decodes_in_the_browser_order():
    """FetchResult.text(): BOM, then the Content-Type charset, then <meta> charset, then UTF-8."""

    def text(body, ctype=None):
        headers = {"content-type": ctype} if ctype else {}
        return FetchResult("http://a.test/", "http://a.test/", 200, headers, body, None, "",
                           0.0, 1).text()

    cp = "“quoted” — café".encode("cp1252")
    meta = b'<meta charset="windows-1252">'
    assert text("café".encode(), "text/html; charset=utf-8") == "café"
    assert text(b"\xef\xbb\xbf" + "café".encode(), "text/html; charset=windows-1252") == "café"
    assert text(meta + cp, "text/html; charset=koi8-r") == (meta + cp).decode("koi8-r")
    assert text(meta + cp).endswith("“quoted” — café")
    assert text(meta + cp, "text/html") == text(meta + cp)  # a header without charset: <meta>
    assert text("é".encode("latin-1"), "text/html; charset=utf-8") == "\ufffd"  # header wins
    assert text(b"plain caf\xc3\xa9") == "plain café"
    assert text("é".encode("latin-1"), "text/html; charset=iso-8859-1") == "é"  # = windows-1252


def test_fetcher_must_be_open():
    with pytest.raises(RuntimeError, match="not open"):
        run(Fetcher().fetch("http://site-0000.test/"))


def test_redirects_stay_on_the_site(transport):
    """A redirect may go to the same site (``www.`` aside, a subdomain either way; the rule of
    agentcore.kernels.urls.same_site), never to another one; allowed_hosts, when given, rules."""
    from aiohttp import web

    async def go(request):
        raise web.HTTPFound(request.query["to"])

    async def page(request):
        return web.Response(text=f"<p>{request.host}</p>", content_type="text/html")

    app = web.Application()
    app.router.add_get("/go", go)
    app.router.add_get("/page", page)

    async def main():
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        hosts = {"*.test": ("127.0.0.1", port)}
        out = {}
        try:
            async with Fetcher(static_hosts=hosts, respect_robots=False, **via(transport),
                               **FAST) as f:
                for start, to in [("a.test", "www.a.test"), ("www.a.test", "a.test"),
                                  ("a.test", "blog.a.test"), ("blog.a.test", "a.test"),
                                  ("a.test", "b.test"), ("a.test", "evila.test"),
                                  ("blog.a.test", "shop.a.test")]:
                    r = await f.fetch(f"http://{start}/go?to=http://{to}/page")
                    out[start, to] = r.error_reason or r.final_url
            async with Fetcher(static_hosts=hosts, allowed_hosts=["a.test", "*.b.test"],
                               respect_robots=False, **via(transport), **FAST) as f:
                for to in ("www.a.test", "x.b.test"):
                    r = await f.fetch(f"http://a.test/go?to=http://{to}/page")
                    out["allowed", to] = r.error_reason or r.final_url
        finally:
            await runner.cleanup()
        return out

    assert run(main()) == {
        ("a.test", "www.a.test"): "http://www.a.test/page",
        ("www.a.test", "a.test"): "http://a.test/page",
        ("a.test", "blog.a.test"): "http://blog.a.test/page",
        ("blog.a.test", "a.test"): "http://a.test/page",
        ("a.test", "b.test"): "redirect_offsite",
        ("a.test", "evila.test"): "redirect_offsite",
        ("blog.a.test", "shop.a.test"): "redirect_offsite",  # siblings are two sites
        ("allowed", "www.a.test"): "redirect_offsite",  # not in allowed_hosts
        ("allowed", "x.b.test"): "http://x.b.test/page",
    }


def test_robots_outcomes_follow_rfc_9309():
    from agentcore.crawl import robots

    url = "http://a.test/robots.txt"

    def fetched(status, reason=None, body=b""):
        return FetchResult(url, url, status, {}, body, reason, "", 0.0, 1)

    rules = robots.rules_from(fetched(200, body=b"User-agent: *\nDisallow: /p/\nCrawl-delay: 9\n"),
                              url)
    assert not robots.allows(rules, "agentcore", "http://a.test/p/1")
    assert robots.allows(rules, "agentcore", "http://a.test/q")
    assert robots.crawl_delay(rules, "agentcore", cap=2.0) == 2.0
    missing = robots.rules_from(fetched(404, "http_404"), url)  # no file: no restrictions
    assert robots.allows(missing, "agentcore", "http://a.test/p/1")
    assert robots.crawl_delay(missing, "agentcore", cap=2.0) == 0.0
    down = robots.rules_from(fetched(503, "http_503"), url)  # server error: all disallowed
    assert down.error_reason == "robots_unavailable" and "503" in down.error_detail
    assert not robots.allows(down, "agentcore", "http://a.test/")
    gone = robots.rules_from(fetched(None, "dns_error"), url)  # the host's pages fail alike
    assert gone.error_reason == "dns_error" and not robots.allows(gone, "agentcore", "http://a.test/")


def test_docstring_examples_run():
    import doctest

    from agentcore.crawl import resolver, robots, slots
    from agentcore.kernels import urls

    for mod in (aio, resolver, robots, slots, urls):
        result = doctest.testmod(mod)
        assert result.attempted > 0 and result.failed == 0, mod.__name__


def test_slots_bound_holders_wake_in_order_and_survive_cancellation():
    from agentcore.crawl.slots import Slots

    async def main():
        slots, held, order = Slots(2), [0], []
        peak = [0]

        async def worker(i):
            async with slots:
                held[0] += 1
                peak[0] = max(peak[0], held[0])
                order.append(i)
                await asyncio.sleep(0.001)
                held[0] -= 1

        await asyncio.gather(*(worker(i) for i in range(20)))
        assert peak[0] == 2 and order == list(range(20)) and slots.free == 2
        # a waiter cancelled while queued, and one cancelled right after being handed a slot,
        # both leave the slot count whole
        async with slots:
            async with slots:
                queued = asyncio.ensure_future(worker(99))
                handed = asyncio.ensure_future(worker(98))
                await asyncio.sleep(0)
                queued.cancel()
            handed.cancel()  # the inner release handed `handed` a slot; it has not run yet
        await asyncio.gather(queued, handed, return_exceptions=True)
        assert slots.free == 2 and 98 not in order and 99 not in order

    run(main())
