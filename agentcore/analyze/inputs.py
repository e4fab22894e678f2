"""Argument checks shared by the analysis API: lists of texts and thread counts."""
from __future__ import annotations

__all__ = ["TEXT_TYPES", "check_texts", "check_threads"]

#: What a page's text may be: str, or UTF-8 bytes (undecodable bytes separate words).
TEXT_TYPES = (str, bytes, bytearray, memoryview)


def check_texts(texts, name: str = "texts") -> list:
    """``texts`` as a list, or TypeError naming the first item that is not str or bytes."""
    if isinstance(texts, TEXT_TYPES) or not hasattr(texts, "__iter__"):
        raise TypeError(f"{name} must be a list of str or bytes, got {type(texts).__name__}; "
                        "wrap a single document as [text]")
    texts = list(texts)
    for i, t in enumerate(texts):
        if not isinstance(t, TEXT_TYPES):
            raise TypeError(f"{name}[{i}] must be str or bytes, got {type(t).__name__}")
    return texts


def check_threads(threads) -> int:
    """``threads`` if it is a positive int, else TypeError."""
    if not isinstance(threads, int) or isinstance(threads, bool) or threads < 1:
        raise TypeError(f"threads must be a positive int, got {threads!r}")
    return threads
