"""Library entry for page extraction: main text, title, description, language and links.

Thin re-export of :mod:`agentcore.kernels.html` (compiled nogil kernel, pure-Python twin under
``AGENTCORE_NO_EXTENSIONS=1``) so library users import from the agentcore package::

    from agentcore.extract import extract, extract_many
    r = extract(page_bytes, "https://example.com/post")      # -> Extracted(title, ..., text, ...)
    rs = extract_many(pages, urls, threads=2)                 # GIL released per page
"""
from agentcore.kernels.html import EMPTY, Extracted, decode_html, extract, extract_many, sniff_charset

__all__ = ["EMPTY", "Extracted", "decode_html", "extract", "extract_many", "sniff_charset"]
