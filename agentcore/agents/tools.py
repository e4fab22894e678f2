"""Tools: plain Python functions an agent may call, with their argument schema and safe execution.

>>> from typing import Literal
>>> @tool
... def lookup(city: Literal["Paris", "Lyon"]) -> int:
...     '''Population of a city.'''
...     return {"Paris": 2148000, "Lyon": 513000}[city]
>>> lookup.parameters["properties"]
{'city': {'enum': ['Paris', 'Lyon']}}
>>> lookup.call({"city": "Lyon"}), lookup.call({"city": "Nice"})
('513000', "error: invalid arguments: $.city: 'Nice' not in ['Paris', 'Lyon']")

Whatever a tool does, it ends as an observation for the model (its result as text, or
``error: Type: text`` when it raised, timed out or got invalid arguments); nothing a tool does
fails the agent or the swarm.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import inspect
import json
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from agentcore.llm.grammar import validate

from .schema import arguments_schema, describe, hints_of, is_model

MAX_OBSERVATION = 400  # characters of a result shown to the model: each one is prompt tokens


@dataclass(frozen=True)
class Call:
    """Which agent's call a tool is running: its key (or id) and turn. See :func:`current_call`."""

    agent: str
    turn: int


_CURRENT: contextvars.ContextVar[Call | None] = contextvars.ContextVar("agent_call", default=None)


def current_call() -> Call | None:
    """Inside a (non-batch) tool: the agent and turn it runs for; None elsewhere."""
    return _CURRENT.get()


