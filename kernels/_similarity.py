"""Compiled (Numba) twin of agentcore.kernels.similarity_py: same API, same results, runs without the GIL.

Numba loads on the first call, not on import, so importing this module stays cheap; argument
checks and hash parameters come from the pure twin so both produce bit-identical signatures.
The Numba bodies live in the private ``_similarity_jit``: it is this twin's other half (split
off only so that importing numba waits for the first call), and only this module loads it.
"""
import numpy as np

from agentcore.kernels import similarity_py as _py
from agentcore.kernels.similarity_py import EMPTY, quantize  # noqa: F401  (re-exported: same API)

__all__ = _py.__all__

_jit = None


def _k():
    global _jit
    if _jit is None:
        from agentcore.kernels import _similarity_jit
        _jit = _similarity_jit
    return _jit


def doc_counts(ids, offsets, inverse=False):
    """Unique terms per document: ``(uids, counts, first, uoffsets)``.

    ``uids`` (uint64) are each document's distinct ids in order of first appearance, ``counts``
    (int32) how often each occurs, ``first`` (int64) the index into ``ids`` of its first
    occurrence (where its surface form is), and ``uoffsets`` (int64) the per-document ranges into
    those arrays. With ``inverse=True`` a fifth array maps every token to its entry in ``uids``.
    """
    ids = _py.as_u64(ids, "ids")
    offsets = _py.as_offsets(offsets, ids.size)
    out = _k().doc_counts(ids, offsets, bool(inverse))
    return out if inverse else out[:4]


def tfidf(counts, df, n_docs):
    """``(1 + ln count) * (ln((1 + n_docs) / (1 + df)) + 1)`` per term (scikit-learn's smooth idf
    with sublinear tf), float64."""
    counts = np.ascontiguousarray(counts, np.int64)
    df = np.ascontiguousarray(df, np.int64)
    if counts.shape != df.shape:
        raise ValueError(f"counts {counts.shape} and df {df.shape} must have the same length")
    return _k().tfidf(counts, df, float(n_docs))


def topk(weights, eligible, first, uoffsets, k):
    """Per document, the indexes (into ``uids``) of its ``k`` heaviest eligible terms: int64
    ``(n_docs, k)``, -1 where a document has fewer. Ties go to the term that appears first."""
    wq = quantize(weights)
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    return _k().topk(wq, np.ascontiguousarray(eligible, np.bool_),
                     np.ascontiguousarray(first, np.int64),
                     _py.as_offsets(uoffsets, wq.size, "uoffsets"), int(k))


def simhash(uids, weights, uoffsets):
    """64-bit SimHash per document (uint64) from its distinct term ids and their weights."""
    uids = _py.as_u64(uids, "uids")
    wq = quantize(weights)
    if wq.size != uids.size:
        raise ValueError("weights must have one value per uid")
    return _k().simhash(uids, wq, _py.as_offsets(uoffsets, uids.size, "uoffsets"))


def minhash(ids, offsets, num_perm=128, shingle=3, seed=1):
    """MinHash signature per document over its ``shingle``-grams of token ids: uint32
    ``(n_docs, num_perm)``; a document without tokens gets every slot ``EMPTY``."""
    ids = _py.as_u64(ids, "ids")
    offsets = _py.as_offsets(offsets, ids.size)
    if shingle < 1:
        raise ValueError(f"shingle must be >= 1, got {shingle}")
    a, b = _py.minhash_params(num_perm, seed)
    return _k().minhash(ids, offsets, a, b, int(shingle))


def band_keys(sigs, bands):
    """One 64-bit key per (document, band) of ``num_perm // bands`` signature slots."""
    sigs = _py.as_sigs(sigs)
    _py.check_bands(sigs.shape[1], bands)
    return _k().band_keys(sigs, int(bands))


def lsh_pairs(sigs, bands=32, max_bucket=64):
    """Candidate near-duplicate row pairs (int64 ``(m, 2)``, ``i < j``, sorted, unique): rows that
    agree on every slot of at least one band. Empty documents never pair. A bucket with more than
    ``max_bucket`` rows pairs each with its first row only (linear, and still links them)."""
    sigs = _py.as_sigs(sigs)
    keys = band_keys(sigs, bands)
    n = sigs.shape[0]
    valid = np.flatnonzero(~np.all(sigs == EMPTY, axis=1)).astype(np.int64)
    codes = _k().lsh_codes(keys, valid, int(max_bucket))
    return np.stack((codes // max(n, 1), codes % max(n, 1)), axis=1).astype(np.int64)


def pair_jaccard(sigs, pairs):
    """Estimated Jaccard similarity (float64) of each row pair: the share of equal slots."""
    sigs = _py.as_sigs(sigs)
    return _k().pair_jaccard(sigs, _py.as_pairs(pairs, sigs.shape[0]))


def pair_hamming(hashes, pairs):
    """Bits that differ (int64) between the SimHashes of each row pair."""
    hashes = _py.as_u64(hashes, "hashes")
    return _k().pair_hamming(hashes, _py.as_pairs(pairs, hashes.size))


def df_add(table, uids):
    """Count each document's distinct ids into the hashed document-frequency ``table`` (in place;
    its length must be a power of two)."""
    _k().df_add(table, _py.as_u64(uids, "uids"))


def df_lookup(table, uids):
    """Document frequencies (int64) of ``uids`` in the hashed ``table``."""
    return _k().df_lookup(table, _py.as_u64(uids, "uids"))
