"""What each agent state does: start (or reload) the conversation, route a reply, run a tool, answer.

Every function here works on a whole batch of agents (or, for async tools, one agent on the
loop) and reads and writes only the agent's declared columns (:class:`Columns`).
"""
from __future__ import annotations

from dataclasses import dataclass

from agentcore.actions import ActionError, async_action, batch_action, store_action
from agentcore.llm.grammar import validate

from . import memory
from .memory import add_turn, reply_text, row_of_turn
from .tools import Call

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .agent import Agent
    from .tools import Tool

ANSWERED = "answered"  # START's outcome for an agent whose answer was already durable


@dataclass(frozen=True)
class Columns:
    """The payload columns of one agent's states (``prefix`` keeps two agents of a swarm apart)."""

    input: str
    key: str | None
    messages: str
    turns: str
    reply: str
    answer: str

    @classmethod
    def of(cls, prefix: str, input: str, key: str | None) -> "Columns":
        p = prefix.lower()
        return cls(input, key, f"{p}messages", f"{p}turns", f"{p}reply", f"{p}answer")


class AgentSteps:
    """The actions of one agent's states, bound to its tools, prompt and columns."""

    def __init__(self, agent: "Agent", cols: Columns, prefix: str, durable: bool, engine=None):
        self.agent = agent
        # An engine with sessions keeps each agent's KV between its turns (agentcore.llm.sessions)
        has = callable(getattr(engine, "end_session", None))
        self.engine = engine if has and getattr(agent, "keep_kv", False) else None
        self.cols = cols
        self.prefix = prefix
        self.durable = durable
        self.system = agent.system_prompt()
        self.outcome_of = {t.name: f"call_{t.name}" for t in agent.tools}
        self.exhausted = f"max_turns: no answer after {agent.max_turns} model turns"

    def key_of(self, swarm, aid: int) -> str:
        return self.prefix + str(swarm.data[self.cols.key][aid])

    # ---- START: a fresh conversation, or the durable turns of a resumed one -------------------

    def start(self, batch) -> None:
        c, sw = self.cols, batch.swarm
        inputs = batch.get(c.input)
        loaded: dict = {}
        if self.durable:
            keys = [self.prefix + str(k) for k in batch.get(c.key)]
            loaded = memory.load_turns(sw.store, sw.run_id, keys)
        msgs, turns, answers = [], [], []
        for j, aid in enumerate(batch.ids):
            m = memory.start(self.system, inputs[j])
            ts = loaded.get(self.key_of(sw, aid), []) if loaded else []
            for t in ts:
                add_turn(m, t)
            msgs.append(m)
            turns.append(ts)
            done = bool(ts) and "answer" in ts[-1]
            answers.append(ts[-1]["answer"] if done else None)
            if done:
                batch.set_outcome(j, ANSWERED)
        batch.set(c.messages, msgs)
        batch.set(c.turns, turns)
        batch.set(c.answer, answers)

    def start_action(self):
        c = self.cols
        reads = [c.input] + ([c.key] if self.durable else [])
        # reloading reads the store: off the swarm's thread; a fresh start is cheap bookkeeping
        return batch_action(self.start, reads=reads, writes=[c.messages, c.turns, c.answer],
                            inline=not self.durable, max_batch=500, name="agent_start")

    # ---- THINK: one request per agent, routed by its reply ------------------------------------

    def reply_of(self, res) -> str:
        """The assistant message kept in the conversation: the decision as compact JSON, with or
        without the session. A session keeps the KV of its last *prompt* (the engine recomputes
        the reply, see agentcore.llm.sessions), and this turn's prompt is a prefix of the next
        whatever the reply's text, so the raw text would buy nothing; and with the 135M model the
        raw text (spacing, key order as generated) made the real 32-agent tool test answer 0 of
        32 where compact JSON answers several."""
        return reply_text(res.value)

    def is_last(self, n: int) -> bool:
        """Whether the turn after ``n`` finished tool turns is the last of ``max_turns``."""
        return n + 1 >= self.agent.max_turns

    def session_of(self, swarm, aid: int) -> tuple:
        return (id(swarm), self.prefix, aid)

    def build(self, swarm, aid: int) -> dict:
        req = {"messages": swarm.data[self.cols.messages][aid]}
        n, agent = len(swarm.data[self.cols.turns][aid]), self.agent
        if agent.first_schema is not None and n == 0:
            req["json_schema"] = agent.first_schema  # tool_choice="required"
        elif agent.last_schema is not None and self.is_last(n):
            req["json_schema"] = agent.last_schema  # final_turn="answer"
        if self.engine is not None:
            req["session"] = self.session_of(swarm, aid)
        return req

    def end(self, swarm, aid: int) -> None:
        """The agent's conversation is over: its KV in the engine can go."""
        if self.engine is not None:
            self.engine.end_session(self.session_of(swarm, aid))

    def route(self, result) -> str | None:
        v = result.value
        if isinstance(v, dict):
            if "tool" in v and v["tool"] in self.outcome_of:
                return self.outcome_of[v["tool"]]
            if "answer" in v:
                return None
        raise ValueError(f"the reply is neither a call of a declared tool nor an answer: "
                         f"{(result.text or repr(v))[:120]!r}")

    # ---- TOOL: run the call, append the turn --------------------------------------------------

    def pending(self, swarm, aid: int) -> dict | None:
        """The turn of the agent's reply; None when it was the last model turn of its budget."""
        res = swarm.data[self.cols.reply][aid]
        n = len(swarm.data[self.cols.turns][aid])
        if self.is_last(n):
            return None
        v = res.value
        return {"turn": n, "reply": self.reply_of(res), "tool": v["tool"], "args": v.get("args", {}),
                "prompt_tokens": res.prompt_tokens, "completion_tokens": res.completion_tokens}

    def call_of(self, swarm, aid: int, turn: dict) -> Call:
        return Call(self.key_of(swarm, aid) if self.cols.key else str(aid), turn["turn"])

    def record(self, swarm, aid: int, turn: dict) -> None:
        d = swarm.data
        d[self.cols.turns][aid].append(turn)
        add_turn(d[self.cols.messages][aid], turn)

    def tool_action(self, tool: "Tool"):
        c = self.cols
        cols = {"reads": [c.reply, c.turns, c.messages] + ([c.key] if c.key else []),
                "writes": [c.turns, c.messages],
                "name": f"tool_{tool.name}"}
        if tool.is_async:
            async def run_one(swarm, aid):
                turn = self.pending(swarm, aid)
                if turn is None:
                    self.end(swarm, aid)
                    raise ActionError(self.exhausted)
                turn["observation"] = await tool.acall(turn["args"], self.call_of(swarm, aid, turn))
                self.record(swarm, aid, turn)
            return async_action(run_one, concurrency=tool.concurrency, **cols)

        def run_batch(batch):
            sw = batch.swarm
            todo = []
            for j, aid in enumerate(batch.ids):
                turn = self.pending(sw, aid)
                if turn is None:
                    self.end(sw, aid)
                    batch.fail(j, self.exhausted)
                else:
                    todo.append((aid, turn))
            if tool.batch:  # one call for the whole batch
                obs = tool.call_many([t["args"] for _, t in todo])
            else:
                obs = [tool.call(t["args"], self.call_of(sw, aid, t)) for aid, t in todo]
            for (aid, turn), o in zip(todo, obs):
                turn["observation"] = o
                self.record(sw, aid, turn)
        return batch_action(run_batch, max_batch=tool.max_batch if tool.batch else 32,
                            parallel=tool.concurrency, inline=tool.inline, **cols)

    # ---- ANSWER -------------------------------------------------------------------------------

    def answer(self, batch) -> None:
        c, sw = self.cols, batch.swarm
        schema = self.agent.output_schema
        answers = []
        for j, aid in enumerate(batch.ids):
            res = sw.data[c.reply][aid]
            value = res.value["answer"]
            errs = validate(value, schema) if schema else []
            if errs:
                batch.fail(j, "answer does not match output_schema: " + "; ".join(errs[:3]))
            self.end(sw, aid)
            turn = {"turn": len(sw.data[c.turns][aid]), "reply": self.reply_of(res),
                    "answer": value, "prompt_tokens": res.prompt_tokens,
                    "completion_tokens": res.completion_tokens}
            self.record(sw, aid, turn)
            answers.append(value)
        batch.set(c.answer, answers)

    def answer_action(self):
        c = self.cols
        return batch_action(self.answer, reads=[c.reply, c.turns, c.messages],
                            writes=[c.answer, c.turns, c.messages], inline=True, name="agent_answer")

    # ---- SAVE: the last turn, durable before the next THINK -----------------------------------

    def save_action(self, name: str):
        c = self.cols

        def rows(swarm, aid):
            return [row_of_turn(self.key_of(swarm, aid), swarm.data[c.turns][aid][-1])]

        def stored(swarm, aid):
            swarm.data[c.turns][aid][-1]["durable"] = True
        return store_action(rows, reads=[c.key, c.turns], on_stored=stored, name=name)
