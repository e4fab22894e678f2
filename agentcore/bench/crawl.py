"""`agentcore bench crawl`: the crawl path without an LLM against a Rust and a plain-Python crawler.

Three contenders crawl the same local web (``python -m agentcore.web.server``, started fresh for
every run exactly as ``shared/anchors/rust_pipeline/run.sh`` starts it: ``--warm``, slow pages
18 s, ``--no-hostile`` for the clean web), each in its own process so its CPU and peak RSS are
its own (GNU time), in one sitting, the order alternating from round to round:

- ``agentcore``: the crawl job (``agentcore.crawl.job.CrawlJob``, ``engine=None``) with the
  demo's fetch limits, into SQLite: near-duplicates, corpus keywords, excerpts, resume records.
- ``rust``: ``rust_pipeline`` (tokio + reqwest + html5ever + rusqlite), built once by its
  ``build.sh`` from Debian's packaged crates (offline).
- ``python``: the plain-Python pipeline (asyncio + aiohttp + trafilatura, the ``bench`` extra),
  :func:`python_baseline` below: per-host limits, robots.txt, retries, SQLite rows in batches.

For each: pages stored, failures by reason, its own wall (crawl start to exit, interpreter
start-up excluded), pages/s, when the last page landed, process CPU (start-up included) per page,
peak RSS, and the web server's CPU while the contender ran (each run waits until the web is
warm, so the web's warm-up never shares the cores with a contender); then agentcore's ratios to
the other two. agentcore runs on uvloop when it is installed (``agentcore.aio``);
``AGENTCORE_LOOP=asyncio`` compares it on asyncio's own loop.

    agentcore bench crawl --anchors ../shared/anchors            # 500 sites, clean and hostile
    agentcore bench crawl --sites 100 --rounds 2 --contenders agentcore,rust
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "agentcore-anchors"
CONTENDERS = ("agentcore", "rust", "python")
#: agentcore with a given HTTP client (FetchConfig.transport), to compare them side by side
VARIANTS = ("agentcore-aiohttp", "agentcore-reqwest", "agentcore-curl")
#: the demo's fetch limits (agentcore.demo.cli defaults), shared by the Python contenders
LIMITS = dict(global_limit=256, per_host_limit=2, politeness_delay=0.02, connect_timeout=3.0,
              read_timeout=3.0, total_timeout=6.0, max_pages=32)
RESULT = "bench-crawl-result "


def add_arguments(p) -> None:
    p.add_argument("--anchors", type=Path, default=None,
                   help="path of shared/anchors (default: ../shared/anchors from the project)")
    p.add_argument("--sites", type=int, default=500, help="sites of the local web (default 500)")
    p.add_argument("--webs", default="clean,hostile", help="comma-separated: clean, hostile")
    p.add_argument("--contenders", default=",".join(CONTENDERS),
                   help=f"comma-separated subset of {', '.join(CONTENDERS + VARIANTS)}")
    p.add_argument("--rounds", type=int, default=1,
                   help="runs of each contender per web; the order alternates (medians shown)")
    p.add_argument("--json", type=Path, default=None, help="also write every run as JSON here")


# ---- one contender run ------------------------------------------------------------------------

def start_web(sites: int, clean: bool) -> tuple[subprocess.Popen, int]:
    """The local web as run.sh starts it; on :80 when we may (reqwest keeps the URL's port)."""
    port = 80 if os.geteuid() == 0 and port_free(80) else 0
    cmd = [sys.executable, "-m", "agentcore.web.server", "--sites", str(sites), "--seed", "0",
           "--port", str(port), "--slow-seconds", "18", "--warm"] + (["--no-hostile"] if clean else [])
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline()
    if not line.strip().isdigit():
        proc.kill()
        raise RuntimeError(f"the local web did not start (said {line!r}); run {' '.join(cmd)}")
    wait_warm(int(line))
    return proc, int(line)


def wait_warm(port: int, timeout: float = 180.0) -> None:
    """Wait until the web has read every site's text (``--warm``: ~9 ms of CPU a site), so that
    its warm-up does not share the 2 cores with the contender being timed."""
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/__stats__", timeout=10) as r:
            if json.load(r).get("warm_done"):
                return
        time.sleep(0.2)
    raise RuntimeError(f"the local web on port {port} was not warm after {timeout:.0f} s")


def port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a live process."""
    from .threads import stat_cpu

    return stat_cpu(f"/proc/{pid}/stat")


def timed(cmd: list[str]) -> tuple[str, float, float, float]:
    """Run cmd under GNU time: (stdout, process wall s, CPU s, peak RSS MB). A child forked from
    this Python process would report its parent's RSS high-water mark as its own; GNU time's
    own child does not."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        t0 = time.monotonic()
        proc = subprocess.run(["/usr/bin/time", "-o", tf.name, "-f", "%U %S %M", *cmd],
                              capture_output=True, text=True)
        wall = time.monotonic() - t0
        usage = tf.read().split()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr[-800:]}")
    return proc.stdout, wall, float(usage[-3]) + float(usage[-2]), int(usage[-1]) / 1024


