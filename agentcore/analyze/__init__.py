"""Page analysis: incremental TF-IDF keywords, near-duplicate signatures and budgeted prompt sentences.

A :class:`Corpus` remembers what it has seen (hashed document frequencies and a MinHash LSH
index), so each batch of pages is weighed against every page before it::

    from agentcore.analyze import Corpus

    corpus = Corpus()
    for doc in corpus.add_many(page_texts, keys=urls):       # many pages, GIL-free threads
        doc.keywords        # [("depot", 9.1), ("sales", 7.4), ...] heaviest TF-IDF words
        doc.simhash         # 64-bit int
        doc.duplicates      # [(earlier_key, estimated_jaccard), ...] near-duplicates seen so far
    corpus.excerpts(page_texts, budget=280)  # per page: its best sentences, <= 280 characters
    corpus.prompt(site_texts, budget=1200)   # per site: its most informative sentences, in order

Single pages: ``corpus.add(text)``; one-off use without a corpus: :func:`analyze_many`,
:func:`analyze`, :func:`near_duplicates`, :func:`prompt_sentences`. :func:`warm_up` compiles the
Numba kernels once (cached on disk) so that a first run does not pay for it.

Importing this module is cheap: numpy, the compiled kernels and Numba load on first use.
"""
from __future__ import annotations

import math
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Sequence

__all__ = ["Corpus", "DocAnalysis", "NearDuplicate", "analyze", "analyze_many",
           "near_duplicates", "prompt_sentences", "warm_up"]

_TEXT_TYPES = (str, bytes, bytearray, memoryview)


@dataclass(frozen=True)
class DocAnalysis:
    """What :meth:`Corpus.add_many` learned about one page."""

    index: int                              # position in the corpus (order of arrival)
    key: Any                                # the caller's key (url, agent id), else ``index``
    n_tokens: int
    keywords: list                          # [(word, tf-idf weight)], heaviest first
    simhash: int                            # 64-bit SimHash over log-tf weighted words
    minhash: Any = field(repr=False)        # numpy uint32 signature (``num_perm`` slots)
    duplicates: list = field(default_factory=list)  # [(key, est. Jaccard)] of earlier near-dups


@dataclass(frozen=True)
class NearDuplicate:
    """A pair of documents whose shingle sets overlap at least the threshold."""

    i: int
    j: int
    jaccard: float                          # estimated from the MinHash signatures
    hamming: int                            # SimHash bits that differ (-1 when not known)


def _np():
    import numpy
    return numpy


def _kernels(backend: str = "auto"):
    """The (textops, similarity) kernel modules: the selected ones, or forced compiled / python."""
    if backend == "auto":
        from agentcore.kernels import similarity, textops
        return textops, similarity
    if backend == "compiled":
        from agentcore.kernels import _similarity, _textops
        return _textops, _similarity
    if backend == "python":
        from agentcore.kernels import similarity_py, textops_py
        return textops_py, similarity_py
    raise ValueError(f"backend must be 'auto', 'compiled' or 'python', got {backend!r}")


def _check_texts(texts, name="texts") -> list:
    if isinstance(texts, (str, bytes, bytearray, memoryview)) or not hasattr(texts, "__iter__"):
        raise TypeError(f"{name} must be a list of str or bytes, got {type(texts).__name__}; "
                        "wrap a single document as [text]")
    texts = list(texts)
    for i, t in enumerate(texts):
        if not isinstance(t, _TEXT_TYPES):
            raise TypeError(f"{name}[{i}] must be str or bytes, got {type(t).__name__}")
    return texts


def _chunks(texts: list, parts: int) -> list:
    """Contiguous slices with about equal characters each (threads finish together)."""
    if parts <= 1 or len(texts) < 2:
        return [(0, len(texts))]
    sizes = [len(t) + 64 for t in texts]
    total = sum(sizes)
    bounds, acc, start = [], 0, 0
    for i, s in enumerate(sizes):
        acc += s
        if (acc >= total * (len(bounds) + 1) / parts and i + 1 < len(texts)
                and len(bounds) < parts - 1):
            bounds.append((start, i + 1))
            start = i + 1
    bounds.append((start, len(texts)))
    return bounds


