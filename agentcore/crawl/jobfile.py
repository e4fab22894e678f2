"""A user's job file (TOML): the analysis asked of each site, how prompts are built, how to crawl.

Every key is optional; the defaults suit any web site (a general category list, a one-sentence
summary and the language of the pages). ``agentcore job JOB.toml --urls FILE`` runs one; its flags
override the file (``agentcore job --help``). The whole format::

    [analysis]
    instructions = "You read a web site's pages and describe the site."  # the system message
    categories = ["news", "blog", "shop", "other"]   # [] for none (no "category" field)
    # the per-site answer: a JSON Schema inline ...
    schema = { type = "object", required = ["summary"], properties = { summary = {
               type = "string", maxLength = 160, description = "one sentence about this site" } } }
    # ... or in a file next to this one, or a pydantic model (its model_json_schema())
    # schema_file = "answer.schema.json"
    # model = "mypackage.answers:SiteAnswer"
    max_tokens = 128        # tokens the answer may take
    seed = 1

    [prompt]
    pages = 4               # pages whose excerpts feed a site's prompt (longest first)
    keywords = 6            # the site's top keywords shown
    text_chars = 1200       # characters of page text at most; then trimmed to the token budget
    excerpt_chars = 280     # characters of each page's best sentences kept as its excerpt
    host = true             # name the site's host in the prompt ("Site: docs.example.org")

    [crawl]
    max_pages = 32          # pages fetched per site (links of its home page)
    follow = ["same-site"]  # hosts links may lead to: "same-site", "same-host", "*.cdn.example"
    max_url_bytes = 8192    # longer URLs fail with url_too_long
    concurrency = 256       # connections in all
    per_host = 2            # requests in flight per host
    delay = 0.05            # seconds between requests to one host
    timeout = 5.0           # read timeout per request (s)
    robots = true           # honour robots.txt

    [llm]
    model = ""              # a GGUF file; default AGENTCORE_MODEL or the bundled SmolLM2
    slots = 64              # sequences decoded together
    context = 512           # tokens per sequence (prompt + answer)

Each field of the schema's ``properties`` is shown to the model as a placeholder (its ``enum``
choices or its ``description``), never as a worked example the model could copy.

>>> job = parse_job('[analysis]\\ncategories = ["news", "other"]\\n[crawl]\\nmax_pages = 4')
>>> job.task.schema["properties"]["category"]["enum"], job.max_pages
(['news', 'other'], 4)
"""
from __future__ import annotations

import copy
import importlib
import json
import os
import re
import tomllib
from dataclasses import dataclass, field, replace
from typing import Any

from .inputs import FOLLOW_RULES, MAX_URL_BYTES
from .task import LLMTask

__all__ = ["JobFileError", "JobFile", "parse_job", "load_job", "job_from_dict", "default_schema",
           "DEFAULT_CATEGORIES", "DEFAULT_INSTRUCTIONS"]

DEFAULT_CATEGORIES = ["news", "blog", "shop", "reference", "science", "government", "education",
                      "software", "forum", "business", "entertainment", "other"]
HOST_PATTERN = re.compile(r"(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*")
DEFAULT_INSTRUCTIONS = ("You read the pages of one web site and describe the site: what kind of "
                        "site it is, what it is about, and the language of its pages.")


class JobFileError(ValueError):
    """A job file that cannot be used; the message names the file, the key and the fix."""


def default_schema(categories: list[str] | None) -> dict:
    """The answer any site can be given: a category (when there are categories), a one-sentence
    summary, and the language of the pages."""
    props: dict[str, Any] = {}
    if categories:
        props["category"] = {"type": "string", "enum": list(categories)}
    # minLength keeps a small model from answering with one word; maxLength bounds the tokens
    props["summary"] = {"type": "string", "minLength": 16, "maxLength": 160,
                        "description": "one sentence about this site, from its pages"}
    props["language"] = {"type": "string", "minLength": 2, "maxLength": 24,
                         "description": "the language of its pages, in English"}
    return {"type": "object", "properties": props, "required": list(props),
            "additionalProperties": False}


