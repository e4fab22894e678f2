"""The one definition of word characters, lowercasing, token hashing and stopwords both text twins use.

The compiled kernel (``_textops.pyx``) builds its C tables from these lists at import and the pure
twin (``textops_py.py``) builds a regex and a translate table from them, so the two agree by
construction; the tests check that the code around the tables agrees too.
"""

# Code points that are NOT word characters, as inclusive ranges. Everything else counts as a word
# character: letters and digits of every script, combining marks (so "e" + U+0301 stays one word,
# unlike re's \w), and the underscore. Python's \w would need the Unicode database inside nogil
# code; this list keeps the common punctuation, symbol, space and emoji blocks out instead.
NONWORD_RANGES = (
    (0x0000, 0x002F), (0x003A, 0x0040), (0x005B, 0x005E), (0x0060, 0x0060), (0x007B, 0x00BF),
    (0x00D7, 0x00D7), (0x00F7, 0x00F7),
    (0x037E, 0x037E), (0x0387, 0x0387), (0x055A, 0x055F), (0x0589, 0x058A), (0x05BE, 0x05BE),
    (0x05C0, 0x05C0), (0x05C3, 0x05C3), (0x05C6, 0x05C6), (0x05F3, 0x05F4),
    (0x0600, 0x060F), (0x061B, 0x061F), (0x066A, 0x066D), (0x06D4, 0x06D4),
    (0x0964, 0x0965), (0x0970, 0x0970), (0x0E3F, 0x0E3F), (0x0E4F, 0x0E4F), (0x0E5A, 0x0E5B),
    (0x104A, 0x104F), (0x10FB, 0x10FB), (0x1360, 0x1368), (0x166D, 0x166E), (0x1680, 0x1680),
    (0x16EB, 0x16ED), (0x17D4, 0x17D6), (0x17D8, 0x17DB), (0x1800, 0x180F),
    (0x2000, 0x206F),  # general punctuation: spaces, dashes, quotes, ZW(N)J, bidi controls
    (0x20A0, 0x20CF),  # currency
    (0x2190, 0x2BFF),  # arrows, math operators, technical, box drawing, shapes, dingbats
    (0x2E00, 0x2E7F),  # supplemental punctuation
    (0x3000, 0x3004), (0x3008, 0x3020), (0x3030, 0x3030), (0x303D, 0x303F),
    (0x30FB, 0x30FB),
    (0xD800, 0xDFFF),  # surrogates (only reachable from a str)
    (0xE000, 0xF8FF),  # private use
    (0xFE00, 0xFE0F),  # variation selectors
    (0xFE10, 0xFE1F), (0xFE30, 0xFE6F),
    (0xFF00, 0xFF0F), (0xFF1A, 0xFF20), (0xFF3B, 0xFF3E), (0xFF40, 0xFF40), (0xFF5B, 0xFF65),
    (0xFFF0, 0xFFFF),  # specials, U+FFFD included: undecodable bytes separate words
    (0x1F000, 0x1FAFF),  # emoji, mahjong, playing cards, pictographs
    (0xE0000, 0xE007F),  # tags
    (0xF0000, 0x10FFFF),  # supplementary private use
)


def _lower_map():
    """Upper -> lower for ASCII, Latin-1, Latin Extended-A, basic Greek and Cyrillic.

    Every target encodes to no more UTF-8 bytes than its source, which the compiled kernel relies
    on to normalise in place. Other scripts keep their case (documented limitation).
    """
    m = {}
    for c in range(0x41, 0x5B):
        m[c] = c + 32
    for c in range(0xC0, 0xDF):
        if c != 0xD7:
            m[c] = c + 32
    for c in list(range(0x100, 0x130)) + list(range(0x132, 0x138)) + list(range(0x14A, 0x178)):
        if c % 2 == 0:
            m[c] = c + 1
    m[0x130] = 0x69  # I with dot above -> i (str.lower gives two code points; one is enough)
    for c in list(range(0x139, 0x149)) + list(range(0x179, 0x17F)):
        if c % 2 == 1:
            m[c] = c + 1
    m[0x178] = 0xFF
    for c in range(0x391, 0x3AC):
        if c != 0x3A2:
            m[c] = c + 32
    for c in range(0x410, 0x430):
        m[c] = c + 32
    for c in range(0x400, 0x410):
        m[c] = c + 80
    return m


LOWER = _lower_map()
LOWER_LIMIT = 0x500  # every key of LOWER is below this

# A token must have this many code points to be a keyword; longer runs are usually ids or base64.
KEYWORD_MIN_CHARS = 2
KEYWORD_MAX_CHARS = 30

FLAG_STOPWORD = 1
FLAG_NOT_KEYWORD = 2  # too short, too long, or ASCII digits only

# A small English stopword list (NLTK's, trimmed): "don't" tokenizes as "don" + "t", hence the
# fragments.
STOPWORDS = frozenset("""
a about above after again against ain all also am an and any are aren as at be because been before
being below between both but by can could couldn d did didn do does doesn doing don down during each
few for from further had hadn has hasn have haven having he her here hers herself him himself his how
i if in into is isn it its itself just ll m ma me might mightn more most must mustn my myself needn no
nor not now o of off on once only or other our ours ourselves out over own re s same shan she should
shouldn so some such t than that the their theirs them themselves then there these they this those
through to too under until up ve very was wasn we were weren what when where which while who whom why
will with won would wouldn y you your yours yourself yourselves said says one two new like get also
""".split())

# Words after which a single "." does not end a sentence (lowercased; single letters are handled as
# initials separately).
ABBREVIATIONS = frozenset("""
mr mrs ms dr prof sr jr st vs inc ltd co corp no nos fig figs gen gov sen rep mt jan feb mar apr
aug sep sept oct nov dec approx dept est vol pp
""".split())

# Sentence punctuation (code points).
SENT_TERMINATORS = frozenset((0x2E, 0x21, 0x3F, 0x2026))          # . ! ? ...
SENT_HARD_TERMINATORS = frozenset((0x3002, 0xFF01, 0xFF1F))        # CJK full stop, ！, ？
SENT_CLOSERS = frozenset((0x22, 0x27, 0x29, 0x5D, 0x201D, 0x2019, 0xBB, 0x300D, 0x300F))
SENT_SPACES = frozenset((0x20, 0x09, 0x0B, 0x0C, 0x0D, 0xA0))      # collapse to one space
SENT_BREAK = 0x0A                                                  # a newline always ends one

FNV_OFFSET = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3
_M64 = (1 << 64) - 1


def fmix64(h: int) -> int:
    """MurmurHash3's 64-bit finalizer: FNV alone leaves the high bits of short words poorly mixed,
    and SimHash reads every bit."""
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & _M64
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) & _M64
    h ^= h >> 33
    return h


def hash_normalized(word: bytes) -> int:
    """The 64-bit token id of an already-normalised word given as UTF-8 bytes."""
    h = FNV_OFFSET
    for c in word:
        h = ((h ^ c) * FNV_PRIME) & _M64
    return fmix64(h)


STOPWORD_HASHES = tuple(sorted(hash_normalized(w.encode()) for w in STOPWORDS))
ABBREVIATION_HASHES = tuple(sorted(hash_normalized(w.encode()) for w in ABBREVIATIONS))
STOPWORD_MAX_BYTES = max(len(w.encode()) for w in STOPWORDS)
