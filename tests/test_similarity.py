"""Similarity kernels (counts, TF-IDF, top-k, SimHash, MinHash, LSH): same assertions, both twins.

Tests taking ``sim`` run once per twin (the session fixture ``impl``: the Numba kernels and the
NumPy twin); the ones marked ``compiled`` compare the two or exercise the Numba kernels' threads.
"""
import json
import os
import threading
from pathlib import Path

import numpy as np
import pytest

from agentcore.kernels import textops, twin

SHARED = Path(os.environ.get("AGENTCORE_SHARED", Path(__file__).resolve().parents[2] / "shared"))
GROUND_TRUTH = SHARED / "data" / "article-extraction-benchmark" / "ground-truth.json"


@pytest.fixture
def sim(impl):
    """The ``impl`` twin of the similarity kernels."""
    return twin("similarity", impl)


def flat(docs):
    ids, offs, flags, starts, norm = textops.tokenize_batch(docs)
    return np.frombuffer(ids, np.uint64), np.frombuffer(offs, np.int64)


def u64(*xs):
    return np.array(xs, np.uint64)


def test_doc_counts_unique_in_order_of_first_occurrence(sim):
    ids = u64(5, 3, 5, 9, 3, 5, 7, 7)
    offs = np.array([0, 6, 6, 8])          # doc 1 is empty
    uids, counts, first, uoff = sim.doc_counts(ids, offs)
    assert uids.tolist() == [5, 3, 9, 7]
    assert counts.tolist() == [3, 2, 1, 2]
    assert first.tolist() == [0, 1, 3, 6]
    assert uoff.tolist() == [0, 3, 3, 4]
    assert (uids.dtype, counts.dtype, first.dtype, uoff.dtype) == (np.uint64, np.int32, np.int64, np.int64)
    *_, inverse = sim.doc_counts(ids, offs, inverse=True)
    assert inverse.tolist() == [0, 1, 0, 2, 1, 0, 3, 3]
    assert (uids[inverse] == ids).all()


def test_tfidf_formula(sim):
    w = sim.tfidf(np.array([1, 4]), np.array([1, 9]), 9)
    expected = [(1 + np.log(1)) * (np.log(10 / 2) + 1), (1 + np.log(4)) * (np.log(10 / 10) + 1)]
    np.testing.assert_allclose(w, expected, rtol=1e-12)


def test_topk_orders_by_weight_then_first_occurrence_and_pads(sim):
    w = np.array([1.0, 3.0, 3.0, 2.0, 9.0, 5.0])
    eligible = np.array([True, True, True, True, False, True])
    first = np.array([4, 7, 2, 0, 1, 9])
    uoff = np.array([0, 5, 6, 6])
    top = sim.topk(w, eligible, first, uoff, 3)
    assert top.tolist() == [[2, 1, 3], [5, -1, -1], [-1, -1, -1]]
    assert sim.topk(w, eligible, first, uoff, 0).shape == (3, 0)


def test_simhash_of_one_term_is_its_id_and_weights_steer_bits(sim):
    a, b = 0xF0F0_0000_FFFF_1234, 0x0FF0_FFFF_0000_4321
    out = sim.simhash(u64(a, a, b), np.array([1.0, 1.0, 0.5]), np.array([0, 1, 3]))
    assert out.dtype == np.uint64
    assert int(out[0]) == a
    assert int(out[1]) == a        # a outweighs b on every bit where they differ
    assert sim.simhash(u64(), np.array([]), np.array([0, 0])).tolist() == [0]


def test_minhash_empty_identical_and_estimates_jaccard(sim):
    rng = np.random.default_rng(7)
    base = rng.integers(0, 2**63, 3000, dtype=np.uint64)
    docs = [base[:2000], base[1000:3000], base[:2000], base[:0], base[2000:3000]]
    ids = np.concatenate(docs)
    offs = np.cumsum([0] + [len(d) for d in docs])
    sigs = sim.minhash(ids, offs, num_perm=256, shingle=1)
    assert sigs.shape == (5, 256) and sigs.dtype == np.uint32
    assert (sigs[3] == sim.EMPTY).all()
    assert (sigs[0] == sigs[2]).all()
    j = sim.pair_jaccard(sigs, np.array([[0, 1], [0, 4], [1, 4]]))
    assert abs(j[0] - 1 / 3) < 0.1     # true Jaccard 1000/3000
    assert j[1] < 0.05                 # disjoint
    assert abs(j[2] - 0.5) < 0.1       # 1000/2000


def test_lsh_pairs_finds_duplicates_never_empty_docs(sim):
    docs = ["the quick brown fox jumps over the lazy dog " * 5,
            "completely different words about markets and rates " * 5,
            "the quick brown fox jumps over the lazy dog " * 5 + "extra",
            "", ""]
    ids, offs = flat(docs)
    sigs = sim.minhash(ids, offs)
    assert sim.lsh_pairs(sigs, 32).tolist() == [[0, 2]]
    assert sim.lsh_pairs(sigs[:0], 32).shape == (0, 2)


