"""Prompt sentences and excerpts: the most informative sentences of a site or a page in a budget.

A sentence scores the TF-IDF weight of its content words (term counts and IDF from its own site's
pages, nothing else: the same site gives the same sentences in any crawl) over
``sqrt(words + 1)``; :func:`select_sentences` takes the best that fit, skipping
repeats, rewordings and short fragments, and hands them back in reading order.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from agentcore.analyze.keywords import content_terms, term_weights

if TYPE_CHECKING:
    from agentcore.analyze.corpus import Corpus

__all__ = ["MODES", "check_prompt_args", "select_sentences", "score_sentences"]

#: "top": the best-scoring sentences; "lead": each page's first, then each page's second, ...
MODES = ("top", "lead")


def check_prompt_args(budget, mode) -> None:
    """ValueError / TypeError for a mode or a budget :func:`select_sentences` cannot use."""
    if mode not in MODES:
        raise ValueError(f"mode must be 'top' or 'lead', got {mode!r}")
    if not isinstance(budget, int) or isinstance(budget, bool) or budget < 1:
        raise TypeError(f"budget must be a positive int (characters), got {budget!r}")


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


def select_sentences(corpus: "Corpus", sites: list, budget: int, mode: str, min_chars: int,
                     sep: str) -> list:
    """For each site (a list of texts), its chosen sentences in reading order, joined by ``sep``
    within ``budget`` characters (see :meth:`agentcore.analyze.Corpus.prompt_sentences`)."""
    import numpy as np

    split = corpus.textops.split_sentences
    cands: list = []
    for g, texts in enumerate(sites):
        # a site's long enough sentences in reading order; a repeat (the same casefolded text,
        # on this page or an earlier one of the site) keeps its first place only
        seen: dict = {}
        put = seen.setdefault
        for ti, text in enumerate(texts):
            si = -1
            for s in split(text):
                si += 1
                if len(s) >= min_chars:
                    put(s.casefold(), (g, ti, si, s))
        cands += seen.values()
    out = [[] for _ in sites]
    if not cands:
        return out
    group, page, pos, sents = zip(*cands)
    group = np.asarray(group, np.int64)
    score, bags = score_sentences(corpus, sents, group, page, len(sites))
    # One sort for all sites: by site, then best first (top) or round-robin over pages (lead).
    if mode == "lead":
        order = np.lexsort((page, pos, group))
    else:
        order = np.lexsort((np.arange(len(sents)), -score, group))
    order = order.tolist()
    cuts = np.searchsorted(group[order], np.arange(len(sites) + 1)).tolist()
    gap = len(sep)
    last = budget - gap - min_chars  # past this much used, no candidate left fits
    for g in range(len(sites)):
        lo, hi = cuts[g], cuts[g + 1]
        if lo == hi:
            continue
        x = order[lo]
        chosen = _greedy(order[lo:hi], sents, bags, budget, gap, last)
        if chosen:
            if len(chosen) > 1:
                chosen.sort(key=lambda x: (page[x], pos[x]))
            out[g] = [sents[x] for x in chosen]
        elif budget > 1:
            cut = sents[x][:budget - 1]
            if " " in cut:
                cut = cut[:cut.rindex(" ")]
            out[g] = [cut + "…"]
    return out


def _greedy(ranked: list, sents, bags, budget: int, gap: int, last: int) -> list:
    """The sentences taken best first within ``budget``: a candidate that does not fit is
    passed over, a reworded copy (same content words) of a taken one too: shared words reach
    70% of the union (|a| + |b| - shared, no union set built)."""
    chosen: list = []
    taken: list = []
    used = 0
    for x in ranked:
        if chosen:
            if used > last:
                break           # every candidate left is at least min_chars long
            cost = len(sents[x]) + gap
            if used + cost > budget:
                continue
            bx = bags[x]
            nx = len(bx)
            for by in taken:
                i = len(bx & by)
                if i >= 0.7 * max(nx + len(by) - i, 1):
                    break
            else:
                chosen.append(x)
                taken.append(bx)
                used += cost
        else:
            cost = len(sents[x])
            if cost > budget:
                continue
            chosen.append(x)
            taken.append(bags[x])
            used = cost
    return chosen


def score_sentences(corpus: "Corpus", sentences: list, group, page: list,
                    n_groups: int) -> tuple:
    """Each sentence's score (a float64 array) and the sets of its content-word ids.

    The score is the TF-IDF weight of its content words over sqrt(words + 1): term frequency
    counted over its whole group (site), IDF ``ln((1 + pages) / (1 + df)) + 1`` over the group's
    pages (``page``: the sentence's page within its group), so a one-page group weighs by term
    frequency alone.
    """
    import numpy as np

    textops, sim = corpus.textops, corpus.similarity
    ids, offs, flags, _, _ = textops.tokenize_batch(sentences, spans=False)
    ids = np.frombuffer(ids, np.uint64)
    offs = np.frombuffer(offs, np.int64)
    flags = np.frombuffer(flags, np.uint8)
    uids, counts, first, uoff = sim.doc_counts(ids, offs)
    # Group-level term counts: the sentences of a group are contiguous, so each group is one
    # "document" over the same token ids; ``inverse`` maps tokens to their group entry.
    group = np.asarray(group, np.int64)
    bounds = np.searchsorted(group, np.arange(n_groups + 1))
    guids, gcounts, gfirst, guoff, ginv = sim.doc_counts(ids, offs[bounds], inverse=True)
    gcontent = content_terms(textops, flags, guids, gfirst)
    gw = term_weights(gcounts) * gcontent
    if any(page):       # some site has a second page: weigh by the site's own IDF
        gw *= _site_idf(np, sim, ids, offs, group, np.asarray(page, np.int64), ginv, guoff,
                        n_groups)
    entry = ginv[first]
    w = gw[entry]
    content = gcontent[entry]
    sent = np.repeat(np.arange(len(sentences)), np.diff(uoff))
    score = np.bincount(sent, weights=w, minlength=len(sentences))
    score = np.round(score / np.sqrt(np.diff(offs) + 1.0), 9)
    return score, _Bags(np, uids, content, uoff)


def _site_idf(np, sim, ids, offs, group, page, ginv, guoff, n_groups):
    """Per group entry (a site's distinct word): ``ln((1 + pages) / (1 + df)) + 1`` over its
    site's pages."""
    # a page is a run of sentences with the same (group, page): sentences arrive in that order
    new = np.ones(group.size, bool)
    new[1:] = (group[1:] != group[:-1]) | (page[1:] != page[:-1])
    starts = np.flatnonzero(new)
    # each page's distinct words (their first tokens) map to their site's entries: df counts them
    _, _, first, _ = sim.doc_counts(ids, offs[np.append(starts, group.size)])
    df = np.bincount(ginv[first], minlength=int(guoff[-1]))
    if n_groups == 1:   # one site (a prompt): its page count is one number
        n = float(starts.size)
    else:
        n = np.repeat(np.bincount(group[starts], minlength=n_groups), np.diff(guoff))
    return np.log((1.0 + n) / (1.0 + df)) + 1.0