def rust_binary(anchors: Path) -> Path:
    exe = CACHE / "rust_pipeline" / "rust_pipeline"
    if not exe.exists():
        print(f"building rust_pipeline into {exe.parent} (Debian's crates, offline) ...",
              file=sys.stderr)
        subprocess.run(["bash", str(anchors / "rust_pipeline" / "build.sh"), str(exe.parent)],
                       check=True, stdout=subprocess.DEVNULL)
    return exe


def parse_rust(out: str) -> dict:
    num = lambda label: float(re.search(rf"{label}\s+([0-9.]+)", out).group(1))  # noqa: E731
    return {"pages": int(num("pages stored")), "wall": num(r"\bwall"),
            "last_page": num("last page stored at"),
            "failures": {m[0]: int(m[1]) for m in re.findall(r"failed: (\S+)\s+(\d+)", out)}}


def run_one(name: str, clean: bool, sites: int, tmp: str, anchors: Path | None) -> dict:
    web, port = start_web(sites, clean)
    db = os.path.join(tmp, f"{name}.db")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)
    try:
        if name == "rust":
            cmd = [str(rust_binary(anchors)), "--sites", str(sites), "--addr", f"127.0.0.1:{port}",
                   "--db", db, "--pages", str(LIMITS["max_pages"])]
        else:
            cmd = [sys.executable, "-m", "agentcore.bench.crawl", "--child", name, "--port",
                   str(port), "--sites", str(sites), "--db", db] + (["--clean"] if clean else [])
        web_cpu0 = proc_cpu(web.pid)  # start-up and warm-up, before the contender starts
        out, proc_wall, cpu, rss = timed(cmd)
        server_cpu = proc_cpu(web.pid) - web_cpu0
    finally:
        web.terminate()
        web.wait(10)
        web.stdout.close()
    if name == "rust":
        res = parse_rust(out)
    else:
        res = json.loads(out.split(RESULT, 1)[1].splitlines()[0])
    # GNU time's peak is the largest process's: a fetcher process's peak is added to it
    rss += res.pop("child_rss", 0.0)
    res.update(contender=name, web="clean" if clean else "hostile", cpu=cpu, rss=rss,
               process_wall=proc_wall, server_cpu=server_cpu)
    return res


# ---- the Python contenders (run as children of the bench) ----------------------------------

def agentcore_child(port: int, sites: int, clean: bool, db: str,
                    transport: str | None = None) -> dict:
    """The crawl job without an LLM, as `agentcore demo --no-llm` runs it (``transport``: the
    FetchConfig's HTTP client, None for its default)."""
    from agentcore import aio
    from agentcore.crawl.fetch import FetchConfig
    from agentcore.crawl.job import CrawlJob
    from agentcore.store import open_store
    from agentcore.web.truth import DEFAULT_PAGES, WebTruth

    truth = WebTruth(sites, DEFAULT_PAGES, 0, hostile=not clean)
    hosts = {h: ("127.0.0.1", port) for h in truth.hosts}
    lim = LIMITS
    cfg = FetchConfig(global_limit=lim["global_limit"], per_host_limit=lim["per_host_limit"],
                      politeness_delay=lim["politeness_delay"], read_timeout=lim["read_timeout"],
                      total_timeout=lim["total_timeout"], connect_timeout=lim["connect_timeout"],
                      **({"transport": transport} if transport else {}))
    store = open_store(db)
    run_id = store.create_run({"bench": "crawl"})
    job = CrawlJob(store, run_id, engine=None, max_pages=lim["max_pages"], fetch_config=cfg)
    from .threads import ThreadCPU

    t0, w0 = time.monotonic(), time.time()
    with ThreadCPU() as threads:
        aio.run(job.run(truth.home_urls(), hosts=hosts))  # uvloop when installed
    wall = time.monotonic() - t0
    from agentcore.crawl.tables import Page

    last = store.query("SELECT MAX(fetched_at) FROM pages WHERE run_id = ?", (run_id,),
                       uses=(Page,))[0][0]
    store.close()
    by_thread = threads.by_name()
    if job.fetcher.child_cpu:  # the fetcher's own process (FetchConfig.curl_process)
        by_thread["agentcore-curl-process"] = {"cpu": job.fetcher.child_cpu, "voluntary": 0,
                                               "involuntary": 0, "threads": 1}
    return {"pages": job.stats["pages_ok"], "wall": wall,
            "last_page": (last - w0) if last else 0.0, "failures": dict(job.failures),
            "threads": by_thread, "child_rss": job.fetcher.child_peak_rss / 2**20}


