"""Main text, title, description, language and links of HTML pages, one page or a batch on threads.

The compiled kernel (kernels/_html.pyx) does all of a page's work with the GIL released, so
:func:`extract_many` runs pages in parallel on a small thread pool; the pure-Python twin
(kernels/html_py.py, selected by ``AGENTCORE_NO_EXTENSIONS=1``) gives identical results.

>>> page = b'''<html lang="en"><head><title>Hi</title></head><body>
... <nav><a href="/">Home</a></nav><article><p>The first paragraph, which is long enough to count.</p>
... <p>The second one, also a full sentence of text.</p><a href="https://other.org/x">elsewhere</a>
... </article></body></html>'''
>>> r = extract(page, "https://example.com/post/1")
>>> r.title, r.lang, r.links_internal, r.links_external
('Hi', 'en', ['https://example.com/'], ['https://other.org/x'])
>>> print(r.text)
The first paragraph, which is long enough to count.
<BLANKLINE>
The second one, also a full sentence of text.
"""
from __future__ import annotations

from typing import NamedTuple, Sequence

from agentcore.kernels import pick
from agentcore.kernels.decode import decode_html, sniff_charset, to_utf8
from agentcore.kernels.pool import map_threads

_impl = pick("agentcore.kernels._html", "agentcore.kernels.html_py")

__all__ = ["Extracted", "EMPTY", "extract", "extract_many", "prepare", "decode_html",
           "sniff_charset", "IMPLEMENTATION"]

IMPLEMENTATION = _impl.__name__


class Extracted(NamedTuple):
    """What :func:`extract` finds in a page.

    ``text`` is the main content with blocks separated by blank lines (list items by single
    newlines); ``lang`` is the ``<html lang>`` hint as written; links are absolute http(s) URLs
    without fragments, de-duplicated in page order, split by whether their host is the page's
    site (same host, ``www.`` aside, or a subdomain either way) or another one.
    """

    title: str
    description: str
    lang: str
    text: str
    links_internal: list[str]
    links_external: list[str]


EMPTY = Extracted("", "", "", "", [], [])

# Content types that are certainly not HTML or text; anything else is given a try.
_NOT_HTML = ("image/", "audio/", "video/", "font/", "application/pdf", "application/zip",
             "application/gzip", "application/octet-stream", "application/x-")
_BINARY_MAGIC = (b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"%PDF", b"PK\x03\x04", b"\x1f\x8b",
                 b"RIFF", b"\x00\x00\x01\x00", b"OggS", b"fLaC", b"ID3", b"wOFF", b"wOF2")
_CONTROL = bytes(range(0, 9)) + bytes(range(14, 32))


def _looks_binary(data: bytes) -> bool:
    """True for images, archives and other non-text payloads (magic numbers, control bytes)."""
    if data[:64].lstrip()[:1] == b"<":
        return False  # the common case, decided without scanning
    if data.startswith(_BINARY_MAGIC):
        return True
    head = data[:1024]
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):  # UTF-16 text has many NULs
        return False
    return len(head) - len(head.translate(None, _CONTROL)) > len(head) // 10


def _check(html, base_url, content_type) -> None:
    """Raise TypeError for arguments of the wrong type (cheap: no work on the page)."""
    if not isinstance(html, (str, bytes, bytearray, memoryview)):
        raise TypeError(
            f"extract() needs the page as bytes or str, got {type(html).__name__}")
    if base_url is not None and not isinstance(base_url, str):
        raise TypeError(f"base_url must be a str (the page's URL) or None, got "
                        f"{type(base_url).__name__}")
    if content_type is not None and not isinstance(content_type, str):
        raise TypeError(f"content_type must be a str (the HTTP Content-Type header) or None, "
                        f"got {type(content_type).__name__}")


def _prepare(html, base_url, content_type):
    """Checked arguments to kernel input: (UTF-8 bytes, or None for an empty result; URL bytes)."""
    url = (base_url or "").encode("utf-8", "surrogatepass")
    if isinstance(html, str):
        return (html.encode("utf-8", "surrogatepass") or None), url
    data = html if isinstance(html, bytes) else bytes(html)
    if not data:
        return None, url
    if content_type and content_type.strip().lower().startswith(_NOT_HTML):
        return None, url
    if _looks_binary(data):
        return None, url
    return to_utf8(data, content_type), url


