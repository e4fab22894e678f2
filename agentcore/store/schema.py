"""How a row type becomes a table: the `@table` declaration, `col`, value conversion and the SQL built from them.

Any module declares its own rows; nothing is registered in the store package. The store creates
a table the first time a row of it is written or read (CREATE TABLE IF NOT EXISTS)::

    from dataclasses import dataclass
    from agentcore.store.schema import col, table

    @table("notes", key=("topic",))
    @dataclass(frozen=True)
    class Note:
        topic: str = col("text")
        body: str = col("text", "")
        score: float = col("float", 0.0)

    store.write(run_id, Note("python", "a language", 0.9))
    store.rows(Note, run_id)          # [Note(topic='python', body='a language', score=0.9)]

A scoped table (the default) gets a leading ``run_id`` column supplied by the store and is keyed
by ``(run_id, *key)``, so writing the same row twice (a rerun, a batch replayed after a crash)
updates it in place and never adds a second row. There are no foreign keys on purpose: batches of
different tables commit together in one transaction in any order, and a resumed run may rewrite
any of them. Identifiers are quoted in the generated SQL, so a column may be called ``values``.
"""
from __future__ import annotations

import json
import operator
import re
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any, Callable

#: The layout version of a store's own tables (agentcore_meta, runs, agents) and of the way row
#: types map to tables. A database written under another version is refused, not migrated.
SCHEMA_VERSION = 3

# Column kinds -> how values cross the boundary. "u64" stores an unsigned 64-bit hash in a signed
# BIGINT (both SQLite and PostgreSQL top out at 2**63 - 1) and gives it back unsigned.
KINDS = ("text", "int", "float", "u64", "json")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def col(kind: str, default: Any = None) -> Any:
    """A dataclass field that knows its SQL column kind (one of `KINDS`)."""
    if kind not in KINDS:
        raise ValueError(f"column kind {kind!r} is not one of {', '.join(KINDS)}")
    return field(default=default, metadata={"sql": kind})


@dataclass(frozen=True, eq=False)  # identity equality: one Table per declaration, cheap to hash
class Table:
    """A table's name, its row type, key columns and (name, kind) columns in order."""

    name: str
    row: type
    key: tuple[str, ...]
    columns: tuple[tuple[str, str], ...]
    indexes: tuple[tuple[str, ...], ...] = ()
    scoped: bool = True  # has a leading run_id column supplied by the store, not by the row

    def __post_init__(self):
        names = self.column_names
        own = self.columns[1:] if self.scoped else self.columns
        get = operator.attrgetter(*(n for n, _ in own))
        if len(own) == 1:  # attrgetter of one name returns the value, not a 1-tuple
            one = get
            get = lambda row: (one(row),)  # noqa: E731
        convs = tuple(_CONVERT[kind] for _, kind in own)
        # the common row (every value already of its column's plain type) skips the
        # converters: one tuple of types compared, then only u64 columns change
        kinds = [kind for _, kind in own]
        types = None if "json" in kinds else tuple(_PLAIN[k] for k in kinds)
        object.__setattr__(self, "_get", get)
        object.__setattr__(self, "_convs", convs)
        object.__setattr__(self, "_types", types)
        object.__setattr__(self, "_u64", tuple(i for i, k in enumerate(kinds) if k == "u64"))
        object.__setattr__(self, "_key_index", tuple(names.index(k) for k in self.key))
        pick = operator.itemgetter(*self._key_index)
        object.__setattr__(self, "_key_get", pick if len(self.key) > 1 else
                           (lambda params: (pick(params),)))

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.columns)

    def __repr__(self) -> str:
        return f"Table({self.name!r}, key={self.key})"


_DECLARED: dict[str, type] = {}


