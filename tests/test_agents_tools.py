"""Tools and schemas without a model: argument schemas from hints, the turn schema's grammar, and
every way a tool call ends in an observation (result, raise, timeout, invalid arguments, batch)."""
from __future__ import annotations

import asyncio
import time
from typing import Literal, Optional

import pytest

from agentcore.agents import Agent, Tool, tool
from agentcore.agents.schema import arguments_schema, json_schema, turn_schema
from agentcore.agents.tools import current_call
from agentcore.llm.grammar import schema_to_gbnf, validate


def test_schema_from_hints():
    def f(n: int, x: float, s: str, flag: bool, xs: list[int], kind: Literal["a", "b"],
          maybe: Optional[str] = None, tags: tuple[str, ...] = ()):
        """Does f.

        More text."""

    sch = arguments_schema(f)
    assert sch["properties"] == {
        "n": {"type": "integer"}, "x": {"type": "number"}, "s": {"type": "string"},
        "flag": {"type": "boolean"}, "xs": {"type": "array", "items": {"type": "integer"}},
        "kind": {"enum": ["a", "b"]},
        "maybe": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        "tags": {"type": "array", "items": {"type": "string"}}}
    assert sch["required"] == ["n", "x", "s", "flag", "xs", "kind"]
    assert sch["additionalProperties"] is False
    t = Tool(f)
    assert t.description == "Does f."
    assert t.signature().startswith('f(n: int, x: float, s: str, flag: bool, xs: list[int], '
                                    'kind: "a"|"b", maybe: str|null')
    assert json_schema(int | None) == {"anyOf": [{"type": "integer"}, {"type": "null"}]}


def test_schema_needs_hints_and_named_parameters():
    class Local:
        pass

    def h(p: Local):
        pass

    with pytest.raises(TypeError, match="tool h: cannot resolve its type hints"):
        Tool(h)
    with pytest.raises(TypeError, match="parameter 'x' of tool f has no type hint"):
        Tool(lambda x: x, name="f")

    def g(*args: int):
        pass

    with pytest.raises(TypeError, match=r"\*args"):
        Tool(g)
    with pytest.raises(TypeError, match="no JSON schema"):
        json_schema(set)
    with pytest.raises(TypeError, match="batch tool"):
        Tool(lambda calls: calls, name="b", batch=True)


def test_turn_schema_admits_exactly_one_valid_call_or_the_answer():
    @tool
    def lookup(city: Literal["Paris", "Lyon"]) -> int:
        """Population."""

    @tool
    def add(a: int, b: int = 0) -> int:
        """Sum."""

    sch = turn_schema([lookup, add], None)
    assert not validate({"tool": "lookup", "args": {"city": "Paris"}}, sch)
    assert not validate({"tool": "add", "args": {"a": 1}}, sch)
    assert not validate({"answer": "two"}, sch)
    for bad in ({"tool": "lookup", "args": {"city": "Nice"}}, {"tool": "add", "args": {"a": "1"}},
                {"tool": "nope", "args": {}}, {"tool": "add", "args": {"a": 1, "c": 2}},
                {"answer": 3}, {"answer": "x", "tool": "add"}, {}):
        assert validate(bad, sch), bad
    gbnf = schema_to_gbnf(sch)  # the engine's converter compiles it (anyOf, const, enum)
    assert '"\\"lookup\\""' in gbnf and '"\\"Paris\\""' in gbnf
    out = turn_schema([add], {"type": "object", "properties": {"n": {"type": "integer"}},
                              "required": ["n"], "additionalProperties": False})
    assert not validate({"answer": {"n": 3}}, out) and validate({"answer": "3"}, out)
    schema_to_gbnf(out)
    assert turn_schema([], None) == {"type": "object", "properties": {
        "answer": {"type": "string", "minLength": 1}},  # a small model's "" is no answer
        "required": ["answer"], "additionalProperties": False}
    assert validate({"answer": ""}, sch)


def test_a_tool_call_always_ends_in_an_observation():
    @tool
    def div(a: int, b: int) -> float:
        """a / b."""
        return a / b

    @tool(timeout=0.2)
    def slow(s: float) -> str:
        """Sleeps."""
        time.sleep(s)
        return "woke"

    @tool(max_chars=10)
    def big(n: int) -> dict:
        """A big result."""
        return {"xs": list(range(n))}

    assert div.call({"a": 6, "b": 3}) == "2.0"
    assert div.call({"a": 1, "b": 0}) == "error: ZeroDivisionError: division by zero"
    assert div.call({"a": 1}) == "error: invalid arguments: $: missing required property 'b'"
    assert div.call({"a": 1, "b": "x"}).startswith("error: invalid arguments: $.b: expected type")
    assert slow.call({"s": 0.0}) == "woke"
    t0 = time.monotonic()
    assert slow.call({"s": 2.0}) == "error: TimeoutError: slow took longer than 0.2 s"
    assert time.monotonic() - t0 < 1.5
    assert big.call({"n": 100}) == '{"xs": [0,...'


