"""Keyword weighting: hashed document frequencies and each page's heaviest TF-IDF words."""
from __future__ import annotations

import math
import threading

from agentcore.analyze.tokens import Tokens

__all__ = ["DocFrequencies", "idf", "top_keywords"]


class DocFrequencies:
    """In how many pages each word occurred: ``2**bits`` hashed int32 slots (4 bytes each).

    The table is made on first use, so a corpus that is never fed costs no memory.
    """

    def __init__(self, bits: int):
        self.bits = bits
        self._table = None
        self._lock = threading.Lock()

    @property
    def table(self):
        """The numpy int32 table (the kernels' ``df_add`` / ``df_lookup`` read and write it)."""
        if self._table is None:
            with self._lock:    # two first callers must not make two tables
                if self._table is None:
                    import numpy as np

                    self._table = np.zeros(1 << self.bits, np.int32)
        return self._table

    def of_word(self, textops, similarity, word: str) -> int:
        """In how many pages ``word`` (normalised like the tokenizer does) occurred."""
        import numpy as np

        h = textops.hash_word(word)
        if not h:
            return 0
        return int(similarity.df_lookup(self.table, np.array([h], np.uint64))[0])


def idf(n_docs: int, df: int) -> float:
    """Smoothed inverse document frequency ``ln((1 + N) / (1 + df)) + 1``."""
    return math.log((1 + n_docs) / (1 + df)) + 1.0


def top_keywords(similarity, tokens: Tokens, table, n_docs: int, k: int) -> list:
    """Per page of ``tokens``: its ``k`` heaviest TF-IDF keywords as ``[(word, weight)]``,
    heaviest first; stopwords and tokens flagged as no keyword are never chosen."""
    import numpy as np

    c = tokens
    df = similarity.df_lookup(table, c.uids)
    w = similarity.tfidf(c.counts, df, n_docs)
    eligible = c.flags[c.first] == 0
    top = similarity.topk(w, eligible, c.first, c.uoff, k)
    # Gather every keyword's bytes from ``norm`` into one space-separated blob with numpy and
    # decode it once: per-keyword slicing and decoding in Python held the GIL longer than the
    # kernels ran.
    valid = top >= 0
    chosen = top[valid]
    starts = c.starts
    norm = np.frombuffer(c.norm, np.uint8)
    lens = np.diff(np.append(starts, norm.size)) - 1      # every token ends in one space
    tok = c.first[chosen]
    src, ln = starts[tok], lens[tok]
    dst = np.cumsum(ln + 1) - (ln + 1)
    blob = np.full(int((ln + 1).sum()), 0x20, np.uint8)
    if ln.size:
        char = np.arange(int(ln.sum())) - np.repeat(np.cumsum(ln) - ln, ln)
        blob[np.repeat(dst, ln) + char] = norm[np.repeat(src, ln) + char]
    pairs = list(zip(blob.tobytes().decode("utf-8").split(" "), w[chosen].tolist()))
    out, at = [], 0
    for n in valid.sum(axis=1).tolist():
        out.append(pairs[at:at + n])
        at += n
    return out
