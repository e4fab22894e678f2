"""Pure-Python twin of kernels/_html.pyx: the same HTML main-text extractor, output for output.

It follows the compiled kernel step by step on the same UTF-8 bytes and the same tables
(kernels/html_rules.py), using bulk bytes operations only where they provably give the same
result (finding '<', splitting on whitespace, counting characters at a block's end). The test
suite checks that both produce identical results on the benchmark pages and hostile inputs.

Its parts mirror the compiled kernel's .pxd files one for one: html_py_tables (the rules as the
twin uses them), html_py_bytes (byte classes, counting), html_py_entities (character
references), html_py_tree (stack, containers, blocks), html_py_tokenize (the scanner),
html_py_score (scoring and selection), html_py_links (URLs and links); this module runs them.
"""
from __future__ import annotations

from agentcore.kernels import html_rules as R
from agentcore.kernels.html_py_entities import decode_attr
from agentcore.kernels.html_py_links import links
from agentcore.kernels.html_py_score import block_value, select
from agentcore.kernels.html_py_tables import LIST_ITEM
from agentcore.kernels.html_py_tokenize import parse
from agentcore.kernels.html_py_tree import Ctx


def _run(data: bytes) -> Ctx:
    c = Ctx(data)
    parse(c)
    return c


def extract(data: bytes, base_url: bytes):
    """Extract (title, description, lang, text, links_internal, links_external) from UTF-8 HTML.

    Same contract as agentcore.kernels._html.extract: ``data`` and ``base_url`` are UTF-8 bytes.
    """
    if not isinstance(data, bytes):
        raise TypeError(f"data must be bytes, not {type(data).__name__}")
    if not isinstance(base_url, bytes):
        raise TypeError(f"base_url must be bytes, not {type(base_url).__name__}")
    c = _run(data)
    keep = select(c)
    parts = []
    prev = None
    tb = c.tb
    for k, b in zip(keep, c.blocks):
        if not k:
            continue
        if prev is not None:
            if prev[7] or (prev[1] & LIST_ITEM and b[1] & LIST_ITEM):
                parts.append(b"\n")
            else:
                parts.append(b"\n\n")
        parts.append(bytes(tb[b[2] : b[3]]))
        prev = b
    text = b"".join(parts).decode("utf-8", "replace")

    def attr(v):
        if v is None:
            return ""
        if isinstance(v, tuple):
            return decode_attr(data, v[0], v[1]).decode("utf-8", "replace")
        return decode_attr(v, 0, len(v)).decode("utf-8", "replace")

    internal, external = links(data, c.links, c.base, base_url)
    return attr(c.title), attr(c.desc), attr(c.lang), text, internal, external


def _debug(data: bytes, base_url: bytes):
    """Tuning aid mirroring agentcore.kernels._html._debug."""
    c = _run(data)
    keep = select(c)
    nodes = [(c.parent[i], R.TAGS[c.ntag[i]][0], c.nflags[i], c.score[i], c.total[i],
              data[c.src[i] : c.src[i] + 100]) for i in range(len(c.parent))]
    blocks = [(b[0], b[1], b[4], b[5], b[6], block_value(b), int(k),
               bytes(c.tb[b[2] : b[3]]).decode("utf-8", "replace")) for b, k in zip(c.blocks, keep)]
    return nodes, blocks
