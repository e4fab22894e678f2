"""agentcore: swarms of agents as data, stepped by a compiled state machine.

>>> from agentcore import AgentSpec, State, Swarm, batch_action
>>> work = batch_action(lambda batch: None, inline=True)
>>> Swarm(AgentSpec([State("WORK", work, on_ok="DONE")]), 10).run().done
10
"""
from .actions import (ActionError, AsyncAction, BatchAction, ExternalAction, async_action,
                      batch_action, external_action, store_action)
from .batch import Batch, UndeclaredColumn
from .payload import UnknownColumn
from .spec import DONE, FAILED, AgentSpec, SpecError, State
from .swarm import RunResult, Swarm

__all__ = [
    "AgentSpec", "State", "SpecError", "DONE", "FAILED", "Swarm", "RunResult", "Batch",
    "BatchAction", "AsyncAction", "ExternalAction", "batch_action", "async_action",
    "external_action", "store_action", "ActionError", "UnknownColumn", "UndeclaredColumn",
]
__version__ = "0.1.0"
