"""Word tokens to hashed ids and sentence splitting: compiled ``_textops`` unless AGENTCORE_NO_EXTENSIONS=1.

Every function takes ``str`` or UTF-8 ``bytes`` (bytes that do not decode separate words, like
U+FFFD would) and returns empty results for empty input::

    >>> from agentcore.kernels import textops
    >>> textops.words("The Cafés of PARIS", stopwords=False)
    ['cafés', 'paris']
    >>> textops.split_sentences("Dr. Who arrived. He left!")
    ['Dr. Who arrived.', 'He left!']

Words are runs of letters, digits, combining marks and ``_`` (see ``agentcore.kernels.textspec``),
lowercased for Latin, Greek and Cyrillic, and hashed to 64-bit ids (FNV-1a + murmur finalizer).
"""
from agentcore.kernels import pick, textspec

_impl = pick("agentcore.kernels._textops", "agentcore.kernels.textops_py")
COMPILED = _impl.__name__ == "agentcore.kernels._textops"

tokenize = _impl.tokenize
words = _impl.words
hash_word = _impl.hash_word
tokenize_batch = _impl.tokenize_batch
split_sentences = _impl.split_sentences

STOPWORDS = textspec.STOPWORDS
FLAG_STOPWORD = textspec.FLAG_STOPWORD
FLAG_NOT_KEYWORD = textspec.FLAG_NOT_KEYWORD

__all__ = ["tokenize", "words", "hash_word", "tokenize_batch", "split_sentences", "STOPWORDS",
           "FLAG_STOPWORD", "FLAG_NOT_KEYWORD", "COMPILED"]
