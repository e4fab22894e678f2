"""Real offline text for the local web: prose from the Python standard library, read as files."""

from __future__ import annotations

import ast
import bisect
import os
import re
import sysconfig
from dataclasses import dataclass
from functools import lru_cache

# Folders with no prose worth serving, or with vendored copies of other packages.
_SKIP_DIRS = ("site-packages", "__pycache__", "dist-packages", "config-3", "idle_test", "data")
# Codec tables and entity maps are big files with almost no prose.
_SKIP_FILES = re.compile(r"^encodings/(?!__init__)|^html/entities\.py$|/tests?/data/")

# A minimal Python lexer in one regex pass: triple-quoted strings and comment blocks are kept,
# one-line strings are matched only to be skipped (so a '#' inside a string is never taken for
# a comment), and def/class headers name what follows. One C-level finditer costs about 0.6 s
# for the whole stdlib, against 1.5 s for a Python loop over the tokens.
_TOKENS = re.compile(
    r'"""(.*?)"""'
    r"|'{3}(.*?)'{3}"
    r'|"[^"\\\n]*(?:\\.[^"\\\n]*)*"'
    r"|'[^'\\\n]*(?:\\.[^'\\\n]*)*'"
    r"|#([^\n]*(?:\n[ \t]*#[^\n]*)*)"
    r"|\n[ \t]*(?:async[ \t]+)?(?:def|class)[ \t]+(\w+)",
    re.S,
)
_CODE_CHARS = re.compile(r"[(){}\[\]=<>_\\|]")

_NON_LETTER_BYTES = bytes(c for c in range(256) if not chr(c).isascii() or not chr(c).isalpha())
_BORING_WORDS = ("copyright", "license", "licence", "all rights reserved", "-*-", "noqa",
                 "type: ignore", "type:ignore", "pragma")
_BORING_STARTS = ("!", "xxx", "todo", "fixme")
_SHELL_LINE = re.compile(r"(?m)^[ \t]*(?:\.\.\.|\$ |%)")
_PARA_BREAK = re.compile(r"\n\s*\n")
_SECTION = re.compile(r"\n([^\n]+)\n[*=\-~^]{4,}\n")


@dataclass(frozen=True, slots=True)
class Unit:
    """One piece of prose from a source file: a docstring or a comment block, with a title."""

    title: str
    paragraphs: tuple[str, ...]

    @property
    def chars(self) -> int:
        return sum(len(p) for p in self.paragraphs)


@dataclass(frozen=True, slots=True)
class Article:
    """An article-sized chunk of real prose: a title, its paragraphs and the module it came from."""

    title: str
    paragraphs: tuple[str, ...]
    source: str

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)


def stdlib_root() -> str:
    """The running interpreter's standard library folder: present offline on any machine."""
    return sysconfig.get_paths()["stdlib"]


def module_name(relpath: str) -> str:
    mod = relpath[:-3].replace(os.sep, ".")
    return mod[: -len(".__init__")] if mod.endswith(".__init__") else mod


def estimated_prose(source: bytes) -> int:
    """A cheap estimate of a file's prose: bytes inside triple quotes plus 40 per '#'.

    Plain C-level searches cost about 0.15 s for the whole stdlib, against about 1.5 s for a
    lexing pass, and come close enough to balance the text between sites.
    """
    inside = 0
    for quote in (b'"""', b"'''"):
        pos = source.find(quote)
        while pos >= 0:
            close = source.find(quote, pos + 3)
            if close < 0:
                break
            inside += close - pos - 3
            pos = source.find(quote, close + 3)
    return inside + 40 * source.count(b"#")


