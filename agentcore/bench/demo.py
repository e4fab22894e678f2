"""`agentcore bench demo`: the scrape-analyze-store demo end to end, with time per stage.

Each stage's span is when its first agent entered and its last agent left it (from the
swarm's counts sampled every 0.25 s); overlapping spans are the pipelining. The LLM's answers
are scored against the local web's ground truth (agentcore.demo.quality): category accuracy
and the share of summaries that copy the prompt. The report is
opened in headless Chromium to check that its charts lay out.
"""
from __future__ import annotations

import os
import tempfile

from agentcore.demo import cli as demo_cli
# the module by its full name: the package's `run` attribute is cli.run, the function
from agentcore.demo.run import execute

from .browser import browser_check


def add_arguments(p) -> None:
    demo_cli.add_arguments(p)
    p.set_defaults(db=None, report=None)


def stage_spans(timeline) -> dict[str, tuple[float, float, float]]:
    """{state: (first seen, last seen, agent-seconds)} from the timeline's state counts."""
    spans: dict[str, list[float]] = {}
    prev_t = 0.0
    for point in timeline:
        dt = point["t"] - prev_t
        prev_t = point["t"]
        for state, n in point["states"].items():
            if state in ("DONE", "FAILED", "WAITING") or not n:
                continue
            s = spans.setdefault(state, [point["t"], point["t"], 0.0])
            s[1] = point["t"]
            s[2] += n * dt
    return {k: tuple(v) for k, v in spans.items()}


def quality_line(args, out) -> str:
    """Category accuracy against the local web's ground truth and the copy rate of the answers."""
    from agentcore.crawl.tables import LLMResult
    from agentcore.demo.config import DEMO_TASK
    from agentcore.demo.quality import majority_baseline, score_answers, site_truth
    from agentcore.store import open_store

    store = open_store(args.db)
    try:
        rows = store.rows(LLMResult, out.run_id)
    finally:
        store.close()
    if args.corpus:  # a folder has no ground truth: only the copy rate
        return score_answers(rows, {}, DEMO_TASK).line()
    truth = site_truth(args.sites)
    score = score_answers(rows, truth, DEMO_TASK)
    top = sorted(score.confusions.items(), key=lambda kv: -kv[1])[:3]
    return (f"answers: {score.line()}; always answering the commonest category would score "
            f"{majority_baseline(truth):.1%}; commonest misses (truth -> answer): "
            + ", ".join(f"{t} -> {a} {n}" for (t, a), n in top))


def run(args) -> int:
    tmp = tempfile.mkdtemp(prefix="agentcore-bench-demo-")
    if args.db is None:
        args.db = os.path.join(tmp, "demo.db")
    if args.report is None:
        args.report = os.path.join(tmp, "report.html")
    out = execute(args)
    if out is None:
        return 1
    spans = stage_spans(out.pipeline.timeline)
    print(f"Demo: {args.sites} sites, {out.counts['pages']:,d} pages stored, "
          f"{out.counts['llm_results']:,d} LLM summaries, {out.counts['failures']:,d} failures "
          f"recorded, {out.result.agents:,d} agents")
    print(f"{'stage':14} {'first s':>8} {'last s':>8} {'agent-s':>10}")
    for state, (a, b, agent_s) in sorted(spans.items(), key=lambda kv: kv[1][0]):
        print(f"{state:14} {a:8.1f} {b:8.1f} {agent_s:10.1f}")
    wall = out.wall
    print(f"wall {wall:.1f} s   pages/s {out.stats.get('pages_ok', 0) / wall:.1f}   "
          f"summaries/s {out.stats.get('llm_ok', 0) / wall:.2f}")
    llm = out.stats.get("llm")
    if llm:
        print(f"LLM tokens: {llm['prompt_tokens']:,d} prompt computed, "
              f"{llm['prompt_tokens_reused']:,d} reused from the shared prefix, "
              f"{llm['generated_tokens']:,d} generated; {llm['decode_calls']:,d} decode calls, "
              f"{llm['busy_seconds']:.1f} s in llama_decode ({llm['prompt_tokens_per_s']:.0f} "
              f"prompt + {llm['generated_tokens_per_s']:.0f} gen tok/s while busy), "
              f"slot occupancy {llm['slot_occupancy']:.2f}")
        print(quality_line(args, out))
    try:
        chk = browser_check(out.report)
        charts = chk["charts"]
        drawn = sum(1 for c in charts.values() if min(c["size"]) > 0 and c["marks"])
        print(f"report: {out.report}: headless Chromium laid out {drawn}/{len(charts)} charts "
              f"with marks, horizontal overflow: {chk['overflowX']}")
    except Exception as exc:  # Chromium missing: say so, the numbers above still stand
        print(f"report: {out.report} (not checked in Chromium: {exc})")
    return 0
