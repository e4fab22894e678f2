"""The HTML report: its charts, its data from a real store, the page rendered from realistic data and checked in headless Chromium."""
from __future__ import annotations

import html
import json
import os
import random
import re
import shutil
import struct

import pytest

from agentcore.crawl.tables import Failure, LLMResult, NearDup, Page, Site
from agentcore.demo.charts import bar_chart, fmt, line_chart, nice_ticks, stacked_area
from agentcore.crawl.queries import SiteAnswer
from agentcore.demo.report import ReportData, Sample, render_html, report_from_store, write_report
from agentcore.demo.report_data import rate, state_series
from agentcore.store import open_store
from browser import browser_check, find_chromium

STATES = ["SITE_FETCH", "PAGE_FETCH", "EXTRACT", "ANALYZE", "WAIT_PAGES", "SUMMARIZE", "STORE",
          "DONE", "FAILED"]
CATEGORIES = ["software", "science", "reference", "news", "education", "government", "commerce",
              "health", "entertainment", "sports", "other"]
REASONS = {"http_404": 180, "http_500": 61, "timeout": 44, "redirect_loop": 20,
           "ssrf_redirect_refused": 12, "offsite_redirect_refused": 12, "body_too_large": 9,
           "decompressed_too_large": 9, "binary_content_type": 18, "truncated_html": 3,
           "robots_disallow": 31, "llm_invalid_json": 2}


