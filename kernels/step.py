"""The agent state machine: compiled ``_step`` unless AGENTCORE_NO_EXTENSIONS=1 (then ``step_py``)."""
from kernels import pick

_impl = pick("kernels._step", "kernels.step_py")
Core = _impl.Core
COMPILED = _impl.__name__ == "kernels._step"
__all__ = ["Core", "COMPILED"]
