"""The corpus: each batch of pages is tokenized, given its own keywords and signatures, and checked
against the near-duplicate index of every page before it."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Sequence

from agentcore.analyze.excerpts import check_prompt_args, select_sentences
from agentcore.analyze.inputs import TEXT_TYPES, check_texts, check_threads
from agentcore.analyze.twins import KERNEL_CHOICES, kernel_modules
from agentcore.analyze.keywords import top_keywords
from agentcore.analyze.neardup import NearDupIndex, near_duplicates, signatures
from agentcore.analyze.tokens import tokenize
from agentcore.kernels.pool import map_threads

__all__ = ["Corpus", "DocAnalysis", "analyze", "analyze_many", "prompt_sentences"]


@dataclass(frozen=True)
class DocAnalysis:
    """What :meth:`Corpus.add_many` learned about one page."""

    index: int                              # position in the corpus (order of arrival)
    key: Any                                # the caller's key (url, agent id), else ``index``
    n_tokens: int
    keywords: list                          # [(word, 1 + ln count)], heaviest first
    simhash: int                            # 64-bit SimHash over log-tf weighted words
    minhash: Any = field(repr=False)        # numpy uint32 signature (``num_perm`` slots)
    duplicates: list = field(default_factory=list)  # [(key, est. Jaccard)] of earlier near-dups


def _slices(texts: list, parts: int) -> list:
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


class Corpus:
    """Pages seen so far, in a near-duplicate (MinHash LSH) index.

    What a page gets does not depend on which pages came before it: its keywords and excerpt come
    from its own text, its signatures from its own tokens, and the near-duplicate pairs found over
    all pages are the same set whatever order they were added in (each pair is reported once,
    by the page added second).

    Parameters
    ----------
    keywords : int
        How many keywords :meth:`add_many` returns per page.
    num_perm, bands, shingle : int
        MinHash slots, LSH bands (``num_perm % bands == 0``; 128/32 finds pairs above a Jaccard
        of about 0.4) and the token n-gram length of the shingles.
    threshold : float
        Estimated Jaccard at or above which two pages count as near-duplicates.
    max_bucket : int
        Only for :meth:`near_duplicates` (the batch pass): LSH buckets larger than this pair each
        page with the bucket's first only. The incremental index compares a page with every
        page it shares a bucket with, so that what it finds does not depend on arrival order.
    threads : int
        Default worker threads for :meth:`add_many` (kernels run without the GIL).
    kernels : str or None
        ``"compiled"``, ``"pure"`` (the pure-Python twins) or None: what the environment switch
        picks (``agentcore.kernels.twin``; compiled unless AGENTCORE_NO_EXTENSIONS=1);
        ``"lean"``: the switch's text kernels with whole-batch signatures instead of Numba's
        (Cython ``kernels/_signatures.pyx``, GIL released, or its twin, the numpy
        :mod:`agentcore.analyze.batchsim`: the same bits, ~110 MB less resident memory and no
        Numba start-up; what the crawl job uses).

    Thread-safe: concurrent :meth:`add_many` calls serialise only their short bookkeeping.
    The LSH index keeps ``bands`` dict entries per page, fine for hundreds of thousands of pages;
    use :func:`~agentcore.analyze.near_duplicates` on stored signatures beyond that.
    """

    def __init__(self, *, keywords: int = 10, num_perm: int = 128, bands: int = 32,
                 shingle: int = 3, threshold: float = 0.5, threads: int = 2,
                 max_bucket: int = 64, seed: int = 1, kernels: str | None = None):
        if not isinstance(keywords, int) or keywords < 0:
            raise TypeError(f"keywords must be an int >= 0, got {keywords!r}")
        if not 1 <= num_perm <= 4096 or bands < 1 or num_perm % bands:
            raise ValueError(f"bands={bands} must divide num_perm={num_perm} (1..4096)")
        if shingle < 1:
            raise ValueError(f"shingle must be >= 1, got {shingle}")
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {threshold}")
        if kernels is not None and kernels not in KERNEL_CHOICES:
            raise ValueError(f"kernels must be 'compiled', 'pure', 'lean' or None, got {kernels!r}")
        self.kernels = kernels
        self.keywords = keywords
        self.num_perm = num_perm
        self.bands = bands
        self.shingle = shingle
        self.threshold = threshold
        self.threads = check_threads(threads)
        self.max_bucket = max_bucket
        self.seed = seed
        self.n_docs = 0
        self.keys: list = []
        self.index = NearDupIndex(num_perm, threshold)
        self._lock = threading.Lock()
        self._twins = None

    # -- kernels (loaded on first use: constructing a Corpus imports neither numpy nor Numba) ----

    @property
    def textops(self):
        """The textops kernel module this corpus uses."""
        return self._kernel_modules()[0]

    @property
    def similarity(self):
        """The similarity kernel module this corpus uses."""
        return self._kernel_modules()[1]

    def load(self) -> "Corpus":
        """Import the analysis kernels (numpy, the twins) now rather than at the first page: a
        crawl loads them before its fetches start, so no import holds the GIL while they run."""
        import numpy  # noqa: F401

        self._kernel_modules()
        return self

    def _kernel_modules(self) -> tuple:
        if self._twins is None:
            self._twins = kernel_modules(self.kernels)
        return self._twins

    # -- pages ---------------------------------------------------------------------------------

    def add(self, text, *, key=None) -> DocAnalysis:
        """Analyse one page (str or UTF-8 bytes) and remember it; see :meth:`add_many`."""
        if not isinstance(text, TEXT_TYPES):
            raise TypeError(f"text must be str or bytes, got {type(text).__name__}")
        return self.add_many([text], keys=None if key is None else [key], threads=1)[0]

    def add_many(self, texts: Sequence, *, keys: Sequence | None = None,
                 threads: int | None = None) -> list:
        """Analyse many pages on ``threads`` GIL-free threads and remember them.

        Returns one :class:`DocAnalysis` per text, in order. A page's keywords come from its own
        term counts only, and its ``duplicates`` lists the earlier pages (this call included)
        whose estimated Jaccard reaches ``threshold``: over all pages, the pairs are the same set
        in any order of arrival. Empty pages get no keywords and never match.
        """
        texts = check_texts(texts)
        threads = self.threads if threads is None else check_threads(threads)
        if keys is not None:
            keys = list(keys)
            if len(keys) != len(texts):
                raise ValueError(f"keys has {len(keys)} items for {len(texts)} texts")
        if not texts:
            return []
        import numpy as np

        textops, sim = self._kernel_modules()

        def analyse(bounds):
            a, b = bounds
            tokens = tokenize(textops, sim, texts[a:b])
            sigs, bkeys, simhash = signatures(sim, tokens, num_perm=self.num_perm,
                                              shingle=self.shingle, seed=self.seed,
                                              bands=self.bands)
            return (sigs, bkeys, simhash, np.diff(tokens.offs),
                    top_keywords(textops, sim, tokens, self.keywords))

        chunks = map_threads(analyse, _slices(texts, threads), threads)
        sigs = np.concatenate([c[0] for c in chunks])
        bkeys = np.concatenate([c[1] for c in chunks])
        hashes = np.concatenate([c[2] for c in chunks])
        n_tokens = np.concatenate([c[3] for c in chunks])
        kws = [kw for c in chunks for kw in c[4]]
        with self._lock:
            base = self.n_docs
            self.n_docs += len(texts)
            self.keys.extend(keys if keys is not None else range(base, base + len(texts)))
            dups = self.index.add(base, sigs, hashes, bkeys, n_tokens, self.keys)
            keys = self.keys[base:base + len(texts)]
        return [DocAnalysis(index=base + t, key=keys[t], n_tokens=int(n_tokens[t]),
                            keywords=kws[t], simhash=int(hashes[t]), minhash=sigs[t],
                            duplicates=dups[t])
                for t in range(len(texts))]

    def restore(self, keys: Sequence, minhashes, simhashes, n_tokens) -> None:
        """Put pages analysed earlier (e.g. before a crash) back into the near-duplicate index from
        their stored signatures, so later pages still find them (nothing else about a page
        depends on the pages before it)."""
        import numpy as np

        keys = list(keys)
        sigs = np.asarray(minhashes, np.uint32).reshape(len(keys), self.num_perm)
        hashes = np.asarray(simhashes, np.uint64).reshape(len(keys))
        n_tok = np.asarray(n_tokens, np.int64).reshape(len(keys))
        if not keys:
            return
        bkeys = self.similarity.band_keys(sigs, self.bands)
        with self._lock:
            base = self.n_docs
            self.n_docs += len(keys)
            self.keys.extend(keys)
            self.index.add(base, sigs, hashes, bkeys, n_tok, self.keys)

    def near_duplicates(self, threshold: float | None = None) -> list:
        """Every near-duplicate pair among the pages added so far (batch LSH over all of them)."""
        if self.n_docs == 0:
            return []
        return near_duplicates(self.index.sigs, self.index.simhash,
                               threshold=self.threshold if threshold is None else threshold,
                               bands=self.bands, max_bucket=self.max_bucket, kernels=self.kernels)

    # -- prompts -------------------------------------------------------------------------------

    def prompt_sentences(self, texts: Sequence, budget: int = 1200, mode: str = "top",
                         min_chars: int = 20, sep: str = "\n") -> list:
        """Sentences of ``texts`` (one site's pages) that fit ``budget`` characters when joined by
        ``sep``, in page and reading order.

        ``mode="top"`` keeps the sentences with the highest TF-IDF weight per token (term counts
        and IDF from ``texts`` alone, the site's own pages: a word on every page weighs less than
        one on a few), skipping repeats across pages, rewordings of a chosen sentence and
        sentences shorter than ``min_chars``; ``mode="lead"`` takes each page's
        first sentence, then each page's second, and so on. A first sentence longer than the
        budget is cut at a word boundary.
        """
        texts = check_texts(texts)
        check_prompt_args(budget, mode)
        return select_sentences(self, [texts], budget, mode, min_chars, sep)[0]

    def excerpts(self, texts: Sequence, budget: int = 280, mode: str = "top",
                 min_chars: int = 20, sep: str = " ") -> list:
        """One excerpt per text (str, at most ``budget`` characters): its own best sentences, as
        :meth:`prompt_sentences` picks them for a one-page site, joined by ``sep``.

        Batched: all texts' sentences are tokenized and scored in one pass, so this is the call
        for a batch of pages (``[sep.join(prompt_sentences([t])) for t in texts]``, faster).
        """
        texts = check_texts(texts)
        check_prompt_args(budget, mode)
        chosen = select_sentences(self, [[t] for t in texts], budget, mode, min_chars, sep)
        return [sep.join(x) for x in chosen]

    def prompt(self, texts: Sequence, budget: int = 1200, mode: str = "top",
               sep: str = "\n") -> str:
        """:meth:`prompt_sentences` joined by ``sep``: at most ``budget`` characters."""
        return sep.join(self.prompt_sentences(texts, budget=budget, mode=mode, sep=sep))


def analyze_many(texts: Sequence, *, threads: int = 2, keywords: int = 10, keys=None,
                 kernels: str | None = None) -> list:
    """Analyse ``texts`` as one fresh corpus: keywords, SimHash, MinHash and duplicates per text.

    >>> docs = analyze_many(["The cat sat on the mat.", "The cat sat on the mat!", ""])
    >>> [d.duplicates for d in docs]
    [[], [(0, 1.0)], []]
    """
    return Corpus(keywords=keywords, threads=check_threads(threads),
                  kernels=kernels).add_many(texts, keys=keys)


def analyze(text, *, keywords: int = 10, kernels: str | None = None) -> DocAnalysis:
    """Analyse one text on its own (what a corpus gives it too: keywords are its own)."""
    return Corpus(keywords=keywords, threads=1, kernels=kernels).add(text)


def prompt_sentences(texts: Sequence, *, budget: int = 1200, mode: str = "top",
                     corpus: Corpus | None = None, kernels: str | None = None) -> list:
    """The most informative sentences of ``texts`` (one site's pages) within ``budget``
    characters (see :meth:`Corpus.prompt_sentences`; IDF comes from ``texts`` themselves)."""
    if corpus is None:
        corpus = Corpus(keywords=0, threads=1, kernels=kernels)
    return corpus.prompt_sentences(texts, budget=budget, mode=mode)