@dataclass(frozen=True)
class JobFile:
    """A parsed job: the :class:`~agentcore.crawl.task.LLMTask` and the crawl and engine settings."""

    task: LLMTask
    max_pages: int = 32
    follow: tuple[str, ...] = ("same-site",)
    max_url_bytes: int = MAX_URL_BYTES
    concurrency: int = 256
    per_host: int = 2
    delay: float = 0.05
    timeout: float = 5.0
    robots: bool = True
    model: str | None = None
    slots: int = 64
    context: int = 512
    path: str | None = None
    raw: dict = field(default_factory=dict, repr=False)

    def fetch_config(self):
        """The crawler's limits for this job (``agentcore.crawl.fetch.FetchConfig``)."""
        from .fetch import FetchConfig

        return FetchConfig(global_limit=self.concurrency, per_host_limit=self.per_host,
                           politeness_delay=self.delay, read_timeout=self.timeout,
                           total_timeout=2 * self.timeout, connect_timeout=self.timeout,
                           respect_robots=self.robots)

    def replace(self, **changes) -> "JobFile":
        task_keys = {k: changes.pop(k) for k in list(changes) if k in TASK_FIELDS}
        job = replace(self, **changes)
        return replace(job, task=replace(job.task, **task_keys)) if task_keys else job


TASK_FIELDS = ("instructions", "max_tokens", "keywords", "pages", "text_chars", "excerpt_chars",
               "seed", "host")
#: section -> {key: type}; a key of another type, or one not listed, is a JobFileError
KEYS: dict[str, dict[str, tuple]] = {
    "analysis": {"instructions": (str,), "categories": (list, bool), "schema": (dict, str),
                 "schema_file": (str,), "model": (str,), "max_tokens": (int,), "seed": (int,)},
    "prompt": {"pages": (int,), "keywords": (int,), "text_chars": (int,), "excerpt_chars": (int,),
               "host": (bool,)},
    "crawl": {"max_pages": (int,), "follow": (list, str), "max_url_bytes": (int,),
              "concurrency": (int,), "per_host": (int,), "delay": (float, int),
              "timeout": (float, int), "robots": (bool,)},
    "llm": {"model": (str,), "slots": (int,), "context": (int,)},
}


def load_job(path: str) -> JobFile:
    """Read and check the job file at ``path``."""
    return parse_job(read_job_text(path), path)


