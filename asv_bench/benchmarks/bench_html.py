"""HTML main-text extraction on the article-extraction benchmark's 181 pages: 1 and 2 threads.

Needs ../shared/data/article-extraction-benchmark (or $AGENTCORE_BENCH_DATA); without it every
benchmark here is skipped. pages/s = 181 / the time of one call of time_extract_many.
"""
import os
from pathlib import Path

from agentcore.kernels import twin


def _data_dir():
    candidates = [os.environ.get("AGENTCORE_BENCH_DATA"),
                  Path(__file__).resolve().parents[3] / "shared" / "data"
                  / "article-extraction-benchmark",
                  Path.cwd() / ".." / "shared" / "data" / "article-extraction-benchmark"]
    for c in candidates:
        if c and (Path(c) / "ground-truth.json").exists():
            return Path(c)
    raise NotImplementedError("article-extraction benchmark data not found")


def _compiled():
    """The compiled HTML kernel; a missing build skips the benchmark."""
    try:
        return twin("html", "compiled")
    except ImportError as exc:
        raise NotImplementedError(f"the compiled kernel is not built: {exc}") from None


def _load():
    from agentcore.bench.text import load_benchmark

    return load_benchmark(_data_dir())


class ExtractMany:
    """The swarm's batch entry: every page, on 1 or 2 threads."""

    params = [1, 2]
    param_names = ["threads"]
    timeout = 120

    def setup(self, threads):
        from agentcore.kernels import html

        if html.IMPLEMENTATION != _compiled().__name__:
            raise NotImplementedError("extensions are off (AGENTCORE_NO_EXTENSIONS)")
        self.html = html
        b = _load()
        self.pages, self.urls = b.pages, b.urls
        html.extract_many(self.pages[:4], self.urls[:4], threads=threads)  # start the pool

    def time_extract_many(self, threads):
        self.html.extract_many(self.pages, self.urls, threads=threads)

    def peakmem_extract_many(self, threads):
        self.html.extract_many(self.pages, self.urls, threads=threads)

    def track_pages_per_second(self, threads):
        import time

        best = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            self.html.extract_many(self.pages, self.urls, threads=threads)
            best = min(best, time.perf_counter() - t0)
        return len(self.pages) / best

    track_pages_per_second.unit = "pages/s"


class ExtractOne:
    """The single-page library call, compiled kernel and pure twin (the twin on 10 pages).

    The call is what :func:`agentcore.kernels.html.extract` does: ``prepare`` (checks, charset
    decoding), the twin's kernel, the result tuple.
    """

    params = ["compiled", "pure"]
    param_names = ["kernels"]
    timeout = 120

    def setup(self, impl):
        from agentcore.kernels import html

        self.kernel = _compiled() if impl == "compiled" else twin("html", "pure")
        b = _load()
        n = len(b.pages) if impl == "compiled" else 10
        self.pages, self.urls = b.pages[:n], b.urls[:n]
        self.html = html

    def time_extract_each(self, impl):
        html, kernel = self.html, self.kernel
        for page, url in zip(self.pages, self.urls):
            data, u = html.prepare(page, url)
            if data is not None:
                html.Extracted(*kernel.extract(data, u))
