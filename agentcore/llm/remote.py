"""The remote engine: the Engine's ``submit()`` interface over an OpenAI-compatible HTTP server.

>>> from agentcore.llm.remote import RemoteEngine
>>> with RemoteEngine("http://127.0.0.1:8080", model="smollm2", concurrency=32) as engine:  # doctest: +SKIP
...     fut = engine.submit([{"role": "user", "content": "Say hi"}], max_tokens=8)
...     print(fut.result().text)

Use it wherever an :class:`~agentcore.llm.engine.Engine` goes (``llm_action(engine, ...)``,
``CrawlJob(..., engine=RemoteEngine(...))``): llama-server, vLLM or a hosted API then decodes
instead of the in-process model.

How a request flows: ``submit()`` checks the arguments on the caller's thread and hands the
request to the engine's own asyncio loop (one background thread, one aiohttp session). Chat
messages go to ``/v1/chat/completions``, a raw prompt to ``/v1/completions``. At most
``concurrency`` requests are in flight at once (a semaphore: the server's own batch size is the
useful value); the rest wait in the loop. The future resolves on the engine thread, as the
in-process engine's do, so callbacks must stay short. The wire format (request bodies, answers,
error replies as short codes) is :mod:`agentcore.llm.openai_api`.

Policies (documented, tested against a real server on loopback):

* JSON: ``json_schema=`` is sent as ``response_format={"type": "json_schema", "json_schema":
  {"name", "schema", "strict": true}}``; the answer is parsed and checked with
  :func:`agentcore.llm.grammar.validate` into ``Result.value``, and an answer that is not JSON or
  not valid under the schema is an error result (``invalid_json`` / ``schema_mismatch``).
* Retries: 408, 425, 429 and 5xx answers, refused or dropped connections and timeouts are tried
  again, ``retries`` times, after ``backoff * 2**attempt`` seconds (at most ``max_backoff``, with
  jitter) or after the server's ``Retry-After``. A ``Retry-After`` longer than ``max_retry_after``
  ends the request at once instead of sleeping. Other 4xx answers are not retried.
* ``timeout`` bounds each attempt (connect to last byte); ``connect_timeout`` the connect alone.
* Failures never raise: the Result has ``error`` set to a short stable code (``http_429``,
  ``http_503``, ``timeout``, ``connection_refused``, ``connection_dropped``, ``connection_error``,
  ``bad_response``, ``invalid_json``, ``schema_mismatch``, ``cancelled``, ``request_failed``)
  that a swarm can count, and :attr:`RemoteResult.detail` says what happened and what to do.
* Tokens: ``prompt_tokens`` / ``completion_tokens`` (and ``cached_tokens`` where the server
  reports ``usage.prompt_tokens_details.cached_tokens``) come from the answer's ``usage``.
* Prompt fitting: :meth:`RemoteEngine.count_prompt_tokens` counts a chat's prompt tokens the
  way the server will (llama-server's ``/apply-template`` + ``/tokenize``, vLLM's ``/tokenize``;
  cached per distinct chat), or estimates them conservatively (UTF-8 bytes / 2 + 8 per message)
  where the server cannot; :attr:`RemoteEngine.n_ctx_per_seq` is the context one request may
  use, from ``/props`` or ``/v1/models`` (see :mod:`agentcore.llm.remote_tokens`).
* Cancellation: ``future.cancel()`` cancels the HTTP request (the connection closes, which makes
  llama-server and vLLM stop decoding it). ``close()`` resolves every unfinished request with
  ``finish_reason="cancelled"``.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import json
import random
import threading
import time
from typing import Sequence

from agentcore.llm.openai_api import (RETRY_CODES, Failure, RemoteResult, api_root, http_failure,
                                      network_failure, parse_answer, request_body)
from agentcore.llm.remote_tokens import TokenCounter
from agentcore.llm.request import LLMError, check_request, deliver

__all__ = ["RemoteEngine", "RemoteResult", "LLMError"]


class RemoteEngine:
    """An engine whose requests an OpenAI-compatible server answers.

    Parameters
    ----------
    base_url:
        The server (``http://127.0.0.1:8080``, ``/v1`` is added) or the API root of a hosted API.
    model:
        The model name sent with each request; None: the first one ``GET /v1/models`` lists.
    api_key:
        Sent as ``Authorization: Bearer ...`` (hosted APIs; a local server needs none).
    concurrency:
        Most requests in flight at once (also ``n_slots``, which sizes ``llm_action``'s capacity).
    timeout, connect_timeout:
        Seconds one attempt may take in all, and to connect.
    retries, backoff, max_backoff, max_retry_after:
        Extra attempts after a retryable failure, the first delay (doubling each time, capped at
        ``max_backoff``), and the longest ``Retry-After`` honoured (a longer one fails the request).
    extra_body:
        Fields added to every request body (server-specific options such as ``top_k`` or
        ``cache_prompt``).
    n_ctx_per_seq:
        Tokens of context one request may use; None: ask the server (``/props``, ``/v1/models``).
    """

    budget = None  # no share of this machine's CPU budget: the decoding happens elsewhere

    def __init__(self, base_url: str, model: str | None = None, *, api_key: str | None = None,
                 concurrency: int = 64, timeout: float = 120.0, connect_timeout: float = 10.0,
                 retries: int = 4, backoff: float = 0.5, max_backoff: float = 30.0,
                 max_retry_after: float = 60.0, extra_body: dict | None = None,
                 n_ctx_per_seq: int | None = None):
        if concurrency < 1:
            raise ValueError(f"concurrency={concurrency} must be >= 1")
        if retries < 0 or backoff < 0 or timeout <= 0:
            raise ValueError("retries and backoff must be >= 0 and timeout > 0")
        self.url = api_root(base_url)
        self.model = model
        self.n_slots = concurrency
        self.timeout, self.connect_timeout = float(timeout), float(connect_timeout)
        self.retries, self.backoff, self.max_backoff = int(retries), float(backoff), float(max_backoff)
        self.max_retry_after = float(max_retry_after)
        self.extra_body = dict(extra_body or {})
        self._n_ctx_given = int(n_ctx_per_seq) if n_ctx_per_seq else None
        self._headers = {"Content-Type": "application/json"}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._lock = threading.Lock()
        self._counts: dict[str, float] = dict.fromkeys(
            ("requests_submitted", "requests_done", "requests_failed", "requests_cancelled",
             "prompt_tokens", "completion_tokens", "cached_tokens", "retries", "busy_seconds"), 0)
        self._errors: dict[str, int] = {}
        self._in_flight = self._max_in_flight = self._waiting = 0
        self._busy_since = 0.0
        self._tasks: dict[concurrent.futures.Future, asyncio.Task] = {}
        self._closed = False
        self._closing = False
        self._loop = asyncio.new_event_loop()
        ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(ready,), name="agentcore-llm-remote",
                                        daemon=True)
        self._thread.start()
        ready.wait()
        self._tokens = TokenCounter(self.url, self._headers, self._loop, lambda: self.model,
                                    owner=self._thread, timeout=min(self.timeout, 10.0))

    @property
    def model_name(self) -> str:
        """The model the server answers with ("" until known when ``model=None``)."""
        return self.model or ""

    # ----------------------------------------------------------------------------- prompt fitting
    def count_prompt_tokens(self, messages: Sequence[dict]) -> int:
        """Prompt tokens of the chat ``messages`` as the server counts them (estimated where it cannot).

        Blocks for a round trip on a new chat (none for one counted before); call it off the
        engine's thread (not from a future's callback).
        """
        return self._tokens.count(messages)

    @property
    def token_source(self) -> str | None:
        """Where counts come from: "llama-server", "vllm", "estimate"; None before the first count."""
        return self._tokens.kind

    @property
    def n_ctx_per_seq(self) -> int | None:
        """Tokens of context one request may use (prompt plus answer); None when unknown."""
        return self._n_ctx_given or self._tokens.n_ctx()

    # ----------------------------------------------------------------------------- requests
    def submit(self, messages: Sequence[dict] | str | None = None, *, prompt: str | None = None,
               max_tokens: int = 64, stop: Sequence[str] | str | None = None,
               temperature: float = 0.0, seed: int | None = None, json_schema: dict | None = None,
               top_k: int | None = None, top_p: float | None = None, min_p: float | None = None,
               overflow: str | None = None, timeout: float | None = None) -> concurrent.futures.Future:
        """Queue one request; the future resolves to a :class:`RemoteResult` (runtime failures never raise).

        The arguments are :meth:`Engine.submit`'s. ``top_k`` / ``top_p`` / ``min_p`` are sent only
        when given (hosted APIs reject ``top_k`` and ``min_p``); ``timeout`` overrides the
        engine's per-attempt timeout. Only ``overflow="error"`` exists: a server rejects a prompt
        that is too long (``http_400``) and does not truncate it.
        """
        if self._closing:
            raise RuntimeError("the remote engine is closed; create a new RemoteEngine")
        messages, prompt = check_request(messages, prompt, max_tokens, temperature)
        if overflow not in (None, "error"):
            raise ValueError(f"overflow={overflow!r}: a remote server cannot truncate prompts; "
                             "shorten the prompt or lower max_tokens")
        if json_schema is not None and not isinstance(json_schema, dict):
            raise ValueError("json_schema must be a dict (a JSON schema)")
        path, body = request_body(messages, prompt, max_tokens=max_tokens, temperature=temperature,
                                  stop=stop, json_schema=json_schema, extra=self.extra_body,
                                  seed=seed, top_k=top_k, top_p=top_p, min_p=min_p)
        fut: concurrent.futures.Future = concurrent.futures.Future()
        self._count("requests_submitted")
        try:
            self._loop.call_soon_threadsafe(self._spawn, fut, path, body, json_schema, timeout)
        except RuntimeError:  # the loop closed between the check above and here
            raise RuntimeError("the remote engine is closed; create a new RemoteEngine") from None
        fut.add_done_callback(self._on_future_done)
        return fut

    def submit_async(self, messages=None, **kwargs) -> asyncio.Future:
        """:meth:`submit` for asyncio: an awaitable bound to the running loop (cancelling it cancels the request)."""
        return asyncio.wrap_future(self.submit(messages, **kwargs))

    def generate(self, messages=None, **kwargs) -> RemoteResult:
        """Submit and wait: the blocking one-request convenience."""
        return self.submit(messages, **kwargs).result()

    # ----------------------------------------------------------------------------- state
    def metrics(self) -> dict:
        """Counters since start, under the in-process engine's keys where they mean the same.

        ``slots_total`` is ``concurrency``, ``slots_active`` the requests in flight,
        ``queue_length`` those waiting for a free place; ``generated_tokens`` equals
        ``completion_tokens``; ``errors`` counts failed requests by code; ``prompt_counts`` the
        :meth:`count_prompt_tokens` answers the server gave, estimated, or found in the cache.
        """
        with self._lock:
            c = dict(self._counts)
            busy = c["busy_seconds"] + (time.monotonic() - self._busy_since if self._in_flight else 0.0)
            return {
                "requests_submitted": int(c["requests_submitted"]),
                "requests_done": int(c["requests_done"]),
                "requests_failed": int(c["requests_failed"]),
                "requests_cancelled": int(c["requests_cancelled"]),
                "prompt_tokens": int(c["prompt_tokens"]),
                "completion_tokens": int(c["completion_tokens"]),
                "generated_tokens": int(c["completion_tokens"]),
                "prompt_tokens_reused": int(c["cached_tokens"]),
                "retries": int(c["retries"]),
                "errors": dict(self._errors),
                "busy_seconds": busy,
                "prompt_tokens_per_s": c["prompt_tokens"] / busy if busy else 0.0,
                "generated_tokens_per_s": c["completion_tokens"] / busy if busy else 0.0,
                "slots_total": self.n_slots,
                "slots_active": self._in_flight,
                "max_in_flight": self._max_in_flight,
                "queue_length": self._waiting,
                "prompt_counts": dict(self._tokens.counted),  # server / estimated / cached
            }

    def close(self, timeout: float | None = 30.0) -> None:
        """Cancel what is unfinished (``finish_reason="cancelled"``), close the session, end the thread."""
        if self._closed:
            return
        self._closing = True
        if self._thread.is_alive():
            try:
                asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout)
            except (concurrent.futures.TimeoutError, RuntimeError):
                pass
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout)
        self._closed = True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ----------------------------------------------------------------------------- the loop thread
    def _serve(self, ready: threading.Event) -> None:
        import aiohttp  # loaded with the first engine, not with agentcore.llm

        self._aiohttp = aiohttp
        asyncio.set_event_loop(self._loop)

        async def open_session():
            self._sem = asyncio.Semaphore(self.n_slots)
            self._model_lock = asyncio.Lock()
            self._session = aiohttp.ClientSession(
                headers=self._headers,
                connector=aiohttp.TCPConnector(limit=self.n_slots, limit_per_host=self.n_slots))

        self._loop.run_until_complete(open_session())
        ready.set()
        try:
            self._loop.run_forever()
        finally:
            # requests submitted while closing: their _spawn callbacks resolve them as cancelled
            self._loop.run_until_complete(asyncio.sleep(0))
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()

    async def _shutdown(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._session.close()
        await self._tokens.close()

    def _spawn(self, fut, path, body, schema, timeout) -> None:
        if fut.cancelled():
            self._count("requests_cancelled")
            return
        if self._closing:
            deliver(fut, RemoteResult(finish_reason="cancelled", error="cancelled",
                                      detail="the remote engine was closed before the request was sent"))
            self._count("requests_cancelled")
            return
        task = self._loop.create_task(self._request(fut, path, body, schema, timeout or self.timeout))
        self._tasks[fut] = task
        task.add_done_callback(lambda _t: self._tasks.pop(fut, None))

    def _on_future_done(self, fut) -> None:
        # Runs on whichever thread cancelled the future (or on the loop thread after a result).
        if fut.cancelled():
            try:
                self._loop.call_soon_threadsafe(self._cancel_task, fut)
            except RuntimeError:  # the loop is already closed
                pass

    def _cancel_task(self, fut) -> None:
        task = self._tasks.get(fut)
        if task is not None:
            task.cancel()

    async def _request(self, fut, path: str, body: dict, schema: dict | None, timeout: float) -> None:
        attempts = 0
        try:
            while True:
                attempts += 1
                try:
                    res = await self._attempt(path, body, schema, timeout)
                    break
                except Failure as fail:
                    retryable = fail.code in RETRY_CODES
                    again = retryable and attempts <= self.retries
                    wait = self._delay(attempts, fail.retry_after) if again else None
                    if wait is None:
                        if again:  # the server asked for a longer wait than we allow
                            fail.detail += (f"; the server asked to wait {fail.retry_after:.0f} s, more than "
                                            f"max_retry_after={self.max_retry_after:g}")
                        elif retryable and attempts > 1:
                            fail.detail += f" (gave up after {attempts} attempts)"
                        res = RemoteResult(finish_reason="error", error=fail.code, detail=fail.detail)
                        break
                    self._count("retries")
                    await asyncio.sleep(wait)
                except Exception as exc:  # a body aiohttp cannot send, say: fail this request only
                    res = RemoteResult(finish_reason="error", error="request_failed",
                                       detail=f"the request could not be made ({type(exc).__name__}: {exc})")
                    break
        except asyncio.CancelledError:
            self._count("requests_cancelled")
            if self._closing and not fut.done():
                deliver(fut, RemoteResult(finish_reason="cancelled", error="cancelled", attempts=attempts,
                                          detail="the remote engine was closed before the answer came"))
            raise
        res.attempts = attempts
        self._account(res)
        deliver(fut, res)

    def _delay(self, attempts: int, retry_after: float | None) -> float | None:
        """Seconds before the next attempt; None when the server asks for more than we will wait."""
        if retry_after is not None:
            return retry_after if retry_after <= self.max_retry_after else None
        return min(self.max_backoff, self.backoff * 2 ** (attempts - 1)) * random.uniform(0.5, 1.0)

    async def _attempt(self, path: str, body: dict, schema: dict | None, timeout: float) -> RemoteResult:
        url = self.url + path
        self._queued(+1)
        try:
            await self._sem.acquire()
        finally:
            self._queued(-1)
        self._enter()
        try:
            limits = self._aiohttp.ClientTimeout(total=timeout, sock_connect=self.connect_timeout)
            if self.model is None:
                await self._discover_model(limits)
            async with self._session.post(url, json=dict(body, model=self.model), timeout=limits) as resp:
                raw = await resp.read()
                if resp.status != 200:
                    raise http_failure(self.url, resp.status, resp.reason, resp.headers, raw)
            return parse_answer(raw, url, path, body["max_tokens"], schema)
        except Failure:
            raise
        except (self._aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise network_failure(exc, self.url, timeout) from None
        finally:
            self._leave()
            self._sem.release()

    async def _discover_model(self, limits) -> None:
        async with self._model_lock:
            if self.model is not None:
                return
            async with self._session.get(self.url + "/models", timeout=limits) as resp:
                raw = await resp.read()
                if resp.status != 200:
                    raise http_failure(self.url, resp.status, resp.reason, resp.headers, raw)
            try:
                self.model = str(json.loads(raw)["data"][0]["id"])
            except (ValueError, KeyError, IndexError, TypeError):
                raise Failure("bad_response", f"{self.url}/models lists no model; pass "
                                              "RemoteEngine(model=...)") from None

    # ----------------------------------------------------------------------------- counters
    def _count(self, name: str, n: float = 1) -> None:
        with self._lock:
            self._counts[name] += n

    def _queued(self, n: int) -> None:
        with self._lock:
            self._waiting += n

    def _enter(self) -> None:
        with self._lock:
            if self._in_flight == 0:
                self._busy_since = time.monotonic()
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)

    def _leave(self) -> None:
        with self._lock:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._counts["busy_seconds"] += time.monotonic() - self._busy_since

    def _account(self, res: RemoteResult) -> None:
        with self._lock:
            c = self._counts
            c["prompt_tokens"] += res.prompt_tokens
            c["completion_tokens"] += res.completion_tokens
            c["cached_tokens"] += res.cached_tokens
            if res.error is None:
                c["requests_done"] += 1
            else:
                c["requests_failed"] += 1
                self._errors[res.error] = self._errors.get(res.error, 0) + 1
