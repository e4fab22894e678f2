"""Compiled twin of agentcore.analyze.batchsim: term counts, MinHash, SimHash and LSH band keys of a whole batch, GIL released.

The crawl's analysis runs these three on every batch of pages; batchsim's numpy version holds
the GIL for most of its time (the temporaries and reductions are many small numpy calls), so the
asyncio loop that drives the fetches waits on it. Here each is one loop in C with the GIL
released. Same API, checks and bits as batchsim and both similarity twins (the constants and
the hash parameters come from ``similarity_py``; ``tests/test_analyze_batchsim.py``).
``doc_counts`` (each document's distinct terms) is a hash table per document here, where the
numpy twin sorts every token of the batch: the crawl calls it four times per batch of pages.
"""
import numpy as np

from libc.stdint cimport int32_t, int64_t, uint32_t, uint64_t

from agentcore.kernels import similarity_py as _py

__all__ = ["doc_counts", "minhash", "simhash", "band_keys"]

cdef uint64_t C1 = <uint64_t>_py._C1
cdef uint64_t C2 = <uint64_t>_py._C2
cdef uint64_t SHINGLE_SEED = <uint64_t>_py.SHINGLE_SEED
cdef uint64_t BAND_SEED = <uint64_t>_py.BAND_SEED
cdef uint32_t EMPTY = <uint32_t>_py.EMPTY


cdef inline uint64_t fmix(uint64_t h) noexcept nogil:
    h ^= h >> 33
    h *= C1
    h ^= h >> 33
    h *= C2
    h ^= h >> 33
    return h


def doc_counts(ids, offsets, inverse=False):
    """Unique terms per document, as ``similarity_py.doc_counts``: ``(uids, counts, first,
    uoffsets)`` in order of first appearance, and with ``inverse=True`` each token's entry."""
    cdef const uint64_t[::1] v = np.ascontiguousarray(_py.as_u64(ids, "ids"))
    cdef const int64_t[::1] off = np.ascontiguousarray(_py.as_offsets(offsets, v.shape[0]),
                                                       np.int64)
    cdef Py_ssize_t n = off.shape[0] - 1, total = v.shape[0], d, i, s, e, longest = 0
    for d in range(n):
        if off[d + 1] - off[d] > longest:
            longest = off[d + 1] - off[d]
    cdef Py_ssize_t size = 1
    while size < 2 * longest:
        size <<= 1
    uids_arr = np.empty(total, np.uint64)
    counts_arr = np.empty(total, np.int32)
    first_arr = np.empty(total, np.int64)
    uoff_arr = np.zeros(n + 1, np.int64)
    inv_arr = np.empty(total if inverse else 0, np.int64)
    slots_arr = np.empty(size, np.int64)
    cdef uint64_t[::1] uids = uids_arr
    cdef int32_t[::1] counts = counts_arr
    cdef int64_t[::1] first = first_arr, uoff = uoff_arr, inv = inv_arr, slots = slots_arr
    cdef bint want_inv = inverse
    cdef Py_ssize_t k = 0, mask, used, h, at
    cdef uint64_t x
    with nogil:
        for d in range(n):
            s = off[d]
            e = off[d + 1]
            used = 1
            while used < 2 * (e - s):
                used <<= 1
            mask = used - 1
            for h in range(used):
                slots[h] = -1
            for i in range(s, e):
                x = v[i]
                h = <Py_ssize_t>(fmix(x) & <uint64_t>mask)
                while True:
                    at = slots[h]
                    if at < 0:
                        slots[h] = k
                        uids[k] = x
                        counts[k] = 1
                        first[k] = i
                        at = k
                        k += 1
                        break
                    if uids[at] == x:
                        counts[at] += 1
                        break
                    h = (h + 1) & mask
                if want_inv:
                    inv[i] = at
            uoff[d + 1] = k
    out = (uids_arr[:k].copy(), counts_arr[:k].copy(), first_arr[:k].copy(), uoff_arr)
    return out + (inv_arr,) if inverse else out


