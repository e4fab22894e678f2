# The HTML extractor's rules in C: flag bits as constants, tables as globals filled at import.
#
# kernels/html_rules.py is the only definition of every value here. The flag bits come from
# build/generated/_html_flags.pxi, which setup.py writes from html_rules.FLAGS at every build
# (constants, so the compiler folds them: read from globals they cost a few percent of speed);
# tests/test_html.py checks the built module's flags against html_rules.FLAGS. The tables are
# copied by init_tables() when _html is imported. They are declared in verbatim C (static, so
# they live in the one module that cimports this file, _html.pyx): a Cython variable declared in
# a .pxd would instead be looked up at run time in a module of this name, which does not exist.
from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t
from libc.stdlib cimport malloc
from libc.string cimport memcpy
from cpython.bytes cimport PyBytes_AS_STRING

cdef extern from *:
    """
    #define AGC_HTML_TAG_SLOTS 512
    #define AGC_HTML_SYMBOLS 37
    static int agc_MAX_DEPTH, agc_CLOSE_SEARCH, agc_MAX_NODES, agc_MAX_BLOCKS, agc_MAX_LINKS,
        agc_MAX_TAG_NAME;
    static int agc_NTAGS;
    static uint32_t agc_TAG_FLAGS[256];
    static uint8_t agc_TAG_NAME[256][16];
    static int agc_TAG_LEN[256];
    static int agc_TAG_SLOT[AGC_HTML_TAG_SLOTS];
    static int agc_T_HTML, agc_T_BODY, agc_T_HEAD, agc_T_TITLE, agc_T_META, agc_T_BASE, agc_T_A,
        agc_T_BR, agc_T_P, agc_T_LI, agc_T_UL, agc_T_OL, agc_T_DL, agc_T_DT, agc_T_DD, agc_T_TD,
        agc_T_TH, agc_T_TR, agc_T_TABLE, agc_T_THEAD, agc_T_TBODY, agc_T_TFOOT, agc_T_MENU,
        agc_T_OPTION, agc_T_SELECT, agc_T_PLAINTEXT;
    static int32_t* agc_HINT_GOTO;
    static uint32_t* agc_HINT_OUT;
    static int agc_HINT_W[32];
    static int agc_NHINT_GROUPS;
    static uint8_t agc_SYM[256];
    static int agc_NENT;
    static uint8_t** agc_ENT_NAME;
    static int* agc_ENT_NLEN;
    static uint8_t** agc_ENT_VAL;
    static int* agc_ENT_VLEN;
    static uint32_t agc_CP1252[32];
    static int64_t agc_BAD_LINK_PCT, agc_GOOD_CHARS, agc_LINK_PENALTY, agc_EDGE_CHARS,
        agc_DECAY_NUM, agc_DECAY_DEN, agc_SIB_PCT, agc_SIB_MIN, agc_SAME_CLASS, agc_SHORT_NUM,
        agc_SHORT_DEN, agc_UNDER_NEG_DIV, agc_WEAK_NEG_MARGIN, agc_RESCUE_CHARS, agc_RESCUE_PCT;
    """
    enum:
        TAG_SLOTS "AGC_HTML_TAG_SLOTS"  # open-addressing table size for tag names
        SYMBOLS "AGC_HTML_SYMBOLS"  # hint-automaton alphabet (html_rules.SYMBOLS, checked)

    # limits
    int MAX_DEPTH "agc_MAX_DEPTH"
    int CLOSE_SEARCH "agc_CLOSE_SEARCH"
    int MAX_NODES "agc_MAX_NODES"
    int MAX_BLOCKS "agc_MAX_BLOCKS"
    int MAX_LINKS "agc_MAX_LINKS"
    int MAX_TAG_NAME "agc_MAX_TAG_NAME"

    # tags: flags, lowercase names, and ids by fnv32(name) in TAG_SLOT (-1: free slot)
    int NTAGS "agc_NTAGS"
    uint32_t TAG_FLAGS "agc_TAG_FLAGS"[256]
    uint8_t TAG_NAME "agc_TAG_NAME"[256][16]
    int TAG_LEN "agc_TAG_LEN"[256]
    int TAG_SLOT "agc_TAG_SLOT"[TAG_SLOTS]
    int T_HTML "agc_T_HTML"
    int T_BODY "agc_T_BODY"
    int T_HEAD "agc_T_HEAD"
    int T_TITLE "agc_T_TITLE"
    int T_META "agc_T_META"
    int T_BASE "agc_T_BASE"
    int T_A "agc_T_A"
    int T_BR "agc_T_BR"
    int T_P "agc_T_P"
    int T_LI "agc_T_LI"
    int T_UL "agc_T_UL"
    int T_OL "agc_T_OL"
    int T_DL "agc_T_DL"
    int T_DT "agc_T_DT"
    int T_DD "agc_T_DD"
    int T_TD "agc_T_TD"
    int T_TH "agc_T_TH"
    int T_TR "agc_T_TR"
    int T_TABLE "agc_T_TABLE"
    int T_THEAD "agc_T_THEAD"
    int T_TBODY "agc_T_TBODY"
    int T_TFOOT "agc_T_TFOOT"
    int T_MENU "agc_T_MENU"
    int T_OPTION "agc_T_OPTION"
    int T_SELECT "agc_T_SELECT"
    int T_PLAINTEXT "agc_T_PLAINTEXT"

    # class/id hints: Aho-Corasick goto table (states x SYMBOLS), output groups, group weights
    int32_t* HINT_GOTO "agc_HINT_GOTO"
    uint32_t* HINT_OUT "agc_HINT_OUT"
    int HINT_W "agc_HINT_W"[32]
    int NHINT_GROUPS "agc_NHINT_GROUPS"
    uint8_t SYM "agc_SYM"[256]

    # named character references, sorted by name; windows-1252 for &#128; .. &#159;
    int NENT "agc_NENT"
    uint8_t** ENT_NAME "agc_ENT_NAME"
    int* ENT_NLEN "agc_ENT_NLEN"
    uint8_t** ENT_VAL "agc_ENT_VAL"
    int* ENT_VLEN "agc_ENT_VLEN"
    uint32_t CP1252 "agc_CP1252"[32]

    # scoring (the tuning aid _html._set overrides these in one process)
    int64_t BAD_LINK_PCT "agc_BAD_LINK_PCT"
    int64_t GOOD_CHARS "agc_GOOD_CHARS"
    int64_t LINK_PENALTY "agc_LINK_PENALTY"
    int64_t EDGE_CHARS "agc_EDGE_CHARS"
    int64_t DECAY_NUM "agc_DECAY_NUM"
    int64_t DECAY_DEN "agc_DECAY_DEN"
    int64_t SIB_PCT "agc_SIB_PCT"
    int64_t SIB_MIN "agc_SIB_MIN"
    int64_t SAME_CLASS "agc_SAME_CLASS"  # tuning switch; the twin always applies it
    int64_t SHORT_NUM "agc_SHORT_NUM"
    int64_t SHORT_DEN "agc_SHORT_DEN"
    int64_t UNDER_NEG_DIV "agc_UNDER_NEG_DIV"
    int64_t WEAK_NEG_MARGIN "agc_WEAK_NEG_MARGIN"
    int64_t RESCUE_CHARS "agc_RESCUE_CHARS"
    int64_t RESCUE_PCT "agc_RESCUE_PCT"


