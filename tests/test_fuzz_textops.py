"""Property-based fuzzing of the compiled text kernels against their pure twins.

The suite runs a short budget. For a long run (about 10 minutes on 2 cores)::

    AGENTCORE_FUZZ_EXAMPLES=100000 .venv/bin/python -m pytest tests/test_fuzz_textops.py -q

Every example checks that the compiled kernel neither crashes nor disagrees with the pure twin
(which follows the rules written in kernels/_textspec.py) on arbitrary str and bytes.

Under AddressSanitizer (done for 1,000 examples per test, clean): copy ``kernels/`` and ``tests/``
to a scratch folder, ``cython -3 kernels/_textops.pyx``, compile the C with ``gcc -shared -fPIC
-O1 -g -fsanitize=address``, then run pytest there with ``PYTHONPATH=.``,
``LD_PRELOAD=$(gcc -print-file-name=libasan.so)``, ``ASAN_OPTIONS=detect_leaks=0`` and
``AGENTCORE_SHARED=/path/to/shared``.
"""
import os

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentcore.kernels import _similarity, _textops, similarity_py, textops_py

EXAMPLES = int(os.environ.get("AGENTCORE_FUZZ_EXAMPLES", "300"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Characters the kernels treat specially, so that short random strings hit the edge cases often.
SPECIAL = list(". . ! ? … 。 ！ ？ \" ' ) ] ” ’ » 」 』 \n \r \t \x0b \x0c \xa0 \x00 _ 0 9") + [
    " ", "Mr", "mr", "e", "g", "J", "İ", "Ÿ", "ß", "Σ", "Ж", "\u0301", "\u200d", "\ufffd",
    "\ud800", "\udfff", "\U0001f600", "\U0010ffff", "東", "a", "Z", "é", "É"]
chars = st.one_of(st.sampled_from(SPECIAL), st.characters(exclude_categories=()))
texts = st.lists(chars, max_size=120).map("".join)
utf8_fragments = st.lists(
    st.one_of(st.binary(max_size=8), texts.map(lambda s: s.encode("utf-8", "surrogatepass"))),
    max_size=12).map(b"".join)


@FUZZ
@given(texts)
def test_str_twins_agree(text):
    assert _textops.tokenize_batch([text]) == textops_py.tokenize_batch([text])
    assert _textops.split_sentences(text) == textops_py.split_sentences(text)
    assert _textops.words(text, stopwords=False) == textops_py.words(text, stopwords=False)
    assert _textops.tokenize(text, stopwords=False) == textops_py.tokenize(text, stopwords=False)


@FUZZ
@given(utf8_fragments)
def test_bytes_twins_agree(data):
    assert _textops.tokenize_batch([data]) == textops_py.tokenize_batch([data])
    assert _textops.split_sentences(data) == textops_py.split_sentences(data)


@FUZZ
@given(st.lists(st.one_of(texts, utf8_fragments), max_size=6))
def test_batches_agree_and_offsets_are_consistent(docs):
    got = _textops.tokenize_batch(docs)
    assert got == textops_py.tokenize_batch(docs)
    ids, offs, flags, starts, norm = got
    assert len(offs) == len(docs) + 1 and offs[-1] == len(ids) == len(flags) == len(starts)
    assert norm.count(b" ") == len(ids)


@FUZZ
@given(st.lists(st.lists(st.integers(0, 40), max_size=30), max_size=8),
       st.integers(1, 4), st.sampled_from([8, 16, 64]))
def test_similarity_twins_agree(docs, shingle, num_perm):
    ids = np.array([x * 0x9E3779B97F4A7C15 % 2**64 for d in docs for x in d], np.uint64)
    offs = np.cumsum([0] + [len(d) for d in docs])
    for a, b in zip(_similarity.doc_counts(ids, offs), similarity_py.doc_counts(ids, offs)):
        np.testing.assert_array_equal(a, b)
    sigs = _similarity.minhash(ids, offs, num_perm, shingle)
    np.testing.assert_array_equal(sigs, similarity_py.minhash(ids, offs, num_perm, shingle))
    np.testing.assert_array_equal(_similarity.lsh_pairs(sigs, num_perm // 4, 3),
                                  similarity_py.lsh_pairs(sigs, num_perm // 4, 3))
