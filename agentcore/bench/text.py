"""`agentcore bench text`: main-text extraction F1 and speed against trafilatura, resiliparse, selectolax.

Every contender extracts the same pages in one sitting: F1 by the article-extraction
benchmark's metric (agentcore.f1) on its 181 pages and on the second development set, Mozilla
Readability's test pages (all 130, and the real pages apart from the hand-made unit cases);
then pages/s and MB/s on the benchmark's pages at 1 and 2 threads, timed in interleaved rounds
(best round kept) so drift on a shared machine hits all alike. The anchors are the ``bench``
extra (``pip install trafilatura resiliparse selectolax``); a missing one is skipped with a note.
"""
from __future__ import annotations

import gzip
import json
import math
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path
from typing import Callable, NamedTuple

from agentcore.kernels import twin

DEFAULT_DATA = Path("..") / "shared" / "data" / "article-extraction-benchmark"
DEFAULT_READABILITY = Path("..") / "shared" / "data" / "readability-test-pages"
#: Readability's pages whose source is smaller than this are hand-made cases of its own rules
#: (``ol``, ``replace-brs``, ``base-url``, ...), not saved sites; reported apart.
UNIT_CASE_BYTES = 4000
#: The URL Readability's test harness gives every test page.
READABILITY_URL = "http://fakehost/test/page.html"


class Benchmark(NamedTuple):
    """A development set's pages: ids, page bytes, page URLs, true main text, and the HTTP
    Content-Type to extract each page with (None: none, the page's own <meta> decides)."""

    ids: list
    pages: list
    urls: list
    truth: list
    content_types: list | None = None

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


_BREAKS = frozenset("p div br li h1 h2 h3 h4 h5 h6 tr td th pre blockquote".split())


