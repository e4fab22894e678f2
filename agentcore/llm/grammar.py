"""JSON-schema constrained decoding: grammar checks on the top-K candidates, full vocabulary as fallback.

llama.cpp's grammar sampler in a sampler chain checks all 49,152 vocabulary entries every step
(7-10 ms per token per sequence, more than the batched decode itself). Here the engine takes the
``top_k`` highest logits, lets the grammar sampler mask only those (``llama_sampler_apply`` on a
small candidate array), and keeps the best survivor; only when none survives does it widen to
the top 1,024 and then to the whole vocabulary. Under greedy decoding this picks exactly the
token the full check would (the best valid token is either among the top K or found by the
fallback).

The grammar itself comes from llama-cpp-python's JSON-schema-to-GBNF converter; the finished text
is parsed and checked by :func:`validate`, and any failure becomes an error result for that one
request, never an exception in the engine.
"""
from __future__ import annotations

import ctypes
import json
import math
import re
from typing import Any

DEFAULT_TOP_K = 64
SECOND_TIER = 1024


class SchemaError(ValueError):
    """The JSON schema cannot be turned into a grammar."""


def schema_to_gbnf(schema: dict | str) -> str:
    """GBNF grammar text (root rule ``root``) accepting exactly the JSON documents of ``schema``."""
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    if isinstance(schema, str):
        schema = json.loads(schema)
    text = json.dumps(_tighten(schema))
    try:
        gbnf = json_schema_to_gbnf(text)
    except Exception as exc:  # the converter raises bare Exceptions on unsupported schemas
        raise SchemaError(f"cannot build a grammar from this JSON schema ({exc}); simplify the schema") from exc
    return _strict_string_chars(gbnf)


# JSON (RFC 8259, section 7) forbids raw control characters U+0000-U+001F inside strings, but
# llama-cpp-python's converter writes string character classes without them: ``[^"\\]`` for any
# string, ``[^."\\]`` and the like for a ``pattern``. The model could then put a raw newline or
# tab inside a summary and json.loads rejects the whole answer. Every negated class in a JSON
# grammar matches characters inside a string, so each one also excludes the control characters
# and DEL, as upstream llama.cpp's converter does. (Writing them into a schema's pattern instead
# does not work: the converter copies the raw bytes, NUL included, into the grammar text.)
_NEGATED_CLASS = re.compile(r"\[\^((?:\\.|[^\]\\])*)\]")
_CONTROL = "\\x7F\\x00-\\x1F"


def _strict_string_chars(gbnf: str) -> str:
    return _NEGATED_CLASS.sub(lambda m: m.group(0) if _CONTROL in m.group(1)
                              else f"[^{m.group(1)}{_CONTROL}]", gbnf)


_MAX_ENUM_RANGE = 1000


