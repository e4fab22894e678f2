"""Numba bodies of the similarity kernels (imports numba; load only through agentcore.kernels._similarity).

Every function is ``nogil`` so the analysis pool's threads run them in parallel, and ``cache=True``
so a new process loads machine code instead of compiling (about a second per function). No
``parallel=True``: the caller's pool owns the threads, so Numba's own pool never oversubscribes.
"""
import numpy as np
from numba import njit

from agentcore.kernels import similarity_py as _py
from agentcore.kernels.similarity_py import BAND_SEED, EMPTY, SHINGLE_SEED

U64 = np.uint64
_S32 = U64(32)
_ONE = U64(1)
_SHINGLE_SEED = U64(SHINGLE_SEED)
_BAND_SEED = U64(BAND_SEED)
_EMPTY = np.uint32(EMPTY)
_MAX64 = U64(0xFFFFFFFFFFFFFFFF)

_jit = njit(nogil=True, cache=True)


#: the pure twin's MurmurHash3 finaliser, compiled for scalars (one definition, both twins' bits)
_fmix = njit(nogil=True, cache=True, inline="always")(_py.fmix)


@_jit
def doc_counts(ids, offsets, want_inverse):
    n = offsets.shape[0] - 1
    m = ids.shape[0]
    # np.empty leaves pages untouched until written: a page with few distinct words costs
    # memory for its distinct words, not for its length.
    uids = np.empty(m, np.uint64)
    counts = np.empty(m, np.int32)
    first = np.empty(m, np.int64)
    uoff = np.zeros(n + 1, np.int64)
    inv = np.empty(m if want_inverse else 0, np.int64)
    # Open addressing on the id's low bits (ids are already mixed): one pass, no sort. The table
    # starts small and doubles at half load, so it is sized by distinct words, not tokens.
    slots = np.full(1024, -1, np.int64)
    k = 0
    for d in range(n):
        a = offsets[d]
        b = offsets[d + 1]
        base = k
        size = 16
        while size < 2 * (b - a) and size < 1024:
            size *= 2
        for t in range(a, b):
            if 2 * (k - base + 1) > size:
                size *= 2
                if size > slots.shape[0]:
                    slots = np.full(size, -1, np.int64)
                else:
                    slots[:size] = -1
                for e in range(base, k):       # rehash this document's entries
                    pos = np.int64(uids[e] & U64(size - 1))
                    while slots[pos] >= 0:
                        pos = (pos + 1) & (size - 1)
                    slots[pos] = e
            v = ids[t]
            pos = np.int64(v & U64(size - 1))
            while True:
                s = slots[pos]
                if s < 0:
                    slots[pos] = k
                    uids[k] = v
                    counts[k] = 1
                    first[k] = t
                    if want_inverse:
                        inv[t] = k
                    k += 1
                    break
                if uids[s] == v:
                    counts[s] += 1
                    if want_inverse:
                        inv[t] = s
                    break
                pos = (pos + 1) & (size - 1)
        slots[:size] = -1
        uoff[d + 1] = k
    return uids[:k].copy(), counts[:k].copy(), first[:k].copy(), uoff, inv


@_jit
def tfidf(counts, df, n_docs):
    out = np.empty(counts.shape[0], np.float64)
    num = 1.0 + n_docs
    for i in range(counts.shape[0]):
        out[i] = (1.0 + np.log(np.float64(counts[i]))) * (np.log(num / (1.0 + df[i])) + 1.0)
    return out


@_jit
def topk(wq, eligible, first, uoff, k):
    n = uoff.shape[0] - 1
    out = np.full((n, k), -1, np.int64)
    if k == 0:
        return out
    bw = np.empty(k, np.int64)
    bf = np.empty(k, np.int64)
    bi = np.empty(k, np.int64)
    for d in range(n):
        c = 0
        for u in range(uoff[d], uoff[d + 1]):
            if not eligible[u]:
                continue
            w = wq[u]
            f = first[u]
            if c == k:
                if w < bw[c - 1] or (w == bw[c - 1] and f > bf[c - 1]):
                    continue
                pos = c - 1
            else:
                pos = c
                c += 1
            # insertion into the small sorted best-k list: heavier first, then earlier
            while pos > 0 and (w > bw[pos - 1] or (w == bw[pos - 1] and f < bf[pos - 1])):
                bw[pos] = bw[pos - 1]
                bf[pos] = bf[pos - 1]
                bi[pos] = bi[pos - 1]
                pos -= 1
            bw[pos] = w
            bf[pos] = f
            bi[pos] = u
        for j in range(c):
            out[d, j] = bi[j]
    return out


