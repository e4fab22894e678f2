"""Multi-turn KV reuse: a session's KV kept in its slot between turns, parked in host memory, restored.

A request submitted with ``session=key`` leaves its sequence in its slot when it ends (KV cells
and the token ids they hold), as an *idle* session. The next request of that session reuses the
longest common prefix of its prompt and those tokens and prefills only the rest. When a slot is
needed and none is free, the least recently used idle session is *parked*: its cells are copied
to host memory (``llama_state_seq_get_data``) under ``cap_bytes`` (past the cap, parked sessions
are dropped, the one whose next turn is furthest away first: see ``_shed``) and copied back into a free slot for its next turn
(``llama_state_seq_set_data``). A dropped session's next turn falls back to a full prefill.

What is kept: with ``Engine(deterministic=True)`` (the default) the cells of the *prompt* only.
A reply's cells were computed one token per step, which rounds differently from the prompt
chunk that decodes the same reply when the next turn runs without the session, so the next
turn decodes the reply again as prompt: a turn computes its reply's and its new tokens, and its
output is token-identical whichever path it took (the scheduler cuts prompts where an earlier
turn's prompt ended, so both paths decode the same chunks). ``deterministic=False`` keeps the
reply's cells too: a turn then computes only its new tokens.

Each request's path is reported (``Result.session_path``): ``resident`` (its KV was still in
its slot), ``restored`` (copied back from host memory), ``new`` (first turn), ``fallback`` (the
session was dropped, or its KV did not match the prompt), ``busy`` (another request of the same
session was running: this one ran without it), ``""`` (no session).
"""
from __future__ import annotations

import collections
from typing import Hashable

import numpy as np

from agentcore.llm.prefix import common_prefix


class Session:
    """One conversation's KV: in ``slot`` (resident), in ``blob`` (parked), or neither (dropped)."""

    __slots__ = ("key", "tokens", "slot", "blob", "busy", "ended")

    def __init__(self, key: Hashable):
        self.key = key
        self.tokens = None  # int32 array: the token ids whose KV cells the session holds
        self.slot: int | None = None
        self.blob = None  # the parked cells (uint8 array)
        self.busy = False  # a request of this session holds it
        self.ended = False  # end_session() arrived while busy: drop it when that request ends


