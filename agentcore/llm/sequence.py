"""One request's decoding state while it holds a slot: its SeqState, tokens fed so far and still to feed."""
from __future__ import annotations

import enum


class SeqState(enum.Enum):
    """Where a sequence is; the scheduler moves it WAIT_PREFIX -> PREFILL -> GENERATE, then frees it."""

    WAIT_PREFIX = "wait_prefix"  # its shared prefix is still being prefilled in the prefix's slot
    PREFILL = "prefill"  # prompt tokens left to decode
    GENERATE = "generate"  # every prompt token decoded; each step feeds the last sampled token


class Sequence:
    """A request in slot ``slot``: prompt ``req.tokens`` then the ``gen`` tokens sampled so far.

    ``n_past`` counts the tokens already in the slot's KV cells; :meth:`pending_tokens` is what the
    next batch entries must feed (a prompt chunk, or the last sampled token).
    """

    __slots__ = ("req", "slot", "state", "n_past", "n_prompt", "gen", "pieces", "sampler", "prefix", "cached",
                 "session", "from_session", "path")
    wants_logits = True  # a step that feeds the last pending token samples the next one

    def __init__(self, req, slot: int):
        self.req = req
        self.slot = slot
        self.state = SeqState.PREFILL
        self.n_past = 0
        self.n_prompt = len(req.tokens)
        self.gen: list[int] = []
        self.pieces: list[bytes] = []  # the bytes of each generated token
        self.sampler = None  # None: greedy (see agentcore.llm.sampling)
        self.prefix = None  # the shared Prefix it started from, if any
        self.cached = 0  # prompt tokens copied from that prefix
        self.session = None  # the agentcore.llm.sessions.Session this request continues, if any
        self.from_session = 0  # prompt tokens whose KV the session already held
        self.path = ""  # how the session was found (see agentcore.llm.sessions)

    def kv_tokens(self):
        """The token ids the slot's KV cells hold now: the prompt, then the generated tokens decoded."""
        import numpy as np

        if self.n_past <= self.n_prompt:
            return self.req.tokens[:self.n_past]
        return np.concatenate([self.req.tokens, np.asarray(self.gen[:self.n_past - self.n_prompt], np.int32)])

    def pending_tokens(self):
        """Tokens to feed before the next sample: the prompt's rest, else the tokens not yet decoded."""
        if self.n_past < self.n_prompt:
            return self.req.tokens[self.n_past:]
        return self.gen[self.n_past - self.n_prompt:]

    def text(self) -> str:
        """The generated text so far."""
        return b"".join(self.pieces).decode("utf-8", "replace")
