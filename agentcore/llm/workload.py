"""The fixed LLM workload: ASCII article excerpts from the extraction benchmark and a system prompt."""
from __future__ import annotations

import json
import os
from pathlib import Path

#: The shared system prompt of the benchmark workload (63 tokens with SmolLM2's tokenizer).
SYSTEM_PROMPT = (
    "You are a careful news analyst. Read the page excerpt the user sends and reply with one "
    "short sentence that states its main topic. Do not add greetings, opinions or lists. If the "
    "excerpt is cut off, summarize only the part you can see, in plain English."
)
EXCERPT_CHARS = 700

FALLBACK_TEXT = (
    "The committee met on Tuesday to review the budget for the coming year. Members agreed that "
    "spending on roads and schools should rise, while administrative costs would be held flat. "
    "The final vote is expected next month, after a public hearing in the town hall."
)


def data_dir() -> Path:
    """The article-extraction benchmark folder (``AGENTCORE_DATA`` or ``../shared/data`` beside the repo)."""
    env = os.environ.get("AGENTCORE_DATA")
    base = Path(env) if env else Path(__file__).resolve().parents[3] / "shared" / "data"
    return base / "article-extraction-benchmark"


def ascii_articles() -> list[str]:
    """Article bodies that are pure ASCII, in a fixed order (sorted by page id); [] if data is absent."""
    path = data_dir() / "ground-truth.json"
    if not path.is_file():
        return []
    truth = json.loads(path.read_text(encoding="utf-8"))
    return [v["articleBody"] for _, v in sorted(truth.items())
            if v.get("articleBody") and v["articleBody"].isascii()]


def excerpts(n: int = 128, chars: int = EXCERPT_CHARS) -> list[str]:
    """``n`` distinct ``chars``-long excerpts, each starting at a word boundary.

    Windows step by half an excerpt through every ASCII article, so 128 distinct excerpts exist
    even though only about 20 pages are pure ASCII.
    """
    arts = ascii_articles()
    if not arts:
        raise FileNotFoundError(
            f"no ground-truth.json under {data_dir()}; set AGENTCORE_DATA to the folder that "
            "holds article-extraction-benchmark/"
        )
    out: list[str] = []
    seen: set[str] = set()
    step = chars // 2
    for offset in range(0, 100 * chars, step):
        for text in arts:
            if offset + chars > len(text):
                continue
            start = offset
            if start:
                nxt = text.find(" ", start)
                if nxt < 0 or nxt + 1 + chars > len(text):
                    continue
                start = nxt + 1
            piece = text[start:start + chars]
            if piece not in seen:
                seen.add(piece)
                out.append(piece)
                if len(out) == n:
                    return out
    if len(out) < n:
        raise ValueError(f"only {len(out)} distinct {chars}-character excerpts in the data, asked for {n}")
    return out


def chat_requests(n: int = 128) -> list[list[dict]]:
    """The benchmark's chat requests: the shared system prompt plus one excerpt each."""
    return [[{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": e}]
            for e in excerpts(n)]
