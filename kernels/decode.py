"""Decode fetched page bytes to text: charset from BOM, HTTP header or <meta>, else UTF-8.

The order follows the HTML standard's encoding sniffing: a byte-order mark wins, then the
charset of the HTTP Content-Type header, then a <meta charset> or http-equiv Content-Type in
the first 4 KB, then UTF-8. Labels map to Python codecs the way browsers read them (latin-1 and
ascii mean windows-1252, gb2312 means gb18030, ...). Undecodable bytes become U+FFFD: nothing
here raises on bad input, and nothing guesses a second encoding when a declared one does not fit
(a page whose header says UTF-8 over latin-1 bytes shows U+FFFD, in browsers too). This is the
one page decoder: the extractor, the crawler's ``FetchResult.text()`` and library users share it. Pure Python on purpose: sniffing reads at most 4 KB with one regex and
the transcoding itself is CPython's C codecs.

>>> decode_html(b'<meta charset="iso-8859-1"><p>caf\\xe9</p>')
'<meta charset="iso-8859-1"><p>café</p>'
>>> sniff_charset(b"<p>x</p>", "text/html; charset=Shift_JIS")
'cp932'
"""
from __future__ import annotations

import codecs
import re

PRESCAN_BYTES = 4096

_CHARSET_VALUE = re.compile(rb"charset[ \t\n\r\f]*=[ \t\n\r\f]*[\"']?[ \t\n\r\f]*([a-z0-9_.:\-]+)")
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:\-]+)", re.I)

# WHATWG encoding labels whose browser meaning differs from Python's codec of the same name.
_ALIASES = {
    "iso-8859-1": "cp1252", "iso8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252",
    "l1": "cp1252", "ascii": "cp1252", "us-ascii": "cp1252", "iso_8859-1": "cp1252",
    "windows-1252": "cp1252", "x-cp1252": "cp1252", "cp819": "cp1252", "ibm819": "cp1252",
    "iso-8859-9": "cp1254", "latin5": "cp1254", "iso-8859-11": "cp874", "tis-620": "cp874",
    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "gb_2312-80": "gb18030",
    "chinese": "gb18030", "csgb2312": "gb18030", "euc-cn": "gb18030",
    "shift_jis": "cp932", "shift-jis": "cp932", "sjis": "cp932", "x-sjis": "cp932",
    "ms_kanji": "cp932", "windows-31j": "cp932", "csshiftjis": "cp932",
    "euc-kr": "cp949", "ks_c_5601-1987": "cp949", "korean": "cp949", "windows-949": "cp949",
    "big5": "big5hkscs", "x-x-big5": "big5hkscs",
    "utf8": "utf-8", "unicode-1-1-utf-8": "utf-8", "x-unicode20utf8": "utf-8",
}


def codec_for(label: str | bytes | None) -> str | None:
    """Python codec name for a charset label, or None if the label is unknown or unusable."""
    if label is None:
        return None
    if isinstance(label, bytes):
        label = label.decode("ascii", "replace")
    label = label.strip().strip("\"'").lower()
    if not label:
        return None
    name = _ALIASES.get(label, label)
    try:
        info = codecs.lookup(name)
    except LookupError:
        return None
    # A page cannot declare UTF-16 from inside itself (the standard reads that as UTF-8), and
    # codecs such as rot13 or base64 are not text encodings of HTML.
    if not getattr(info, "_is_text_encoding", True):
        return None
    return info.name


def sniff_charset(data: bytes, content_type: str | None = None) -> str:
    """Python codec name for page bytes: BOM, then the header's charset, then <meta>, then UTF-8."""
    if data[:3] == b"\xef\xbb\xbf":
        return "utf-8"
    if data[:2] == b"\xff\xfe":
        return "utf-16-le"
    if data[:2] == b"\xfe\xff":
        return "utf-16-be"
    if content_type:
        m = _HEADER_CHARSET.search(content_type)
        if m:
            codec = codec_for(m.group(1))
            if codec is not None:
                return codec
    label = meta_charset(data)
    if label is not None:
        codec = codec_for(label)
        if codec is not None:
            return "utf-8" if codec.startswith("utf-16") else codec
    return "utf-8"


def meta_charset(data: bytes) -> bytes | None:
    """The charset label of the first <meta> in the first 4 KB that declares one, if any.

    Covers both ``<meta charset=...>`` and ``<meta http-equiv=Content-Type content="...;
    charset=...">``. Finds "charset" first (one C-speed scan) and only then looks back for
    the <meta it belongs to, so pages without a declaration cost almost nothing.
    """
    # Most pages write "charset" and "<meta" in lower case: try them as they are (no copy)
    # before lowering a copy of the head.
    i = data.find(b"charset", 0, PRESCAN_BYTES)
    if i >= 0:
        start = data.rfind(b"<meta", 0, i)
        if start >= 0 and data.find(b">", start, i) < 0:
            m = _CHARSET_VALUE.match(data[i : i + 64].lower())
            if m:
                return m.group(1)
    head = data[:PRESCAN_BYTES].lower()
    i = head.find(b"charset")
    while i >= 0:
        start = head.rfind(b"<meta", 0, i)
        if start >= 0 and head.find(b">", start, i) < 0:
            m = _CHARSET_VALUE.match(head, i)
            if m:
                return m.group(1)
        i = head.find(b"charset", i + 7)
    return None


def decode_html(data: bytes | bytearray | memoryview, content_type: str | None = None) -> str:
    """Decode page bytes to str (see the module docstring); never raises on bad bytes."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"decode_html() needs bytes, got {type(data).__name__}")
    if content_type is not None and not isinstance(content_type, str):
        raise TypeError(f"content_type must be a str or None, got {type(content_type).__name__}")
    data = bytes(data)
    codec = sniff_charset(data, content_type)
    if codec == "utf-8" and data[:3] == b"\xef\xbb\xbf":
        data = data[3:]
    elif codec.startswith("utf-16") and data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        data = data[2:]
    return data.decode(codec, "replace")


def to_utf8(data: bytes, content_type: str | None = None) -> bytes:
    """Page bytes as UTF-8 for the extractor: UTF-8 input passes through without a copy.

    Invalid UTF-8 is left in place (the extractor replaces it when it builds its strings).
    """
    codec = sniff_charset(data, content_type)
    if codec == "utf-8":
        return data[3:] if data[:3] == b"\xef\xbb\xbf" else data
    return decode_html(data, content_type).encode("utf-8", "surrogatepass")
