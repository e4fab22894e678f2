"""Tool-using agents with the real bundled model (SmolLM2-135M) through one batched engine: real
tool calls on local data (a SQLite table) that all parse and validate, a raising tool seen as an
observation, and kill -9 + resume mid-conversation that loses no turn and repeats no finished call.

The tool-loop swarm is ``AGENTCORE_TEST_AGENTS`` agents (default 32); the parse-and-validate
test runs ``AGENTCORE_TEST_CALL_AGENTS`` (default 1,000: one forced call and one more turn each;
counted at 1,000: 52k prompt tokens computed, 37k generated, 3.2k decode calls, so about 4-5 min
at the engine's batched rates of ~450 prompt and ~250 generated tokens/s on 2 quiet cores).
"""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from typing import Literal

import pytest

from agentcore.agents import Agent, Tool, TurnRow, run_agents, tool
from agentcore.llm.engine import Engine
from agentcore.store import open_store

HERE = os.path.dirname(__file__)
N_AGENTS = int(os.environ.get("AGENTCORE_TEST_AGENTS", "32"))
CITIES = {"Paris": 2148000, "Lyon": 513000, "Nice": 342000, "Lille": 233000,
          "Nantes": 320000, "Toulouse": 493000}
City = Literal["Paris", "Lyon", "Nice", "Lille", "Nantes", "Toulouse"]
MISSING = "Nice"  # the table has no row for it: the tool raises


@pytest.fixture(scope="module")
def engine():
    # 1 GiB of parked sessions at most: the 1,000-agent test parks ~3 MB per agent between its turns
    eng = Engine(n_slots=64, n_ctx_per_seq=512, session_cache_bytes=1 << 30)
    try:
        yield eng
    finally:
        eng.close()


def city_table() -> sqlite3.Connection:
    db = sqlite3.connect(":memory:", check_same_thread=False)
    db.execute("CREATE TABLE city (name TEXT PRIMARY KEY, population INTEGER)")
    db.executemany("INSERT INTO city VALUES (?, ?)",
                   [(k, v) for k, v in CITIES.items() if k != MISSING])
    return db


def city_lookup(db: sqlite3.Connection, batches: list | None = None) -> Tool:
    """The batch-aware lookup: one SQL query answers every agent's call in a batch; a missing row
    raises (the model sees an error observation). ``batches`` collects each batch's size."""
    def lookup(calls):
        if batches is not None:
            batches.append(len(calls))
        names = sorted({c["city"] for c in calls})
        rows = dict(db.execute(f"SELECT name, population FROM city WHERE name IN "
                               f"({', '.join('?' * len(names))})", names).fetchall())
        return [rows[c["city"]] if c["city"] in rows else LookupError(f"no row for {c['city']}")
                for c in calls]

    return Tool(lookup, batch=True, params={"city": City}, description="Population of a city.")


