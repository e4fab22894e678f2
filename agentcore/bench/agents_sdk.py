"""The OpenAI Agents SDK anchor of ``bench agents``: an Agent whose output_type is the turn's decision.

Each turn is one ``Runner.run`` of an :class:`agents.Agent` with ``output_type`` set to the
decision schema (sent to llama-server as ``response_format`` json_schema through
``OpenAIChatCompletionsModel``), tracing disabled; the loop around it runs the chosen tool and
feeds the observation back as the next user message, up to ``max_turns`` (the SDK's own tool
loop needs native tool calls, which llama-server does not give this model). Every message is
the one agentcore's agent would build at the same turn. :class:`InstantModel` is the instant
fake ``Model`` for the orchestration-overhead runs.
"""
from __future__ import annotations

import asyncio
import json
from typing import Any, AsyncIterator, Callable

from agents import (Agent, AgentOutputSchemaBase, ModelBehaviorError, ModelResponse, RunConfig,
                    Runner, Usage, set_tracing_disabled)
from agents.models.interface import Model
from openai.types.responses import ResponseOutputMessage, ResponseOutputText

from .agents_task import OBSERVATION, reply_text, run_tool

set_tracing_disabled(True)


class DecisionSchema(AgentOutputSchemaBase):
    """The per-turn decision schema as the SDK's output type (a JSON schema, parsed as JSON)."""

    def __init__(self, schema: dict):
        self.schema = schema

    def is_plain_text(self) -> bool:
        return False

    def name(self) -> str:
        return "decision"

    def json_schema(self) -> dict[str, Any]:
        return self.schema

    def is_strict_json_schema(self) -> bool:
        return False

    def validate_json(self, json_str: str) -> Any:
        try:
            value = json.loads(json_str)
        except json.JSONDecodeError as exc:
            raise ModelBehaviorError(f"the reply is not JSON: {exc}") from None
        if not isinstance(value, dict):
            raise ModelBehaviorError("the reply is not a JSON object")
        return value


class InstantModel(Model):
    """A ``Model`` that answers at once with ``policy(turn, last message, question)``."""

    def __init__(self, policy: Callable):
        self.policy = policy

    async def get_response(self, system_instructions, input, model_settings, tools, output_schema,
                           handoffs, tracing, *, previous_response_id=None, conversation_id=None,
                           prompt=None) -> ModelResponse:
        decision = self.policy((len(input) - 1) // 2, input[-1]["content"], input[0]["content"])
        msg = ResponseOutputMessage(id="instant", type="message", role="assistant",
                                    status="completed",
                                    content=[ResponseOutputText(type="output_text", annotations=[],
                                                                text=json.dumps(decision))])
        return ModelResponse(output=[msg], usage=Usage(requests=1), response_id=None)

    def stream_response(self, *args, **kwargs) -> AsyncIterator:
        raise NotImplementedError("the instant model does not stream")


def server_model(url: str, connections: int = 128):
    """``OpenAIChatCompletionsModel`` on an ``AsyncOpenAI`` client pointed at llama-server."""
    import httpx
    from agents import OpenAIChatCompletionsModel
    from openai import AsyncOpenAI, DefaultAsyncHttpxClient

    http = DefaultAsyncHttpxClient(limits=httpx.Limits(max_connections=connections,
                                                       max_keepalive_connections=connections))
    client = AsyncOpenAI(base_url=url + "/v1", api_key="none", max_retries=0, timeout=3600,
                         http_client=http)
    return OpenAIChatCompletionsModel(model="local", openai_client=client)


def build_agent(model, system: str, schema: dict, max_tokens: int) -> Agent:
    from agents import ModelSettings

    return Agent(name="pages", instructions=system, model=model,
                 output_type=DecisionSchema(schema),
                 model_settings=ModelSettings(temperature=0.0, max_tokens=max_tokens))


async def run_one(agent: Agent, tools: dict, question: str, max_turns: int,
                  config: RunConfig) -> dict:
    """One agent's conversation: a Runner.run per turn, the tool run between turns."""
    items: list[dict] = [{"role": "user", "content": question}]
    turns: list[dict] = []
    for n in range(max_turns):
        try:
            res = await Runner.run(agent, items, max_turns=1, run_config=config)
        except Exception as exc:  # noqa: BLE001 - a failed request fails this agent only
            return {"turns": turns, "error": f"model: {type(exc).__name__}: {str(exc)[:200]}"}
        decision = res.final_output
        u = res.context_wrapper.usage
        details = getattr(u, "input_tokens_details", None)
        turns.append({"turn": n, "prompt_tokens": u.input_tokens,
                      "completion_tokens": u.output_tokens,
                      "cached_tokens": getattr(details, "cached_tokens", 0) or 0})
        if "answer" in decision:
            return {"turns": turns, "answer": decision["answer"]}
        if decision.get("tool") not in tools:
            return {"turns": turns, "error": f"not a declared tool: {decision!r}"[:200]}
        if n + 1 >= max_turns:
            break
        turns[-1]["tool"] = decision["tool"]
        obs = run_tool(tools, decision)
        # the decision as compact JSON, as agentcore's agents keep it (the same conversations)
        items = items + [{"role": "assistant", "content": reply_text(decision)},
                         {"role": "user", "content": OBSERVATION + obs}]
    return {"turns": turns, "error": f"max_turns: no answer after {max_turns} model turns"}


async def run_agents_sdk(agent: Agent, tools: dict, questions: list[str], max_turns: int,
                         share_agent: bool = False) -> list[dict]:
    """Every agent's conversation at once. Each gets its own ``agent.clone()``, as the SDK advises
    for concurrent runs: with one shared Agent, every turn's tool-configuration check walks all
    runs in flight on it (quadratic: 1.7 ms CPU per step at 100 agents, 8 ms at 1,000)."""
    config = RunConfig(tracing_disabled=True)
    return await asyncio.gather(*(run_one(agent if share_agent else agent.clone(), tools, q,
                                          max_turns, config) for q in questions))
