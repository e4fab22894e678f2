"""Pure-numpy twin of the Numba similarity kernels: term counts, TF-IDF, top-k, SimHash, MinHash, LSH.

Documents arrive flat, as ``agentcore.kernels.textops.tokenize_batch`` makes them: ``ids`` (uint64, every
document's token ids back to back) and ``offsets`` (int64, ``len(docs) + 1``; document ``d`` owns
``ids[offsets[d]:offsets[d+1]]``). Per-document unique terms come back in the same layout
(``uids``/``uoffsets``). This module also holds the argument checks and hash parameters that the
compiled twin (``agentcore.kernels._similarity``) shares, so both give bit-identical signatures.
"""
import functools

import numpy as np

__all__ = ["doc_counts", "tfidf", "quantize", "topk", "simhash", "minhash", "band_keys",
           "lsh_pairs", "pair_jaccard", "pair_hamming", "df_add", "df_lookup", "EMPTY"]

U64 = np.uint64
_C1 = U64(0xFF51AFD7ED558CCD)
_C2 = U64(0xC4CEB9FE1A85EC53)
_S33 = U64(33)
_S32 = U64(32)
SHINGLE_SEED = 0x9E3779B97F4A7C15
BAND_SEED = 0xD6E8FEB86659FD93
EMPTY = 0xFFFFFFFF          # every MinHash slot of a document without tokens
WEIGHT_SCALE = 4096.0       # SimHash and top-k order compare weights as integers (see quantize)


# ---- argument checks (shared with agentcore.kernels._similarity) ------------------------------------------

def as_u64(x, name):
    a = np.asarray(x)
    if a.dtype == np.uint64 and a.ndim == 1:
        return np.ascontiguousarray(a)
    if a.size == 0 and a.ndim == 1:
        return np.zeros(0, np.uint64)
    if a.ndim != 1 or a.dtype.kind not in "ui":
        raise TypeError(f"{name} must be a 1-d array of unsigned 64-bit token ids "
                        f"(e.g. tokenize_batch()[0]), got {a.dtype} with shape {a.shape}")
    return np.ascontiguousarray(a.astype(np.uint64))


def as_offsets(x, n, name="offsets"):
    a = np.asarray(x)
    if a.ndim != 1 or (a.size and a.dtype.kind not in "ui"):
        raise TypeError(f"{name} must be a 1-d integer array of document starts, got {a.dtype}")
    a = np.ascontiguousarray(a, dtype=np.int64)
    if a.size == 0 or a[0] != 0 or a[-1] != n or (a.size > 1 and np.any(np.diff(a) < 0)):
        raise ValueError(f"{name} must start at 0, never decrease and end at {n} (the number of "
                         "ids); pass the doc_offsets that tokenize_batch returned")
    return a


def as_sigs(x, name="sigs"):
    a = np.asarray(x)
    if a.ndim != 2 or a.dtype != np.uint32:
        raise TypeError(f"{name} must be a 2-d uint32 array (one MinHash signature per row, as "
                        f"minhash() returns), got {a.dtype} with shape {a.shape}")
    return np.ascontiguousarray(a)


def as_pairs(x, n, name="pairs"):
    a = np.asarray(x)
    if a.size == 0:
        return np.zeros((0, 2), np.int64)
    if a.ndim != 2 or a.shape[1] != 2 or a.dtype.kind not in "ui":
        raise TypeError(f"{name} must be an (m, 2) integer array of row pairs, got {a.shape}")
    a = np.ascontiguousarray(a, dtype=np.int64)
    if a.min() < 0 or a.max() >= n:
        raise ValueError(f"{name} refers to rows outside 0..{n - 1}")
    return a


def check_bands(num_perm, bands):
    if bands < 1 or num_perm % bands:
        raise ValueError(f"bands={bands} must divide the signature length {num_perm} "
                         "(e.g. 128 slots: 16, 32 or 64 bands)")


@functools.lru_cache(maxsize=16)
def minhash_params(num_perm: int, seed: int):
    """Odd multipliers and offsets of the ``num_perm`` multiply-shift hash functions (splitmix64)."""
    if not 1 <= num_perm <= 4096:
        raise ValueError(f"num_perm must be in 1..4096, got {num_perm}")
    m = (1 << 64) - 1
    state = seed & m
    out = []
    for _ in range(2 * num_perm):
        state = (state + 0x9E3779B97F4A7C15) & m
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & m
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & m
        out.append(z ^ (z >> 31))
    a = np.array(out[:num_perm], np.uint64) | U64(1)
    b = np.array(out[num_perm:], np.uint64)
    a.setflags(write=False)
    b.setflags(write=False)
    return a, b


