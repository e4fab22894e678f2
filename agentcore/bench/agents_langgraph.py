"""The LangGraph anchor of ``bench agents``: a StateGraph (model node <-> tool node) per agent, run concurrently.

The model node asks the chat model for one decision under the agent's per-turn schema
(``ChatOpenAI(base_url=llama-server).with_structured_output(schema, method="json_schema")``,
which sends it as ``response_format``), the tool node runs the chosen tool and appends its
observation, until the answer or ``max_turns``; every message is the one agentcore's agent
would build at the same turn. :class:`InstantChatModel` is the instant fake model (a
``BaseChatModel`` whose reply is the policy's decision) for the orchestration-overhead runs;
:func:`native_tools_run` is the record-only run of the prebuilt ReAct agent with ``tools=``.
"""
from __future__ import annotations

import asyncio
import json
import operator
from typing import Annotated, Any, Callable, TypedDict

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages

from .agents_task import OBSERVATION, reply_text, run_tool


class AgentState(TypedDict, total=False):
    messages: Annotated[list[BaseMessage], add_messages]
    turns: Annotated[list[dict], operator.add]
    decision: dict
    answer: Any
    error: str


class InstantChatModel(BaseChatModel):
    """A chat model that answers at once: ``policy(turn, last message, question)`` -> decision,
    returned as the JSON text a structured-output model would give."""

    policy: Callable

    @property
    def _llm_type(self) -> str:
        return "instant"

    def _reply(self, messages: list[BaseMessage]) -> ChatResult:
        decision = self.policy((len(messages) - 2) // 2, messages[-1].content, messages[1].content)
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=json.dumps(decision)))])

    def _generate(self, messages, stop=None, run_manager: CallbackManagerForLLMRun | None = None,
                  **kwargs) -> ChatResult:
        return self._reply(messages)

    async def _agenerate(self, messages, stop=None,
                         run_manager: AsyncCallbackManagerForLLMRun | None = None,
                         **kwargs) -> ChatResult:
        return self._reply(messages)


def parse_instant(out: AIMessage) -> tuple[dict | None, dict]:
    return json.loads(out.content), {"text": out.content}


def parse_structured(out: dict) -> tuple[dict | None, dict]:
    """``with_structured_output(include_raw=True)``'s answer: the decision and token counts."""
    raw = out.get("raw")
    u = getattr(raw, "usage_metadata", None) or {}
    details = u.get("input_token_details") or {}
    usage = {"prompt_tokens": u.get("input_tokens", 0), "completion_tokens": u.get("output_tokens", 0),
             "cached_tokens": details.get("cache_read", 0) or 0,
             "text": getattr(raw, "content", "") or ""}
    parsed = out.get("parsed")
    return (parsed if isinstance(parsed, dict) else None), usage


def build_graph(model, tools: dict[str, Callable], max_turns: int,
                parse: Callable = parse_structured):
    """The compiled agent graph: START -> think -> (act -> think)* -> END.

    ``model`` is a runnable taking messages (a structured-output ChatOpenAI, or
    :class:`InstantChatModel`), ``parse`` turns its answer into (decision, usage).
    """
    async def think(state: AgentState) -> dict:
        n = len(state.get("turns") or ())
        try:
            out = await model.ainvoke(state["messages"])
            decision, usage = parse(out)
        except Exception as exc:  # noqa: BLE001 - a failed request fails this agent only
            return {"error": f"model: {type(exc).__name__}: {str(exc)[:200]}"}
        if decision is None:
            return {"error": "model: the reply did not parse as a decision"}
        # the decision as compact JSON, as agentcore's agents keep it (the same conversations)
        usage.pop("text", "")
        text = reply_text(decision)
        turn = {"turn": n, **usage}
        if "answer" in decision:
            return {"answer": decision["answer"], "decision": decision,
                    "messages": [AIMessage(content=text)], "turns": [turn]}
        if decision.get("tool") not in tools:
            return {"error": f"not a declared tool: {decision!r}"[:200], "turns": [turn]}
        if n + 1 >= max_turns:
            return {"error": f"max_turns: no answer after {max_turns} model turns", "turns": [turn]}
        return {"decision": decision, "messages": [AIMessage(content=text)],
                "turns": [dict(turn, tool=decision["tool"])]}

    async def act(state: AgentState) -> dict:
        obs = run_tool(tools, state["decision"])
        return {"messages": [HumanMessage(content=OBSERVATION + obs)]}

    def route(state: AgentState) -> str:
        return END if ("error" in state or "answer" in state) else "act"

    g = StateGraph(AgentState)
    g.add_node("think", think)
    g.add_node("act", act)
    g.add_edge(START, "think")
    g.add_conditional_edges("think", route, {"act": "act", END: END})
    g.add_edge("act", "think")
    return g.compile()


