"""Keyword weighting: each page's heaviest words by their own term frequency, nothing else.

A keyword's weight is ``1 + ln(count)`` (sublinear term frequency) in the page itself, rounded to
1/4096: it does not depend on any other page, so a crawl gives every page the same keywords
whatever order its pages arrive in, and sums of weights (a site's keywords) are exact in any
order. Stopwords (the tokenizer's English ones and :mod:`agentcore.analyze.stopwords`) and tokens
flagged as no keyword are never chosen.
"""
from __future__ import annotations

from agentcore.analyze.stopwords import is_stop
from agentcore.analyze.tokens import Tokens

__all__ = ["WEIGHT_STEP", "term_weights", "content_terms", "top_keywords"]

#: Weights are multiples of this (the kernels' top-k compares them in these units): a sum of
#: them is exact in float64, so SQL's SUM gives the same total in any row order.
WEIGHT_STEP = 1.0 / 4096


def term_weights(counts):
    """``1 + ln(count)`` per distinct term, rounded to :data:`WEIGHT_STEP` (float64 array)."""
    import numpy as np

    w = 1.0 + np.log(np.asarray(counts, np.float64))
    return np.floor(w / WEIGHT_STEP + 0.5) * WEIGHT_STEP


def content_terms(textops, flags, uids, first):
    """Which distinct terms can carry content: not flagged by the tokenizer, not a stopword."""
    return (flags[first] == 0) & ~is_stop(textops, uids)


def top_keywords(textops, similarity, tokens: Tokens, k: int) -> list:
    """Per page of ``tokens``: its ``k`` heaviest keywords as ``[(word, weight)]``, heaviest
    first, ties to the word that appears first."""
    import numpy as np

    c = tokens
    w = term_weights(c.counts)
    eligible = content_terms(textops, c.flags, c.uids, c.first)
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
