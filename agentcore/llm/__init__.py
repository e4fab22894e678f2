"""The in-process LLM engine: every agent's request decoded in shared llama.cpp batches.

Importing this package is light; llama_cpp and numpy load when an :class:`Engine` starts.

A request's path, one module per job: ``engine`` (the :class:`Engine` callers use: submit,
generate, metrics, close) -> ``chat`` (chat template, shared head) -> ``request`` (Request,
Result) -> ``scheduler`` (the engine thread: admission, batch building, decode loop) with
``sequence`` (per-slot state), ``prefix`` (shared-prefix KV cache), ``batch`` (the token batch),
``sampling`` (greedy, seeded chains, ``grammar`` for JSON schemas) and ``metrics``; ``context``
holds the llama.cpp handles, ``bindings`` loads llama_cpp, ``model`` finds the GGUF, ``action``
plugs the engine into a swarm, ``workload`` is the benchmark's fixed requests. ``remote``
(with ``openai_api``) is the same interface over an OpenAI-compatible server.

>>> from agentcore.llm import Engine
>>> with Engine() as engine:                                  # doctest: +SKIP
...     fut = engine.submit([{"role": "user", "content": "Say hi"}], max_tokens=8)
...     print(fut.result().text)
"""
from __future__ import annotations

__all__ = [
    "Engine", "Result", "LLMError", "LLMAction", "llm_action", "CpuBudget", "default_budget",
    "resolve_model", "ModelNotFound", "ModelCorrupt", "RemoteEngine",
]

_LAZY = {
    "Engine": "agentcore.llm.engine",
    "Result": "agentcore.llm.request",
    "LLMError": "agentcore.llm.request",
    "LLMAction": "agentcore.llm.action",
    "llm_action": "agentcore.llm.action",
    "CpuBudget": "agentcore.cpu",
    "default_budget": "agentcore.cpu",
    "resolve_model": "agentcore.llm.model",
    "ModelNotFound": "agentcore.llm.model",
    "ModelCorrupt": "agentcore.llm.model",
    "RemoteEngine": "agentcore.llm.remote",
}


def __getattr__(name: str):
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'agentcore.llm' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(mod), name)
    globals()[name] = value
    return value
