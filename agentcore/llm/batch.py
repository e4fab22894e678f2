"""The token batch of one decode step: numpy-owned arrays that a ``llama_batch`` struct points into."""
from __future__ import annotations

import ctypes

import numpy as np


class TokenBatch:
    """Up to ``capacity`` (token, position, sequence, wants-logits) entries for one ``llama_decode``.

    Filling a step is a few vectorized slice assignments instead of a Python loop per token.
    """

    def __init__(self, lib, capacity: int):
        self.capacity = capacity
        self.tok = np.zeros(capacity, np.int32)
        self.pos = np.zeros(capacity, np.int32)
        self.nseq = np.ones(capacity, np.int32)  # one sequence id per token
        self.seq = np.zeros(capacity, np.int32)
        self.seqp = (self.seq.ctypes.data + 4 * np.arange(capacity)).astype(np.uintp)
        self.logits = np.zeros(capacity, np.int8)
        b = self.struct = lib.llama_batch()
        b.token = self.tok.ctypes.data_as(ctypes.POINTER(lib.llama_token))
        b.embd = None
        b.pos = self.pos.ctypes.data_as(ctypes.POINTER(lib.llama_pos))
        b.n_seq_id = self.nseq.ctypes.data_as(ctypes.POINTER(ctypes.c_int32))
        b.seq_id = self.seqp.ctypes.data_as(ctypes.POINTER(ctypes.POINTER(lib.llama_seq_id)))
        b.logits = self.logits.ctypes.data_as(ctypes.POINTER(ctypes.c_int8))
        self.n = 0

    def clear(self) -> None:
        self.n = 0
        self.struct.n_tokens = 0

    def add(self, seq_id: int, tokens, first_pos: int, logits_last: bool) -> int:
        """Append ``tokens`` of sequence ``seq_id`` at positions from ``first_pos``.

        Returns the batch index whose logits will be computed (the last token's when
        ``logits_last``), else -1.
        """
        n, c = self.n, len(tokens)
        if c == 1:
            self.tok[n] = tokens[0]
            self.pos[n] = first_pos
            self.seq[n] = seq_id
        else:
            self.tok[n:n + c] = tokens
            self.pos[n:n + c] = np.arange(first_pos, first_pos + c, dtype=np.int32)
            self.seq[n:n + c] = seq_id
        self.logits[n:n + c] = 0
        last = -1
        if logits_last:
            last = n + c - 1
            self.logits[last] = 1
        self.n = n + c
        self.struct.n_tokens = self.n
        return last

    def add_filler(self, seq_id: int, pos: int) -> None:
        """A throw-away token of sequence ``seq_id`` at ``pos`` (the caller removes that KV cell after decoding).

        ``pos`` past every position the sequence holds leaves its real cells untouched.
        """
        self.add(seq_id, (0,), pos, False)
