"""`agentcore demo` and `agentcore job` on the command line: their flags, then a run with a live
display and a summary."""
from __future__ import annotations

import argparse
import sys

DEFAULT_DB = "agentcore-demo.db"
DEFAULT_REPORT = "agentcore-report.html"
JOB_DB = "agentcore-job.db"
JOB_REPORT = "agentcore-job-report.html"


def add_arguments(p) -> None:
    p.add_argument("--sites", type=int, default=500, help="sites of the local web (default 500)")
    p.add_argument("--pages", type=int, default=32, help="page agents per site at most (default 32)")
    p.add_argument("--db", default=DEFAULT_DB,
                   help=f"SQLite file (default ./{DEFAULT_DB}) or a postgresql:// URL")
    p.add_argument("--model", default=None,
                   help="GGUF file for the LLM (default: AGENTCORE_MODEL or the bundled SmolLM2)")
    p.add_argument("--no-llm", action="store_true", help="skip the per-site LLM summary")
    p.add_argument("--llm-slots", type=int, default=64, help="sequences decoded together")
    p.add_argument("--llm-url", help="an OpenAI-compatible server (llama-server, vLLM, a hosted API; key in "
                        "AGENTCORE_LLM_API_KEY or OPENAI_API_KEY) instead of the in-process model")
    p.add_argument("--llm-model", help="model name sent to --llm-url (default: the server's first)")
    p.add_argument("--ray", metavar="local|ADDRESS", default=None,
                   help="run as shards on Ray: 'local' starts a cluster here, or a cluster's address "
                        "(pip install 'agentcore[ray]'; across machines --db must be postgresql://)")
    p.add_argument("--shards", type=int, default=2, help="shard actors with --ray (default 2)")
    p.add_argument("--corpus", metavar="DIR",
                   help="serve this folder (one subfolder per site, named by its host) as the sites")
    p.add_argument("--concurrency", type=int, default=256, help="connections in all")
    p.add_argument("--per-host", type=int, default=2, help="requests in flight per host")
    p.add_argument("--delay", type=float, default=0.02, help="politeness delay per host (s)")
    p.add_argument("--timeout", type=float, default=3.0, help="read timeout per request (s)")
    p.add_argument("--resume", action="store_true",
                   help="finish the latest unfinished run in --db instead of starting a new one")
    p.add_argument("--report", default=DEFAULT_REPORT, help="HTML report path")
    p.add_argument("--seed", type=int, default=0, help="seed of the local web")


def add_job_arguments(p) -> None:
    """`agentcore job [JOB.toml] --urls FILE | --corpus DIR | --local-web N`: flags override the file."""
    p.add_argument("jobfile", nargs="?", help="the job file (TOML; see agentcore.crawl.jobfile); "
                                              "default: the general defaults")
    src = p.add_argument_group("sites (one of)")
    src.add_argument("--urls", metavar="FILE", help="a file of URLs, one per line; - reads stdin")
    src.add_argument("--corpus", metavar="DIR",
                     help="a folder with one subfolder of saved pages per site, named by its host")
    src.add_argument("--local-web", type=int, metavar="N", help="the demo's local web of N sites")
    src.add_argument("--seed", type=int, default=0, help="seed of the local web")
    src.add_argument("--resolve", action="append", metavar="HOST=ADDR:PORT",
                     help="serve HOST from ADDR:PORT without DNS (repeatable), as curl's --resolve")
    out = p.add_argument_group("results")
    out.add_argument("--db", default=JOB_DB, help=f"SQLite file (default ./{JOB_DB}) or postgresql:// URL")
    out.add_argument("--report", default=JOB_REPORT, help="HTML report path")
    out.add_argument("--resume", action="store_true",
                     help="finish the latest unfinished run in --db (its inputs come from the run)")
    a = p.add_argument_group("analysis (override the job file)")
    a.add_argument("--instructions", help="the system message: what to do with a site's pages")
    a.add_argument("--categories", metavar="A,B,C", help="the category choices; '' for none")
    a.add_argument("--schema", metavar="FILE.json", help="the per-site answer's JSON Schema")
    a.add_argument("--max-tokens", type=int, help="tokens the answer may take")
    a.add_argument("--prompt-pages", type=int, help="pages whose excerpts feed the prompt")
    a.add_argument("--keywords", type=int, help="keywords shown in the prompt")
    a.add_argument("--text-chars", type=int, help="characters of page text at most")
    a.add_argument("--host", action=argparse.BooleanOptionalAction, default=None,
                   help="name the site's host in the prompt (--no-host leaves it out)")
    c = p.add_argument_group("crawl (override the job file)")
    c.add_argument("--pages", type=int, help="pages fetched per site at most")
    c.add_argument("--follow", action="append", metavar="RULE",
                   help="hosts links may lead to: same-site, same-host or a pattern (repeatable)")
    c.add_argument("--max-url-bytes", type=int, help="longer URLs fail with url_too_long")
    c.add_argument("--concurrency", type=int, help="connections in all")
    c.add_argument("--per-host", type=int, help="requests in flight per host")
    c.add_argument("--delay", type=float, help="politeness delay per host (s)")
    c.add_argument("--timeout", type=float, help="read timeout per request (s)")
    c.add_argument("--no-robots", action="store_true", help="do not honour robots.txt")
    m = p.add_argument_group("model")
    m.add_argument("--model", help="GGUF file (default: AGENTCORE_MODEL or the bundled SmolLM2)")
    m.add_argument("--no-llm", action="store_true", help="crawl and analyse only")
    m.add_argument("--llm-slots", type=int, help="sequences decoded together")
    m.add_argument("--llm-url", help="an OpenAI-compatible server (llama-server, vLLM, a hosted API; key in "
                        "AGENTCORE_LLM_API_KEY or OPENAI_API_KEY) instead of the in-process model")
    m.add_argument("--llm-model", help="model name sent to --llm-url (default: the server's first)")
    r = p.add_argument_group("scale-out")
    r.add_argument("--ray", metavar="local|ADDRESS", default=None,
                   help="run as shards on Ray: 'local' starts a cluster here, or a cluster's address "
                        "(pip install 'agentcore[ray]'; across machines --db must be postgresql://)")
    r.add_argument("--shards", type=int, default=2, help="shard actors with --ray (default 2)")
    m.add_argument("--context", type=int, help="tokens per sequence (prompt + answer)")


