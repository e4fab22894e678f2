"""The event loop agentcore runs on: uvloop when it is installed, else asyncio's own.

uvloop (libuv) cuts the crawl's CPU per fetch by about a tenth on the same aiohttp code. Set
``AGENTCORE_LOOP=asyncio`` to run on asyncio's loop anyway (to compare, or to debug).

>>> async def answer():
...     return 42
>>> run(answer())
42
"""
from __future__ import annotations

import asyncio
import os
from typing import Any, Callable, Coroutine, TypeVar

__all__ = ["loop_factory", "new_event_loop", "loop_name", "run"]

T = TypeVar("T")


def loop_factory(kind: str | None = None) -> Callable[[], asyncio.AbstractEventLoop]:
    """The function that makes a new loop of ``kind`` ("uvloop", "asyncio"; None: the
    ``AGENTCORE_LOOP`` environment variable, else uvloop when it imports, else asyncio)."""
    choice = (os.environ.get("AGENTCORE_LOOP", "") if kind is None else kind).strip().lower()
    if choice not in ("", "uvloop", "asyncio"):
        raise ValueError(f"loop {choice!r} (AGENTCORE_LOOP or kind): use 'uvloop', 'asyncio' "
                         "or leave it unset")
    if choice != "asyncio":
        try:
            import uvloop
        except ImportError:
            if choice == "uvloop":
                raise ImportError("AGENTCORE_LOOP=uvloop but uvloop is not installed: "
                                  "pip install uvloop") from None
        else:
            return uvloop.new_event_loop
    return asyncio.new_event_loop


def new_event_loop() -> asyncio.AbstractEventLoop:
    """A new loop of the kind :func:`loop_factory` picks (for a thread that runs its own)."""
    return loop_factory()()


def loop_name() -> str:
    """"uvloop" or "asyncio": the loop :func:`run` would use now."""
    return "asyncio" if loop_factory() is asyncio.new_event_loop else "uvloop"


def run(coro: Coroutine[Any, Any, T], *, loop: str | None = None,
        debug: bool | None = None) -> T:
    """``asyncio.run(coro)`` on the loop ``loop_factory(loop)`` picks."""
    with asyncio.Runner(debug=debug, loop_factory=loop_factory(loop)) as runner:
        return runner.run(coro)
