"""Property-based fuzzing of the compiled text kernels against their pure twins.

The suite runs a short budget. For a long run (about 10 minutes on 2 cores)::

    AGENTCORE_FUZZ_EXAMPLES=100000 .venv/bin/python -m pytest tests/test_fuzz_textops.py -q

Every example checks that the compiled kernel neither crashes nor disagrees with the pure twin
(which follows the rules written in kernels/textspec.py) on arbitrary str and bytes. Every test
compares the twins, so the module carries the ``compiled`` marker.

Under AddressSanitizer (done for 1,000 examples per test, clean): copy ``kernels/`` and ``tests/``
to a scratch folder, ``cython -3 kernels/_textops.pyx``, compile the C with ``gcc -shared -fPIC
-O1 -g -fsanitize=address``, then run pytest there with ``PYTHONPATH=.``,
``LD_PRELOAD=$(gcc -print-file-name=libasan.so)``, ``ASAN_OPTIONS=detect_leaks=0`` and
``AGENTCORE_SHARED=/path/to/shared``.
"""
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentcore.kernels import twin

pytestmark = pytest.mark.compiled

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


def twins(name):
    """(compiled, pure) implementations of kernel ``name``."""
    return twin(name, "compiled"), twin(name, "pure")


@FUZZ
@given(texts)
def test_str_twins_agree(text):
    compiled, pure = twins("textops")
    assert compiled.tokenize_batch([text]) == pure.tokenize_batch([text])
    assert compiled.split_sentences(text) == pure.split_sentences(text)
    assert compiled.words(text, stopwords=False) == pure.words(text, stopwords=False)
    assert compiled.tokenize(text, stopwords=False) == pure.tokenize(text, stopwords=False)


@FUZZ
@given(utf8_fragments)
def test_bytes_twins_agree(data):
    compiled, pure = twins("textops")
    assert compiled.tokenize_batch([data]) == pure.tokenize_batch([data])
    assert compiled.split_sentences(data) == pure.split_sentences(data)


@FUZZ
@given(st.lists(st.one_of(texts, utf8_fragments), max_size=6))
def test_batches_agree_and_offsets_are_consistent(docs):
    compiled, pure = twins("textops")
    got = compiled.tokenize_batch(docs)
    assert got == pure.tokenize_batch(docs)
    ids, offs, flags, starts, norm = got
    assert len(offs) == len(docs) + 1 and offs[-1] == len(ids) == len(flags) == len(starts)
    assert norm.count(b" ") == len(ids)


@FUZZ
@given(st.lists(st.lists(st.integers(0, 40), max_size=30), max_size=8),
       st.integers(1, 4), st.sampled_from([8, 16, 64]))
def test_similarity_twins_agree(docs, shingle, num_perm):
    compiled, pure = twins("similarity")
    ids = np.array([x * 0x9E3779B97F4A7C15 % 2**64 for d in docs for x in d], np.uint64)
    offs = np.cumsum([0] + [len(d) for d in docs])
    for a, b in zip(compiled.doc_counts(ids, offs), pure.doc_counts(ids, offs)):
        np.testing.assert_array_equal(a, b)
    sigs = compiled.minhash(ids, offs, num_perm, shingle)
    np.testing.assert_array_equal(sigs, pure.minhash(ids, offs, num_perm, shingle))
    np.testing.assert_array_equal(compiled.lsh_pairs(sigs, num_perm // 4, 3),
                                  pure.lsh_pairs(sigs, num_perm // 4, 3))
