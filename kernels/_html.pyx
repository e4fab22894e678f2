"""Compiled HTML main-text extractor: one nogil pass over UTF-8 bytes (public API: agentcore.kernels.html).

The work happens in four stages inside one ``with nogil:`` block, each linear in the input:
tokenize the HTML into an element stack, a container tree (block-level elements only) and text
blocks; score every container by the text density, link density and class/id hints of the
blocks under it; keep the good blocks of the best container (all of it, boilerplate subtrees
aside, when the page marks it as the article: <article>, <main>, role=main, itemprop=articleBody);
resolve and split the links.
kernels/html_py.py is the line-by-line pure-Python twin; both read kernels/html_rules.py.

The stages live in .pxd files of inline nogil functions, cimported here (compile time only: they
all compile into this one module, so no call crosses a module boundary):
_html_tables (the rules as C globals), _html_bytes (byte classes, buffers), _html_entities
(character references), _html_tree (stack, containers, blocks), _html_tokenize (the scanner),
_html_score (scoring and selection), _html_links (URLs and links).
"""
from libc.stdint cimport int32_t, int64_t, uint8_t
from libc.stdlib cimport free, malloc
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.unicode cimport PyUnicode_DecodeUTF8
from posix.time cimport clock_gettime, timespec, CLOCK_THREAD_CPUTIME_ID

from kernels._html_bytes cimport Buf, buf_add, buf_byte, buf_init
from kernels._html_entities cimport decode_attr
from kernels._html_links cimport links
from kernels._html_score cimport block_value, select
cimport kernels._html_tables as tables
from kernels._html_tables cimport (
    BLOCK, CLOSES_P, GRID, HEADING, INHERITED, LINK, LIST_ITEM, NEG, NF_ARTICLE, NF_BODYPROP, NF_NEG,
    NF_POS, NF_SEMANTIC, NF_UNDER_NEG, NF_WEAK_NEG, POS, PRE, RAW, SKIP, TABLE_CELL, VOID, init_tables,
)
from kernels._html_tokenize cimport parse
from kernels._html_tree cimport Block, Ctx, ctx_alloc, ctx_init, free_ctx

from agentcore.kernels import html_rules as R

init_tables()


cdef int run(Ctx* c, const uint8_t* given, int64_t gn, Buf* text, Buf* title, Buf* desc,
             Buf* lang, Buf* internal, Buf* external) noexcept nogil:
    """Parse, score, then write the kept blocks, the metadata and the links; -1 if out of memory."""
    cdef int64_t i
    cdef uint8_t* keep = NULL
    cdef Block* b
    cdef Block* prev = NULL
    if ctx_alloc(c) < 0:
        return -1
    parse(c)
    if c.oom:
        return -1
    keep = <uint8_t*>malloc(c.nb + 1)
    if keep == NULL:
        return -1
    if select(c, keep) < 0:
        free(keep)
        return -1
    for i in range(c.nb):
        if not keep[i]:
            continue
        b = &c.blocks[i]
        if prev != NULL:
            if prev.brk or ((prev.iflags & LIST_ITEM) and (b.iflags & LIST_ITEM)):
                buf_byte(text, 10)
            else:
                buf_add(text, <const uint8_t*>b"\n\n", 2)
        buf_add(text, c.tb.p + b.start, b.end - b.start)
        prev = b
    free(keep)
    if c.title_len >= 0:
        decode_attr(c.s, c.title_off, c.title_len, title)
    if c.desc_len >= 0:
        decode_attr(c.s, c.desc_off, c.desc_len, desc)
    if c.lang_len >= 0:
        decode_attr(c.s, c.lang_off, c.lang_len, lang)
    if links(c, given, gn, internal, external) < 0:
        return -1
    return 0


cdef str buf_str(Buf* b):
    if b.n == 0:
        return ""
    return PyUnicode_DecodeUTF8(<const char*>b.p, b.n, "replace")


cdef list buf_lines(Buf* b):
    if b.n == 0:
        return []
    return PyUnicode_DecodeUTF8(<const char*>b.p, b.n, "replace").split("\n")


cdef inline int64_t cpu_ns() noexcept nogil:
    cdef timespec ts
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return <int64_t>ts.tv_sec * 1000000000 + ts.tv_nsec


