"""`agentcore bench text`: main-text extraction F1 and speed against trafilatura, resiliparse, selectolax.

Every contender extracts the same pages of the article-extraction benchmark in one sitting:
F1 by the benchmark's metric (agentcore.f1), then pages/s and MB/s at 1 and 2 threads, timed
in interleaved rounds (best round kept) so drift on a shared machine hits all alike. The
anchors are the ``bench`` extra (``pip install trafilatura resiliparse selectolax``); a missing
one is skipped with a note.
"""
from __future__ import annotations

import gzip
import json
import math
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, NamedTuple

from agentcore.kernels import twin

DEFAULT_DATA = Path("..") / "shared" / "data" / "article-extraction-benchmark"


class Benchmark(NamedTuple):
    """The benchmark's pages: ids, gzip-decoded page bytes, page URLs and true article bodies."""

    ids: list
    pages: list
    urls: list
    truth: list

    @property
    def nbytes(self) -> int:
        return sum(len(p) for p in self.pages)


def default_data() -> Path:
    """Where the benchmark data is: $AGENTCORE_BENCH_DATA, else ../shared/... from the cwd."""
    return Path(os.environ.get("AGENTCORE_BENCH_DATA", DEFAULT_DATA))


def load_benchmark(path: Path | str | None = None) -> Benchmark:
    """Read ``ground-truth.json`` and ``html/<id>.html.gz`` from the benchmark folder."""
    path = Path(path) if path is not None else default_data()
    truth_file = path / "ground-truth.json"
    if not truth_file.exists():
        raise FileNotFoundError(
            f"no article-extraction benchmark at {path} (missing ground-truth.json); pass "
            f"--data PATH or set AGENTCORE_BENCH_DATA")
    gt = json.loads(truth_file.read_text(encoding="utf-8"))
    ids = sorted(gt)
    pages = []
    for k in ids:
        with gzip.open(path / "html" / f"{k}.html.gz") as f:
            pages.append(f.read())
    return Benchmark(ids, pages, [gt[k].get("url", "") for k in ids],
                     [gt[k].get("articleBody", "") for k in ids])


class Contender(NamedTuple):
    name: str
    one: Callable[[bytes, str], str]  # (page, url) -> main text
    many: Callable[[list, list, int], list] | None  # batch entry of its own, else None
    note: str


def _contenders(include_twin: bool) -> tuple[list[Contender], list[str]]:
    out, notes = [], []
    from agentcore.kernels import html as kh

    def ours_one(page, url):
        return kh.extract(page, url).text

    def ours_many(pages, urls, threads):
        return [r.text for r in kh.extract_many(pages, urls, threads=threads)]

    out.append(Contender("agentcore", ours_one, ours_many, kh.IMPLEMENTATION))
    pure = twin("html", "pure")
    if include_twin and kh.IMPLEMENTATION != pure.__name__:

        def pure_one(page, url):
            data, u = kh.prepare(page, url)
            return kh.Extracted(*pure.extract(data or b"", u)).text
        out.append(Contender("agentcore (pure twin)", pure_one, None, pure.__name__))
    try:
        from resiliparse.extract.html2text import extract_plain_text
        from resiliparse.parse.html import HTMLTree

        def resiliparse(page, url):
            return extract_plain_text(HTMLTree.parse_from_bytes(page), main_content=True)
        out.append(Contender("resiliparse", resiliparse, None, "main_content=True"))
    except ImportError as exc:
        notes.append(f"resiliparse skipped: {exc} (pip install resiliparse)")
    try:
        import trafilatura

        def trafilatura_one(page, url):
            return trafilatura.extract(page.decode("utf-8", "replace")) or ""
        out.append(Contender("trafilatura", trafilatura_one, None, "extract()"))
    except ImportError as exc:
        notes.append(f"trafilatura skipped: {exc} (pip install trafilatura)")
    try:
        from selectolax.lexbor import LexborHTMLParser

        def selectolax(page, url):
            tree = LexborHTMLParser(page)
            tree.strip_tags(["script", "style", "noscript", "template"])
            body = tree.body
            return body.text(separator="\n") if body is not None else ""
        out.append(Contender("selectolax", selectolax, None,
                             "lexbor, body text without script/style"))
    except ImportError as exc:
        notes.append(f"selectolax skipped: {exc} (pip install selectolax)")
    return out, notes


def _run_threads(c: Contender, pages: list, urls: list, threads: int) -> list:
    if c.many is not None:
        return c.many(pages, urls, threads)
    if threads == 1:
        return [c.one(p, u) for p, u in zip(pages, urls)]
    order = iter(range(len(pages)))
    out = [None] * len(pages)

    def work():
        for i in order:
            out[i] = c.one(pages[i], urls[i])
    with ThreadPoolExecutor(threads) as ex:
        for f in [ex.submit(work) for _ in range(threads)]:
            f.result()
    return out


def parallel_control(threads: int, seconds: float = 0.3) -> float:
    """Speedup of ``threads`` threads over one on a pure nogil workload (hashlib on 4 MB).

    Printed beside the extractors' thread scaling: on a shared machine it shows how much
    parallelism was actually free while the benchmark ran.
    """
    import hashlib

    buf = b"x" * (4 << 20)
    t0 = time.perf_counter()
    n = 0
    while time.perf_counter() - t0 < seconds:
        hashlib.sha256(buf).digest()
        n += 1
    one = (time.perf_counter() - t0) / n

    def job(k):
        for _ in range(k):
            hashlib.sha256(buf).digest()
    t0 = time.perf_counter()
    with ThreadPoolExecutor(threads) as ex:
        list(ex.map(job, [n] * threads))
    many = (time.perf_counter() - t0) / (n * threads)
    return one / many