# Tag flags (BLOCK, VOID, ..., INHERITED) and container flags (NF_NEG, ...): html_rules.FLAGS.
include "_html_flags.pxi"


cdef inline uint32_t fnv32(const uint8_t* p, int n) noexcept nogil:
    cdef uint32_t h = 2166136261u
    cdef int i
    for i in range(n):
        h = (h ^ p[i]) * 16777619u
    return h


cdef inline int init_tables() except -1:
    """Copy the tables of html_rules into the C globals above (once, at import of _html)."""
    global MAX_DEPTH, CLOSE_SEARCH, MAX_NODES, MAX_BLOCKS, MAX_LINKS, MAX_TAG_NAME, NTAGS
    global T_HTML, T_BODY, T_HEAD, T_TITLE, T_META, T_BASE, T_A, T_BR, T_P, T_LI, T_UL, T_OL
    global T_DL, T_DT, T_DD, T_TD, T_TH, T_TR, T_TABLE, T_THEAD, T_TBODY, T_TFOOT, T_MENU
    global T_OPTION, T_SELECT, T_PLAINTEXT
    global HINT_GOTO, HINT_OUT, NHINT_GROUPS, NENT, ENT_NAME, ENT_NLEN, ENT_VAL, ENT_VLEN
    global BAD_LINK_PCT, GOOD_CHARS, LINK_PENALTY, EDGE_CHARS, DECAY_NUM, DECAY_DEN, SIB_PCT
    global SIB_MIN, SAME_CLASS, SHORT_NUM, SHORT_DEN, UNDER_NEG_DIV, WEAK_NEG_MARGIN
    global RESCUE_CHARS, RESCUE_PCT
    from agentcore.kernels import html_rules as R
    cdef int i, j, slot
    cdef bytes b

    MAX_DEPTH, CLOSE_SEARCH, MAX_NODES = R.MAX_DEPTH, R.CLOSE_SEARCH, R.MAX_NODES
    MAX_BLOCKS, MAX_LINKS, MAX_TAG_NAME = R.MAX_BLOCKS, R.MAX_LINKS, R.MAX_TAG_NAME

    NTAGS = len(R.TAGS)
    assert NTAGS < 256
    for i in range(TAG_SLOTS):
        TAG_SLOT[i] = -1
    for i, (name, flags) in enumerate(R.TAGS):
        TAG_FLAGS[i] = flags
        b = name.encode()
        TAG_LEN[i] = len(b)
        for j in range(len(b)):
            TAG_NAME[i][j] = b[j]
        if i == 0:
            continue
        slot = fnv32(<const uint8_t*>PyBytes_AS_STRING(b), len(b)) % TAG_SLOTS
        while TAG_SLOT[slot] >= 0:
            slot = (slot + 1) % TAG_SLOTS
        TAG_SLOT[slot] = i
    T = R.TAG_ID
    T_HTML, T_BODY, T_HEAD, T_TITLE = T["html"], T["body"], T["head"], T["title"]
    T_META, T_BASE, T_A, T_BR, T_P = T["meta"], T["base"], T["a"], T["br"], T["p"]
    T_LI, T_UL, T_OL, T_DL, T_DT, T_DD = T["li"], T["ul"], T["ol"], T["dl"], T["dt"], T["dd"]
    T_TD, T_TH, T_TR, T_TABLE = T["td"], T["th"], T["tr"], T["table"]
    T_THEAD, T_TBODY, T_TFOOT, T_MENU = T["thead"], T["tbody"], T["tfoot"], T["menu"]
    T_OPTION, T_SELECT, T_PLAINTEXT = T["option"], T["select"], T["plaintext"]

    assert R.SYMBOLS == SYMBOLS, "html_rules.SYMBOLS changed: update AGC_HTML_SYMBOLS"
    goto, out = R.build_hint_automaton()
    HINT_GOTO = <int32_t*>malloc(len(goto) * sizeof(int32_t))
    HINT_OUT = <uint32_t*>malloc(len(out) * sizeof(uint32_t))
    assert len(R.HINT_WEIGHTS) <= 32
    NHINT_GROUPS = len(R.HINT_WEIGHTS)
    for i in range(NHINT_GROUPS):
        HINT_W[i] = R.HINT_WEIGHTS[i]
    if HINT_GOTO == NULL or HINT_OUT == NULL:
        raise MemoryError("cannot allocate the hint automaton")
    for i in range(len(goto)):
        HINT_GOTO[i] = goto[i]
    for i in range(len(out)):
        HINT_OUT[i] = out[i]
    for i in range(256):
        SYM[i] = R.symbol(i)

    ents = R.ENTITIES
    NENT = len(ents)
    ENT_NAME = <uint8_t**>malloc(NENT * sizeof(uint8_t*))
    ENT_VAL = <uint8_t**>malloc(NENT * sizeof(uint8_t*))
    ENT_NLEN = <int*>malloc(NENT * sizeof(int))
    ENT_VLEN = <int*>malloc(NENT * sizeof(int))
    if ENT_NAME == NULL or ENT_VAL == NULL or ENT_NLEN == NULL or ENT_VLEN == NULL:
        raise MemoryError("cannot allocate the entity table")
    for i, (name, val) in enumerate(ents):
        ENT_NAME[i] = <uint8_t*>malloc(len(name) + 1)
        ENT_VAL[i] = <uint8_t*>malloc(len(val) + 1)
        if ENT_NAME[i] == NULL or ENT_VAL[i] == NULL:
            raise MemoryError("cannot allocate the entity table")
        memcpy(ENT_NAME[i], PyBytes_AS_STRING(name), len(name))
        memcpy(ENT_VAL[i], PyBytes_AS_STRING(val), len(val))
        ENT_NLEN[i] = len(name)
        ENT_VLEN[i] = len(val)
    for i in range(32):
        CP1252[i] = R.CP1252[i]

    BAD_LINK_PCT, GOOD_CHARS, LINK_PENALTY = R.BAD_LINK_PCT, R.GOOD_CHARS, R.LINK_PENALTY
    EDGE_CHARS, DECAY_NUM, DECAY_DEN = R.EDGE_CHARS, R.DECAY_NUM, R.DECAY_DEN
    SIB_PCT, SIB_MIN, SAME_CLASS = R.SIB_PCT, R.SIB_MIN, 1
    SHORT_NUM, SHORT_DEN, UNDER_NEG_DIV = R.SHORT_NUM, R.SHORT_DEN, R.UNDER_NEG_DIV
    WEAK_NEG_MARGIN, RESCUE_CHARS, RESCUE_PCT = R.WEAK_NEG_MARGIN, R.RESCUE_CHARS, R.RESCUE_PCT
    return 0
