"""Near-duplicate pages: MinHash / SimHash signatures, an incremental LSH index, batch pairs."""
from __future__ import annotations

from dataclasses import dataclass

from agentcore.analyze.tokens import Tokens

__all__ = ["NearDuplicate", "NearDupIndex", "signatures", "near_duplicates"]


@dataclass(frozen=True)
class NearDuplicate:
    """A pair of documents whose shingle sets overlap at least the threshold."""

    i: int
    j: int
    jaccard: float                          # estimated from the MinHash signatures
    hamming: int                            # SimHash bits that differ (-1 when not known)


def signatures(similarity, tokens: Tokens, *, num_perm: int, shingle: int, seed: int,
               bands: int) -> tuple:
    """``(minhash, band_keys, simhash)`` of each page: MinHash over ``shingle``-token n-grams,
    its LSH band keys, and a 64-bit SimHash over log-tf weighted words."""
    import numpy as np

    sigs = similarity.minhash(tokens.ids, tokens.offs, num_perm, shingle, seed)
    return (sigs, similarity.band_keys(sigs, bands),
            similarity.simhash(tokens.uids, 1.0 + np.log(tokens.counts), tokens.uoff))


class NearDupIndex:
    """The signatures of every page seen so far and their LSH buckets.

    A new page is compared with every earlier page it shares a bucket with (buckets are not
    capped: a cap would keep the first pages to arrive and miss pairs among later ones), so a
    pair is found, by whichever of its pages comes second, in any order of arrival. The price:
    n copies of one page make n²/2 pairs (2,000 copies: 2 million pairs in about 5 s).

    Columns, not per-page objects: signatures in fixed blocks of rows (no doubling copy), the
    (band key, page) entries in a few sorted runs merged as they grow (16 bytes an entry; a dict
    of Python ints took ~60), each batch matched against them with ``searchsorted``.

    Not thread-safe: the owner (a Corpus) calls :meth:`add` under its lock.
    """

    BLOCK = 4096    # signature rows per block
    PAIRS = 8192    # candidate pairs compared per step (bounds the gathered rows)

    def __init__(self, num_perm: int, threshold: float):
        self.num_perm = num_perm
        self.threshold = threshold
        self.n = 0
        self._sigs: list = []   # uint32 (BLOCK, num_perm) blocks; rows [0, n) are filled
        self._hash: list = []   # uint64 (BLOCK,) blocks of SimHashes
        self._runs: list = []   # [(band keys uint64, pages int64)], each sorted by key

    @property
    def sigs(self):
        """Every page's MinHash signature so far, uint32 ``(n, num_perm)`` (a copy)."""
        import numpy as np

        if not self._sigs:
            return np.zeros((0, self.num_perm), np.uint32)
        return np.concatenate(self._sigs)[:self.n]

    @property
    def simhash(self):
        """Every page's SimHash so far, uint64 ``(n,)`` (a copy)."""
        import numpy as np

        return np.concatenate(self._hash)[:self.n] if self._hash else np.zeros(0, np.uint64)

    def _put(self, base: int, sigs, hashes) -> None:
        import numpy as np

        n = base + sigs.shape[0]
        while len(self._sigs) * self.BLOCK < n:
            self._sigs.append(np.empty((self.BLOCK, self.num_perm), np.uint32))
            self._hash.append(np.empty(self.BLOCK, np.uint64))
        at = base
        while at < n:
            blk, row = divmod(at, self.BLOCK)
            take = min(self.BLOCK - row, n - at)
            self._sigs[blk][row:row + take] = sigs[at - base:at - base + take]
            self._hash[blk][row:row + take] = hashes[at - base:at - base + take]
            at += take
        self.n = max(self.n, n)

    def _rows(self, idx):
        import numpy as np

        out = np.empty((idx.size, self.num_perm), np.uint32)
        blk = idx // self.BLOCK
        for b in np.unique(blk).tolist():
            m = blk == b
            out[m] = self._sigs[b][idx[m] - b * self.BLOCK]
        return out

    def add(self, base: int, sigs, hashes, bkeys, n_tokens, keys: list) -> list:
        """Store the signatures of pages ``base, base + 1, ...`` and return, per page, its
        earlier near-duplicates as ``[(keys[i], estimated Jaccard)]`` in page order (empty
        pages never match)."""
        import numpy as np

        self._put(base, sigs, hashes)
        out: list = [[] for _ in range(sigs.shape[0])]
        valid = np.flatnonzero(np.asarray(n_tokens) > 0)
        if not valid.size:
            return out
        bands = bkeys.shape[1]
        nk = np.ascontiguousarray(bkeys[valid]).ravel()
        nd = np.repeat(base + valid.astype(np.int64), bands)
        order = np.lexsort((nd, nk))       # by bucket: sorted needles search fast
        sk, sd = nk[order], nd[order]
        pa, pb = [], []
        for rk, rd in self._runs:          # earlier batches
            lo = np.searchsorted(rk, sk, "left")
            cnt = np.searchsorted(rk, sk, "right") - lo
            sel = np.flatnonzero(cnt)
            if sel.size:
                pa.append(rd[expand(lo[sel], cnt[sel])])
                pb.append(np.repeat(sd[sel], cnt[sel]))
        pos = np.arange(sk.size)           # this batch: earlier pages of the same bucket
        head = np.ones(sk.size, bool)
        head[1:] = sk[1:] != sk[:-1]
        gstart = np.maximum.accumulate(np.where(head, pos, 0))
        cnt = pos - gstart
        sel = np.flatnonzero(cnt)
        if sel.size:
            pa.append(sd[expand(gstart[sel], cnt[sel])])
            pb.append(np.repeat(sd[sel], cnt[sel]))
        self._insert(sk, sd)
        if not pa:
            return out
        a, b = np.concatenate(pa), np.concatenate(pb)
        n = np.int64(self.n)
        code = np.unique(b[a != b] * n + a[a != b])   # each pair once, by later page, then earlier
        for c in range(0, code.size, self.PAIRS):
            part = code[c:c + self.PAIRS]
            pa_, pb_ = part % n, part // n
            jac = (self._rows(pa_) == self._rows(pb_)).sum(axis=1) / self.num_perm
            keep = jac >= self.threshold
            for i, j, x in zip(pa_[keep].tolist(), pb_[keep].tolist(), jac[keep].tolist()):
                out[j - base].append((keys[i], x))
        return out

    def _insert(self, keys, pages) -> None:
        import numpy as np

        runs = self._runs
        runs.append((keys, pages))
        # merge while the newest run is at least half its elder: O(log n) runs, n log n work
        while len(runs) > 1 and 2 * runs[-1][0].size >= runs[-2][0].size:
            (k1, d1), (k2, d2) = runs[-2], runs.pop()
            # a linear merge (no argsort copies): each newer entry goes after its equals
            at = np.searchsorted(k1, k2, "right") + np.arange(k2.size)
            older = np.ones(k1.size + k2.size, bool)
            older[at] = False
            k = np.empty(older.size, k1.dtype)
            d = np.empty(older.size, d1.dtype)
            k[at], d[at] = k2, d2
            k[older], d[older] = k1, d1
            runs[-1] = (k, d)

