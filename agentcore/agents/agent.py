"""The tool-using agent: instructions, tools and budget, compiled to states of a swarm.

Each agent of the swarm walks (with ``prefix`` before every state name)::

    START -> THINK -> (TOOL_<name> [-> SAVE_TURN] -> THINK)* -> ANSWER [-> SAVE_ANSWER] -> on_done

THINK is one engine request per agent under the turn schema (one call of a declared tool with
valid arguments, or the answer); every live agent's turn is decoded in the engine's shared
batches. A model error, an answer outside ``output_schema``, or a tool call on the last turn of
``max_turns`` leads to ``on_fail`` with the reason. With ``durable=True`` (a swarm with
``store=``) each turn is written before the next THINK (SAVE_* states) and START reloads them.

>>> from agentcore import AgentSpec
>>> from agentcore.agents import Agent, tool
>>> @tool
... def add(a: int, b: int) -> int:
...     '''a + b.'''
...     return a + b
>>> agent = Agent("Answer with arithmetic.", [add], max_turns=4)
>>> states = agent.states(engine=None, prefix="CALC_", on_done="DONE", input="question")
>>> [s.name for s in states]
['CALC_START', 'CALC_THINK', 'CALC_TOOL_ADD', 'CALC_ANSWER']
>>> AgentSpec(states, inputs=["question"]).compile().columns
('question', 'calc_messages', 'calc_turns', 'calc_answer', 'calc_reply')
"""
from __future__ import annotations

from typing import Callable, Iterable

from agentcore.spec import FAILED, State

from .schema import answer_schema, turn_schema
from .steps import ANSWERED, AgentSteps, Columns
from .tools import Tool, as_tools


