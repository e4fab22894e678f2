"""LLM agents as swarm rows: tools from plain functions, a grammar-forced tool loop, durable turns.

>>> from agentcore.agents import Agent, run_agents, tool
>>> @tool
... def lookup(city: str) -> int:
...     '''Population of a city.'''
...     return {"Paris": 2148000}.get(city, 0)
>>> agent = Agent("Answer questions about cities.", [lookup], max_turns=4)
>>> runs = run_agents(agent, ["How many people live in Paris?"])     # doctest: +SKIP
>>> runs[0].state, runs[0].tool_calls[0]["args"]                    # doctest: +SKIP
('DONE', {'city': 'Paris'})
"""
from .agent import Agent
from .memory import TurnRow
from .run import AgentRun, agent_spec, run_agents
from .tools import Tool, tool

__all__ = ["Agent", "Tool", "tool", "run_agents", "AgentRun", "agent_spec", "TurnRow"]