_POOLS: dict = {}
_POOLS_LOCK = threading.Lock()


def _pool(threads: int) -> ThreadPoolExecutor:
    with _POOLS_LOCK:
        pool = _POOLS.get(threads)
        if pool is None:
            pool = _POOLS[threads] = ThreadPoolExecutor(
                threads, thread_name_prefix="agentcore-analyze")
        return pool


def _map(fn, items: list, threads: int) -> list:
    if threads <= 1 or len(items) <= 1:
        return [fn(x) for x in items]
    return list(_pool(threads).map(fn, items))


def _check_threads(threads) -> int:
    if not isinstance(threads, int) or isinstance(threads, bool) or threads < 1:
        raise TypeError(f"threads must be a positive int, got {threads!r}")
    return threads


class _Bags:
    """Each sentence's set of content-word ids, built only for the sentences a prompt considers."""

    def __init__(self, np, uids, content, uoff):
        sent = np.repeat(np.arange(uoff.size - 1), np.diff(uoff))
        self.ids = uids[content].tolist()
        self.off = [0] + np.cumsum(np.bincount(sent[content], minlength=uoff.size - 1)).tolist()
        self.cache = {}

    def __getitem__(self, x: int) -> set:
        bag = self.cache.get(x)
        if bag is None:
            bag = self.cache[x] = set(self.ids[self.off[x]:self.off[x + 1]])
        return bag