def minhash(ids, offsets, num_perm=128, shingle=3, seed=1):
    """MinHash per document over its ``shingle``-grams of token ids: uint32 ``(n_docs, num_perm)``
    (a document without tokens gets every slot ``EMPTY``; one shorter than the shingle has one
    shingle, its whole length)."""
    cdef const uint64_t[::1] v = np.ascontiguousarray(_py.as_u64(ids, "ids"))
    cdef const int64_t[::1] off = np.ascontiguousarray(_py.as_offsets(offsets, v.shape[0]),
                                                       np.int64)
    if shingle < 1:
        raise ValueError(f"shingle must be >= 1, got {shingle}")
    a_arr, b_arr = _py.minhash_params(num_perm, seed)
    cdef const uint64_t[::1] a = a_arr
    cdef const uint64_t[::1] b = b_arr
    cdef Py_ssize_t n = off.shape[0] - 1, p = a.shape[0], k = shingle
    out_arr = np.empty((n, p), np.uint32)
    cdef uint32_t[:, ::1] out = out_arr
    mins_arr = np.empty(p, np.uint64)
    cdef uint64_t[::1] mins = mins_arr
    cdef Py_ssize_t d, s, e, i, q, j, kk, ns
    cdef uint64_t h, x
    with nogil:
        for d in range(n):
            s = off[d]
            e = off[d + 1]
            if s == e:
                for j in range(p):
                    out[d, j] = EMPTY
                continue
            kk = k if k < e - s else e - s
            ns = e - s - kk + 1
            for j in range(p):
                mins[j] = ~(<uint64_t>0)
            for i in range(ns):
                h = SHINGLE_SEED
                for q in range(kk):
                    h = fmix(h ^ v[s + i + q])
                for j in range(p):
                    x = h * a[j] + b[j]
                    if x < mins[j]:
                        mins[j] = x
            for j in range(p):
                out[d, j] = <uint32_t>(mins[j] >> 32)
    return out_arr


def simhash(uids, weights, uoffsets):
    """64-bit SimHash per document (uint64) from its distinct term ids and their weights."""
    cdef const uint64_t[::1] u = np.ascontiguousarray(_py.as_u64(uids, "uids"))
    cdef const int64_t[::1] w = np.ascontiguousarray(_py.quantize(weights), np.int64)
    cdef const int64_t[::1] off = np.ascontiguousarray(
        _py.as_offsets(uoffsets, u.shape[0], "uoffsets"), np.int64)
    if w.shape[0] != u.shape[0]:
        raise ValueError("weights must have one value per uid")
    cdef Py_ssize_t n = off.shape[0] - 1, d, i, bit
    out_arr = np.zeros(n, np.uint64)
    cdef uint64_t[::1] out = out_arr
    cdef int64_t acc[64]
    cdef uint64_t x, r
    with nogil:
        for d in range(n):
            for bit in range(64):
                acc[bit] = 0
            for i in range(off[d], off[d + 1]):
                x = u[i]
                for bit in range(64):
                    if (x >> bit) & 1:
                        acc[bit] += w[i]
                    else:
                        acc[bit] -= w[i]
            r = 0
            for bit in range(64):
                if acc[bit] > 0:
                    r |= (<uint64_t>1) << bit
            out[d] = r
    return out_arr


def band_keys(sigs, bands):
    """One 64-bit key per (document, band) of ``num_perm // bands`` signature slots."""
    sigs = np.ascontiguousarray(_py.as_sigs(sigs), np.uint32)
    cdef const uint32_t[:, ::1] sg = sigs
    cdef Py_ssize_t n = sg.shape[0], p = sg.shape[1]
    _py.check_bands(p, bands)
    cdef Py_ssize_t nb = bands, r = p // bands, d, bnd, q
    out_arr = np.empty((n, nb), np.uint64)
    cdef uint64_t[:, ::1] out = out_arr
    cdef uint64_t h
    with nogil:
        for d in range(n):
            for bnd in range(nb):
                h = fmix(<uint64_t>(bnd + 1) * BAND_SEED)
                for q in range(r):
                    h = fmix(h ^ <uint64_t>sg[d, bnd * r + q])
                out[d, bnd] = h
    return out_arr

