"""`agentcore bench job`'s folder of real saved sites: each page under the host it names, built
the same way every time, served under those names."""
import json
import os
from pathlib import Path

from agentcore.bench.job import build_corpus, page_host, real_host, subset, unbounded
from agentcore.web.folder import CorpusWeb

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def test_a_page_names_its_host_in_its_head_or_its_links():
    assert page_host(b'<link rel="canonical" href="https://www.lemonde.fr/a/b.html">') == \
        "www.lemonde.fr"
    assert page_host(b"<meta content='https://blog.x.org/p' property='og:url'>") == "blog.x.org"
    assert page_host(b'<base href="http://lwn.net/Articles/1/">') == "lwn.net"
    # no head hint: the most linked host that carries the page's folder name
    links = b'<a href="https://ebb.org/a">x</a>' * 3 + b'<a href="https://www.gnu.org/">g</a>' * 9
    assert page_host(links, "ebb-org") == "ebb.org"
    assert page_host(links, "something-else") is None
    # made-up hosts of hand-made test pages are no sites
    assert page_host(b'<base href="http://fakehost/test/">') is None
    assert real_host("localhost") is None and real_host("www.example.com") is None


def test_the_folder_is_built_the_same_every_time_under_real_names(tmp_path):
    assert DATA.is_dir(), f"{DATA} is missing: the tests need ../shared beside the checkout"
    root_a, man_a = build_corpus(DATA, tmp_path / "a")
    root_b, man_b = build_corpus(DATA, tmp_path / "b")
    assert man_a == man_b and root_a.parent.name == root_b.parent.name  # same content hash
    assert len(man_a) >= 180 and sum(len(v["pages"]) for v in man_a.values()) >= 250
    langs = {v["lang"] for v in man_a.values()}
    assert {"en", "de", "fr", "ru", "ja", "zh"} <= langs
    for host in list(man_a)[:20]:
        a = sorted(os.listdir(root_a / host))
        assert a == sorted(os.listdir(root_b / host)) == sorted(man_a[host]["pages"])
        assert (root_a / host / a[0]).read_bytes() == (root_b / host / a[0]).read_bytes()
    assert build_corpus(DATA, tmp_path / "a") == (root_a, man_a)  # the cache is reused
    web = CorpusWeb(str(root_a))
    assert sorted(web.hosts) == sorted(man_a) and not any(h.endswith(".test") for h in web.hosts)
    quick, man_q = subset(root_a, man_a, 30, tmp_path / "a")
    assert len(man_q) == 30 and sorted(os.listdir(quick)) == sorted(man_q)
    assert subset(root_a, man_a, 30, tmp_path / "a")[1] == man_q


def test_the_plain_pipeline_schema_keeps_every_field_without_length_bounds():
    from agentcore.crawl.jobfile import parse_job

    schema = parse_job("").task.schema
    plain = unbounded(schema)
    assert list(plain["properties"]) == list(schema["properties"])
    assert plain["properties"]["category"]["enum"] == schema["properties"]["category"]["enum"]
    assert not any("maxLength" in p for p in plain["properties"].values())
    assert json.dumps(schema).count("maxLength") == 2  # the job's own schema is untouched


def test_both_sides_count_their_work_by_the_same_rules_and_say_why_they_differ():
    from agentcore.bench.job_work import (Work, differences, fed_urls, prompt_host,
                                          table_figures)
    from agentcore.crawl.jobfile import parse_job

    task = parse_job("").task
    home, p1, p2 = "http://a.org/", "http://a.org/p1.html", "http://a.org/p2.html"
    chat = task.messages("a.org", ["kw"], [(p1, "one two three")])
    assert prompt_host(chat) == "a.org"
    assert fed_urls(task, [(p2, "short"), (p1, "longer text"), (home, "")]) == [p1, p2]
    ours = Work(fetched={home, p1, p2}, text={p1: 300}, page_failures={p2: "empty_text"},
                prompts={"a.org": chat}, fed={"a.org": [p1]}, prompt_tokens=150,
                computed_tokens=60, generated_tokens=20, answers={"a.org": {}}, reuse="prefix")
    f = table_figures(ours)
    assert (f["pages fetched"], f["pages with text"], f["pages without text"]) == \
        (3, 1, {"empty_text": 1})
    assert (f["prompt tokens"], f["computed"], f["reused"], f["generated tokens"]) == \
        (150, 60, 90, 20)
    assert differences(ours, ours, "a", "b") == []  # equal work: nothing to explain
    theirs = Work(fetched={home, p1, p2}, text={p1: 280, p2: 50}, prompts={"a.org": chat[:1]},
                  fed={"a.org": [p1, p2]}, prompt_tokens=170, computed_tokens=170,
                  generated_tokens=20, answers={}, failures={"answer_too_long": 1},
                  reuse="previous prompt")
    why = "\n".join(differences(ours, theirs, "agentcore", "plain"))
    assert "1 have text only for plain; agentcore has empty_text 1" in why
    assert "identical for 0 of 1 sites" in why and "0 of them built from the same pages" in why
    assert "reused by agentcore: 90 (prefix)" in why and "reused by plain: 0" in why
    assert "answer_too_long 0 vs 1" in why
    assert "generated tokens" not in why  # the same count is no difference
    theirs.fed = {"a.org": [p1]}
    ours.fed = {"a.org": [p1]}
    assert "1 of them built from the same pages;" in "\n".join(
        differences(ours, theirs, "agentcore", "plain"))


def test_the_plain_side_finds_no_text_on_a_page_of_links_only():
    from agentcore.bench.job import link_only

    index = b'<ul><li><a href="/p.html">/p.html</a></li><li><a href="/q">Q <b>page</b></a></ul>'
    assert link_only("/p.html\nQ page", index)
    assert not link_only("/p.html and some words of its own", index)
    assert link_only("", b"<p>x</p>")


def test_the_table_shows_both_sides_work_and_the_reasons_it_differs(capsys):
    from agentcore.bench.job import figures, print_table
    from agentcore.bench.job_work import Work
    from agentcore.crawl.jobfile import parse_job

    task = parse_job("").task
    manifest = {"a.org": {"pages": ["p.html"], "lang": "en"}}
    rows = {}
    for name, text in (("agentcore", {"http://a.org/p.html": 200}), ("plain Python", {})):
        work = Work(fetched={"http://a.org/", "http://a.org/p.html"}, text=text,
                    page_failures={} if text else {"http://a.org/p.html": "empty_text"},
                    failures={} if text else {"no_text": 1})
        res = {"wall": 2.0, "setup": 0.1, "work": work, "hosts": ["a.org"], "answers": {},
               "failures": work.failures, "stages": {"crawl + extract": (0.0, 1.0),
                                                     "LLM": (1.0, 2.0), "store": 0.1}}
        rows[name] = {**figures(res, task, manifest), "why": work}
    print_table(rows, 1, manifest, 2, "model.gguf")
    out = capsys.readouterr().out
    assert "pages with text" in out and "  no text: empty_text" in out
    assert "1 have text only for agentcore; plain Python has empty_text 1" in out
    assert "sites failed: no_text 0 vs 1" in out and "agentcore / plain Python: 1.0x" in out
