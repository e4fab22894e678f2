# The HTML extractor's document model: the element stack, the container tree and the text blocks.
#
# Only block-level elements become containers (Node); text goes into blocks (Block) that each
# belong to the container open around them. The tokenizer (_html_tokenize.pxd) drives this.
from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memset

from kernels._html_bytes cimport Buf, buf_reserve, is_space
from kernels._html_entities cimport decode_ref
from kernels._html_tables cimport (
    BLOCK, CLOSE_SEARCH, CLOSES_P, LINK, MAX_BLOCKS, MAX_DEPTH, PRE, SKIP, TAG_FLAGS, T_DD, T_DL,
    T_DT, T_LI, T_MENU, T_OL, T_OPTION, T_P, T_TABLE, T_TBODY, T_TD, T_TH, T_THEAD, T_TR, T_UL,
)


cdef struct Node:  # a container: a block-level element and the scores of the text under it
    int64_t src  # offset of the start tag (tuning aid)
    int64_t cls_off  # class attribute value (-1 length: none)
    int64_t cls_len
    int32_t parent
    int32_t tag
    uint32_t flags
    int64_t score
    int64_t total
    int64_t plain  # chars of link-free text blocks too plain to score (see SHORT_NUM)
    int64_t good  # positive block values under it, boilerplate children aside (see RESCUE_CHARS)

cdef struct Block:  # a run of text between block boundaries, in Ctx.tb[start:end]
    int32_t node
    uint32_t iflags
    int64_t start
    int64_t end
    int64_t chars
    int64_t link_chars
    int64_t punct
    int32_t brk

cdef struct Entry:  # an open element on the stack
    uint32_t key
    int32_t tag
    int32_t node
    uint32_t iflags


cdef struct Ctx:  # one page's parse: input, stack, containers, blocks, recorded hrefs
    const uint8_t* s
    int64_t n
    Node* nodes
    int32_t nn
    int32_t ncap
    Block* blocks
    int32_t nb
    int32_t bcap
    Entry* stack
    int32_t depth
    Buf tb
    int32_t cur
    int pending_space
    int64_t* link_off
    int64_t* link_len
    int32_t nlinks
    int32_t lcap
    int64_t base_off
    int64_t base_len
    int64_t title_off
    int64_t title_len
    int64_t desc_off
    int64_t desc_len
    int desc_prio
    int64_t lang_off
    int64_t lang_len
    int oom
    int seen_root


cdef inline uint32_t top_iflags(Ctx* c) noexcept nogil:
    if c.depth == 0:
        return 0
    return c.stack[c.depth - 1].iflags


cdef inline int32_t top_node(Ctx* c) noexcept nogil:
    if c.depth == 0:
        return 0
    return c.stack[c.depth - 1].node


cdef inline void end_block(Ctx* c, int brk) noexcept nogil:
    cdef Block* b
    if c.cur >= 0:
        b = &c.blocks[c.cur]
        while c.tb.n > b.start and (c.tb.p[c.tb.n - 1] == 32 or c.tb.p[c.tb.n - 1] == 10):
            c.tb.n -= 1
        b.end = c.tb.n
        b.brk = brk
        c.cur = -1
    c.pending_space = 0


cdef inline void pop_to(Ctx* c, int32_t k) noexcept nogil:
    """Pop stack entries k.. (k is an index into the stack)."""
    cdef bint boundary = False
    while c.depth > k:
        c.depth -= 1
        if TAG_FLAGS[c.stack[c.depth].tag] & BLOCK or TAG_FLAGS[c.stack[c.depth].tag] & SKIP:
            boundary = True
    if boundary:
        end_block(c, 0)


cdef inline int32_t find_open(Ctx* c, uint32_t key, int32_t stop1, int32_t stop2,
                              int32_t stop3) noexcept nogil:
    """Stack index of the nearest open element with this key, not past a stop tag; -1 if none."""
    cdef int32_t k = c.depth - 1
    cdef int32_t lim = c.depth - CLOSE_SEARCH
    cdef int32_t t
    while k >= 0 and k >= lim:
        if c.stack[k].key == key:
            return k
        t = c.stack[k].tag
        if t != 0 and (t == stop1 or t == stop2 or t == stop3):
            return -1
        k -= 1
    return -1


cdef inline void implicit_close(Ctx* c, int32_t tag) noexcept nogil:
    cdef uint32_t f = TAG_FLAGS[tag]
    cdef int32_t k
    if tag == T_LI:
        k = find_open(c, T_LI, T_UL, T_OL, T_MENU)
        if k >= 0:
            pop_to(c, k)
    elif tag == T_DT or tag == T_DD:
        k = find_open(c, T_DT, T_DL, T_DL, T_DL)
        if k >= 0:
            pop_to(c, k)
        k = find_open(c, T_DD, T_DL, T_DL, T_DL)
        if k >= 0:
            pop_to(c, k)
    elif tag == T_TD or tag == T_TH:
        k = find_open(c, T_TD, T_TR, T_TABLE, T_TABLE)
        if k >= 0:
            pop_to(c, k)
        k = find_open(c, T_TH, T_TR, T_TABLE, T_TABLE)
        if k >= 0:
            pop_to(c, k)
    elif tag == T_TR:
        k = find_open(c, T_TR, T_TABLE, T_TBODY, T_THEAD)
        if k >= 0:
            pop_to(c, k)
    elif tag == T_OPTION:
        if c.depth > 0 and c.stack[c.depth - 1].tag == T_OPTION:
            pop_to(c, c.depth - 1)
    if f & CLOSES_P:
        # An open <p> ends at a block start, found through inline elements only.
        k = c.depth - 1
        while k >= 0 and k >= c.depth - 8:
            if c.stack[k].tag == T_P:
                pop_to(c, k)
                break
            if c.stack[k].tag == 0 or TAG_FLAGS[c.stack[k].tag] & BLOCK:
                break
            k -= 1