def python_baseline(port: int, sites: int, clean: bool, db: str) -> dict:
    """What a Python engineer writes first: asyncio + aiohttp, trafilatura for the main text
    in a process pool (one worker per core: in the loop it blocks the sockets long enough for
    their read timeouts to fire), urllib's robots.txt parser, top-8 words as keywords, sqlite3
    rows 500 per transaction."""
    import asyncio
    import sqlite3
    from collections import Counter
    from urllib.parse import urljoin, urlsplit
    from urllib.robotparser import RobotFileParser

    from concurrent.futures import ProcessPoolExecutor

    import aiohttp

    from agentcore.web.truth import DEFAULT_PAGES, WebTruth

    lim = LIMITS
    truth = WebTruth(sites, DEFAULT_PAGES, 0, hostile=not clean)
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("CREATE TABLE pages (url TEXT PRIMARY KEY, host TEXT, title TEXT, n_words INT,"
                " keywords TEXT, fetched_at REAL)")
    con.execute("CREATE TABLE failures (url TEXT PRIMARY KEY, reason TEXT)")
    rows: list[tuple] = []
    failures: Counter = Counter()
    stats = Counter()
    href = re.compile(rb"""href=["']([^"'#]+)""", re.I)

    def flush():
        with con:
            con.executemany("INSERT OR REPLACE INTO pages VALUES (?, ?, ?, ?, ?, ?)", rows)
        rows.clear()

    class Fail(Exception):
        pass

    pool = ProcessPoolExecutor(os.cpu_count() or 1)
    pool.submit(extract_text, b"<p>warm up</p>").result()  # workers import trafilatura once

    async def main():
        loop = asyncio.get_running_loop()
        resolver_hosts = {h: ("127.0.0.1", port) for h in truth.hosts}

        class Resolver(aiohttp.abc.AbstractResolver):
            async def resolve(self, host, port_=0, family=socket.AF_INET):
                if host not in resolver_hosts:  # only the local web's names resolve
                    raise OSError(f"{host} does not resolve")
                ip, p = resolver_hosts[host]
                return [{"hostname": host, "host": ip, "port": p, "family": socket.AF_INET,
                         "proto": 0, "flags": 0}]

            async def close(self):
                pass

        timeout = aiohttp.ClientTimeout(total=lim["total_timeout"],
                                        sock_connect=lim["connect_timeout"],
                                        sock_read=lim["read_timeout"])
        conn = aiohttp.TCPConnector(limit=lim["global_limit"], resolver=Resolver())
        async with aiohttp.ClientSession(connector=conn, timeout=timeout) as session:
            async def get(url, sem):
                for attempt in range(3):
                    try:
                        async with sem:
                            await asyncio.sleep(lim["politeness_delay"])
                            async with session.get(url, max_redirects=5) as r:
                                if urlsplit(str(r.url)).hostname != urlsplit(url).hostname:
                                    raise Fail("redirect_offsite")
                                if r.status >= 500 and attempt < 2:
                                    raise aiohttp.ClientError("retry")
                                if r.status >= 400:
                                    raise Fail(f"http_{r.status}")
                                if r.content_length and r.content_length > 4 << 20:
                                    raise Fail("too_large")
                                body = await r.content.read(8 << 20)
                                if not r.content_type.startswith(("text/", "application/xhtml")):
                                    raise Fail("bad_content_type")
                                return body
                    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                        if attempt == 2:
                            raise Fail("timeout" if isinstance(exc, asyncio.TimeoutError)
                                       else "connection_error")
                        await asyncio.sleep(0.2 * 2 ** attempt)
                raise Fail("connection_error")

            async def page(url, host, body):
                text, kws = await loop.run_in_executor(pool, extract_text, body)
                if not text.strip():
                    raise Fail("empty_text")
                rows.append((url, host, "", len(text.split()), ",".join(kws), time.time()))
                stats["pages"] += 1
                if len(rows) >= 500:
                    flush()

            async def fetch_page(url, host, sem, robots):
                try:
                    if robots is not None and not robots.can_fetch("agentcore", url):
                        raise Fail("robots_disallowed")
                    await page(url, host, await get(url, sem))
                except Fail as f:
                    failures[str(f)] += 1
                    con.execute("INSERT OR REPLACE INTO failures VALUES (?, ?)", (url, str(f)))

            async def site(home):
                host = urlsplit(home).hostname
                sem = asyncio.Semaphore(lim["per_host_limit"])
                robots = RobotFileParser()
                try:
                    robots.parse((await get(f"http://{host}/robots.txt", sem))
                                 .decode("utf-8", "replace").splitlines())
                except Fail:
                    robots = None
                try:
                    body = await get(home, sem)
                except Fail as f:
                    failures[str(f)] += 1
                    return
                links = []
                for m in href.finditer(body):
                    u = urljoin(home, m.group(1).decode("utf-8", "replace"))
                    if (urlsplit(u).hostname == host and u != home and u not in links
                            and not u.endswith("/robots.txt")):
                        links.append(u)
                await asyncio.gather(*(fetch_page(u, host, sem, robots)
                                       for u in links[:lim["max_pages"]]))

            await asyncio.gather(*(site(u) for u in truth.home_urls()))

    t0, w0 = time.monotonic(), time.time()
    asyncio.run(main())
    pool.shutdown()
    if rows:
        flush()
    con.commit()
    wall = time.monotonic() - t0
    last = con.execute("SELECT MAX(fetched_at) FROM pages").fetchone()[0]
    con.close()
    return {"pages": stats["pages"], "wall": wall, "last_page": (last - w0) if last else 0.0,
            "failures": dict(failures)}


