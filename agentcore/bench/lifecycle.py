"""One timed run of the anchors' workload: N agents through the 6-state no-op lifecycle.

Run as ``python -m agentcore.bench.lifecycle N [--pool]``; prints one line in the anchors'
format, so the bench command can run agentcore, tokio and asyncio the same way.
"""
import sys
import time

from agentcore import AgentSpec, State, Swarm, batch_action

STATES = ["FETCH", "PARSE", "ANALYZE", "INFER", "STORE"]


def lifecycle_spec(inline: bool = True) -> AgentSpec:
    """FETCH -> PARSE -> ANALYZE -> INFER -> STORE -> DONE, each action a no-op on its batch."""
    noop = batch_action(lambda batch: None, inline=inline, name="noop")
    return AgentSpec([State(s, noop, on_ok=n) for s, n in zip(STATES, STATES[1:] + ["DONE"])])


def run_once(n: int, inline: bool = True) -> tuple[float, int]:
    """Wall seconds for spawning ``n`` agents and running them all to DONE; and DONE count."""
    import agentcore.kernels.step  # noqa: F401  (load the compiled core before the clock starts)

    spec = lifecycle_spec(inline)
    spec.compile()
    t0 = time.perf_counter()
    swarm = Swarm(spec, n)
    res = swarm.run()
    wall = time.perf_counter() - t0
    swarm.close()
    return wall, res.done


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    n = int(argv[0]) if argv else 10_000
    wall, done = run_once(n, inline="--pool" not in argv)
    if done != n:
        print(f"error: only {done} of {n} agents reached DONE", file=sys.stderr)
        return 1
    print(f"agents={n} transitions={5 * n} wall_s={wall:.6f} "
          f"ns_per_transition={wall * 1e9 / (5 * n):.1f} check={done}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
