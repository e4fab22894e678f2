"""`agentcore bench analysis`: docs/s and MB/s of the analysis kernels, 1 and 2 threads, compiled vs pure.

Stages, each on the same texts in one sitting (best of ``--repeat`` runs; the machine is shared,
so read the ratios, not the absolute numbers):

- ``tokenize``: words to hashed ids (``agentcore.kernels.textops.tokenize_batch``), documents split across
  the threads;
- ``analyze``: the whole per-page pipeline of :meth:`agentcore.analyze.Corpus.add_many`: tokens,
  term counts, document frequencies, TF-IDF top-10 keywords, SimHash, MinHash, LSH index;
- ``lsh``: all near-duplicate pairs among the pages' signatures (one call);
- ``prompt``: one site's prompt (4 pages, 1,200 characters), per site.

Texts: the ``articleBody`` of every page in ``article-extraction-benchmark`` (``--data``), plus
one page per standard-library module made of its docstrings.
"""
from __future__ import annotations

import ast
import json
import os
import sysconfig
import time
from pathlib import Path

DEFAULT_DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "article-extraction-benchmark"


def add_arguments(p) -> None:
    p.add_argument("--data", type=Path, default=DEFAULT_DATA,
                   help="article-extraction-benchmark folder (its ground-truth.json is read)")
    p.add_argument("--repeat", type=int, default=5, help="runs per measurement (best is kept)")
    p.add_argument("--threads", default="1,2", help="comma-separated thread counts (default 1,2)")
    p.add_argument("--kernels", default="compiled,pure",
                   help="comma-separated: compiled, pure (the pure-Python twins)")
    p.add_argument("--stages", default="tokenize,analyze,lsh,prompt",
                   help="comma-separated subset of tokenize,analyze,lsh,prompt")


def load_texts(data: Path | None = DEFAULT_DATA, stdlib_pages: int = 200) -> list:
    """Article bodies (when ``data`` exists) and pages of standard-library docstrings."""
    texts = []
    gt = Path(data) / "ground-truth.json" if data else None
    if gt is not None and gt.exists():
        texts += [v["articleBody"] for v in json.loads(gt.read_text()).values()]
    root = Path(sysconfig.get_paths()["stdlib"])
    for path in sorted(root.glob("*.py")):
        if len(texts) >= 181 + stdlib_pages:
            break
        try:
            tree = ast.parse(path.read_bytes())
        except (SyntaxError, ValueError):
            continue
        docs = [ast.get_docstring(n) for n in ast.walk(tree)
                if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))]
        page = "\n\n".join(d for d in docs if d)
        if len(page) > 500:
            texts.append(page)
    return texts


def _best(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _halves(texts: list, parts: int) -> list:
    step = -(-len(texts) // parts)
    return [texts[i:i + step] for i in range(0, len(texts), step)]


def run(args) -> int:
    from agentcore import analyze
    from agentcore.kernels import twin
    from agentcore.kernels.pool import map_threads

    texts = load_texts(args.data)
    if not texts:
        print("no texts to measure")
        return 1
    mb = sum(len(t.encode("utf-8", "surrogatepass")) for t in texts) / 1e6
    threads = [int(x) for x in str(args.threads).split(",") if x]
    impls = [b for b in str(args.kernels).split(",") if b]
    stages = [s for s in str(args.stages).split(",") if s]
    sites = [texts[i:i + 4] for i in range(0, min(len(texts), 181), 4)]
    print(f"{len(texts)} documents, {mb:.2f} MB of UTF-8; {os.cpu_count()} CPUs; "
          f"best of {args.repeat} runs")
    # Every (stage, kernels, threads) case is a closure; rounds interleave the cases so that a
    # burst of load from elsewhere hits them all alike, and each keeps its best round.
    cases = []   # (stage, kernels, threads, items, fn)
    for impl in impls:
        textops = twin("textops", impl)
        # warm up: Numba loads its cached machine code (or compiles) outside the timing
        warm = analyze.Corpus(kernels=impl, threads=1)
        warm.add_many(texts[:8])
        warm.near_duplicates()
        warm.prompt(texts[:4])
        corpus = analyze.Corpus(kernels=impl, threads=1)
        corpus.add_many(texts)
        for t in threads:
            if "tokenize" in stages:
                parts = _halves(texts, t)
                cases.append(("tokenize", impl, t, len(texts),
                              lambda tok=textops.tokenize_batch, t=t, parts=parts:
                              map_threads(tok, parts, t)))
            if "analyze" in stages:
                cases.append(("analyze", impl, t, len(texts),
                              lambda k=impl, t=t:
                              analyze.Corpus(kernels=k, threads=t).add_many(texts)))
        if "lsh" in stages:
            cases.append(("lsh", impl, 1, len(texts), corpus.near_duplicates))
        if "prompt" in stages:
            cases.append(("prompt", impl, 1, len(sites),
                          lambda c=corpus: [c.prompt(s) for s in sites]))
    best = [float("inf")] * len(cases)
    for _ in range(args.repeat):
        for i, case in enumerate(cases):
            best[i] = min(best[i], _best(case[4], 1))
    rows = [(st, b, t, sec, n) for (st, b, t, n, _), sec in zip(cases, best)]

    base = {(r[0], r[1]): r[3] for r in rows if r[2] == 1}
    pure = {(r[0], r[2]): r[3] for r in rows if r[1] == "pure"}
    print(f"{'stage':<9} {'kernels':<9} {'threads':>7} {'ms':>9} {'items/s':>10} {'MB/s':>7} "
          f"{'vs 1 thr':>8} {'vs pure':>8}")
    for stage, impl, t, sec, n in rows:
        per_site = stage == "prompt"
        mbs = "" if per_site or stage == "lsh" else f"{mb / sec:7.2f}"
        vs1 = f"{base[(stage, impl)] / sec:7.2f}x" if t != 1 else ""
        vsp = (f"{pure[(stage, t)] / sec:7.1f}x" if impl != "pure" and (stage, t) in pure
               else "")
        unit = "sites/s" if per_site else "docs/s"
        print(f"{stage:<9} {impl:<9} {t:>7} {sec * 1e3:9.2f} {n / sec:10.0f} {mbs:>7} "
              f"{vs1:>8} {vsp:>8}   ({unit})")
    return 0


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(ap)
    raise SystemExit(run(ap.parse_args()))
