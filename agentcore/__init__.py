"""agentcore: swarms of agents as data, stepped by a compiled state machine."""
