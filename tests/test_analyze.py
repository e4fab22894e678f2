"""agentcore.analyze on real article texts, once over the compiled kernels and once over the twins."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from agentcore import analyze
from agentcore.kernels import similarity_py, textops_py
from agentcore.analyze import stopwords as analyze_stopwords
from agentcore.kernels.textops import STOPWORDS

SHARED = Path(os.environ.get("AGENTCORE_SHARED", Path(__file__).resolve().parents[2] / "shared"))
GROUND_TRUTH = SHARED / "data" / "article-extraction-benchmark" / "ground-truth.json"

# Two made-up sites' navigation and footer text: the only difference between a page's two copies.
SITE_A = ("Home | World | Politics | Business | Tech | Science | Health | Sports | Subscribe | Sign in",
          "© 2024 Daily Chronicle Media Group. All rights reserved. Privacy Policy | Terms of Use | "
          "Cookie Settings | Contact Us | Advertise with us | Careers")
SITE_B = ("Skip to main content. Menu: Latest news, Opinion, Markets, Culture, Video, Podcasts. "
          "Search this site",
          "Follow us on Facebook, Twitter and Instagram. Sign up for our free morning newsletter. "
          "Copyright Metro Herald Inc. Accessibility statement. Do not sell my personal information")


@pytest.fixture(scope="module")
def articles():
    if not GROUND_TRUTH.exists():
        pytest.fail(f"{GROUND_TRUTH} is missing: the tests need ../shared beside the checkout",
                    pytrace=False)
    return [v["articleBody"] for v in json.loads(GROUND_TRUTH.read_text()).values()]


def wrap(site, text):
    return f"{site[0]}\n{text}\n{site[1]}"


def test_keywords_are_real_content_words(impl, articles):
    docs = analyze.Corpus(keywords=8, kernels=impl).add_many(articles)
    assert len(docs) == len(articles)
    home_depot = next(d for d, a in zip(docs, articles) if "Home Depot" in a)
    words = [w for w, _ in home_depot.keywords]
    assert "depot" in words and "sales" in words
    for d in docs:
        weights = [w for _, w in d.keywords]
        assert weights == sorted(weights, reverse=True)
        for w, _ in d.keywords:
            assert w not in STOPWORDS and w not in analyze_stopwords.STOPWORDS
            assert len(w) >= 2 and not w.isdigit()
    assert all(len(d.keywords) == 8 for d in docs if d.n_tokens > 100)


def test_boilerplate_copies_pair_and_unrelated_pages_do_not(impl, articles):
    # articles long enough that the article, not the boilerplate, is most of the page
    picked = [a for a in articles if len(textops_py.words(a)) >= 250][:60]
    assert len(picked) == 60
    corpus = analyze.Corpus(kernels=impl)
    site_a = corpus.add_many([wrap(SITE_A, a) for a in picked], keys=[f"a{i}" for i in range(60)])
    site_b = corpus.add_many([wrap(SITE_B, a) for a in picked], keys=[f"b{i}" for i in range(60)])
    assert [d.duplicates for d in site_a] == [[]] * 60          # same site, different articles
    for i, d in enumerate(site_b):
        assert [k for k, _ in d.duplicates] == [f"a{i}"]
        assert d.duplicates[0][1] >= 0.5
    pairs = corpus.near_duplicates()
    assert [(p.i, p.j) for p in pairs] == [(i, 60 + i) for i in range(60)]
    dup_hamming = [p.hamming for p in pairs]
    hashes = np.array([d.simhash for d in site_a], np.uint64)
    unrelated = similarity_py.pair_hamming(hashes, np.array([[i, i + 1] for i in range(59)]))
    assert max(dup_hamming) < np.median(unrelated)


def test_batch_near_duplicates_function(impl, articles):
    docs = analyze.analyze_many(articles[:40] + [a + " Read more." for a in articles[:5]],
                                kernels=impl)
    sigs = np.stack([d.minhash for d in docs])
    found = analyze.near_duplicates(sigs, [d.simhash for d in docs], kernels=impl)
    assert [(p.i, p.j) for p in found] == [(i, 40 + i) for i in range(5)]
    assert all(p.jaccard > 0.8 and 0 <= p.hamming < 16 for p in found)
    assert analyze.near_duplicates(sigs[:0], kernels=impl) == []


@pytest.mark.compiled
def test_twins_give_the_same_analysis(articles):
    runs = []
    for kernels in ("compiled", "pure"):
        corpus = analyze.Corpus(threads=2, kernels=kernels)
        docs = corpus.add_many(articles[:90]) + corpus.add_many(articles[90:] + articles[:10])
        runs.append((docs, (corpus.prompt(articles[:4], budget=900),
                            corpus.excerpts(articles[:30], budget=280))))
    (c, pc), (p, pp) = runs
    assert pc == pp
    for a, b in zip(c, p):
        assert [w for w, _ in a.keywords] == [w for w, _ in b.keywords]
        np.testing.assert_allclose([x for _, x in a.keywords], [x for _, x in b.keywords], rtol=1e-12)
        assert (a.simhash, a.n_tokens, a.duplicates) == (b.simhash, b.n_tokens, b.duplicates)
        np.testing.assert_array_equal(a.minhash, b.minhash)


def test_one_thread_and_two_threads_agree(impl, articles):
    one = analyze.Corpus(threads=1, kernels=impl).add_many(articles)
    two = analyze.Corpus(threads=2, kernels=impl).add_many(articles)
    assert [(d.keywords, d.simhash, d.duplicates) for d in one] == \
           [(d.keywords, d.simhash, d.duplicates) for d in two]


def test_keywords_are_each_pages_own(impl, articles):
    # a page's keywords are the same alone, after other pages, or in one batch with them
    parts = analyze.Corpus(kernels=impl)
    got = parts.add_many(articles[:20]) + parts.add_many(articles[20:50])
    for a, d in zip(articles[:50], got):
        assert d.keywords == analyze.analyze(a, kernels=impl).keywords
    # weights are 1 + ln(count) in multiples of 1/4096, so a site's sums are exact in any order
    for d in got:
        for _, w in d.keywords:
            assert w * 4096 == int(w * 4096) and w >= 1.0


def test_function_words_of_other_languages_are_no_keywords(impl):
    pages = {"de": "Die Stadt und der Fluss: die Brücke über den Fluss ist für die Stadt neu, "
                   "und die Brücke hat der Rat der Stadt gebaut.",
             "fr": "Les députés et les sénateurs ont voté la loi sur le renseignement ; la loi "
                   "donne aux services des pouvoirs de surveillance.",
             "es": "El gobierno de la provincia y los mapuches: el conflicto por las tierras de "
                   "la provincia sigue en los tribunales."}
    want = {"de": "stadt", "fr": "loi", "es": "provincia"}     # each page's most repeated word
    for lang, text in pages.items():
        words = [w for w, _ in analyze.analyze(text, keywords=3, kernels=impl).keywords]
        assert words[0] == want[lang] and len(words) == 3, (lang, words)
        assert not set(words) & analyze_stopwords.STOPWORDS, (lang, words)


def test_single_document_and_empty_inputs(impl):
    doc = analyze.analyze("Rust and Python: Python wins. Python!", keywords=2, kernels=impl)
    assert doc.keywords[0][0] == "python" and doc.n_tokens == 6
    assert analyze.analyze_many([], kernels=impl) == []
    empty = analyze.analyze("", kernels=impl)
    assert (empty.keywords, empty.n_tokens, empty.duplicates) == ([], 0, [])
    assert analyze.prompt_sentences([], kernels=impl) == []
    assert analyze.prompt_sentences([""], kernels=impl) == []


def test_hostile_pages_do_not_break_the_batch(impl, articles):
    rng = np.random.default_rng(3)
    junk = rng.integers(0, 256, 200_000, dtype=np.uint8).tobytes()
    pages = ["", "\x00" * 1000, junk, "a" * 1_000_000, "x " * 200_000, b"\xff\xfe" * 5000,
             "\ud800 lone surrogate " * 100, "<" * 100_000, articles[0]]
    corpus = analyze.Corpus(kernels=impl)
    docs = corpus.add_many(pages)
    assert [d.n_tokens for d in docs[:2]] == [0, 0] and docs[3].n_tokens == 1
    assert docs[4].n_tokens == 200_000 and docs[4].keywords == [] and docs[5].n_tokens == 0
    assert [w for w, _ in docs[6].keywords] == ["lone", "surrogate"]
    assert docs[8].keywords and docs[8].duplicates == []
    excerpts = corpus.excerpts(pages, budget=200)
    assert len(excerpts) == len(pages) and all(len(e) <= 200 for e in excerpts)


def test_wrong_types_raise_type_errors(impl):
    with pytest.raises(TypeError, match=r"wrap a single document as \[text\]"):
        analyze.analyze_many("just one string", kernels=impl)
    with pytest.raises(TypeError, match=r"texts\[1\] must be str or bytes, got int"):
        analyze.analyze_many(["ok", 3], kernels=impl)
    with pytest.raises(TypeError, match="text must be str or bytes"):
        analyze.analyze(None, kernels=impl)
    with pytest.raises(TypeError, match="threads must be a positive int"):
        analyze.analyze_many(["x"], threads=0, kernels=impl)
    with pytest.raises(ValueError, match="keys has 1 items for 2 texts"):
        analyze.Corpus(kernels=impl).add_many(["a", "b"], keys=["k"])
    with pytest.raises(ValueError, match="must divide"):
        analyze.Corpus(num_perm=128, bands=48, kernels=impl)
    with pytest.raises(TypeError, match="minhashes must be a 2-d uint32 array"):
        analyze.near_duplicates([[1, 2]], kernels=impl)


def test_prompt_fits_budget_in_reading_order(impl, articles):
    corpus = analyze.Corpus(kernels=impl)
    corpus.add_many(articles)
    site = articles[10:14]
    sentences = corpus.prompt_sentences(site, budget=700)
    text = corpus.prompt(site, budget=700)
    assert text == "\n".join(sentences) and 200 < len(text) <= 700
    positions = []
    for s in sentences:
        page = next(i for i, a in enumerate(site) if s in " ".join(a.split()))
        positions.append((page, " ".join(site[page].split()).index(s)))
    assert positions == sorted(positions)
    lead = corpus.prompt_sentences(site, budget=400, mode="lead")
    first = textops_py.split_sentences(site[0])[0]
    assert lead[0] == first and len("\n".join(lead)) <= 400
    tiny = corpus.prompt_sentences(["A single sentence that is far longer than the budget."], budget=30)
    assert tiny == ["A single sentence that is…"]


def test_excerpts_are_per_page_prompts_in_one_batch(impl, articles):
    corpus = analyze.Corpus(kernels=impl)
    corpus.add_many(articles)
    pages = articles[:25] + ["", "Short.", "x" * 500]
    got = corpus.excerpts(pages, budget=280)
    assert got == [" ".join(corpus.prompt_sentences([p], budget=280, sep=" ")) for p in pages]
    assert all(len(e) <= 280 for e in got) and got[25:27] == ["", ""]
    assert sum(len(e) > 100 for e in got) >= 20
    assert corpus.excerpts([]) == []


def test_prompt_skips_boilerplate_repeats_and_rewordings(impl):
    pages = ["Subscribe to our newsletter for updates. The new reactor design cuts waste by half.",
             "Subscribe to our newsletter for updates. Engineers tested the reactor design for years.",
             "The new reactor design cuts the waste by half!"]
    out = analyze.prompt_sentences(pages, budget=1000, kernels=impl)
    assert out.count("Subscribe to our newsletter for updates.") == 1
    assert len([s for s in out if "cuts" in s]) == 1


def test_import_stays_light():
    code = ("import sys, agentcore.analyze; "
            "print(sorted(m for m in ('numpy', 'numba', 'agentcore.kernels._textops') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.stdout.strip() == "[]"


def test_warm_up_runs_every_kernel_path():
    assert analyze.warm_up() >= 0.0


def test_kernels_argument_names_a_twin(impl):
    corpus = analyze.Corpus(kernels=impl)
    want = {"compiled": "agentcore.kernels._textops", "pure": "agentcore.kernels.textops_py"}
    assert corpus.textops.__name__ == want[impl]
    with pytest.raises(ValueError, match="kernels must be 'compiled', 'pure', 'lean' or None"):
        analyze.Corpus(kernels="python")


def test_docstring_examples_run():
    import doctest

    from agentcore.analyze import corpus

    result = doctest.testmod(corpus)
    assert result.attempted > 0 and result.failed == 0


def test_load_imports_the_kernels_without_changing_the_analysis():
    """``Corpus.load`` (a crawl calls it before its fetches start) imports the kernels ahead of
    the first page; the pages' analysis is the same as without it."""
    texts = ["The cat sat on the mat today.", "Dogs bark at the mailman every day.", ""]
    loaded = analyze.Corpus(keywords=4, kernels="lean")
    assert loaded.load() is loaded and loaded._twins is not None
    fresh = analyze.Corpus(keywords=4, kernels="lean")
    assert ([(d.keywords, d.simhash) for d in loaded.add_many(texts)]
            == [(d.keywords, d.simhash) for d in fresh.add_many(texts)])
