"""The agent loop with an instant scripted model: turns, observations, budgets, failures, embedding
in a larger swarm, batch tools, and resuming from durable turns (no model needed)."""
from __future__ import annotations

import asyncio
from typing import Literal

import pytest

from agentcore import AgentSpec, State, Swarm, batch_action
from agentcore.agents import Agent, AgentRun, Tool, TurnRow, run_agents, tool
from agentcore.agents.fake import InstantModel
from agentcore.agents.memory import reply_text
from agentcore.llm.grammar import validate
from agentcore.store import open_store

POP = {"Paris": 2148000, "Lyon": 513000}
CALLS: list = []


@tool(inline=True)
def lookup(city: Literal["Paris", "Lyon"]) -> int:
    """Population of a city."""
    CALLS.append(city)
    return POP[city]


@tool
def add(a: int, b: int) -> int:
    """a + b."""
    return a + b


@tool
def boom(x: int) -> int:
    """Always raises."""
    raise ValueError(f"no such x: {x}")


def turn(msgs) -> int:
    return (len(msgs) - 2) // 2


def script(*decisions):
    """A policy replying with ``decisions[k]`` on turn k (a callable gets the messages)."""
    def policy(msgs):
        d = decisions[min(turn(msgs), len(decisions) - 1)]
        return d(msgs) if callable(d) else d
    return policy


def last_observation(msgs) -> str:
    return msgs[-1]["content"]


def test_tool_loop_records_every_turn(impl):
    CALLS.clear()
    agent = Agent("Answer.", [lookup, add], max_turns=5)
    policy = script({"tool": "lookup", "args": {"city": "Paris"}},
                    {"tool": "add", "args": {"a": 1, "b": 2}},
                    lambda m: {"answer": last_observation(m)})
    runs = run_agents(agent, [f"q{i}" for i in range(50)], engine=InstantModel(policy), kernels=impl)
    assert len(runs) == 50 and all(isinstance(r, AgentRun) for r in runs)
    r = runs[7]
    assert (r.key, r.state, r.answer, r.error) == ("7", "DONE", "result: 3", "")
    assert [t.get("tool") for t in r.turns] == ["lookup", "add", None]
    assert [t.get("observation") for t in r.tool_calls] == ["2148000", "3"]
    assert r.turns[0]["reply"] == '{"tool": "lookup", "args": {"city": "Paris"}}'
    assert CALLS == ["Paris"] * 50


def test_conversation_is_what_the_model_sees():
    seen = []

    def policy(msgs):
        seen.append([dict(m) for m in msgs])
        return {"tool": "add", "args": {"a": 2, "b": 2}} if turn(msgs) == 0 else {"answer": "4"}

    agent = Agent("Sum things.", [add])
    run_agents(agent, ["2+2?"], engine=InstantModel(policy))
    assert seen[0] == [{"role": "system", "content": agent.system_prompt()},
                       {"role": "user", "content": "2+2?"}]
    assert seen[1][2:] == [{"role": "assistant", "content": '{"tool": "add", "args": {"a": 2, "b": 2}}'},
                           {"role": "user", "content": "result: 4"}]


def test_a_raising_tool_is_an_observation_and_the_agent_ends():
    agent = Agent("Try.", [boom], max_turns=3)
    policy = script({"tool": "boom", "args": {"x": 3}}, lambda m: {"answer": last_observation(m)})
    (r,) = run_agents(agent, ["go"], engine=InstantModel(policy))
    assert r.state == "DONE"
    assert r.tool_calls[0]["observation"] == "error: ValueError: no such x: 3"
    assert r.answer == "result: error: ValueError: no such x: 3"


def test_invalid_arguments_are_an_observation_not_a_call():
    CALLS.clear()
    agent = Agent("Try.", [lookup], max_turns=3)  # a fake model can break the grammar's promise
    policy = script({"tool": "lookup", "args": {"city": "Nice"}}, {"answer": "gave up"})
    (r,) = run_agents(agent, ["go"], engine=InstantModel(policy))
    assert r.state == "DONE" and CALLS == []
    assert r.tool_calls[0]["observation"].startswith("error: invalid arguments: $.city")


