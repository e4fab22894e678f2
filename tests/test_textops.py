"""Tokenizer and sentence splitter: the same assertions against the compiled and the pure twin.

Tests taking ``tx`` run once per twin (the session fixture ``impl``); the ones marked ``compiled``
compare the compiled kernel with the pure twin or exercise its threads.
"""
import ast
import json
import os
import sysconfig
import threading
from array import array
from pathlib import Path

import pytest

from agentcore.kernels import textspec as spec
from agentcore.kernels import twin

SHARED = Path(os.environ.get("AGENTCORE_SHARED", Path(__file__).resolve().parents[2] / "shared"))
GROUND_TRUTH = SHARED / "data" / "article-extraction-benchmark" / "ground-truth.json"


def article_bodies() -> list:
    if not GROUND_TRUTH.exists():
        pytest.fail(f"{GROUND_TRUTH} is missing: the tests need ../shared beside the checkout "
                    "(or AGENTCORE_SHARED)", pytrace=False)
    return [v["articleBody"] for v in json.loads(GROUND_TRUTH.read_text()).values()]


def stdlib_docstrings(limit=300) -> list:
    """Docstrings of the standard library's modules, classes and functions, read as files."""
    out = []
    root = Path(sysconfig.get_paths()["stdlib"])
    for path in sorted(root.glob("*.py")):
        try:
            tree = ast.parse(path.read_bytes())
        except (SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                doc = ast.get_docstring(node)
                if doc:
                    out.append(doc)
        if len(out) >= limit:
            break
    assert len(out) >= 100, f"found only {len(out)} docstrings under {root}"
    return out[:limit]


@pytest.fixture
def tx(impl):
    """The ``impl`` twin of the text kernels (a missing build fails, never falls back)."""
    return twin("textops", impl)


def both():
    """(compiled, pure) text kernels, for the tests that compare them."""
    return twin("textops", "compiled"), twin("textops", "pure")


# ---- words and ids -----------------------------------------------------------------------------

def test_words_lowercase_latin_greek_cyrillic(tx):
    assert tx.words("Héllo WORLD İstanbul ÀÉÎ Ÿ ŁÓDŹ ΣΟΦΙΑ МОСКВА Ёж") == [
        "héllo", "world", "istanbul", "àéî", "ÿ", "łódź", "σοφια", "москва", "ёж"]


def test_words_split_on_punctuation_and_keep_letters_of_any_script(tx):
    assert tx.words("snake_case, 3.14 e-mail: 東京タワー! naïve—co-op «x» 👍ok") == [
        "snake_case", "3", "14", "e", "mail", "東京タワー", "naïve", "co", "op", "x", "ok"]


def test_combining_marks_stay_inside_a_word(tx):
    assert tx.words("cafe\u0301 au lait") == ["cafe\u0301", "au", "lait"]


def test_stopwords_removed_on_request(tx):
    text = "The cat and the hat"
    assert tx.words(text) == ["the", "cat", "and", "the", "hat"]
    assert tx.words(text, stopwords=False) == ["cat", "hat"]
    assert list(tx.tokenize(text, stopwords=False)) == [
        spec.hash_normalized(b"cat"), spec.hash_normalized(b"hat")]


def test_tokenize_returns_uint64_ids_of_normalised_words(tx):
    ids = tx.tokenize("Hello, hello HELLO wörld")
    assert isinstance(ids, array) and ids.typecode == "Q"
    h = spec.hash_normalized(b"hello")
    assert list(ids) == [h, h, h, spec.hash_normalized("wörld".encode())]
    assert tx.hash_word("HeLLo") == h
    assert tx.hash_word("...") == 0


def test_bytes_input_and_undecodable_bytes_separate_words(tx):
    assert tx.words(b"caf\xc3\xa9\xffbar\xed\xa0\x80baz\xc3") == ["café", "bar", "baz"]
    assert tx.words(bytearray(b"ab cd")) == ["ab", "cd"]
    assert tx.words(memoryview(b"ab cd")) == ["ab", "cd"]


def test_lone_surrogates_and_nul_bytes_are_separators(tx):
    assert tx.words("ab\ud800cd\x00ef") == ["ab", "cd", "ef"]
    assert tx.split_sentences("a\ud800bc. Next") == ["a\ud800bc.", "Next"]


def test_empty_input_gives_empty_results(tx):
    assert list(tx.tokenize("")) == [] and list(tx.tokenize(b"")) == []
    assert tx.words(" ,.!? ") == []
    assert tx.split_sentences("") == [] and tx.split_sentences(" \n\t ") == []
    ids, offs, flags, starts, norm = tx.tokenize_batch([])
    assert (list(ids), list(offs), flags, list(starts), norm) == ([], [0], b"", [], b"")


@pytest.mark.parametrize("call, match", [
    (lambda tx: tx.tokenize(123), "text must be str or bytes, got int"),
    (lambda tx: tx.words(None), "text must be str or bytes, got NoneType"),
    (lambda tx: tx.hash_word(1.5), "word must be str or bytes, got float"),
    (lambda tx: tx.tokenize_batch("one doc"), r"wrap a single document as \[text\]"),
    (lambda tx: tx.tokenize_batch(["ok", 7]), r"texts\[1\] must be str or bytes, got int"),
    (lambda tx: tx.split_sentences(["x"]), "text must be str or bytes, got list"),
])
def test_wrong_types_raise_clear_type_errors(tx, call, match):
    with pytest.raises(TypeError, match=match):
        call(tx)


def test_flags_mark_stopwords_and_non_keywords(tx):
    ids, offs, flags, starts, norm = tx.tokenize_batch(["The x 2024 abc " + "y" * 31])
    assert list(flags) == [spec.FLAG_STOPWORD, spec.FLAG_NOT_KEYWORD, spec.FLAG_NOT_KEYWORD, 0,
                           spec.FLAG_NOT_KEYWORD]


def test_batch_layout_offsets_and_spans(tx):
    docs = ["Alpha beta", "", b"Gamma", "DELTA epsilon zeta"]
    ids, offs, flags, starts, norm = tx.tokenize_batch(docs)
    assert list(offs) == [0, 2, 2, 3, 6]
    assert len(ids) == len(flags) == len(starts) == 6
    surface = [norm[s:norm.index(b" ", s)].decode() for s in starts]
    assert surface == ["alpha", "beta", "gamma", "delta", "epsilon", "zeta"]
    assert list(ids) == [spec.hash_normalized(w.encode()) for w in surface]
    ids2, offs2, flags2, starts2, norm2 = tx.tokenize_batch(docs, spans=False)
    assert (ids2, offs2, flags2, list(starts2), norm2) == (ids, offs, flags, [], b"")


# ---- sentences ---------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("One. Two! Three? Four", ["One.", "Two!", "Three?", "Four"]),
    ("Mr. Smith met Dr. J. R. Jones at 3.14 p.m. today. Then left.",
     ["Mr. Smith met Dr. J. R. Jones at 3.14 p.m. today.", "Then left."]),
    ('He said "stop!" Then "go." Fine.', ['He said "stop!"', 'Then "go."', "Fine."]),
    ("Wait... what?! No.", ["Wait...", "what?!", "No."]),
    ("Line one\nline two\n\n  line   three  ", ["Line one", "line two", "line three"]),
    ("Year 2019. Next (see fig. 3) ok.", ["Year 2019.", "Next (see fig. 3) ok."]),
    ("你好。再见！好吗？ok", ["你好。", "再见！", "好吗？", "ok"]),
    ("Tabs\tand\u00a0nbsp   collapse. e.g. this", ["Tabs and nbsp collapse.", "e.g. this"]),
    ("end.", ["end."]),
])
def test_split_sentences(tx, text, expected):
    assert tx.split_sentences(text) == expected