class Corpus:
    """Pages seen so far: hashed document frequencies and a near-duplicate (MinHash LSH) index.

    Parameters
    ----------
    keywords : int
        How many keywords :meth:`add_many` returns per page.
    num_perm, bands, shingle : int
        MinHash slots, LSH bands (``num_perm % bands == 0``; 128/32 finds pairs above a Jaccard
        of about 0.4) and the token n-gram length of the shingles.
    threshold : float
        Estimated Jaccard at or above which two pages count as near-duplicates.
    df_bits : int
        The document-frequency table has ``2**df_bits`` hashed slots (4 bytes each).
    threads : int
        Default worker threads for :meth:`add_many` (kernels run without the GIL).
    backend : str
        ``"auto"`` (compiled unless AGENTCORE_NO_EXTENSIONS=1), ``"compiled"`` or ``"python"``
        (the pure twins; for tests and benchmarks).

    Thread-safe: concurrent :meth:`add_many` calls serialise only their short bookkeeping.
    The LSH index keeps ``bands`` dict entries per page, fine for hundreds of thousands of pages;
    use :func:`near_duplicates` on stored signatures beyond that.
    """

    def __init__(self, *, keywords: int = 10, num_perm: int = 128, bands: int = 32,
                 shingle: int = 3, threshold: float = 0.5, df_bits: int = 20, threads: int = 2,
                 max_bucket: int = 64, seed: int = 1, backend: str = "auto"):
        if not isinstance(keywords, int) or keywords < 0:
            raise TypeError(f"keywords must be an int >= 0, got {keywords!r}")
        if not 1 <= num_perm <= 4096 or bands < 1 or num_perm % bands:
            raise ValueError(f"bands={bands} must divide num_perm={num_perm} (1..4096)")
        if shingle < 1:
            raise ValueError(f"shingle must be >= 1, got {shingle}")
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {threshold}")
        if not 8 <= df_bits <= 30:
            raise ValueError(f"df_bits must be in 8..30, got {df_bits}")
        if backend not in ("auto", "compiled", "python"):
            raise ValueError(f"backend must be 'auto', 'compiled' or 'python', got {backend!r}")
        self.backend = backend
        self.keywords = keywords
        self.num_perm = num_perm
        self.bands = bands
        self.shingle = shingle
        self.threshold = threshold
        self.df_bits = df_bits
        self.threads = _check_threads(threads)
        self.max_bucket = max_bucket
        self.seed = seed
        self.n_docs = 0
        self.keys: list = []
        self._lock = threading.Lock()
        self._df = None
        self._table_lock = threading.Lock()
        self._sigs = None
        self._simhash = None
        self._buckets: dict = {}

    # -- document frequencies ------------------------------------------------------------------

    def _table(self):
        if self._df is None:
            with self._table_lock:    # two first callers must not make two tables
                if self._df is None:
                    self._df = _np().zeros(1 << self.df_bits, _np().int32)
        return self._df

    def df(self, word: str) -> int:
        """In how many pages ``word`` (normalised like the tokenizer does) occurred."""
        textops, similarity = _kernels(self.backend)
        h = textops.hash_word(word)
        if not h:
            return 0
        np = _np()
        return int(similarity.df_lookup(self._table(), np.array([h], np.uint64))[0])

    def idf(self, word: str) -> float:
        """Smoothed inverse document frequency ``ln((1 + N) / (1 + df)) + 1`` of ``word``."""
        return math.log((1 + self.n_docs) / (1 + self.df(word))) + 1.0

    # -- pages ---------------------------------------------------------------------------------

    def add(self, text, *, key=None) -> DocAnalysis:
        """Analyse one page (str or UTF-8 bytes) and remember it; see :meth:`add_many`."""
        if not isinstance(text, _TEXT_TYPES):
            raise TypeError(f"text must be str or bytes, got {type(text).__name__}")
        return self.add_many([text], keys=None if key is None else [key], threads=1)[0]

    def add_many(self, texts: Sequence, *, keys: Sequence | None = None,
                 threads: int | None = None) -> list:
        """Analyse many pages on ``threads`` GIL-free threads and remember them.

        Returns one :class:`DocAnalysis` per text, in order. Pages of one call count toward each
        other's document frequencies, and a page's ``duplicates`` lists earlier pages (this call
        included) whose estimated Jaccard reaches ``threshold``. Empty pages get no keywords and
        never match.
        """
        texts = _check_texts(texts)
        threads = self.threads if threads is None else _check_threads(threads)
        if keys is not None:
            keys = list(keys)
            if len(keys) != len(texts):
                raise ValueError(f"keys has {len(keys)} items for {len(texts)} texts")
        if not texts:
            return []
        np = _np()
        textops, sim = _kernels(self.backend)
        parts = _chunks(texts, threads)

        def tokens_and_signatures(bounds):
            a, b = bounds
            ids, offs, flags, starts, norm = textops.tokenize_batch(texts[a:b])
            ids = np.frombuffer(ids, np.uint64)
            offs = np.frombuffer(offs, np.int64)
            uids, counts, first, uoff = sim.doc_counts(ids, offs)
            sigs = sim.minhash(ids, offs, self.num_perm, self.shingle, self.seed)
            return dict(offs=offs, flags=np.frombuffer(flags, np.uint8),
                        starts=np.frombuffer(starts, np.int64), norm=norm, uids=uids, counts=counts, first=first, uoff=uoff, sigs=sigs,
                        bkeys=sim.band_keys(sigs, self.bands),
                        simhash=sim.simhash(uids, 1.0 + np.log(counts), uoff))

        chunks = _map(tokens_and_signatures, parts, threads)
        with self._lock:
            table = self._table()
            for c in chunks:
                sim.df_add(table, c["uids"])
            base = self.n_docs
            self.n_docs += len(texts)
            n_docs = self.n_docs
            self.keys.extend(keys if keys is not None else range(base, base + len(texts)))

        k = self.keywords

        def keywords(c):
            df = sim.df_lookup(table, c["uids"])
            w = sim.tfidf(c["counts"], df, n_docs)
            eligible = c["flags"][c["first"]] == 0
            top = sim.topk(w, eligible, c["first"], c["uoff"], k)
            # Gather every keyword's bytes from ``norm`` into one space-separated blob with numpy
            # and decode it once: per-keyword slicing and decoding in Python held the GIL longer
            # than the kernels ran.
            valid = top >= 0
            chosen = top[valid]
            starts = c["starts"]
            norm = np.frombuffer(c["norm"], np.uint8)
            lens = np.diff(np.append(starts, norm.size)) - 1      # every token ends in one space
            tok = c["first"][chosen]
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

        # Keywords run on the pool while this thread updates the LSH index (Python, GIL-bound):
        # the index needs only the signatures, so the two overlap.
        pending = ([_pool(threads).submit(keywords, c) for c in chunks]
                   if threads > 1 and len(chunks) > 1 else None)
        sigs = np.concatenate([c["sigs"] for c in chunks])
        hashes = np.concatenate([c["simhash"] for c in chunks])
        bkeys = np.concatenate([c["bkeys"] for c in chunks])
        n_tokens = np.concatenate([np.diff(c["offs"]) for c in chunks])
        with self._lock:
            dups = self._index(base, sigs, hashes, bkeys, n_tokens)
        kws = [f.result() for f in pending] if pending else [keywords(c) for c in chunks]
        out = []
        flat_kw = [kw for part in kws for kw in part]
        for t in range(len(texts)):
            out.append(DocAnalysis(index=base + t, key=self.keys[base + t],
                                   n_tokens=int(n_tokens[t]),
                                   keywords=flat_kw[t], simhash=int(hashes[t]), minhash=sigs[t],
                                   duplicates=dups[t]))
        return out

    def restore(self, keys: Sequence, minhashes, simhashes, n_tokens) -> None:
        """Put pages analysed earlier (e.g. before a crash) back into the near-duplicate index from
        their stored signatures, so later pages still find them. Document frequencies are not
        restored: keyword weights of later pages see only the pages added in this process."""
        np = _np()
        _, sim = _kernels()
        keys = list(keys)
        sigs = np.asarray(minhashes, np.uint32).reshape(len(keys), self.num_perm)
        hashes = np.asarray(simhashes, np.uint64).reshape(len(keys))
        n_tok = np.asarray(n_tokens, np.int64).reshape(len(keys))
        if not keys:
            return
        with self._lock:
            base = self.n_docs
            self.n_docs += len(keys)
            self.keys.extend(keys)
            self._index(base, sigs, hashes, sim.band_keys(sigs, self.bands), n_tok)

    def _index(self, base, sigs, hashes, bkeys, n_tokens) -> list:
        """Store signatures and find each page's earlier near-duplicates (caller holds the lock)."""
        np = _np()
        n = base + sigs.shape[0]
        if self._sigs is None or self._sigs.shape[0] < n:
            cap = max(n, 2 * (0 if self._sigs is None else self._sigs.shape[0]), 64)
            grown = np.empty((cap, self.num_perm), np.uint32)
            grown_h = np.empty(cap, np.uint64)
            if self._sigs is not None:
                grown[:base] = self._sigs[:base]
                grown_h[:base] = self._simhash[:base]
            self._sigs, self._simhash = grown, grown_h
        self._sigs[base:n] = sigs
        self._simhash[base:n] = hashes
        out = []
        # One dict for all bands (band keys are seeded per band, so they do not collide); a
        # bucket is a bare doc index until a second page lands in it: most never get one.
        buckets = self._buckets
        setdefault = buckets.setdefault
        cap = self.max_bucket
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
                        if len(bucket) < cap:
                            bucket.append(doc)
                if cands:
                    cand = np.fromiter(sorted(cands), np.int64, len(cands))
                    jac = (self._sigs[cand] == sigs[t]).sum(axis=1) / self.num_perm
                    found = [(self.keys[i], float(j)) for i, j in zip(cand.tolist(), jac.tolist())
                             if j >= self.threshold]
            out.append(found)
        return out

    def near_duplicates(self, threshold: float | None = None) -> list:
        """Every near-duplicate pair among the pages added so far (batch LSH over all of them)."""
        if self.n_docs == 0:
            return []
        return near_duplicates(self._sigs[:self.n_docs], self._simhash[:self.n_docs],
                               threshold=self.threshold if threshold is None else threshold,
                               bands=self.bands, max_bucket=self.max_bucket, backend=self.backend)

    # -- prompts -------------------------------------------------------------------------------

    def prompt_sentences(self, texts: Sequence, budget: int = 1200, mode: str = "top",
                         min_chars: int = 20, sep: str = "\n") -> list:
        """Sentences of ``texts`` (one site's pages) that fit ``budget`` characters when joined by
        ``sep``, in page and reading order.

        ``mode="top"`` keeps the sentences with the highest TF-IDF weight per token (IDF from this
        corpus; the site's own term counts), skipping repeats across pages, rewordings of a chosen
        sentence and sentences shorter than ``min_chars``; ``mode="lead"`` takes each page's
        first sentence, then each page's second, and so on. A first sentence longer than the
        budget is cut at a word boundary.
        """
        texts = _check_texts(texts)
        self._check_prompt_args(budget, mode)
        return self._select([texts], budget, mode, min_chars, sep)[0]

    def excerpts(self, texts: Sequence, budget: int = 280, mode: str = "top",
                 min_chars: int = 20, sep: str = " ") -> list:
        """One excerpt per text (str, at most ``budget`` characters): its own best sentences, as
        :meth:`prompt_sentences` picks them for a one-page site, joined by ``sep``.

        Batched: all texts' sentences are tokenized and scored in one pass, so this is the call
        for a batch of pages (``[sep.join(prompt_sentences([t])) for t in texts]``, faster).
        """
        texts = _check_texts(texts)
        self._check_prompt_args(budget, mode)
        chosen = self._select([[t] for t in texts], budget, mode, min_chars, sep)
        return [sep.join(x) for x in chosen]

    @staticmethod
    def _check_prompt_args(budget, mode):
        if mode not in ("top", "lead"):
            raise ValueError(f"mode must be 'top' or 'lead', got {mode!r}")
        if not isinstance(budget, int) or isinstance(budget, bool) or budget < 1:
            raise TypeError(f"budget must be a positive int (characters), got {budget!r}")

    def _select(self, sites: list, budget: int, mode: str, min_chars: int, sep: str) -> list:
        """For each site (a list of texts), its chosen sentences in reading order."""
        np = _np()
        textops, _ = _kernels(self.backend)
        sents, page, pos, group = [], [], [], []
        for g, texts in enumerate(sites):
            seen = set()
            for ti, text in enumerate(texts):
                for si, s in enumerate(textops.split_sentences(text)):
                    if len(s) < min_chars:
                        continue
                    norm = s.casefold()
                    if norm in seen:
                        continue
                    seen.add(norm)
                    sents.append(s)
                    page.append(ti)
                    pos.append(si)
                    group.append(g)
        out = [[] for _ in sites]
        if not sents:
            return out
        score, bags = self._score_sentences(sents, group, len(sites))
        # One sort for all sites: by site, then best first (top) or round-robin over pages (lead).
        if mode == "lead":
            order = np.lexsort((page, pos, group))
        else:
            order = np.lexsort((np.arange(len(sents)), -np.asarray(score), group))
        order = order.tolist()
        cuts = np.searchsorted(np.asarray(group)[order], np.arange(len(sites) + 1)).tolist()
        gap = len(sep)
        for g in range(len(sites)):
            ranked = order[cuts[g]:cuts[g + 1]]
            if not ranked:
                continue
            chosen, used = [], 0
            for x in ranked:
                if chosen and used + gap + min_chars > budget:
                    break           # every candidate left is at least min_chars long
                cost = len(sents[x]) + (gap if chosen else 0)
                if used + cost > budget:
                    continue
                # A reworded copy (same content words) of a chosen sentence adds nothing.
                bx = bags[x]
                if any(len(bx & bags[y]) >= 0.7 * max(len(bx | bags[y]), 1) for y in chosen):
                    continue
                chosen.append(x)
                used += cost
            if chosen:
                chosen.sort(key=lambda x: (page[x], pos[x]))
                out[g] = [sents[x] for x in chosen]
            elif budget > 1:
                cut = sents[ranked[0]][:budget - 1]
                if " " in cut:
                    cut = cut[:cut.rindex(" ")]
                out[g] = [cut + "…"]
        return out

    def _score_sentences(self, sentences: list, group: list, n_groups: int) -> tuple:
        """Each sentence's score (TF-IDF of its content words over sqrt(words + 1); term
        frequency counted over its whole group) and its set of content-word ids."""
        np = _np()
        textops, sim = _kernels(self.backend)
        ids, offs, flags, _, _ = textops.tokenize_batch(sentences, spans=False)
        ids = np.frombuffer(ids, np.uint64)
        offs = np.frombuffer(offs, np.int64)
        flags = np.frombuffer(flags, np.uint8)
        uids, counts, first, uoff = sim.doc_counts(ids, offs)
        content = flags[first] == 0
        # Group-level term counts: the sentences of a group are contiguous, so each group is one
        # "document" over the same token ids; ``inverse`` maps tokens to their group entry.
        bounds = np.searchsorted(np.asarray(group, np.int64), np.arange(n_groups + 1))
        guids, gcounts, _, _, ginv = sim.doc_counts(ids, offs[bounds], inverse=True)
        gw = sim.tfidf(gcounts, sim.df_lookup(self._table(), guids), self.n_docs)
        w = gw[ginv[first]] * content
        sent = np.repeat(np.arange(len(sentences)), np.diff(uoff))
        score = np.bincount(sent, weights=w, minlength=len(sentences))
        score = np.round(score / np.sqrt(np.diff(offs) + 1.0), 9).tolist()
        return score, _Bags(np, uids, content, uoff)

    def _count_only(self, texts: list) -> None:
        """Add ``texts`` to the document frequencies only (no signatures, no index)."""
        np = _np()
        textops, sim = _kernels(self.backend)
        ids, offs, _, _, _ = textops.tokenize_batch(texts, spans=False)
        uids, _, _, _ = sim.doc_counts(np.frombuffer(ids, np.uint64), np.frombuffer(offs, np.int64))
        with self._lock:
            sim.df_add(self._table(), uids)
            self.n_docs += len(texts)

    def prompt(self, texts: Sequence, budget: int = 1200, mode: str = "top",
               sep: str = "\n") -> str:
        """:meth:`prompt_sentences` joined by ``sep``: at most ``budget`` characters."""
        return sep.join(self.prompt_sentences(texts, budget=budget, mode=mode, sep=sep))