def test_turn_budget_ends_an_agent_that_never_answers(impl):
    CALLS.clear()
    agent = Agent("Loop.", [lookup], max_turns=4)
    runs = run_agents(agent, ["a", "b"], engine=InstantModel(
        lambda m: {"tool": "lookup", "args": {"city": "Lyon"}}), kernels=impl)
    for r in runs:
        assert r.state == "FAILED" and r.error == "max_turns: no answer after 4 model turns"
        assert len(r.tool_calls) == 3  # the 4th turn's call is not run: no turn is left for it
    assert len(CALLS) == 6


def test_model_errors_and_bad_answers_fail_the_agent_with_a_reason():
    def policy(msgs):
        if msgs[1]["content"] == "crash":
            raise RuntimeError("out of cheese")
        if msgs[1]["content"] == "nonsense":
            return {"what": 1}
        return {"answer": {"n": "three"}}

    agent = Agent("x", [add], output_schema={"type": "object", "properties": {
        "n": {"type": "integer"}}, "required": ["n"], "additionalProperties": False})
    a, b, c = run_agents(agent, ["crash", "nonsense", "typed"], engine=InstantModel(policy))
    assert (a.state, a.error) == ("FAILED", "model: RuntimeError: out of cheese")
    assert b.state == "FAILED" and "neither a call of a declared tool nor an answer" in b.error
    assert c.state == "FAILED" and c.error.startswith("answer does not match output_schema")


def test_async_and_batch_tools_in_the_swarm():
    batches = []

    def count_all(calls):
        batches.append(len(calls))
        return [c["word"].count("a") for c in calls]

    counter = Tool(count_all, name="count", batch=True, params={"word": str}, description="a's")

    @tool(concurrency=4, timeout=0.5)
    async def wait(s: float) -> str:
        """Waits."""
        await asyncio.sleep(s)
        return "waited"

    def policy(msgs):
        n, q = turn(msgs), msgs[1]["content"]
        if n == 0:
            return {"tool": "count", "args": {"word": q}}
        if n == 1:
            return {"tool": "wait", "args": {"s": 5.0 if q == "slow" else 0.01}}
        return {"answer": " | ".join(m["content"] for m in msgs[3::2])}

    agent = Agent("x", [counter, wait])
    words = ["banana", "slow"] + [f"a{'a' * (i % 3)}" for i in range(198)]
    runs = run_agents(agent, words, engine=InstantModel(policy))
    assert runs[0].answer == "result: 3 | result: waited"
    assert runs[1].answer == "result: 0 | result: error: TimeoutError: wait took longer than 0.5 s"
    assert all(r.state == "DONE" for r in runs)
    assert sum(batches) == 200 and len(batches) < 20  # one function call per batch of agents


def test_agent_states_inside_a_larger_swarm(impl):
    agent = Agent("Pick.", [lookup], max_turns=3)
    engine = InstantModel(script({"tool": "lookup", "args": {"city": "Lyon"}},
                                 lambda m: {"answer": last_observation(m)}))

    def prepare(batch):
        batch.set("question", [f"about {c}" for c in batch.get("city")])

    def finish(batch):
        batch.set("report", [f"{c}: {a}" for c, a in zip(batch.get("city"),
                                                          batch.get("links_answer"))])

    states = [State("PREPARE", batch_action(prepare, reads=["city"], writes=["question"]),
                    on_ok="LINKS_START"),
              *agent.states(engine, prefix="LINKS_", on_done="FINISH", input="question"),
              State("FINISH", batch_action(finish, reads=["city", "links_answer"],
                                           writes=["report"]), on_ok="DONE")]
    sw = Swarm(AgentSpec(states, inputs=["city"]), rows={"city": ["x", "y"]}, kernels=impl)
    assert sw.run().counts["DONE"] == 2
    assert sw.data["report"][[0, 1]] == ["x: result: 513000", "y: result: 513000"]
    assert [t["tool"] for t in sw.data["links_turns"][0][:1]] == ["lookup"]


