"""JSON schemas for agents: a tool's arguments from its type hints, and the one schema of a model turn.

A turn's schema admits exactly one call of a declared tool with valid arguments, or the final
answer; the engine turns it into a grammar, so every reply parses and validates::

    {"anyOf": [{"type": "object", "properties": {"tool": {"const": "lookup"},
                                                 "args": {<lookup's arguments>}},
                "required": ["tool", "args"], "additionalProperties": false},
               ...,
               {"type": "object", "properties": {"answer": <output_schema or a string>},
                "required": ["answer"], "additionalProperties": false}]}

Only what the engine's grammar converter enforces is used: type, properties, required,
additionalProperties, items, enum, const, anyOf (see :mod:`agentcore.llm.grammar`).
"""
from __future__ import annotations

import inspect
import types
import typing
from typing import Any, Callable, Literal, Union

_PRIMITIVES = {int: "integer", float: "number", str: "string", bool: "boolean", type(None): "null"}


def json_schema(hint: Any, where: str = "value") -> dict:
    """The JSON schema of one type hint: int, float, str, bool, None, list[X], tuple[X, ...],
    dict, Literal[...], Optional[X] / X | None / Union, or a pydantic model (its own schema)."""
    if hint is inspect.Parameter.empty:
        raise TypeError(f"{where} has no type hint: annotate it (int, str, Literal[...], ...) "
                        "so the model's calls can be constrained to valid arguments")
    if hint is Any:
        return {}
    if hint in _PRIMITIVES:
        return {"type": _PRIMITIVES[hint]}
    if hint is list or hint is tuple:
        return {"type": "array"}
    if hint is dict:
        return {"type": "object"}
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is Literal:
        return {"enum": list(args)}
    if origin is Union or (hasattr(types, "UnionType") and origin is types.UnionType):
        subs = [json_schema(a, where) for a in args]
        return subs[0] if len(subs) == 1 else {"anyOf": subs}
    if origin in (list, tuple) and args:
        items = args[0] if origin is list or (len(args) == 2 and args[1] is Ellipsis) else None
        if items is None:
            raise TypeError(f"{where}: fixed-length tuples are not supported; use tuple[X, ...] "
                            "or list[X]")
        return {"type": "array", "items": json_schema(items, where)}
    if origin is dict:
        return {"type": "object"}
    if is_model(hint):
        return model_schema(hint)
    raise TypeError(f"{where}: type {hint!r} has no JSON schema here; use int, float, str, bool, "
                    "list[...], Literal[...], Optional[...] or a pydantic BaseModel")


def is_model(hint: Any) -> bool:
    """A pydantic model class (duck-typed: pydantic is never imported here)."""
    return isinstance(hint, type) and hasattr(hint, "model_json_schema") and hasattr(
        hint, "model_validate")


def model_schema(model: type) -> dict:
    """A pydantic model's schema with its ``$ref``\\ s inlined and titles dropped (shorter grammars)."""
    raw = model.model_json_schema()
    defs = raw.get("$defs", {})

    def inline(s):
        if isinstance(s, list):
            return [inline(x) for x in s]
        if not isinstance(s, dict):
            return s
        if "$ref" in s:
            return inline(defs[s["$ref"].rsplit("/", 1)[-1]])
        return {k: inline(v) for k, v in s.items() if k not in ("title", "$defs", "default")}

    out = inline(raw)
    if out.get("type") == "object":
        out.setdefault("additionalProperties", False)
    return out


def arguments_schema(fn: Callable, hints: dict | None = None, name: str | None = None) -> dict:
    """The object schema of ``fn``'s parameters (or of ``hints``: {name: type}); a parameter with
    a default is optional."""
    if hints is not None:
        params = [(n, h, inspect.Parameter.empty) for n, h in hints.items()]
    else:
        sig = inspect.signature(fn)
        resolved = hints_of(fn, name)
        params = []
        for p in sig.parameters.values():
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                raise TypeError(f"tool {fn.__name__}: *args / **kwargs cannot be described to the "
                                "model; name every parameter")
            params.append((p.name, resolved.get(p.name, p.annotation), p.default))
    name = name or getattr(fn, "__name__", "tool")
    props = {n: json_schema(h, f"parameter {n!r} of tool {name}") for n, h, _ in params}
    required = [n for n, _, d in params if d is inspect.Parameter.empty]
    return {"type": "object", "properties": props, "required": required,
            "additionalProperties": False}


def hints_of(fn: Callable, name: str | None = None) -> dict:
    """``fn``'s resolved type hints; an error naming the tool when one cannot be resolved."""
    try:
        return typing.get_type_hints(fn)
    except NameError as exc:
        raise TypeError(f"tool {name or fn.__name__}: cannot resolve its type hints ({exc}); "
                        "define the types it uses at module level") from None


def call_schema(name: str, arguments: dict) -> dict:
    """The schema of one call of tool ``name``: ``{"tool": name, "args": {...}}``."""
    return {"type": "object", "properties": {"tool": {"const": name}, "args": arguments},
            "required": ["tool", "args"], "additionalProperties": False}


def answer_schema(output_schema: dict | None) -> dict:
    """The schema of the final answer: ``{"answer": ...}`` under ``output_schema`` (default:
    non-empty text)."""
    # minLength: a small model otherwise often "answers" with an empty string
    text = {"type": "string", "minLength": 1}
    return {"type": "object", "properties": {"answer": output_schema or text},
            "required": ["answer"], "additionalProperties": False}


def turn_schema(tools, output_schema: dict | None, answer: bool = True) -> dict:
    """One model turn: a call of exactly one of ``tools`` or (with ``answer``) the final answer."""
    alts = [call_schema(t.name, t.parameters) for t in tools]
    alts += [answer_schema(output_schema)] if answer else []
    return alts[0] if len(alts) == 1 else {"anyOf": alts}


def describe(schema: dict) -> str:
    """A short type name for the prompt: ``str``, ``int``, ``list[str]``, ``"a"|"b"``."""
    if "enum" in schema:
        return "|".join(f'"{v}"' if isinstance(v, str) else str(v) for v in schema["enum"])
    if "anyOf" in schema:
        return "|".join(describe(s) for s in schema["anyOf"])
    t = schema.get("type")
    if t == "array":
        return f"list[{describe(schema['items'])}]" if "items" in schema else "list"
    return {"integer": "int", "number": "float", "string": "str", "boolean": "bool",
            "null": "null", "object": "object"}.get(t, "any")
