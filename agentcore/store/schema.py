"""The store's schema in one place: row types, their tables and keys, and the SQL built from them.

Both backends create the same logical tables from this module; only the column type names and
the bulk-upsert statement differ (see `SqliteStore` / `PostgresStore`).

Every table except ``runs`` is scoped by ``run_id`` and keyed by ``(run_id, natural key)``, so
writing the same row twice (a rerun, a replayed batch after a crash) updates it in place and
never adds a second row. There are no foreign keys on purpose: batches of different tables
commit together in one transaction in any order, and a resumed run may rewrite any of them.

Tables (run_id is the first column of each scoped table)::

    runs         run_id | created_at, finished_at, status, config (JSON), stats (JSON)
    sites        run_id, host | url, status, n_pages, n_failed, robots, title, finished_at
    pages        run_id, url | host, final_url, status, content_type, n_bytes, title, n_words,
                 simhash (unsigned 64-bit), excerpt, fetched_at, elapsed_ms, minhash
    keywords     run_id, url, keyword | host, weight
    near_dups    run_id, url_a, url_b | similarity          (url_a < url_b)
    llm_results  run_id, host | category, summary, model, prompt_tokens, completion_tokens,
                 elapsed_ms, raw, created_at
    failures     run_id, kind, key | host, stage, reason, detail, attempts, at
                 (kind is "site", "page" or "llm"; key is the host or the page url)
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
import operator
from typing import Any, Callable, ClassVar

SCHEMA_VERSION = 2

# Column kinds -> how values cross the boundary. "u64" stores an unsigned 64-bit hash in a signed
# BIGINT (both SQLite and PostgreSQL top out at 2**63 - 1) and gives it back unsigned.
_KINDS = ("text", "int", "float", "u64", "json")


def col(kind: str, default: Any = None) -> Any:
    """A dataclass field that knows its SQL column kind."""
    assert kind in _KINDS, kind
    return field(default=default, metadata={"sql": kind})


@dataclass(frozen=True)
class Table:
    """A table's name, its row type, key columns and (name, kind) columns in order."""

    name: str
    row: type
    key: tuple[str, ...]
    columns: tuple[tuple[str, str], ...]
    indexes: tuple[tuple[str, ...], ...] = ()
    scoped: bool = True  # has a run_id column supplied by the store, not by the row

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.columns)


def _table(name: str, key: tuple[str, ...], indexes: tuple[tuple[str, ...], ...] = (),
           scoped: bool = True):
    def deco(cls):
        cols = tuple((f.name, f.metadata["sql"]) for f in fields(cls))
        if scoped:
            cols = (("run_id", "text"),) + cols
            key_ = ("run_id",) + key
        else:
            key_ = key
        cls.__table__ = Table(name, cls, key_, cols, indexes, scoped)
        return cls
    return deco


@_table("runs", ("run_id",), scoped=False)
@dataclass(frozen=True)
class Run:
    """One run of the pipeline; `config` lets a resumed run rebuild the same work."""

    run_id: str = col("text")
    created_at: float = col("float")
    finished_at: float | None = col("float")
    status: str = col("text", "running")  # "running" or "finished"
    config: dict = col("json")
    stats: dict | None = col("json")
    __table__: ClassVar[Table]


@_table("sites", ("host",))
@dataclass(frozen=True)
class Site:
    """A site that finished (all its pages terminal, aggregated)."""

    host: str = col("text")
    url: str = col("text", "")
    status: str = col("text", "ok")
    n_pages: int = col("int", 0)
    n_failed: int = col("int", 0)
    robots: int = col("int", 0)  # 1 if a robots.txt was found and honoured
    title: str = col("text", "")
    finished_at: float | None = col("float")
    __table__: ClassVar[Table]


