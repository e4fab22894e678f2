"""An OpenAI-compatible HTTP server on loopback in front of the in-process Engine, with faults to inject.

>>> with OpenAIServer(engine).start() as server:                          # doctest: +SKIP
...     server.inject("status", status=429, retry_after=1)   # the next request gets a 429
...     RemoteEngine(server.url).generate(prompt="Hi", max_tokens=4)

The answers are the real model's (``/v1/chat/completions``, ``/v1/completions``, ``/v1/models``,
with ``usage``, ``response_format`` json_schema and ``stop``), served by aiohttp on its own
thread. Each request to a completions endpoint takes the next injected fault, if any:
``status`` (an error answer, optionally with ``Retry-After``), ``drop`` (the connection closed
before any answer), ``drop_mid`` (headers and half a body, then closed) or ``slow`` (the real
answer after ``seconds``). The server counts requests and the most in flight at once.
"""
from __future__ import annotations

import asyncio
import collections
import socket
import threading
import time

from aiohttp import web

MODEL = "smollm2-test"


class OpenAIServer:
    """Serves ``engine`` over the OpenAI API on 127.0.0.1 (a free port); ``url`` is its base URL."""

    def __init__(self, engine, model: str = MODEL):
        self.engine = engine
        self.model = model
        self.faults: collections.deque = collections.deque()
        self.fault_forever: dict | None = None
        self.requests: collections.Counter = collections.Counter()
        self.bodies: list[dict] = []
        self.headers: list[dict] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.url = ""
        self._lock = threading.Lock()
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/v1/completions", self._completions)
        app.router.add_get("/v1/models", self._models)
        self.app = app

    # ---- control (from the test's thread) ----------------------------------------------------
    def inject(self, kind: str, n: int | None = 1, **how) -> None:
        """The next ``n`` requests (None: every request until :meth:`reset`) get fault ``kind``."""
        if kind not in ("status", "drop", "drop_mid", "slow"):
            raise ValueError(f"unknown fault {kind!r}")
        with self._lock:
            if n is None:
                self.fault_forever = dict(how, kind=kind)
            else:
                self.faults.extend([dict(how, kind=kind)] * n)

    def reset(self) -> None:
        """No faults, zeroed counters (the model and port stay)."""
        with self._lock:
            self.faults.clear()
            self.fault_forever = None
            self.requests.clear()
            self.bodies.clear()
            self.headers.clear()
            self.max_in_flight = self.in_flight

    def _next_fault(self) -> dict | None:
        with self._lock:
            return self.faults.popleft() if self.faults else self.fault_forever

    # ---- running -----------------------------------------------------------------------------
    def start(self) -> "OpenAIServer":
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._loop = asyncio.new_event_loop()
        ready = threading.Event()

        def serve():
            asyncio.set_event_loop(self._loop)
            # handler_cancellation: a client that hangs up cancels its handler, and so the engine
            # request, as llama-server and vLLM abort a request whose connection closed
            self._runner = web.AppRunner(self.app, handler_cancellation=True, access_log=None)
            self._loop.run_until_complete(self._runner.setup())
            self._loop.run_until_complete(web.SockSite(self._runner, sock).start())
            ready.set()
            self._loop.run_forever()
            self._loop.run_until_complete(self._runner.cleanup())
            self._loop.close()

        self._thread = threading.Thread(target=serve, name="openai-test-server", daemon=True)
        self._thread.start()
        ready.wait(30)
        return self

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(30)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    # ---- handlers ----------------------------------------------------------------------------
    async def _models(self, request):
        return web.json_response({"object": "list", "data": [{"id": self.model, "object": "model"}]})

    async def _chat(self, request):
        return await self._answer(request, chat=True)

    async def _completions(self, request):
        return await self._answer(request, chat=False)

    async def _answer(self, request, chat: bool):
        with self._lock:
            self.requests[request.path] += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            body = await request.json()
            with self._lock:
                self.bodies.append(body)
                self.headers.append(dict(request.headers))
            fault = self._next_fault()
            if fault is not None and fault["kind"] != "slow":
                return await self._fault(request, fault)
            if fault is not None:
                await asyncio.sleep(fault["seconds"])
            return await self._generate(body, chat)
        finally:
            with self._lock:
                self.in_flight -= 1

    async def _fault(self, request, fault: dict):
        kind = fault["kind"]
        if kind == "status":
            status = fault.get("status", 503)
            headers = {"Retry-After": str(fault["retry_after"])} if "retry_after" in fault else {}
            return web.json_response({"error": {"message": f"injected {status}", "type": "server_error"}},
                                     status=status, headers=headers)
        if kind == "drop":
            request.transport.close()
        else:  # drop_mid: promise a body, send half of it, hang up
            resp = web.StreamResponse(status=200, headers={"Content-Type": "application/json",
                                                           "Content-Length": "400"})
            await resp.prepare(request)
            await resp.write(b'{"id": "cmpl-1", "object": "chat.completion", "choi')
            await asyncio.sleep(0.05)
            request.transport.close()
        await asyncio.sleep(1)  # the closed transport cancels this handler (handler_cancellation)
        raise web.HTTPInternalServerError()

    async def _generate(self, body: dict, chat: bool):
        kwargs = {"max_tokens": int(body.get("max_tokens") or 16),
                  "temperature": float(body.get("temperature") or 0.0),
                  "stop": body.get("stop"), "seed": body.get("seed")}
        fmt = body.get("response_format") or {}
        if fmt.get("type") == "json_schema":
            kwargs["json_schema"] = fmt["json_schema"]["schema"]
        if chat:
            res = await self.engine.submit_async(body["messages"], **kwargs)
        else:
            res = await self.engine.submit_async(prompt=body["prompt"], **kwargs)
        if res.error is not None and not res.completion_tokens:
            # nothing generated: the request itself was bad (a prompt too long for the context)
            return web.json_response({"error": {"message": res.error, "type": "invalid_request_error"}},
                                     status=400)
        # A JSON answer the engine rejected (cut off by max_tokens) is still the model's text: a
        # real server returns it, and the client judges it.
        reason = "length" if res.completion_tokens >= kwargs["max_tokens"] else "stop"
        if res.error is None:
            reason = res.finish_reason
        choice = ({"index": 0, "message": {"role": "assistant", "content": res.text}, "finish_reason": reason}
                  if chat else {"index": 0, "text": res.text, "finish_reason": reason})
        return web.json_response({
            "id": f"cmpl-{time.monotonic_ns()}", "object": "chat.completion" if chat else "text_completion",
            "created": int(time.time()), "model": self.model, "choices": [choice],
            "usage": {"prompt_tokens": res.prompt_tokens, "completion_tokens": res.completion_tokens,
                      "total_tokens": res.prompt_tokens + res.completion_tokens,
                      "prompt_tokens_details": {"cached_tokens": res.cached_tokens}},
        })

