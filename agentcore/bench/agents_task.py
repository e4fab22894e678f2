"""The agents bench's shared task: local pages in SQLite, three tools, questions, and scripted policies.

The corpus is the local web's pages (:class:`agentcore.web.synthetic.SyntheticWeb`, rendered
without a server): one row per distinct title in a real SQLite table ``pages(id, title, module,
words)``. Each question needs three tool calls and an answer::

    search("architecture (platform)") -> [{"id": 17, "title": "architecture (platform)"}, ...]
    read(17)                          -> {"id": 17, "title": ..., "module": ..., "words": 86}
    compute(86, "+", 7)               -> 93          then {"answer": "93"}

Every contender (agentcore, LangGraph, the Agents SDK) gets the same system prompt (built by
:meth:`agentcore.agents.Agent.system_prompt`), the same per-turn decision schema (the Agent's
``schema``), the same messages per turn and the same Python tool functions.

The overhead task (instant model) is the one-lookup, one-add task of the first agents bench:
3 model turns + 2 tool calls, with :func:`overhead_policy` as the "model".
"""
from __future__ import annotations

import json
import os
import re
import sqlite3
import tempfile
import threading
from typing import Literal

INSTRUCTIONS = ("Answer questions about pages of the local web. First search the title, then "
                "read the row of its id, then compute with its words, then answer.")
MAX_TURNS = 5          # 3 calls + the answer + one spare turn
MAX_TOKENS = 64        # per model turn (the engine's and the server's limit alike)
CTX = 1024             # tokens per conversation (Engine n_ctx_per_seq = llama-server's per slot)
MAX_QUERY = 32         # a search query's longest text: a tiny model otherwise rambles to max_tokens
ANSWER_SCHEMA = {"type": "integer"}  # the answer is a number: short, and checkable
OBSERVATION = "result: "  # how every contender puts a tool's result to the model

CITIES = {"Paris": 2148000, "Lyon": 513000, "Nice": 342000, "Lille": 233000}
OVERHEAD_STEPS = 5     # overhead task: 3 model turns + 2 tool calls
OVERHEAD_QUESTION = "How many people live in Lyon, plus one?"
OVERHEAD_ANSWER = "513001"


