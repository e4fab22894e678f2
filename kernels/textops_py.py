"""Pure-Python twin of agentcore.kernels._textops: word tokens to hashed ids, token flags, sentence splitting."""
import re
from array import array

from agentcore.kernels import textspec as spec

__all__ = ["tokenize", "words", "hash_word", "tokenize_batch", "split_sentences"]


def _char_class(ranges):
    return "".join("\\U%08x-\\U%08x" % (lo, hi) for lo, hi in ranges)


_WORD_RE = re.compile("[^%s]+" % _char_class(spec.NONWORD_RANGES))
_IS_WORD = re.compile("[^%s]" % _char_class(spec.NONWORD_RANGES)).fullmatch
_LOWER = {k: v for k, v in spec.LOWER.items()}
_STOP = frozenset(spec.STOPWORD_HASHES)
_ABBREV = frozenset(spec.ABBREVIATION_HASHES)
_HASH_CACHE: dict = {}


def _text(text, what="text"):
    """Return ``text`` as str; bytes are UTF-8 with undecodable bytes as U+FFFD (a separator)."""
    if isinstance(text, str):
        return text
    if isinstance(text, (bytes, bytearray, memoryview)):
        return bytes(text).decode("utf-8", "replace")
    raise TypeError(f"{what} must be str or bytes, got {type(text).__name__}")


def _hash(tok: str) -> int:
    h = _HASH_CACHE.get(tok)
    if h is None:
        if len(_HASH_CACHE) > 500_000:  # bound memory on corpora with huge vocabularies
            _HASH_CACHE.clear()
        h = _HASH_CACHE[tok] = spec.hash_normalized(tok.encode("utf-8"))
    return h


def _flags(tok: str, h: int) -> int:
    f = spec.FLAG_STOPWORD if h in _STOP else 0
    n = len(tok)
    if (n < spec.KEYWORD_MIN_CHARS or n > spec.KEYWORD_MAX_CHARS
            or (tok.isascii() and tok.isdigit())):
        f |= spec.FLAG_NOT_KEYWORD
    return f


def _words(text) -> list:
    return _WORD_RE.findall(text.translate(_LOWER))


def tokenize(text, *, stopwords=True):
    """Hashed 64-bit ids (``array('Q')``) of the normalised words of ``text`` (str or UTF-8 bytes).

    ``stopwords=False`` drops the built-in English stopwords. View with
    ``numpy.frombuffer(ids, dtype=numpy.uint64)``.
    """
    out = array("Q")
    for tok in _words(_text(text)):
        h = _hash(tok)
        if stopwords or h not in _STOP:
            out.append(h)
    return out


def words(text, *, stopwords=True):
    """The normalised (lowercased) words of ``text`` as a list of str, in order."""
    toks = _words(_text(text))
    if stopwords:
        return toks
    return [t for t in toks if _hash(t) not in _STOP]


def hash_word(word):
    """The id :func:`tokenize` gives ``word`` (its first word after normalisation); 0 if none."""
    toks = _words(_text(word, "word"))
    return _hash(toks[0]) if toks else 0


def tokenize_batch(texts, *, spans=True):
    """Tokenize many documents at once into flat arrays (the layout the similarity kernels take).

    Returns ``(ids, doc_offsets, flags, starts, norm)``: ``ids`` (``array('Q')``) holds every
    document's token ids back to back and document ``d`` owns ``ids[doc_offsets[d]:doc_offsets[d+1]]``
    (``array('q')``, length ``len(texts) + 1``); ``flags`` (bytes, one per token) has bit 1 for a
    stopword and bit 2 for a token that cannot be a keyword. With ``spans=True``, ``norm`` is the
    UTF-8 of every normalised token followed by one space and ``starts[t]`` (``array('q')``) is
    where token ``t`` begins in it; with ``spans=False`` both are empty.
    """
    if isinstance(texts, (str, bytes, bytearray)) or not hasattr(texts, "__len__"):
        raise TypeError(
            f"texts must be a list of str or bytes, got {type(texts).__name__}; "
            "wrap a single document as [text]")
    ids = array("Q")
    offsets = array("q", [0])
    flags = bytearray()
    starts = array("q")
    norm_parts = []
    pos = 0
    for i, text in enumerate(texts):
        if not isinstance(text, (str, bytes, bytearray, memoryview)):
            raise TypeError(f"texts[{i}] must be str or bytes, got {type(text).__name__}")
        for tok in _words(_text(text)):
            h = _hash(tok)
            ids.append(h)
            flags.append(_flags(tok, h))
            if spans:
                b = tok.encode("utf-8")
                starts.append(pos)
                norm_parts.append(b)
                pos += len(b) + 1
        offsets.append(len(ids))
    norm = b"".join(p + b" " for p in norm_parts) if spans else b""
    return ids, offsets, bytes(flags), starts, norm


def _lower_cp(c: int) -> int:
    return _LOWER.get(c, c) if c < spec.LOWER_LIMIT else c


def split_sentences(text):
    """Split ``text`` into sentences (list of str), whitespace runs collapsed to one space.

    A sentence ends at a newline; after ``.``/``!``/``?``/``…`` (and any closing quotes or
    brackets) that is followed by whitespace or the end; and right after ``。``/``！``/``？``.
    A single ``.`` after a one-letter word (an initial) or a known abbreviation (``Mr``, ``Dr``,
    ``Jan``...) does not end one.
    """
    text = _text(text)
    out = []
    cur = []          # code points of the sentence being built
    pending = False   # whitespace seen since the last kept character
    word_cps = 0      # length of the word that ends at the last kept character (0: none)
    word_first = 0
    word_bytes = bytearray()
    n = len(text)
    i = 0

    def flush():
        if cur:
            out.append("".join(map(chr, cur)))
            cur.clear()

    def append(c):
        nonlocal word_cps, word_first
        cur.append(c)
        if _IS_WORD(chr(c)):
            if word_cps == 0:
                word_first = c
                word_bytes.clear()
            word_cps += 1
            word_bytes.extend(chr(_lower_cp(c)).encode("utf-8", "surrogatepass"))
        else:
            word_cps = 0

    while i < n:
        c = ord(text[i])
        i += 1
        if c == spec.SENT_BREAK:
            flush()
            pending = False
            word_cps = 0
            continue
        if c in spec.SENT_SPACES:
            if cur:
                pending = True
            continue
        if pending:
            append(0x20)
            pending = False
        if c in spec.SENT_HARD_TERMINATORS:
            append(c)
            while i < n and ord(text[i]) in spec.SENT_CLOSERS:
                append(ord(text[i]))
                i += 1
            flush()
            word_cps = 0
            continue
        if c in spec.SENT_TERMINATORS:
            before_cps, before_first = word_cps, word_first
            before_hash = spec.hash_normalized(bytes(word_bytes)) if word_cps else 0
            append(c)
            run = 1
            while i < n and ord(text[i]) in spec.SENT_TERMINATORS:
                append(ord(text[i]))
                i += 1
                run += 1
            closers = 0
            while i < n and ord(text[i]) in spec.SENT_CLOSERS:
                append(ord(text[i]))
                i += 1
                closers += 1
            if i < n and not (ord(text[i]) in spec.SENT_SPACES or ord(text[i]) == spec.SENT_BREAK):
                continue
            if (c == 0x2E and run == 1 and closers == 0 and before_cps > 0
                    and ((before_cps == 1 and not 0x30 <= before_first <= 0x39)
                         or before_hash in _ABBREV)):
                continue
            flush()
            word_cps = 0
            continue
        append(c)
    flush()
    return out