def test_lsh_big_bucket_pairs_each_row_with_the_first(sim):
    sigs = np.tile(np.arange(128, dtype=np.uint32), (6, 1))
    assert sim.lsh_pairs(sigs, 32, max_bucket=3).tolist() == [[0, j] for j in range(1, 6)]
    assert len(sim.lsh_pairs(sigs, 32, max_bucket=6)) == 15


def test_pair_hamming(sim):
    h = u64(0, 0xFF, 0xFFFF_FFFF_FFFF_FFFF)
    assert sim.pair_hamming(h, np.array([[0, 1], [1, 2], [0, 2]])).tolist() == [8, 56, 64]


def test_df_table_counts_and_looks_up(sim):
    table = np.zeros(1 << 8, np.int32)
    sim.df_add(table, u64(1, 2, 2 + 256))
    sim.df_add(table, u64(1))
    assert sim.df_lookup(table, u64(1, 2, 3)).tolist() == [2, 2, 0]


@pytest.mark.parametrize("call, exc, match", [
    (lambda s: s.doc_counts(np.array([1.5]), np.array([0, 1])), TypeError, "unsigned 64-bit"),
    (lambda s: s.doc_counts(u64(1, 2), np.array([0, 1])), ValueError, "end at 2"),
    (lambda s: s.minhash(u64(1), np.array([0, 1]), shingle=0), ValueError, "shingle"),
    (lambda s: s.lsh_pairs(np.zeros((2, 128), np.uint64)), TypeError, "uint32"),
    (lambda s: s.lsh_pairs(np.zeros((2, 128), np.uint32), 48), ValueError, "must divide"),
    (lambda s: s.pair_jaccard(np.zeros((2, 8), np.uint32), np.array([[0, 2]])), ValueError, "outside"),
])
def test_bad_arguments(sim, call, exc, match):
    with pytest.raises(exc, match=match):
        call(sim)


def test_empty_inputs(sim):
    uids, counts, first, uoff = sim.doc_counts(u64(), np.array([0]))
    assert uids.size == 0 and uoff.tolist() == [0]
    assert sim.minhash(u64(), np.array([0])).shape == (0, 128)
    assert sim.pair_jaccard(np.zeros((0, 128), np.uint32), np.zeros((0, 2), np.int64)).size == 0


@pytest.fixture(scope="module")
def real():
    docs = [v["articleBody"] for v in json.loads(GROUND_TRUTH.read_text()).values()]
    # near copies so that LSH has real work: every 5th article with one word changed
    docs += [d.replace(" the ", " a ", 1) for d in docs[::5]] + [""]
    ids, offs, flags, *_ = textops.tokenize_batch(docs)
    return np.frombuffer(ids, np.uint64), np.frombuffer(offs, np.int64), np.frombuffer(flags, np.uint8)


@pytest.mark.compiled
def test_twins_agree_exactly_on_real_pages(real):
    ids, offs, flags = real
    c, p = twin("similarity", "compiled"), twin("similarity", "pure")
    got, want = c.doc_counts(ids, offs, inverse=True), p.doc_counts(ids, offs, inverse=True)
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)
        assert a.dtype == b.dtype
    uids, counts, first, uoff, _ = got
    table_c, table_p = np.zeros(1 << 16, np.int32), np.zeros(1 << 16, np.int32)
    c.df_add(table_c, uids)
    p.df_add(table_p, uids)
    np.testing.assert_array_equal(table_c, table_p)
    df = c.df_lookup(table_c, uids)
    np.testing.assert_array_equal(df, p.df_lookup(table_p, uids))
    w = c.tfidf(counts, df, len(offs) - 1)
    np.testing.assert_allclose(w, p.tfidf(counts, df, len(offs) - 1), rtol=1e-13)
    eligible = flags[first] == 0
    np.testing.assert_array_equal(c.topk(w, eligible, first, uoff, 10), p.topk(w, eligible, first, uoff, 10))
    np.testing.assert_array_equal(c.simhash(uids, w, uoff), p.simhash(uids, w, uoff))
    sigs = c.minhash(ids, offs)
    np.testing.assert_array_equal(sigs, p.minhash(ids, offs))
    np.testing.assert_array_equal(c.band_keys(sigs, 32), p.band_keys(sigs, 32))
    pairs = c.lsh_pairs(sigs, 32)
    np.testing.assert_array_equal(pairs, p.lsh_pairs(sigs, 32))
    assert len(pairs) >= 37            # the 37 planted near copies at least
    np.testing.assert_array_equal(c.pair_jaccard(sigs, pairs), p.pair_jaccard(sigs, pairs))
    h = c.simhash(uids, w, uoff)
    np.testing.assert_array_equal(c.pair_hamming(h, pairs), p.pair_hamming(h, pairs))


@pytest.mark.compiled
def test_numba_kernels_from_two_threads_match_serial(real):
    ids, offs, _ = real
    numba_twin = twin("similarity", "compiled")
    want = numba_twin.minhash(ids, offs)
    out = [None, None]

    def work(i):
        out[i] = numba_twin.minhash(ids, offs)

    ts = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    np.testing.assert_array_equal(out[0], want)
    np.testing.assert_array_equal(out[1], want)