def gil_share(pages: list, urls: list) -> float | None:
    """Share of agentcore's per-page CPU time spent holding the GIL (None: pure twin in use).

    Measured with per-thread CPU clocks, so it does not depend on how busy the machine is:
    with a share f, n threads can at best run 1 / (f + (1 - f) / n) times faster (Amdahl).
    """
    from agentcore.kernels import html as kh

    if kh.IMPLEMENTATION == twin("html", "pure").__name__:
        return None
    compiled = twin("html", "compiled")
    total = nogil = 0
    for page, url in zip(pages, urls):
        t0 = time.thread_time_ns()
        data, u = kh.prepare(page, url)
        if data is not None:
            r, ns = compiled.extract_timed(data, u)
            kh.Extracted(*r)
            nogil += ns
        total += time.thread_time_ns() - t0
    return 1 - nogil / total if total else None


def add_arguments(p) -> None:
    p.add_argument("--data", type=Path, default=None,
                   help="article-extraction-benchmark folder (default: "
                        "../shared/data/article-extraction-benchmark from the cwd)")
    p.add_argument("--repeat", type=int, default=3, help="timed rounds per contender (best kept)")
    p.add_argument("--min-seconds", type=float, default=0.5,
                   help="each timed round repeats the corpus until it lasts this long (default 0.5)")
    p.add_argument("--threads", default="1,2", help="comma-separated thread counts (default 1,2)")
    p.add_argument("--only", default="", help="comma-separated contender names to run")
    p.add_argument("--twin", action="store_true", help="also score the pure-Python twin (slow)")
    p.add_argument("--worst", type=int, default=0, help="list agentcore's N worst pages by F1")


def run(args) -> int:
    from agentcore import f1

    bench = load_benchmark(args.data)
    threads = [int(t) for t in str(args.threads).split(",") if t.strip()]
    contenders, notes = _contenders(getattr(args, "twin", False))
    only = {s.strip() for s in getattr(args, "only", "").split(",") if s.strip()}
    if only:
        contenders = [c for c in contenders if c.name in only or c.name.split()[0] in only]
    mb = bench.nbytes / 1e6
    print(f"{len(bench.pages)} pages, {mb:.1f} MB, from {args.data or default_data()}; "
          f"{os.cpu_count()} CPUs; best of {args.repeat} rounds", file=sys.stderr)

    scores = {}
    loops = {}
    for c in contenders:
        t0 = time.perf_counter()
        texts = [c.one(p, u) for p, u in zip(bench.pages, bench.urls)]
        # A timed round repeats the corpus until it lasts about --min-seconds: a single pass of
        # the fast extractors takes ~50 ms, where scheduler noise and pool start-up swamp ratios.
        loops[c.name] = max(1, math.ceil(args.min_seconds / max(time.perf_counter() - t0, 1e-6)))
        scores[c.name] = f1.score({k: (t, x) for k, t, x in zip(bench.ids, bench.truth, texts)})
        if c.name == "agentcore" and getattr(args, "worst", 0):
            worst = sorted(zip(bench.ids, bench.truth, texts, bench.urls),
                           key=lambda r: f1.page_f1(r[1], r[2]))[: args.worst]
            for k, t, x, u in worst:
                print(f"  worst {k[:12]} F1 {f1.page_f1(t, x):.3f} {u}", file=sys.stderr)

    best: dict = {}
    timed = [c for c in contenders if "twin" not in c.name]
    for _ in range(max(1, args.repeat)):
        for c in timed:
            for t in threads:
                t0 = time.perf_counter()
                for _ in range(loops[c.name]):
                    _run_threads(c, bench.pages, bench.urls, t)
                dt = (time.perf_counter() - t0) / loops[c.name]
                key = (c.name, t)
                best[key] = min(best.get(key, dt), dt)

    head = f"| {'extractor':<22} | {'F1':>6} | {'P':>6} | {'R':>6} |"
    for t in threads:
        head += f" {'pages/s ' + str(t) + 'T':>12} | {'MB/s ' + str(t) + 'T':>9} |"
    print(head)
    print("|" + "|".join("-" * (len(cell)) for cell in head.split("|")[1:-1]) + "|")
    for c in contenders:
        s = scores[c.name]
        row = f"| {c.name:<22} | {s.f1:6.4f} | {s.precision:6.4f} | {s.recall:6.4f} |"
        for t in threads:
            dt = best.get((c.name, t))
            if dt is None:
                row += f" {'-':>12} | {'-':>9} |"
            else:
                row += f" {len(bench.pages) / dt:12.0f} | {mb / dt:9.1f} |"
        print(row)
    print()
    ours = [c.name for c in timed if c.name == "agentcore"]
    if ours and 1 in threads:
        a1 = best[("agentcore", 1)]
        for c in timed:
            if c.name != "agentcore" and (c.name, 1) in best:
                print(f"agentcore vs {c.name}, 1 thread: {best[(c.name, 1)] / a1:.2f}x faster")
        share = gil_share(bench.pages, bench.urls)
        for t in threads:
            if t != 1:
                bound = f"; GIL held {100 * share:.1f}% of CPU, Amdahl bound " \
                        f"{1 / (share + (1 - share) / t):.2f}x" if share is not None else ""
                print(f"agentcore {t} threads vs 1 thread: {a1 / best[('agentcore', t)]:.2f}x "
                      f"(free parallelism now: hashlib {t} threads vs 1: "
                      f"{parallel_control(t):.2f}x{bound})")
    for c in contenders:
        print(f"note: {c.name} = {c.note}")
    for n in notes:
        print(f"note: {n}")
    return 0