class SessionCache:
    """The sessions of one engine; owns idle sessions' slots, taking and giving them via ``slots``."""

    def __init__(self, llama, slots, counts, cap_bytes: int, queued=frozenset):
        self.llama = llama  # LlamaContext
        self.slots = slots  # the scheduler's SlotPool
        self.counts = counts  # EngineMetrics.counts
        self.cap_bytes = cap_bytes
        self.queued = queued  # () -> the session keys of the requests waiting for a slot
        self.entries: dict[Hashable, Session] = {}
        self.idle: collections.OrderedDict[Hashable, Session] = collections.OrderedDict()  # LRU first
        self.parked: collections.OrderedDict[Hashable, Session] = collections.OrderedDict()
        self.parked_bytes = 0

    def idle_slots(self) -> set[int]:
        """Slots held by idle sessions (a throw-away filler token past their cells is harmless)."""
        return {s.slot for s in self.idle.values()}

    def has_slot(self) -> bool:
        """Whether :meth:`acquire` can find a slot for a request without a resident session."""
        return bool(self.slots) or bool(self.idle)

    # ----------------------------------------------------------------------------- a turn starts
    def acquire(self, key: Hashable | None) -> tuple[int, Session | None, str] | None:
        """``(slot, session or None, path)`` for the next request of ``key``; None when no slot is free.

        A returned session is busy (the request owns it) and, for ``resident`` / ``restored``,
        its ``tokens`` are what the slot's KV cells hold.
        """
        s = self.entries.get(key) if key is not None else None
        if s is not None and s.busy:
            slot = self._free_slot(None)
            return None if slot is None else (slot, None, "busy")
        if s is not None and s.slot is not None:
            del self.idle[key]
            s.busy = True
            self.counts["session_resident"] += 1
            return s.slot, s, "resident"
        slot = self._free_slot(key)
        if slot is None:
            return None
        if key is None:
            return slot, None, ""
        if s is None:
            s = self.entries[key] = Session(key)
            path = "new"
        elif s.blob is not None:
            blob = s.blob
            self._unpark(s)
            if self.llama.load_sequence(blob, slot):
                s.slot = slot
                path = "restored"
            else:
                s.tokens = None
                path = "fallback"
        else:
            path = "fallback"
        s.busy = True
        self.counts[f"session_{path}"] += 1
        return slot, s, path

    def reuse(self, s: Session, tokens, at_least: int) -> int:
        """Prompt tokens (``tokens``) whose KV the resident session ``s`` already holds; the rest is dropped.

        The last prompt token is always left to decode (its logits start the reply). Below
        ``at_least`` tokens (the shared prefix, which is cheaper to copy) nothing is reused.
        """
        n = min(common_prefix(s.tokens, tokens), len(tokens) - 1)
        if n < max(1, at_least):
            n = 0
        if n < len(s.tokens):
            self.llama.forget(s.slot, n)  # cells from position n on: the conversation changed there
        if n == 0:
            self.counts["session_mismatch"] += 1
        s.tokens = None  # until the turn ends, the slot is the request's
        return n

    # ----------------------------------------------------------------------------- a turn ends
    def keep(self, s: Session, slot: int, tokens) -> None:
        """The request of ``s`` ended in ``slot`` whose cells hold ``tokens``: the session goes idle there."""
        s.busy = False
        if s.ended:
            self.drop_slot(s, slot)
            return
        s.slot, s.tokens = slot, np.asarray(tokens, np.int32)
        self.llama.forget(slot, len(s.tokens))  # cells past those tokens are not the session's
        self.idle[s.key] = s

    def drop_slot(self, s: Session | None, slot: int) -> None:
        """The request ended without keeping its KV (an error, a cancel): free ``slot``, forget ``s``'s cells."""
        self.llama.forget(slot)
        self.slots.give(slot)
        if s is not None:
            s.busy = False
            s.slot = s.tokens = None
            if s.ended:
                self.entries.pop(s.key, None)

    def end(self, key: Hashable) -> None:
        """``end_session(key)``: free the session's slot or host memory now (or when its request ends)."""
        s = self.entries.get(key)
        if s is None:
            return
        if s.busy:
            s.ended = True
            return
        del self.entries[key]
        if s.slot is not None:
            del self.idle[key]
            self.llama.forget(s.slot)
            self.slots.give(s.slot)
        elif s.blob is not None:
            self._unpark(s)

    def clear(self) -> None:
        """Forget every session (the engine is closing)."""
        for s in list(self.idle.values()):
            self.llama.forget(s.slot)
            self.slots.give(s.slot)
        self.entries.clear()
        self.idle.clear()
        self.parked.clear()
        self.parked_bytes = 0

    # ----------------------------------------------------------------------------- slots, parking
    def _free_slot(self, key: Hashable | None) -> int | None:
        if self.slots:
            return self.slots.take()
        if not self.idle:
            return None
        _, victim = self.idle.popitem(last=False)
        slot = victim.slot
        self._park(victim)
        return slot

    def _park(self, s: Session) -> None:
        """Move idle ``s`` out of its slot (the slot is the caller's): to host memory, or dropped."""
        slot, s.slot = s.slot, None
        blob = None
        n_cells = len(s.tokens)
        if self.cap_bytes > 0 and n_cells:
            blob = self.llama.save_sequence(slot)
        self.llama.forget(slot)
        if blob is None or blob.size > self.cap_bytes:
            self._dropped(s)
            return
        s.blob = blob
        self.parked[s.key] = s
        self.parked_bytes += blob.size
        self.counts["session_parks"] += 1
        if self.parked_bytes > self.cap_bytes:
            self._shed()

    def _shed(self) -> None:
        """Drop parked sessions until they fit under the cap, the one needed last first.

        A session with a request in the queue is needed soon. The others, in the order they
        were parked: agents' turns come back through a FIFO queue, so the session parked last
        comes back last (plain LRU would drop exactly the next ones needed). Past those, the
        queued ones go, oldest first.
        """
        queued = self.queued()
        later = [s for s in reversed(self.parked.values()) if s.key not in queued]
        soon = [s for s in self.parked.values() if s.key in queued]
        for old in later + soon:
            if self.parked_bytes <= self.cap_bytes:
                break
            self._unpark(old)
            self._dropped(old)

    def _unpark(self, s: Session) -> None:
        del self.parked[s.key]
        self.parked_bytes -= s.blob.size
        s.blob = None

    def _dropped(self, s: Session) -> None:
        s.tokens = None  # kept in entries: its next turn is counted as a fallback
        self.counts["session_drops"] += 1
