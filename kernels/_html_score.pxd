# The HTML extractor's scoring: text and link density per block, summed up the container tree;
# the best container's good blocks are the main text.
from libc.stdint cimport int32_t, int64_t, uint8_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcmp

from kernels._html_bytes cimport is_space
from kernels._html_tables cimport (
    BAD_LINK_PCT, DECAY_DEN, DECAY_NUM, EDGE_CHARS, GOOD_CHARS, GRID, HEADING, LINK_PENALTY,
    NF_ARTICLE, NF_BODYPROP, NF_NEG, NF_POS, NF_SEMANTIC, NF_UNDER_NEG, NF_WEAK_NEG, RESCUE_CHARS,
    RESCUE_PCT, SAME_CLASS, SHORT_DEN, SHORT_NUM, SIB_MIN, SIB_PCT, T_P, TAG_FLAGS, UNDER_NEG_DIV,
)
from kernels._html_tree cimport Block, Ctx, Node


cdef inline bint link_dense(Block* b) noexcept nogil:
    return b.link_chars * 100 > b.chars * BAD_LINK_PCT


cdef inline int64_t block_value(Block* b) noexcept nogil:
    cdef int64_t v
    if b.iflags & HEADING:
        return 0
    if link_dense(b):
        return -b.chars
    if b.chars >= GOOD_CHARS and b.punct >= 1:
        v = b.chars - LINK_PENALTY * b.link_chars
        return v if v > 0 else 0
    return 0


cdef inline bint plain_text(Block* b) noexcept nogil:
    return (not (b.iflags & HEADING)) and b.chars >= EDGE_CHARS and b.link_chars == 0


cdef inline bint edge_ok(Block* b) noexcept nogil:
    # a shorter sentence may still open or close the kept text
    return plain_text(b) and b.punct >= 1


cdef inline int64_t node_mult(Node* nd) noexcept nogil:
    cdef int64_t m = 4
    if nd.flags & NF_POS:
        m += 1
    if nd.flags & NF_ARTICLE:
        m += 1
    if nd.flags & NF_BODYPROP:
        m += 2
    return m


cdef inline int64_t first_class(Ctx* c, Node* nd, int64_t* start) noexcept nogil:
    # The first name of a node's class attribute: its length, its offset in start[0].
    cdef int64_t k = nd.cls_off, end = nd.cls_off + nd.cls_len
    while k < end and is_space(c.s[k]):
        k += 1
    start[0] = k
    while k < end and not is_space(c.s[k]):
        k += 1
    return k - start[0]


cdef inline bint same_class(Ctx* c, int32_t i, int32_t j) noexcept nogil:
    # A container repeating the best one's tag and first class name (article bodies split in
    # chunks: "story-body story-body-2").
    cdef Node* a = &c.nodes[i]
    cdef Node* b = &c.nodes[j]
    cdef int64_t ao, bo, al, bl
    if a.tag != b.tag:
        return False
    bl = first_class(c, b, &bo)
    if bl == 0:
        return False
    al = first_class(c, a, &ao)
    return al == bl and memcmp(c.s + ao, c.s + bo, al) == 0