def prepare(html, base_url: str | None = "", content_type: str | None = None
            ) -> tuple[bytes | None, bytes]:
    """What :func:`extract` hands the kernel: (the page as UTF-8 bytes, or None where the result
    is empty: empty, binary or non-HTML input; ``base_url`` as UTF-8 bytes).

    For code that runs one twin directly (``twin("html", impl).extract(*prepare(...))`` where the
    page is not None), such as the benches; the arguments are checked as :func:`extract` does.
    """
    _check(html, base_url, content_type)
    return _prepare(html, base_url, content_type)


def extract(html, base_url: str | None = "", content_type: str | None = None) -> Extracted:
    """Extract main text, title, description, language and links from one HTML page.

    Parameters
    ----------
    html : bytes, bytearray, memoryview or str
        The page. Bytes are decoded by BOM, ``content_type``'s charset, ``<meta>`` or UTF-8
        (bad bytes become U+FFFD).
    base_url : str, optional
        The page's URL; relative links resolve against it (and ``<base href>``). Without it,
        only absolute links are returned, all as external.
    content_type : str, optional
        The HTTP Content-Type header. Non-HTML types (images, PDF, ...) give an empty result.

    Returns
    -------
    Extracted
        Empty fields (never an exception) for empty, binary or non-HTML input.
    """
    _check(html, base_url, content_type)
    data, url = _prepare(html, base_url, content_type)
    if data is None:
        return EMPTY._replace(links_internal=[], links_external=[])
    return Extracted(*_impl.extract(data, url))


def extract_many(docs: Sequence, base_urls: Sequence | None = None, *, threads: int = 2,
                 content_types: Sequence | None = None, executor=None) -> list[Extracted]:
    """:func:`extract` for many pages, spread over ``threads`` threads (the GIL is released).

    ``base_urls`` and ``content_types``, when given, are parallel to ``docs``. Results come
    back in input order. Pages are handed out one at a time, so a few large pages do not
    leave a thread idle. Arguments are all checked before any work starts. ``threads=1`` runs
    in the calling thread; otherwise the work goes to ``executor`` (e.g. the swarm's kernel
    pool, so that one CPU budget covers everything) or to the shared pool of that size
    (:func:`agentcore.kernels.pool.shared_pool`).
    Do not pass the executor this call itself runs on: its workers would wait for themselves.
    """
    if isinstance(docs, (str, bytes, bytearray, memoryview)) or not isinstance(docs, Sequence):
        raise TypeError(f"docs must be a list or tuple of pages, got {type(docs).__name__}")
    n = len(docs)
    for name, seq in (("base_urls", base_urls), ("content_types", content_types)):
        if seq is None:
            continue
        if isinstance(seq, (str, bytes)) or not isinstance(seq, Sequence):
            raise TypeError(f"{name} must be a list parallel to docs or None, got "
                            f"{type(seq).__name__}")
        if len(seq) != n:
            raise ValueError(f"{name} has {len(seq)} entries for {n} docs; pass one per doc")
    if not isinstance(threads, int) or isinstance(threads, bool) or threads < 1:
        raise TypeError(f"threads must be a positive int, got {threads!r}")
    urls = base_urls if base_urls is not None else [""] * n
    types = content_types if content_types is not None else [None] * n
    for i in range(n):
        _check(docs[i], urls[i], types[i])
    out: list = [None] * n
    impl = _impl
    order = iter(range(n))  # shared: next() on a range iterator is atomic under the GIL

    def work() -> None:
        # Decoding runs here, not up front, so it overlaps the other threads' nogil work.
        for i in order:
            data, url = _prepare(docs[i], urls[i], types[i])
            if data is None:
                out[i] = EMPTY._replace(links_internal=[], links_external=[])
            else:
                out[i] = Extracted(*impl.extract(data, url))

    threads = min(threads, n)
    if threads <= 1:
        work()
    else:
        # `threads` workers drain the one page queue: `threads` tasks per call, not one per page.
        map_threads(lambda _: work(), range(threads), threads, executor)
    return out
