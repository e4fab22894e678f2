"""The demo app: a local web of 500 sites crawled, analysed, summarised and stored by one swarm.

``cli`` (flags and the live run), ``run`` (one run end to end), ``config`` (the demo's LLM task),
``display`` (the live view), ``report`` (the HTML report), ``lifecycle`` (`agentcore swarm`).
"""
from agentcore.demo.cli import DEFAULT_DB, DEFAULT_REPORT, add_arguments, run

__all__ = ["add_arguments", "run", "DEFAULT_DB", "DEFAULT_REPORT"]