def analyze_many(texts: Sequence, *, threads: int = 2, keywords: int = 10, keys=None,
                 backend: str = "auto") -> list:
    """Analyse ``texts`` as one fresh corpus: keywords, SimHash, MinHash and duplicates per text.

    >>> docs = analyze_many(["The cat sat on the mat.", "The cat sat on the mat!", ""])
    >>> [d.duplicates for d in docs]
    [[], [(0, 1.0)], []]
    """
    return Corpus(keywords=keywords, threads=_check_threads(threads),
                  backend=backend).add_many(texts, keys=keys)


def analyze(text, *, keywords: int = 10, backend: str = "auto") -> DocAnalysis:
    """Analyse one text on its own (IDF is flat, so keywords rank by term frequency)."""
    return Corpus(keywords=keywords, threads=1, backend=backend).add(text)


def near_duplicates(minhashes, simhashes=None, *, threshold: float = 0.5, bands: int = 32,
                    max_bucket: int = 64, backend: str = "auto") -> list:
    """Near-duplicate pairs among many documents' MinHash signatures (rows of a uint32 array).

    LSH banding proposes candidates, then the estimated Jaccard (share of equal slots) must reach
    ``threshold``. With ``simhashes`` (one uint64 per row) each pair also carries its Hamming
    distance. Returns :class:`NearDuplicate` items sorted by ``(i, j)``.
    """
    np = _np()
    _, sim = _kernels(backend)
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


