"""Continuous batching on the engine thread: admit requests into slots, build each step, decode, finish.

Each step puts every generating sequence's pending token plus as many prompt tokens as fit
(``n_batch``) into one ``llama_decode`` call, with logits only where a token must be sampled,
then samples per sequence (:mod:`agentcore.llm.sampling`). Finished or cancelled sequences free
their slot at once; waiting requests take free slots in arrival order.

A batch entry is ``(owner, n_tokens)`` fed from ``owner.pending_tokens()``, and a sequence holds
its slot only through :class:`SlotPool`, so feeding several tokens of a sequence in one entry, or
parking a sequence (slot and KV given back, state kept) and restoring it later, fit this loop.
"""
from __future__ import annotations

import collections
import heapq
import queue
import time
from typing import Callable

from agentcore.llm.batch import TokenBatch
from agentcore.llm.grammar import parse_and_validate
from agentcore.llm.prefix import Prefix, PrefixCache
from agentcore.llm.request import Request, Result, deliver
from agentcore.llm.sampling import GrammarSampler
from agentcore.llm.sequence import Sequence, SeqState
from agentcore.llm.sessions import SessionCache

_MAX_GAP = 8  # empty slots between generating ones that get a throw-away token (see Scheduler._build)
_CLOSED = "the engine was closed before this request finished"


class SlotPool:
    """Free sequence slots; the lowest id is taken first so the active set stays dense."""

    def __init__(self, n: int):
        self._heap = list(range(n))  # already a heap
        self.free = set(self._heap)

    def __bool__(self) -> bool:
        return bool(self._heap)

    def take(self) -> int:
        slot = heapq.heappop(self._heap)
        self.free.discard(slot)
        return slot

    def give(self, slot: int) -> None:
        heapq.heappush(self._heap, slot)
        self.free.add(slot)


