"""The store's own tables: `Run` (one per run, for resuming) and `AgentRecord` (one per finished agent of a durable swarm)."""
from __future__ import annotations

from dataclasses import dataclass

from agentcore.store.schema import col, table

AGENT_STATES = ("DONE", "FAILED")


@table("runs", ("run_id",), scoped=False)
@dataclass(frozen=True)
class Run:
    """One run; `config` lets a resumed run rebuild the same work."""

    run_id: str = col("text")
    created_at: float = col("float")
    finished_at: float | None = col("float")
    status: str = col("text", "running")  # "running" or "finished"
    config: dict = col("json")
    stats: dict | None = col("json")


@table("agents", ("key",))
@dataclass(frozen=True)
class AgentRecord:
    """An agent of a durable swarm that reached DONE or FAILED; a rerun skips its `key`.

    key : the agent's stable name within the run (e.g. a url), not its index in the swarm.
    values : the agent's data fields worth keeping (JSON).
    """

    key: str = col("text")
    state: str = col("text", "DONE")
    reason: str = col("text", "")  # why it FAILED; "" when DONE
    values: dict | None = col("json")
    finished_at: float | None = col("float")

    def __post_init__(self):
        if self.state not in AGENT_STATES:
            raise ValueError(f"AgentRecord.state must be DONE or FAILED, got {self.state!r}")
