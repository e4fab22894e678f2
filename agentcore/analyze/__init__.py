"""Page analysis: keywords, near-duplicate signatures and budgeted prompt sentences, the same in
any order of arrival.

A page's keywords (its own term frequencies, stopwords of many languages left out), signatures and
excerpt come from its own text alone; a :class:`Corpus` remembers the pages' MinHash signatures
in an LSH index, so each page also learns its near-duplicates among the pages before it::

    from agentcore.analyze import Corpus

    corpus = Corpus()
    for doc in corpus.add_many(page_texts, keys=urls):       # many pages, GIL-free threads
        doc.keywords        # [("depot", 2.6), ("sales", 2.1), ...] heaviest words, 1 + ln(count)
        doc.simhash         # 64-bit int
        doc.duplicates      # [(earlier_key, estimated_jaccard), ...] near-duplicates seen so far
    corpus.excerpts(page_texts, budget=280)  # per page: its best sentences, <= 280 characters
    corpus.prompt(site_texts, budget=1200)   # per site: its most informative sentences, in order

The pairs that ``duplicates`` report over all pages are one set whatever the order: each pair is
reported by the page of the two that is added second.

Single pages: ``corpus.add(text)``; one-off use without a corpus: :func:`analyze_many`,
:func:`analyze`, :func:`near_duplicates`, :func:`prompt_sentences`. :func:`warm_up` compiles the
Numba kernels once (cached on disk) so that a first run does not pay for it.

Importing this module is cheap: numpy, the compiled kernels and Numba load on first use.
``kernels="compiled"`` / ``"pure"`` (on :class:`Corpus` and the functions) names a twin of the
kernels explicitly (``agentcore.kernels.twin``); the default follows AGENTCORE_NO_EXTENSIONS.

Modules, one step each: ``corpus`` (the incremental Corpus and the one-off functions),
``tokens`` (texts to token arrays), ``keywords`` (term weights, top keywords),
``stopwords`` (function words of many languages),
``neardup`` (signatures, LSH index, batch pairs), ``excerpts`` (prompt sentences),
``inputs`` (argument checks), ``twins`` (which kernels), ``batchsim`` (numpy signatures),
``warmup``.
"""
from agentcore.analyze.corpus import Corpus, DocAnalysis, analyze, analyze_many, prompt_sentences
from agentcore.analyze.neardup import NearDuplicate, near_duplicates
from agentcore.analyze.warmup import warm_up

__all__ = ["Corpus", "DocAnalysis", "NearDuplicate", "analyze", "analyze_many",
           "near_duplicates", "prompt_sentences", "warm_up"]