def list_sources(root: str) -> list[tuple[str, int]]:
    """Every prose-bearing .py file under root as (relative path, estimated prose), sorted so
    that neighbours share a package and therefore a topic."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(
            d for d in dirnames if d == "pydoc_data" or not d.startswith(_SKIP_DIRS)
        )
        for fn in filenames:
            if not fn.endswith(".py"):
                continue
            full = os.path.join(dirpath, fn)
            rel = os.path.relpath(full, root)
            if _SKIP_FILES.search(rel.replace(os.sep, "/")):
                continue
            try:
                with open(full, "rb") as f:
                    weight = estimated_prose(f.read())
            except OSError:
                continue
            if weight >= 200:
                out.append((rel, weight))
    out.sort()
    return out


def _prose(text: str) -> list[str]:
    """Split raw docstring or comment text into paragraphs of running prose, dropping code."""
    if len(text) < 40:
        return []
    paras = []
    for block in _PARA_BREAK.split(text):
        if len(block) < 40 or ">>>" in block or _SHELL_LINE.search(block):
            continue
        para = " ".join(block.split())
        if len(para) < 40 or para.count(" ") < 5:
            continue
        low = para.lower()
        if any(w in low for w in _BORING_WORDS) or low.startswith(_BORING_STARTS):
            continue
        letters = len(para.encode("ascii", "ignore").translate(None, _NON_LETTER_BYTES))
        if letters < 0.65 * len(para):
            continue
        # Code that slipped through has many brackets and operators per word.
        if len(_CODE_CHARS.findall(para)) > len(para) / 25:
            continue
        paras.append(para)
    return paras


def _topics_units(source: str) -> list[Unit]:
    """pydoc's topic texts (the language reference), one unit per section."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    units = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Dict):
            continue
        for key, value in zip(node.keys, node.values):
            if not (isinstance(key, ast.Constant) and isinstance(value, ast.Constant)):
                continue
            if not isinstance(value.value, str):
                continue
            # Sphinx's text output underlines headings with a row of *, =, - or ~.
            parts = _SECTION.split("\n" + value.value)
            heading = str(key.value)
            for i, chunk in enumerate(parts):
                if i % 2:
                    heading = chunk.strip().strip('"')
                    continue
                paras = _prose(chunk)
                if paras:
                    units.append(Unit(heading, tuple(paras)))
    return units


def extract_units(root: str, relpath: str) -> list[Unit]:
    """The prose units of one source file, in file order. The file is read, never imported."""
    try:
        with open(os.path.join(root, relpath), "rb") as f:
            source = f.read().decode("utf-8", "replace")
    except OSError:
        return []
    mod = module_name(relpath)
    if mod.endswith("pydoc_data.topics"):
        return _topics_units(source)
    units: list[Unit] = []
    name = ""
    for m in _TOKENS.finditer(source):
        kind = m.lastindex
        if kind is None:  # a one-line string: skipped
            continue
        if kind == 4:
            name = m.group(4)
            continue
        raw = m.group(kind)
        if kind == 3:
            raw = "\n".join(ln.strip().lstrip("#") for ln in raw.splitlines())
        paras = _prose(raw)
        if paras:
            units.append(Unit(f"{name} ({mod})" if name else mod, tuple(paras)))
    return units


@lru_cache(maxsize=64)
def _file_units(root: str, relpath: str) -> tuple[Unit, ...]:
    # A big file feeds several neighbouring sites; caching spares lexing it once per site.
    return tuple(extract_units(root, relpath))


