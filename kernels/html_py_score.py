"""Pure twin, scoring: block and container scores, and which blocks to keep (_html_score.pxd)."""
from __future__ import annotations

import re

from agentcore.kernels import html_rules as R
from agentcore.kernels.html_py_bytes import SPACE, cdiv
from agentcore.kernels.html_py_tables import (
    GRID, HEADING, NF_ARTICLE, NF_BODYPROP, NF_NEG, NF_POS, NF_SEMANTIC, NF_UNDER_NEG, NF_WEAK_NEG,
    T_P, TAG_FLAGS,
)
from agentcore.kernels.html_py_tree import Ctx

_TOKEN = re.compile(rb"[^ \t\n\r\f]*")


# -- scoring and selection ---------------------------------------------------------------

def select(c: Ctx) -> list[bool]:
    """Score the container tree; return which blocks to emit."""
    parent, nflags, blocks = c.parent, c.nflags, c.blocks
    ncls, ntag = c.ncls, c.ntag
    nn = len(parent)
    score = [0] * nn
    total = [0] * nn
    plain = [0] * nn
    good = [0] * nn
    for b in blocks:
        v = block_value(b)
        score[b[0]] += v
        total[b[0]] += b[4]
        if v > 0:
            good[b[0]] += v
        if v == 0 and plain_text(b):
            plain[b[0]] += b[4]
    for i in range(nn - 1, 0, -1):
        p = parent[i]
        if (nflags[i] & NF_WEAK_NEG and good[i] >= R.RESCUE_CHARS
                and good[i] * 100 >= total[i] * R.RESCUE_PCT):
            nflags[i] &= ~NF_NEG  # its text overrules a narrow hint verdict
        if nflags[i] & NF_NEG:
            score[p] -= total[i] // 2
        else:
            score[p] += cdiv(score[i] * R.DECAY_NUM, R.DECAY_DEN)
            plain[p] += plain[i]
            good[p] += good[i]
        total[p] += total[i]
    best, best_eff = -1, 0
    for i in range(nn):
        f = nflags[i]
        if i > 0 and nflags[parent[i]] & (NF_NEG | NF_UNDER_NEG):
            f |= NF_UNDER_NEG
            nflags[i] = f
        if f & NF_NEG or ntag[i] == T_P:
            continue  # a paragraph is content, never the container of it
        mult = 4 + (1 if f & NF_POS else 0) + (1 if f & NF_ARTICLE else 0) + (
            2 if f & NF_BODYPROP else 0)
        eff = (score[i] + plain[i] * R.SHORT_NUM // R.SHORT_DEN) * mult
        if f & NF_UNDER_NEG:
            eff = cdiv(eff, R.UNDER_NEG_DIV)
        if eff > best_eff:
            best_eff, best = eff, i
    # A list or table part is never the article on its own: the element around it is.
    while (best > 0 and TAG_FLAGS[ntag[best]] & GRID and parent[best] > 0
           and not nflags[parent[best]] & (NF_NEG | NF_UNDER_NEG)):
        best = parent[best]
    if best > 0 and not nflags[best] & NF_SEMANTIC:
        # The page's itemprop=articleBody holds the best container: the article is all of it.
        a = parent[best]
        while a > 0:
            if nflags[a] & NF_BODYPROP and not nflags[a] & (NF_NEG | NF_UNDER_NEG):
                best = a
                break
            a = parent[a]
    trim = True
    if best < 0:
        # Nothing scores: keep the page's largest article/main container, else all of it.
        best, trim = 0, False
        most = 0
        for i in range(1, nn):
            if (nflags[i] & NF_SEMANTIC and not nflags[i] & (NF_NEG | NF_UNDER_NEG)
                    and total[i] > most):
                best, most = i, total[i]
    if nflags[best] & NF_SEMANTIC:
        trim = False  # the page marks this container as the article: headline, short lines too
    state = [0] * nn
    bp = parent[best] if best > 0 else -1
    best_cls = first_class(ncls[best])
    sib_min = max(cdiv(score[best] * R.SIB_PCT, 100), R.SIB_MIN)
    for i in range(nn):
        p = parent[i]
        if i == best or (R.SIB_PCT > 0 and bp >= 0 and not nflags[i] & NF_NEG
                         and score[i] >= sib_min
                         and (p == bp or (not nflags[i] & NF_UNDER_NEG
                                          and ntag[i] == ntag[best] and best_cls
                                          and first_class(ncls[i]) == best_cls))):
            state[i] = 1
        elif i == 0 or state[p] == 0:
            state[i] = 0
        elif state[p] == 2 or nflags[i] & NF_NEG:
            state[i] = 2
        else:
            state[i] = 1
    keep = [False] * len(blocks)
    first = last = -1
    for i, b in enumerate(blocks):
        if state[b[0]] != 1 or b[3] <= b[2] or link_dense(b):
            continue
        keep[i] = True
        if block_value(b) > 0 or edge_ok(b):
            if first < 0:
                first = i
            last = i
    if trim:
        for i in range(len(blocks)):
            if i < first or i > last:
                keep[i] = False
    c.score, c.total = score, total  # for _debug
    return keep


def first_class(value: bytes | None) -> bytes:
    """The first name of a class attribute value (b"" if none)."""
    if not value:
        return b""
    return _TOKEN.match(value.lstrip(SPACE)).group()


def link_dense(b: list[int]) -> bool:
    return b[5] * 100 > b[4] * R.BAD_LINK_PCT


def plain_text(b: list[int]) -> bool:
    return not (b[1] & HEADING) and b[4] >= R.EDGE_CHARS and b[5] == 0


def edge_ok(b: list[int]) -> bool:
    return plain_text(b) and b[6] >= 1


def block_value(b: list[int]) -> int:
    if b[1] & HEADING:
        return 0
    if link_dense(b):
        return -b[4]
    if b[4] >= R.GOOD_CHARS and b[6] >= 1:
        v = b[4] - R.LINK_PENALTY * b[5]
        return v if v > 0 else 0
    return 0
