"""A durable run of tool-using agents with the real model, run as a process by tests/test_agents.py.

    python tests/agents_job.py DB RUN_ID LOG N

N agents each add two numbers with the ``add`` tool and answer. Every execution of the tool
appends ``agent turn`` to LOG (an append-only record, so the test sees any call run twice).
"""
import sys
import time

LOG = None


def add(a: int, b: int) -> int:
    """a + b."""
    from agentcore.agents.tools import current_call

    time.sleep(0.05)  # a real tool takes a while: the kills land between calls and commits
    c = current_call()
    LOG.write(f"{c.agent} {c.turn}\n")
    return a + b


def agent():
    from agentcore.agents import Agent, tool

    return Agent("You add numbers with the add tool, then answer with the sum.", [tool(add)],
                 max_turns=4, max_tokens=32)


def questions(n: int) -> list[str]:
    return [f"What is {i} plus {2 * i + 7}?" for i in range(n)]


def main(db: str, run_id: str, log: str, n: str) -> None:
    global LOG
    from agentcore.agents import run_agents
    from agentcore.llm import Engine
    from agentcore.store import open_store

    LOG = open(log, "a", buffering=1)
    store = open_store(db, batch_ms=5)
    with Engine(n_slots=16, n_ctx_per_seq=512) as engine:
        runs = run_agents(agent(), questions(int(n)), engine=engine, store=store, run_id=run_id,
                          keys=[f"q{i:03d}" for i in range(int(n))])
    store.close()
    states = [r.state for r in runs]
    print(f"done={states.count('DONE')} failed={states.count('FAILED')} "
          f"resumed={sum(r.resumed for r in runs)}", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:5])
