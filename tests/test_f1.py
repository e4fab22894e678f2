"""The benchmark metric (agentcore.f1) against hand-worked cases of the README's description."""
import pytest

from agentcore import f1


def test_shingles_are_counted_4grams_of_word_tokens():
    sh = f1.shingles("the cat, the cat; the cat!")
    # tokens: the cat the cat the cat -> 3 shingles, one of them twice
    assert sh == {"the cat the cat": 2, "cat the cat the": 1}
    assert f1.shingles("The cat the cat the")["The cat the cat"] == 1  # case is kept
    assert f1.shingles("") == {}
    assert f1.shingles("... !!!") == {}


def test_short_texts_are_one_shingle():
    assert f1.shingles("just three words") == {"just three words": 1}
    assert f1.shingles("é ü 東京") == {"é ü 東京": 1}  # \w is Unicode


def test_page_counts_are_normalised():
    # true: a b c d e -> {abcd, bcde}; pred: a b c d x -> {abcd, bcdx}
    tp, fp, fn = f1.page_counts("a b c d e", "a b c d x")
    assert (tp, fp, fn) == pytest.approx((1 / 3, 1 / 3, 1 / 3))
    assert f1.page_counts("", "") == (0.0, 0.0, 0.0)
    assert f1.page_counts("a b c d", "") == (0.0, 0.0, 1.0)
    assert f1.page_counts("", "a b c d") == (0.0, 1.0, 0.0)


def test_counts_respect_multiplicity():
    # the true text repeats its only shingle twice, the prediction once
    tp, fp, fn = f1.page_counts("a b c d a b c d", "a b c d")
    t, p = f1.shingles("a b c d a b c d"), f1.shingles("a b c d")
    assert sum(t.values()) == 5 and sum(p.values()) == 1
    assert (tp, fp, fn) == pytest.approx((1 / 5, 0.0, 4 / 5))


def test_score_averages_precision_and_recall_over_pages():
    pages = {
        "perfect": ("one two three four five", "one two three four five"),
        "half": ("a b c d e", "a b c d x"),  # tp=fp=fn=1/3: precision 0.5, recall 0.5
        "missed": ("w x y z", ""),  # no prediction: counts for recall only
    }
    s = f1.score(pages)
    precision = (1.0 + 0.5) / 2  # "missed" has tp+fp == 0
    recall = (1.0 + 0.5 + 0.0) / 3
    assert s.precision == pytest.approx(precision)
    assert s.recall == pytest.approx(recall)
    assert s.f1 == pytest.approx(2 * precision * recall / (precision + recall))
    assert set(s.pages) == set(pages)


def test_page_f1_and_degenerate_scores():
    assert f1.page_f1("a b c d e", "a b c d e") == 1.0
    assert f1.page_f1("a b c d e", "v w x y z") == 0.0
    assert f1.score({}).f1 == 0.0
    assert f1.score([("k", ("a b c d", "a b c d"))]).f1 == 1.0
