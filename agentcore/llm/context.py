"""The llama.cpp model and context one engine owns: creation with clear errors, tokens, KV cells, release."""
from __future__ import annotations

import ctypes
import os
import threading

import numpy as np

from agentcore.llm import bindings


class LlamaContext:
    """A loaded model plus a context of ``n_seq`` sequences of ``n_ctx_per_seq`` tokens each.

    ``lib`` is the ``llama_cpp`` module; ``model``, ``ctx``, ``vocab`` and ``mem`` are its handles
    (for tools that drive llama.cpp directly, such as :class:`agentcore.llm.grammar.GrammarMatcher`).
    ``model`` may be a handle loaded already (the engine's lanes share one copy of the weights):
    the context then leaves freeing it to its owner.
    """

    def __init__(self, model_path: str | os.PathLike, *, n_seq: int, n_ctx_per_seq: int, n_batch: int,
                 n_ubatch: int, n_threads: int, flash_attn: bool, kv_unified: bool, model=None):
        ll = self.lib = bindings.load()
        self.owns_model = model is None
        self.model = bindings.load_model(model_path) if model is None else model
        self.vocab = ll.llama_model_get_vocab(self.model)
        self.n_vocab: int = ll.llama_vocab_n_tokens(self.vocab)

        cp = ll.llama_context_default_params()
        cp.n_seq_max = n_seq
        cp.n_ctx = n_ctx_per_seq * n_seq
        cp.n_batch = n_batch
        cp.n_ubatch = min(n_ubatch, n_batch)
        # One KV stream per sequence (the default): attention cost stays per sequence instead of
        # growing with every slot's cells, which is what makes 64-256 slots pay off.
        cp.kv_unified = kv_unified
        cp.flash_attn_type = 1 if flash_attn else 0
        cp.n_threads = cp.n_threads_batch = n_threads
        cp.no_perf = True
        self.ctx = ll.llama_init_from_model(self.model, cp)
        if not self.ctx:
            if self.owns_model:
                ll.llama_model_free(self.model)
            self.model = None
            raise MemoryError(f"llama.cpp could not create a context of {n_seq} x {n_ctx_per_seq} tokens; "
                              "lower n_slots or n_ctx_per_seq")
        self.threads = n_threads
        self.n_seq = n_seq
        self.n_ctx_per_seq: int = ll.llama_n_ctx_seq(self.ctx)  # llama.cpp rounds up to 256
        self.mem = ll.llama_get_memory(self.ctx)
        self.template: bytes | None = ll.llama_model_chat_template(self.model, None)
        self.add_bos = bool(ll.llama_vocab_get_add_bos(self.vocab))
        self.is_eog = np.array([bool(ll.llama_vocab_is_eog(self.vocab, t)) for t in range(self.n_vocab)])
        self._pieces: dict[int, bytes] = {}
        self._piece_buf = ctypes.create_string_buffer(256)
        self._lock = threading.Lock()

    def tokenize(self, text: str) -> list[int]:
        """Token ids of ``text`` (special tokens parsed; BOS added when the model wants it)."""
        return bindings.tokenize(self.vocab, text, add_special=self.add_bos, parse_special=True)

    def piece(self, tok: int) -> bytes:
        """The bytes token ``tok`` stands for (cached: every generated token needs its piece)."""
        p = self._pieces.get(tok)
        if p is None:
            n = self.lib.llama_token_to_piece(self.vocab, tok, self._piece_buf, 256, 0, False)
            p = self._pieces[tok] = self._piece_buf.raw[:max(n, 0)]
        return p

    def set_threads(self, n: int) -> None:
        """Run the next decodes on ``n`` threads (a no-op when unchanged)."""
        if n != self.threads:
            self.lib.llama_set_n_threads(self.ctx, n, n)
            self.threads = n

    def decode(self, batch) -> int:
        """``llama_decode`` of a filled ``llama_batch``: 0 ok, 1 no KV slot (memory unchanged), else failed."""
        return self.lib.llama_decode(self.ctx, batch)

    def logits(self, n_rows: int):
        """The last decode's logits as an ``(n_rows, n_vocab)`` float32 view (valid until the next decode)."""
        return np.ctypeslib.as_array(self.lib.llama_get_logits(self.ctx), shape=(n_rows, self.n_vocab))

    def forget(self, seq_id: int, from_pos: int = -1) -> None:
        """Drop the KV cells of sequence ``seq_id`` (all, or those at positions >= ``from_pos``)."""
        self.lib.llama_memory_seq_rm(self.mem, seq_id, from_pos, -1)

    def next_pos(self, seq_id: int) -> int:
        """The position a new token of sequence ``seq_id`` must take (llama.cpp wants them consecutive)."""
        return self.lib.llama_memory_seq_pos_max(self.mem, seq_id) + 1

    def copy_sequence(self, src: int, dst: int) -> None:
        """Copy the KV cells of sequence ``src`` into ``dst``."""
        # With kv_unified=false each sequence is its own KV stream and seq_cp must copy it whole.
        self.lib.llama_memory_seq_cp(self.mem, src, dst, -1, -1)

    def save_sequence(self, seq_id: int):
        """The KV cells of sequence ``seq_id`` as bytes in a uint8 array (for :meth:`load_sequence`); None if empty."""
        ll = self.lib
        size = ll.llama_state_seq_get_size(self.ctx, seq_id)
        if size <= 0:
            return None
        blob = np.empty(size, np.uint8)
        got = ll.llama_state_seq_get_data(self.ctx, blob.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8)), size, seq_id)
        return blob if got == size else None

    def load_sequence(self, blob, seq_id: int) -> bool:
        """Put the cells of :meth:`save_sequence` into the empty sequence ``seq_id``; False if llama.cpp refused."""
        ptr = blob.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8))
        if self.lib.llama_state_seq_set_data(self.ctx, ptr, blob.size, seq_id) == blob.size:
            return True
        self.forget(seq_id)  # a partial load leaves nothing half-restored
        return False

    def close(self) -> None:
        """Free the context, and the model when this context loaded it (idempotent)."""
        with self._lock:
            if self.ctx:
                self.lib.llama_free(self.ctx)
                self.ctx = None
            if self.model and self.owns_model:
                self.lib.llama_model_free(self.model)
            self.model = None