cdef inline int select(Ctx* c, uint8_t* keep) noexcept nogil:
    """Score the container tree and mark the blocks to emit in keep[]; return 1 if any."""
    cdef int32_t i, p, a, bp, best = -1, first = -1, last = -1
    cdef int64_t sib_min
    cdef int64_t v, eff, best_eff = 0
    cdef Node* nd
    cdef Block* b
    cdef uint8_t* state
    cdef bint trim = True
    for i in range(c.nb):
        b = &c.blocks[i]
        v = block_value(b)
        c.nodes[b.node].score += v
        c.nodes[b.node].total += b.chars
        if v > 0:
            c.nodes[b.node].good += v
        elif v == 0 and plain_text(b):
            c.nodes[b.node].plain += b.chars
    i = c.nn - 1
    while i >= 1:
        nd = &c.nodes[i]
        p = nd.parent
        if (nd.flags & NF_WEAK_NEG and nd.good >= RESCUE_CHARS
                and nd.good * 100 >= nd.total * RESCUE_PCT):
            nd.flags &= ~NF_NEG  # its text overrules a narrow hint verdict
        if nd.flags & NF_NEG:
            c.nodes[p].score -= nd.total // 2
        else:
            c.nodes[p].score += nd.score * DECAY_NUM // DECAY_DEN
            c.nodes[p].plain += nd.plain
            c.nodes[p].good += nd.good
        c.nodes[p].total += nd.total
        i -= 1
    for i in range(c.nn):
        nd = &c.nodes[i]
        if i > 0 and (c.nodes[nd.parent].flags & (NF_NEG | NF_UNDER_NEG)):
            nd.flags |= NF_UNDER_NEG
        if nd.flags & NF_NEG or nd.tag == T_P:
            continue  # a paragraph is content, never the container of it
        eff = (nd.score + nd.plain * SHORT_NUM // SHORT_DEN) * node_mult(nd)
        if nd.flags & NF_UNDER_NEG:
            eff = eff // UNDER_NEG_DIV
        if eff > best_eff:
            best_eff = eff
            best = i
    # A list or table part is never the article on its own: the element around it is.
    while (best > 0 and (TAG_FLAGS[c.nodes[best].tag] & GRID) and c.nodes[best].parent > 0
           and not (c.nodes[c.nodes[best].parent].flags & (NF_NEG | NF_UNDER_NEG))):
        best = c.nodes[best].parent
    if best > 0 and not (c.nodes[best].flags & NF_SEMANTIC):
        # The page's itemprop=articleBody holds the best container: the article is all of it.
        a = c.nodes[best].parent
        while a > 0:
            if ((c.nodes[a].flags & NF_BODYPROP)
                    and not (c.nodes[a].flags & (NF_NEG | NF_UNDER_NEG))):
                best = a
                break
            a = c.nodes[a].parent
    if best < 0:
        # Nothing scores: keep the page's largest article/main container, else all of it.
        best = 0
        trim = False
        v = 0
        for i in range(1, c.nn):
            nd = &c.nodes[i]
            if (nd.flags & NF_SEMANTIC and not (nd.flags & (NF_NEG | NF_UNDER_NEG))
                    and nd.total > v):
                best = i
                v = nd.total
    if c.nodes[best].flags & NF_SEMANTIC:
        trim = False  # the page marks this container as the article: headline, short lines too
    state = <uint8_t*>malloc(c.nn if c.nn > 0 else 1)
    if state == NULL:
        return -1
    bp = c.nodes[best].parent if best > 0 else -1
    sib_min = c.nodes[best].score * SIB_PCT // 100
    if sib_min < SIB_MIN:
        sib_min = SIB_MIN
    for i in range(c.nn):
        p = c.nodes[i].parent
        if i == best or (SIB_PCT > 0 and bp >= 0 and not (c.nodes[i].flags & NF_NEG)
                         and c.nodes[i].score >= sib_min
                         and (p == bp or (SAME_CLASS and not (c.nodes[i].flags & NF_UNDER_NEG)
                                          and same_class(c, i, best)))):
            state[i] = 1
        elif i == 0 or state[p] == 0:
            state[i] = 0
        elif state[p] == 2 or (c.nodes[i].flags & NF_NEG):
            state[i] = 2
        else:
            state[i] = 1
    for i in range(c.nb):
        b = &c.blocks[i]
        keep[i] = 0
        if state[b.node] != 1 or b.end <= b.start:
            continue
        if link_dense(b):
            continue
        keep[i] = 1
        if block_value(b) > 0 or edge_ok(b):
            if first < 0:
                first = i
            last = i
    free(state)
    if trim:
        for i in range(c.nb):
            if i < first or i > last:
                keep[i] = 0
    return 1
