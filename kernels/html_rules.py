"""The HTML extractor's rules (flags, tags, class/id hints, entities, scores), shared by both twins.

Both the compiled kernel and the pure-Python twin (kernels/html_py.py) read these tables, so the
two cannot drift apart: setup.py writes ``FLAGS`` into the kernel's source as C constants at build
time, and kernels/_html_tables.pxd copies the other tables into C globals at import.
"""
from __future__ import annotations

import html.entities

# Tag flags.
BLOCK = 1 << 0  # starts/ends a text block and gets a node in the container tree
VOID = 1 << 1  # never has content or an end tag
RAW = 1 << 2  # content is raw text up to the matching end tag (script, style, ...)
SKIP = 1 << 3  # drop the text of the whole subtree
NEG = 1 << 4  # boilerplate container by tag (nav, aside, footer, ...)
POS = 1 << 5  # content container by tag (article, main)
HEADING = 1 << 6
LIST_ITEM = 1 << 7
PRE = 1 << 8  # whitespace is kept
CLOSES_P = 1 << 9  # an open <p> ends when this starts
LINK = 1 << 10
TABLE_CELL = 1 << 11
GRID = 1 << 12  # a part of a list or table: never the article container on its own
INHERITED = SKIP | HEADING | LIST_ITEM | PRE | LINK | TABLE_CELL  # passed down to descendants

# Container flags (nodes of the container tree).
NF_NEG = 1 << 0  # boilerplate: by tag, role, aria-modal or class/id hints
NF_POS = 1 << 1  # content by class/id hints
NF_ARTICLE = 1 << 2  # <article>, <main>, role=main or role=article
NF_BODYPROP = 1 << 3  # itemprop=articleBody
NF_UNDER_NEG = 1 << 4  # inside a boilerplate container (set while scoring)
NF_WEAK_NEG = 1 << 5  # boilerplate only by a narrow class/id hint margin: its text may overrule it
NF_SEMANTIC = NF_ARTICLE | NF_BODYPROP  # the page itself marks this container as the article

#: Every flag above by name. This file is their one definition: setup.py generates the compiled
#: kernel's constants from it, and a test checks the built ones (``_html.flag_values()``) against it.
FLAGS: dict[str, int] = dict(
    BLOCK=BLOCK, VOID=VOID, RAW=RAW, SKIP=SKIP, NEG=NEG, POS=POS, HEADING=HEADING,
    LIST_ITEM=LIST_ITEM, PRE=PRE, CLOSES_P=CLOSES_P, LINK=LINK, TABLE_CELL=TABLE_CELL,
    GRID=GRID, INHERITED=INHERITED, NF_NEG=NF_NEG, NF_POS=NF_POS, NF_ARTICLE=NF_ARTICLE,
    NF_BODYPROP=NF_BODYPROP, NF_UNDER_NEG=NF_UNDER_NEG, NF_WEAK_NEG=NF_WEAK_NEG,
    NF_SEMANTIC=NF_SEMANTIC,
)

_B = BLOCK
_BP = BLOCK | CLOSES_P
_G = BLOCK | GRID
_GP = BLOCK | CLOSES_P | GRID

# Order matters only in that ids are list positions (id 0 is "unknown tag").
TAGS: list[tuple[str, int]] = [
    ("", 0),
    ("html", _B), ("body", _B), ("head", 0),
    ("title", RAW), ("meta", VOID), ("link", VOID), ("base", VOID),
    ("script", RAW | SKIP), ("style", RAW | SKIP), ("noscript", RAW | SKIP),
    ("textarea", RAW | SKIP), ("xmp", RAW | SKIP), ("iframe", RAW | SKIP),
    ("noembed", RAW | SKIP), ("noframes", RAW | SKIP), ("plaintext", RAW | SKIP),
    ("template", SKIP | _B), ("svg", SKIP | _B), ("math", SKIP | _B), ("select", SKIP | _B),
    ("button", SKIP), ("object", SKIP | _B), ("canvas", SKIP | _B), ("audio", SKIP | _B),
    ("video", SKIP | _B), ("map", SKIP), ("datalist", SKIP), ("option", SKIP), ("label", 0),
    ("area", VOID), ("br", VOID), ("col", VOID), ("embed", VOID), ("hr", VOID | _BP),
    ("img", VOID), ("input", VOID), ("param", VOID), ("source", VOID), ("track", VOID),
    ("wbr", VOID), ("keygen", VOID),
    ("a", LINK),
    ("p", _BP), ("div", _BP), ("section", _BP), ("article", _BP | POS), ("main", _BP | POS),
    ("nav", _BP | NEG), ("aside", _BP | NEG), ("header", _BP | NEG), ("footer", _BP | NEG),
    ("form", _BP), ("menu", _BP | NEG), ("dialog", _BP | NEG), ("address", _BP),
    ("blockquote", _BP), ("center", _BP), ("details", _BP), ("summary", _B),
    ("dl", _GP), ("dt", _GP), ("dd", _GP), ("fieldset", _BP), ("legend", _B),
    ("figure", _BP), ("figcaption", _BP), ("hgroup", _BP),
    ("h1", _BP | HEADING), ("h2", _BP | HEADING), ("h3", _BP | HEADING),
    ("h4", _BP | HEADING), ("h5", _BP | HEADING), ("h6", _BP | HEADING),
    ("ul", _GP), ("ol", _GP), ("dir", _GP), ("li", _GP | LIST_ITEM), ("pre", _BP | PRE),
    ("listing", _BP | PRE),
    ("table", _GP), ("caption", _G), ("thead", _G), ("tbody", _G), ("tfoot", _G),
    ("tr", _G), ("td", _G | TABLE_CELL), ("th", _G | TABLE_CELL),
    ("span", 0), ("b", 0), ("i", 0), ("em", 0), ("strong", 0), ("u", 0), ("s", 0),
    ("small", 0), ("big", 0), ("font", 0), ("sub", 0), ("sup", 0), ("code", 0),
    ("abbr", 0), ("cite", 0), ("q", 0), ("time", 0), ("mark", 0), ("del", 0), ("ins", 0),
    ("var", 0), ("kbd", 0), ("samp", 0), ("tt", 0), ("strike", 0), ("nobr", 0),
    ("picture", 0),
]
TAG_ID = {name: i for i, (name, _) in enumerate(TAGS)}