@_table("pages", ("url",), indexes=(("run_id", "host"),))
@dataclass(frozen=True)
class Page:
    """A page fetched and extracted; `excerpt` holds its most informative sentences."""

    url: str = col("text")
    host: str = col("text", "")
    final_url: str = col("text", "")
    status: int = col("int", 0)
    content_type: str = col("text", "")
    n_bytes: int = col("int", 0)
    title: str = col("text", "")
    n_words: int = col("int", 0)
    simhash: int = col("u64", 0)
    excerpt: str = col("text", "")
    fetched_at: float | None = col("float")
    elapsed_ms: float = col("float", 0.0)
    minhash: str = col("text", "")  # base64 MinHash signature: lets a resumed run find near-dups
    __table__: ClassVar[Table]


@_table("keywords", ("url", "keyword"), indexes=(("run_id", "host"),))
@dataclass(frozen=True)
class Keyword:
    """One keyword of one page, with its weight (e.g. TF-IDF)."""

    url: str = col("text")
    keyword: str = col("text")
    host: str = col("text", "")
    weight: float = col("float", 0.0)
    __table__: ClassVar[Table]


@_table("near_dups", ("url_a", "url_b"))
@dataclass(frozen=True)
class NearDup:
    """A near-duplicate pair; the constructor orders the urls so (a, b) and (b, a) are one row."""

    url_a: str = col("text")
    url_b: str = col("text")
    similarity: float = col("float", 0.0)
    __table__: ClassVar[Table]

    def __post_init__(self):
        if self.url_b < self.url_a:
            a, b = self.url_a, self.url_b
            object.__setattr__(self, "url_a", b)
            object.__setattr__(self, "url_b", a)


@_table("llm_results", ("host",))
@dataclass(frozen=True)
class LLMResult:
    """The LLM's answer for one site: a category from the fixed list and a one-sentence summary."""

    host: str = col("text")
    category: str = col("text", "")
    summary: str = col("text", "")
    model: str = col("text", "")
    prompt_tokens: int = col("int", 0)
    completion_tokens: int = col("int", 0)
    elapsed_ms: float = col("float", 0.0)
    raw: str = col("text", "")
    created_at: float | None = col("float")
    __table__: ClassVar[Table]


@_table("failures", ("kind", "key"))
@dataclass(frozen=True)
class Failure:
    """A terminal failure of a site, page or LLM call, with the reason and where it happened."""

    kind: str = col("text")  # "site", "page" or "llm"
    key: str = col("text")   # host for site/llm, url for page
    host: str = col("text", "")
    stage: str = col("text", "")  # the state that failed, e.g. "PAGE_FETCH"
    reason: str = col("text", "")  # short, groupable: "http_404", "timeout", "ssrf_redirect"
    detail: str = col("text", "")  # free text: the exception message, the refused url
    attempts: int = col("int", 1)
    at: float | None = col("float")
    __table__: ClassVar[Table]


RUNS = Run.__table__
# Order matters only for DDL readability and for a deterministic write order inside a commit.
TABLES: tuple[Table, ...] = (RUNS, Site.__table__, Page.__table__, Keyword.__table__,
                             NearDup.__table__, LLMResult.__table__, Failure.__table__)
SCOPED: tuple[Table, ...] = tuple(t for t in TABLES if t.scoped)
BY_NAME = {t.name: t for t in TABLES}
ROW_TYPES = (Site, Page, Keyword, NearDup, LLMResult, Failure)
FAILURE_KINDS = ("site", "page", "llm")

_U64 = 1 << 64
_I64_MAX = (1 << 63) - 1


def to_db(kind: str, value: Any) -> Any:
    """Convert a Python value to what the column stores."""
    if value is None:
        return None
    if kind == "u64":
        value = int(value)
        if not 0 <= value < _U64:
            raise ValueError(f"u64 column value {value} is outside 0 .. 2**64-1")
        return value - _U64 if value > _I64_MAX else value
    if kind == "json":
        return json.dumps(value, sort_keys=True, default=str)
    if kind == "int":
        return int(value)
    if kind == "float":
        return float(value)
    return str(value)