def questions(n: int) -> list[str]:
    names = list(CITIES)
    out = []
    for i in range(n):
        a, b = names[i % 6], names[(i // 6 + i + 1) % 6]
        out.append(f"What is the population of {a}?" if i % 2 == 0 else
                   f"What is the population of {a} plus the population of {b}?")
    return out


def test_agents_call_tools_on_local_data_and_every_call_validates(engine):
    batches = []
    lookup_tool = city_lookup(city_table(), batches)

    @tool
    def add(a: int, b: int) -> int:
        """a + b."""
        return a + b

    # final_turn="answer": the 4th turn may only answer. Without it, whether the 135M model
    # answers on its own is a property of the CPU's float arithmetic (greedy decoding picks
    # other tokens on another machine): on one it answered several of 32, on the next none
    agent = Agent("You answer questions about French cities. Look facts up with the tools.",
                  [lookup_tool, add], max_turns=4, max_tokens=40, final_turn="answer")
    before = engine.metrics()
    t0 = time.monotonic()
    runs = run_agents(agent, questions(N_AGENTS), engine=engine)
    wall = time.monotonic() - t0
    after = engine.metrics()
    calls = [t for r in runs for t in r.tool_calls]
    print(f"\n{N_AGENTS} agents in {wall:.1f} s: {Counter(r.state for r in runs)}, "
          f"{len(calls)} tool calls {Counter(t['tool'] for t in calls)}, "
          f"{after['requests_done'] - before['requests_done']} model turns, "
          f"{len(batches)} lookup batches")
    assert len(runs) == N_AGENTS
    # every agent ended by answering or by its turn budget: no reply failed to parse or validate
    assert {r.error for r in runs if r.state == "FAILED"} <= {
        "max_turns: no answer after 4 model turns"}
    assert after["requests_failed"] == before["requests_failed"]
    # (a 135M model often repeats a lookup instead of answering; its last turn answers)
    done = [r for r in runs if r.state == "DONE"]
    assert len(done) >= N_AGENTS // 8 and all(isinstance(r.answer, str) and r.answer
                                              for r in done)
    assert len(calls) >= N_AGENTS  # the model really uses the tools
    for t in calls:
        tl = {"lookup": lookup_tool, "add": add}[t["tool"]]
        assert tl.check(t["args"]) is None, t  # arguments valid under the tool's own schema
        obs = t["observation"]
        if t["tool"] == "add":
            assert obs == str(t["args"]["a"] + t["args"]["b"])
        elif obs.startswith("error:"):
            assert obs == f"error: LookupError: no row for {MISSING}"
        else:
            assert obs == str(CITIES[t["args"]["city"]])
    # the raising tool was an observation, and agents that saw it still ended normally
    saw_error = [r for r in runs if any(t["observation"].startswith("error:") for t in r.tool_calls)]
    assert saw_error and all(r.state in ("DONE", "FAILED") for r in saw_error)
    assert len(batches) < sum(t["tool"] == "lookup" for t in calls)  # batched: fewer calls


# ---- a thousand agents: every tool call parses and validates ------------------------------------

N_CALLS = int(os.environ.get("AGENTCORE_TEST_CALL_AGENTS", "1000"))


def test_a_thousand_agents_tool_calls_all_parse_and_validate(engine):
    """Each agent's first turn must call the tool (tool_choice="required"); the second answers
    with a number or calls again (then its turn budget ends it): every reply is checked."""
    lookup_tool = city_lookup(city_table())
    agent = Agent("You answer questions about French cities.", [lookup_tool], max_turns=2,
                  max_tokens=32, output_schema={"type": "integer"}, tool_choice="required")
    names = list(CITIES)
    before = engine.metrics()
    runs = run_agents(agent, [f"What is the population of {names[i % 6]}?" for i in range(N_CALLS)],
                      engine=engine)
    after = engine.metrics()
    delta = {k: after[k] - before[k] for k in ("requests_done", "requests_failed", "prompt_tokens",
                                                "prompt_tokens_from_session", "generated_tokens",
                                                "decode_calls")}
    print(f"\n{N_CALLS} agents: {Counter(r.state for r in runs)}, {delta}")
    assert len(runs) == N_CALLS and after["requests_failed"] == before["requests_failed"]
    assert {r.error for r in runs if r.state == "FAILED"} <= {"max_turns: no answer after 2 model turns"}
    for r in runs:
        call = r.turns[0]  # the forced first turn: a call of the tool, with valid arguments
        assert call["tool"] == "lookup" and lookup_tool.check(call["args"]) is None, call
        city = call["args"]["city"]
        assert call["observation"] == (f"error: LookupError: no row for {MISSING}" if city == MISSING
                                       else str(CITIES[city]))
        if r.state == "DONE":  # the answer validated under output_schema
            assert len(r.turns) == 2 and isinstance(r.answer, int) and r.turns[1]["answer"] == r.answer
    assert delta["requests_done"] == 2 * N_CALLS  # two model turns per agent, none lost
    if agent.keep_kv:  # each second turn continued its agent's session: only its new tokens
        assert delta["prompt_tokens_from_session"] > 0


# ---- kill -9 mid-conversation, then resume ------------------------------------------------------

JOB = os.path.join(HERE, "agents_job.py")
N_JOB = 12


def start_job(db, run_id, log):
    return subprocess.Popen([sys.executable, JOB, db, run_id, log, str(N_JOB)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def durable_turns(db, run_id) -> dict:
    with open_store(db) as store:
        return {(t.agent, t.turn): t for t in store.rows(TurnRow, run_id)}


def finished(db, run_id) -> set:
    with open_store(db) as store:
        return set(store.finished_agents(run_id))


def kill_after(db, run_id, log, at_least: int) -> dict:
    """Run the job; kill -9 it once ``at_least`` turns are durable; return the durable turns."""
    proc = start_job(db, run_id, log)
    deadline = time.monotonic() + 600  # a correctness bound: the job must get there at all
    try:
        while len(durable_turns(db, run_id)) < at_least:
            assert proc.poll() is None, f"the job ended before the kill: {proc.communicate()}"
            assert time.monotonic() < deadline, "the job made no progress"
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    return durable_turns(db, run_id)


def executions(log) -> list[tuple[str, int]]:
    with open(log) as f:
        return [(a, int(t)) for a, t in (line.split() for line in f if line.strip())]


def test_kill_9_mid_conversation_then_resume_loses_no_turn_and_repeats_no_call(tmp_path):
    db, log, run_id = str(tmp_path / "agents.db"), str(tmp_path / "calls.log"), "agents-1"
    open(log, "w").close()
    seen: dict = {}
    marks = []  # (executions logged at a kill, the turns durable then)
    mid_conversation = 0
    for at_least in (6, 20):
        turns = kill_after(db, run_id, log, at_least)
        ends = finished(db, run_id)
        assert set(turns) >= set(seen)  # a durable turn is never lost ...
        assert all(turns[k] == seen[k] for k in seen)  # ... nor rewritten differently
        mid_conversation += len({a for a, _ in turns} - ends)
        marks.append((len(executions(log)), set(turns)))
        seen = turns
    assert mid_conversation > 0, "no kill landed mid-conversation; kill earlier"
    proc = start_job(db, run_id, log)
    out, err = proc.communicate(timeout=900)
    assert proc.returncode == 0, err[-2000:]
    ran = executions(log)
    for at, durable in marks:  # no call whose turn was durable at a kill ran again after it
        again = set(ran[at:]) & durable
        assert not again, sorted(again)[:5]
    final = durable_turns(db, run_id)
    assert all(final[k] == seen[k] for k in seen)
    with open_store(db) as store:
        records = store.finished_agents(run_id)
    keys = [f"q{i:03d}" for i in range(N_JOB)]
    assert sorted(records) == keys
    by_agent: dict = {}
    for (a, n), t in sorted(final.items()):
        by_agent.setdefault(a, []).append(t)
    for k in keys:
        ts = by_agent.get(k, [])
        assert [t.turn for t in ts] == list(range(len(ts)))  # no turn missing in between
        for t in ts:
            if t.tool:
                assert t.observation == str(t.args["a"] + t.args["b"])
        if records[k].state == "DONE":
            assert ts and not ts[-1].tool and ts[-1].answer == records[k].values["answer"]
        else:
            assert records[k].reason == "max_turns: no answer after 4 model turns"
    assert ran  # the tools really ran