def test_durable_turns_resume_without_repeating_a_finished_call(tmp_path):
    CALLS.clear()
    agent = Agent("Answer.", [lookup, add], max_turns=5)
    policy = script({"tool": "lookup", "args": {"city": "Paris"}},
                    {"tool": "lookup", "args": {"city": "Lyon"}},
                    lambda m: {"answer": last_observation(m)})
    with open_store(str(tmp_path / "a.db"), batch_ms=1) as store:
        store.create_run(run_id="r")
        # as if killed mid-conversation: agent "1" has its first call durable, "2" its answer
        first = {"tool": "lookup", "args": {"city": "Paris"}}
        store.write("r", TurnRow(agent="1", turn=0, tool="lookup", args=first["args"],
                                 observation="2148000", reply=reply_text(first)),
                    TurnRow(agent="2", turn=0, reply=reply_text({"answer": "early"}),
                            answer="early"))
        store.flush()
        model = InstantModel(policy)
        runs = run_agents(agent, ["a", "b", "c"], engine=model, store=store, run_id="r")
        assert [r.state for r in runs] == ["DONE"] * 3
        assert runs[1].turns[0]["durable"] and [t.get("tool") for t in runs[1].turns] == \
            ["lookup", "lookup", None]
        assert runs[2].answer == "early" and len(runs[2].turns) == 1
        # agent 0 called Paris and Lyon; agent 1 only Lyon (its Paris call was durable); 2 nothing
        assert sorted(CALLS) == ["Lyon", "Lyon", "Paris"]
        assert model.requests == 3 + 2
        rows = store.rows(TurnRow, "r")
        assert [(t.agent, t.turn) for t in rows] == [("0", 0), ("0", 1), ("0", 2), ("1", 0),
                                                     ("1", 1), ("1", 2), ("2", 0)]
        CALLS.clear()
        again = run_agents(agent, ["a", "b", "c"], engine=model, store=store, run_id="r")
        assert CALLS == [] and model.requests == 5 and all(r.resumed for r in again)
        assert [r.answer for r in again] == [r.answer for r in runs]
        assert [len(r.turns) for r in again] == [3, 3, 1]


def test_durable_agents_need_a_key():
    with pytest.raises(ValueError, match="key="):
        Agent("x", [add]).states(None, durable=True)


class SessionModel(InstantModel):
    """An instant model with the engine's session interface, recording what the agents send."""

    def __init__(self, policy):
        super().__init__(policy)
        self.sessions: dict = {}  # session key -> the messages of each of its requests
        self.ended: list = []

    def submit(self, messages=None, session=None, **kwargs):
        self.sessions.setdefault(session, []).append(list(messages))
        fut = super().submit(messages, **kwargs)
        fut.result().text = '{"answer":"raw"}' if fut.result().value == {"answer": "raw"} else ""
        return fut

    def end_session(self, key):
        self.ended.append(key)


def test_agents_continue_one_session_each_and_end_it():
    policy = script({"tool": "add", "args": {"a": 1, "b": 2}}, {"answer": "raw"})
    model = SessionModel(policy)
    loop = SessionModel(lambda m: {"tool": "add", "args": {"a": 1, "b": 1}})
    runs = run_agents(Agent("Answer.", [add], max_turns=3), ["x", "y"], engine=model)  # on by default
    looped = run_agents(Agent("Answer.", [add], max_turns=2), ["z"], engine=loop)
    plain = SessionModel(policy)
    run_agents(Agent("Answer.", [add], max_turns=3, keep_kv=False), ["x"], engine=plain)
    assert list(plain.sessions) == [None] and not plain.ended
    assert [r.state for r in runs] == ["DONE", "DONE"] and looped[0].state == "FAILED"
    assert len(model.sessions) == 2 and None not in model.sessions
    for turns in model.sessions.values():  # each turn's chat extends the one before
        assert len(turns) == 2 and turns[1][:len(turns[0])] == turns[0]
    assert sorted(model.ended, key=str) == sorted(model.sessions, key=str)  # ended on the answer
    assert loop.ended == list(loop.sessions)  # and on the turn budget
    # the conversation keeps the decision as compact JSON, not the model's text (here without
    # spaces): the session holds the last prompt's KV, so the raw text would buy nothing
    assert runs[0].turns[-1]["reply"] == reply_text({"answer": "raw"}) != '{"answer":"raw"}'