class _TextOf(HTMLParser):
    """The text of an HTML fragment: every text node outside <script> and <style>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.raw = 0

    def handle_starttag(self, tag, attrs) -> None:
        if tag in ("script", "style"):
            self.raw += 1
        elif tag in _BREAKS:  # inline tags (<a>, <b>) may sit inside a word: no break there
            self.parts.append("\n")

    def handle_endtag(self, tag) -> None:
        if tag in ("script", "style") and self.raw:
            self.raw -= 1

    def handle_data(self, data) -> None:
        if not self.raw:
            self.parts.append(data)


def html_text(html: str) -> str:
    """The text of ``html`` (here: Readability's expected output) for scoring."""
    p = _TextOf()
    p.feed(html)
    p.close()
    return "".join(p.parts)


def default_readability() -> Path:
    """Where Readability's test pages are: $AGENTCORE_READABILITY_DATA, else ../shared/..."""
    return Path(os.environ.get("AGENTCORE_READABILITY_DATA", DEFAULT_READABILITY))


def load_readability(path: Path | str | None = None, unit_cases: bool = True) -> Benchmark:
    """Read ``pages/<id>/source.html.gz`` and ``expected.html.gz`` of Mozilla Readability's
    test pages; the truth is the text of ``expected.html``. ``unit_cases=False`` leaves out the
    hand-made cases (sources under :data:`UNIT_CASE_BYTES`).

    The files are UTF-8 (Readability's harness reads them so; a few keep the ``<meta charset>``
    of the site they were saved from, qq's gb2312), so each page comes with the Content-Type
    ``text/html; charset=utf-8``, as a server of those files would send.
    """
    path = Path(path) if path is not None else default_readability()
    root = path / "pages"
    if not root.is_dir():
        raise FileNotFoundError(
            f"no readability test pages at {path} (missing pages/); pass --readability PATH "
            f"or set AGENTCORE_READABILITY_DATA")
    ids, pages, truth = [], [], []
    for d in sorted(root.iterdir()):
        with gzip.open(d / "source.html.gz") as f:
            page = f.read()
        if not unit_cases and len(page) < UNIT_CASE_BYTES:
            continue
        with gzip.open(d / "expected.html.gz") as f:
            expected = f.read().decode("utf-8", "replace")
        ids.append(d.name)
        pages.append(page)
        truth.append(html_text(expected))
    n = len(ids)
    return Benchmark(ids, pages, [READABILITY_URL] * n, truth,
                     ["text/html; charset=utf-8"] * n)


def subset(bench: Benchmark, keep: Callable[[int], bool]) -> Benchmark:
    """The pages ``i`` of ``bench`` for which ``keep(i)``."""
    idx = [i for i in range(len(bench.ids)) if keep(i)]
    ct = bench.content_types
    return Benchmark([bench.ids[i] for i in idx], [bench.pages[i] for i in idx],
                     [bench.urls[i] for i in idx], [bench.truth[i] for i in idx],
                     None if ct is None else [ct[i] for i in idx])


def extract_texts(bench: Benchmark, one: Callable[[bytes, str, str | None], str]) -> list:
    """``one(page, url, content_type)`` over every page of ``bench``."""
    types = bench.content_types or [None] * len(bench.pages)
    return [one(p, u, t) for p, u, t in zip(bench.pages, bench.urls, types)]


def score_texts(bench: Benchmark, texts: list):
    """The benchmark metric (:func:`agentcore.f1.score`) of ``texts`` against ``bench``."""
    from agentcore import f1

    return f1.score({k: (t, x) for k, t, x in zip(bench.ids, bench.truth, texts)})


class Contender(NamedTuple):
    name: str
    one: Callable[[bytes, str, str | None], str]  # (page, url, content type) -> main text
    many: Callable[[list, list, int], list] | None  # batch entry of its own, else None
    note: str


def _contenders(include_twin: bool) -> tuple[list[Contender], list[str]]:
    out, notes = [], []
    from agentcore.kernels import html as kh

    def ours_one(page, url, ctype=None):
        return kh.extract(page, url, ctype).text

    def ours_many(pages, urls, threads):
        return [r.text for r in kh.extract_many(pages, urls, threads=threads)]

    out.append(Contender("agentcore", ours_one, ours_many, kh.IMPLEMENTATION))
    pure = twin("html", "pure")
    if include_twin and kh.IMPLEMENTATION != pure.__name__:

        def pure_one(page, url, ctype=None):
            data, u = kh.prepare(page, url, ctype)
            return kh.Extracted(*pure.extract(data or b"", u)).text
        out.append(Contender("agentcore (pure twin)", pure_one, None, pure.__name__))
    try:
        from resiliparse.extract.html2text import extract_plain_text
        from resiliparse.parse.html import HTMLTree

        def resiliparse(page, url, ctype=None):  # parse_from_bytes reads UTF-8
            return extract_plain_text(HTMLTree.parse_from_bytes(page), main_content=True)
        out.append(Contender("resiliparse", resiliparse, None, "main_content=True"))
    except ImportError as exc:
        notes.append(f"resiliparse skipped: {exc} (pip install resiliparse)")
    try:
        import trafilatura

        def trafilatura_one(page, url, ctype=None):
            return trafilatura.extract(page.decode("utf-8", "replace")) or ""
        out.append(Contender("trafilatura", trafilatura_one, None, "extract()"))
    except ImportError as exc:
        notes.append(f"trafilatura skipped: {exc} (pip install trafilatura)")
    try:
        from selectolax.lexbor import LexborHTMLParser

        def selectolax(page, url, ctype=None):
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
    p.add_argument("--readability", type=Path, default=None,
                   help="Mozilla Readability's test pages (default: "
                        "../shared/data/readability-test-pages from the cwd)")
    p.add_argument("--worst", type=int, default=0,
                   help="list agentcore's N worst pages by F1 on each set")


def _sets(args) -> tuple[list[tuple[str, Benchmark]], list[str]]:
    """The scored sets by name: the benchmark, then Readability's pages if they are there."""
    sets = [("benchmark", load_benchmark(args.data))]
    notes = []
    try:
        rd = load_readability(getattr(args, "readability", None))
    except FileNotFoundError as exc:
        notes.append(f"readability set skipped: {exc}")
    else:
        real = subset(rd, lambda i: len(rd.pages[i]) >= UNIT_CASE_BYTES)
        sets += [(f"readability ({len(rd.ids)})", rd),
                 (f"readability real ({len(real.ids)})", real)]
        notes.append(f"readability real = the {len(real.ids)} pages of {len(rd.ids)} whose "
                     f"source is at least {UNIT_CASE_BYTES} bytes (the rest are hand-made "
                     f"cases of Readability's rules)")
    return sets, notes


def run(args) -> int:
    from agentcore import f1

    sets, set_notes = _sets(args)
    bench = sets[0][1]
    threads = [int(t) for t in str(args.threads).split(",") if t.strip()]
    contenders, notes = _contenders(getattr(args, "twin", False))
    notes += set_notes
    only = {s.strip() for s in getattr(args, "only", "").split(",") if s.strip()}
    if only:
        contenders = [c for c in contenders if c.name in only or c.name.split()[0] in only]
    mb = bench.nbytes / 1e6
    print(f"{len(bench.pages)} pages, {mb:.1f} MB, from {args.data or default_data()}; "
          f"{os.cpu_count()} CPUs; best of {args.repeat} rounds", file=sys.stderr)

    scores: dict = {}  # (contender, set name) -> Score
    texts_of: dict = {}  # contender -> {readability page id: (truth, text)}, for the subset
    loops = {}
    for c in contenders:
        for name, data in sets:
            if name.startswith("readability real"):
                scores[(c.name, name)] = f1.score({k: texts_of[c.name][k] for k in data.ids})
                continue
            t0 = time.perf_counter()
            texts = extract_texts(data, c.one)
            if data is bench:
                # A timed round repeats the corpus until it lasts about --min-seconds: a single
                # pass of the fast extractors takes ~50 ms, where scheduler noise and pool
                # start-up swamp ratios.
                loops[c.name] = max(1, math.ceil(args.min_seconds
                                                 / max(time.perf_counter() - t0, 1e-6)))
            scores[(c.name, name)] = score_texts(data, texts)
            texts_of[c.name] = dict(zip(data.ids, zip(data.truth, texts)))
            if c.name == "agentcore" and getattr(args, "worst", 0):
                worst = sorted(zip(data.ids, data.truth, texts, data.urls),
                               key=lambda r: f1.page_f1(r[1], r[2]))[: args.worst]
                for k, t, x, u in worst:
                    print(f"  worst on {name}: {k[:24]} F1 {f1.page_f1(t, x):.3f} {u}",
                          file=sys.stderr)

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

    head = f"| {'extractor':<22} | {'set':<22} | {'F1':>6} | {'P':>6} | {'R':>6} |"
    print(head)
    print("|" + "|".join("-" * (len(cell)) for cell in head.split("|")[1:-1]) + "|")
    for name, _ in sets:
        for c in contenders:
            s = scores[(c.name, name)]
            print(f"| {c.name:<22} | {name:<22} | {s.f1:6.4f} | {s.precision:6.4f} "
                  f"| {s.recall:6.4f} |")
    print()
    head = f"| {'extractor':<22} |"
    for t in threads:
        head += f" {'pages/s ' + str(t) + 'T':>12} | {'MB/s ' + str(t) + 'T':>9} |"
    print(head)
    print("|" + "|".join("-" * (len(cell)) for cell in head.split("|")[1:-1]) + "|")
    for c in contenders:
        row = f"| {c.name:<22} |"
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