def quantize(weights):
    """Weights as int64 fixed point (1/4096): integer sums are exact in any order, so both twins
    and any thread split give the same SimHash bits and keyword order."""
    return np.floor(np.asarray(weights, np.float64) * WEIGHT_SCALE + 0.5).astype(np.int64)


def fmix(h):
    """MurmurHash3's 64-bit finaliser: in place on ``h``, a fresh uint64 array (every caller here
    passes one); the Numba twin compiles this same function for uint64 scalars."""
    h ^= h >> _S33
    h *= _C1
    h ^= h >> _S33
    h *= _C2
    h ^= h >> _S33
    return h


# ---- kernels -----------------------------------------------------------------------------------

def doc_counts(ids, offsets, inverse=False):
    """Unique terms per document: ``(uids, counts, first, uoffsets)``.

    ``uids`` (uint64) are each document's distinct ids in order of first appearance, ``counts``
    (int32) how often each occurs, ``first`` (int64) the index into ``ids`` of its first
    occurrence (where its surface form is), and ``uoffsets`` (int64) the per-document ranges into
    those arrays. With ``inverse=True`` a fifth array maps every token to its entry in ``uids``.
    """
    ids = as_u64(ids, "ids")
    offsets = as_offsets(offsets, ids.size)
    n = offsets.size - 1
    doc = np.repeat(np.arange(n, dtype=np.int64), np.diff(offsets))
    order = np.lexsort((ids, doc))          # stable: equal ids keep their text order
    sid, sdoc = ids[order], doc[order]
    new = np.ones(order.size, bool)
    if order.size:
        new[1:] = (sid[1:] != sid[:-1]) | (sdoc[1:] != sdoc[:-1])
    starts = np.flatnonzero(new)
    first = order[starts].astype(np.int64)
    counts = np.diff(np.append(starts, order.size)).astype(np.int32)
    by_first = np.argsort(first, kind="stable")   # documents are contiguous, so doc order holds
    uids = sid[starts][by_first]
    first = first[by_first]
    counts = counts[by_first]
    uoffsets = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(sdoc[starts], minlength=n), out=uoffsets[1:])
    if not inverse:
        return uids, counts, first, uoffsets
    rank = np.empty(starts.size, np.int64)
    rank[by_first] = np.arange(starts.size)
    inv = np.empty(order.size, np.int64)
    inv[order] = rank[np.cumsum(new) - 1]
    return uids, counts, first, uoffsets, inv


def tfidf(counts, df, n_docs):
    """``(1 + ln count) * (ln((1 + n_docs) / (1 + df)) + 1)`` per term (scikit-learn's smooth idf
    with sublinear tf), float64."""
    counts = np.asarray(counts, np.float64)
    df = np.asarray(df, np.float64)
    if counts.shape != df.shape:
        raise ValueError(f"counts {counts.shape} and df {df.shape} must have the same length")
    return (1.0 + np.log(counts)) * (np.log((1.0 + n_docs) / (1.0 + df)) + 1.0)


def topk(weights, eligible, first, uoffsets, k):
    """Per document, the indexes (into ``uids``) of its ``k`` heaviest eligible terms: int64
    ``(n_docs, k)``, -1 where a document has fewer. Ties go to the term that appears first."""
    wq = quantize(weights)
    eligible = np.asarray(eligible, bool)
    first = np.asarray(first, np.int64)
    uoffsets = as_offsets(uoffsets, wq.size, "uoffsets")
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    n = uoffsets.size - 1
    out = np.full((n, k), -1, np.int64)
    doc = np.repeat(np.arange(n, dtype=np.int64), np.diff(uoffsets))
    e = np.flatnonzero(eligible)
    order = e[np.lexsort((first[e], -wq[e], doc[e]))]
    d = doc[order]
    rank = np.arange(order.size) - np.searchsorted(d, d)
    sel = rank < k
    out[d[sel], rank[sel]] = order[sel]
    return out


def simhash(uids, weights, uoffsets):
    """64-bit SimHash per document (uint64) from its distinct term ids and their weights."""
    uids = as_u64(uids, "uids")
    wq = quantize(weights)
    uoffsets = as_offsets(uoffsets, uids.size, "uoffsets")
    if wq.size != uids.size:
        raise ValueError("weights must have one value per uid")
    shifts = np.arange(64, dtype=np.uint64)
    n = uoffsets.size - 1
    out = np.zeros(n, np.uint64)
    for d in range(n):
        a, b = uoffsets[d], uoffsets[d + 1]
        if a == b:
            continue
        bits = ((uids[a:b, None] >> shifts[None, :]) & U64(1)).astype(np.int64)
        acc = ((2 * bits - 1) * wq[a:b, None]).sum(axis=0)
        out[d] = np.bitwise_or.reduce(np.where(acc > 0, U64(1) << shifts, U64(0)))
    return out


