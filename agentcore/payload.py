"""Per-agent payload columns: one Python list per declared field, grown on demand."""
from __future__ import annotations

TYPE_CHECKING = False

if TYPE_CHECKING:
    from typing import Any, Iterable


class UnknownColumn(LookupError):
    """A payload column the spec does not declare (the message lists the declared ones)."""


class Column:
    """A field of every agent: ``col[aid]``, ``col[ids]`` (list back), ``col[aid] = v``.

    Rows are created lazily: reading an agent never written gives ``default``. A list of
    references costs 8 bytes per agent, so a 1M-agent column is 8 MB plus its values.
    """

    __slots__ = ("name", "default", "_rows")

    def __init__(self, name: str, default: Any = None):
        self.name = name
        self.default = default
        self._rows: list = []

    def __len__(self):
        return len(self._rows)

    def __getitem__(self, key):
        rows = self._rows
        if isinstance(key, int):
            return rows[key] if 0 <= key < len(rows) else self.default
        n, d = len(rows), self.default
        return [rows[a] if a < n else d for a in key]

    def __setitem__(self, key, value):
        rows = self._rows
        if isinstance(key, int):
            if key >= len(rows):
                rows.extend([self.default] * (key + 1 - len(rows)))
            rows[key] = value
            return
        key = list(key)
        values = list(value)
        if len(key) != len(values):
            raise ValueError(f"column {self.name!r}: {len(key)} ids but {len(values)} values")
        if key and max(key) >= len(rows):
            rows.extend([self.default] * (max(key) + 1 - len(rows)))
        for a, v in zip(key, values):
            rows[a] = v

    def extend_at(self, first: int, values: Iterable) -> None:
        """Write ``values`` to agents ``first, first+1, ...`` (used when agents are spawned)."""
        values = list(values)
        rows = self._rows
        if len(rows) < first:
            rows.extend([self.default] * (first - len(rows)))
        end = first + len(values)
        if len(rows) < end:
            rows.extend([self.default] * (end - len(rows)))
        rows[first:end] = values

    def free(self, ids: Iterable[int]) -> None:
        """Drop the values of finished agents so their memory can be reclaimed."""
        rows, n, d = self._rows, len(self._rows), self.default
        for a in ids:
            if a < n:
                rows[a] = d


class Payloads:
    """The declared columns of a swarm, keyed by agent id: ``data["url"][aid]``.

    Only names the spec declares exist; any other name raises :class:`UnknownColumn`, so a typo
    is an error instead of a column of None.
    """

    def __init__(self, names: Iterable[str]):
        self._cols: dict[str, Column] = {n: Column(n) for n in names}

    def __getitem__(self, name: str) -> Column:
        col = self._cols.get(name)
        if col is None:
            raise UnknownColumn(
                f"no payload column {name!r}; the spec declares {sorted(self._cols)} (declare "
                "columns with inputs= on the AgentSpec or reads=/writes= on states and actions)")
        return col

    def __contains__(self, name: str) -> bool:
        return name in self._cols

    def names(self) -> list[str]:
        return list(self._cols)
