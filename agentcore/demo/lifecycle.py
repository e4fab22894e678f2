"""`agentcore swarm`: N agents through the 6-state lifecycle, with live progress and a summary."""
from __future__ import annotations

import sys
import time

from agentcore.demo.display import Progress
from agentcore.spec import AgentSpec, State
from agentcore.actions import batch_action
from agentcore.swarm import Swarm

STATES = ["FETCH", "PARSE", "ANALYZE", "INFER", "STORE"]


def run_swarm_demo(n_agents: int, batch: int) -> int:
    """Every action checks a little real bookkeeping on its batch: agent ids sum per state."""
    totals = {s: 0 for s in STATES}

    def work(b):
        totals[b.state] += len(b)

    act = batch_action(work, max_batch=max(1, batch), parallel=1)
    spec = AgentSpec([State(s, act, on_ok=n) for s, n in zip(STATES, STATES[1:] + ["DONE"])])
    swarm = Swarm(spec, n_agents)
    progress = Progress(title=f"agentcore swarm: {n_agents:,d} agents")
    with progress:
        res = swarm.run(progress=progress.update, progress_interval=0.05)
    swarm.close()
    ok = all(v == n_agents for v in totals.values()) and res.done == n_agents
    rows = [("agents", f"{n_agents:,d}"), ("DONE", f"{res.done:,d}"), ("FAILED", f"{res.failed:,d}"),
            ("transitions", f"{5 * n_agents:,d}"), ("ticks", f"{res.ticks:,d}"),
            ("wall", f"{res.wall_s * 1e3:.1f} ms"),
            ("per transition", f"{res.wall_s * 1e9 / max(1, 5 * n_agents):.1f} ns")]
    progress.summary("Summary", rows)
    if not ok:
        print(f"error: batches saw {totals}", file=sys.stderr)
        return 1
    return 0