def _tighten(schema):
    """Rewrite what the GBNF converter would ignore into forms it enforces.

    The converter drops ``minimum``/``maximum`` on integers (the model then happily writes 13 for
    a 0-9 score, or sixteen digits); a small bounded range becomes an ``enum`` of its values.
    """
    if isinstance(schema, list):
        return [_tighten(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _tighten(v) for k, v in schema.items()}
    if out.get("type") == "integer" and "enum" not in out:
        lo, hi = out.get("minimum"), out.get("maximum")
        if isinstance(lo, int) and isinstance(hi, int) and 0 <= hi - lo <= _MAX_ENUM_RANGE:
            return {"enum": list(range(lo, hi + 1))}
    return out


class CandidateScratch:
    """Reusable candidate arrays (top-K tiers and the full vocabulary) for one engine thread."""

    def __init__(self, llama_cpp, n_vocab: int, top_k: int = DEFAULT_TOP_K):
        import numpy as np

        self.llama_cpp = llama_cpp
        self.n_vocab = n_vocab
        # Widen in steps before the full check: a structural token the model ranks low ("," or a
        # closing quote) is usually within the top thousand, at a tenth of the full check's cost.
        self.tiers = [k for k in (min(top_k, n_vocab), min(SECOND_TIER, n_vocab)) if k < n_vocab]
        self.tiers = sorted(set(self.tiers))
        self._dtype = np.dtype([("id", np.int32), ("logit", np.float32), ("p", np.float32)])
        assert self._dtype.itemsize == ctypes.sizeof(llama_cpp.llama_token_data)
        self.bufs = {k: np.zeros(k, self._dtype) for k in self.tiers}
        self.full = np.zeros(n_vocab, self._dtype)
        self.full_ids = np.arange(n_vocab, dtype=np.int32)
        self._arr = llama_cpp.llama_token_data_array()

    def mask(self, sampler, buf, n: int):
        """Let the grammar ``sampler`` mask the first ``n`` entries of ``buf``; returns their logits."""
        arr = self._arr
        arr.data = ctypes.cast(buf.ctypes.data, self.llama_cpp.llama_token_data_p)
        arr.size = n
        arr.selected = -1
        arr.sorted = False
        self.llama_cpp.llama_sampler_apply(sampler, ctypes.byref(arr))
        return buf["logit"][:n]


class GrammarMatcher:
    """The grammar state of one sequence: picks allowed tokens and advances on the chosen one."""

    def __init__(self, llama_cpp, vocab, gbnf: str, scratch: CandidateScratch):
        self.llama_cpp = llama_cpp
        self.scratch = scratch
        self.sampler = llama_cpp.llama_sampler_init_grammar(vocab, gbnf.encode(), b"root")
        if not self.sampler:
            raise SchemaError("llama.cpp rejected the grammar built from this JSON schema")
        self.fallbacks = 0

    def pick(self, row, temperature: float, rng) -> int | None:
        """Best allowed token for logits ``row`` (greedy), or a sample among allowed ones.

        Candidates are checked best-first in widening tiers (top K, top 1024, everything), so the
        greedy pick equals what a full-vocabulary grammar check would choose. Returns None if the
        grammar allows no token at all (a dead end).
        """
        import numpy as np

        sc = self.scratch
        for k in sc.tiers:
            top = np.argpartition(row, -k)[-k:]
            top = top[np.argsort(row[top])[::-1]]
            buf = sc.bufs[k]
            buf["id"] = top
            buf["logit"] = row[top]
            buf["p"] = 0.0
            masked = sc.mask(self.sampler, buf, k)
            ok = np.isfinite(masked)
            if ok.any():
                return self._choose(buf["id"][ok], masked[ok], temperature, rng)
            self.fallbacks += 1
        buf = sc.full
        buf["id"] = sc.full_ids
        buf["logit"] = row
        buf["p"] = 0.0
        masked = sc.mask(self.sampler, buf, sc.n_vocab)
        ok = np.isfinite(masked)
        if not ok.any():
            return None
        return self._choose(buf["id"][ok], masked[ok], temperature, rng)

    @staticmethod
    def _choose(ids, logits, temperature, rng) -> int:
        import numpy as np

        logits = logits.astype(np.float64)
        if temperature <= 0.0:
            return int(ids[int(np.argmax(logits))])
        z = (logits - logits.max()) / temperature
        p = np.exp(z)
        p /= p.sum()
        return int(ids[int(rng.choice(len(p), p=p))])

    def accept(self, token: int) -> None:
        """Advance the grammar; only ever called with a token :meth:`pick` returned (others throw)."""
        self.llama_cpp.llama_sampler_accept(self.sampler, token)

    def free(self) -> None:
        if self.sampler:
            self.llama_cpp.llama_sampler_free(self.sampler)
            self.sampler = None


_TYPES = {
    "object": dict, "array": list, "string": str, "boolean": bool, "null": type(None),
}


def _is_type(value: Any, name: str) -> bool:
    if name == "integer":
        return isinstance(value, int) and not isinstance(value, bool) or (
            isinstance(value, float) and value.is_integer())
    if name == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return isinstance(value, _TYPES.get(name, object))


def validate(value: Any, schema: dict, path: str = "$") -> list[str]:
    """Errors of ``value`` against the JSON-schema subset the grammar converter supports ([] = valid)."""
    errs: list[str] = []
    if schema is True or schema == {}:
        return errs
    if "const" in schema and value != schema["const"]:
        errs.append(f"{path}: expected {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        errs.append(f"{path}: {value!r} not in {schema['enum']!r}")
    for key in ("anyOf", "oneOf"):
        if key in schema:
            if not any(not validate(value, sub, path) for sub in schema[key]):
                errs.append(f"{path}: matches none of {key}")
    for sub in schema.get("allOf", []):
        errs.extend(validate(value, sub, path))
    t = schema.get("type")
    if t is not None:
        names = t if isinstance(t, list) else [t]
        if not any(_is_type(value, n) for n in names):
            errs.append(f"{path}: expected type {t}, got {type(value).__name__}")
            return errs
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for req in schema.get("required", []):
            if req not in value:
                errs.append(f"{path}: missing required property {req!r}")
        extra = schema.get("additionalProperties", True)
        for k, v in value.items():
            if k in props:
                errs.extend(validate(v, props[k], f"{path}.{k}"))
            elif extra is False:
                errs.append(f"{path}: unexpected property {k!r}")
            elif isinstance(extra, dict):
                errs.extend(validate(v, extra, f"{path}.{k}"))
    if isinstance(value, list):
        if "minItems" in schema and len(value) < schema["minItems"]:
            errs.append(f"{path}: fewer than {schema['minItems']} items")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            errs.append(f"{path}: more than {schema['maxItems']} items")
        items = schema.get("items")
        if isinstance(items, dict):
            for i, v in enumerate(value):
                errs.extend(validate(v, items, f"{path}[{i}]"))
    if isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            errs.append(f"{path}: shorter than {schema['minLength']}")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            errs.append(f"{path}: longer than {schema['maxLength']}")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errs.append(f"{path}: does not match {schema['pattern']!r}")
    if _is_type(value, "number"):
        if "minimum" in schema and value < schema["minimum"]:
            errs.append(f"{path}: below minimum {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            errs.append(f"{path}: above maximum {schema['maximum']}")
    return errs


def parse_and_validate(text: str, schema: dict) -> tuple[Any, str | None]:
    """Parse ``text`` as JSON and validate it: (value, None) or (None, error message)."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        return None, f"output is not valid JSON ({exc}); raise max_tokens if it was cut off"
    errs = validate(value, schema)
    if errs:
        return None, "output does not match the schema: " + "; ".join(errs[:5])
    return value, None
