"""Next-token choice per sequence: greedy argmax for a whole step, seeded llama.cpp chains, JSON grammars."""
from __future__ import annotations

import json

import numpy as np

from agentcore.llm.grammar import CandidateScratch, GrammarMatcher, schema_to_gbnf


class ChainSampler:
    """``temperature > 0``: llama.cpp's top-k / top-p / min-p / temperature / seeded-dist chain."""

    def __init__(self, lib, req):
        self.lib = lib
        chain = lib.llama_sampler_chain_init(lib.llama_sampler_chain_default_params())
        if req.top_k and req.top_k > 0:
            lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_top_k(req.top_k))
        if req.top_p and req.top_p < 1:
            lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_top_p(req.top_p, 1))
        if req.min_p and req.min_p > 0:
            lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_min_p(req.min_p, 1))
        lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_temp(req.temperature))
        seed = lib.LLAMA_DEFAULT_SEED if req.seed is None else int(req.seed) & 0xFFFFFFFF
        lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_dist(seed))
        self.chain = chain

    def sample(self, ctx, idx: int) -> int:
        """Sample from the logits of batch index ``idx`` (the chain accepts the token itself)."""
        return int(self.lib.llama_sampler_sample(self.chain, ctx, idx))

    def free(self) -> None:
        if self.chain is not None:
            self.lib.llama_sampler_free(self.chain)
            self.chain = None


class GrammarSampler:
    """A JSON-schema request: the top-K grammar check of :class:`GrammarMatcher`, sampled with its own rng."""

    def __init__(self, matcher: GrammarMatcher, temperature: float, seed: int | None):
        self.matcher = matcher
        self.temperature = temperature
        self.rng = np.random.default_rng(seed)

    def pick(self, row) -> int | None:
        """The next token for logits ``row``; None when the grammar allows none."""
        return self.matcher.pick(row, self.temperature, self.rng)

    def accept(self, tok: int) -> None:
        self.matcher.accept(tok)

    @property
    def fallbacks(self) -> int:
        """Steps whose top-K candidates all failed the grammar (a wider check ran)."""
        return self.matcher.fallbacks

    def free(self) -> None:
        self.matcher.free()


class Samplers:
    """Makes each request's sampler and picks a decode step's tokens; owns the shared grammar state."""

    def __init__(self, llama, grammar_top_k: int):
        self.llama = llama  # a LlamaContext
        self.grammar_top_k = grammar_top_k
        self._scratch: CandidateScratch | None = None
        self._gbnf: dict[str, str] = {}

    def grammar(self, schema: dict) -> str:
        """The GBNF grammar for ``schema`` (cached by its JSON text); raises SchemaError (a ValueError)."""
        key = json.dumps(schema, sort_keys=True)
        got = self._gbnf.get(key)
        if got is None:
            got = self._gbnf[key] = schema_to_gbnf(schema)
        return got

    def for_request(self, req) -> ChainSampler | GrammarSampler | None:
        """The sampler ``req`` needs; None means greedy (argmax, batched over the step)."""
        llama = self.llama
        if req.gbnf is not None:
            if self._scratch is None:
                self._scratch = CandidateScratch(llama.lib, llama.n_vocab, self.grammar_top_k)
            return GrammarSampler(GrammarMatcher(llama.lib, llama.vocab, req.gbnf, self._scratch),
                                  req.temperature, req.seed)
        if req.temperature > 0:
            return ChainSampler(llama.lib, req)
        return None

    def pick(self, rows: list) -> tuple[list, list]:
        """Next tokens for ``rows`` = [(sequence, batch index)], in logits-row order.

        Returns ``(picks, dead)``: ``picks`` are (sequence, token), the sampled ones in row order
        and then the greedy ones; ``dead`` are the sequences whose grammar allowed no token.
        """
        if not rows:
            return [], []
        logits = self.llama.logits(len(rows))
        picks, dead, greedy_rows, greedy_seqs = [], [], [], []
        for r, (seq, idx) in enumerate(rows):
            s = seq.sampler
            if s is None:
                greedy_rows.append(r)
                greedy_seqs.append(seq)
            elif isinstance(s, GrammarSampler):
                tok = s.pick(logits[r])
                if tok is None:
                    dead.append(seq)
                else:
                    picks.append((seq, tok))
            else:
                picks.append((seq, s.sample(self.llama.ctx, idx)))
        if greedy_rows:
            best = logits[greedy_rows].argmax(axis=1) if len(greedy_rows) < len(rows) else logits.argmax(axis=1)
            picks.extend(zip(greedy_seqs, best.tolist()))
        return picks, dead
