"""Write one run's results out of its store as CSV, JSON Lines or Parquet (`agentcore export`).

Example::

    agentcore export latest --db agentcore-demo.db --format csv            # ./RUN-sites.csv
    agentcore export 20261201-090000-abcd1234 --db postgresql://localhost/crawl \\
        --format parquet --table pages --out pages.parquet

or from Python::

    from agentcore.export import export_run
    from agentcore.store import open_store

    with open_store("agentcore-demo.db") as store:
        export_run(store, "latest", "answers.jsonl", fmt="jsonl", table="answers")

The tables (`TABLES`): ``sites``, one row per finished site with its answer or its failure code
(`agentcore.crawl.queries.site_answers`); ``pages``, the pages stored (without the MinHash
signature a resumed run uses); ``answers``, the LLM results with their raw text and token counts;
``failures``, every failure with its short reason and its detail. Parquet needs pyarrow, the
``export`` extra (``pip install 'agentcore[export]'``); columns keep their types there (text,
int64, float64, uint64 for hashes), while CSV writes a missing value as an empty field.
"""
from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import sys
from pathlib import Path
from typing import Any, Iterable, Sequence

from agentcore.crawl import queries
from agentcore.crawl.tables import Failure, LLMResult, Page
from agentcore.store import Store
from agentcore.store.schema import table_of

__all__ = ["TABLES", "FORMATS", "resolve_run", "table_rows", "export_run", "add_arguments", "run"]

TABLES = ("sites", "pages", "answers", "failures")
FORMATS = ("csv", "jsonl", "parquet")
ROW_TYPES = {"pages": Page, "answers": LLMResult, "failures": Failure}
#: columns a reader of the results has no use for (resume data)
LEFT_OUT = {"pages": ("minhash",)}
Columns = Sequence[tuple[str, str]]  # (name, kind) with kind one of the store's column kinds


def resolve_run(store: Store, run: str) -> str:
    """The run id `run` names: itself if the store holds it, or the newest run for "latest"."""
    if run == "latest":
        runs = store.runs()
        if not runs:
            raise LookupError(f"no runs in {store!r}: run `agentcore demo` (or a job) first")
        return max(runs, key=lambda r: (r.created_at, r.run_id)).run_id
    if store.get_run(run) is None:
        known = ", ".join(r.run_id for r in store.runs()[-5:]) or "none"
        raise LookupError(f"no run {run!r} in {store!r}; the newest runs there: {known} "
                          "(or pass `latest`)")
    return run


def table_rows(store: Store, run_id: str, table: str = "sites") -> tuple[Columns, list[tuple]]:
    """``(columns, rows)`` of one results table of a run, rows in key order."""
    if table == "sites":
        return _sites(queries.site_answers(store, run_id))
    if table not in ROW_TYPES:
        raise ValueError(f"no table {table!r} to export; choose one of {', '.join(TABLES)}")
    row_type = ROW_TYPES[table]
    skip = set(LEFT_OUT.get(table, ())) | {"run_id"}
    cols = [(n, k) for n, k in table_of(row_type).columns if n not in skip]
    rows = [tuple(getattr(r, n) for n, _ in cols) for r in store.rows(row_type, run_id)]
    return cols, rows


