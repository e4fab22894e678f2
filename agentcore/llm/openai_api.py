"""The OpenAI-compatible wire format: request bodies out; answers in as Results, failures as short codes.

:class:`~agentcore.llm.remote.RemoteEngine` sends what :func:`request_body` builds, reads answers
with :func:`parse_answer` and turns every failure into a :class:`Failure` whose ``code`` is one of
``http_<status>``, ``timeout``, ``connection_refused``, ``connection_dropped``,
``connection_error``, ``bad_response``, with the sentence apart (``detail``); a JSON answer that
does not parse is ``invalid_json``, one the schema rejects ``schema_mismatch``.
"""
from __future__ import annotations

import email.utils
import json
import time
from dataclasses import dataclass
from typing import Any, Sequence
from urllib.parse import urlsplit

from agentcore.llm.request import Result

__all__ = ["RemoteResult", "Failure", "RETRY_STATUS", "RETRY_CODES", "api_root", "retry_after_seconds",
           "request_body", "parse_answer", "http_failure", "network_failure"]

#: HTTP statuses worth another attempt: the server is busy, restarting or behind a failing proxy.
RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
#: Failure codes worth another attempt (other 4xx answers and malformed answers are not).
RETRY_CODES = frozenset({"timeout", "connection_refused", "connection_dropped", "connection_error"}
                        | {f"http_{s}" for s in RETRY_STATUS})
CHAT, COMPLETIONS = "/chat/completions", "/completions"


@dataclass
class RemoteResult(Result):
    """A :class:`Result` from a server: ``error`` is a short code, ``detail`` the sentence behind it."""

    detail: str | None = None
    attempts: int = 0  # HTTP attempts made (1 when the first one answered)


class Failure(Exception):
    """One failed attempt: a short ``code``, the ``detail`` sentence, the server's ``retry_after`` (s)."""

    def __init__(self, code: str, detail: str, retry_after: float | None = None):
        super().__init__(detail)
        self.code, self.detail, self.retry_after = code, detail, retry_after


def api_root(base_url: str) -> str:
    """The API root requests go under: ``http://host:8080`` -> ``http://host:8080/v1``.

    A URL with a path (``https://api.example.com/openai/v1``) is used as given.
    """
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"base_url={base_url!r} is not an http(s) URL; pass e.g. http://127.0.0.1:8080")
    url = base_url.rstrip("/")
    return url + "/v1" if parts.path in ("", "/") else url


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks for (delta-seconds or an HTTP date); None if absent or bad."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def request_body(messages: Sequence[dict] | None, prompt: str | None, *, max_tokens: int,
                 temperature: float, stop, json_schema: dict | None, extra: dict,
                 **sampling: Any) -> tuple[str, dict]:
    """The endpoint (under the API root) and JSON body of one request; ``sampling`` Nones are left out."""
    body: dict[str, Any] = dict(extra, max_tokens=int(max_tokens), temperature=float(temperature))
    if messages is not None:
        path = CHAT
        body["messages"] = [{"role": str(m["role"]), "content": str(m["content"])} for m in messages]
    else:
        path = COMPLETIONS
        body["prompt"] = prompt
    stops = [stop] if isinstance(stop, str) else [s for s in (stop or ()) if s]
    if stops:
        body["stop"] = stops
    body.update({k: v for k, v in sampling.items() if v is not None})
    if json_schema is not None:
        name = str(json_schema.get("title") or "answer")
        body["response_format"] = {"type": "json_schema", "json_schema": {
            "name": "".join(c if c.isalnum() or c in "_-" else "_" for c in name)[:64],
            "schema": json_schema, "strict": True}}
    return path, body


def parse_answer(raw: bytes, url: str, path: str, max_tokens: int, schema: dict | None) -> RemoteResult:
    """The Result of a 200 answer; raises :class:`Failure` (``bad_response``) when it is not one."""
    try:
        data = json.loads(raw)
        choice = data["choices"][0]
    except (ValueError, KeyError, IndexError, TypeError):
        raise Failure("bad_response", f"{url} answered 200 without OpenAI choices ({raw[:100]!r}); "
                                      "is base_url an OpenAI-compatible API?") from None
    if path == CHAT:
        text = (choice.get("message") or {}).get("content") or ""
    else:
        text = choice.get("text") or ""
    usage = data.get("usage") or {}
    details = usage.get("prompt_tokens_details") or {}
    res = RemoteResult(text=text, finish_reason=choice.get("finish_reason") or "stop",
                       prompt_tokens=int(usage.get("prompt_tokens") or 0),
                       completion_tokens=int(usage.get("completion_tokens") or 0),
                       cached_tokens=int(details.get("cached_tokens") or 0))
    if schema is not None:
        res.value, res.error, res.detail = _judge_json(text, res.finish_reason, max_tokens, schema)
        if res.error is not None:
            res.finish_reason = "error"
    return res


def _judge_json(text: str, finish_reason: str, max_tokens: int, schema: dict):
    from agentcore.llm.grammar import validate

    if finish_reason == "length":
        return None, "invalid_json", (f"JSON output cut off at max_tokens={max_tokens} before it was "
                                      "complete; raise max_tokens")
    try:
        value = json.loads(text)
    except ValueError as exc:
        return None, "invalid_json", f"the answer is not JSON ({exc}): {text[:80]!r}"
    errs = validate(value, schema)
    if errs:
        return None, "schema_mismatch", "the answer does not match the schema: " + "; ".join(errs[:5])
    return value, None, None


def http_failure(url: str, status: int, reason: str | None, headers, raw: bytes) -> Failure:
    """The Failure of a non-200 answer, with the server's own message and its ``Retry-After``."""
    message = raw[:300].decode("utf-8", "replace")
    try:
        err = json.loads(raw).get("error")
        message = str(err.get("message", err) if isinstance(err, dict) else err or message)
    except (ValueError, AttributeError):
        pass
    hint = {401: "; pass api_key=", 403: "; check api_key", 404: "; check base_url and model"}.get(status, "")
    wait = retry_after_seconds(headers.get("Retry-After")) if status in RETRY_STATUS else None
    return Failure(f"http_{status}", f"{url} answered {status} {reason or ''}: {message}{hint}",
                   retry_after=wait)


def network_failure(exc: BaseException, url: str, timeout: float) -> Failure:
    """The Failure of an aiohttp or timeout exception raised while sending or reading a request."""
    import asyncio

    import aiohttp

    if isinstance(exc, aiohttp.ClientConnectorError):
        if isinstance(exc.os_error, ConnectionRefusedError):
            return Failure("connection_refused", f"nothing accepts connections at {url}; "
                                                 "start the server or fix the URL")
        return Failure("connection_error", f"cannot connect to {url}: {exc}")
    if isinstance(exc, (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError, aiohttp.ClientOSError)):
        return Failure("connection_dropped", f"{url} closed the connection before the answer was "
                                             f"complete ({type(exc).__name__})")
    if isinstance(exc, asyncio.TimeoutError):
        return Failure("timeout", f"no complete answer from {url} within {timeout:g} s; raise "
                                  "RemoteEngine(timeout=...) or lower max_tokens")
    return Failure("connection_error", f"request to {url} failed: {exc}")
