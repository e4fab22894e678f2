"""Whole-batch numpy term counts, MinHash, SimHash and LSH band keys: the pure twin of ``kernels/_signatures.pyx``.

Numba costs a crawl ~110 MB of resident memory and ~0.8 s of CPU to load its cached machine code,
more than the crawl's analysis itself on pages of a few hundred words. These three kernels are
the only per-document loops of the pure twin (``agentcore.kernels.similarity_py``); here each
runs over a whole batch at once in bounded chunks, bit for bit the same as both twins
(``tests/test_analyze_batchsim.py``). Everything else comes from the pure twin, which is already
vectorised. The Cython twin runs the same three loops with the GIL released: here most of the
time is spent in many small numpy calls that hold it (a crawl's asyncio loop waited on them).
"""
from __future__ import annotations

import numpy as np

from agentcore.kernels import similarity_py as py

__all__ = ["doc_counts", "minhash", "simhash", "band_keys"]

#: each document's distinct terms: the pure twin's sort of the whole batch (already vectorised)
doc_counts = py.doc_counts

U64 = np.uint64
#: rows (shingles or distinct terms) per chunk: bounds the (rows, 128) temporaries to ~2 MB
CHUNK = 2048


def minhash(ids, offsets, num_perm=128, shingle=3, seed=1):
    """MinHash per document over its ``shingle``-grams of token ids: uint32 ``(n_docs, num_perm)``
    (``similarity_py.minhash``'s values; a document without tokens gets every slot ``EMPTY``)."""
    ids = py.as_u64(ids, "ids")
    offsets = py.as_offsets(offsets, ids.size)
    if shingle < 1:
        raise ValueError(f"shingle must be >= 1, got {shingle}")
    a, b = py.minhash_params(num_perm, seed)
    n = offsets.size - 1
    lens = np.diff(offsets)
    # prefix hashes: h[q][p] hashes ids[p : p + q + 1]; a document shorter than the shingle has
    # one shingle, its whole length, at its start
    hs = []
    h = np.full(ids.size, py.SHINGLE_SEED, np.uint64)
    for q in range(shingle):
        x = np.zeros(ids.size, np.uint64)
        x[:ids.size - q] = ids[q:]
        h = py.fmix(h ^ x)
        hs.append(h)
    kk = np.minimum(lens, shingle)
    ns = np.where(lens > 0, lens - kk + 1, 0)
    doc = np.repeat(np.arange(n, dtype=np.int64), ns)
    pos = np.arange(doc.size, dtype=np.int64) - np.repeat(np.cumsum(ns) - ns, ns) + offsets[:-1][doc]
    sh = hs[-1][pos]
    for q in range(1, shingle):  # documents of q words: their one shingle is shorter
        short = np.flatnonzero(lens == q)
        sh[np.searchsorted(doc, short)] = hs[q - 1][offsets[short]]
    # (h * a + b) >> 32 keeps the order of h * a + b, so the minimum is taken first and shifted
    # once per slot, not once per shingle
    mins = np.full((n, num_perm), np.iinfo(np.uint64).max, np.uint64)
    buf = np.empty((CHUNK, num_perm), np.uint64)
    for c in range(0, sh.size, CHUNK):
        rows = sh[c:c + CHUNK]
        v = buf[:rows.size]
        np.multiply(rows[:, None], a[None, :], out=v)
        v += b
        cd = doc[c:c + CHUNK]
        seg = np.concatenate(([0], np.flatnonzero(np.diff(cd)) + 1))
        part = np.minimum.reduceat(v, seg, axis=0)
        sd = cd[seg]
        np.minimum(mins[sd], part, out=part)
        mins[sd] = part
    mins >>= U64(32)
    out = mins.astype(np.uint32)
    out[lens == 0] = py.EMPTY
    return out


def simhash(uids, weights, uoffsets):
    """64-bit SimHash per document (uint64) from its distinct term ids and their weights
    (``similarity_py.simhash``'s values)."""
    uids = py.as_u64(uids, "uids")
    wq = py.quantize(weights)
    uoffsets = py.as_offsets(uoffsets, uids.size, "uoffsets")
    if wq.size != uids.size:
        raise ValueError("weights must have one value per uid")
    n = uoffsets.size - 1
    # sum((2 bit - 1) w) > 0  <=>  2 sum(bit w) > sum(w): one pass of bits times weights
    total = np.zeros(n, np.int64)
    ones = np.zeros((n, 64), np.int64)
    doc = np.repeat(np.arange(n, dtype=np.int64), np.diff(uoffsets))
    for c in range(0, uids.size, CHUNK):
        u = uids[c:c + CHUNK]
        bits = np.unpackbits(u.astype("<u8", copy=False).view(np.uint8).reshape(-1, 8), axis=1, bitorder="little")
        w = wq[c:c + CHUNK]
        cd = doc[c:c + CHUNK]
        seg = np.concatenate(([0], np.flatnonzero(np.diff(cd)) + 1))
        ones[cd[seg]] += np.add.reduceat(bits * w[:, None], seg, axis=0)
        total[cd[seg]] += np.add.reduceat(w, seg)
    set_bits = (2 * ones > total[:, None]).astype(np.uint64) << np.arange(64, dtype=np.uint64)
    return np.bitwise_or.reduce(set_bits, axis=1)

def band_keys(sigs, bands):
    """One 64-bit key per (document, band) of ``num_perm // bands`` slots (``similarity_py``'s)."""
    sigs = py.as_sigs(sigs)
    n, p = sigs.shape
    py.check_bands(p, bands)
    r = p // bands
    seeds = np.array([(bnd + 1) * py.BAND_SEED & ((1 << 64) - 1) for bnd in range(bands)],
                     np.uint64)
    h = py.fmix(np.broadcast_to(seeds, (n, bands)).copy())
    slots = sigs.reshape(n, bands, r)
    for q in range(r):
        h = py.fmix(h ^ slots[:, :, q].astype(np.uint64))
    return h