cdef inline bint cjk_punct(const uint8_t* p) noexcept nogil:
    # 、。 and fullwidth ，！？ : sentence punctuation of CJK text
    if p[0] == 0xE3 and p[1] == 0x80:
        return p[2] == 0x81 or p[2] == 0x82
    if p[0] == 0xEF and p[1] == 0xBC:
        return p[2] == 0x8C or p[2] == 0x81 or p[2] == 0x9F
    return False


cdef inline int open_block(Ctx* c) noexcept nogil:
    cdef Block* b
    cdef Block* nb
    if c.nb >= MAX_BLOCKS:
        return 0
    if c.nb >= c.bcap:
        nb = <Block*>realloc(c.blocks, 2 * c.bcap * sizeof(Block))
        if nb == NULL:
            c.oom = 1
            return 0
        c.blocks = nb
        c.bcap *= 2
    b = &c.blocks[c.nb]
    b.node = top_node(c)
    b.iflags = top_iflags(c)
    b.start = c.tb.n
    b.end = c.tb.n
    b.chars = 0
    b.link_chars = 0
    b.punct = 0
    b.brk = 0
    c.cur = c.nb
    c.nb += 1
    return 1


cdef inline void add_text(Ctx* c, int64_t i, int64_t end) noexcept nogil:
    """Append raw text s[i:end] to the current block: references decoded, whitespace collapsed."""
    cdef uint32_t fl = top_iflags(c)
    cdef uint8_t tmp[40]
    cdef int tl = 0, k
    cdef uint8_t ch
    cdef Block* b
    cdef bint pre = (fl & PRE) != 0
    if fl & SKIP:
        return
    if buf_reserve(&c.tb, end - i + 2) < 0:
        c.oom = 1
        return
    while i < end:
        ch = c.s[i]
        if ch == 38:
            i = decode_ref(c.s, i, end, False, tmp, &tl)
        else:
            tmp[0] = ch
            tl = 1
            i += 1
        for k in range(tl):
            ch = tmp[k]
            if ch == 0:
                continue
            if is_space(ch):
                if c.cur >= 0:
                    if pre:
                        if ch != 13:
                            c.tb.p[c.tb.n] = 10 if ch == 10 else 32
                            c.tb.n += 1
                    else:
                        c.pending_space = 1
                continue
            if c.cur < 0:
                if not open_block(c):
                    return
            b = &c.blocks[c.cur]
            if c.pending_space:
                c.tb.p[c.tb.n] = 32
                c.tb.n += 1
                c.pending_space = 0
            c.tb.p[c.tb.n] = ch
            c.tb.n += 1
            if (ch & 0xC0) != 0x80:
                b.chars += 1
                if fl & LINK:
                    b.link_chars += 1
                if ch == 46 or ch == 44 or ch == 33 or ch == 63 or ch == 59:
                    b.punct += 1
            elif c.tb.n - 3 >= b.start and cjk_punct(c.tb.p + c.tb.n - 3):
                b.punct += 1


cdef inline int grow_links(Ctx* c) noexcept nogil:
    cdef int64_t* off = <int64_t*>realloc(c.link_off, 2 * c.lcap * sizeof(int64_t))
    cdef int64_t* ln
    if off == NULL:
        c.oom = 1
        return -1
    c.link_off = off
    ln = <int64_t*>realloc(c.link_len, 2 * c.lcap * sizeof(int64_t))
    if ln == NULL:
        c.oom = 1
        return -1
    c.link_len = ln
    c.lcap *= 2
    return 0


cdef inline void free_ctx(Ctx* c) noexcept nogil:
    free(c.nodes); free(c.blocks); free(c.stack); free(c.link_off); free(c.link_len)
    free(c.tb.p)
    c.nodes = NULL; c.blocks = NULL; c.stack = NULL; c.link_off = NULL; c.link_len = NULL
    c.tb.p = NULL


cdef inline void ctx_init(Ctx* c, const uint8_t* s, int64_t n) noexcept nogil:
    """Start a parse of s[:n]: nothing allocated yet, no title, <base>, description or lang."""
    memset(c, 0, sizeof(Ctx))
    c.s = s
    c.n = n
    c.cur = -1
    c.base_len = -1
    c.title_len = -1
    c.desc_len = -1
    c.lang_len = -1


cdef inline int ctx_alloc(Ctx* c) noexcept nogil:
    """Allocate the first arrays and the root container; -1 if out of memory (free_ctx frees)."""
    c.ncap = 256
    c.bcap = 256
    c.nodes = <Node*>malloc(c.ncap * sizeof(Node))
    c.blocks = <Block*>malloc(c.bcap * sizeof(Block))
    c.stack = <Entry*>malloc((MAX_DEPTH + 1) * sizeof(Entry))
    c.lcap = 64
    c.link_off = <int64_t*>malloc(c.lcap * sizeof(int64_t))
    c.link_len = <int64_t*>malloc(c.lcap * sizeof(int64_t))
    if (c.nodes == NULL or c.blocks == NULL or c.stack == NULL or c.link_off == NULL
            or c.link_len == NULL):
        return -1
    c.nodes[0].src = 0
    c.nodes[0].cls_off = 0
    c.nodes[0].cls_len = -1
    c.nodes[0].parent = -1
    c.nodes[0].tag = 0
    c.nodes[0].flags = 0
    c.nodes[0].score = 0
    c.nodes[0].total = 0
    c.nodes[0].plain = 0
    c.nodes[0].good = 0
    c.nn = 1
    return 0
