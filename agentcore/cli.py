"""The `agentcore` command: the demo runner, a user's job (`agentcore job`) and the benchmarks."""
from __future__ import annotations

import argparse
import importlib
import os
import sys

BENCH_AREAS = {
    "core": "agentcore.bench.core",
    "text": "agentcore.bench.text",
    "analysis": "agentcore.bench.analysis",
    "llm": "agentcore.bench.llm",
    "demo": "agentcore.bench.demo",
    "crawl": "agentcore.bench.crawl",
    "agents": "agentcore.bench.agents",
    "job": "agentcore.bench.job",
}


def _bench_module(area: str):
    try:
        return importlib.import_module(BENCH_AREAS[area])
    except ModuleNotFoundError as exc:
        raise SystemExit(f"agentcore bench {area}: not available ({exc})") from None


def build_parser(argv: list[str]) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="agentcore", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    sw = sub.add_parser("swarm", help="N agents through the 6-state lifecycle, with live progress")
    sw.add_argument("--agents", type=int, default=1_000_000)
    sw.add_argument("--batch", type=int, default=250_000, help="agents per action call")

    demo = sub.add_parser("demo", help="the scrape-analyze-store swarm demo (embedded defaults)")
    from agentcore.demo import cli as demo_mod

    demo_mod.add_arguments(demo)

    job = sub.add_parser("job", help="your own scrape-analyze-store job: a job file (TOML) on "
                                     "a URL list, a folder of sites or the local web")
    demo_mod.add_job_arguments(job)

    export = sub.add_parser("export", help="write a run's results out: csv, jsonl or parquet")
    from . import export as export_mod

    export_mod.add_arguments(export)

    bench = sub.add_parser("bench", help="benchmarks with ratios against the anchors")
    areas = bench.add_subparsers(dest="area", required=True)
    for area in BENCH_AREAS:
        ap = areas.add_parser(area)
        ap.set_defaults(_area=area)
        if argv[:2] == ["bench", area]:  # only import the area asked for: each is heavy
            _bench_module(area).add_arguments(ap)
    return p


def single_blas_thread() -> None:
    """One OpenBLAS thread for this process unless the user chose (``OPENBLAS_NUM_THREADS``):
    numpy's starts one per core at import (0.29 s of CPU on 2 cores, 0.12 s with one) and they
    spin after numpy calls, while nothing the command runs multiplies matrices (the kernels and
    the swarm use integer numpy ops, llama.cpp its own threads). Call before numpy is imported."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def main(argv: list[str] | None = None) -> int:
    single_blas_thread()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(argv).parse_args(argv)
    if args.command == "swarm":
        from agentcore.demo.lifecycle import run_swarm_demo

        return run_swarm_demo(args.agents, args.batch)
    if args.command in ("demo", "job"):
        from agentcore.demo import cli as demo_cli  # (agentcore.demo.run is the runner module)

        return demo_cli.run(args) if args.command == "demo" else demo_cli.run_job(args)
    if args.command == "export":
        from . import export

        return export.run(args)
    if args.command == "bench":
        return _bench_module(args._area).run(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
