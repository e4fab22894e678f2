"""Near-duplicate and keyword math on token-id arrays: Numba ``_similarity`` unless AGENTCORE_NO_EXTENSIONS=1.

Input is the flat layout of ``agentcore.kernels.textops.tokenize_batch`` (ids + per-document offsets)::

    >>> import numpy as np
    >>> from agentcore.kernels import similarity, textops
    >>> ids, offs, *_ = textops.tokenize_batch(["a b c d e f", "a b c d e g", "x y z"])
    >>> sigs = similarity.minhash(np.frombuffer(ids, np.uint64), offs, num_perm=64, shingle=1)
    >>> similarity.lsh_pairs(sigs, bands=32).tolist()
    [[0, 1]]

Numba is imported on the first call (``import agentcore`` never pays for it); the kernels hold no
GIL, so callers parallelise them with their own threads.
"""
from agentcore.kernels import pick

_impl = pick("agentcore.kernels._similarity", "agentcore.kernels.similarity_py")
COMPILED = _impl.__name__ == "agentcore.kernels._similarity"

doc_counts = _impl.doc_counts
tfidf = _impl.tfidf
quantize = _impl.quantize
topk = _impl.topk
simhash = _impl.simhash
minhash = _impl.minhash
band_keys = _impl.band_keys
lsh_pairs = _impl.lsh_pairs
pair_jaccard = _impl.pair_jaccard
pair_hamming = _impl.pair_hamming
df_add = _impl.df_add
df_lookup = _impl.df_lookup
EMPTY = _impl.EMPTY

__all__ = ["doc_counts", "tfidf", "quantize", "topk", "simhash", "minhash", "band_keys",
           "lsh_pairs", "pair_jaccard", "pair_hamming", "df_add", "df_lookup", "EMPTY", "COMPILED"]
