"""`agentcore bench agents`: tool-using agents on agentcore vs LangGraph and the OpenAI Agents SDK, one run.

Real model (issue 13 item 5): each agent answers a question about the local web's pages with
three tool calls (search the pages, read a row of the SQLite table built from them, compute)
and an answer, under one per-turn decision schema (one call of a declared tool with valid
arguments, or the answer). agentcore runs ``Agent`` + ``run_agents`` on its engine (default
model file, 64 slots); LangGraph (a StateGraph, ``with_structured_output(schema,
method="json_schema")``) and the Agents SDK (``output_type`` = the schema) drive llama-server
with the same file, threads and ``-np 64``. Same prompts, same schema, same tools: turns and
tokens per agent are printed beside agents/s so equal work is visible. For the record, the
prebuilt ReAct agent with native ``tools=`` against llama-server, and its tool-call count.

Instant model: the lookup/add task (3 model turns + 2 tool calls = 5 agent-steps) with a model
that answers at once, so what is measured is the frameworks' orchestration per agent-step.

Every cell runs in its own process (its peak RSS is its own).

    agentcore bench agents --quick                      # 100 agents, agentcore vs LangGraph
    agentcore bench agents --agents 1000 --skip overhead
    agentcore bench agents --skip real,native           # instant model, 1k / 10k / 100k
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys

CONTENDERS = ("agentcore", "langgraph", "sdk")
NAMES = {"agentcore": "agentcore", "langgraph": "LangGraph + llama-server",
         "sdk": "Agents SDK + llama-server"}
FAKE_NAMES = {"agentcore": "agentcore", "langgraph": "LangGraph", "sdk": "Agents SDK"}


def add_arguments(p) -> None:
    p.add_argument("--quick", action="store_true",
                   help="100 agents on the real model, agentcore vs LangGraph only")
    p.add_argument("--agents", default="100,1000,10000", help="agent counts of the real-model run")
    p.add_argument("--contenders", default=",".join(CONTENDERS),
                   help="comma-separated: agentcore, langgraph, sdk")
    p.add_argument("--overhead-sizes", default="1000,10000,100000",
                   help="agent counts of the instant-model run")
    p.add_argument("--native-agents", type=int, default=100,
                   help="agents of the record-only native tools= run (0: none)")
    p.add_argument("--skip", default="", help="comma-separated parts to skip: real, native, overhead")
    p.add_argument("--threads", type=int, default=2, help="llama.cpp threads (engine and server)")
    p.add_argument("--max-cell-s", type=float, default=600.0,
                   help="skip a framework's next size when it is projected to take longer")
    p.add_argument("--pool-tools", action="store_true",
                   help="instant model: agentcore's tools on the worker pool instead of inline")
    p.add_argument("--json", default=None, help="also write every cell's result to this file")
    p.add_argument("--one", default=None, help=argparse.SUPPRESS)


def load() -> str:
    try:
        return "load %.2f %.2f %.2f" % os.getloadavg()
    except OSError:
        return "load ?"


def cell(spec: str, args) -> dict | None:
    from agentcore.bench.core import measure

    cmd = [sys.executable, "-m", "agentcore.bench.agents", "--one", spec,
           "--threads", str(args.threads)] + (["--pool-tools"] if args.pool_tools else [])
    before = load()
    try:
        _, rss, out = measure(cmd)
    except RuntimeError as exc:
        print(f"[bench] {spec}: failed: {exc}", file=sys.stderr)
        return None
    res = json.loads(re.search(r"^result=(.*)$", out, re.M).group(1))
    res.update(spec=spec, peak_rss_mb=rss, load_before=before, load_after=load())
    print(f"[bench] {spec}: {res['wall_s']:.1f} s, {res['agents'] / res['wall_s']:.2f} agents/s, "
          f"{res.get('answered', '?')} answered, peak {rss:.0f} MB ({before})", file=sys.stderr)
    return res


def per_agent(r: dict, key: str) -> float:
    return r[key] / r["agents"] if r["agents"] else 0.0


def print_real(rows: list[dict], threads: int) -> None:
    print("\nReal model: the pages task (search -> read -> compute -> answer), same file, "
          f"{threads} thread(s), 64 slots; turns = model requests")
    print(f"{'contender':<26} {'agents':>6} {'wall s':>7} {'agents/s':>8} {'calls/s':>8} "
          f"{'tok/s':>7} {'turns/ag':>8} {'calls/ag':>8} {'prompt/ag':>9} {'computed/ag':>11} "
          f"{'gen/ag':>6} {'answered':>8} {'correct':>7} {'peak MB':>8} {'server MB':>9}  load")
    for r in rows:
        w = r["wall_s"]
        tok = r["prompt_tokens"] - r["cached_tokens"] + r["completion_tokens"]
        print(f"{NAMES[r['who']]:<26} {r['agents']:>6} {w:>7.1f} {r['agents'] / w:>8.2f} "
              f"{r['tool_calls'] / w:>8.2f} {tok / w:>7.0f} {per_agent(r, 'turns'):>8.2f} "
              f"{per_agent(r, 'tool_calls'):>8.2f} {per_agent(r, 'prompt_tokens'):>9.0f} "
              f"{(r['prompt_tokens'] - r['cached_tokens']) / r['agents']:>11.0f} "
              f"{per_agent(r, 'completion_tokens'):>6.1f} {r['answered']:>8} {r['correct']:>7} "
              f"{r['peak_rss_mb']:>8.0f} {r.get('server_peak_rss_mb', 0):>9.0f}  "
              f"{r['load_before']}")
        if r.get("errors"):
            print(f"{'':<26} failures: {r['errors']}")
    print("\nPrompt tokens per turn vs conversation length (mean per request: whole prompt / "
          "computed, i.e. not reused)")
    for r in rows:
        cells = []
        for k, (cnt, prompt, cached) in r["per_turn"].items():
            cells.append(f"turn {k}: {prompt / cnt:.0f}/{(prompt - cached) / cnt:.0f} (n={cnt})")
        print(f"  {NAMES[r['who']]:<26} {r['agents']:>6}  " + "  ".join(cells))
    sizes = sorted({r["agents"] for r in rows})
    for n in sizes:
        a = next((r for r in rows if r["who"] == "agentcore" and r["agents"] == n), None)
        for r in rows:
            if a and r["agents"] == n and r["who"] != "agentcore":
                ra = (a["agents"] / a["wall_s"]) / (r["agents"] / r["wall_s"])
                rt = (a["turns"] / a["wall_s"]) / (r["turns"] / r["wall_s"]) if r["turns"] else 0
                print(f"agentcore / {NAMES[r['who']]}, {n} agents: {ra:.2f}x agents/s "
                      f"({rt:.2f}x model turns/s; bar 2x agents/s at 1,000: "
                      f"{'met' if ra >= 2 else 'not met'})")


def print_overhead(rows: list[dict], skipped: list[str]) -> None:
    print("\nInstant model: orchestration per agent-step (lookup -> add -> answer: 5 steps)")
    print(f"{'framework':<12} {'agents':>8} {'steps':>8} {'wall s':>8} {'cpu s':>8} "
          f"{'us/step':>9} {'cpu us/step':>11} {'peak MB':>8} {'KB/agent':>8}  load")
    for r in rows:
        s = max(r["steps"], 1)
        print(f"{FAKE_NAMES[r['who']]:<12} {r['agents']:>8} {r['steps']:>8} {r['wall_s']:>8.2f} "
              f"{r['cpu_s']:>8.2f} {1e6 * r['wall_s'] / s:>9.1f} {1e6 * r['cpu_s'] / s:>11.1f} "
              f"{r['peak_rss_mb']:>8.0f} {1024 * r['peak_rss_mb'] / r['agents']:>8.1f}  "
              f"{r['load_before']}")
        if r["answered"] != r["agents"] or r["correct"] != r["agents"]:
            print(f"{'':<12} only {r['correct']} of {r['agents']} answered right: {r['errors']}")
    for line in skipped:
        print(line)
    for n in sorted({r["agents"] for r in rows}):
        a = next((r for r in rows if r["who"] == "agentcore" and r["agents"] == n), None)
        for r in rows:
            if a and r["agents"] == n and r["who"] != "agentcore":
                ratio = (r["wall_s"] / r["steps"]) / (a["wall_s"] / a["steps"])
                print(f"{FAKE_NAMES[r['who']]} / agentcore overhead per step, {n} agents: "
                      f"{ratio:.1f}x (bar 50x: {'met' if ratio >= 50 else 'not met'})")


def run(args) -> int:
    if args.one is not None:
        from .agents_cells import print_cell

        print_cell(args.one, args.threads, args.pool_tools)
        return 0
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    contenders = [c.strip() for c in args.contenders.split(",") if c.strip()]
    bad = [c for c in contenders if c not in CONTENDERS]
    if bad:
        print(f"agentcore bench agents: unknown contenders {bad}; use {', '.join(CONTENDERS)}",
              file=sys.stderr)
        return 2
    sizes = [int(s) for s in args.agents.split(",") if s.strip()]
    if args.quick:
        sizes, contenders, skip = [100], ["agentcore", "langgraph"], skip | {"native", "overhead"}
    results: list[dict] = []
    real = []
    if "real" not in skip:
        for n in sizes:
            for who in contenders:
                r = cell(f"real:{who}:{n}", args)
                if r:
                    real.append(dict(r, who=who))
        print_real(real, args.threads)
        results += real
    if "native" not in skip and args.native_agents > 0:
        r = cell(f"native:langgraph:{args.native_agents}", args)
        if r:
            print(f"\nFor the record: LangGraph's prebuilt ReAct agent with native tools= against "
                  f"llama-server, {r['agents']} agents: {r['tool_calls']} tool calls in "
                  f"{r['completions']} completions ({r['errors']} agents failed), "
                  f"{r['wall_s']:.1f} s ({r['load_before']})")
            results.append(r)
    over, skipped = [], []
    if "overhead" not in skip:
        osizes = [int(s) for s in args.overhead_sizes.split(",") if s.strip()]
        for who in contenders:
            last = None
            for n in osizes:
                if last is not None and last["wall_s"] * n / last["agents"] > args.max_cell_s:
                    skipped.append(f"{FAKE_NAMES[who]}: {n} agents not run: projected "
                                   f"{last['wall_s'] * n / last['agents']:.0f} s from "
                                   f"{last['agents']} agents (> --max-cell-s {args.max_cell_s:.0f})")
                    break
                r = cell(f"overhead:{who}:{n}", args)
                if r is None:
                    skipped.append(f"{FAKE_NAMES[who]}: {n} agents failed (see stderr)")
                    break
                last = dict(r, who=who)
                over.append(last)
        print_overhead(over, skipped)
        results += over
    if args.quick and real:
        a = next((r for r in real if r["who"] == "agentcore"), None)
        lg = next((r for r in real if r["who"] == "langgraph"), None)
        if a and lg:
            print(f"\nquick: agentcore / LangGraph + llama-server, 100 agents: "
                  f"{(a['agents'] / a['wall_s']) / (lg['agents'] / lg['wall_s']):.2f}x agents/s "
                  f"({load()})")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="agentcore bench agents", description=__doc__.splitlines()[0])
    add_arguments(p)
    return run(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