@_jit
def simhash(uids, wq, uoff):
    n = uoff.shape[0] - 1
    out = np.zeros(n, np.uint64)
    acc = np.zeros(64, np.int64)
    for d in range(n):
        acc[:] = 0
        for u in range(uoff[d], uoff[d + 1]):
            h = uids[u]
            w = wq[u]
            for bit in range(64):
                if (h >> U64(bit)) & _ONE:
                    acc[bit] += w
                else:
                    acc[bit] -= w
        v = U64(0)
        for bit in range(64):
            if acc[bit] > 0:
                v |= _ONE << U64(bit)
        out[d] = v
    return out


@_jit
def minhash(ids, offsets, a, b, shingle):
    n = offsets.shape[0] - 1
    p = a.shape[0]
    out = np.full((n, p), _EMPTY, np.uint32)
    mins = np.empty(p, np.uint32)
    for d in range(n):
        s = offsets[d]
        m = offsets[d + 1] - s
        if m == 0:
            continue
        kk = shingle if m >= shingle else m
        mins[:] = _EMPTY
        for j in range(m - kk + 1):
            h = _SHINGLE_SEED
            for q in range(kk):
                h = _fmix(h ^ ids[s + j + q])
            # 32-bit minima so the loop vectorises (unsigned 32-bit min exists in SSE4/AVX2)
            for i in range(p):
                v = np.uint32((a[i] * h + b[i]) >> _S32)
                if v < mins[i]:
                    mins[i] = v
        out[d, :] = mins
    return out


@_jit
def band_keys(sigs, bands):
    n = sigs.shape[0]
    r = sigs.shape[1] // bands
    keys = np.empty((n, bands), np.uint64)
    for bnd in range(bands):
        h0 = _fmix(U64(bnd + 1) * _BAND_SEED)
        for i in range(n):
            h = h0
            for q in range(r):
                h = _fmix(h ^ U64(sigs[i, bnd * r + q]))
            keys[i, bnd] = h
    return keys


@_jit
def lsh_codes(keys, valid, max_bucket):
    """Pair codes ``i * n + j`` (i < j) of rows sharing a band key; two passes: count, then fill."""
    n = keys.shape[0]
    bands = keys.shape[1]
    nv = valid.shape[0]
    orders = np.empty((bands, nv), np.int64)
    total = 0
    for bnd in range(bands):
        kb = np.empty(nv, np.uint64)
        for t in range(nv):
            kb[t] = keys[valid[t], bnd]
        order = np.argsort(kb, kind="mergesort")
        orders[bnd, :] = order
        s = 0
        while s < nv:
            e = s + 1
            while e < nv and kb[order[e]] == kb[order[s]]:
                e += 1
            size = e - s
            if size > 1:
                total += size * (size - 1) // 2 if size <= max_bucket else size - 1
            s = e
    codes = np.empty(total, np.int64)
    c = 0
    for bnd in range(bands):
        order = orders[bnd]
        s = 0
        while s < nv:
            e = s + 1
            k0 = keys[valid[order[s]], bnd]
            while e < nv and keys[valid[order[e]], bnd] == k0:
                e += 1
            size = e - s
            if size > 1:
                if size <= max_bucket:
                    for x in range(s, e):
                        for y in range(x + 1, e):
                            codes[c] = valid[order[x]] * n + valid[order[y]]
                            c += 1
                else:
                    for y in range(s + 1, e):
                        codes[c] = valid[order[s]] * n + valid[order[y]]
                        c += 1
            s = e
    return np.unique(codes)


@_jit
def pair_jaccard(sigs, pairs):
    m = pairs.shape[0]
    p = sigs.shape[1]
    out = np.empty(m, np.float64)
    for t in range(m):
        i = pairs[t, 0]
        j = pairs[t, 1]
        eq = 0
        for q in range(p):
            if sigs[i, q] == sigs[j, q]:
                eq += 1
        out[t] = np.float64(eq) / p
    return out


@_jit
def pair_hamming(hashes, pairs):
    m = pairs.shape[0]
    out = np.empty(m, np.int64)
    for t in range(m):
        x = hashes[pairs[t, 0]] ^ hashes[pairs[t, 1]]
        c = 0
        while x:
            x &= x - _ONE
            c += 1
        out[t] = c
    return out


@_jit
def df_add(table, uids):
    mask = U64(table.shape[0] - 1)
    for u in range(uids.shape[0]):
        table[np.int64(uids[u] & mask)] += 1


@_jit
def df_lookup(table, uids):
    mask = U64(table.shape[0] - 1)
    out = np.empty(uids.shape[0], np.int64)
    for u in range(uids.shape[0]):
        out[u] = table[np.int64(uids[u] & mask)]
    return out