def expand(starts, counts):
    """Indexes ``starts[i], starts[i] + 1, ... starts[i] + counts[i] - 1`` for every i, flat."""
    import numpy as np

    ends = np.cumsum(counts)
    return np.repeat(starts - (ends - counts), counts) + np.arange(int(ends[-1]) if ends.size else 0)


def near_duplicates(minhashes, simhashes=None, *, threshold: float = 0.5, bands: int = 32,
                    max_bucket: int = 64, kernels: str | None = None) -> list:
    """Near-duplicate pairs among many documents' MinHash signatures (rows of a uint32 array).

    LSH banding proposes candidates, then the estimated Jaccard (share of equal slots) must reach
    ``threshold``. With ``simhashes`` (one uint64 per row) each pair also carries its Hamming
    distance. Returns :class:`NearDuplicate` items sorted by ``(i, j)``. ``kernels``: "compiled",
    "pure", "lean" or None (the environment's choice; see ``agentcore.kernels.twin``).
    """
    import numpy as np

    from agentcore.analyze.twins import kernel_modules

    sim = kernel_modules(kernels)[1]
    sigs = np.asarray(minhashes)
    if sigs.ndim != 2 or sigs.dtype != np.uint32:
        raise TypeError("minhashes must be a 2-d uint32 array (stack DocAnalysis.minhash rows), "
                        f"got {sigs.dtype} with shape {sigs.shape}")
    pairs = sim.lsh_pairs(sigs, bands, max_bucket)
    jac = sim.pair_jaccard(sigs, pairs)
    keep = jac >= threshold
    pairs, jac = pairs[keep], jac[keep]
    if simhashes is not None:
        ham = sim.pair_hamming(np.asarray(simhashes, np.uint64), pairs)
    else:
        ham = np.full(len(pairs), -1, np.int64)
    return [NearDuplicate(int(i), int(j), float(x), int(h))
            for (i, j), x, h in zip(pairs.tolist(), jac.tolist(), ham.tolist())]
