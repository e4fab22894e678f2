"""The pieces of ``bench llm --json-schema``: its workloads, the validity check, the contenders on a few requests, the table.

Timing is never checked here: the bench measures it. llama-server's contender runs in
tests/test_remote_llama_server.py's server tests through the same wrapper.
"""
from __future__ import annotations

import json

import pytest

from agentcore.bench import llm_json
from agentcore.llm.grammar import validate


@pytest.fixture(scope="module")
def engine():
    from agentcore.llm.engine import Engine

    with Engine(n_slots=4, n_threads=2) as eng:
        yield eng


def test_workloads_take_the_demos_schema_and_the_agents_turn_schema():
    from agentcore.bench.agents_task import overhead_agent
    from agentcore.demo.config import DEMO_TASK

    schema, reqs, max_tokens = llm_json.demo_workload(3)
    assert schema == DEMO_TASK.schema and max_tokens == DEMO_TASK.max_tokens and len(reqs) == 3
    assert reqs[0][0] == {"role": "system", "content": DEMO_TASK.system_prompt}
    assert len({m[1]["content"] for m in reqs}) == 3  # distinct excerpts
    schema, reqs, max_tokens = llm_json.tool_workload(3)
    agent = overhead_agent()
    assert schema == agent.schema and max_tokens == agent.max_tokens
    assert reqs[1][0]["content"] == agent.system_prompt() and reqs[1][1]["content"].endswith("Lyon?")


def test_validity_is_parse_then_schema():
    schema, _, _ = llm_json.demo_workload(1)
    assert llm_json.valid(json.dumps({"category": "networking", "summary": "Sockets and HTTP clients."}),
                          schema)
    assert not llm_json.valid('{"category": "networking", "summary": "short"}', schema)  # minLength 16
    assert not llm_json.valid('{"category": "networking", "summary": "Sockets and HTTP', schema)  # cut off
    assert not llm_json.valid("", schema)
    tool, _, _ = llm_json.tool_workload(1)
    assert llm_json.valid('{"tool": "lookup", "args": {"city": "Lyon"}}', tool)
    assert not llm_json.valid('{"tool": "lookup", "args": {"city": "Rome"}}', tool)


def test_agentcore_contender_answers_valid_json_under_both_schemas(engine):
    for name in ("demo", "tool"):
        schema, reqs, max_tokens = llm_json.WORKLOADS[name](3)
        res = llm_json.run_agentcore(engine, reqs, schema, 2, max_tokens)
        r = llm_json.row("agentcore", name, schema, 2, res)
        assert r["requests"] == 3 and r["generated"] > 0 and r["req_per_s"] > 0
        # what the engine marks ok is exactly what the bench counts valid
        ok = [t for t in res["texts"] if llm_json.valid(t, schema)]
        assert r["valid"] == len(ok) == 3 - len(res["errors"])
        for text in ok:
            assert validate(json.loads(text), schema) == []


def test_sequential_contender_builds_a_grammar_from_each_schema():
    from agentcore.llm.model import resolve_model

    for name in ("demo", "tool"):
        schema, reqs, _ = llm_json.WORKLOADS[name](1)
        res = llm_json.run_sequential(resolve_model(), reqs, schema, 16, 2)
        assert len(res["texts"]) == 1 and res["generated"] > 0
        assert res["texts"][0].lstrip().startswith("{")  # the grammar held (it may be cut off)


def test_table_and_ratio_lines():
    def r(contender, schema, c, rps):
        return {"contender": contender, "schema": schema, "concurrency": c, "requests": 128, "valid": 128,
                "wall_s": 128 / rps, "req_per_s": rps, "gen_tok_per_s": 20 * rps, "generated": 2560,
                "errors": []}

    rows = [r("sequential llama-cpp-python", "demo", 1, 0.5), r("agentcore", "tool", 64, 4.0),
            r("llama-server", "tool", 64, 2.0), r("agentcore", "demo", 64, 3.4), r("llama-server", "demo", 64, 2.0),
            r("agentcore", "demo", 256, 3.0), r("llama-server", "demo", 256, 2.5)]
    lines = llm_json.ratios(rows)
    assert lines[0] == ("agentcore / llama-server, JSON schema, 64 in flight: 1.70x "
                        "(demo schema; bar 1.6x: met)")
    assert "agentcore / llama-server, JSON schema (demo), 256 in flight: 1.20x" in lines
    assert "agentcore / llama-server, JSON schema (tool), 64 in flight: 2.00x" in lines
    assert "agentcore (64 in flight) / sequential llama-cpp-python, JSON schema (demo): 6.80x" in lines
    table = llm_json.table(rows).splitlines()
    assert table[0].split() == ["contender", "schema", "in", "flight", "requests/s", "gen", "tok/s", "valid"]
    assert "128/128" in table[1] and len(table) == len(rows) + 1