def realistic_data(seed: int = 7) -> ReportData:
    """A 96 s, 500-site run: ramp-up, steady state, LLM tail, like the demo produces."""
    rng = random.Random(seed)
    samples, pages, summaries, tokens = [], 0, 0, 0
    total_pages, total_agents = 10_412, 10_912
    t = 0.0
    while t < 96.0:
        t = round(t + 0.5, 2)
        ramp = min(1.0, t / 8.0) * (0.25 if t > 80 else 1.0)
        pages = min(total_pages, pages + int(ramp * rng.uniform(55, 80)))
        if t > 6:
            summaries = min(500, summaries + rng.choice([2, 3, 3, 4]))
        tokens = summaries * 31
        active = max(total_agents - pages - summaries, 0)
        fetch = min(256, active // 3)
        states = {"SITE_FETCH": max(0, 40 - int(t)), "PAGE_FETCH": fetch,
                  "EXTRACT": rng.randint(0, 64) if active else 0,
                  "ANALYZE": rng.randint(0, 48) if active else 0,
                  "WAIT_PAGES": max(0, min(500 - summaries, 300)),
                  "SUMMARIZE": min(128, 500 - summaries), "STORE": rng.randint(0, 20),
                  "DONE": pages - 380 * pages // total_pages + summaries,
                  "FAILED": 380 * pages // total_pages}
        samples.append(Sample(t=t, pages=pages, summaries=summaries, states=states, tokens=tokens))
    cats = dict(zip(CATEGORIES, [131, 87, 66, 52, 41, 33, 29, 21, 17, 12, 11]))
    clusters = []
    for c in range(37):
        size = 2 + (c * 7) % 6
        clusters.append(sorted(f"http://site{(c * 13 + k * 101) % 500:03d}.test/docs/"
                               f"{['os', 'json', 'asyncio', 'pathlib'][c % 4]}-{c}.html"
                               for k in range(size)))
    clusters.sort(key=lambda g: (-len(g), g[0]))
    return ReportData(title="agentcore demo: 500 sites", run_id="20261126-101500-abcd1234",
                      store="/tmp/agentcore-demo/run.db", sites=500, pages=10_032, summaries=500,
                      failures=sum(REASONS.values()), wall_time_s=96.0, samples=samples,
                      categories=cats, failure_reasons=REASONS, clusters=clusters,
                      site_answers=site_answers(cats, rng), extra={"model": "SmolLM2-135M-Instruct Q4_0", "LLM tokens/s": 561.0,
                             "concurrency (global / per host)": "256 / 4"})


WORDS = ("module", "tutorial", "reference", "release", "notes", "library", "python", "guide",
         "article", "research", "shop", "products", "weather", "football", "recipes", "news")


def site_answers(cats: dict[str, int], rng: random.Random) -> list[SiteAnswer]:
    """One answer per site of `cats`, a few sites failed, some with very long words and text."""
    out = []
    labels = [c for c, n in cats.items() for _ in range(n)]
    for i, cat in enumerate(labels):
        host = f"site{i:03d}.test" if i % 50 else f"{'very-long-subdomain-' * 4}site{i:03d}.example"
        if i % 37 == 5:
            out.append(SiteAnswer(host=host, url=f"http://{host}/", status="failed", n_pages=0,
                                  reason=rng.choice(["http_404", "timeout", "robots_disallowed"]),
                                  detail="GET http://" + host + "/ answered 404 Not Found " * 8))
        elif i % 41 == 7:
            out.append(SiteAnswer(host=host, url=f"http://{host}/", status="llm_failed",
                                  n_pages=12, reason="prompt_too_long"))
        else:
            words = [rng.choice(WORDS) for _ in range(rng.randint(6, 60))]
            if i % 97 == 3:
                words.append("x" * 300)  # an unbroken run of characters must wrap, not widen
            out.append(SiteAnswer(host=host, url=f"http://{host}/", category=cat,
                                  n_pages=rng.randint(1, 32), summary=" ".join(words) + "."))
    return out


def test_nice_ticks():
    assert nice_ticks(0, 96, 6) == [0, 20, 40, 60, 80, 100]
    assert nice_ticks(0, 1) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert nice_ticks(0, 0) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]  # a flat series still gets an axis
    assert nice_ticks(0, 7321, 5)[-1] >= 7321



def test_charts_are_inline_svg_with_one_mark_per_value():
    bars = bar_chart({"a": 3, "b": 1})
    assert bars.startswith("<svg") and bars.count('class="bar"') == 2
    folded = bar_chart({f"r{i}": i + 1 for i in range(20)}, limit=5)
    assert folded.count('class="bar"') == 5 and "other (16)" in folded
    lines = line_chart({"x": [(0, 1), (1, 2)], "y": [(0, 2), (1, 0)]}, y_label="n")
    assert lines.count('class="series"') == 2 and 'class="legend"' in lines
    area = stacked_area({"A": [(0, 1), (1, 2)], "B": [(0, 3), (1, 1)]})
    assert area.count('class="series"') == 2
    assert "no data recorded" in line_chart({}) and ">none<" in bar_chart({})
    assert [fmt(v) for v in (12345, 0.0, 3.14159, 42.42, 1234.5, True)] == [
        "12,345", "0", "3.14", "42.4", "1,234", "True"]


def test_series_from_samples():
    samples = [Sample(t=0.0, pages=0), Sample(t=1.0, pages=10), Sample(t=2.0, pages=30),
               Sample(t=4.0, pages=30)]
    assert rate(samples, "pages") == [(1.0, 10.0), (2.0, 15.0), (4.0, 0.0)]  # over about 2 s
    assert rate(samples[:1], "pages") == []
    data = ReportData(samples=[{"t": 1.0, "states": {"A": 2, "DONE": 1}},
                               {"t": 2.0, "states": {"B": 1, "DONE": 3, "FAILED": 1}}])
    active, finished = state_series(data)
    assert active == {"A": [(1.0, 2), (2.0, 0)], "B": [(1.0, 0), (2.0, 1)]}
    assert finished == {"DONE": [(1.0, 1), (2.0, 3)], "FAILED": [(1.0, 0), (2.0, 1)]}

def test_report_is_self_contained_and_complete(tmp_path):
    data = realistic_data()
    path = write_report(tmp_path / "r" / "report.html", data)
    text = path.read_text(encoding="utf-8")
    # No network: nothing fetched from anywhere; the inert data island and one inline script
    # (the sites table's filter) that loads nothing.
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text)
    assert "@import" not in text and "url(" not in text
    assert re.findall(r"<script[^>]*>", text) == ['<script type="application/json" id="report-data">',
                                                  "<script>"]
    script = text.rsplit("<script>", 1)[1]
    assert not re.search(r"fetch\(|XMLHttpRequest|import\(|WebSocket|\.src\s*=", script)
    for ident in ("summary", "chart-throughput", "chart-summaries", "chart-states", "chart-finished",
                  "chart-categories", "chart-failures", "sites", "clusters"):
        assert f'id="{ident}"' in text
    assert text.count("<svg") == 6
    # Summary numbers, derived rates and the extra rows are there.
    assert "10,032" in text and "104" in text and "5.21" in text  # pages, pages/s, summaries/s
    assert "SmolLM2-135M-Instruct Q4_0" in text
    # Every category and failure reason gets a bar; the biggest cluster's urls are listed.
    for label in list(data.categories) + list(data.failure_reasons):
        assert f">{html.escape(label)}<title>" in text
    assert data.clusters[0][0] in text
    embedded = json.loads(re.search(r'id="report-data">(.*?)</script>', text, re.S).group(1))
    assert embedded["pages"] == 10_032 and len(embedded["samples"]) == len(data.samples)
    assert len(embedded["site_answers"]) == 500
    # The sites table: one row per site, answered rows under their category, failed ones with
    # their failure code; the category filter offers every category and "no answer".
    table = text[text.index('id="site-table"'):]
    table = table[:table.index("</table>")]
    assert table.count("<tr data-f=") == 500
    answered = [a for a in data.site_answers if a.status == "ok"]
    for cat in data.categories:
        n = sum(a.category == cat for a in answered)
        assert table.count(f'data-f="cat:{cat}"') == n
        assert f'<option value="cat:{cat}">{cat} ({n})</option>' in text
    failed = [a for a in data.site_answers if a.status != "ok"]
    assert table.count('data-f="none"') == len(failed) > 0
    assert f'<option value="none">no answer ({len(failed)})</option>' in text
    assert all(f">{a.reason}</code>" in table for a in failed)
    assert html.escape(answered[-1].summary) in table and failed[0].host in table
    assert "…" in table  # a long failure detail is cut (in full in the tooltip)