class PagesDB:
    """The pages table in a SQLite file; each thread reads through its own connection."""

    def __init__(self, n_pages: int = 200, seed: int = 0, path: str | None = None):
        from agentcore.web.synthetic import SyntheticWeb

        web = SyntheticWeb(n_sites=max(4, n_pages // 4), seed=seed, hostile=False)
        rows, seen = [], set()
        for site in web.sites:
            for j in range(1, site.n_pages + 1):
                a = web.article(site.index, j)
                title = " ".join(a.title.split())
                if title in seen or not title or len(title) > MAX_QUERY:
                    continue
                seen.add(title)
                rows.append((len(rows) + 1, title, a.source, len(a.text.split())))
                if len(rows) == n_pages:
                    break
            if len(rows) == n_pages:
                break
        self.rows = rows
        self.path = path or os.path.join(tempfile.mkdtemp(prefix="agents-bench-"), "pages.sqlite")
        con = sqlite3.connect(self.path)
        with con:
            con.execute("DROP TABLE IF EXISTS pages")
            con.execute("CREATE TABLE pages (id INTEGER PRIMARY KEY, title TEXT, module TEXT, "
                        "words INTEGER)")
            con.executemany("INSERT INTO pages VALUES (?, ?, ?, ?)", rows)
        con.close()
        self._local = threading.local()
        # search: an inverted index of title words, ranked by (words matched, id)
        self.index: dict[str, list[int]] = {}
        for pid, title, _, _ in rows:
            for w in set(words_of(title)):
                self.index.setdefault(w, []).append(pid)
        self.titles = {pid: title for pid, title, _, _ in rows}

    def connection(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            con = self._local.con = sqlite3.connect(self.path, check_same_thread=False)
        return con

    def search(self, query: str, k: int = 3) -> list[dict]:
        score: dict[int, int] = {}
        for w in set(words_of(query)):
            for pid in self.index.get(w, ()):
                score[pid] = score.get(pid, 0) + 1
        best = sorted(score, key=lambda p: (-score[p], p))[:k]
        return [{"id": p, "title": self.titles[p]} for p in best]

    def read(self, ids: list[int]) -> dict[int, dict]:
        """Rows by id in one query (a batch of agents' reads is one SELECT)."""
        marks = ", ".join("?" * len(ids))
        cur = self.connection().execute(
            f"SELECT id, title, module, words FROM pages WHERE id IN ({marks})", list(ids))
        return {r[0]: {"id": r[0], "title": r[1], "module": r[2], "words": r[3]} for r in cur}


def words_of(text: str) -> list[str]:
    return [w for w in re.split(r"[^a-z0-9]+", text.lower()) if w]


def compute_value(a: float, op: str, b: float) -> float:
    if op == "+":
        v = a + b
    elif op == "-":
        v = a - b
    elif op == "*":
        v = a * b
    elif op == "/":
        v = a / b  # ZeroDivisionError becomes the model's error observation
    else:
        raise ValueError(f"op {op!r}: use +, -, * or /")
    return int(v) if float(v).is_integer() else round(v, 6)


class Task:
    """The questions, their expected answers and the tool functions, over one :class:`PagesDB`."""

    def __init__(self, db: PagesDB | None = None):
        self.db = db or PagesDB()

    def questions(self, n: int) -> list[tuple[str, str]]:
        """``n`` (question, expected answer) pairs cycling through the pages."""
        out = []
        for i in range(n):
            pid, title, _, words = self.db.rows[i % len(self.db.rows)]
            k = 1 + i % 9
            out.append((f"How many words has the page '{title}', plus {k}?", str(words + k)))
        return out

    # ---- the tool functions every contender calls (same code, same observations) -------------

    def functions(self):
        db = self.db

        def search(query: str) -> list:
            """Top 3 pages (id and title) whose titles match the query."""
            return db.search(query)

        def read(id: int) -> dict:
            """The pages table row of a page id: title, module, words."""
            row = db.read([id]).get(id)
            if row is None:
                raise KeyError(f"no page with id {id}")
            return row

        def compute(a: int, op: Literal["+", "-", "*", "/"], b: int) -> float:
            """a op b."""
            return compute_value(a, op, b)

        return search, read, compute

    def read_batch(self, calls: list[dict]) -> list:
        """agentcore's batch-aware read: one SELECT for a whole batch of agents' calls."""
        rows = self.db.read([c["id"] for c in calls])
        return [rows.get(c["id"], KeyError(f"no page with id {c['id']}")) for c in calls]

    def agent(self, batch_read: bool = True):
        """The agentcore Agent of this task (its ``schema`` and ``system_prompt()`` are what the
        anchors use too)."""
        from agentcore.agents import Agent, Tool

        search, read, compute = self.functions()
        search_tool = Tool(search, inline=True)
        search_tool.parameters["properties"]["query"]["maxLength"] = MAX_QUERY
        tools = [search_tool,
                 Tool(self.read_batch, name="read", description=read.__doc__, batch=True,
                      params={"id": int}) if batch_read else Tool(read),
                 Tool(compute, inline=True)]
        return Agent(INSTRUCTIONS, tools, output_schema=ANSWER_SCHEMA, max_turns=MAX_TURNS,
                     max_tokens=MAX_TOKENS, name="pages")

    def tool_map(self) -> dict:
        """{name: fn(**args)} for the anchors' tool nodes."""
        return {f.__name__: f for f in self.functions()}


def observation(value) -> str:
    """A tool result as text, the way agentcore's Tool shows it (so prompts are equal)."""
    from agentcore.agents.tools import MAX_OBSERVATION

    if type(value) in (int, float):
        return repr(value)
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= MAX_OBSERVATION else text[:MAX_OBSERVATION] + "..."


def run_tool(tools: dict, decision: dict) -> str:
    """Run the decision's tool; whatever happens ends as an observation (as in agentcore)."""
    from agentcore.agents.tools import error_text

    fn = tools.get(decision.get("tool"))
    if fn is None:
        return f"error: unknown tool {decision.get('tool')!r}"
    try:
        return observation(fn(**(decision.get("args") or {})))
    except Exception as exc:  # noqa: BLE001 - a tool's failure is the model's observation
        return error_text(exc)


def reply_text(decision: dict) -> str:
    """The assistant message of a decision, byte-equal to agentcore's."""
    from agentcore.agents.memory import reply_text as text

    return text(decision)


# ---- scripted "models" (tests, overhead runs): the right decision from the turn number --------

def task_policy(turn: int, last: str, question: str) -> dict:
    """The decision a perfect model makes on the pages task at ``turn`` (0-based)."""
    if turn == 0:
        return {"tool": "search", "args": {"query": question.split("'")[1]}}
    obs = last[len(OBSERVATION):]
    if turn == 1:
        return {"tool": "read", "args": {"id": json.loads(obs)[0]["id"]}}
    if turn == 2:
        k = int(question.rsplit("plus ", 1)[1].rstrip("?"))
        return {"tool": "compute", "args": {"a": json.loads(obs)["words"], "op": "+", "b": k}}
    return {"answer": int(obs)}


def overhead_policy(turn: int, last: str, question: str) -> dict:
    """The overhead task's decisions: lookup Lyon, add one, answer."""
    if turn == 0:
        return {"tool": "lookup", "args": {"city": "Lyon"}}
    if turn == 1:
        return {"tool": "add", "args": {"a": int(last[len(OBSERVATION):]), "b": 1}}
    return {"answer": last[len(OBSERVATION):]}


def overhead_tools() -> dict:
    def lookup(city: Literal["Paris", "Lyon", "Nice", "Lille"]) -> int:
        """Population of a city."""
        return CITIES[city]

    def add(a: int, b: int) -> int:
        """a + b."""
        return a + b

    return {"lookup": lookup, "add": add}


def overhead_agent(pool_tools: bool = False):
    from agentcore.agents import Agent, Tool

    tools = [Tool(f, inline=not pool_tools) for f in overhead_tools().values()]
    return Agent("Answer questions about cities with the tools.", tools, max_turns=4)


def messages_policy(policy):
    """``policy`` as ``InstantModel``'s ``policy(messages)`` (agentcore's chat dicts)."""
    def decide(messages: list) -> dict:
        return policy((len(messages) - 2) // 2, messages[-1]["content"], messages[1]["content"])
    return decide
