"""Analysis kernels: tokenize, TF-IDF + keywords, SimHash/MinHash, LSH; 1 and 2 threads, both twins."""
import numpy as np

from agentcore import analyze
from agentcore.bench.analysis import load_texts
from agentcore.kernels import twin
from agentcore.kernels.pool import map_threads

KERNELS = ["compiled", "pure"]


def _texts():
    return load_texts()   # article bodies (when ../shared is there) + stdlib docstring pages


class Tokenize:
    params = (KERNELS, [1, 2])
    param_names = ["kernels", "threads"]

    def setup(self, impl, threads):
        self.textops = twin("textops", impl)
        texts = _texts()
        step = -(-len(texts) // threads)
        self.parts = [texts[i:i + step] for i in range(0, len(texts), step)]

    def time_tokenize_batch(self, impl, threads):
        map_threads(self.textops.tokenize_batch, self.parts, threads)


class Analyze:
    """The whole per-page pipeline: counts, DF, TF-IDF top-10 keywords, SimHash, MinHash, LSH index."""

    params = (KERNELS, [1, 2])
    param_names = ["kernels", "threads"]
    timeout = 120

    def setup(self, impl, threads):
        self.texts = _texts()
        analyze.Corpus(kernels=impl, threads=1).add_many(self.texts[:8])   # load Numba code

    def time_add_many(self, impl, threads):
        analyze.Corpus(kernels=impl, threads=threads).add_many(self.texts)

    def peakmem_add_many(self, impl, threads):
        analyze.Corpus(kernels=impl, threads=threads).add_many(self.texts)


class Signatures:
    """SimHash and MinHash (128 slots, 3-token shingles) on token ids already in arrays."""

    params = KERNELS
    param_names = ["kernels"]

    def setup(self, impl):
        textops = twin("textops", "compiled")   # same input arrays for both twins
        self.sim = twin("similarity", impl)
        ids, offs, *_ = textops.tokenize_batch(_texts())
        self.ids = np.frombuffer(ids, np.uint64)
        self.offs = np.frombuffer(offs, np.int64)
        self.uids, counts, _, self.uoff = self.sim.doc_counts(self.ids, self.offs)
        self.weights = 1.0 + np.log(counts)
        self.sim.minhash(self.ids[:10], np.array([0, 10]))

    def time_minhash(self, impl):
        self.sim.minhash(self.ids, self.offs)

    def time_simhash(self, impl):
        self.sim.simhash(self.uids, self.weights, self.uoff)

    def time_doc_counts(self, impl):
        self.sim.doc_counts(self.ids, self.offs)


class LSH:
    """All near-duplicate pairs among N signatures, a tenth of them planted near copies."""

    params = (KERNELS, [1_000, 10_000])
    param_names = ["kernels", "docs"]

    def setup(self, impl, n):
        self.sim = twin("similarity", impl)
        rng = np.random.default_rng(42)
        sigs = rng.integers(0, 2**32, (n, 128), dtype=np.uint64).astype(np.uint32)
        copies = rng.choice(n, n // 10, replace=False)
        sigs[copies[1:]] = sigs[copies[:-1]]
        noise = rng.random((len(copies) - 1, 128)) < 0.2
        sigs[copies[1:]] = np.where(noise, sigs[copies[1:]] ^ 1, sigs[copies[1:]])
        self.sigs = sigs
        self.sim.lsh_pairs(sigs[:10], 32)

    def time_lsh_pairs(self, impl, n):
        self.sim.lsh_pairs(self.sigs, 32)