class Tool:
    """A function the model may call.

    ``description`` defaults to the docstring's first paragraph, the argument schema to the
    function's type hints (``params={"city": str}`` gives it for a ``batch`` tool, whose function
    takes a list of argument dicts and returns one result per dict: one call for many agents).
    ``concurrency`` bounds calls (or batch calls) running at once; ``timeout`` (seconds) turns a
    slow call into an error observation. Sync tools run on the swarm's worker threads (on its own
    thread with ``inline=True``, for trivial ones), async ones on its asyncio loop.
    """

    def __init__(self, fn: Callable, *, name: str | None = None, description: str | None = None,
                 params: dict | None = None, concurrency: int = 16, timeout: float | None = None,
                 batch: bool = False, max_batch: int = 256, inline: bool = False,
                 max_chars: int = MAX_OBSERVATION):
        if batch and params is None:
            raise TypeError(f"batch tool {getattr(fn, '__name__', fn)!r} takes a list of argument "
                            "dicts: give their types with params={'name': type, ...}")
        if concurrency < 1 or max_batch < 1:
            raise ValueError("concurrency and max_batch must be >= 1")
        if timeout is not None and timeout <= 0:
            raise ValueError(f"timeout={timeout} must be > 0 seconds (or None)")
        self.fn = fn
        self.name = name or fn.__name__
        if not self.name.isidentifier():
            raise ValueError(f"tool name {self.name!r} must be an identifier (letters, digits, _)")
        self.description = description if description is not None else _first_paragraph(fn)
        self.parameters = arguments_schema(fn, params, self.name)
        hints = params if params is not None else hints_of(fn, self.name)
        self._models = {n: h for n, h in hints.items() if is_model(h)}
        self.is_async = inspect.iscoroutinefunction(fn)
        if batch and self.is_async:
            raise TypeError(f"batch tool {self.name!r} must be a plain (sync) function")
        self.batch = batch
        self.concurrency = concurrency
        self.timeout = timeout
        self.max_batch = max_batch
        self.inline = inline
        self.max_chars = max_chars

    def __repr__(self):
        return f"Tool({self.name})"

    def signature(self) -> str:
        """One line for the system prompt: ``lookup(city: str): Population of a city.``"""
        props = self.parameters["properties"]
        args = ", ".join(f"{n}: {describe(s)}" for n, s in props.items())
        return f"{self.name}({args})" + (f": {self.description}" if self.description else "")

    # ---- arguments and results ---------------------------------------------------------------

    def check(self, args: Any) -> str | None:
        """None when ``args`` are valid for this tool, else an error observation."""
        errs = validate(args, self.parameters)
        return "error: invalid arguments: " + "; ".join(errs[:3]) if errs else None

    def kwargs(self, args: dict) -> dict:
        """``args`` as the function's keyword arguments (pydantic parameters built as models)."""
        if not self._models:
            return args
        return {k: (self._models[k].model_validate(v) if k in self._models else v)
                for k, v in args.items()}

    def observation(self, value: Any) -> str:
        """The text the model sees for a result (JSON unless a string; cut to ``max_chars``)."""
        if type(value) in (int, float):  # the common case, and the same text json gives
            return repr(value)
        if not isinstance(value, str):
            if is_model(type(value)):
                value = value.model_dump()
            try:
                value = json.dumps(value, ensure_ascii=False, default=str)
            except (TypeError, ValueError):
                value = str(value)
        return value if len(value) <= self.max_chars else value[:self.max_chars] + "..."

    # ---- running: every path ends in an observation ------------------------------------------

    def call(self, args: dict, call: Call | None = None) -> str:
        """Run a sync tool once (on this thread, or a worker while ``timeout`` is watched);
        ``call`` is what :func:`current_call` gives the function meanwhile."""
        if call is not None:
            token = _CURRENT.set(call)
            try:
                return self.call(args)
            finally:
                _CURRENT.reset(token)
        bad = self.check(args)
        if bad is not None:
            return bad
        try:
            if self.batch:
                return self.call_many([args])[0]
            if self.is_async:
                return asyncio.run(self.acall(args))
            return self.observation(self._timed(self.fn, **self.kwargs(args)))
        except Exception as exc:  # noqa: BLE001 - a tool's failure is the model's observation
            return error_text(exc)

    async def acall(self, args: dict, call: Call | None = None) -> str:
        """Run an async tool once on the running loop, bounded by ``timeout``."""
        if call is not None:
            _CURRENT.set(call)  # each agent's call is a task of its own: its context is its own
        bad = self.check(args)
        if bad is not None:
            return bad
        try:
            coro = self.fn(**self.kwargs(args))
            value = await (asyncio.wait_for(coro, self.timeout) if self.timeout else coro)
            return self.observation(value)
        except asyncio.CancelledError:
            raise
        except (asyncio.TimeoutError, TimeoutError):
            return f"error: TimeoutError: {self.name} took longer than {self.timeout} s"
        except Exception as exc:  # noqa: BLE001
            return error_text(exc)

    def call_many(self, calls: list) -> list[str]:
        """Observations for many calls: one function call for a ``batch`` tool, else one each.

        Invalid calls get their error and are left out of the batch; an exception returned in a
        call's place is that call's error; a batch that raises (or returns the wrong number of
        results) gives every call in it the same error.
        """
        if not self.batch:
            return [self.call(a) for a in calls]
        out: list[str | None] = [self.check(a) for a in calls]
        todo = [i for i, o in enumerate(out) if o is None]
        if todo:
            try:
                got = list(self._timed(self.fn, [self.kwargs(calls[i]) for i in todo]))
                if len(got) != len(todo):
                    raise ValueError(f"batch tool {self.name} returned {len(got)} results for "
                                     f"{len(todo)} calls")
                for i, v in zip(todo, got):
                    out[i] = error_text(v) if isinstance(v, BaseException) else self.observation(v)
            except Exception as exc:  # noqa: BLE001
                for i in todo:
                    out[i] = error_text(exc)
        return out  # type: ignore[return-value]

    def _timed(self, fn, *args, **kwargs):
        if self.timeout is None:
            return fn(*args, **kwargs)
        from agentcore.kernels.pool import shared_pool

        # A thread cannot be stopped: a call past its timeout keeps its worker until it returns,
        # but the agent gets its error observation and moves on.
        ctx = contextvars.copy_context()
        fut = shared_pool(self.concurrency).submit(ctx.run, fn, *args, **kwargs)
        try:
            return fut.result(self.timeout)
        except concurrent.futures.TimeoutError:
            raise TimeoutError(f"{self.name} took longer than {self.timeout} s") from None


def tool(fn: Callable | None = None, **options) -> Tool | Callable[[Callable], Tool]:
    """Make a :class:`Tool`: ``@tool``, ``@tool(timeout=2.0)`` or ``tool(fn, batch=True, params=...)``."""
    if fn is None:
        return lambda f: Tool(f, **options)
    return Tool(fn, **options)


def as_tools(items: Iterable[Tool | Callable]) -> list[Tool]:
    """Tools from tools or plain functions; names must be unique."""
    out = [t if isinstance(t, Tool) else Tool(t) for t in items]
    names = [t.name for t in out]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"tool names must be unique; repeated: {dup}")
    if "answer" in names:
        raise ValueError("'answer' is the final answer's key; name the tool otherwise")
    return out


def error_text(exc: BaseException) -> str:
    """The observation of a tool that raised: ``error: ValueError: text``."""
    return f"error: {type(exc).__name__}: {exc}"


def _first_paragraph(fn) -> str:
    doc = inspect.getdoc(fn) or ""
    return " ".join(doc.split("\n\n", 1)[0].split())
