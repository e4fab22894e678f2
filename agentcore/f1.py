"""Shingle F1 of extracted article text against ground truth, per the extraction benchmark's README.

The metric of scrapinghub/article-extraction-benchmark, reimplemented from its description:
texts are split into Unicode ``\\w+`` tokens; each page's 4-gram shingles are counted; per page,
tp = shared shingles (by count), fp = extra predicted, fn = missed, and the three are normalised
to sum to 1. Precision is the mean of tp/(tp+fp) over pages with tp+fp > 0, recall the mean of
tp/(tp+fn) over pages with tp+fn > 0, and F1 is the harmonic mean of those two means.

>>> page_counts("a b c d e", "a b c d")
(0.5, 0.0, 0.5)
>>> round(score({"p": ("one two three four five", "one two three four five")}).f1, 3)
1.0
"""
from __future__ import annotations

import re
from collections import Counter
from typing import Iterable, Mapping, NamedTuple

_TOKEN = re.compile(r"\w+", re.UNICODE)
NGRAM = 4


class Score(NamedTuple):
    """Benchmark result: the F1 of the mean precision and mean recall, and per-page counts."""

    f1: float
    precision: float
    recall: float
    pages: dict  # page id -> (tp, fp, fn), each normalised so the three sum to 1


def shingles(text: str, n: int = NGRAM) -> Counter:
    """Count the n-gram shingles of ``text``'s ``\\w+`` tokens.

    A text with fewer than ``n`` tokens (but at least one) is one shingle of all its tokens,
    as in the benchmark's reference code, so very short texts still count.
    """
    tokens = _TOKEN.findall(text or "")
    if not tokens:
        return Counter()
    if len(tokens) < n:
        return Counter([" ".join(tokens)])
    return Counter(" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def page_counts(true: str, pred: str, n: int = NGRAM) -> tuple[float, float, float]:
    """Return one page's (tp, fp, fn) shingle counts, normalised to sum to 1 (zeros if empty)."""
    t, p = shingles(true, n), shingles(pred, n)
    tp = sum((t & p).values())
    fp = sum((p - t).values())
    fn = sum((t - p).values())
    total = tp + fp + fn
    if total == 0:
        return (0.0, 0.0, 0.0)
    return (tp / total, fp / total, fn / total)


def score(pairs: Mapping[str, tuple[str, str]] | Iterable[tuple[str, tuple[str, str]]]) -> Score:
    """Score ``{page_id: (true_text, predicted_text)}``; see the module docstring for the metric."""
    items = pairs.items() if isinstance(pairs, Mapping) else pairs
    pages = {}
    precisions, recalls = [], []
    for key, (true, pred) in items:
        tp, fp, fn = page_counts(true, pred)
        pages[key] = (tp, fp, fn)
        if tp + fp > 0:
            precisions.append(tp / (tp + fp))
        if tp + fn > 0:
            recalls.append(tp / (tp + fn))
    precision = sum(precisions) / len(precisions) if precisions else 0.0
    recall = sum(recalls) / len(recalls) if recalls else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return Score(f1, precision, recall, pages)


def page_f1(true: str, pred: str) -> float:
    """F1 of one page (handy to list the worst pages when tuning an extractor)."""
    tp, fp, fn = page_counts(true, pred)
    if tp == 0:
        return 0.0
    p, r = tp / (tp + fp), tp / (tp + fn)
    return 2 * p * r / (p + r)