def test_report_escapes_text_and_handles_empty_data(tmp_path):
    evil = ReportData(title="<script>alert(1)</script>", categories={"<b>x</b>": 1},
                      failure_reasons={'"><img src=x>': 2}, clusters=[["http://a/<x>", "http://b/&"]],
                      site_answers=[{"host": "a.test", "category": '"><i>c', "summary": "</td><b>s"},
                                    {"host": "b.test", "status": "failed", "reason": "<u>r",
                                     "detail": '"><img src=y>'}])
    text = render_html(evil)
    for raw in ("<script>alert", "<b>x</b>", "<img src=x>", "<i>c", "<b>s", "<u>r", "<img src=y>"):
        assert raw not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert 'data-f="cat:&quot;&gt;&lt;i&gt;c"' in text and "&lt;/td&gt;&lt;b&gt;s" in text
    empty = render_html(ReportData())
    assert empty.count("no data recorded") == 4 and "No near-duplicate pages found." in empty
    assert "No finished sites." in empty and "<script>" not in empty  # no table, no script


def test_report_from_store(db_url):
    with open_store(db_url) as store:
        run = store.create_run({"sites": 3})
        store.write(run, Site(host="a.test", n_pages=7), Site(host="b.test"), Site(host="c.test"),
                    Site(host="d.test", status="failed"), Site(host="e.test", status="llm_failed"),
                    Site(host="f.test"))
        store.write(run, *[Page(url=f"http://a.test/{i}", host="a.test") for i in range(7)])
        store.write(run, LLMResult(host="a.test", category="science", raw='{"category": '
                                   '"science", "summary": "s", "language": "German"}'),
                    LLMResult(host="b.test", category="science"), LLMResult(host="c.test", category="news"))
        store.write(run, Failure(kind="page", key="http://a.test/x", reason="http_404"),
                    Failure(kind="page", key="http://a.test/y", reason="http_404"),
                    Failure(kind="page", key="http://a.test/z", reason="timeout"),
                    Failure(kind="site", key="d.test", host="d.test", stage="SITE_FETCH",
                            reason="http_404", detail="GET http://d.test/ answered 404"),
                    Failure(kind="llm", key="e.test", host="e.test", reason="prompt_too_long"))
        store.write(run, NearDup("http://a.test/1", "http://b.test/1", 0.97),
                    NearDup("http://b.test/1", "http://c.test/1", 0.95))
        store.finish_run(run, {"wall_time_s": 3.5})
        timeline = [{"t": 1.0, "pages": 2, "summaries": 0, "states": {"PAGE_FETCH": 5}},
                    {"t": 3.5, "pages": 10, "summaries": 3, "states": {"DONE": 13}}]
        data = report_from_store(store, run, timeline, extra={"backend": store.backend})
    assert (data.sites, data.pages, data.summaries, data.failures) == (6, 7, 3, 5)
    assert data.wall_time_s == 3.5 and data.pages_per_s == 2.0
    assert data.categories == {"science": 2, "news": 1}
    assert data.failure_reasons == {"http_404": 3, "timeout": 1, "prompt_too_long": 1}
    got = [(a.host, a.status, a.category, a.reason, a.n_pages) for a in data.site_answers]
    assert got == [("a.test", "ok", "science", "", 7), ("b.test", "ok", "science", "", 0),
                   ("c.test", "ok", "news", "", 0), ("d.test", "failed", "", "http_404", 0),
                   ("e.test", "llm_failed", "", "prompt_too_long", 0), ("f.test", "ok", "", "", 0)]
    assert data.site_answers[3].detail == "GET http://d.test/ answered 404"
    assert data.site_answers[3].stage == "SITE_FETCH"
    assert data.site_answers[0].answer["language"] == "German" and data.site_answers[1].answer == {}
    assert data.clusters == [["http://a.test/1", "http://b.test/1", "http://c.test/1"]]
    assert isinstance(data.samples[0], Sample) and data.samples[1].states == {"DONE": 13}
    page = render_html(data)
    assert "http://c.test/1" in page and ">prompt_too_long</code>" in page
    assert "no LLM answer recorded" in page  # f.test finished without an answer
    assert "· language: German</span>" in page  # the answer's own fields follow the summary


