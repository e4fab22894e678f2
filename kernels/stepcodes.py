"""The state machine's fixed numbers, defined once: agent statuses, completion codes, built-in reasons.

The compiled step (``_step.pyx``) mirrors them as C enum values and checks them against this
module when it is imported; the pure twin and the swarm runtime import them from here.
"""

# agent status (the ``status`` column)
READY, RUNNING, BACKOFF, WAITING, TERMINAL = range(5)
STATUS_NAMES = ("READY", "RUNNING", "BACKOFF", "WAITING", "TERMINAL")

# terminal state indexes: every compiled spec starts with these two
DONE, FAILED = 0, 1

# completion codes an action reports per agent; n > 0 is the n-th named outcome (1-based)
OK, ERROR = 0, -1

# reason ids fixed by the runtime (the swarm interns all other reason texts after these)
R_NONE, R_TIMEOUT, R_STEPS, R_OUTCOME = range(4)
BUILTIN_REASONS = ("", "timeout", "step_budget_exhausted", "unknown_outcome")