def table(name: str, key: tuple[str, ...] | str, *, indexes: tuple[tuple[str, ...], ...] = (),
          scoped: bool = True) -> Callable[[type], type]:
    """Declare a frozen dataclass (every field a `col`) as the rows of table `name`.

    `key` names the fields that identify a row within a run; `indexes` adds secondary indexes
    (column tuples, ``run_id`` included where wanted). A plain class is made a frozen dataclass.
    """
    keys = (key,) if isinstance(key, str) else tuple(key)

    def deco(cls: type) -> type:
        if not is_dataclass(cls):
            cls = dataclass(frozen=True)(cls)
        cols = []
        for f in fields(cls):
            kind = f.metadata.get("sql")
            if kind is None:
                raise TypeError(f"{cls.__name__}.{f.name} has no column kind: declare it as "
                                f"`{f.name}: ... = col('text')` (kinds: {', '.join(KINDS)})")
            cols.append((f.name, kind))
        for ident in (name, *(n for n, _ in cols)):
            if not _NAME.match(ident):
                raise ValueError(f"{ident!r} is not a plain SQL identifier (letters, digits, _)")
        missing = [k for k in keys if k not in dict(cols)]
        if not keys or missing:
            raise ValueError(f"table {name!r}: key {keys} must name fields of {cls.__name__}")
        if scoped:
            if "run_id" in dict(cols):
                raise ValueError(f"{cls.__name__} must not declare run_id: the store supplies it")
            cols = [("run_id", "text"), *cols]
        where = f"{cls.__module__}.{cls.__qualname__}"
        prev = _DECLARED.get(name)
        if prev is not None and f"{prev.__module__}.{prev.__qualname__}" != where:
            raise ValueError(f"table {name!r} is already declared by {prev.__module__}."
                             f"{prev.__qualname__}; give {cls.__name__} another table name")
        _DECLARED[name] = cls
        cls.__table__ = Table(name, cls, (("run_id",) if scoped else ()) + keys, tuple(cols),
                              tuple(tuple(i) for i in indexes), scoped)
        return cls
    return deco


def table_of(row_type: type) -> Table:
    """The `Table` of a row type declared with `@table`."""
    t = getattr(row_type, "__table__", None)
    if not isinstance(t, Table):
        raise TypeError(f"{getattr(row_type, '__name__', row_type)!r} is not a row type: declare "
                        "it with @agentcore.store.table(name, key=...)")
    return t


def written_table(kind) -> Table:
    """The scoped table rows of ``kind`` are written to; TypeError for anything else."""
    t = getattr(kind, "__table__", None)
    if not isinstance(t, Table) or not t.scoped:
        raise TypeError("store.write takes rows of a type declared with @table (e.g. "
                        "agentcore.crawl.tables.Page, AgentRecord or your own), or "
                        f"(RowType, values) pairs, got {getattr(kind, '__name__', kind)}")
    return t


def check_run_id(run_id) -> None:
    if not isinstance(run_id, str) or not run_id:
        raise ValueError(f"run_id must be a non-empty str, got {run_id!r}")


# ------------------------------------------------------------------ values

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
        return json.dumps(value, sort_keys=True, default=_plain)
    if kind == "int":
        return int(value)
    if kind == "float":
        return float(value)
    return str(value)


def _plain(value: Any) -> Any:
    # numpy scalars and arrays (an agent's payload columns) become JSON numbers and lists
    for method in ("item", "tolist"):
        fn = getattr(value, method, None)
        if callable(fn):
            try:
                return fn()
            except (TypeError, ValueError):
                pass
    return str(value)


# Called for every column of every row written, on the caller's thread: the common case (the
# value already has the plain type) costs one type check; numpy scalars become ints/floats.
_CONVERT: dict[str, Callable[[Any], Any]] = {
    "text": lambda v: v if v is None or type(v) is str else str(v),
    "int": lambda v: v if v is None or type(v) is int else int(v),
    "float": lambda v: v if v is None or type(v) is float else float(v),
    "u64": lambda v: to_db("u64", v),
    "json": lambda v: to_db("json", v),
}


#: the type a value of each kind has when it needs no conversion (json: always converted)
_PLAIN = {"text": str, "int": int, "float": float, "u64": int}


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
    """The row's column values in table order (run_id first if scoped), converted for the database."""
    return values_params(table, table._get(row), run_id)


def values_params(table: Table, vals: tuple, run_id: str | None) -> tuple:
    """``row_params`` of a row given as its values in field order (no row object built)."""
    if table._types is not None and tuple(map(type, vals)) == table._types:
        if table._u64:
            vals = list(vals)
            for i in table._u64:
                v = vals[i]
                if not 0 <= v <= _I64_MAX:
                    vals[i] = to_db("u64", v)
    else:
        vals = [c(v) for c, v in zip(table._convs, vals)]
    return (run_id, *vals) if table.scoped else tuple(vals)