class Agent:
    """An LLM agent that calls ``tools`` until it answers, at most ``max_turns`` model turns.

    ``output_schema`` (a JSON schema) constrains the final answer (default: a string). Each turn
    generates at most ``max_tokens``; ``temperature=0`` (greedy) makes a rerun repeat each reply.
    ``keep_kv`` (default on) keeps each agent's KV in the engine between its turns
    (``submit(session=)``): a turn computes its last reply and its new tokens only, and its output
    is token-identical to a run without it (the real 32-agent tool test: the same turns with
    52% fewer prompt tokens computed and 39% fewer decode calls).
    ``tool_choice="required"`` makes the first turn call a tool (its grammar admits only calls);
    later turns may answer, as the OpenAI Agents SDK's ``tool_choice="required"`` with
    ``reset_tool_choice``. ``final_turn="answer"`` makes the last turn of ``max_turns`` answer
    (its grammar admits only the answer), where by default a call there ends the agent with
    ``max_turns`` (what LangGraph's recursion limit and the SDK's ``max_turns`` do).
    """

    def __init__(self, instructions: str, tools: Iterable[Tool | Callable] = (), *,
                 output_schema: dict | None = None, max_turns: int = 8, max_tokens: int = 64,
                 temperature: float = 0.0, seed: int | None = None, name: str = "agent",
                 keep_kv: bool = True, tool_choice: str = "auto", final_turn: str = "auto"):
        if max_turns < 1:
            raise ValueError(f"max_turns={max_turns} must be >= 1")
        if tool_choice not in ("auto", "required"):
            raise ValueError(f"tool_choice={tool_choice!r}: use 'auto' or 'required'")
        if final_turn not in ("auto", "answer"):
            raise ValueError(f"final_turn={final_turn!r}: use 'auto' or 'answer'")
        self.instructions = instructions
        self.tools = as_tools(tools)
        self.output_schema = output_schema
        self.max_turns = max_turns
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.seed = seed
        self.name = name
        self.keep_kv = keep_kv  # each agent's turns continue one engine session (agentcore.llm.sessions)
        self.schema = turn_schema(self.tools, output_schema)
        # the first turn's schema when it differs from every other turn's (None: it does not)
        self.first_schema = None
        if tool_choice == "required":
            if not self.tools:
                raise ValueError("tool_choice='required' needs at least one tool")
            if max_turns < 2:
                raise ValueError("tool_choice='required' needs max_turns >= 2: the turn after "
                                 "the forced call is the first that may answer")
            self.first_schema = turn_schema(self.tools, None, answer=False)
        self.tool_choice = tool_choice
        # the last turn's schema when final_turn="answer" (None: the same as every other turn's)
        self.last_schema = answer_schema(output_schema) if final_turn == "answer" else None
        self.final_turn = final_turn

    def system_prompt(self) -> str:
        """Instructions, the tool list and the reply format: short, since every agent's
        conversation starts with it (the engine computes it once and shares it)."""
        lines = [self.instructions.strip()]
        answer = _placeholder(self.output_schema or {"type": "string"})
        if self.tools:
            lines.append("Tools:")
            lines += [f"- {t.signature()}" for t in self.tools]
            t0 = self.tools[0]
            props = t0.parameters["properties"]
            args = ", ".join(f'"{n}": {_placeholder(s)}' for n, s in props.items())
            lines.append(f'Reply with one JSON object: {{"tool": "{t0.name}", "args": {{{args}}}}} '
                         f'calls a tool; {{"answer": {answer}}} when you know the answer.')
        else:
            lines.append(f'Reply with one JSON object: {{"answer": {answer}}}.')
        return "\n".join(lines)

    def columns(self, prefix: str = "", input: str = "input", key: str | None = None) -> Columns:
        """The payload columns the states of ``prefix`` use (``.answer``, ``.turns``, ...)."""
        return Columns.of(prefix, input, key)

    def states(self, engine, *, prefix: str = "", on_done: str = "DONE", on_fail: str = FAILED,
               input: str = "input", key: str | None = None, durable: bool = False,
               capacity: int | None = None) -> list[State]:
        """The agent as states of a larger spec; other states lead to ``prefix + "START"``.

        ``input`` names the column holding each agent's task (the first user message). With
        ``durable=True`` the swarm needs ``store=`` / ``run_id=``, and ``key`` names a column with
        each agent's stable key (turns are stored under ``prefix + key``). ``capacity`` bounds
        THINK requests in flight (default: 8 x the engine's slots).
        """
        from agentcore.llm.action import llm_action

        if durable and key is None:
            raise ValueError("durable agents need key=: the column that names each agent stably "
                             "(its turns are stored under it)")
        cols = Columns.of(prefix, input, key)
        steps = AgentSteps(self, cols, prefix, durable, engine)
        p = prefix
        cap = capacity if capacity is not None else 8 * getattr(engine, "n_slots", 64)
        think = llm_action(engine, steps.build, capacity=cap, name=f"{p.lower()}think",
                           result_column=cols.reply, outcome=steps.route,
                           json_schema=self.schema, max_tokens=self.max_tokens,
                           temperature=self.temperature, seed=self.seed)
        # llm_action declares no columns; the THINK state declares them
        after_tool = p + "SAVE_TURN" if durable else p + "THINK"
        states = [
            State(p + "START", steps.start_action(), on_ok=p + "THINK", on_error=on_fail,
                  outcomes={ANSWERED: on_done}),
            State(p + "THINK", think, on_ok=p + "ANSWER", on_error=on_fail,
                  outcomes={f"call_{t.name}": f"{p}TOOL_{t.name.upper()}" for t in self.tools},
                  reads=[cols.messages, cols.turns], writes=[cols.reply]),
            *[State(f"{p}TOOL_{t.name.upper()}", steps.tool_action(t), on_ok=after_tool,
                    on_error=on_fail) for t in self.tools],
            State(p + "ANSWER", steps.answer_action(),
                  on_ok=p + "SAVE_ANSWER" if durable else on_done, on_error=on_fail),
        ]
        if durable:
            retry = {"retries": 2, "backoff": 0.5}
            states += [State(p + "SAVE_TURN", steps.save_action(f"{p.lower()}save_turn"),
                             on_ok=p + "THINK", on_error=on_fail, **retry),
                       State(p + "SAVE_ANSWER", steps.save_action(f"{p.lower()}save_answer"),
                             on_ok=on_done, on_error=on_fail, **retry)]
        return states


def _placeholder(schema: dict) -> str:
    # a tiny model copies the example's shape: a quoted "..." where a string goes
    return '"..."' if schema.get("type") == "string" else "..."
