"""The curl fetcher in its own process (agentcore.crawl.curl_proc): its answers are the thread's,
its failures end every pending fetch, and it never outlives the process that started it."""
import contextlib
import os
import signal
import socket
import threading

import pytest

from agentcore.crawl.curl import CurlFetcher
from agentcore.crawl.curl_proc import CurlProcess
from agentcore.crawl.fetch import FetchConfig
from agentcore.web import SyntheticWeb, serve_in_thread
from imports import loaded_after

FAST = dict(read_timeout=1.5, total_timeout=3.0, connect_timeout=2.0, max_attempts=2,
            backoff=0.01, politeness_delay=0.0)


def fetch_all(fetcher, urls, threads=1):
    """Submit ``urls`` from ``threads`` threads at once; every result, by URL."""
    got, lock, landed = {}, threading.Lock(), threading.Event()

    def done(res):
        with lock:
            got[res.url] = res
            if len(got) == len(urls):
                landed.set()

    parts = [urls[i::threads] for i in range(threads)]
    submitters = [threading.Thread(target=fetcher.submit, args=([(u, done) for u in part],))
                  for part in parts]
    for t in submitters:
        t.start()
    for t in submitters:
        t.join()
    assert landed.wait(60), f"{len(urls) - len(got)} fetches never ended"
    return got


def test_the_process_answers_as_the_thread_does():
    """Every page of a hostile web: the same reason, detail, status, headers and body from the
    process as from the thread; the stats follow the child's; its CPU and peak RSS come back."""
    web = SyntheticWeb(12, seed=3, slow_seconds=4.0)
    urls = [p.url for p in web.pages()]
    with serve_in_thread(web) as server:
        answers = []
        for kind in (CurlFetcher, CurlProcess):
            fetcher = kind(FetchConfig(**FAST), static_hosts=server.host_map())
            fetcher.start()
            try:
                answers.append(fetch_all(fetcher, urls, threads=3))
            finally:
                fetcher.close()
            answers.append(dict(fetcher.stats))
    thread, thread_stats, proc, proc_stats = answers
    assert set(thread) == set(proc) == set(urls)
    for url in urls:
        a, b = thread[url], proc[url]
        assert (a.error_reason, a.error_detail, a.status, a.headers, a.body, a.final_url) == \
               (b.error_reason, b.error_detail, b.status, b.headers, b.body, b.final_url), url
    reasons = {r.error_reason for r in proc.values()}
    assert {None, "timeout", "too_large", "decompressed_too_large", "ssrf_blocked"} <= reasons
    assert proc_stats["ok"] == thread_stats["ok"] > 0
    assert proc_stats["attempts"] >= len(urls)
    assert fetcher.peak_rss > 10 << 20 and fetcher.cpu > 0


@contextlib.contextmanager
def quiet_fetcher():
    """A started CurlProcess and a socket that accepts its connections and never answers:
    fetches to http://quiet.test/ stay pending."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    srv.settimeout(30)
    try:
        cfg = FetchConfig(respect_robots=False, read_timeout=60, total_timeout=120)
        fetcher = CurlProcess(cfg, static_hosts={"quiet.test": srv.getsockname()})
        fetcher.start()
        yield fetcher, srv
    finally:
        srv.close()


def test_a_killed_child_fails_every_pending_fetch_with_the_cause():
    with quiet_fetcher() as (fetcher, srv):
        got, lock, landed = [], threading.Lock(), threading.Event()

        def done(res):
            with lock:
                got.append(res)
                if len(got) == 3:
                    landed.set()

        fetcher.submit([(f"http://quiet.test/{i}", done) for i in range(3)])
        srv.accept()  # the child is up and its first request is on the wire
        os.kill(fetcher._proc.pid, signal.SIGKILL)
        assert landed.wait(30)
        later = []
        fetcher.submit([("http://quiet.test/later", later.append)])
        fetcher.close()
    assert sorted(r.url for r in got) == [f"http://quiet.test/{i}" for i in range(3)]
    for r in got + later:
        assert r.error_reason == "internal_error"
        assert f"exit status {-signal.SIGKILL}" in r.error_detail
    assert len(later) == 1


def test_close_ends_what_is_in_flight_and_the_child_exits():
    with quiet_fetcher() as (fetcher, srv):
        got = []
        fetcher.submit([("http://quiet.test/", got.append)])
        srv.accept()
        proc = fetcher._proc
        fetcher.close()
    assert proc.returncode == 0
    assert [r.error_reason for r in got] == ["connection_error"]
    assert "closed before the fetch ended" in got[0].error_detail


def test_the_child_stops_when_its_parent_is_gone():
    """A parent killed with -9 closes the child's stdin; the child must not keep crawling."""
    fetcher = CurlProcess(FetchConfig(), static_hosts={})
    fetcher.start()
    proc = fetcher._proc
    proc.stdin.close()  # what the kernel does to a dead parent's end of the pipe
    assert proc.wait(30) == 0
    fetcher._reader.join(30)
    assert not fetcher._reader.is_alive()
    proc.stdout.close()


@pytest.mark.parametrize("curl_process", [True, False])
def test_the_fetcher_picks_the_process_by_its_setting(curl_process):
    from agentcore import aio
    from agentcore.crawl.fetch import Fetcher

    web = SyntheticWeb(2, hostile=False)
    with serve_in_thread(web) as server:

        async def main():
            async with Fetcher(static_hosts=server.host_map(), transport="curl",
                               curl_process=curl_process, **FAST) as f:
                kind = type(f.batch)
                return kind, await f.fetch_many(web.home_urls()), f

        kind, results, f = aio.run(main())
    assert kind is (CurlProcess if curl_process else CurlFetcher)
    assert all(r.ok and r.body for r in results)
    assert (f.child_cpu > 0 and f.child_peak_rss > 0) == curl_process


def test_the_child_imports_neither_asyncio_nor_urllib_request():
    # the fetcher's process holds what fetching needs and no more: its peak RSS is the crawl's
    # too (asyncio and urllib.request, through ssl, http.client and email, were 9 MB of it)
    assert loaded_after("agentcore.crawl.curl, agentcore.crawl.curl_proc",
                        ("asyncio", "urllib.request", "ssl", "numpy")) == []


def test_peak_rss_is_the_childs_own_not_its_parents():
    # ru_maxrss of a spawned process includes the process it was forked from: the fetcher's
    # child reported the crawl's RSS at spawn (45 MB) as its own peak. It must not.
    ballast = bytearray(256 << 20)
    ballast[::4096] = b"x" * len(ballast[::4096])  # resident, not just reserved
    fetcher = CurlProcess(FetchConfig())
    fetcher.start()
    fetcher.close()
    del ballast
    assert 0 < fetcher.peak_rss < 128 << 20
    assert fetcher.cpu > 0