def extract_text(body: bytes) -> tuple[str, list[str]]:
    """The plain-Python contender's extraction (in a pool worker): trafilatura, top-8 words."""
    from collections import Counter

    import trafilatura

    text = trafilatura.extract(body.decode("utf-8", "replace")) or ""
    words = Counter(re.findall(r"[a-z]{4,}", text.lower())).most_common(8)
    return text, [w for w, _ in words]


# ---- the table ---------------------------------------------------------------------------------

def summarize(runs: list[dict]) -> dict:
    med = lambda k: statistics.median(r[k] for r in runs)  # noqa: E731
    pages = med("pages")
    return {"pages": pages, "wall": med("wall"), "pages_s": statistics.median(
                r["pages"] / r["wall"] for r in runs),
            "last_page": med("last_page"), "cpu": med("cpu"),
            "cpu_ms_page": statistics.median(1e3 * r["cpu"] / max(1, r["pages"]) for r in runs),
            "rss": max(r["rss"] for r in runs), "server_cpu": med("server_cpu"),
            "failures": runs[-1]["failures"], "threads": runs[-1].get("threads"), "n": len(runs)}


def print_table(results: dict[tuple[str, str], dict], webs, names) -> None:
    print(f"{'web':8} {'contender':17} {'pages':>6} {'wall s':>7} {'pages/s':>8} {'last pg s':>9} "
          f"{'CPU s':>6} {'CPU ms/pg':>9} {'peak MB':>8} {'web CPU s':>9}")
    for w in webs:
        for n in names:
            s = results.get((w, n))
            if s is None:
                continue
            print(f"{w:8} {n:17} {s['pages']:6.0f} {s['wall']:7.2f} {s['pages_s']:8.0f} "
                  f"{s['last_page']:9.2f} {s['cpu']:6.2f} {s['cpu_ms_page']:9.3f} {s['rss']:8.0f} "
                  f"{s['server_cpu']:9.2f}")
    print()
    print("agentcore / other (pages/s: >1 is faster; last page, CPU per page, RSS: <1 is better)")
    for w, mine in ((w, n) for w in webs for n in ("agentcore",) + VARIANTS):
        a = results.get((w, mine))
        for other in ("rust", "python"):
            o = results.get((w, other))
            if a is None or o is None:
                continue
            print(f"  {w:8} {mine:17} vs {other:7} pages/s {a['pages_s'] / o['pages_s']:6.2f}x   last page "
                  f"{a['last_page'] / max(o['last_page'], 1e-9):6.2f}x   CPU/page "
                  f"{a['cpu_ms_page'] / o['cpu_ms_page']:6.2f}x   peak RSS {a['rss'] / o['rss']:5.2f}x")
    print()
    for w in webs:
        for n in names:
            s = results.get((w, n))
            if s is not None and s["failures"]:
                top = ", ".join(f"{k} {v}" for k, v in sorted(s["failures"].items()))
                print(f"  failures {w:8} {n:10}: {top}")
    print_threads(results)