def test_async_tools_and_their_timeout():
    @tool(timeout=0.1)
    async def fetch(url: str) -> str:
        """Gets a url."""
        await asyncio.sleep(0.0 if url == "fast" else 5)
        if url == "bad":
            raise ValueError("bad url")
        return url.upper()

    assert fetch.is_async
    assert asyncio.run(fetch.acall({"url": "fast"})) == "FAST"
    assert asyncio.run(fetch.acall({"url": "slow"})) == \
        "error: TimeoutError: fetch took longer than 0.1 s"
    assert fetch.call({"url": "fast"}) == "FAST"  # a sync caller may run it too


def test_batch_tool_is_one_call_for_many_requests():
    seen = []

    def lookup(calls):
        seen.append(len(calls))
        if any(c["city"] == "Boom" for c in calls):
            raise RuntimeError("db down")
        return [KeyError(c["city"]) if c["city"] == "Nice" else len(c["city"]) for c in calls]

    t = Tool(lookup, batch=True, params={"city": str}, description="Population.")
    assert t.call_many([{"city": "Paris"}, {"city": 3}, {"city": "Nice"}, {"city": "Lyon"}]) == \
        ["5", "error: invalid arguments: $.city: expected type string, got int",
         "error: KeyError: 'Nice'", "4"]
    assert seen == [3]  # the invalid call never reached the function
    assert t.call_many([{"city": "Boom"}, {"city": "Lyon"}]) == ["error: RuntimeError: db down"] * 2
    short = Tool(lambda calls: [1], name="short", batch=True, params={"x": int})
    assert short.call_many([{"x": 1}, {"x": 2}]) == [
        "error: ValueError: batch tool short returned 1 results for 2 calls"] * 2


def test_current_call_names_the_agent_and_turn():
    @tool
    def who() -> str:
        """Who calls."""
        c = current_call()
        return f"{c.agent}:{c.turn}" if c else "nobody"

    from agentcore.agents.tools import Call

    assert who.call({}) == "nobody"
    assert who.call({}, Call("k7", 2)) == "k7:2"
    assert current_call() is None


def test_pydantic_model_parameter():
    import pydantic  # the test extra installs it

    class Query(pydantic.BaseModel):
        city: Literal["Paris", "Lyon"]
        year: int = 2020

    def pop(q: Query) -> int:
        """Population in a year."""
        return {"Paris": 2, "Lyon": 1}[q.city] * q.year

    pop.__annotations__ = {"q": Query, "return": int}  # a local class: resolve it here
    pop = tool(pop)

    props = pop.parameters["properties"]["q"]
    assert props["properties"]["city"] == {"enum": ["Paris", "Lyon"], "type": "string"}
    assert pop.call({"q": {"city": "Lyon", "year": 3}}) == "3"
    schema_to_gbnf(turn_schema([pop], None))


def test_agent_prompt_lists_tools_briefly():
    @tool
    def add(a: int, b: int) -> int:
        """a + b."""

    agent = Agent("Do sums.", [add])
    prompt = agent.system_prompt()
    assert prompt.splitlines()[:3] == ["Do sums.", "Tools:", "- add(a: int, b: int): a + b."]
    assert '{"tool": "add", "args": {"a": ..., "b": ...}} calls a tool; {"answer": "..."}' in prompt
    assert len(prompt) < 300
    with pytest.raises(ValueError, match="unique"):
        Agent("x", [add, add])
    with pytest.raises(ValueError, match="max_turns"):
        Agent("x", [add], max_turns=0)


class Point:  # what a pydantic model offers a tool: its schema and a validator
    def __init__(self, x, y):
        self.x, self.y = x, y

    @classmethod
    def model_json_schema(cls):
        return {"title": "Point", "type": "object", "$defs": {"N": {"type": "integer"}},
                "properties": {"x": {"$ref": "#/$defs/N"}, "y": {"$ref": "#/$defs/N"}},
                "required": ["x", "y"]}

    @classmethod
    def model_validate(cls, d):
        return cls(**d)


def test_model_parameter_without_pydantic_installed():
    @tool
    def norm(p: Point) -> int:
        """Manhattan norm."""
        return abs(p.x) + abs(p.y)

    assert norm.parameters["properties"]["p"] == {
        "type": "object", "properties": {"x": {"type": "integer"}, "y": {"type": "integer"}},
        "required": ["x", "y"], "additionalProperties": False}
    assert norm.call({"p": {"x": 3, "y": -4}}) == "7"
    assert norm.call({"p": {"x": 3}}).startswith("error: invalid arguments: $.p: missing")