cdef tuple _extract(bytes data, bytes base_url, int64_t* nogil_ns):
    cdef Ctx c
    cdef Buf text, title, desc, lang, internal, external
    cdef int rc
    cdef int64_t t0 = 0
    cdef const uint8_t* given = <const uint8_t*>PyBytes_AS_STRING(base_url)
    cdef int64_t gn = PyBytes_GET_SIZE(base_url)
    ctx_init(&c, <const uint8_t*>PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data))
    buf_init(&text); buf_init(&title); buf_init(&desc); buf_init(&lang)
    buf_init(&internal); buf_init(&external)
    try:
        with nogil:
            if nogil_ns != NULL:
                t0 = cpu_ns()
            rc = run(&c, given, gn, &text, &title, &desc, &lang, &internal, &external)
            free_ctx(&c)  # here, not after: the GIL-held part of a call stays small
            if nogil_ns != NULL:
                nogil_ns[0] = cpu_ns() - t0
        if rc < 0:
            raise MemoryError(f"out of memory extracting a {c.n}-byte page")
        return (buf_str(&title), buf_str(&desc), buf_str(&lang), buf_str(&text),
                buf_lines(&internal), buf_lines(&external))
    finally:
        free_ctx(&c)
        free(text.p); free(title.p); free(desc.p); free(lang.p); free(internal.p); free(external.p)


def extract(bytes data not None, bytes base_url not None):
    """Extract (title, description, lang, text, links_internal, links_external) from UTF-8 HTML.

    ``data`` is the page as UTF-8 bytes (invalid sequences become U+FFFD in the output) and
    ``base_url`` the page's URL as UTF-8 bytes (b"" if unknown: relative links are dropped).
    The public wrapper agentcore.kernels.html.extract decodes other charsets and validates arguments.
    """
    return _extract(data, base_url, NULL)


def extract_timed(bytes data not None, bytes base_url not None):
    """Bench aid: (extract's result, CPU nanoseconds this thread spent with the GIL released)."""
    cdef int64_t ns = 0
    r = _extract(data, base_url, &ns)
    return r, ns


def _set(name, value):
    """Tuning aid: override one scoring constant of html_rules in this process (not thread-safe;
    the pure twin does not follow, so twin-equality tests fail while a value is overridden)."""
    if name == "UNDER_NEG_DIV": tables.UNDER_NEG_DIV = value
    if name == "BAD_LINK_PCT": tables.BAD_LINK_PCT = value
    if name == "GOOD_CHARS": tables.GOOD_CHARS = value
    if name == "LINK_PENALTY": tables.LINK_PENALTY = value
    if name == "EDGE_CHARS": tables.EDGE_CHARS = value
    if name == "DECAY_NUM": tables.DECAY_NUM = value
    if name == "DECAY_DEN": tables.DECAY_DEN = value
    if name == "SIB_PCT": tables.SIB_PCT = value
    if name == "SIB_MIN": tables.SIB_MIN = value
    if name == "SAME_CLASS": tables.SAME_CLASS = value


def flag_values():
    """Test aid: the flag values this module computes with, by name (they must equal
    html_rules.FLAGS, which they are copied from)."""
    return dict(
        BLOCK=BLOCK, VOID=VOID, RAW=RAW, SKIP=SKIP, NEG=NEG, POS=POS, HEADING=HEADING,
        LIST_ITEM=LIST_ITEM, PRE=PRE, CLOSES_P=CLOSES_P, LINK=LINK, TABLE_CELL=TABLE_CELL, GRID=GRID,
        INHERITED=INHERITED, NF_NEG=NF_NEG, NF_POS=NF_POS, NF_ARTICLE=NF_ARTICLE,
        NF_BODYPROP=NF_BODYPROP, NF_UNDER_NEG=NF_UNDER_NEG, NF_WEAK_NEG=NF_WEAK_NEG,
        NF_SEMANTIC=NF_SEMANTIC,
    )


def _debug(bytes data not None, bytes base_url not None):
    """Tuning aid: (nodes, blocks) after scoring; nodes as (parent, tag, flags, score, total),
    blocks as (node, iflags, chars, link_chars, punct, value, kept, text)."""
    cdef Ctx c
    cdef uint8_t* keep
    cdef int32_t i
    cdef Block* b
    ctx_init(&c, <const uint8_t*>PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data))
    if ctx_alloc(&c) < 0:
        free_ctx(&c)
        raise MemoryError(f"out of memory parsing a {c.n}-byte page")
    parse(&c)
    keep = <uint8_t*>malloc(c.nb + 1)
    select(&c, keep)
    nodes = [(c.nodes[i].parent, R.TAGS[c.nodes[i].tag][0], c.nodes[i].flags, c.nodes[i].score,
              c.nodes[i].total, data[c.nodes[i].src:c.nodes[i].src + 100]) for i in range(c.nn)]
    blocks = []
    for i in range(c.nb):
        b = &c.blocks[i]
        blocks.append((b.node, b.iflags, b.chars, b.link_chars, b.punct, block_value(b), keep[i],
                       (<bytes>(c.tb.p + b.start)[:b.end - b.start]).decode("utf-8", "replace")))
    free(keep)
    free_ctx(&c)
    return nodes, blocks