class SchemaModel(InstantModel):
    """An instant model recording the JSON schema of each request."""

    def __init__(self, policy):
        super().__init__(policy)
        self.schemas: list = []

    def submit(self, messages=None, json_schema=None, **kwargs):
        self.schemas.append(json_schema)
        return super().submit(messages, **kwargs)


def test_tool_choice_required_forces_a_call_on_the_first_turn_only():
    agent = Agent("Answer.", [add, lookup], max_turns=3, tool_choice="required")
    model = SchemaModel(script({"tool": "add", "args": {"a": 1, "b": 2}},
                               lambda m: {"answer": last_observation(m)}))
    runs = run_agents(agent, ["x", "y"], engine=model)
    assert [r.state for r in runs] == ["DONE", "DONE"] and runs[0].answer == "result: 3"
    assert model.schemas == [agent.first_schema] * 2 + [agent.schema] * 2
    call = {"tool": "add", "args": {"a": 1, "b": 2}}
    assert validate(call, agent.first_schema) == [] == validate(call, agent.schema)
    assert validate({"answer": "3"}, agent.first_schema) and not validate({"answer": "3"}, agent.schema)
    assert Agent("Answer.", [add]).first_schema is None  # "auto": every turn the same schema
    for bad in ({"tool_choice": "any"}, {"tool_choice": "required", "max_turns": 1}):
        with pytest.raises(ValueError, match="tool_choice"):
            Agent("Answer.", [add], **bad)
    with pytest.raises(ValueError, match="at least one tool"):
        Agent("Answer.", [], tool_choice="required")


def test_final_turn_answer_makes_the_last_turn_answer():
    """By default a call on the last turn ends the agent with max_turns; with
    final_turn="answer" that turn's grammar admits only the answer (under output_schema)."""
    calls = script(*[{"tool": "add", "args": {"a": 1, "b": 2}}] * 3)
    plain = run_agents(Agent("Answer.", [add], max_turns=3), ["x"], engine=InstantModel(calls))
    assert plain[0].state == "FAILED" and plain[0].error == "max_turns: no answer after 3 model turns"
    agent = Agent("Answer.", [add], max_turns=3, final_turn="answer",
                  output_schema={"type": "integer"})
    # the model keeps calling until the grammar leaves it only the answer
    model = SchemaModel(lambda m: ({"answer": 3} if len(m) >= 6 else
                                   {"tool": "add", "args": {"a": 1, "b": 2}}))
    runs = run_agents(agent, ["x", "y"], engine=model)
    assert [r.state for r in runs] == ["DONE", "DONE"] and runs[0].answer == 3
    assert [len(r.tool_calls) for r in runs] == [2, 2]
    assert model.schemas == [agent.schema] * 4 + [agent.last_schema] * 2
    assert validate({"answer": 3}, agent.last_schema) == []
    assert validate({"tool": "add", "args": {"a": 1, "b": 2}}, agent.last_schema)
    assert validate({"answer": "3"}, agent.last_schema)  # output_schema holds on the last turn
    assert Agent("Answer.", [add]).last_schema is None
    both = Agent("Answer.", [add], max_turns=2, tool_choice="required", final_turn="answer")
    assert both.first_schema is not None and both.last_schema is not None
    with pytest.raises(ValueError, match="final_turn"):
        Agent("Answer.", [add], final_turn="always")
