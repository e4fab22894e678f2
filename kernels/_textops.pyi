"""Type stubs for the compiled text kernels (same API as kernels.textops_py)."""
from array import array
from typing import Sequence, Union

Text = Union[str, bytes, bytearray, memoryview]

def tokenize(text: Text, *, stopwords: bool = True) -> array: ...          # array('Q')
def words(text: Text, *, stopwords: bool = True) -> list[str]: ...
def hash_word(word: Text) -> int: ...
def tokenize_batch(
    texts: Sequence[Text], *, spans: bool = True
) -> tuple[array, array, bytes, array, bytes]: ...   # ids 'Q', doc_offsets 'q', flags, starts 'q', norm
def split_sentences(text: Text) -> list[str]: ...
