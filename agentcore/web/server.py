"""The servers of the local web: over HTTP in a thread or a child process, with a host map."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from agentcore.aio import new_event_loop
# Re-exported: the webs and their truth were defined here once, and callers import them here.
from agentcore.web.bomb import gzip_bomb
from agentcore.web.folder import CorpusWeb
from agentcore.web.replies import OFFSITE_TARGET, SSRF_TARGET, Reply
from agentcore.web.synthetic import SyntheticWeb
from agentcore.web.truth import DEFAULT_PAGES, HOSTILE_SHARES, KIND_EXPECT, Page, Site, Sites

__all__ = [
    "LocalWebServer", "ThreadedServer", "ProcessServer", "ServerStats", "serve_in_thread",
    "serve_in_process", "SyntheticWeb", "CorpusWeb", "Page", "Site", "Reply", "KIND_EXPECT",
    "HOSTILE_SHARES", "DEFAULT_PAGES", "SSRF_TARGET", "OFFSITE_TARGET", "gzip_bomb",
]


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


class LocalWebServer:
    """An HTTP server on 127.0.0.1 serving a web by Host header; use as an async context manager.

    >>> async with LocalWebServer(SyntheticWeb(20)) as server:      # doctest: +SKIP
    ...     server.port, server.host_map()["site-0000.test"]
    """

    def __init__(self, web: Sites, host: str = "127.0.0.1", port: int = 0,
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
                    snap = stats.snapshot()
                    snap["hits"] = {f"{h} {p}": n for (h, p), n in snap["hits"].items()}
                    # a bench waits for this, so the warm-up's CPU does not share the crawl's
                    snap["warm_done"] = self._warm_task is not None and self._warm_task.done()
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

    def __init__(self, web: Sites, host: str = "127.0.0.1", port: int = 0,
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
            loop = new_event_loop()  # uvloop when installed: the web's CPU shares the crawler's cores
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


def serve_in_thread(web: Sites | None = None, *, warm: bool = False,
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
        package_root = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
        env = dict(os.environ)
        env["PYTHONPATH"] = package_root + os.pathsep + env.get("PYTHONPATH", "")
        # The child ends with this process (see agentcore.web.lifeline): it watches our pid
        # and the pipe on its stdin. Linux's parent-death signal fires when the starting
        # *thread* ends, so it is only safe from the main thread, which outlives the others.
        lifeline = ["--parent", str(os.getpid())]
        if threading.current_thread() is not threading.main_thread():
            lifeline.append("--no-deathsig")
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "agentcore.web", *self.args, *lifeline],
            stdout=subprocess.PIPE, stdin=subprocess.PIPE, env=env, text=True,
        )
        line = _readline_with_timeout(self._proc.stdout, timeout)
        if not line.strip().isdigit():
            self.stop()
            raise RuntimeError(f"local web process did not report its port (got {line!r}); "
                               f"run 'python -m agentcore.web' to see why")
        self.port = int(line)
        return self

    @property
    def pid(self) -> int | None:
        """The child process's id while it runs."""
        return self._proc.pid if self._proc is not None else None

    def stats(self) -> dict[str, Any]:
        """The child's ServerStats.snapshot(), fetched from its /__stats__ endpoint."""
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
            for pipe in (self._proc.stdout, self._proc.stdin):
                if pipe:
                    pipe.close()
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


if __name__ == "__main__":  # the old spelling of `python -m agentcore.web`
    from agentcore.web.cli import main

    raise SystemExit(main())