def prompt_sentences(texts: Sequence, *, budget: int = 1200, mode: str = "top",
                     corpus: Corpus | None = None, backend: str = "auto") -> list:
    """The most informative sentences of ``texts`` within ``budget`` characters (see
    :meth:`Corpus.prompt_sentences`). Without ``corpus``, IDF comes from ``texts`` themselves."""
    if corpus is None:
        texts = _check_texts(texts)
        corpus = Corpus(keywords=0, threads=1, backend=backend)
        corpus._count_only(texts)
    return corpus.prompt_sentences(texts, budget=budget, mode=mode)



def warm_up() -> float:
    """Compile (first time) or load (later) every Numba kernel the analysis uses; returns seconds.

    The first compile takes 10-25 s on 2 cores and is cached next to the kernels, so an installer
    can call this once (``python -c "import agentcore.analyze as a; a.warm_up()"``) and no run or
    test pays for it later.
    """
    import time

    t0 = time.perf_counter()
    corpus = Corpus(threads=1)
    pages = ["A first page about rivers. It has two sentences.", b"A second page, as bytes.", ""]
    corpus.add_many(pages)
    corpus.add("A first page about rivers. It has two sentences.")
    corpus.near_duplicates()
    corpus.excerpts(pages)
    corpus.prompt(pages)
    corpus.df("rivers")
    return time.perf_counter() - t0