def read_job_text(path: str) -> str:
    """The text of the job file at ``path`` (JobFileError when it cannot be read)."""
    try:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8")
    except OSError as exc:
        raise JobFileError(f"cannot read job file {path!r}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise JobFileError(f"{path}: not UTF-8 text ({exc}); save it as UTF-8") from None
    return text


def parse_job(text: str, path: str | None = None) -> JobFile:
    """Parse job-file text (``path`` names it in errors and anchors ``schema_file``)."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise JobFileError(f"{path or 'job file'}: not valid TOML: {exc}") from None
    return job_from_dict(raw, path)


def job_from_dict(raw: dict, path: str | None = None) -> JobFile:
    """A job from the parsed TOML tables (``{"analysis": {...}, "crawl": {...}}``): what
    ``agentcore job`` builds when its flags override a file."""
    where = path or "job file"
    for section, body in raw.items():
        if section not in KEYS:
            raise JobFileError(f"{where}: unknown section [{section}]; the sections are "
                               + ", ".join(f"[{s}]" for s in KEYS))
        if not isinstance(body, dict):
            raise JobFileError(f"{where}: {section} must be a [{section}] table of keys")
        for key, value in body.items():
            types = KEYS[section].get(key)
            if types is None:
                raise JobFileError(f"{where}: [{section}] has no key {key!r}; its keys are "
                                   + ", ".join(KEYS[section]))
            if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
                names = " or ".join(t.__name__ for t in types)
                raise JobFileError(f"{where}: [{section}] {key} must be {names}, got {value!r}")
    a, p, c, m = (raw.get(s, {}) for s in ("analysis", "prompt", "crawl", "llm"))
    try:
        task = LLMTask(a.get("instructions", DEFAULT_INSTRUCTIONS),
                       schema=answer_schema(a, path), **{k: a[k] for k in ("max_tokens", "seed")
                                                         if k in a}, **p)
    except (ValueError, TypeError) as exc:
        raise JobFileError(f"{where}: {exc}") from None
    follow = c.get("follow", ["same-site"])
    follow = [follow] if isinstance(follow, str) else follow
    bad = [r for r in follow if not isinstance(r, str)
           or (r not in FOLLOW_RULES and not HOST_PATTERN.fullmatch(r.lower()))]
    if bad or not follow:
        raise JobFileError(f"{where}: [crawl] follow {bad or follow!r}: use 'same-site', "
                           "'same-host' or host patterns such as 'docs.example.org', '*.example.org'")
    ints = {"max_pages": 0, "max_url_bytes": 64, "concurrency": 1, "per_host": 1}
    for key, least in ints.items():
        if key in c and c[key] < least:
            raise JobFileError(f"{where}: [crawl] {key} = {c[key]} must be >= {least}")
    for key, least in (("slots", 1), ("context", 64)):
        if key in m and m[key] < least:
            raise JobFileError(f"{where}: [llm] {key} = {m[key]} must be >= {least}")
    crawl = {k: v for k, v in c.items() if k != "follow"}
    return JobFile(task=task, follow=tuple(follow), path=path, raw=raw,
                   model=m.get("model") or None, **{k: m[k] for k in ("slots", "context") if k in m},
                   **crawl)


def answer_schema(a: dict, path: str | None) -> dict:
    """The [analysis] section's answer schema: ``schema``, ``schema_file`` or ``model``, else
    :func:`default_schema`; ``categories`` fill (or drop) the ``category`` field's choices."""
    given = [k for k in ("schema", "schema_file", "model") if k in a]
    if len(given) > 1:
        raise ValueError(f"[analysis] gives {' and '.join(given)}: give one answer schema")
    cats = a.get("categories", True)
    if cats is True:
        cats = DEFAULT_CATEGORIES
    elif cats is False:
        cats = []
    elif not all(isinstance(x, str) and x for x in cats) or len(set(cats)) != len(cats):
        raise ValueError(f"[analysis] categories must be distinct non-empty strings, got {cats!r}")
    if not given:
        return default_schema(cats)
    if "schema" in a:
        schema = a["schema"]
        if isinstance(schema, str):
            try:
                schema = json.loads(schema)
            except json.JSONDecodeError as exc:
                raise ValueError(f"[analysis] schema is not JSON: {exc}") from None
    elif "schema_file" in a:
        file = os.path.join(os.path.dirname(os.path.abspath(path or ".")), a["schema_file"])
        try:
            with open(file, encoding="utf-8") as f:
                schema = json.load(f)
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"[analysis] schema_file {file!r}: {exc}") from None
    else:
        schema = model_schema(a["model"])
    if not isinstance(schema, dict) or schema.get("type") != "object" \
            or not isinstance(schema.get("properties"), dict) or not schema["properties"]:
        raise ValueError('[analysis] the answer schema must be {"type": "object", "properties": '
                         '{...}} with at least one property')
    schema = copy.deepcopy(schema)
    cat = schema["properties"].get("category")
    if isinstance(cat, dict) and "enum" not in cat and cats:
        cat["enum"] = list(cats)
    return schema


def model_schema(spec: str) -> dict:
    """The JSON Schema of the pydantic model named ``"package.module:Class"``."""
    mod_name, _, cls_name = spec.partition(":")
    if not mod_name or not cls_name:
        raise ValueError(f"[analysis] model {spec!r}: write it as 'package.module:ClassName'")
    try:
        cls = getattr(importlib.import_module(mod_name), cls_name)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"[analysis] model {spec!r} cannot be imported: {exc}") from None
    if not hasattr(cls, "model_json_schema"):
        raise ValueError(f"[analysis] model {spec!r} is not a pydantic model "
                         "(it has no model_json_schema())")
    return cls.model_json_schema()