def export_run(store: Store, run: str, out: str | os.PathLike | None = None, *, fmt: str = "csv",
               table: str = "sites") -> tuple[Path | None, int]:
    """Write one table of run `run` ("latest" allowed) to `out` in format `fmt`.

    `out` None writes ``RUN-TABLE.FMT`` in the current folder; "-" writes CSV or JSON Lines to
    stdout. Returns ``(path or None for stdout, rows written)``; a file appears whole or not at all.
    """
    if fmt not in FORMATS:
        raise ValueError(f"no export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if fmt == "parquet":
        pa, pq = _pyarrow()  # before any work: a missing extra is the first thing to hear about
    run_id = resolve_run(store, run)
    cols, rows = table_rows(store, run_id, table)
    if out is not None and os.fspath(out) == "-":
        if fmt == "parquet":
            raise ValueError("parquet is binary: give --out a file path, not -")
        _write_text(sys.stdout, fmt, cols, rows)
        return None, len(rows)
    path = Path(out) if out is not None else Path(f"{run_id}-{table}.{fmt}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        if fmt == "parquet":
            pq.write_table(_arrow_table(pa, cols, rows), tmp)
        else:
            with open(tmp, "w", encoding="utf-8", newline="") as f:
                _write_text(f, fmt, cols, rows)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path, len(rows)


# ------------------------------------------------------------------ formats

def _write_text(f: io.TextIOBase, fmt: str, cols: Columns, rows: Iterable[tuple]) -> None:
    names = [n for n, _ in cols]
    jsons = [i for i, (_, k) in enumerate(cols) if k == "json"]
    if fmt == "csv":
        w = csv.writer(f)
        w.writerow(names)
        for r in rows:
            r = list(r)
            for i in jsons:
                r[i] = json.dumps(r[i], ensure_ascii=False) if r[i] is not None else None
            w.writerow(["" if v is None else v for v in r])
        return
    for r in rows:
        f.write(json.dumps(dict(zip(names, r)), ensure_ascii=False, separators=(",", ":")) + "\n")


def _pyarrow():
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError as exc:
        raise ImportError("--format parquet needs pyarrow, the `export` extra: "
                          "pip install 'agentcore[export]' (or pip install 'pyarrow>=14'); "
                          f"importing it failed: {exc}") from None
    return pyarrow, pyarrow.parquet


def _arrow_table(pa, cols: Columns, rows: list[tuple]):
    types = {"text": pa.string(), "int": pa.int64(), "float": pa.float64(), "u64": pa.uint64(),
             "json": pa.string()}
    arrays = {}
    for i, (name, kind) in enumerate(cols):
        values = [r[i] for r in rows]
        if kind == "json":
            values = [None if v is None else json.dumps(v, ensure_ascii=False) for v in values]
        arrays[name] = pa.array(values, type=types[kind])
    return pa.table(arrays)


def _sites(answers: list[queries.SiteAnswer]) -> tuple[Columns, list[tuple]]:
    fields = [f for f in dataclasses.fields(queries.SiteAnswer) if f.name != "answer"]
    cols = [(f.name, _kind(f.type)) for f in fields]
    # the answer's other fields (a job's own schema: language, ...) become text columns of
    # their own, in the order first seen; a name taken already gets an answer_ prefix
    taken = {n for n, _ in cols}
    extra: dict[str, str] = {}
    for a in answers:
        for k in a.answer:
            if k not in ("category", "summary") and k not in extra:
                extra[k] = f"answer_{k}" if k in taken else k
    cols += [(name, "text") for name in extra.values()]
    rows = [tuple(getattr(a, f.name) for f in fields)
            + tuple(_text(a.answer.get(k)) for k in extra) for a in answers]
    return cols, rows


def _text(v: Any) -> str | None:
    if v is None or isinstance(v, str):
        return v
    return json.dumps(v, ensure_ascii=False)


def _kind(annotation: Any) -> str:
    # SiteAnswer's annotations are strings ("str", "int", "float | None") under __future__
    base = str(annotation).split("|")[0].strip()
    return {"str": "text", "int": "int", "float": "float"}[base]


# ------------------------------------------------------------------ command line

def add_arguments(p) -> None:
    """The flags of `agentcore export`."""
    p.add_argument("run", metavar="RUN", help="the run id, or `latest` for the newest run")
    p.add_argument("--db", required=True, help="the run's SQLite file or postgresql:// URL")
    p.add_argument("--format", choices=FORMATS, default="csv", help="file format (default csv)")
    p.add_argument("--table", choices=TABLES, default="sites",
                   help="sites (default: one row per site with its answer or failure code), "
                        "pages, answers (the LLM results) or failures")
    p.add_argument("--out", metavar="PATH",
                   help="output file (default ./RUN-TABLE.FORMAT; - for stdout, csv/jsonl only)")


def run(args) -> int:
    """`agentcore export`: write the table, say where it went; errors as one line, exit code 2."""
    from agentcore.store import open_store

    if "://" not in args.db and not Path(args.db).is_file():
        print(f"agentcore export: no database at {args.db}; pass --db the file a run wrote "
              "(e.g. agentcore-demo.db) or a postgresql:// URL", file=sys.stderr)
        return 2
    try:
        with open_store(args.db) as store:
            path, n = export_run(store, args.run, args.out, fmt=args.format, table=args.table)
    except (LookupError, ValueError, ImportError) as exc:
        print(f"agentcore export: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `| head` closed stdout: stop quietly, as other tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    if path is not None:
        print(f"{n:,d} {args.table} rows -> {path}", file=sys.stderr)
    return 0
