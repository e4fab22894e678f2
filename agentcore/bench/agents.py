"""`agentcore bench agents`: orchestration overhead of tool-using agents, with an instant fake model.

Each agent runs model -> lookup -> model -> add -> model (answer): 3 model turns and 2 tool calls,
5 agent-steps, through the real agent states (START, THINK, TOOL_*, ANSWER) of one swarm; the
model is :class:`agentcore.agents.fake.InstantModel` (a reply costs a dict lookup), so what is
measured is everything around the model: routing, conversation memory, argument validation,
tool calls, the swarm's ticks. Each size runs in its own process, so its peak RSS is its own.

    python -m agentcore.bench.agents --quick          # 1,000 and 10,000 agents
    python -m agentcore.bench.agents                  # 1,000 / 10,000 / 100,000
"""
from __future__ import annotations

import argparse
import sys
import time
from typing import Literal

STEPS_PER_AGENT = 5  # 3 model turns + 2 tool calls
CITIES = {"Paris": 2148000, "Lyon": 513000, "Nice": 342000, "Lille": 233000}


def build_agent(pool_tools: bool = False):
    from agentcore.agents import Agent, Tool

    def lookup(city: Literal["Paris", "Lyon", "Nice", "Lille"]) -> int:
        """Population of a city."""
        return CITIES[city]

    def add(a: int, b: int) -> int:
        """a + b."""
        return a + b

    tools = [Tool(lookup, inline=not pool_tools), Tool(add, inline=not pool_tools)]
    return Agent("Answer questions about cities with the tools.", tools, max_turns=4)


def policy(messages: list) -> dict:
    n = (len(messages) - 2) // 2
    if n == 0:
        return {"tool": "lookup", "args": {"city": "Lyon"}}
    if n == 1:
        return {"tool": "add", "args": {"a": int(messages[-1]["content"][8:]), "b": 1}}
    return {"answer": messages[-1]["content"][8:]}


def run_one(n: int, pool_tools: bool) -> None:
    """One size in this process: prints wall_s, steps and the check that every agent answered."""
    from agentcore.agents import run_agents
    from agentcore.agents.fake import InstantModel

    agent = build_agent(pool_tools)
    model = InstantModel(policy, n_slots=64)
    t0, c0 = time.perf_counter(), time.process_time()
    runs = run_agents(agent, ["How many people live in Lyon, plus one?"] * n, engine=model)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    ok = sum(r.state == "DONE" and r.answer == "513001" for r in runs)
    steps = sum(len(r.turns) + len(r.tool_calls) for r in runs)
    print(f"wall_s={wall:.4f} cpu_s={cpu:.4f} steps={steps} ok={ok} requests={model.requests}",
          flush=True)


def add_arguments(p) -> None:
    p.add_argument("--sizes", default="1000,10000,100000", help="comma-separated agent counts")
    p.add_argument("--quick", action="store_true", help="1,000 and 10,000 agents only")
    p.add_argument("--pool-tools", action="store_true",
                   help="run the tools on the worker pool instead of inline (adds thread hops)")
    p.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)


def run(args) -> int:
    if args.one is not None:
        run_one(args.one, args.pool_tools)
        return 0
    import re

    from agentcore.bench.core import measure

    sizes = [1000, 10000] if args.quick else [int(s) for s in args.sizes.split(",")]
    # CPU seconds beside wall: on a shared machine wall time includes waiting for a core
    print(f"{'agents':>8} {'steps':>8} {'wall s':>8} {'cpu s':>8} {'us/step':>8} "
          f"{'cpu us/step':>11} {'peak MB':>8} {'KB/agent':>8}")
    for n in sizes:
        cmd = [sys.executable, "-m", "agentcore.bench.agents", "--one", str(n)]
        if args.pool_tools:
            cmd.append("--pool-tools")
        wall, rss, out = measure(cmd)
        steps = int(re.search(r"steps=(\d+)", out).group(1))
        cpu = float(re.search(r"cpu_s=([0-9.]+)", out).group(1))
        ok = int(re.search(r"ok=(\d+)", out).group(1))
        if ok != n or steps != n * STEPS_PER_AGENT:
            print(f"agentcore bench agents: {n} agents: only {ok} answered right, {steps} steps",
                  file=sys.stderr)
            return 1
        print(f"{n:8d} {steps:8d} {wall:8.2f} {cpu:8.2f} {1e6 * wall / steps:8.1f} "
              f"{1e6 * cpu / steps:11.1f} {rss:8.1f} {1024 * rss / n:8.2f}", flush=True)
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="agentcore bench agents", description=__doc__.splitlines()[0])
    add_arguments(p)
    return run(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
