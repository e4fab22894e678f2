"""bench agents: the pages task's tools on real SQLite, and every contender's loop running it to the right answers.

The contenders' loops run with scripted instant models (agentcore's InstantModel, LangGraph's
InstantChatModel, the SDK's InstantModel), and the anchors' real-model drivers against a
loopback OpenAI-compatible stub that answers as a perfect model would: this checks that they
send agentcore's per-turn schema as ``response_format`` and agentcore's messages, turn by turn.
"""
from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from agentcore.bench.agents_task import (MAX_TOKENS, MAX_TURNS, OBSERVATION, Task, messages_policy,
                                         task_policy)


@pytest.fixture(scope="module")
def task():
    return Task()


def test_pages_table_and_tools(task):
    rows = sqlite3.connect(task.db.path).execute("SELECT count(*), min(words) FROM pages").fetchone()
    assert rows[0] == len(task.db.rows) == 200 and rows[1] > 0
    search, read, compute = task.functions()
    pid, title, module, words = task.db.rows[17]
    assert search(title)[0] == {"id": pid, "title": title}
    assert read(pid) == {"id": pid, "title": title, "module": module, "words": words}
    with pytest.raises(KeyError):
        read(10_000)
    assert compute(words, "+", 3) == words + 3 and compute(1, "/", 4) == 0.25
    got = task.read_batch([{"id": pid}, {"id": 10_000}])
    assert got[0]["words"] == words and isinstance(got[1], KeyError)
    q, expected = task.questions(30)[17]
    assert title in q and expected == str(words + 1 + 17 % 9)


def agentcore_runs(task, n):
    from agentcore.agents import run_agents
    from agentcore.agents.fake import InstantModel

    qs = task.questions(n)
    runs = run_agents(task.agent(), [q for q, _ in qs],
                      engine=InstantModel(messages_policy(task_policy)))
    return qs, runs


def test_agentcore_runs_the_task(task):
    qs, runs = agentcore_runs(task, 10)
    for (q, expected), r in zip(qs, runs):
        assert r.state == "DONE" and str(r.answer) == expected
        assert [t["tool"] for t in r.tool_calls] == ["search", "read", "compute"]


def test_langgraph_graph_runs_the_task_with_agentcores_messages(task):
    from agentcore.bench.agents_langgraph import InstantChatModel, build_graph, parse_instant, run_graphs

    qs, runs = agentcore_runs(task, 10)
    agent = task.agent()
    graph = build_graph(InstantChatModel(policy=task_policy), task.tool_map(), MAX_TURNS,
                        parse=parse_instant)
    states = asyncio.run(run_graphs(graph, agent.system_prompt(), [q for q, _ in qs]))
    for (q, expected), st, r in zip(qs, states, runs):
        assert str(st["answer"]) == expected and "error" not in st
        assert [t.get("tool") for t in st["turns"]] == ["search", "read", "compute", None]
        msgs = [m.content for m in st["messages"]]
        assert msgs[:2] == [agent.system_prompt(), q]
        assert msgs[2::2] == [t["reply"] for t in r.turns]
        assert msgs[3::2] == [OBSERVATION + t["observation"] for t in r.tool_calls]


def test_sdk_loop_runs_the_task(task):
    from agentcore.bench.agents_sdk import InstantModel, build_agent, run_agents_sdk

    qs = task.questions(10)
    agent = task.agent()
    sdk_agent = build_agent(InstantModel(task_policy), agent.system_prompt(), agent.schema, 64)
    res = asyncio.run(run_agents_sdk(sdk_agent, task.tool_map(), [q for q, _ in qs], MAX_TURNS))
    for (q, expected), r in zip(qs, res):
        assert str(r["answer"]) == expected and "error" not in r
        assert [t.get("tool") for t in r["turns"]] == ["search", "read", "compute", None]


