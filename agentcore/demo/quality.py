"""How good the demo's answers are: category accuracy against the local web's ground truth, and the copy rate.

The local web knows where each site's text comes from: ``StdlibCorpus.site_label`` names the
standard-library package most of a site's prose was read from (``asyncio``, ``email``,
``test.test_socket``, ...). :data:`MODULE_CATEGORY` maps those packages to the demo's categories
(``demo.toml``), one table, following the chapters of the Python Library Reference where they
fit a category ("Internet Protocols" -> web or networking, "Data Compression and Archiving" and
"File Formats" -> data formats, "Debugging and Profiling", "Software Packaging" and "Python
Language Services" -> developer tools, ...). Two rules cover what the table does not name:

- a site of the test suite (``test.test_X``, ``test.Xtester``) is about both testing and X:
  either ``testing`` or X's category is right;
- a package the table does not know is *unmapped*: left out of the accuracy and counted apart,
  rather than scored against a guess.

The copy rate is the share of answers whose summary repeats a sentence or placeholder of the
system prompt (:meth:`agentcore.crawl.task.LLMTask.copies_prompt`); the goal is 0.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping

__all__ = ["MODULE_CATEGORY", "Score", "accepted_categories", "majority_baseline", "score_answers",
           "site_truth"]

_N, _W, _T, _D = "networking", "web", "text", "data formats"
_Q, _C, _F, _M = "testing", "concurrency", "files and os", "math"
_S, _V, _O = "security", "developer tools", "other"

#: standard-library package (top level, or test.<name> for the test suite) -> demo category
MODULE_CATEGORY: dict[str, str] = {
    # Internet protocols and networking
    **dict.fromkeys(["socket", "socketserver", "select", "selectors", "ftplib", "poplib", "imaplib",
                     "smtplib", "smtpd", "nntplib", "telnetlib", "ipaddress", "asynchat",
                     "asyncore", "netrc"], _N),
    **dict.fromkeys(["http", "urllib", "wsgiref", "cgi", "cgitb", "webbrowser", "html", "xmlrpc",
                     "httplib", "urllib2", "urlparse", "http_cookiejar", "robotparser",
                     "httpservers"], _W),
    # text processing, internationalisation
    **dict.fromkeys(["string", "re", "re_tests", "difflib", "textwrap", "unicodedata",
                     "stringprep", "readline", "rlcompleter", "gettext", "locale", "shlex",
                     "_strptime", "unicode", "fstring", "format", "strtod", "codecs",
                     "codeccallbacks", "str", "unicode_identifiers"], _T),
    # data formats: Internet data handling, persistence, archives, file formats, markup, media
    **dict.fromkeys(["json", "email", "mailbox", "mimetypes", "base64", "binascii", "quopri",
                     "uu", "pickle", "pickletools", "pickletester", "copyreg", "shelve",
                     "marshal", "dbm", "sqlite3", "zlib", "gzip", "bz2", "lzma", "zipfile",
                     "tarfile", "zipimport", "csv", "configparser", "tomllib", "plistlib", "xml",
                     "xml_etree", "struct", "wave", "aifc", "sunau", "chunk", "audioop", "imghdr",
                     "sndhdr", "colorsys", "xdrlib", "bytes", "buffer", "uuid"], _D),
    # testing
    **dict.fromkeys(["unittest", "doctest", "support", "libregrtest", "regrtest", "test",
                     "tests"], _Q),
    # concurrency
    **dict.fromkeys(["asyncio", "threading", "_thread", "multiprocessing", "_test_multiprocessing",
                     "concurrent", "subprocess", "sched", "queue", "contextvars", "coroutines",
                     "_xxsubinterpreters", "test__xxsubinterpreters", "xxsubinterpreters"], _C),
    # files and the operating system
    **dict.fromkeys(["os", "posix", "ntpath", "posixpath", "pathlib", "shutil", "tempfile",
                     "glob", "fnmatch", "filecmp", "fileinput", "stat", "linecache", "io",
                     "_pyio", "time", "platform", "errno", "signal", "mmap", "getpass", "pty",
                     "tty", "termios", "fcntl", "resource", "grp", "pwd", "curses", "ctypes",
                     "_osx_support", "_aix_support", "sys", "faulthandler", "getpath"], _F),
    # numbers
    **dict.fromkeys(["math", "cmath", "decimal", "_pydecimal", "fractions", "numbers", "random",
                     "statistics", "float", "long", "int", "complex"], _M),
    # security
    **dict.fromkeys(["ssl", "hashlib", "hmac", "secrets", "crypt"], _S),
    # developer tools: language services, debugging and profiling, packaging, importing
    **dict.fromkeys(["typing", "pydoc", "pydoc_data", "lib2to3", "idlelib", "ast", "symtable",
                     "token", "tokenize", "keyword", "tabnanny", "pyclbr", "py_compile",
                     "compileall", "dis", "code", "codeop", "bdb", "pdb", "profile", "cProfile",
                     "pstats", "timeit", "trace", "tracemalloc", "distutils", "ensurepip", "venv",
                     "zipapp", "importlib", "pkgutil", "modulefinder", "runpy", "imp", "import",
                     "site", "sysconfig", "inspect", "traceback", "warnings", "gc", "argparse",
                     "optparse", "getopt", "logging", "compile", "grammar", "syntax", "capi",
                     "clinic", "peg_generator", "gdb", "sys_settrace", "cmd_line_script",
                     "tools", "type_comments", "pep646_syntax", "patma", "scope", "descr",
                     "descrtut", "metaclass", "extcall", "generators", "genexps", "listcomps",
                     "setcomps", "unpack_ex", "exceptions", "dataclasses", "cmd", "atexit",
                     "builtins", "__future__"], _V),
    # everything else: data types, functional tools, GUI, program frameworks
    **dict.fromkeys(["collections", "_collections_abc", "abc", "heapq", "bisect", "array",
                     "weakref", "types", "copy", "pprint", "reprlib", "enum", "graphlib",
                     "datetime", "datetimetester", "zoneinfo", "calendar", "functools",
                     "itertools", "operator", "contextlib", "tkinter", "turtle", "turtledemo"],
                    _O),
}


def accepted_categories(label: str) -> frozenset[str]:
    """The categories right for a site whose text comes mostly from package ``label``
    (empty when the table does not know it)."""
    parts = label.split(".")
    if parts[0] == "test" and len(parts) > 1:
        name = parts[1]
        own = MODULE_CATEGORY.get(name) or MODULE_CATEGORY.get(name.removeprefix("test_"))
        return frozenset({_Q} | ({own} if own else set()))
    own = MODULE_CATEGORY.get(parts[0])
    return frozenset({own}) if own else frozenset()


def site_truth(n_sites: int, corpus_root: str | None = None) -> dict[str, frozenset[str]]:
    """{host: accepted categories} for the local web of ``n_sites`` sites (its text does not
    depend on the web's seed: site i always reads slice i of the standard library)."""
    from agentcore.web.corpus import StdlibCorpus
    from agentcore.web.truth import WebTruth

    corpus = StdlibCorpus(n_sites, root=corpus_root)
    hosts = WebTruth(n_sites, (1, 1), 0, hostile=False).hosts
    return {h: accepted_categories(corpus.site_label(i)) for i, h in enumerate(hosts)}


@dataclass
class Score:
    """Accuracy of the answered sites the table maps, the copy rate of all answers."""

    answers: int = 0
    scored: int = 0  # answers of sites whose package the table maps
    correct: int = 0
    copies: int = 0  # summaries repeating instruction text
    unmapped: int = 0
    confusions: dict[tuple[str, str], int] = field(default_factory=dict)  # (truth, answer) -> n

    @property
    def accuracy(self) -> float:
        return self.correct / self.scored if self.scored else 0.0

    @property
    def copy_rate(self) -> float:
        return self.copies / self.answers if self.answers else 0.0

    def line(self) -> str:
        return (f"category accuracy {self.accuracy:.1%} ({self.correct}/{self.scored} sites"
                f"{f', {self.unmapped} unmapped' if self.unmapped else ''}), copy rate "
                f"{self.copy_rate:.1%} ({self.copies}/{self.answers} summaries repeat the prompt)")


def score_answers(rows: Iterable, truth: Mapping[str, frozenset[str]], task) -> Score:
    """Score LLM result rows (``host``, ``category``, ``summary``) against ``truth``
    (:func:`site_truth`); ``task`` (an LLMTask) decides what counts as copied prompt text."""
    s = Score()
    for r in rows:
        s.answers += 1
        s.copies += bool(task.copies_prompt(r.summary))
        want = truth.get(r.host, frozenset())
        if not want:
            s.unmapped += 1
            continue
        s.scored += 1
        if r.category in want:
            s.correct += 1
        else:
            key = (min(want - {_Q}, default=_Q), r.category)
            s.confusions[key] = s.confusions.get(key, 0) + 1
    return s


def majority_baseline(truth: Mapping[str, frozenset[str]]) -> float:
    """The accuracy of always answering the one category right for the most mapped sites: the
    floor a useful answer must beat."""
    mapped = [v for v in truth.values() if v]
    if not mapped:
        return 0.0
    counts: dict[str, int] = {}
    for v in mapped:
        for c in v:
            counts[c] = counts.get(c, 0) + 1
    return max(counts.values()) / len(mapped)
