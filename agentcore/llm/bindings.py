"""Load llama_cpp lazily, once: backend init, quiet logging, model loading with clear errors."""
from __future__ import annotations

import ctypes
import sys
import threading
from pathlib import Path

_lock = threading.Lock()
_mod = None
_log_cb = None  # kept referenced: llama.cpp calls it from native threads for the process lifetime
VERBOSE = False


def load():
    """Return the ``llama_cpp`` module with the backend initialised and logging quieted."""
    global _mod, _log_cb
    if _mod is not None:
        return _mod
    with _lock:
        if _mod is None:
            try:
                import llama_cpp
            except ImportError as exc:  # pragma: no cover - depends on the install
                raise ImportError(
                    f"llama-cpp-python is not importable ({exc}); run ./dev setup "
                    "(it builds llama-cpp-python==0.3.36 from source)"
                ) from exc

            @llama_cpp.llama_log_callback
            def _log(level, text, user_data):  # 2 = warn, 3 = error
                if VERBOSE or level == 3:
                    sys.stderr.write(text.decode("utf-8", "replace"))

            _log_cb = _log
            llama_cpp.llama_log_set(_log_cb, ctypes.c_void_p(0))
            llama_cpp.llama_backend_init()
            _mod = llama_cpp
    return _mod


def load_model(path: Path):
    """Load a GGUF into memory (mmap); raises ModelCorrupt naming the path if llama.cpp refuses it."""
    from agentcore.llm.model import ModelCorrupt, check_gguf

    llama_cpp = load()
    check_gguf(Path(path))
    mparams = llama_cpp.llama_model_default_params()
    model = llama_cpp.llama_model_load_from_file(str(path).encode(), mparams)
    if not model:
        raise ModelCorrupt(
            f"llama.cpp could not load {path} (truncated or unsupported GGUF?); "
            "re-install the model or pass another model=..."
        )
    return model


def tokenize(vocab, text: str, add_special: bool = True, parse_special: bool = True) -> list[int]:
    """Tokenize ``text`` with the model's vocabulary (special tokens such as <|im_start|> parsed)."""
    llama_cpp = load()
    data = text.encode("utf-8")
    cap = len(data) + 16
    buf = (llama_cpp.llama_token * cap)()
    n = llama_cpp.llama_tokenize(vocab, data, len(data), buf, cap, add_special, parse_special)
    if n < 0:
        cap = -n
        buf = (llama_cpp.llama_token * cap)()
        n = llama_cpp.llama_tokenize(vocab, data, len(data), buf, cap, add_special, parse_special)
    return list(buf[:n])


def tokenize_file_model(path: Path, text: str) -> list[int]:
    """Tokenize with the vocabulary of the model at ``path`` (loads it vocab-only)."""
    llama_cpp = load()
    mparams = llama_cpp.llama_model_default_params()
    mparams.vocab_only = True
    model = llama_cpp.llama_model_load_from_file(str(path).encode(), mparams)
    if not model:
        from agentcore.llm.model import ModelCorrupt

        raise ModelCorrupt(f"llama.cpp could not read the vocabulary of {path}")
    try:
        return tokenize(llama_cpp.llama_model_get_vocab(model), text)
    finally:
        llama_cpp.llama_model_free(model)