def test_max_turns_fails_an_agent_in_both_anchors(task):
    from agentcore.bench.agents_langgraph import InstantChatModel, build_graph, parse_instant, run_graphs
    from agentcore.bench.agents_sdk import InstantModel, build_agent, run_agents_sdk

    def searching(turn, last, question):  # never answers
        return {"tool": "search", "args": {"query": "x"}}
    agent = task.agent()
    graph = build_graph(InstantChatModel(policy=searching), task.tool_map(), 3, parse=parse_instant)
    st = asyncio.run(run_graphs(graph, agent.system_prompt(), ["q"]))[0]
    assert st["error"].startswith("max_turns") and len(st["turns"]) == 3
    sdk_agent = build_agent(InstantModel(searching), agent.system_prompt(), agent.schema, 64)
    r = asyncio.run(run_agents_sdk(sdk_agent, task.tool_map(), ["q"], 3))[0]
    assert r["error"].startswith("max_turns") and len(r["turns"]) == 3


@pytest.mark.parametrize("who", ["agentcore", "langgraph", "sdk"])
def test_overhead_cells_answer_right(who):
    from agentcore.bench.agents_cells import run_cell

    out = run_cell(f"overhead:{who}:10")
    assert out["correct"] == 10 and out["steps"] == 50 and out["tool_calls"] == 20


class PerfectModelServer(ThreadingHTTPServer):
    """A loopback /v1/chat/completions answering with the scripted policy; keeps every body."""

    def __init__(self):
        self.bodies: list[dict] = []
        lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with lock:
                    outer.bodies.append(body)
                msgs = body["messages"]
                decision = task_policy((len(msgs) - 2) // 2, msgs[-1]["content"], msgs[1]["content"])
                reply = json.dumps({
                    "id": "x", "object": "chat.completion", "created": 0, "model": "local",
                    "choices": [{"index": 0, "finish_reason": "stop", "message": {
                        "role": "assistant", "content": json.dumps(decision)}}],
                    "usage": {"prompt_tokens": 10 * len(msgs), "completion_tokens": 9,
                              "total_tokens": 10 * len(msgs) + 9,
                              "prompt_tokens_details": {"cached_tokens": 5}}}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

        super().__init__(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def stub():
    srv = PerfectModelServer()
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def check_bodies(bodies, agent, n):
    assert len(bodies) == 4 * n
    for b in bodies:
        fmt = b["response_format"]
        assert fmt["type"] == "json_schema" and fmt["json_schema"]["schema"] == agent.schema
        assert b["messages"][0] == {"role": "system", "content": agent.system_prompt()}
        assert b.get("max_tokens", b.get("max_completion_tokens")) == MAX_TOKENS
        assert b["temperature"] == 0.0


def test_langgraph_server_driver_sends_the_schema(task, stub):
    from agentcore.bench.agents_langgraph import build_graph, run_graphs, server_model

    agent = task.agent(batch_read=False)
    qs = task.questions(3)
    graph = build_graph(server_model(stub.url, agent.schema, MAX_TOKENS), task.tool_map(), MAX_TURNS)
    states = asyncio.run(run_graphs(graph, agent.system_prompt(), [q for q, _ in qs]))
    assert [str(s["answer"]) for s in states] == [e for _, e in qs]
    assert states[0]["turns"][1] == {"turn": 1, "prompt_tokens": 40, "completion_tokens": 9,
                                     "cached_tokens": 5, "tool": "read"}
    check_bodies(stub.bodies, agent, 3)


def test_sdk_server_driver_sends_the_schema(task, stub):
    from agentcore.bench.agents_sdk import build_agent, run_agents_sdk, server_model

    agent = task.agent(batch_read=False)
    qs = task.questions(3)
    sdk_agent = build_agent(server_model(stub.url), agent.system_prompt(), agent.schema, MAX_TOKENS)
    res = asyncio.run(run_agents_sdk(sdk_agent, task.tool_map(), [q for q, _ in qs], MAX_TURNS))
    assert [str(r["answer"]) for r in res] == [e for _, e in qs]
    assert res[0]["turns"][2]["prompt_tokens"] == 60 and res[0]["turns"][2]["cached_tokens"] == 5
    check_bodies(stub.bodies, agent, 3)
