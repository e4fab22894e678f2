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

    Not thread-safe: the owner (a Corpus) calls :meth:`add` under its lock. It keeps ``bands``
    dict entries per page, fine for hundreds of thousands of pages.
    """

    def __init__(self, num_perm: int, threshold: float):
        self.num_perm = num_perm
        self.threshold = threshold
        self.sigs = None        # uint32 (capacity, num_perm); rows [0, pages) are filled
        self.simhash = None     # uint64 (capacity,)
        self._buckets: dict = {}

    def add(self, base: int, sigs, hashes, bkeys, n_tokens, keys: list) -> list:
        """Store the signatures of pages ``base, base + 1, ...`` and return, per page, its
        earlier near-duplicates as ``[(keys[i], estimated Jaccard)]`` (empty pages never match)."""
        import numpy as np

        n = base + sigs.shape[0]
        if self.sigs is None or self.sigs.shape[0] < n:
            cap = max(n, 2 * (0 if self.sigs is None else self.sigs.shape[0]), 64)
            grown = np.empty((cap, self.num_perm), np.uint32)
            grown_h = np.empty(cap, np.uint64)
            if self.sigs is not None:
                grown[:base] = self.sigs[:base]
                grown_h[:base] = self.simhash[:base]
            self.sigs, self.simhash = grown, grown_h
        self.sigs[base:n] = sigs
        self.simhash[base:n] = hashes
        out = []
        # One dict for all bands (band keys are seeded per band, so they do not collide); a
        # bucket is a bare doc index until a second page lands in it: most never get one.
        buckets = self._buckets
        setdefault = buckets.setdefault
        has_tokens = (n_tokens > 0).tolist()
        for t, row in enumerate(bkeys.tolist()):
            found = []
            if has_tokens[t]:
                doc = base + t
                cands = set()
                for key in row:
                    bucket = setdefault(key, doc)
                    if bucket is doc:       # a new bucket (setdefault hands back our object)
                        continue
                    if type(bucket) is int:
                        cands.add(bucket)
                        buckets[key] = [bucket, doc]
                    else:
                        cands.update(bucket)
                        bucket.append(doc)
                if cands:
                    cand = np.fromiter(sorted(cands), np.int64, len(cands))
                    jac = (self.sigs[cand] == sigs[t]).sum(axis=1) / self.num_perm
                    found = [(keys[i], float(j)) for i, j in zip(cand.tolist(), jac.tolist())
                             if j >= self.threshold]
            out.append(found)
        return out


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