# ------------------------------------------------------------------ headless Chromium

def test_report_renders_in_headless_chromium(tmp_path):
    if find_chromium() is None:
        pytest.fail("headless Chromium is needed to check the report: run `./dev test` (it "
                    "installs Debian's chromium) or `apt-get install chromium`", pytrace=False)
    data = realistic_data()
    report = write_report(tmp_path / "report.html", data)
    probe = browser_check(report, screenshot=tmp_path / "report.png", window=(1200, 2000))
    charts = probe["charts"]
    assert set(charts) == {"chart-throughput", "chart-summaries", "chart-states", "chart-finished",
                           "chart-categories", "chart-failures"}
    for ident, c in charts.items():
        w, h = c["size"]
        assert w > 300 and h > 100, f"{ident} laid out at {w}x{h}"
        assert c["marks"] and all(mw > 0 and mh > 0 for mw, mh in c["marks"]), f"{ident}: empty marks"
        assert c["outside"] == [], f"{ident}: drawn outside the chart: {c['outside']}"
    assert len(charts["chart-categories"]["marks"]) == len(data.categories)
    assert len(charts["chart-failures"]["marks"]) == len(data.failure_reasons)
    assert len(charts["chart-states"]["marks"]) == len(STATES) - 2  # DONE/FAILED in their own chart
    assert not probe["overflowX"], "the report is wider than a 1200 px window"
    # The sites table: every row laid out inside its box, the filter bar shown by the script,
    # each category alone shows exactly its rows, a search for one host finds that row.
    table = probe["table"]
    assert table["rows"] == table["visible"] == table["visibleAfterReset"] == 500
    assert table["filters"] and not table["overflowX"], table
    assert 900 < table["size"][0] <= 1200 and 200 < table["size"][1] <= 0.75 * 2000 + 2, table
    assert set(table["categories"]) == {f"cat:{c}" for c in data.categories} | {"none"}
    for value, (shown, rows) in table["categories"].items():
        assert shown == rows > 0, f"category filter {value}: {shown} rows shown of {rows}"
    assert table["search"]["visible"] == 1 and table["search"]["count"] == "1 of 500 sites"
    assert table["sort"] == {"column": "pages", "ascending": True, "descending": True, "rows": 500}
    # The screenshot is of the unmodified report: a real PNG of the window size.
    head = open(probe["screenshot"], "rb").read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", head[16:24]) == (1200, 2000)
    keep = os.environ.get("AGENTCORE_REPORT_SCREENSHOT")
    if keep:  # for a human look: AGENTCORE_REPORT_SCREENSHOT=/tmp/report.png pytest ...
        shutil.copy(probe["screenshot"], keep)
        shutil.copy(report, os.path.splitext(keep)[0] + ".html")
