"""An agent's memory: its conversation built from its turns, and the durable row of each turn.

A turn is one model reply and, for a tool call, the tool's observation. The conversation the
model sees is always ``[system, user input] + [assistant reply, user observation] per turn``, so
the turns alone rebuild it: after ``kill -9`` an agent's entry loads its durable turns and goes
on from the last one (a call whose observation is durable is never run again).
"""
from __future__ import annotations

import json
from typing import Any

from agentcore.store import col, table

OBSERVATION = "result: "  # how an observation is put to the model (SmolLM2 has no tool role)


@table("agent_turns", key=("agent", "turn"))
class TurnRow:
    """One durable turn of one agent; ``agent`` is the agent's key (prefixed by its states)."""

    agent: str = col("text")
    turn: int = col("int", 0)
    tool: str = col("text", "")           # "" for the final answer
    args: dict | None = col("json")
    observation: str = col("text", "")
    answer: Any = col("json")
    reply: str = col("text", "")          # the model's reply as it generated it (JSON)
    prompt_tokens: int = col("int", 0)
    completion_tokens: int = col("int", 0)


def reply_text(decision: dict) -> str:
    """The assistant message of a decision: compact JSON, the same on every rebuild."""
    return json.dumps(decision, ensure_ascii=False, separators=(", ", ": "))


def start(system: str, user: str) -> list[dict]:
    return [{"role": "system", "content": system}, {"role": "user", "content": str(user)}]


def add_turn(messages: list[dict], turn: dict) -> None:
    """Append one turn's messages (the reply; the observation of a tool call)."""
    messages.append({"role": "assistant", "content": turn["reply"]})
    if turn.get("tool"):
        messages.append({"role": "user", "content": OBSERVATION + turn["observation"]})


def turn_of_row(r: TurnRow) -> dict:
    t = {"turn": r.turn, "reply": r.reply, "prompt_tokens": r.prompt_tokens,
         "completion_tokens": r.completion_tokens, "durable": True}
    if r.tool:
        t.update(tool=r.tool, args=r.args, observation=r.observation)
    else:
        t["answer"] = r.answer
    return t


def row_of_turn(agent: str, t: dict) -> TurnRow:
    return TurnRow(agent=agent, turn=t["turn"], tool=t.get("tool", ""), args=t.get("args"),
                   observation=t.get("observation", ""), answer=t.get("answer"),
                   reply=t["reply"], prompt_tokens=t.get("prompt_tokens", 0),
                   completion_tokens=t.get("completion_tokens", 0))


def load_turns(store, run_id: str, agents: list[str], chunk: int = 500) -> dict[str, list[dict]]:
    """{agent key: its durable turns in order} for ``agents`` (one query per ``chunk`` keys)."""
    out: dict[str, list[dict]] = {}
    for lo in range(0, len(agents), chunk):
        keys = agents[lo:lo + chunk]
        marks = ", ".join("?" * len(keys))
        for r in store.select(TurnRow, run_id, f'"agent" IN ({marks})', keys,
                              order_by='"agent", "turn"'):
            out.setdefault(r.agent, []).append(turn_of_row(r))
    return out
