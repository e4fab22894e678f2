"""A remote engine's prompt-token counts and context size, asked of the server, with a conservative estimate as fallback.

:class:`~agentcore.llm.remote.RemoteEngine` has no tokenizer of its own, so it asks the server:

* llama-server: ``POST /apply-template`` renders the chat as its chat endpoint would, ``POST
  /tokenize`` (``add_special``, ``parse_special``) counts the tokens; ``GET /props`` gives the
  per-slot context (``default_generation_settings.n_ctx``).
* vLLM: ``POST /tokenize`` with ``messages`` answers the count (``count``) and the context
  (``max_model_len``); ``GET /v1/models`` lists ``max_model_len`` too (and llama-server
  ``meta.n_ctx``).
* Anything else (a hosted API): :func:`estimate_tokens`, a count meant to err high: ASCII
  letters and digits 1 token per 2.2, other ASCII characters but spaces 1 each, other text 1 per
  1.25 UTF-8 bytes, 8 per message for the template's markers. Measured with SmolLM2's
  tokenizer it over-counts every sample tried: 1.7x on English prose (4.2 bytes a token),
  1.1-1.6x on HTML, German, Russian, Japanese, Chinese and emoji (1.5-2.4 bytes a token, where
  a flat UTF-8 bytes / 2 would under-count), so a fitted prompt fits, at the price of
  trimming more page text than needed. The context size is then unknown unless
  ``RemoteEngine(n_ctx_per_seq=...)`` names it.

Which of these a server speaks is found out on the first count and kept. Counts are cached per
distinct chat (an LRU of ``cache_size``); a count the server fails to answer (down, slow) is
estimated and not cached. These calls use a session of their own, so a count never waits behind
the generation requests that fill the engine's connections.
"""
from __future__ import annotations

import asyncio
import json
import math
import re
import threading
from collections import OrderedDict
from typing import Callable, Sequence

__all__ = ["TokenCounter", "estimate_tokens", "estimate_text", "server_root"]

#: The estimate's characters per token for ASCII letters and digits.
ALNUM_PER_TOKEN = 2.2
#: The estimate's UTF-8 bytes per token for text outside ASCII.
BYTES_PER_TOKEN = 1.25
#: The estimate's tokens per chat message for the template's role markers (ChatML takes 5).
MESSAGE_OVERHEAD = 8
_NOT_HERE = frozenset({404, 405, 501})  # the endpoint does not exist on this server
_ALNUM = re.compile(r"[A-Za-z0-9]+")
_OTHER_ASCII = re.compile(r"[\x21-\x2f\x3a-\x40\x5b-\x60\x7b-\x7e]")  # punctuation, symbols


def estimate_text(text: str) -> int:
    """Tokens ``text`` is estimated to take, erring high (see the module docstring)."""
    alnum = sum(len(m) for m in _ALNUM.findall(text))
    other = len(_OTHER_ASCII.findall(text))
    wide = len(text.encode("utf-8")) - sum(1 for c in text if c < "\x80")
    return math.ceil(alnum / ALNUM_PER_TOKEN + other + wide / BYTES_PER_TOKEN)


def estimate_tokens(messages: Sequence[dict]) -> int:
    """A chat's prompt tokens estimated without a tokenizer, erring high."""
    return MESSAGE_OVERHEAD * (len(messages) + 1) + sum(estimate_text(str(m.get("content", "")))
                                                        for m in messages)


def server_root(api_url: str) -> str:
    """Where a server's own endpoints live: ``http://h:8080/v1`` -> ``http://h:8080``."""
    return api_url[:-3] if api_url.endswith("/v1") else api_url