#: flag -> (section, key) of the job file it overrides
FLAG_KEYS = {"instructions": ("analysis", "instructions"), "max_tokens": ("analysis", "max_tokens"),
             "prompt_pages": ("prompt", "pages"), "keywords": ("prompt", "keywords"),
             "text_chars": ("prompt", "text_chars"), "host": ("prompt", "host"), "pages": ("crawl", "max_pages"),
             "follow": ("crawl", "follow"), "max_url_bytes": ("crawl", "max_url_bytes"),
             "concurrency": ("crawl", "concurrency"), "per_host": ("crawl", "per_host"),
             "delay": ("crawl", "delay"), "timeout": ("crawl", "timeout"),
             "model": ("llm", "model"), "llm_slots": ("llm", "slots"), "context": ("llm", "context")}


def job_of(args):
    """The job file with the command's flags applied (a JobFileError names what is wrong)."""
    import os
    import tomllib

    from agentcore.crawl.jobfile import job_from_dict, read_job_text

    raw: dict = {}
    if args.jobfile:
        try:
            raw = tomllib.loads(read_job_text(args.jobfile))
        except tomllib.TOMLDecodeError as exc:
            from agentcore.crawl.jobfile import JobFileError

            raise JobFileError(f"{args.jobfile}: not valid TOML: {exc}") from None
    for flag, (section, key) in FLAG_KEYS.items():
        value = getattr(args, flag, None)
        if value is not None:
            raw.setdefault(section, {})[key] = value
    if args.categories is not None:
        raw.setdefault("analysis", {})["categories"] = [
            c.strip() for c in args.categories.split(",") if c.strip()]
    if args.schema is not None:
        analysis = raw.setdefault("analysis", {})
        for k in ("schema", "model"):
            analysis.pop(k, None)
        analysis["schema_file"] = os.path.abspath(args.schema)
    if args.no_robots:
        raw.setdefault("crawl", {})["robots"] = False
    return job_from_dict(raw, args.jobfile)


def run(args) -> int:
    """`agentcore demo`: run (or resume) the demo with a live display, then print the summary."""
    from agentcore.demo.run import execute

    return summarize(execute(args, progress_factory=live), "agentcore demo")


def run_job(args) -> int:
    """`agentcore job`: run (or resume) a user's job with a live display, then the summary."""
    from agentcore.crawl.jobfile import JobFileError
    from agentcore.crawl.task import PromptTooLong
    from agentcore.demo.run import execute_job

    given = [f for f in ("urls", "corpus", "local_web") if getattr(args, f)]
    if len(given) != 1 and not args.resume:
        print("agentcore job: give the sites with one of --urls FILE (- for stdin), --corpus DIR "
              f"or --local-web N{' (not ' + ' and '.join(given) + ')' if given else ''}",
              file=sys.stderr)
        return 2
    try:
        job = job_of(args)
        out = execute_job(job, args, progress_factory=live)
    except (JobFileError, PromptTooLong, OSError) as exc:
        print(f"agentcore job: {exc}", file=sys.stderr)
        return 2
    return summarize(out, "agentcore job")


def live(title, extra):
    from agentcore.demo.display import Progress

    return Progress(title, extra=extra)


def summarize(out, title: str) -> int:
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
    out.progress.summary(title, rows)
    return 0
