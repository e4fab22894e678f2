"""`agentcore demo` on the command line: its flags, then a run with a live display and a summary."""
from __future__ import annotations

DEFAULT_DB = "agentcore-demo.db"
DEFAULT_REPORT = "agentcore-report.html"


def add_arguments(p) -> None:
    p.add_argument("--sites", type=int, default=500, help="sites of the local web (default 500)")
    p.add_argument("--pages", type=int, default=32, help="page agents per site at most (default 32)")
    p.add_argument("--db", default=DEFAULT_DB,
                   help=f"SQLite file (default ./{DEFAULT_DB}) or a postgresql:// URL")
    p.add_argument("--model", default=None,
                   help="GGUF file for the LLM (default: AGENTCORE_MODEL or the bundled SmolLM2)")
    p.add_argument("--no-llm", action="store_true", help="skip the per-site LLM summary")
    p.add_argument("--llm-slots", type=int, default=64, help="sequences decoded together")
    p.add_argument("--corpus", metavar="DIR", help="serve this folder of HTML files as the sites")
    p.add_argument("--concurrency", type=int, default=256, help="connections in all")
    p.add_argument("--per-host", type=int, default=2, help="requests in flight per host")
    p.add_argument("--delay", type=float, default=0.02, help="politeness delay per host (s)")
    p.add_argument("--timeout", type=float, default=3.0, help="read timeout per request (s)")
    p.add_argument("--resume", action="store_true",
                   help="finish the latest unfinished run in --db instead of starting a new one")
    p.add_argument("--report", default=DEFAULT_REPORT, help="HTML report path")
    p.add_argument("--seed", type=int, default=0, help="seed of the local web")


def run(args) -> int:
    """The CLI: run (or resume) the demo with a live display, then print the summary."""
    from agentcore.demo.display import Progress
    from agentcore.demo.run import execute

    out = execute(args, progress_factory=lambda title, extra: Progress(title, extra=extra))
    if out is None:
        return 1
    c = out.counts
    rows = [
        ("run", out.run_id), ("database", out.where), ("wall", f"{out.wall:.1f} s"),
        ("agents", f"{out.result.agents:,d}"),
        ("sites stored", f"{c.get('sites', 0):,d}"),
        ("pages stored", f"{c.get('pages', 0):,d}"),
        ("keywords", f"{c.get('keywords', 0):,d}"),
        ("near-duplicate pairs", f"{c.get('near_dups', 0):,d}"),
        ("LLM summaries", f"{c.get('llm_results', 0):,d}"),
        ("failures recorded", f"{c.get('failures', 0):,d}"),
        ("pages/s", f"{out.stats.get('pages_ok', 0) / out.wall:.1f}"),
        ("summaries/s", f"{out.stats.get('llm_ok', 0) / out.wall:.2f}"),
        ("report", str(out.report)),
    ]
    rows += [(f"  failed: {reason}", f"{n:,d}") for reason, n in out.failure_reasons.items()]
    out.progress.summary("agentcore demo", rows)
    return 0