class Scheduler:
    """Owns the queue, the slots and the decode loop; :meth:`run` is the engine thread's body."""

    def __init__(self, llama, samplers, metrics, *, n_slots: int, max_prefixes: int, n_batch: int,
                 threads_now: Callable[[], int], chunk: int = 512, deterministic: bool = True,
                 session_cache_bytes: int = 0):
        self.llama = llama  # LlamaContext
        self.samplers = samplers  # Samplers
        self.metrics = metrics  # EngineMetrics
        self.n_slots = n_slots
        self.n_batch = n_batch
        # Prompt tokens per chunk (see _chunk): one chunk always fits beside every generating slot.
        self.chunk = max(1, min(chunk, n_batch - n_slots))
        self.threads_now = threads_now
        self.inbox: queue.SimpleQueue = queue.SimpleQueue()  # Requests from submit(); None stops
        self.waiting: collections.deque[Request] = collections.deque()
        self.active: list[Sequence] = []
        self.slots = SlotPool(n_slots)
        self.prefixes = PrefixCache(llama, list(range(n_slots + max_prefixes - 1, n_slots - 1, -1)))
        self.batch = TokenBatch(llama.lib, n_batch)
        self.sessions = SessionCache(llama, self.slots, metrics.counts, session_cache_bytes,
                                     queued=lambda: {r.session for r in self.waiting})
        self.deterministic = deterministic
        self.closing = False
        self.crash: str | None = None
        self._budget_tokens = n_batch  # tokens per step; halved on "no KV slot", regrown after
        self._fill_gaps = True
        self._fillers: list[tuple[int, int]] = []  # (slot, position) of the last step's fillers
        self._rr = 0

    def put(self, req: Request) -> None:
        self.inbox.put(req)

    def end_session(self, key) -> None:
        self.inbox.put(EndSession(key))  # applied on the engine thread, which owns the KV cells

    def stop(self) -> None:
        """Ask :meth:`run` to stop; what is still queued or running resolves as cancelled."""
        self.closing = True
        self.inbox.put(None)

    def queue_length(self) -> int:
        return len(self.waiting) + self.inbox.qsize()

    # ----------------------------------------------------------------------------- the loop
    def run(self) -> None:
        try:
            while True:
                idle = not self.active and not self.waiting
                if not self._drain(block=idle):
                    break
                self._reap_cancelled()
                self._admit()
                if self.active:
                    self._step()
        except BaseException as exc:  # pragma: no cover - a bug in the engine: fail loudly, per request
            self.crash = f"LLM engine crashed: {exc!r}"
            self.closing = True
            self.fail_everything(self.crash)
            raise
        finally:
            self.fail_everything(_CLOSED, "cancelled")
            self.llama.close()

    def _drain(self, block: bool) -> bool:
        try:
            item = self.inbox.get(timeout=0.5) if block else self.inbox.get_nowait()
        except queue.Empty:
            return not self.closing
        while True:
            if isinstance(item, EndSession):
                self.sessions.end(item.key)
            elif item is not None:
                self.waiting.append(item)  # resolved by fail_everything if we are closing
            if item is None or self.closing:
                return False
            try:
                item = self.inbox.get_nowait()
            except queue.Empty:
                return True

    def _reap_cancelled(self) -> None:
        for seq in [s for s in self.active if s.req.future.cancelled()]:
            self.metrics.counts["requests_cancelled"] += 1
            self._free(seq)

    def _admit(self) -> None:
        counts = self.metrics.counts
        sessions = self.sessions
        while self.waiting:
            req = self.waiting[0]
            if req.future.cancelled():
                self.waiting.popleft()
                counts["requests_cancelled"] += 1
                continue
            got = sessions.acquire(req.session)
            if got is None:
                break  # no free slot, no idle session to park: wait for a sequence to finish
            self.waiting.popleft()
            seq = Sequence(req, got[0])
            seq.session, seq.path = got[1], got[2]
            try:
                seq.sampler = self.samplers.for_request(req)
            except Exception as exc:
                sessions.drop_slot(seq.session, seq.slot)
                counts["requests_failed"] += 1
                deliver(req.future, Result(finish_reason="error", error=str(exc)))
                continue
            if seq.session is not None and seq.session.tokens is not None:
                n = sessions.reuse(seq.session, req.tokens, req.prefix_len)
                if n:
                    seq.n_past = seq.from_session = n
                    counts["prompt_tokens_from_session"] += n
                    self.active.append(seq)
                    continue
                seq.path = "fallback"  # the kept KV shares no useful prefix with this prompt
            if req.prefix_key is not None:
                pre = self.prefixes.get(req.prefix_key, req.tokens[:req.prefix_len])
                if pre is not None:
                    seq.prefix = pre
                    if pre.ready:
                        self._attach_prefix(seq)
                    else:
                        pre.waiters += 1
                        seq.state = SeqState.WAIT_PREFIX
            self.active.append(seq)

    def _attach_prefix(self, seq: Sequence) -> None:
        pre = seq.prefix
        self.prefixes.copy_into(pre, seq.slot)
        seq.n_past = seq.cached = len(pre.tokens)
        seq.state = SeqState.PREFILL
        self.metrics.counts["prompt_tokens_reused"] += seq.cached

    # ----------------------------------------------------------------------------- one step
    def _build(self, budget: int, prompts: bool = True) -> list[tuple]:
        """Fill the batch: one token per generating sequence, then prompt chunks; returns the plan.

        With one KV stream per sequence, llama.cpp splits a batch into ubatches of *consecutive*
        sequence ids taking the same number of tokens from each, and every ubatch streams all the
        weights once (about 30 ms on one core here). So tokens go in slot order, and small gaps in
        the run of generating slots are filled with throw-away tokens for empty slots (one token
        of compute instead of one more ubatch); the fillers are removed right after the decode.
        """
        entries = []  # (slot, owner or None for a filler, n_tokens)
        gens = [s for s in self.active if s.state is SeqState.GENERATE]
        if len(gens) > budget:  # rotate who waits when the batch had to shrink below the slot count
            k = self._rr % len(gens)
            gens = (gens[k:] + gens[:k])[:budget]
            self._rr += budget
        for s in gens:
            entries.append((s.slot, s, 1))  # its one pending token: the last sample
        if prompts:
            entries += [(o.slot, o, c) for o, c in self._prompt_chunks(budget - len(gens), bool(entries))]
        entries.sort(key=lambda e: e[0])
        fillers = []
        if self._fill_gaps and len(gens) > 1:
            free = self.slots.free | self.sessions.idle_slots()
            waiting = {s.slot for s in self.active if s.state is SeqState.WAIT_PREFIX}
            spare = budget - sum(c for _, _, c in entries)  # fillers must fit in the batch too
            prev = None
            for slot, _, _ in entries:
                gap = slot - prev - 1 if prev is not None else 0
                if 0 < gap <= min(_MAX_GAP, spare):
                    if all(g in free or g in waiting for g in range(prev + 1, slot)):
                        fillers.extend(range(prev + 1, slot))
                        spare -= gap
                prev = slot
        if self.deterministic:
            fillers += self._lone_fillers([e[0] for e in entries] + fillers, budget - len(entries) - len(fillers))
        if fillers:
            entries.extend((g, None, 1) for g in fillers)
            entries.sort(key=lambda e: e[0])
        return self._fill(entries, fillers)

    def _prompt_chunks(self, room: int, shared: bool) -> list[tuple]:
        """(owner, n_tokens) of the prompt chunks that fit in ``room`` tokens, prefixes first."""
        out = []
        fills: list = self.prefixes.filling()
        fills += [s for s in self.active if s.state is SeqState.PREFILL]
        for owner in fills:
            c = self._chunk(owner)
            if c <= 0:
                continue
            if c > room and (shared or out):
                break  # its chunk waits for a step with room: chunks never bend to the neighbours
            out.append((owner, c))
            room -= c
        return out

    def _lone_fillers(self, slots: list[int], spare: int) -> list[int]:
        """Fillers that give every one-sequence run of ``slots`` a neighbour in its ubatch.

        llama.cpp's CPU flash attention decodes a ubatch of one sequence and one token with 512
        or more KV cells by splitting the cells across threads and merging the partial sums, which
        rounds differently from the per-row kernel every other ubatch uses (and depends on the
        thread count). A throw-away token in an adjacent sequence keeps the row on that kernel.
        """
        taken = set(slots)
        out = []
        for s in sorted(taken):
            if spare <= 0:
                break
            if s - 1 in taken or s + 1 in taken:
                continue
            g = s + 1 if s + 1 < self.llama.n_seq else s - 1
            if g < 0 or g in taken:
                continue
            taken.add(g)
            out.append(g)
            spare -= 1
        return out

    def _fill(self, entries: list[tuple], fillers: list[int]) -> list[tuple]:
        batch = self.batch
        batch.clear()
        plan = []  # (owner, n_tokens, batch index of its logits or -1), in batch order
        placed = []
        for slot, owner, c in entries:
            if owner is None:
                pos = self.llama.next_pos(slot)  # 0 in an empty slot; past its cells in a busy one
                batch.add_filler(slot, pos)
                placed.append((slot, pos))
                continue
            toks = owner.pending_tokens()
            last = batch.add(slot, toks[:c], owner.n_past, owner.wants_logits and c == len(toks))
            plan.append((owner, c, last))
        self._fillers = placed
        return plan

    def _chunk(self, owner) -> int:
        """Prompt tokens ``owner`` feeds next: up to its next chunk boundary, whatever shares the step.

        Boundaries sit at the shared prefix's end, where an earlier turn's prompt ended, and every
        ``chunk`` tokens, so a prompt is cut the same way alone or among 64 others, and a chat's
        prompt the same way whether its earlier turns' KV came from its session or not (the
        conditions for batch-invariant output).
        """
        n_past = owner.n_past
        if isinstance(owner, Prefix):
            end, head = len(owner.tokens), 0
        else:
            end, head = owner.n_prompt, owner.req.prefix_len
        if n_past >= end:
            return 0
        if n_past < head:
            return head - n_past
        stop = min(end, (n_past // self.chunk + 1) * self.chunk)
        for cut in () if isinstance(owner, Prefix) else owner.req.cuts:
            if n_past < cut < stop:
                return cut - n_past
        return stop - n_past

    def _step(self) -> None:
        self.llama.set_threads(self.threads_now())
        if not self.deterministic:
            self._run(self._build)
            return
        # Each prompt chunk is decoded on its own (its ubatch then never depends on who else is
        # prefilling or generating), then every generating sequence's token in one call.
        n_gen = sum(1 for s in self.active if s.state is SeqState.GENERATE)
        for owner, c in self._prompt_chunks(self._budget_tokens - n_gen, False):
            self._run(lambda budget, o=owner, c=c: self._build_chunk(o, c))
        if any(s.state is SeqState.GENERATE for s in self.active):
            self._run(lambda budget: self._build(budget, prompts=False))

    def _build_chunk(self, owner, c: int) -> list[tuple]:
        gone = owner.key not in self.prefixes.entries if isinstance(owner, Prefix) else owner not in self.active
        if gone:
            self.batch.clear()  # finished (an error) while an earlier chunk of this step ran
            return []
        fillers = self._lone_fillers([owner.slot], 1) if c == 1 else []
        entries = sorted([(owner.slot, owner, c)] + [(g, None, 1) for g in fillers], key=lambda e: e[0])
        return self._fill(entries, fillers)

    def _run(self, build: Callable[[int], list]) -> None:
        llama, metrics = self.llama, self.metrics
        budget = self._budget_tokens
        while True:
            plan = build(budget)
            if self.batch.n == 0:
                return
            t0, c0 = time.perf_counter(), time.thread_time()
            rc = llama.decode(self.batch.struct)
            metrics.busy_seconds += time.perf_counter() - t0
            metrics.decode_cpu_seconds += time.thread_time() - c0
            for g, pos in self._fillers:
                llama.forget(g, pos)
            if rc == 0:
                break
            if rc == 1 and budget > 1:
                # No KV slot for this many tokens: the memory is restored; retry a smaller step.
                metrics.counts["decode_retries"] += 1
                budget = max(1, budget // 2)
                continue
            why = {1: "no KV cache slot even for a one-token step", 2: "decode aborted"}.get(
                rc, f"llama_decode failed with code {rc}")
            for owner, _, _ in plan:
                if isinstance(owner, Prefix):
                    self._drop_prefix(owner, why)
                else:
                    self._finish(owner, "error", why)
            return
        # Grow back towards n_batch after a shrink.
        self._budget_tokens = min(self.n_batch, budget * 2) if budget < self.n_batch else budget
        metrics.counts["decode_calls"] += 1
        metrics.occupancy_sum += len(self.active) / self.n_slots
        self._after_decode(plan)

    def _after_decode(self, plan: list[tuple]) -> None:
        counts = self.metrics.counts
        rows = []  # (sequence, batch index), in logits-row order
        for owner, c, idx in plan:
            owner.n_past += c
            if isinstance(owner, Prefix):
                counts["prompt_tokens"] += c
                if owner.n_past == len(owner.tokens):
                    owner.ready = True
                continue
            if owner.state is SeqState.PREFILL:
                counts["prompt_tokens"] += c
            if idx < 0:
                continue
            owner.state = SeqState.GENERATE
            rows.append((owner, idx))
        picks, dead = self.samplers.pick(rows)
        for seq in dead:
            self._finish(seq, "error", "the JSON grammar allowed no next token")
        for seq, tok in picks:
            self._on_token(seq, tok)
        # Prefixes that just finished filling: hand their KV to the sequences waiting on them.
        for s in self.active:
            if s.state is SeqState.WAIT_PREFIX and s.prefix.ready:
                s.prefix.waiters -= 1
                self._attach_prefix(s)

    def _on_token(self, seq: Sequence, tok: int) -> None:
        req = seq.req
        counts = self.metrics.counts
        grammar = isinstance(seq.sampler, GrammarSampler)
        if grammar:
            if self.llama.is_eog[tok]:  # the end of a JSON answer is not counted as generated
                self._finish(seq, "stop")
                return
            seq.sampler.accept(tok)
        counts["generated_tokens"] += 1
        if self.llama.is_eog[tok]:
            self._finish(seq, "stop")
            return
        seq.gen.append(tok)
        seq.pieces.append(self.llama.piece(tok))
        if req.stop:
            text = seq.text()
            for st in req.stop:
                if st in text:
                    self._finish(seq, "stop", cut=text.index(st))
                    return
        if len(seq.gen) >= req.max_tokens or seq.n_past + 1 >= self.llama.n_ctx_per_seq:
            self._finish(seq, "length")

    # ----------------------------------------------------------------------------- endings
    def _finish(self, seq: Sequence, reason: str, error: str | None = None, cut: int | None = None) -> None:
        req = seq.req
        counts = self.metrics.counts
        text = seq.text()
        if cut is not None:
            text = text[:cut]
        res = Result(text=text, finish_reason=reason, prompt_tokens=len(req.tokens),
                     completion_tokens=len(seq.gen), cached_tokens=seq.cached,
                     session_tokens=seq.from_session, session_path=seq.path,
                     prompt_truncated=req.truncated, error=error, tokens=list(seq.gen))
        if isinstance(seq.sampler, GrammarSampler):
            counts["grammar_fallbacks"] += seq.sampler.fallbacks
        if error is None and req.schema is not None:
            if reason == "length":
                res.error = (f"JSON output cut off at max_tokens={req.max_tokens} before it was complete; "
                             "raise max_tokens")
            else:
                res.value, res.error = parse_and_validate(text, req.schema)
            if res.error is not None:
                res.finish_reason = "error"
        counts["requests_failed" if res.error else "requests_done"] += 1
        self._free(seq, keep=res.error is None)
        deliver(req.future, res)

    def _free(self, seq: Sequence, keep: bool = False) -> None:
        """Give ``seq``'s slot back, or, for a session's request that ended well, leave it idle there."""
        if seq.sampler is not None:
            seq.sampler.free()
            seq.sampler = None
        if seq.state is SeqState.WAIT_PREFIX:
            seq.prefix.waiters -= 1
        self.active.remove(seq)
        if keep and seq.session is not None and seq.state is SeqState.GENERATE:
            # Deterministic: only the prompt's cells are kept. A reply's cells were computed a
            # token per step, which rounds differently from the prompt chunk that decodes the same
            # reply in a chat without the session, so the next turn decodes the reply again.
            kv = seq.req.tokens if self.deterministic else seq.kv_tokens()
            self.sessions.keep(seq.session, seq.slot, kv)
        else:
            self.sessions.drop_slot(seq.session, seq.slot)

    def _drop_prefix(self, pre: Prefix, why: str) -> None:
        for s in [s for s in self.active if s.prefix is pre and s.state is SeqState.WAIT_PREFIX]:
            self._finish(s, "error", f"shared prefix failed: {why}")
        self.prefixes.remove(pre)

    def fail_everything(self, why: str, reason: str = "error") -> None:
        """Resolve every running, waiting and queued request with an error (or cancelled) result."""
        for seq in list(self.active):
            self._free(seq)
            deliver(seq.req.future, Result(finish_reason=reason, error=why))
        self.sessions.clear()
        while self.waiting:
            deliver(self.waiting.popleft().future, Result(finish_reason=reason, error=why))
        while True:
            try:
                item = self.inbox.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, Request):  # not None (stop) nor an EndSession (no future)
                deliver(item.future, Result(finish_reason=reason, error=why))


class EndSession:
    """An inbox item: ``Engine.end_session(key)``."""

    __slots__ = ("key",)

    def __init__(self, key):
        self.key = key