_CONVERT: dict[str, Callable[[Any], Any]] = {
    "text": lambda v: v if v is None or type(v) is str else str(v),
    "int": lambda v: v if v is None or type(v) is int else int(v),
    "float": lambda v: v if v is None or type(v) is float else float(v),
    "u64": lambda v: to_db("u64", v),
    "json": lambda v: to_db("json", v),
}


def from_db(kind: str, value: Any) -> Any:
    """Convert a stored value back to its Python value."""
    if value is None:
        return None
    if kind == "u64":
        return value + _U64 if value < 0 else value
    if kind == "json":
        return json.loads(value)
    return value


def row_params(table: Table, row: Any, run_id: str | None) -> tuple:
    """The row's column values in table order, converted for the database."""
    fn = _PARAMS.get(table.name)
    if fn is None:
        fn = _PARAMS[table.name] = _params_fn(table)
    return fn(row, run_id)


_PARAMS: dict[str, Callable[[Any, Any], tuple]] = {}


def _params_fn(table: Table) -> Callable[[Any, Any], tuple]:
    # Called for every row written, on the caller's thread: one attrgetter for all fields, then
    # one converter per column (numpy scalars become plain ints/floats the drivers can bind).
    cols = table.columns[1:] if table.scoped else table.columns
    get = operator.attrgetter(*(name for name, _ in cols))
    convs = tuple(_CONVERT[kind] for _, kind in cols)

    if table.scoped:
        def params(row, run_id):
            return (run_id, *[c(v) for c, v in zip(convs, get(row))])
    else:
        def params(row, run_id):
            return tuple([c(v) for c, v in zip(convs, get(row))])
    return params


def row_from_db(table: Table, values: tuple) -> Any:
    """Rebuild a row object from a SELECT of all its columns (run_id dropped)."""
    cols = table.columns[1:] if table.scoped else table.columns
    vals = values[1:] if table.scoped else values
    return table.row(**{name: from_db(kind, v) for (name, kind), v in zip(cols, vals)})


def create_statements(types: dict[str, str]) -> list[str]:
    """CREATE TABLE / INDEX IF NOT EXISTS statements, with `types` mapping kind -> SQL type."""
    out = ["CREATE TABLE IF NOT EXISTS agentcore_meta (name TEXT PRIMARY KEY, value TEXT)"]
    for t in TABLES:
        cols = ", ".join(f"{name} {types[kind]}{' NOT NULL' if name in t.key else ''}"
                         for name, kind in t.columns)
        out.append(f"CREATE TABLE IF NOT EXISTS {t.name} ({cols}, PRIMARY KEY ({', '.join(t.key)}))")
        for idx in t.indexes:
            out.append(f"CREATE INDEX IF NOT EXISTS {t.name}_{'_'.join(idx)} ON {t.name} ({', '.join(idx)})")
    return out


def upsert_sql(table: Table, placeholder: str) -> str:
    """INSERT ... ON CONFLICT (key) DO UPDATE: the last write of a key wins, never a second row."""
    names = table.column_names
    values = ", ".join([placeholder] * len(names))
    return f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({values}) " + conflict_clause(table)


def conflict_clause(table: Table) -> str:
    rest = [n for n in table.column_names if n not in table.key]
    if not rest:
        return f"ON CONFLICT ({', '.join(table.key)}) DO NOTHING"
    sets = ", ".join(f"{n} = excluded.{n}" for n in rest)
    return f"ON CONFLICT ({', '.join(table.key)}) DO UPDATE SET {sets}"


def key_of(table: Table, params: tuple) -> tuple:
    """The key values of a params tuple (for de-duplicating a batch before it is written)."""
    idx = _key_index(table)
    return tuple(params[i] for i in idx)


_KEY_INDEX: dict[str, tuple[int, ...]] = {}


def _key_index(table: Table) -> tuple[int, ...]:
    idx = _KEY_INDEX.get(table.name)
    if idx is None:
        names = table.column_names
        idx = _KEY_INDEX[table.name] = tuple(names.index(k) for k in table.key)
    return idx
