"""The agent state machine: compiled ``_step`` unless AGENTCORE_NO_EXTENSIONS=1 (then ``step_py``)."""
from agentcore.kernels import pick

_impl = pick("agentcore.kernels._step", "agentcore.kernels.step_py")
Core = _impl.Core
COMPILED = _impl.__name__ == "agentcore.kernels._step"
__all__ = ["Core", "COMPILED"]