# class/id hints. A class or id value is lowered, every run of bytes other than [a-z0-9] becomes
# one '#', and the result is framed by '#'; a pattern matches as a substring ("#ad#" is the whole
# token "ad", "share" matches inside "sharebar"). Patterns form groups; an element is
# boilerplate when the summed weight of the negative groups it matches is at least that of the
# positive groups (so "entry-content-read-more" stays content, "comment-content" does not).
HINT_GROUPS: list[tuple[int, tuple[str, ...]]] = [
    # (weight: negative = boilerplate, positive = content), patterns
    (-2, ("comment", "disqus", "respond")),
    (-2, ("share", "social", "whatsapp", "follow")),
    (-2, ("related", "recommend", "outbrain", "taboola", "#more#stories#", "readnext", "read#next")),
    (-2, ("sidebar", "#rail#")),
    (-2, ("cookie", "consent", "gdpr")),
    (-2, ("subscri", "newsletter", "signup", "login", "register")),
    (-2, ("advert", "#ad#", "#ads#", "adslot", "ad#slot", "ad#container", "ad#wrapper", "#dfp#",
          "sponsor", "promo")),
    (-2, ("popup", "modal", "overlay", "banner")),
    (-1, ("nav", "menu", "breadcrumb", "pagination", "toolbar", "#skip#")),
    (-1, ("footer", "header", "masthead")),
    (-1, ("byline", "author", "#bio#", "#meta#", "#timestamp#", "#dateline#")),
    (-1, ("caption", "#credit#", "credits", "copyright", "disclaimer")),
    (-1, ("#tags#", "trending", "popular", "readmore", "read#more", "#tools#",
          "#print#", "donate")),
    (-1, ("#hide#", "#sr#only#", "visually#hidden", "screen#reader")),
    (1, ("article", "articlebody")),
    (1, ("content", "entrycontent")),
    (1, ("#post#", "postbody", "#entry#", "hentry")),
    (1, ("story", "storybody")),
    (1, ("#body#", "#text#", "prose", "paragraph")),
    (1, ("#main#", "#blog#")),
]
HINT_WEIGHTS = [w for w, _ in HINT_GROUPS]
HINTS: list[tuple[str, int]] = [(p, 1 << g) for g, (_, pats) in enumerate(HINT_GROUPS) for p in pats]


def hint_is_neg(mask: int) -> bool:
    """Whether a matched-group mask marks boilerplate (negative weight >= positive weight)."""
    neg = pos = 0
    g = 0
    while mask:
        if mask & 1:
            if HINT_WEIGHTS[g] < 0:
                neg -= HINT_WEIGHTS[g]
            else:
                pos += HINT_WEIGHTS[g]
        mask >>= 1
        g += 1
    return neg > 0 and neg >= pos


def hint_is_pos(mask: int) -> bool:
    """Whether a matched-group mask marks content (positive weight above negative weight)."""
    neg = pos = 0
    g = 0
    while mask:
        if mask & 1:
            if HINT_WEIGHTS[g] < 0:
                neg -= HINT_WEIGHTS[g]
            else:
                pos += HINT_WEIGHTS[g]
        mask >>= 1
        g += 1
    return pos > neg


SYMBOLS = 37  # a-z, 0-9, separator