def _shingles(seg, shingle):
    kk = min(shingle, seg.size)
    ns = seg.size - kk + 1
    h = np.full(ns, SHINGLE_SEED, np.uint64)
    for q in range(kk):
        h = fmix(h ^ seg[q:q + ns])
    return h


def minhash(ids, offsets, num_perm=128, shingle=3, seed=1):
    """MinHash signature per document over its ``shingle``-grams of token ids: uint32
    ``(n_docs, num_perm)``; a document without tokens gets every slot ``EMPTY``."""
    ids = as_u64(ids, "ids")
    offsets = as_offsets(offsets, ids.size)
    if shingle < 1:
        raise ValueError(f"shingle must be >= 1, got {shingle}")
    a, b = minhash_params(num_perm, seed)
    n = offsets.size - 1
    out = np.full((n, num_perm), EMPTY, np.uint32)
    for d in range(n):
        s, e = offsets[d], offsets[d + 1]
        if s == e:
            continue
        h = _shingles(ids[s:e], shingle)
        mins = np.full(num_perm, np.iinfo(np.uint64).max, np.uint64)
        for c in range(0, h.size, 1024):   # bounded temporaries on huge pages
            v = (h[c:c + 1024, None] * a[None, :] + b[None, :]) >> _S32
            np.minimum(mins, v.min(axis=0), out=mins)
        out[d] = mins.astype(np.uint32)
    return out


def band_keys(sigs, bands):
    """One 64-bit key per (document, band) of ``num_perm // bands`` signature slots."""
    sigs = as_sigs(sigs)
    n, p = sigs.shape
    check_bands(p, bands)
    r = p // bands
    keys = np.empty((n, bands), np.uint64)
    for bnd in range(bands):
        h = fmix(np.full(n, (bnd + 1) * BAND_SEED & ((1 << 64) - 1), np.uint64))
        for q in range(r):
            h = fmix(h ^ sigs[:, bnd * r + q].astype(np.uint64))
        keys[:, bnd] = h
    return keys


def lsh_pairs(sigs, bands=32, max_bucket=64):
    """Candidate near-duplicate row pairs (int64 ``(m, 2)``, ``i < j``, sorted, unique): rows that
    agree on every slot of at least one band. Empty documents never pair. A bucket with more than
    ``max_bucket`` rows pairs each with its first row only (linear, and still links them)."""
    sigs = as_sigs(sigs)
    keys = band_keys(sigs, bands)
    n = sigs.shape[0]
    valid = np.flatnonzero(~np.all(sigs == EMPTY, axis=1)) if n else np.zeros(0, np.int64)
    found = []
    for bnd in range(bands):
        kb = keys[valid, bnd]
        order = np.argsort(kb, kind="stable")
        sk = kb[order]
        cuts = np.flatnonzero(sk[1:] != sk[:-1]) + 1
        starts = np.concatenate(([0], cuts))
        ends = np.concatenate((cuts, [sk.size]))
        for s, e in zip(starts[ends - starts > 1], ends[ends - starts > 1]):
            members = valid[order[s:e]]
            if e - s <= max_bucket:
                i, j = np.triu_indices(e - s, 1)
                found.append(members[i] * n + members[j])
            else:
                found.append(members[0] * n + members[1:])
    if not found:
        return np.zeros((0, 2), np.int64)
    codes = np.unique(np.concatenate(found).astype(np.int64))
    return np.stack((codes // n, codes % n), axis=1)


def pair_jaccard(sigs, pairs):
    """Estimated Jaccard similarity (float64) of each row pair: the share of equal slots."""
    sigs = as_sigs(sigs)
    pairs = as_pairs(pairs, sigs.shape[0])
    if not pairs.size:
        return np.zeros(0, np.float64)
    eq = (sigs[pairs[:, 0]] == sigs[pairs[:, 1]]).sum(axis=1)
    return eq.astype(np.float64) / sigs.shape[1]


def pair_hamming(hashes, pairs):
    """Bits that differ (int64) between the SimHashes of each row pair."""
    hashes = as_u64(hashes, "hashes")
    pairs = as_pairs(pairs, hashes.size)
    x = hashes[pairs[:, 0]] ^ hashes[pairs[:, 1]]
    return np.unpackbits(x.view(np.uint8).reshape(-1, 8), axis=1).sum(axis=1).astype(np.int64)


def df_add(table, uids):
    """Count each document's distinct ids into the hashed document-frequency ``table`` (in place;
    its length must be a power of two)."""
    uids = as_u64(uids, "uids")
    np.add.at(table, (uids & U64(table.size - 1)).astype(np.int64), 1)


def df_lookup(table, uids):
    """Document frequencies (int64) of ``uids`` in the hashed ``table``."""
    uids = as_u64(uids, "uids")
    return table[(uids & U64(table.size - 1)).astype(np.int64)].astype(np.int64)
