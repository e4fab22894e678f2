"""`agentcore export`: a run's tables written as CSV, JSON Lines and Parquet from a real store, and each read back equal."""
from __future__ import annotations

import csv
import json
import sys

import pytest

from agentcore.cli import main
from agentcore.crawl.tables import Failure, Keyword, LLMResult, Page, Site
from agentcore.export import TABLES, export_run, resolve_run, table_rows
from agentcore.store import open_store

SUMMARY = 'Zürich, "quoted", a comma — 東京の案内 🙂\nand a second line.'
BIG_HASH = (1 << 64) - 12345  # an unsigned 64-bit simhash above the signed range


def fill(store) -> str:
    """A finished run: three sites (answered, failed, LLM failed), pages, answers, failures."""
    store.create_run({"sites": 1})  # an older run: `latest` must not pick it
    run = store.create_run({"sites": 3})
    store.write(run, Site(host="a.test", url="http://a.test/", n_pages=2, title="A",
                          finished_at=1.5),
                Site(host="b.test", url="http://b.test/", status="failed"),
                Site(host="c.test", url="http://c.test/", status="llm_failed", n_pages=1))
    store.write(run, Page(url="http://a.test/", host="a.test", status=200, n_words=120,
                          simhash=BIG_HASH, excerpt=SUMMARY, fetched_at=2.25, minhash="AAAA"),
                Page(url="http://a.test/x", host="a.test", status=200, elapsed_ms=3.5),
                Keyword(url="http://a.test/", keyword="zürich", host="a.test", weight=0.5))
    store.write(run, LLMResult(host="a.test", category="news", summary=SUMMARY, model="m",
                               prompt_tokens=90, completion_tokens=21, raw=json.dumps(
                                   {"category": "news", "summary": SUMMARY, "language": "German",
                                    "url": "taken", "topics": ["a", "b"]})))
    store.write(run, Failure(kind="site", key="b.test", host="b.test", stage="SITE_FETCH",
                             reason="http_404", detail="GET http://b.test/ answered 404", at=3.0),
                Failure(kind="llm", key="c.test", host="c.test", reason="prompt_too_long"),
                Failure(kind="page", key="http://a.test/y", host="a.test", reason="timeout"))
    store.finish_run(run, {"wall_time_s": 1.0})
    return run


@pytest.fixture
def store_run(db_url):
    with open_store(db_url) as store:
        yield store, fill(store)


def test_tables_hold_the_run(store_run):
    store, run = store_run
    assert resolve_run(store, "latest") == run and resolve_run(store, run) == run
    cols, rows = table_rows(store, run, "sites")
    names = [n for n, _ in cols]
    assert names[:3] == ["host", "url", "status"] and "summary" in names and "reason" in names
    got = [dict(zip(names, r)) for r in rows]
    assert [(r["host"], r["status"], r["category"], r["reason"]) for r in got] == [
        ("a.test", "ok", "news", ""), ("b.test", "failed", "", "http_404"),
        ("c.test", "llm_failed", "", "prompt_too_long")]
    assert got[0]["summary"] == SUMMARY and got[1]["detail"] == "GET http://b.test/ answered 404"
    # the answer's own fields get columns of their own (a name already taken: answer_ prefix)
    assert names[-3:] == ["language", "answer_url", "topics"] and cols[-1] == ("topics", "text")
    assert (got[0]["language"], got[0]["answer_url"], got[0]["topics"]) == ("German", "taken",
                                                                             '["a", "b"]')
    assert got[1]["language"] is None
    cols, rows = table_rows(store, run, "pages")
    assert "minhash" not in dict(cols) and dict(cols)["simhash"] == "u64" and len(rows) == 2
    assert {n: v for n, v in zip([n for n, _ in cols], rows[0])}["simhash"] == BIG_HASH
    assert len(table_rows(store, run, "answers")[1]) == 1
    assert len(table_rows(store, run, "failures")[1]) == 3
    with pytest.raises(LookupError, match="latest"):
        resolve_run(store, "no-such-run")
    with pytest.raises(ValueError, match="sites, pages, answers, failures"):
        table_rows(store, run, "keywords")


def read_back(path, fmt: str, cols) -> list[dict]:
    """The file's rows as dicts of typed values (CSV's text parsed by the column kinds)."""
    if fmt == "jsonl":
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    if fmt == "parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        kinds = {"text": "string", "int": "int64", "float": "double", "u64": "uint64"}
        assert [(f.name, str(f.type)) for f in table.schema] == [(n, kinds[k]) for n, k in cols]
        return table.to_pylist()
    parse = {"text": str, "int": int, "float": float, "u64": int}
    kinds = dict(cols)
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == [n for n, _ in cols]
        # CSV has no missing value: an empty field is None for numbers, "" for text
        return [{k: (None if v == "" and kinds[k] != "text" else parse[kinds[k]](v))
                 for k, v in r.items()} for r in reader]


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_each_format_reads_back_equal(store_run, tmp_path, fmt):
    store, run = store_run
    for table in TABLES:
        out = tmp_path / f"{table}.{fmt}"
        path, n = export_run(store, "latest", out, fmt=fmt, table=table)
        cols, rows = table_rows(store, run, table)
        assert path == out and n == len(rows) > 0 and not list(tmp_path.glob("*.tmp"))
        want = [dict(zip([c for c, _ in cols], r)) for r in rows]
        if fmt == "csv":  # CSV has no missing text either: an empty field
            want = [{k: "" if v is None and dict(cols)[k] == "text" else v for k, v in w.items()}
                    for w in want]
        assert read_back(out, fmt, cols) == want, f"{table}.{fmt} differs from the store"


def test_default_path_and_stdout(store_run, tmp_path, monkeypatch, capsys):
    store, run = store_run
    monkeypatch.chdir(tmp_path)
    path, n = export_run(store, run, fmt="jsonl", table="failures")
    assert path.name == f"{run}-failures.jsonl" and path.exists() and n == 3
    assert export_run(store, run, "-", fmt="csv") == (None, 3)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("host,url,status,") and lines[1].startswith("a.test,")
    with pytest.raises(ValueError, match="binary"):
        export_run(store, run, "-", fmt="parquet")


def test_parquet_without_pyarrow_names_the_extra(store_run, tmp_path, monkeypatch):
    store, run = store_run
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow now raises ImportError
    with pytest.raises(ImportError, match=r"agentcore\[export\]"):
        export_run(store, run, tmp_path / "x.parquet", fmt="parquet")
    assert not (tmp_path / "x.parquet").exists()


def test_the_command(tmp_path, capsys):
    db = tmp_path / "run.db"
    with open_store(db) as store:
        run = fill(store)
    out = tmp_path / "out" / "sites.csv"
    assert main(["export", "latest", "--db", str(db), "--format", "csv", "--out", str(out)]) == 0
    assert "3 sites rows -> " in capsys.readouterr().err
    with open(out, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [r["host"] for r in rows] == ["a.test", "b.test", "c.test"] and rows[0]["summary"] == SUMMARY
    assert main(["export", run, "--db", str(db), "--format", "parquet", "--table", "pages",
                 "--out", str(tmp_path / "p.parquet")]) == 0
    # errors are one line naming what to do, exit code 2
    assert main(["export", "nope", "--db", str(db)]) == 2
    assert "no run 'nope'" in capsys.readouterr().err
    assert main(["export", "latest", "--db", str(tmp_path / "missing.db")]) == 2
    assert "no database at" in capsys.readouterr().err and not (tmp_path / "missing.db").exists()