def print_threads(results: dict[tuple[str, str], dict]) -> None:
    """Each agentcore run's CPU per page by thread, and its voluntary switches per page."""
    for (w, n), s in results.items():
        if not s.get("threads"):
            continue
        pages = max(1, s["pages"])
        parts = [f"{name} {1e3 * t['cpu'] / pages:.3f} ms ({t['voluntary'] / pages:.1f} sw)"
                 for name, t in sorted(s["threads"].items(), key=lambda x: -x[1]["cpu"])
                 if t["cpu"] > 0]
        print(f"  CPU/page by thread {w:8} {n:17}: " + ", ".join(parts))


def run(args) -> int:
    names = [n.strip() for n in args.contenders.split(",") if n.strip()]
    webs = [w.strip() for w in args.webs.split(",") if w.strip()]
    bad = [n for n in names if n not in CONTENDERS + VARIANTS] + [w for w in webs if w not in ("clean", "hostile")]
    if bad:
        raise SystemExit(f"agentcore bench crawl: unknown contender or web {bad}; contenders are "
                         f"{', '.join(CONTENDERS + VARIANTS)}, webs clean and hostile")
    anchors = args.anchors or Path(__file__).resolve().parents[3] / "shared" / "anchors"
    if "rust" in names:
        if not (anchors / "rust_pipeline").is_dir():
            raise SystemExit(f"no rust_pipeline under {anchors}: pass --anchors PATH/shared/anchors"
                             " or leave rust out with --contenders agentcore,python")
        rust_binary(anchors)
    if "python" in names:
        try:
            import trafilatura  # noqa: F401
        except ImportError:
            raise SystemExit("the plain-Python contender needs trafilatura: pip install -e '.[bench]'")
    tmp = tempfile.mkdtemp(prefix="agentcore-bench-crawl-")
    load = os.getloadavg()[0]
    from agentcore.aio import loop_name

    print(f"bench crawl: {args.sites} sites, webs {', '.join(webs)}, {args.rounds} round(s), "
          f"agentcore on {loop_name()}, load average {load:.1f} on {os.cpu_count()} CPUs",
          file=sys.stderr)
    runs: list[dict] = []
    try:
        for r in range(args.rounds):
            for w in webs:
                order = names if (r + webs.index(w)) % 2 == 0 else names[::-1]
                for n in order:
                    res = run_one(n, w == "clean", args.sites, tmp, anchors)
                    runs.append(res)
                    print(f"  round {r + 1} {w:8} {n:10} {res['pages']:6d} pages  wall "
                          f"{res['wall']:6.2f} s  last page {res['last_page']:6.2f} s  CPU "
                          f"{res['cpu']:6.2f} s  peak {res['rss']:5.0f} MB  web CPU "
                          f"{res['server_cpu']:5.2f} s", file=sys.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    results = {(w, n): summarize([x for x in runs if x["web"] == w and x["contender"] == n])
               for w in webs for n in names}
    print(f"\nCrawl without an LLM: {args.sites} sites, one sitting, {args.rounds} round(s) "
          f"alternating, agentcore on {loop_name()} (load average {load:.1f} -> {os.getloadavg()[0]:.1f}, "
          f"{os.cpu_count()} CPUs)")
    print_table(results, webs, names)
    if args.json:
        args.json.write_text(json.dumps(runs, indent=1))
    return 0


def child_main(argv: list[str]) -> int:
    from agentcore.cli import single_blas_thread

    single_blas_thread()  # as the `agentcore` command runs: both Python contenders alike
    ap = argparse.ArgumentParser(prog="python -m agentcore.bench.crawl")
    ap.add_argument("--child", choices=("agentcore", "python") + VARIANTS, required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--sites", type=int, required=True)
    ap.add_argument("--db", required=True)
    ap.add_argument("--clean", action="store_true")
    a = ap.parse_args(argv)
    if a.child == "python":
        fn = python_baseline
    else:
        transport = a.child.split("-", 1)[1] if "-" in a.child else None
        fn = lambda *args: agentcore_child(*args, transport=transport)  # noqa: E731
    print(RESULT + json.dumps(fn(a.port, a.sites, a.clean, a.db)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(child_main(sys.argv[1:]))
