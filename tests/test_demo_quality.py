"""The demo's answer scoring: the table from the local web's source packages to the demo's
categories, category accuracy and the copy rate."""
from dataclasses import dataclass

from agentcore.demo.config import CATEGORIES, DEMO_TASK
from agentcore.demo.quality import (MODULE_CATEGORY, accepted_categories, majority_baseline,
                                    score_answers, site_truth)
from agentcore.web.corpus import StdlibCorpus


@dataclass
class Row:  # the fields of an LLMResult row the scoring reads
    host: str
    category: str
    summary: str


def test_the_table_names_only_the_demos_categories():
    assert set(MODULE_CATEGORY.values()) <= set(CATEGORIES)
    # every category but the catch-all is the truth of some package
    assert set(CATEGORIES) == set(MODULE_CATEGORY.values())


def test_packages_and_test_modules_map_to_their_topic():
    assert accepted_categories("asyncio") == {"concurrency"}
    assert accepted_categories("email") == {"data formats"}
    assert accepted_categories("pydoc_data") == {"developer tools"}
    # a test module is about testing and about what it tests
    assert accepted_categories("test.test_socket") == {"testing", "networking"}
    assert accepted_categories("test.pickletester") == {"testing", "data formats"}
    assert accepted_categories("test.support") == {"testing"}
    assert accepted_categories("test.test_no_such_thing") == {"testing"}
    assert accepted_categories("no_such_package") == frozenset()


def test_every_site_of_the_default_web_is_mapped():
    truth = site_truth(500)
    assert len(truth) == 500 and all(truth.values())
    corpus = StdlibCorpus(500)
    labels = {corpus.site_label(i) for i in range(500)}
    assert not [x for x in labels if not accepted_categories(x)]
    # the truth is skewed (much of the standard library's prose is about its own tooling and
    # tests): the floor an answer must beat is well above 1/len(CATEGORIES)
    assert 1 / len(CATEGORIES) < majority_baseline(truth) < 0.6


def test_scoring_counts_right_wrong_unmapped_and_copied():
    truth = {"a.test": frozenset({"math"}), "b.test": frozenset({"testing", "networking"}),
             "c.test": frozenset({"web"}), "d.test": frozenset()}
    copied = DEMO_TASK.instruction_phrases()[0]
    rows = [Row("a.test", "math", "Decimal arithmetic and its rounding modes."),
            Row("b.test", "networking", "Tests of sockets timing out."),
            Row("c.test", "text", f"It says {copied} here."),
            Row("d.test", "other", "A site whose package the table does not know.")]
    s = score_answers(rows, truth, DEMO_TASK)
    assert (s.answers, s.scored, s.correct, s.unmapped, s.copies) == (4, 3, 2, 1, 1)
    assert s.accuracy == 2 / 3 and s.copy_rate == 1 / 4
    assert s.confusions == {("web", "text"): 1}
    assert "66.7%" in s.line() and "1/4" in s.line()