class TokenCounter:
    """Counts chat prompt tokens and finds the context size of the server behind ``api_url``.

    ``loop`` is the remote engine's running event loop; :meth:`count` and :meth:`n_ctx` block
    the calling thread (never call them on that loop's thread).
    """

    def __init__(self, api_url: str, headers: dict, loop: asyncio.AbstractEventLoop,
                 model: Callable[[], str | None], *, owner: threading.Thread | None = None,
                 cache_size: int = 1024, timeout: float = 10.0):
        self.api_url, self.root = api_url, server_root(api_url)
        self.headers, self.loop, self.model = dict(headers), loop, model
        self.cache_size, self.timeout = int(cache_size), float(timeout)
        self.kind: str | None = None  # "llama-server", "vllm" or "estimate", once found out
        self.counted = {"server": 0, "estimated": 0, "cached": 0}
        self._cache: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self._session = None
        self._n_ctx: int | None = None
        self._n_ctx_known = False
        self._owner = owner  # the loop's thread, where a blocking call would deadlock

    # ---- blocking API (any thread but the loop's) -------------------------------------------
    def count(self, messages: Sequence[dict]) -> int:
        """Prompt tokens of ``messages`` as the server will count them (or the estimate)."""
        key = tuple((str(m["role"]), str(m["content"])) for m in messages)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                self.counted["cached"] += 1
                return self._cache[key]
        n = self._call(self._count([{"role": r, "content": c} for r, c in key]))
        with self._lock:
            if n is None:
                self.counted["estimated"] += 1
                return estimate_tokens(messages)
            self.counted["server"] += 1
            self._cache[key] = n
            if len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return n

    def n_ctx(self) -> int | None:
        """Tokens of context one request may use (prompt plus answer); None when the server does not say."""
        if not self._n_ctx_known:
            self._call(self._find_n_ctx())
        return self._n_ctx

    def _call(self, coro):
        if threading.current_thread() is self._owner or self.loop.is_closed():
            coro.close()
            if self.loop.is_closed():
                return None
            raise RuntimeError("RemoteEngine token counts block: call them off the engine's own thread")
        try:
            return asyncio.run_coroutine_threadsafe(coro, self.loop).result(self.timeout * 3)
        except Exception:  # the loop stopped, or the server hung past every timeout
            return None

    # ---- on the loop -----------------------------------------------------------------------
    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _http(self, method: str, url: str, body: dict | None = None) -> tuple[int, dict | None]:
        import aiohttp

        if self._session is None:
            self._session = aiohttp.ClientSession(headers=self.headers,
                                                  connector=aiohttp.TCPConnector(limit=4))
        limits = aiohttp.ClientTimeout(total=self.timeout)
        async with self._session.request(method, url, json=body, timeout=limits) as resp:
            raw = await resp.read()
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        return resp.status, data if isinstance(data, dict) else None

    async def _count(self, messages: list[dict]) -> int | None:
        """The server's count; None when it cannot count (then the caller estimates)."""
        try:
            if self.kind in (None, "llama-server"):
                status, data = await self._http("POST", self.root + "/apply-template", {"messages": messages})
                if status == 200 and data and isinstance(data.get("prompt"), str):
                    status, toks = await self._http("POST", self.root + "/tokenize", {
                        "content": data["prompt"], "add_special": True, "parse_special": True})
                    if status == 200 and toks and isinstance(toks.get("tokens"), list):
                        self.kind = "llama-server"
                        return len(toks["tokens"])
                if self.kind is None and status not in _NOT_HERE:
                    return None  # an answer we do not understand: estimate, ask again next time
            if self.kind in (None, "vllm"):
                status, data = await self._http("POST", self.root + "/tokenize", {
                    "model": self.model(), "messages": messages, "add_generation_prompt": True})
                if status == 200 and data and isinstance(data.get("count"), int):
                    self.kind = "vllm"
                    if data.get("max_model_len"):
                        self._n_ctx, self._n_ctx_known = int(data["max_model_len"]), True
                    return data["count"]
                if self.kind is None and status in _NOT_HERE | {400, 422}:
                    self.kind = "estimate"
            return None
        except Exception:  # aiohttp.ClientError, a timeout: estimate this one, ask again next time
            return None

    async def _find_n_ctx(self) -> None:
        """Ask ``/props`` (llama-server), then ``/v1/models`` (vLLM); known once either answered."""
        try:
            status, data = await self._http("GET", self.root + "/props")
            n = ((data or {}).get("default_generation_settings") or {}).get("n_ctx") if status == 200 else None
            if not (isinstance(n, int) and n > 0):
                status, data = await self._http("GET", self.api_url + "/models")
                models = (data or {}).get("data") if status == 200 else None
                sizes = [m.get("max_model_len") or (m.get("meta") or {}).get("n_ctx")
                         for m in models or [] if isinstance(m, dict)]  # vLLM, llama-server
                n = next((k for k in sizes if isinstance(k, int) and k > 0), None)
        except Exception:  # not reachable now: ask again next time
            return
        if not self._n_ctx_known:  # a vLLM /tokenize answer may have told it meanwhile
            self._n_ctx, self._n_ctx_known = n, True
