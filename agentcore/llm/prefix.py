"""The shared-prefix cache: system prompts prefilled once in KV slots of their own, copied into each chat."""
from __future__ import annotations

import time


class Prefix:
    """One shared prompt prefix, prefilled in its own slot; ready once every token is decoded."""

    __slots__ = ("key", "tokens", "slot", "n_past", "ready", "waiters", "last_used")
    wants_logits = False  # nothing is sampled after a prefix

    def __init__(self, key: tuple, tokens, slot: int):
        self.key, self.tokens, self.slot = key, tokens, slot
        self.n_past = 0
        self.ready = False
        self.waiters = 0  # sequences waiting for it to become ready
        self.last_used = 0.0

    def pending_tokens(self):
        """Tokens not decoded yet."""
        return self.tokens[self.n_past:]


class PrefixCache:
    """Up to ``len(slots)`` prefixes; when full, the least recently used idle one is evicted."""

    def __init__(self, llama, slots: list[int]):
        self.llama = llama  # a LlamaContext
        self._free_slots = slots  # popped from the end
        self.entries: dict[tuple, Prefix] = {}

    def get(self, key: tuple, tokens) -> Prefix | None:
        """The prefix for ``key`` (``tokens`` are its ids), created if a slot is free or can be freed.

        None when every prefix slot is busy filling: the caller then prefills on its own.
        """
        pre = self.entries.get(key)
        if pre is None:
            if not self._free_slots and not self._evict_one():
                return None
            pre = Prefix(key, tokens.copy(), self._free_slots.pop())
            self.entries[key] = pre
        pre.last_used = time.monotonic()
        return pre

    def _evict_one(self) -> bool:
        idle = [p for p in self.entries.values() if p.waiters == 0 and p.ready]
        if not idle:
            return False
        victim = min(idle, key=lambda p: p.last_used)
        self.remove(victim)
        return True

    def filling(self) -> list[Prefix]:
        """Prefixes still being prefilled, in creation order."""
        return [p for p in self.entries.values() if not p.ready]

    def copy_into(self, pre: Prefix, slot: int) -> None:
        """Give sequence ``slot`` the KV cells of the ready prefix ``pre``."""
        self.llama.copy_sequence(pre.slot, slot)

    def remove(self, pre: Prefix) -> None:
        """Forget ``pre`` and free its slot (its waiters are the caller's to fail)."""
        self.entries.pop(pre.key, None)
        self.llama.forget(pre.slot)
        self._free_slots.append(pre.slot)


def common_prefix(a, b) -> int:
    """Length of the longest common prefix of the token lists ``a`` and ``b``."""
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i
