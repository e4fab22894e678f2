"""Pages to token arrays: the one kernel pass over the text that every later step reads."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

__all__ = ["Tokens", "tokenize"]


@dataclass(frozen=True, slots=True)
class Tokens:
    """The tokens of a batch of pages (layouts of ``textops.tokenize_batch`` and
    ``similarity.doc_counts``; numpy arrays)."""

    ids: Any        # uint64 token ids, page after page
    offs: Any       # int64 page boundaries into ids (pages + 1)
    flags: Any      # uint8 per token: FLAG_STOPWORD / FLAG_NOT_KEYWORD bits
    starts: Any     # int64 per token: where its normalised form starts in ``norm``
    norm: bytes     # the normalised tokens, each followed by one space
    uids: Any       # uint64 distinct ids of each page, in order of first appearance
    counts: Any     # int32 occurrences of each distinct id in its page
    first: Any      # int64 index into ids of each distinct id's first occurrence
    uoff: Any       # int64 page boundaries into uids / counts / first


def tokenize(textops, similarity, texts: Sequence) -> Tokens:
    """Tokenize ``texts`` and count each page's distinct words (no GIL held in the kernels)."""
    import numpy as np

    ids, offs, flags, starts, norm = textops.tokenize_batch(texts)
    ids = np.frombuffer(ids, np.uint64)
    offs = np.frombuffer(offs, np.int64)
    uids, counts, first, uoff = similarity.doc_counts(ids, offs)
    return Tokens(ids=ids, offs=offs, flags=np.frombuffer(flags, np.uint8),
                  starts=np.frombuffer(starts, np.int64), norm=norm, uids=uids, counts=counts,
                  first=first, uoff=uoff)