def test_split_sentences_of_bytes_decodes_with_replacement(tx):
    assert tx.split_sentences(b"Caf\xc3\xa9 ok. Bad \xff byte.") == ["Café ok.", "Bad \ufffd byte."]


# ---- twins agree, threads --------------------------------------------------------------------

@pytest.fixture(scope="module")
def corpus():
    return article_bodies() + stdlib_docstrings()


@pytest.mark.compiled
def test_twins_agree_on_real_text(corpus):
    compiled, pure = both()
    got = compiled.tokenize_batch(corpus)
    want = pure.tokenize_batch(corpus)
    for name, a, b in zip(("ids", "offsets", "flags", "starts", "norm"), got, want):
        assert a == b, name
    assert len(got[0]) > 100_000
    for text in corpus:
        assert compiled.split_sentences(text) == pure.split_sentences(text)
        assert compiled.words(text, stopwords=False) == pure.words(text, stopwords=False)


@pytest.mark.compiled
def test_twins_agree_on_real_text_as_bytes(corpus):
    compiled, pure = both()
    data = [t.encode() for t in corpus[:60]]
    assert compiled.tokenize_batch(data) == pure.tokenize_batch(corpus[:60])


@pytest.mark.compiled
def test_batch_from_two_threads_matches_serial(corpus):
    compiled = twin("textops", "compiled")
    want = compiled.tokenize_batch(corpus)
    results = [None, None]

    def work(i):
        results[i] = compiled.tokenize_batch(corpus)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results[0] == want and results[1] == want


def test_output_buffers_grow_past_their_first_guess(tx):
    # one token per two bytes: three times the tokenizer's initial allocation
    ids, offs, flags, starts, norm = tx.tokenize_batch(["a " * 300_000, "b\x00" * 300_000])
    assert list(offs) == [0, 300_000, 600_000]
    assert len(norm) == 1_200_000 and set(ids[:300_000]) == {spec.hash_normalized(b"a")}


def test_large_input(tx):
    text = ("Word number one. " * 60_000) + "x" * 1_000_000
    ids = tx.tokenize(text)
    assert len(ids) == 180_001
    assert len(tx.split_sentences(text)) == 60_001
