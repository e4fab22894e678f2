"""What a finished ``Swarm.run`` returns: wall time and agents per final state."""
from __future__ import annotations


class RunResult:
    """What ``Swarm.run`` returns: wall time and agents per final state."""

    def __init__(self, wall_s: float, agents: int, counts: dict, ticks: int = 0):
        self.wall_s = wall_s
        self.agents = agents
        self.counts = counts
        self.ticks = ticks

    def __repr__(self):
        return f"RunResult(wall_s={self.wall_s:.4f}, agents={self.agents}, counts={self.counts})"

    @property
    def done(self) -> int:
        return self.counts.get("DONE", 0)

    @property
    def failed(self) -> int:
        return self.counts.get("FAILED", 0)