def block_params(table: Table, kind: type, rows: list, run_id: str | None) -> list[tuple]:
    """``values_params`` of many rows of one table (each its values in field order), checked and
    converted a column at a time: a type test and a min/max per column, not a Python step per
    value. Raises as ``values_params`` and the store's key check do (ValueError)."""
    width = len(table._convs)
    if not rows:
        return []
    if set(map(len, rows)) != {width}:
        bad = next(v for v in rows if len(v) != width)
        raise ValueError(f"{kind.__name__} takes {width} values in field order, got "
                         f"{len(bad)}: {bad!r}")
    cols = list(zip(*rows))
    types = table._types
    for i, (conv, column) in enumerate(zip(table._convs, cols)):
        if types is not None and set(map(type, column)) == {types[i]}:
            if i not in table._u64 or 0 <= min(column) and max(column) <= _I64_MAX:
                continue  # plain values: what the converter would give back
        cols[i] = list(map(conv, column))
    offset = 1 if table.scoped else 0
    for k in table._key_index:
        if k >= offset and None in cols[k - offset]:
            row = rows[cols[k - offset].index(None)]
            raise ValueError(f"{kind.__name__} key {table.key[offset:]} must not be None: "
                             f"{row!r}")
    if table.scoped:
        return list(zip([run_id] * len(rows), *cols))
    return list(zip(*cols))


def key_of(table: Table, params: tuple) -> tuple:
    """The key values of a params tuple (for de-duplicating a batch before it is written)."""
    return table._key_get(params)


def row_from_db(table: Table, values: tuple) -> Any:
    """Rebuild a row object from a SELECT of all its columns (run_id dropped)."""
    cols = table.columns[1:] if table.scoped else table.columns
    vals = values[1:] if table.scoped else values
    return table.row(**{name: from_db(kind, v) for (name, kind), v in zip(cols, vals)})


# ------------------------------------------------------------------ SQL

def quote(name: str) -> str:
    """A quoted identifier (every declared name is a plain one, checked by `table`)."""
    return f'"{name}"'


def names_sql(names) -> str:
    return ", ".join(quote(n) for n in names)


META_DDL = "CREATE TABLE IF NOT EXISTS agentcore_meta (name TEXT PRIMARY KEY, value TEXT)"


def create_statements(table: Table, types: dict[str, str]) -> list[str]:
    """CREATE TABLE / INDEX IF NOT EXISTS for one table, with `types` mapping kind -> SQL type."""
    cols = ", ".join(f"{quote(name)} {types[kind]}{' NOT NULL' if name in table.key else ''}"
                     for name, kind in table.columns)
    out = [f"CREATE TABLE IF NOT EXISTS {quote(table.name)} ({cols}, "
           f"PRIMARY KEY ({names_sql(table.key)}))"]
    for idx in table.indexes:
        out.append(f"CREATE INDEX IF NOT EXISTS {quote(table.name + '_' + '_'.join(idx))} "
                   f"ON {quote(table.name)} ({names_sql(idx)})")
    return out


def upsert_sql(table: Table, placeholder: str, rows: int = 1) -> str:
    """INSERT ... ON CONFLICT (key) DO UPDATE: the last write of a key wins, never a second row.
    ``rows`` > 1: one statement for that many rows (their values one after another)."""
    values = "(" + ", ".join([placeholder] * len(table.columns)) + ")"
    return (f"INSERT INTO {quote(table.name)} ({names_sql(table.column_names)}) VALUES "
            + ", ".join([values] * rows) + " " + conflict_clause(table))


def conflict_clause(table: Table) -> str:
    rest = [n for n in table.column_names if n not in table.key]
    if not rest:
        return f"ON CONFLICT ({names_sql(table.key)}) DO NOTHING"
    sets = ", ".join(f"{quote(n)} = excluded.{quote(n)}" for n in rest)
    return f"ON CONFLICT ({names_sql(table.key)}) DO UPDATE SET {sets}"


def select_sql(table: Table) -> str:
    """SELECT of every column, in the order `row_from_db` reads them."""
    return f"SELECT {names_sql(table.column_names)} FROM {quote(table.name)}"