def symbol(byte: int) -> int:
    """Map one byte of a class/id value to its hint-automaton symbol (36 = separator)."""
    if 97 <= byte <= 122:
        return byte - 97
    if 65 <= byte <= 90:
        return byte - 65
    if 48 <= byte <= 57:
        return byte - 48 + 26
    return 36


def build_hint_automaton() -> tuple[list[int], list[int]]:
    """Aho-Corasick DFA over HINTS: (goto table of states x SYMBOLS, output flags per state)."""
    goto: list[list[int]] = [[-1] * SYMBOLS]
    out = [0]
    for word, flag in HINTS:
        state = 0
        for ch in word.encode():
            sym = symbol(ch) if ch != 35 else 36
            if goto[state][sym] < 0:
                goto.append([-1] * SYMBOLS)
                out.append(0)
                goto[state][sym] = len(goto) - 1
            state = goto[state][sym]
        out[state] |= flag
    fail = [0] * len(goto)
    queue = []
    for sym in range(SYMBOLS):
        nxt = goto[0][sym]
        if nxt < 0:
            goto[0][sym] = 0
        else:
            fail[nxt] = 0
            queue.append(nxt)
    while queue:
        state = queue.pop(0)
        out[state] |= out[fail[state]]
        for sym in range(SYMBOLS):
            nxt = goto[state][sym]
            if nxt < 0:
                goto[state][sym] = goto[fail[state]][sym]
            else:
                fail[nxt] = goto[fail[state]][sym]
                queue.append(nxt)
    return [x for row in goto for x in row], out


def build_entities() -> list[tuple[bytes, bytes]]:
    """Named character references (with ';'), sorted by name, as (name, UTF-8) byte pairs.

    &nbsp; maps to a plain space so that padding paragraphs collapse away. Only references that
    decode to no more bytes than their source are kept, so decoding never grows text.
    """
    table = []
    for name, value in html.entities.html5.items():
        if not name.endswith(";"):
            continue
        raw = name[:-1].encode()
        val = b" " if name == "nbsp;" else value.encode()
        if len(val) <= len(raw) + 2:
            table.append((raw, val))
    table.sort()
    return table


ENTITIES = build_entities()
# References accepted without a trailing ';' (legacy pages write "&amp" and "&nbsp").
LEGACY_ENTITIES = (b"amp", b"lt", b"gt", b"quot", b"nbsp")

# Numeric references 0x80-0x9F mean windows-1252 characters (HTML spec).
CP1252 = [
    0x20AC, 0x81, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0x8D, 0x017D, 0x8F, 0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013,
    0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D, 0x017E, 0x0178,
]


def fnv32(data: bytes) -> int:
    """FNV-1a hash (32-bit) used to key unknown tag names on the element stack."""
    h = 2166136261
    for b in data:
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h


# Scoring (tuned on the article-extraction benchmark; integers so both twins agree exactly).
GOOD_CHARS = 40  # a block with this many characters and some punctuation is content
BAD_LINK_PCT = 75  # a block with more link text than this percentage is boilerplate
LINK_PENALTY = 2  # link characters count this many times against a content block
EDGE_CHARS = 20  # a link-free sentence this long may open or close the kept run of blocks
SHORT_NUM, SHORT_DEN = 1, 1  # link-free text too short or plain to score (a sentence under
# GOOD_CHARS, or without punctuation: short lines, <br>-split verse, CJK text written with spaces)
# counts this much for its containers, so a short article beats a stray block elsewhere and a
# page of unpunctuated paragraphs beats its punctuated comments (it counted only for <article>,
# <main>, role=main and itemprop=articleBody until the readability test pages showed
# <div>-only layouts losing their text)
WEAK_NEG_MARGIN = 1  # a class/id hint verdict of boilerplate by at most this weight is weak:
RESCUE_CHARS, RESCUE_PCT = 300, 70  # a weakly boilerplate container whose scoring text (the
# positive block values under it) reaches RESCUE_CHARS and RESCUE_PCT % of its text is content
# after all ("read-more-content" holding the second half of an article)
UNDER_NEG_DIV = 4  # a container inside a boilerplate container has its score divided by this
DECAY_NUM, DECAY_DEN = 3, 4  # a container gets 3/4 of each child's score: the tightest wins
SIB_PCT, SIB_MIN = 10, 100  # siblings of the best container (or containers repeating its
# tag and first class name, as article bodies split in chunks do: "story-body story-body-2")
# scoring this much are kept too

# Limits that keep memory bounded and time linear on hostile input.
MAX_DEPTH = 1024  # deeper elements are not pushed; their text goes to the deepest element
CLOSE_SEARCH = 64  # an end tag looks this far down the stack for its start tag
MAX_NODES = 1 << 20
MAX_BLOCKS = 1 << 20
MAX_LINKS = 1 << 16
MAX_TAG_NAME = 32
