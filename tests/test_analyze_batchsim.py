"""The whole-batch signatures (the Cython kernels/_signatures and its twin, agentcore.analyze.batchsim's
numpy) give both similarity twins' bits, and a "lean" Corpus gives a compiled one's analysis without
importing Numba."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from agentcore import analyze
from agentcore.analyze import batchsim
from agentcore.kernels import similarity_py, textops, twin

@pytest.fixture
def signatures(request):
    """The signatures twin named by the test's parameter (not the module's ``batchsim``)."""
    return twin("signatures", request.param)


SHARED = Path(os.environ.get("AGENTCORE_SHARED", Path(__file__).resolve().parents[2] / "shared"))
GROUND_TRUTH = SHARED / "data" / "article-extraction-benchmark" / "ground-truth.json"


@pytest.fixture(scope="module")
def texts():
    if not GROUND_TRUTH.exists():
        pytest.fail(f"{GROUND_TRUTH} is missing: the tests need ../shared beside the checkout",
                    pytrace=False)
    articles = [v["articleBody"] for v in json.loads(GROUND_TRUTH.read_text()).values()]
    # empty pages, pages shorter than a shingle, one longer than a chunk of shingles, repeats
    return (["", "one", "two words", "", "three words here", "a a a a"] + articles[:50]
            + [" ".join(articles[:12]), articles[3], ""])


def tokens_of(texts):
    ids, offs, *_ = textops.tokenize_batch(texts)
    ids = np.frombuffer(ids, np.uint64)
    offs = np.frombuffer(offs, np.int64)
    uids, counts, _, uoff = similarity_py.doc_counts(ids, offs)
    return ids, offs, uids, 1.0 + np.log(counts), uoff


@pytest.mark.parametrize("num_perm,shingle", [(128, 3), (64, 1), (32, 2), (128, 5)])
def test_minhash_is_both_twins_bits(impl, texts, num_perm, shingle):
    ids, offs, *_ = tokens_of(texts)
    assert ids.size > batchsim.CHUNK  # the chunked path is exercised, pages across chunks too
    mine = twin("signatures", impl).minhash(ids, offs, num_perm, shingle, 7)
    ref = twin("similarity", impl).minhash(ids, offs, num_perm, shingle, 7)
    assert mine.dtype == ref.dtype == np.uint32 and mine.shape == ref.shape
    assert np.array_equal(mine, ref)
    assert (mine[0] == similarity_py.EMPTY).all()


def test_simhash_and_band_keys_are_both_twins_bits(impl, texts):
    ids, offs, uids, weights, uoff = tokens_of(texts)
    sim, lean = twin("similarity", impl), twin("signatures", impl)
    mine = lean.simhash(uids, weights, uoff)
    assert mine.dtype == np.uint64 and np.array_equal(mine, sim.simhash(uids, weights, uoff))
    assert mine[0] == 0  # an empty page
    sigs = sim.minhash(ids, offs, 128, 3, 1)
    for bands in (32, 16, 128):
        assert np.array_equal(lean.band_keys(sigs, bands), sim.band_keys(sigs, bands))
    # strided and differently typed inputs give the same bits as contiguous uint64 ones
    assert np.array_equal(lean.band_keys(np.asfortranarray(sigs), 32), sim.band_keys(sigs, 32))
    assert np.array_equal(lean.simhash(uids.astype(np.int64), weights, uoff.astype(np.int32)), mine)


@pytest.mark.parametrize("signatures", ["compiled", "pure"], indirect=True)
def test_doc_counts_are_the_pure_twins(signatures, texts):
    """Each document's distinct terms in order of first appearance, their counts, first
    positions, ranges and each token's entry: the same arrays as the pure twin's sort, on pages
    and on sentences (the excerpts' calls), empty documents and batches included."""
    ids, offs, *_ = tokens_of(texts)
    sents = [s for t in texts[:20] for s in textops.split_sentences(t)] + ["", "x x x y x"]
    s_ids, s_offs, *_ = textops.tokenize_batch(sents)
    none = np.zeros(0, np.uint64)
    cases = [(ids, offs), (np.frombuffer(s_ids, np.uint64), np.frombuffer(s_offs, np.int64)),
             (ids, offs[[0, 3, 3, len(offs) - 1]]), (none, [0]), (none, [0, 0, 0]),
             (ids.astype(np.int64), offs.astype(np.int32))]
    for a, o in cases:
        for inverse in (False, True):
            mine = signatures.doc_counts(a, o, inverse=inverse)
            ref = similarity_py.doc_counts(a, o, inverse=inverse)
            assert len(mine) == len(ref) == 4 + inverse
            for x, y in zip(mine, ref):
                assert x.dtype == y.dtype and np.array_equal(x, y)
    with pytest.raises(ValueError, match="offsets"):
        signatures.doc_counts(ids, [0, 5])


@pytest.mark.parametrize("signatures", ["compiled", "pure"], indirect=True)
def test_empty_batches_and_bad_arguments(signatures):
    none = np.zeros(0, np.uint64)
    assert signatures.minhash(none, [0]).shape == (0, 128)
    assert signatures.minhash(none, [0, 0]).tolist() == [[similarity_py.EMPTY] * 128]
    assert signatures.simhash(none, np.zeros(0), [0, 0]).tolist() == [0]
    with pytest.raises(ValueError, match="shingle"):
        signatures.minhash(none, [0], shingle=0)
    with pytest.raises(ValueError, match="one value per uid"):
        signatures.simhash(np.ones(2, np.uint64), np.ones(3), [0, 2])
    with pytest.raises(ValueError, match="bands"):
        signatures.band_keys(np.zeros((2, 128), np.uint32), 7)
    with pytest.raises(ValueError, match="lean"):
        analyze.Corpus(kernels="numba")


def test_lean_corpus_gives_the_compiled_analysis(texts):
    pages = texts + texts[6:30]  # copies: near-duplicates to find
    compiled = analyze.Corpus(keywords=8, kernels="compiled")
    lean = analyze.Corpus(keywords=8, kernels="lean")
    for a, b in ((0, 30), (30, 60), (60, len(pages))):
        got = lean.add_many(pages[a:b], keys=range(a, b))
        want = compiled.add_many(pages[a:b], keys=range(a, b))
        for g, w in zip(got, want):
            assert (g.keywords, g.simhash, g.duplicates, g.n_tokens) == \
                (w.keywords, w.simhash, w.duplicates, w.n_tokens)
            assert np.array_equal(g.minhash, w.minhash)
    assert any(d.duplicates for d in got)
    assert lean.excerpts(pages[:60]) == compiled.excerpts(pages[:60])
    assert lean.near_duplicates() == compiled.near_duplicates()


def test_lean_corpus_never_imports_numba():
    code = ("import sys; from agentcore.analyze import Corpus; c = Corpus(kernels='lean');"
            "d = c.add_many(['a page about rivers and boats', 'a page about rivers and boats!']);"
            "c.excerpts(['One sentence here. Another one there.']); c.near_duplicates();"
            "assert d[1].duplicates, d; print('numba' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_index_finds_every_bucket_pair_in_any_batching(texts):
    from agentcore.analyze.neardup import NearDupIndex

    pages = texts[:40] + texts[6:30] + [texts[8]] * 5   # copies across and inside batches
    corpus = analyze.Corpus(kernels="lean")
    sim = corpus.similarity
    ids, offs, uids, weights, uoff = tokens_of(pages)
    sigs = sim.minhash(ids, offs, 128, 3, 1)
    bkeys = sim.band_keys(sigs, 32)
    hashes = sim.simhash(uids, weights, uoff)
    n_tok = np.diff(offs)
    # the reference: every pair of non-empty pages sharing a bucket, with Jaccard >= 0.5
    share = (bkeys[:, None, :] == bkeys[None, :, :]).any(axis=2)
    jac = (sigs[:, None, :] == sigs[None, :, :]).sum(axis=2) / 128
    want = {(i, j, float(jac[i, j])) for j in range(len(pages)) for i in range(j)
            if share[i, j] and jac[i, j] >= 0.5 and n_tok[i] and n_tok[j]}
    assert len(want) > 30
    for step in (1, 7, len(pages)):
        index, got = NearDupIndex(128, 0.5), set()
        for a in range(0, len(pages), step):
            b = min(a + step, len(pages))
            found = index.add(a, sigs[a:b], hashes[a:b], bkeys[a:b], n_tok[a:b], list(range(b)))
            for t, pairs in enumerate(found):
                assert [i for i, _ in pairs] == sorted(i for i, _ in pairs)
                got |= {(i, a + t, x) for i, x in pairs}
        assert got == want
        assert np.array_equal(index.sigs, sigs) and np.array_equal(index.simhash, hashes)