def initial_state(system: str, question: str) -> AgentState:
    return {"messages": [SystemMessage(content=system), HumanMessage(content=question)], "turns": []}


async def run_graphs(graph, system: str, questions: list[str], recursion_limit: int = 25) -> list[dict]:
    """Every agent's graph at once (one asyncio task each); each final state as a dict."""
    cfg = {"recursion_limit": recursion_limit}

    async def one(q):
        try:
            return await graph.ainvoke(initial_state(system, q), cfg)
        except Exception as exc:  # noqa: BLE001
            return {"error": f"{type(exc).__name__}: {str(exc)[:200]}", "turns": []}
    return await asyncio.gather(*(one(q) for q in questions))


def server_model(url: str, schema: dict, max_tokens: int, connections: int = 128):
    """ChatOpenAI against llama-server, structured output under ``schema`` (raw kept for usage)."""
    import httpx
    from langchain_openai import ChatOpenAI

    client = httpx.AsyncClient(limits=httpx.Limits(max_connections=connections,
                                                   max_keepalive_connections=connections),
                               timeout=httpx.Timeout(3600.0))
    llm = ChatOpenAI(model="local", base_url=url + "/v1", api_key="none", temperature=0.0,
                     max_tokens=max_tokens, max_retries=0, timeout=3600, http_async_client=client)
    return llm.with_structured_output({"name": "decision", "schema": schema}, method="json_schema",
                                      include_raw=True)


def native_tools_run(url: str, instructions: str, functions, questions: list[str],
                     max_tokens: int, max_turns: int) -> dict:
    """For the record: the prebuilt ReAct agent with native ``tools=``; counts its tool calls."""
    from langchain_core.messages import ToolMessage
    from langchain_core.tools import StructuredTool
    from langchain_openai import ChatOpenAI
    from langgraph.prebuilt import create_react_agent

    llm = ChatOpenAI(model="local", base_url=url + "/v1", api_key="none", temperature=0.0,
                     max_tokens=max_tokens, max_retries=0, timeout=3600)
    agent = create_react_agent(llm, [StructuredTool.from_function(f) for f in functions],
                               prompt=instructions)

    async def go():
        async def one(q):
            try:
                return await agent.ainvoke({"messages": [HumanMessage(content=q)]},
                                           {"recursion_limit": 2 * max_turns + 1})
            except Exception as exc:  # noqa: BLE001 - the recursion limit, a server error
                return {"messages": [], "error": f"{type(exc).__name__}"}
        return await asyncio.gather(*(one(q) for q in questions))

    states = asyncio.run(go())
    calls = sum(len(getattr(m, "tool_calls", None) or []) for s in states for m in s["messages"]
                if isinstance(m, AIMessage))
    tool_msgs = sum(isinstance(m, ToolMessage) for s in states for m in s["messages"])
    completions = sum(isinstance(m, AIMessage) for s in states for m in s["messages"])
    return {"agents": len(questions), "tool_calls": calls, "tool_results": tool_msgs,
            "completions": completions, "errors": sum("error" in s for s in states)}