class StdlibCorpus:
    """A compact index of the stdlib's files, cut into per-site shares of about equal prose.

    Building it lists files with a cheap prose estimate (about 0.1 s); a site's text is lexed
    and split into articles only when that site is first asked for.

    >>> corpus = StdlibCorpus(n_sites=500)
    >>> [a.title for a in corpus.articles(site=42, n=3)]        # doctest: +SKIP
    ['as_completed (concurrent.futures._base)', ...]
    """

    def __init__(self, n_sites: int, root: str | None = None, n_slices: int | None = None):
        if n_sites < 1:
            raise ValueError(f"n_sites must be >= 1, got {n_sites}")
        # The text is cut into at least 500 slices whatever the number of sites, so a small
        # web reads only its sites' slices (spread over the library), not the whole stdlib.
        self.n_slices = max(n_sites, n_slices or 500)
        self.root = root or stdlib_root()
        self.files = list_sources(self.root)
        if not self.files:
            raise FileNotFoundError(
                f"no Python sources with prose under {self.root}; pass root= a folder of .py files"
            )
        self.n_sites = n_sites
        total = sum(w for _, w in self.files)
        # Cumulative prose fraction where each file starts; site k owns [k/n, (k+1)/n).
        self._starts: list[float] = []
        acc = 0
        for _, w in self.files:
            self._starts.append(acc / total)
            acc += w
        self._ends = self._starts[1:] + [1.0]
        self._weights = dict(self.files)

    def site_slices(self, site: int) -> list[tuple[str, float, float]]:
        """(file, from, to): the fraction range of each file that site `site` owns."""
        k = site * self.n_slices // self.n_sites
        lo, hi = k / self.n_slices, (k + 1) / self.n_slices
        out = []
        i = max(0, bisect.bisect_right(self._starts, lo) - 1)
        while i < len(self.files) and self._starts[i] < hi:
            a, b = self._starts[i], self._ends[i]
            if b > lo and b > a:
                f0, f1 = max(0.0, (lo - a) / (b - a)), min(1.0, (hi - a) / (b - a))
                out.append((self.files[i][0], f0, f1))
            i += 1
        return out

    def site_paragraphs(self, site: int) -> list[tuple[str, str]]:
        """(title, paragraph) pairs of a site's share.

        Cut at paragraph granularity rather than per docstring, so one long text (a pydoc
        topic) can feed several sites without any of them coming out empty.
        """
        out: list[tuple[str, str]] = []
        for path, f0, f1 in self.site_slices(site):
            units = _file_units(self.root, path)
            total = sum(u.chars for u in units) or 1
            acc = 0
            for u in units:
                for p in u.paragraphs:
                    mid = (acc + len(p) / 2) / total
                    acc += len(p)
                    if f0 <= mid < f1:
                        out.append((u.title, p))
        return out

    def site_label(self, site: int) -> str:
        """A human name for a site's topic: the package most of its text comes from."""
        weights = self._weights
        by_package: dict[str, float] = {}
        for path, f0, f1 in self.site_slices(site):
            parts = module_name(path).split(".")
            package = ".".join(parts[:2]) if parts[0] == "test" and len(parts) > 1 else parts[0]
            by_package[package] = by_package.get(package, 0.0) + (f1 - f0) * weights[path]
        return max(by_package, key=by_package.__getitem__) if by_package else "notes"

    def articles(self, site: int, n: int) -> list[Article]:
        """Exactly n articles for a site: consecutive paragraphs cut into about equal lengths."""
        if n < 1:
            return []
        flat = self.site_paragraphs(site)
        source = self.site_label(site)
        k = 1
        while len(flat) < n and k < self.n_sites:
            # A share too thin for n pages borrows the next site's text rather than serving
            # empty pages (rare: the cut is balanced by estimated prose).
            flat = flat + self.site_paragraphs((site + k) % self.n_sites)
            k += 1
        if not flat:
            flat = [(source, f"This page belongs to the {source} notes.")]
        if len(flat) < n:
            flat = [flat[i % len(flat)] for i in range(n)]
        # Cut where the running length crosses k/n of the total, each article at least one
        # paragraph long.
        total = sum(len(p) for _, p in flat)
        cuts = [0]
        acc = 0
        for i, (_, p) in enumerate(flat):
            if len(cuts) < n and i > cuts[-1] and acc + len(p) / 2 >= len(cuts) * total / n:
                cuts.append(i)
            acc += len(p)
        while len(cuts) < n:
            # Long paragraphs at the end swallowed some cut points: halve the longest span.
            bounds = cuts + [len(flat)]
            spans = [bounds[j + 1] - bounds[j] for j in range(len(cuts))]
            j = max(range(len(spans)), key=spans.__getitem__)
            cuts.insert(j + 1, cuts[j] + spans[j] // 2)
        cuts.append(len(flat))
        return [
            Article(flat[cuts[j]][0], tuple(p for _, p in flat[cuts[j] : cuts[j + 1]]), source)
            for j in range(n)
        ]
